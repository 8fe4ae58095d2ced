//! Alarms: raising them (one active alarm per originator and type; raising
//! it again updates it), acknowledging, clearing, assigning, deleting and
//! listing them. Who may see an alarm follows its originator's owner now,
//! or the caller's rights over the originator itself (a GROUP role over a
//! group holding it): one rule, [`may`], for every alarm check.
//!
//! [`stage_raise`] and [`stage_clear`] are what WebAssembly guests raise
//! and clear alarms through: they stage their changes into a writer job's
//! [`Changes`] and read through what the job staged before, so a job may
//! raise and clear several alarms, even the same one, in one go.

mod actions;
mod info;
mod lists;

use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::Caller;
use crate::auth::permissions::{Denied, Operation, Resource, Target, allowed};
use crate::domain::alarm::{
    Alarm, AlarmSeverity, Raise, check_alarm_type, check_details, check_originator_type,
};
use crate::domain::audit::ActionType;
use crate::domain::ids::{AlarmId, CustomerId, EntityId, EntityType, TenantId, UserId, now_ms};
use crate::store::{Changes, KvRead, WithStaged, alarms};

use super::access::data_owner;
use super::audit::{Actor, stage_record};
use super::{ServiceError, ServiceResult};

/// The customer owning `originator` now (the null customer: the tenant's
/// own); not found unless it is an entity of `tenant` alarms are raised on.
fn owner_of(
    view: &dyn KvRead,
    tenant: TenantId,
    originator: EntityId,
) -> ServiceResult<CustomerId> {
    Ok(data_owner(view, tenant, originator)?.unwrap_or(CustomerId::NULL))
}

/// Whether `caller` may do `op` to the alarms of `originator`, owned by
/// `owner` (the null customer: the tenant's own): the one rule every alarm
/// check goes through.
///
/// ALARM rights first, held at the originator's owner: a tenant
/// administrator's, or a customer user's GENERIC role reaching that
/// customer. Else, as ThingsBoard PE's customer alarm check does, a caller
/// whose roles grant the ALARM operation at all (at its own customer) may
/// do it to the alarms of an originator it may do the same operation to,
/// through the originator's own rule, GROUP roles included: a device group
/// shared with it to read lets it read those devices' alarms, shared to
/// write lets it acknowledge, clear and assign them. Raising a new alarm
/// (`Create`) is not an operation on the originator, and stays with the
/// ALARM rights at its owner.
fn may(caller: &Caller, originator: EntityId, owner: CustomerId, op: Operation) -> bool {
    let tenant = caller.tenant_id;
    if allowed(
        caller,
        Resource::Alarm,
        op,
        &Target::customer(tenant, owner),
    ) {
        return true;
    }
    let resource = match originator.entity_type {
        EntityType::Device => Resource::Device,
        EntityType::Asset => Resource::Asset,
        EntityType::Customer => Resource::Customer,
        _ => return false,
    };
    op != Operation::Create
        && allowed(
            caller,
            Resource::Alarm,
            op,
            &Target::customer(tenant, caller.customer_id),
        )
        && allowed(
            caller,
            resource,
            op,
            &Target::in_customer(tenant, Some(owner)).about(originator),
        )
}

/// [`may`], refusing as forbidden; the originator's owner, or not found
/// unless `originator` is an entity of the caller's tenant alarms are
/// raised on.
fn check(
    view: &dyn KvRead,
    caller: &Caller,
    originator: EntityId,
    op: Operation,
) -> ServiceResult<CustomerId> {
    let owner = owner_of(view, caller.tenant_id, originator)?;
    if may(caller, originator, owner, op) {
        Ok(owner)
    } else {
        Err(Denied.into())
    }
}

/// One alarm of the caller's tenant that the caller may do `op` to, with
/// its originator's owner.
pub(in crate::service) fn find(
    view: &dyn KvRead,
    caller: &Caller,
    id: AlarmId,
    op: Operation,
) -> ServiceResult<(Alarm, CustomerId)> {
    let alarm = alarms::get(view, caller.tenant_id, id)?.ok_or_else(ServiceError::not_found)?;
    let owner = check(view, caller, alarm.originator, op)?;
    Ok((alarm, owner))
}

/// The active alarm of `alarm_type` on `originator` raised again, or a new
/// one: the alarm as it was (`None`: new) and as it will be. Stages nothing.
fn upsert_active(
    view: &dyn KvRead,
    tenant: TenantId,
    owner: CustomerId,
    originator: EntityId,
    alarm_type: &str,
    raise: Raise,
    now: i64,
) -> ServiceResult<(Option<Alarm>, Alarm)> {
    Ok(
        match alarms::active(view, tenant, originator.id, alarm_type)? {
            Some(old) => {
                let new = old.raised_again(owner, raise, now);
                (Some(old), new)
            }
            None => (
                None,
                Alarm::raised(tenant, owner, originator, alarm_type, raise, now),
            ),
        },
    )
}

/// Records an action on an alarm as ThingsBoard does: under the
/// originator, named by the alarm, with the alarm as it is after.
fn stage_audit(changes: &mut Changes, actor: &Actor, alarm: &Alarm, action: ActionType) {
    let data = json!({ "entity": alarm.json() });
    stage_audit_with(changes, actor, alarm, action, data);
}

