//! `alarms` (tenant ‖ alarm -> Alarm) and three indexes kept in step by
//! [`put`] and [`delete`]: `active_alarms` (tenant ‖ originator ‖ type ->
//! alarm id; an active alarm is there, a cleared one is not, so there is at
//! most one active alarm per originator and type), `alarms_by_originator`
//! (tenant ‖ originator ‖ created time ‖ alarm -> (), one originator's
//! history as one range) and `alarms_by_assignee` (tenant ‖ user ‖ alarm).

use uuid::Uuid;

use crate::domain::alarm::Alarm;
use crate::domain::ids::{AlarmId, TenantId, UserId};

use super::codec::{Key, decode, encode, ids_in_index, rows_with_prefix, time_at, uuid_at};
use super::{Changes, KvRead, StoreResult, Table};

fn key(tenant: TenantId, id: AlarmId) -> Vec<u8> {
    Key::new().id(tenant.0).id(id.0).build()
}

fn active_key(tenant: TenantId, originator: Uuid, alarm_type: &str) -> Vec<u8> {
    Key::new()
        .id(tenant.0)
        .id(originator)
        .text(alarm_type)
        .build()
}

fn originator_prefix(tenant: TenantId, originator: Uuid) -> Vec<u8> {
    Key::new().id(tenant.0).id(originator).build()
}

fn by_originator_key(a: &Alarm) -> Vec<u8> {
    Key::new()
        .id(a.tenant_id.0)
        .id(a.originator.id)
        .time(a.created_time)
        .id(a.id.0)
        .build()
}

fn by_assignee_key(a: &Alarm, user: UserId) -> Vec<u8> {
    Key::new().id(a.tenant_id.0).id(user.0).id(a.id.0).build()
}

pub fn get(r: &dyn KvRead, tenant: TenantId, id: AlarmId) -> StoreResult<Option<Alarm>> {
    r.get(Table::Alarms, &key(tenant, id))?
        .map(|b| decode(Table::Alarms, &b))
        .transpose()
}

/// The active (not cleared) alarm of `alarm_type` on `originator`, if any.
pub fn active(
    r: &dyn KvRead,
    tenant: TenantId,
    originator: Uuid,
    alarm_type: &str,
) -> StoreResult<Option<Alarm>> {
    match r.get(
        Table::ActiveAlarms,
        &active_key(tenant, originator, alarm_type),
    )? {
        Some(v) => match uuid_at(&v, 0) {
            Some(id) => get(r, tenant, AlarmId(id)),
            None => Ok(None),
        },
        None => Ok(None),
    }
}

/// Writes `new` (which replaces `old`, the same alarm as stored before, if
/// any) with its index entries. Originator, type and creation time never
/// change, so only the active and assignee entries can move.
pub fn put(changes: &mut Changes, old: Option<&Alarm>, new: &Alarm) {
    // Index rows are written only when they change: a guest raising the
    // same alarm on every message rewrites the alarm, nothing more.
    changes.put(Table::Alarms, key(new.tenant_id, new.id), encode(new));
    if old.is_none() {
        changes.put(
            Table::AlarmsByOriginator,
            by_originator_key(new),
            Vec::new(),
        );
    }
    let active = active_key(new.tenant_id, new.originator.id, &new.alarm_type);
    match (old.map(|o| o.cleared), new.cleared) {
        // New and active, or (as before this rule) active again.
        (None | Some(true), false) => {
            changes.put(Table::ActiveAlarms, active, new.id.0.as_bytes().to_vec());
        }
        // Only the alarm that held the entry frees it: an alarm created
        // already cleared must not free another one's.
        (Some(false), true) => changes.delete(Table::ActiveAlarms, active),
        (Some(false), false) | (None | Some(true), true) => {}
    }
    let was = old.and_then(|o| o.assignee_id);
    if was != new.assignee_id {
        if let Some(was) = was {
            changes.delete(Table::AlarmsByAssignee, by_assignee_key(new, was));
        }
        if let Some(user) = new.assignee_id {
            changes.put(
                Table::AlarmsByAssignee,
                by_assignee_key(new, user),
                Vec::new(),
            );
        }
    }
}

/// Removes the alarm (as stored) and its index entries.
pub fn delete(changes: &mut Changes, a: &Alarm) {
    changes.delete(Table::Alarms, key(a.tenant_id, a.id));
    changes.delete(Table::AlarmsByOriginator, by_originator_key(a));
    if !a.cleared {
        changes.delete(
            Table::ActiveAlarms,
            active_key(a.tenant_id, a.originator.id, &a.alarm_type),
        );
    }
    if let Some(user) = a.assignee_id {
        changes.delete(Table::AlarmsByAssignee, by_assignee_key(a, user));
    }
}

/// The alarms of one originator created in `from..=to` (either end open),
/// oldest first.
pub fn of_originator(
    r: &dyn KvRead,
    tenant: TenantId,
    originator: Uuid,
    from: Option<i64>,
    to: Option<i64>,
) -> StoreResult<Vec<Alarm>> {
    let prefix = originator_prefix(tenant, originator);
    let start = from.map(|t| [prefix.as_slice(), &Key::new().time(t).build()].concat());
    let time_offset = prefix.len();
    let to = to.unwrap_or(i64::MAX);
    let mut ids = Vec::new();
    r.scan(
        Table::AlarmsByOriginator,
        &prefix,
        start.as_deref(),
        false,
        &mut |k, _| {
            if time_at(k, time_offset).is_some_and(|t| t > to) {
                return Ok(false);
            }
            ids.extend(uuid_at(k, time_offset + 8));
            Ok(true)
        },
    )?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.extend(get(r, tenant, AlarmId(id))?);
    }
    Ok(out)
}

/// Every alarm of a tenant.
pub fn of_tenant(r: &dyn KvRead, tenant: TenantId) -> StoreResult<Vec<Alarm>> {
    rows_with_prefix(r, Table::Alarms, tenant.0.as_bytes())
}

/// The alarms assigned to `user`.
pub fn of_assignee(r: &dyn KvRead, tenant: TenantId, user: UserId) -> StoreResult<Vec<Alarm>> {
    let prefix = Key::new().id(tenant.0).id(user.0).build();
    let mut out = Vec::new();
    for id in ids_in_index(r, Table::AlarmsByAssignee, &prefix, 32)? {
        out.extend(get(r, tenant, AlarmId(id))?);
    }
    Ok(out)
}
