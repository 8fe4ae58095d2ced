//! What users do to alarms over REST: save (create, raise again, or edit
//! by id), acknowledge, clear, assign, unassign, delete. Each change and
//! its audit records are one write job.

use serde_json::json;

use crate::auth::Caller;
use crate::auth::permissions::{Operation, Resource, Target, require};
use crate::auth::rights::Reach;
use crate::domain::alarm::{Alarm, AlarmInfo, AlarmInput, AlarmJson};
use crate::domain::audit::ActionType;
use crate::domain::ids::{AlarmId, CustomerId, EntityId, UserId, now_ms};
use crate::store::{Changes, KvRead, alarms, users};

use super::info::InfoBuilder;
use super::{check, find, may, stage_audit, stage_audit_with, upsert_active};
use crate::service::audit::Actor;
use crate::service::group_permissions::rights::caller_of;
use crate::service::{App, ServiceError, ServiceResult};

/// A time the caller gave, or now (ThingsBoard's `getOrDefault`).
fn given_or(ts: Option<i64>, now: i64) -> i64 {
    ts.filter(|t| *t > 0).unwrap_or(now)
}

/// The assignee must be a user of the caller's tenant that the caller may
/// read and that may itself see the alarm (of `originator`, owned by
/// `owner`), by the rule every alarm check follows.
fn check_assignee(
    view: &dyn KvRead,
    reach: &Reach,
    caller: &Caller,
    originator: EntityId,
    owner: CustomerId,
    user: UserId,
) -> ServiceResult<()> {
    let u = users::get(view, caller.tenant_id, user)?.ok_or_else(ServiceError::not_found)?;
    let as_target = Target::user(u.tenant_id, u.customer_id, u.id, u.authority);
    require(caller, Resource::User, Operation::Read, &as_target)?;
    let assignee = caller_of(view, reach.clone(), &u)?;
    if !may(&assignee, originator, owner, Operation::Read) {
        return Err(ServiceError::invalid(
            "The user can't be assigned to this alarm: it may not see it",
        ));
    }
    Ok(())
}

impl App {
    /// `POST /api/alarm`. Without an `id`: raises the alarm (the active one
    /// of that originator and type is raised again instead of a second
    /// one); with one: edits that alarm. Then, as ThingsBoard, brings the
    /// alarm to the flags and assignee sent: `acknowledged`/`cleared` true
    /// acknowledge/clear it, and the assignee becomes `assigneeId`
    /// (absent unassigns).
    pub async fn save_alarm(&self, caller: &Caller, input: AlarmInput) -> ServiceResult<AlarmJson> {
        let valid = input.validate()?;
        let caller = caller.clone();
        let reach = self.reach();
        self.write(move |view| {
            let tenant = caller.tenant_id;
            let now = now_ms();
            let (old, mut alarm, owner, action) = match input.id {
                None => {
                    let owner = check(view, &caller, valid.originator, Operation::Create)?;
                    let (old, new) = upsert_active(
                        view,
                        tenant,
                        owner,
                        valid.originator,
                        &valid.alarm_type,
                        valid.raise,
                        now,
                    )?;
                    let action = if old.is_some() {
                        ActionType::Updated
                    } else {
                        ActionType::Added
                    };
                    (old, new, owner, action)
                }
                Some(id) => {
                    let (old, owner) = find(view, &caller, id, Operation::Write)?;
                    if old.originator != valid.originator || old.alarm_type != valid.alarm_type {
                        return Err(ServiceError::invalid(
                            "Alarm originator and type can't be changed",
                        ));
                    }
                    let new = old.edited(valid.raise);
                    (Some(old), new, owner, ActionType::Updated)
                }
            };
            let mut actions = vec![action];
            if input.acknowledged == Some(true)
                && let Some(acked) = alarm.acknowledged_at(given_or(input.ack_ts, now))
            {
                alarm = acked;
                actions.push(ActionType::AlarmAck);
            }
            if input.cleared == Some(true)
                && let Some(cleared) = alarm.cleared_at(given_or(input.clear_ts, now))
            {
                alarm = cleared;
                actions.push(ActionType::AlarmClear);
            }
            if let Some(assigned) = alarm.assigned_at(input.assignee_id, now) {
                if let Some(user) = input.assignee_id {
                    check_assignee(view, &reach, &caller, alarm.originator, owner, user)?;
                    actions.push(ActionType::AlarmAssigned);
                } else {
                    actions.push(ActionType::AlarmUnassigned);
                }
                alarm = assigned;
            }
            let mut changes = Changes::new();
            alarms::put(&mut changes, old.as_ref(), &alarm);
            let actor = Actor::from(&caller);
            for action in actions {
                stage_audit(&mut changes, &actor, &alarm, action);
            }
            Ok((alarm.json(), changes))
        })
        .await
    }

