//! `audit` (tenant ‖ time ‖ id -> AuditLog) and three indexes of the same
//! records by entity, by acting user and by customer, each keyed
//! tenant ‖ subject ‖ time ‖ id so that one subject's history is one range.

use uuid::Uuid;

use crate::domain::audit::{ActionType, AuditLog};
use crate::domain::ids::TenantId;
use crate::domain::page::{PageData, PageLink, SortOrder};

use super::codec::{Key, decode, encode, time_at, uuid_at};
use super::{Changes, KvRead, StoreResult, Table};

fn record_key(tenant: Uuid, time: i64, id: Uuid) -> Vec<u8> {
    Key::new().id(tenant).time(time).id(id).build()
}

fn index_key(tenant: Uuid, subject: Uuid, time: i64, id: Uuid) -> Vec<u8> {
    Key::new().id(tenant).id(subject).time(time).id(id).build()
}

pub fn append(changes: &mut Changes, log: &AuditLog) {
    let (t, at, id) = (log.tenant_id.0, log.created_time, log.id.id);
    changes.put(Table::Audit, record_key(t, at, id), encode(log));
    if let Some(entity) = log.entity_id {
        changes.put(
            Table::AuditByEntity,
            index_key(t, entity.id, at, id),
            Vec::new(),
        );
    }
    changes.put(
        Table::AuditByUser,
        index_key(t, log.user_id.0, at, id),
        Vec::new(),
    );
    if !log.customer_id.is_null() {
        changes.put(
            Table::AuditByCustomer,
            index_key(t, log.customer_id.0, at, id),
            Vec::new(),
        );
    }
}

/// Which records to list.
#[derive(Debug, Clone)]
pub struct AuditQuery {
    pub tenant: TenantId,
    /// `None`: the whole tenant; otherwise the index and the subject's uuid.
    pub subject: Option<(Subject, Uuid)>,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    pub action_types: Option<Vec<ActionType>>,
    pub page: PageLink,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Entity,
    User,
    Customer,
}

/// Lists audit records newest first (or oldest first with ASC), filtered by
/// time, action type and text (entity name, user name, action type).
pub fn query(r: &dyn KvRead, q: &AuditQuery) -> StoreResult<PageData<AuditLog>> {
    let tenant = q.tenant.0;
    let (table, prefix) = match q.subject {
        None => (Table::Audit, Key::new().id(tenant).build()),
        Some((subject, id)) => (
            match subject {
                Subject::Entity => Table::AuditByEntity,
                Subject::User => Table::AuditByUser,
                Subject::Customer => Table::AuditByCustomer,
            },
            Key::new().id(tenant).id(id).build(),
        ),
    };
    let time_offset = prefix.len();
    let from = q.start_time.unwrap_or(i64::MIN);
    let to = q.end_time.unwrap_or(i64::MAX);
    let reverse = q.page.sort_order == SortOrder::Desc || q.page.sort_property.is_none();
    let start = if reverse {
        let mut k = Key::new().time(to).build();
        k.extend_from_slice(&[0xff; 16]);
        [prefix.as_slice(), &k].concat()
    } else {
        [prefix.as_slice(), &Key::new().time(from).build()].concat()
    };
    let filtered = q.action_types.is_some() || q.page.text_search.is_some();
    let (skip, take) = (q.page.offset(), q.page.page_size);
    let mut total = 0usize;
    let mut page = Vec::new();
    let load = |k: &[u8], v: &[u8]| -> StoreResult<Option<AuditLog>> {
        if table == Table::Audit {
            return decode(Table::Audit, v).map(Some);
        }
        let (Some(at), Some(id)) = (time_at(k, time_offset), uuid_at(k, time_offset + 8)) else {
            return Ok(None);
        };
        r.get(Table::Audit, &record_key(tenant, at, id))?
            .map(|b| decode(Table::Audit, &b))
            .transpose()
    };
    r.scan(table, &prefix, Some(&start), reverse, &mut |k, v| {
        let Some(at) = time_at(k, time_offset) else {
            return Ok(true);
        };
        if at < from || at > to {
            // Past the far end of the window: the rest is further out still.
            return Ok((reverse && at > to) || (!reverse && at < from));
        }
        let record = if filtered || (total >= skip && page.len() < take) {
            match load(k, v)? {
                Some(rec) => Some(rec),
                None => return Ok(true),
            }
        } else {
            None
        };
        if filtered && !record.as_ref().is_some_and(|rec| matches(q, rec)) {
            return Ok(true);
        }
        if total >= skip && page.len() < take {
            page.extend(record);
        }
        total += 1;
        Ok(true)
    })?;
    Ok(PageData::new(page, total, &q.page))
}

fn matches(q: &AuditQuery, rec: &AuditLog) -> bool {
    let type_ok = q
        .action_types
        .as_ref()
        .is_none_or(|types| types.contains(&rec.action_type));
    let text = format!(
        "{} {} {:?}",
        rec.entity_name.as_deref().unwrap_or(""),
        rec.user_name,
        rec.action_type
    )
    .to_lowercase();
    type_ok && q.page.matches(&text)
}