fn stage_audit_with(
    changes: &mut Changes,
    actor: &Actor,
    alarm: &Alarm,
    action: ActionType,
    data: Value,
) {
    stage_record(
        changes,
        actor,
        alarm.customer_id,
        Some((alarm.originator, &alarm.name)),
        action,
        data,
    );
}

/// Raises the alarm of `alarm_type` on `originator` for the service itself
/// (a guest): creates it active, or updates the severity, details (unless
/// `null`) and end of the active one. `details` must be a JSON object or
/// `null`. Returns the alarm and whether it was created. Audited as the
/// system: ADDED, and UPDATED only when the severity or details change (a
/// guest may raise the same alarm on every message it handles).
#[allow(clippy::too_many_arguments)] // the guest API's shape, fixed by its caller
pub(crate) fn stage_raise(
    view: &dyn KvRead,
    changes: &mut Changes,
    tenant: TenantId,
    originator: EntityId,
    alarm_type: &str,
    severity: AlarmSeverity,
    details: Value,
    now_ms: i64,
) -> ServiceResult<(Alarm, bool)> {
    check_alarm_type(alarm_type)?;
    check_originator_type(originator.entity_type)?;
    let details = (!details.is_null()).then_some(details);
    check_details(details.as_ref())?;
    let raise = Raise {
        severity: Some(severity),
        details,
        ..Raise::default()
    };
    let (old, new) = {
        let view = WithStaged::new(view, changes);
        let owner = owner_of(&view, tenant, originator)?;
        upsert_active(&view, tenant, owner, originator, alarm_type, raise, now_ms)?
    };
    alarms::put(changes, old.as_ref(), &new);
    let actor = Actor::system(tenant);
    match &old {
        None => stage_audit(changes, &actor, &new, ActionType::Added),
        Some(o) if o.severity != new.severity || o.details != new.details => {
            stage_audit(changes, &actor, &new, ActionType::Updated);
        }
        Some(_) => {}
    }
    Ok((new, old.is_none()))
}

/// Clears the active alarm of `alarm_type` on `originator`, if there is
/// one, for the service itself (a guest); audited as the system.
pub(crate) fn stage_clear(
    view: &dyn KvRead,
    changes: &mut Changes,
    tenant: TenantId,
    originator: EntityId,
    alarm_type: &str,
    now_ms: i64,
) -> ServiceResult<Option<Alarm>> {
    check_alarm_type(alarm_type)?;
    let active = alarms::active(
        &WithStaged::new(view, changes),
        tenant,
        originator.id,
        alarm_type,
    )?;
    let Some((old, new)) = active.and_then(|old| old.cleared_at(now_ms).map(|new| (old, new)))
    else {
        return Ok(None);
    };
    alarms::put(changes, Some(&old), &new);
    stage_audit(
        changes,
        &Actor::system(tenant),
        &new,
        ActionType::AlarmClear,
    );
    Ok(Some(new))
}

#[cfg(test)]
impl super::App {
    /// [`stage_raise`] in a write job of its own.
    pub(crate) async fn raise_alarm_internal(
        &self,
        tenant: TenantId,
        originator: EntityId,
        alarm_type: String,
        severity: AlarmSeverity,
        details: Value,
    ) -> ServiceResult<(Alarm, bool)> {
        self.write(move |view| {
            let mut changes = Changes::new();
            let raised = stage_raise(
                view,
                &mut changes,
                tenant,
                originator,
                &alarm_type,
                severity,
                details,
                now_ms(),
            )?;
            Ok((raised, changes))
        })
        .await
    }

    /// [`stage_clear`] in a write job of its own.
    pub(crate) async fn clear_alarm_internal(
        &self,
        tenant: TenantId,
        originator: EntityId,
        alarm_type: String,
    ) -> ServiceResult<Option<Alarm>> {
        self.write(move |view| {
            let mut changes = Changes::new();
            let cleared = stage_clear(
                view,
                &mut changes,
                tenant,
                originator,
                &alarm_type,
                now_ms(),
            )?;
            Ok((cleared, changes))
        })
        .await
    }
}

/// Deletes the alarms of an entity that is being deleted, in its job.
pub(super) fn stage_delete_of_originator(
    view: &dyn KvRead,
    changes: &mut Changes,
    tenant: TenantId,
    originator: Uuid,
) -> ServiceResult<()> {
    let doomed = alarms::of_originator(
        &WithStaged::new(view, changes),
        tenant,
        originator,
        None,
        None,
    )?;
    for a in &doomed {
        alarms::delete(changes, a);
    }
    Ok(())
}

/// Unassigns the alarms of a user that is being deleted, as ThingsBoard
/// does, so that no alarm points at a user that is gone.
pub(super) fn stage_unassign_user(
    view: &dyn KvRead,
    changes: &mut Changes,
    actor: &Actor,
    tenant: TenantId,
    user: UserId,
) -> ServiceResult<()> {
    let assigned = alarms::of_assignee(&WithStaged::new(view, changes), tenant, user)?;
    let now = now_ms();
    for old in assigned {
        if let Some(new) = old.assigned_at(None, now) {
            alarms::put(changes, Some(&old), &new);
            stage_audit(changes, actor, &new, ActionType::AlarmUnassigned);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