    /// `POST /api/alarm/{id}/ack`; acknowledging twice is refused, as in
    /// ThingsBoard 3.5 and later.
    pub async fn ack_alarm(&self, caller: &Caller, id: AlarmId) -> ServiceResult<AlarmInfo> {
        self.change_alarm(caller, id, ActionType::AlarmAck, |_, a, _, now| {
            a.acknowledged_at(now)
                .ok_or_else(|| ServiceError::invalid("Alarm was already acknowledged!"))
        })
        .await
    }

    /// `POST /api/alarm/{id}/clear`; clearing twice is refused, as in
    /// ThingsBoard 3.5 and later. The originator may then raise a new one.
    pub async fn clear_alarm(&self, caller: &Caller, id: AlarmId) -> ServiceResult<AlarmInfo> {
        self.change_alarm(caller, id, ActionType::AlarmClear, |_, a, _, now| {
            a.cleared_at(now)
                .ok_or_else(|| ServiceError::invalid("Alarm was already cleared!"))
        })
        .await
    }

    /// `POST /api/alarm/{id}/assign/{userId}`.
    pub async fn assign_alarm(
        &self,
        caller: &Caller,
        id: AlarmId,
        user: UserId,
    ) -> ServiceResult<AlarmInfo> {
        let who = caller.clone();
        let reach = self.reach();
        self.change_alarm(
            caller,
            id,
            ActionType::AlarmAssigned,
            move |view, a, owner, now| {
                check_assignee(view, &reach, &who, a.originator, owner, user)?;
                a.assigned_at(Some(user), now).ok_or_else(|| {
                    ServiceError::invalid("Alarm was already assigned to this user!")
                })
            },
        )
        .await
    }

    /// `DELETE /api/alarm/{id}/assign`.
    pub async fn unassign_alarm(&self, caller: &Caller, id: AlarmId) -> ServiceResult<AlarmInfo> {
        self.change_alarm(caller, id, ActionType::AlarmUnassigned, |_, a, _, now| {
            a.assigned_at(None, now)
                .ok_or_else(|| ServiceError::invalid("Alarm was already unassigned!"))
        })
        .await
    }

    /// `DELETE /api/alarm/{id}`: true once deleted.
    pub async fn delete_alarm(&self, caller: &Caller, id: AlarmId) -> ServiceResult<bool> {
        let caller = caller.clone();
        self.write(move |view| {
            let (alarm, _) = find(view, &caller, id, Operation::Delete)?;
            let mut changes = Changes::new();
            alarms::delete(&mut changes, &alarm);
            let data = json!({ "entity": alarm.json(), "alarmId": alarm.id });
            stage_audit_with(
                &mut changes,
                &Actor::from(&caller),
                &alarm,
                ActionType::AlarmDelete,
                data,
            );
            Ok((true, changes))
        })
        .await
    }

    /// One change to an alarm the caller may write: `change` gets the
    /// alarm, its originator's owner and the time, and answers the alarm
    /// as it becomes (or why not); it is stored and audited as `action`.
    async fn change_alarm<F>(
        &self,
        caller: &Caller,
        id: AlarmId,
        action: ActionType,
        change: F,
    ) -> ServiceResult<AlarmInfo>
    where
        F: FnOnce(&dyn KvRead, &Alarm, CustomerId, i64) -> ServiceResult<Alarm> + Send + 'static,
    {
        let caller = caller.clone();
        self.write(move |view| {
            let (old, owner) = find(view, &caller, id, Operation::Write)?;
            let new = change(view, &old, owner, now_ms())?;
            let mut changes = Changes::new();
            alarms::put(&mut changes, Some(&old), &new);
            stage_audit(&mut changes, &Actor::from(&caller), &new, action);
            let info = InfoBuilder::new(view, caller.tenant_id).info(new)?;
            Ok((info, changes))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_not_given_or_zero_is_now() {
        assert_eq!(given_or(None, 5), 5);
        assert_eq!(given_or(Some(0), 5), 5);
        assert_eq!(given_or(Some(3), 5), 3);
    }
}
