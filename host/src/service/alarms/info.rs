//! AlarmInfo: an alarm with its originator's name and label and its
//! assignee, each looked up once however many alarms share them.

use std::collections::HashMap;

use crate::domain::alarm::{Alarm, AlarmAssignee, AlarmInfo};
use crate::domain::asset::Asset;
use crate::domain::device::Device;
use crate::domain::ids::{CustomerId, EntityId, EntityType, TenantId, UserId};
use crate::store::{KvRead, assignable, customers, tenants, users};

use crate::service::ServiceResult;

/// A name and a label.
type Names = (Option<String>, Option<String>);

pub(super) struct InfoBuilder<'a> {
    view: &'a dyn KvRead,
    tenant: TenantId,
    originators: HashMap<EntityId, Names>,
    assignees: HashMap<UserId, Option<AlarmAssignee>>,
}

impl<'a> InfoBuilder<'a> {
    pub(super) fn new(view: &'a dyn KvRead, tenant: TenantId) -> Self {
        InfoBuilder {
            view,
            tenant,
            originators: HashMap::new(),
            assignees: HashMap::new(),
        }
    }

    pub(super) fn info(&mut self, alarm: Alarm) -> ServiceResult<AlarmInfo> {
        let (name, label) = self.originator(alarm.originator)?;
        let assignee = match alarm.assignee_id {
            Some(user) => self.assignee(user)?,
            None => None,
        };
        let display = label
            .clone()
            .filter(|l| !l.trim().is_empty())
            .or_else(|| name.clone());
        Ok(AlarmInfo {
            status: alarm.status(),
            alarm,
            originator_name: name,
            originator_label: label,
            originator_display_name: display,
            assignee,
        })
    }

    pub(super) fn all(&mut self, alarms: Vec<Alarm>) -> ServiceResult<Vec<AlarmInfo>> {
        alarms.into_iter().map(|a| self.info(a)).collect()
    }

    fn originator(&mut self, e: EntityId) -> ServiceResult<Names> {
        if let Some(names) = self.originators.get(&e) {
            return Ok(names.clone());
        }
        let (view, tenant) = (self.view, self.tenant);
        let names = match e.entity_type {
            EntityType::Device => assignable::get::<Device>(view, tenant, e.id)?
                .map_or((None, None), |d| (Some(d.name), d.label)),
            EntityType::Asset => assignable::get::<Asset>(view, tenant, e.id)?
                .map_or((None, None), |a| (Some(a.name), a.label)),
            EntityType::Customer => customers::get(view, tenant, CustomerId(e.id))?
                .map_or((None, None), |c| (Some(c.title), None)),
            EntityType::Tenant => {
                tenants::get(view, TenantId(e.id))?.map_or((None, None), |t| (Some(t.title), None))
            }
            _ => (None, None),
        };
        self.originators.insert(e, names.clone());
        Ok(names)
    }

    fn assignee(&mut self, id: UserId) -> ServiceResult<Option<AlarmAssignee>> {
        if let Some(a) = self.assignees.get(&id) {
            return Ok(a.clone());
        }
        let a = users::get(self.view, self.tenant, id)?.map(|u| AlarmAssignee {
            id: u.id,
            first_name: u.first_name,
            last_name: u.last_name,
            email: u.email,
        });
        self.assignees.insert(id, a.clone());
        Ok(a)
    }
}
