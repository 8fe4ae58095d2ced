//! Alarms: a condition on a device, asset, customer or tenant that someone
//! should look at, with ThingsBoard's life cycle: active until cleared,
//! acknowledged or not, assigned to a user or not. At most one alarm of a
//! type is active per originator; raising it again updates that one.

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ids::{AlarmId, CustomerId, EntityId, EntityType, TenantId, UserId};
use super::validate::{ValidationError, check_required, check_text};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlarmSeverity {
    Critical,
    Major,
    Minor,
    Warning,
    Indeterminate,
}

impl AlarmSeverity {
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmSeverity::Critical => "CRITICAL",
            AlarmSeverity::Major => "MAJOR",
            AlarmSeverity::Minor => "MINOR",
            AlarmSeverity::Warning => "WARNING",
            AlarmSeverity::Indeterminate => "INDETERMINATE",
        }
    }

    /// Higher is more severe: what "highest severity" and sorting use.
    pub fn rank(self) -> u8 {
        match self {
            AlarmSeverity::Critical => 4,
            AlarmSeverity::Major => 3,
            AlarmSeverity::Minor => 2,
            AlarmSeverity::Warning => 1,
            AlarmSeverity::Indeterminate => 0,
        }
    }
}

/// Exact names only, as ThingsBoard's `valueOf`.
impl FromStr for AlarmSeverity {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, ValidationError> {
        serde_json::from_value(Value::String(s.to_owned()))
            .map_err(|_| ValidationError::new(format!("Invalid alarm severity: '{s}'")))
    }
}

/// What an alarm's two flags make: read-only on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlarmStatus {
    ActiveUnack,
    ActiveAck,
    ClearedUnack,
    ClearedAck,
}

impl AlarmStatus {
    pub fn of(cleared: bool, acknowledged: bool) -> Self {
        match (cleared, acknowledged) {
            (false, false) => AlarmStatus::ActiveUnack,
            (false, true) => AlarmStatus::ActiveAck,
            (true, false) => AlarmStatus::ClearedUnack,
            (true, true) => AlarmStatus::ClearedAck,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AlarmStatus::ActiveUnack => "ACTIVE_UNACK",
            AlarmStatus::ActiveAck => "ACTIVE_ACK",
            AlarmStatus::ClearedUnack => "CLEARED_UNACK",
            AlarmStatus::ClearedAck => "CLEARED_ACK",
        }
    }

    pub fn is_cleared(self) -> bool {
        matches!(self, AlarmStatus::ClearedUnack | AlarmStatus::ClearedAck)
    }

    pub fn is_acknowledged(self) -> bool {
        matches!(self, AlarmStatus::ActiveAck | AlarmStatus::ClearedAck)
    }
}

impl FromStr for AlarmStatus {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, ValidationError> {
        serde_json::from_value(Value::String(s.to_owned()))
            .map_err(|_| ValidationError::new(format!("Invalid alarm status: '{s}'")))
    }
}

/// The stored alarm. On the wire it also carries its `status`
/// ([`AlarmJson`], [`AlarmInfo`]), derived from the two flags, so that the
/// status can never disagree with them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alarm {
    pub id: AlarmId,
    pub created_time: i64,
    pub tenant_id: TenantId,
    /// The originator's customer when the alarm was raised or last raised
    /// again (the null customer: the tenant's own). Who may see the alarm
    /// follows the originator's owner now, not this copy.
    pub customer_id: CustomerId,
    #[serde(rename = "type")]
    pub alarm_type: String,
    pub originator: EntityId,
    pub severity: AlarmSeverity,
    pub acknowledged: bool,
    pub cleared: bool,
    pub assignee_id: Option<UserId>,
    pub start_ts: i64,
    pub end_ts: i64,
    /// 0 until acknowledged, as in ThingsBoard; likewise the next two.
    pub ack_ts: i64,
    pub clear_ts: i64,
    pub assign_ts: i64,
    pub details: Option<Value>,
    pub propagate: bool,
    pub propagate_to_owner: bool,
    pub propagate_to_tenant: bool,
    pub propagate_relation_types: Vec<String>,
    /// The type, as ThingsBoard names alarms.
    pub name: String,
}

/// The fields raising an alarm sets. `None` leaves an existing alarm's value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Raise {
    pub severity: Option<AlarmSeverity>,
    pub details: Option<Value>,
    pub start_ts: Option<i64>,
    pub end_ts: Option<i64>,
    pub propagate: Option<bool>,
    pub propagate_to_owner: Option<bool>,
    pub propagate_to_tenant: Option<bool>,
    pub propagate_relation_types: Option<Vec<String>>,
}

impl Alarm {
    /// A new active, unacknowledged alarm; it starts (and ends) now unless
    /// the request says otherwise.
    pub fn raised(
        tenant_id: TenantId,
        customer_id: CustomerId,
        originator: EntityId,
        alarm_type: &str,
        raise: Raise,
        now: i64,
    ) -> Self {
        let start_ts = raise.start_ts.filter(|t| *t > 0).unwrap_or(now);
        let end_ts = raise.end_ts.filter(|t| *t > 0).unwrap_or(now).max(start_ts);
        let new = Alarm {
            id: AlarmId::new(),
            created_time: now,
            tenant_id,
            customer_id,
            alarm_type: alarm_type.to_owned(),
            originator,
            severity: AlarmSeverity::Indeterminate,
            acknowledged: false,
            cleared: false,
            assignee_id: None,
            start_ts,
            end_ts,
            ack_ts: 0,
            clear_ts: 0,
            assign_ts: 0,
            details: None,
            propagate: false,
            propagate_to_owner: false,
            propagate_to_tenant: false,
            propagate_relation_types: Vec::new(),
            name: alarm_type.to_owned(),
        };
        new.edited(Raise {
            start_ts: None,
            end_ts: None,
            ..raise
        })
    }

    /// This active alarm raised again: the new severity, details and flags
    /// given, its owner as it is now, and its end moved to now (or to the
    /// end asked for), as ThingsBoard does.
    pub fn raised_again(&self, customer_id: CustomerId, raise: Raise, now: i64) -> Self {
        let end_ts = raise.end_ts.filter(|t| *t > 0).unwrap_or(now);
        let mut new = self.edited(Raise {
            end_ts: None,
            ..raise
        });
        new.customer_id = customer_id;
        new.end_ts = end_ts.max(new.start_ts);
        new
    }

    /// This alarm with the fields given changed, nothing else.
    pub fn edited(&self, raise: Raise) -> Self {
        let mut new = self.clone();
        new.severity = raise.severity.unwrap_or(new.severity);
        if raise.details.is_some() {
            new.details = raise.details;
        }
        new.start_ts = raise.start_ts.filter(|t| *t > 0).unwrap_or(new.start_ts);
        new.end_ts = raise.end_ts.filter(|t| *t > 0).unwrap_or(new.end_ts);
        new.propagate = raise.propagate.unwrap_or(new.propagate);
        new.propagate_to_owner = raise.propagate_to_owner.unwrap_or(new.propagate_to_owner);
        new.propagate_to_tenant = raise.propagate_to_tenant.unwrap_or(new.propagate_to_tenant);
        if let Some(types) = raise.propagate_relation_types {
            new.propagate_relation_types = types;
        }
        new
    }

    pub fn status(&self) -> AlarmStatus {
        AlarmStatus::of(self.cleared, self.acknowledged)
    }

    /// Acknowledged at `ts`; `None` when it already was.
    pub fn acknowledged_at(&self, ts: i64) -> Option<Self> {
        (!self.acknowledged).then(|| Alarm {
            acknowledged: true,
            ack_ts: ts,
            ..self.clone()
        })
    }

    /// Cleared at `ts`; `None` when it already was.
    pub fn cleared_at(&self, ts: i64) -> Option<Self> {
        (!self.cleared).then(|| Alarm {
            cleared: true,
            clear_ts: ts,
            ..self.clone()
        })
    }

    /// Assigned to `user` (or unassigned) at `ts`; `None` when it already was.
    pub fn assigned_at(&self, user: Option<UserId>, ts: i64) -> Option<Self> {
        (self.assignee_id != user).then(|| Alarm {
            assignee_id: user,
            assign_ts: ts,
            ..self.clone()
        })
    }

    pub fn json(&self) -> AlarmJson {
        AlarmJson {
            alarm: self.clone(),
            status: self.status(),
        }
    }
}

/// An alarm as ThingsBoard sends it: the record and its status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlarmJson {
    #[serde(flatten)]
    pub alarm: Alarm,
    pub status: AlarmStatus,
}

/// An alarm with its originator's names and its assignee, as lists and the
/// `info` endpoint send it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmInfo {
    #[serde(flatten)]
    pub alarm: Alarm,
    pub status: AlarmStatus,
    pub originator_name: Option<String>,
    pub originator_label: Option<String>,
    /// The label when there is one, else the name.
    pub originator_display_name: Option<String>,
    pub assignee: Option<AlarmAssignee>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmAssignee {
    pub id: UserId,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: String,
}

/// One alarm type of a tenant, as ThingsBoard's `EntitySubtype`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmType {
    pub tenant_id: TenantId,
    pub entity_type: EntityType,
    #[serde(rename = "type")]
    pub alarm_type: String,
}

/// What `POST /api/alarm` accepts: ThingsBoard's Alarm, of which the
/// server's fields (`tenantId`, `customerId`, `status`, `createdTime`,
/// `name`, `assignTs`) are ignored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmInput {
    #[serde(default)]
    pub id: Option<AlarmId>,
    #[serde(default, rename = "type")]
    pub alarm_type: Option<String>,
    #[serde(default)]
    pub originator: Option<EntityId>,
    /// A string, so that an unknown one gets its own message.
    #[serde(default)]
    pub severity: Option<String>,
    #[serde(default)]
    pub acknowledged: Option<bool>,
    #[serde(default)]
    pub cleared: Option<bool>,
    #[serde(default)]
    pub assignee_id: Option<UserId>,
    #[serde(default)]
    pub start_ts: Option<i64>,
    #[serde(default)]
    pub end_ts: Option<i64>,
    #[serde(default)]
    pub ack_ts: Option<i64>,
    #[serde(default)]
    pub clear_ts: Option<i64>,
    #[serde(default)]
    pub details: Option<Value>,
    #[serde(default)]
    pub propagate: Option<bool>,
    #[serde(default)]
    pub propagate_to_owner: Option<bool>,
    #[serde(default)]
    pub propagate_to_tenant: Option<bool>,
    #[serde(default)]
    pub propagate_relation_types: Option<Vec<String>>,
}

/// A checked [`AlarmInput`]: who, what, and the fields to set.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidAlarmInput {
    pub originator: EntityId,
    pub alarm_type: String,
    pub raise: Raise,
}

impl AlarmInput {
    /// Checks every field, with ThingsBoard's messages where it has them.
    pub fn validate(&self) -> Result<ValidAlarmInput, ValidationError> {
        let alarm_type = self.alarm_type.clone().unwrap_or_default();
        check_alarm_type(&alarm_type)?;
        let originator = self
            .originator
            .ok_or_else(|| ValidationError::new("Alarm originator should be specified!"))?;
        check_originator_type(originator.entity_type)?;
        let severity: AlarmSeverity = self
            .severity
            .as_deref()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ValidationError::new("Alarm severity should be specified!"))?
            .parse()?;
        check_details(self.details.as_ref())?;
        for t in self.propagate_relation_types.iter().flatten() {
            check_text("propagateRelationTypes", t)?;
        }
        for (field, ts) in [
            ("startTs", self.start_ts),
            ("endTs", self.end_ts),
            ("ackTs", self.ack_ts),
            ("clearTs", self.clear_ts),
        ] {
            if ts.is_some_and(|t| t < 0) {
                return Err(ValidationError::new(format!(
                    "Validation error: {field} must be a positive time"
                )));
            }
        }
        Ok(ValidAlarmInput {
            originator,
            alarm_type,
            raise: Raise {
                severity: Some(severity),
                details: self.details.clone(),
                start_ts: self.start_ts,
                end_ts: self.end_ts,
                propagate: self.propagate,
                propagate_to_owner: self.propagate_to_owner,
                propagate_to_tenant: self.propagate_to_tenant,
                propagate_relation_types: self.propagate_relation_types.clone(),
            },
        })
    }
}

/// A type is required and checked like any other name.
pub fn check_alarm_type(alarm_type: &str) -> Result<(), ValidationError> {
    check_required("type", alarm_type, "Alarm type should be specified!")
}

/// Alarms are raised on devices, assets, customers and tenants.
pub fn check_originator_type(t: EntityType) -> Result<(), ValidationError> {
    match t {
        EntityType::Device | EntityType::Asset | EntityType::Customer | EntityType::Tenant => {
            Ok(())
        }
        other => Err(ValidationError::new(format!(
            "Alarms can't be raised on entities of type {other}"
        ))),
    }
}

/// Details are a JSON object, or absent (`null`).
pub fn check_details(details: Option<&Value>) -> Result<(), ValidationError> {
    match details {
        None | Some(Value::Null | Value::Object(_)) => Ok(()),
        Some(_) => Err(ValidationError::new(
            "Alarm details should be a JSON object",
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use uuid::Uuid;

    use super::*;
    use crate::domain::ids::DeviceId;

    fn device() -> EntityId {
        DeviceId::new().entity_id()
    }

    fn raise(severity: AlarmSeverity) -> Raise {
        Raise {
            severity: Some(severity),
            ..Raise::default()
        }
    }

    #[test]
    fn a_new_alarm_is_active_unacknowledged_and_named_by_its_type() {
        let a = Alarm::raised(
            TenantId::new(),
            CustomerId::NULL,
            device(),
            "High Temp",
            raise(AlarmSeverity::Major),
            1_000,
        );
        assert_eq!(a.status(), AlarmStatus::ActiveUnack);
        assert_eq!((a.start_ts, a.end_ts), (1_000, 1_000));
        assert_eq!(a.name, "High Temp");
        let json = serde_json::to_value(a.json()).unwrap();
        assert_eq!(json["status"], "ACTIVE_UNACK");
        assert_eq!(json["type"], "High Temp");
        assert_eq!(json["severity"], "MAJOR");
        assert_eq!(json["id"]["entityType"], "ALARM");
        assert_eq!(json["assigneeId"], Value::Null);
    }

    #[test]
    fn raising_again_moves_the_end_and_keeps_the_start_and_what_was_not_given() {
        let first = Raise {
            details: Some(json!({"t": 1})),
            propagate: Some(true),
            ..raise(AlarmSeverity::Minor)
        };
        let a = Alarm::raised(TenantId::new(), CustomerId::NULL, device(), "t", first, 10);
        let b = a.raised_again(CustomerId::NULL, raise(AlarmSeverity::Critical), 50);
        assert_eq!((b.id, b.start_ts, b.end_ts), (a.id, 10, 50));
        assert_eq!(b.severity, AlarmSeverity::Critical);
        assert_eq!(b.details, Some(json!({"t": 1})));
        assert!(b.propagate);
    }

    #[test]
    fn ack_clear_and_assign_change_once_and_set_their_times() {
        let a = Alarm::raised(
            TenantId::new(),
            CustomerId::NULL,
            device(),
            "t",
            raise(AlarmSeverity::Warning),
            10,
        );
        let acked = a.acknowledged_at(20).unwrap();
        assert_eq!((acked.status(), acked.ack_ts), (AlarmStatus::ActiveAck, 20));
        assert!(acked.acknowledged_at(30).is_none());
        let cleared = acked.cleared_at(40).unwrap();
        assert_eq!(
            (cleared.status(), cleared.clear_ts),
            (AlarmStatus::ClearedAck, 40)
        );
        assert!(cleared.cleared_at(50).is_none());
        let user = Some(UserId::new());
        let assigned = cleared.assigned_at(user, 60).unwrap();
        assert_eq!((assigned.assignee_id, assigned.assign_ts), (user, 60));
        assert!(assigned.assigned_at(user, 70).is_none());
        assert!(a.assigned_at(None, 70).is_none());
    }

    #[test]
    fn input_is_checked_field_by_field() {
        let ok = |v: Value| serde_json::from_value::<AlarmInput>(v).unwrap().validate();
        let origin = json!({"entityType": "DEVICE", "id": Uuid::new_v4()});
        let good = ok(json!({"type": "t", "originator": origin, "severity": "MAJOR"})).unwrap();
        assert_eq!(good.raise.severity, Some(AlarmSeverity::Major));
        for (bad, needle) in [
            (json!({"originator": origin, "severity": "MAJOR"}), "type"),
            (json!({"type": "t", "severity": "MAJOR"}), "originator"),
            (json!({"type": "t", "originator": origin}), "severity"),
            (
                json!({"type": "t", "originator": origin, "severity": "HUGE"}),
                "HUGE",
            ),
            (
                json!({"type": "x".repeat(256), "originator": origin, "severity": "MAJOR"}),
                "255",
            ),
            (
                json!({"type": "t", "originator": origin, "severity": "MAJOR", "details": [1]}),
                "details",
            ),
            (
                json!({"type": "t", "originator": {"entityType": "DASHBOARD", "id": Uuid::new_v4()}, "severity": "MAJOR"}),
                "DASHBOARD",
            ),
        ] {
            let err = ok(bad.clone()).unwrap_err();
            assert!(err.0.contains(needle), "{bad}: {err}");
        }
    }

    #[test]
    fn severities_rank_and_parse_exactly() {
        assert!(AlarmSeverity::Critical.rank() > AlarmSeverity::Major.rank());
        assert!(AlarmSeverity::Warning.rank() > AlarmSeverity::Indeterminate.rank());
        assert_eq!("MINOR".parse::<AlarmSeverity>(), Ok(AlarmSeverity::Minor));
        assert!("minor".parse::<AlarmSeverity>().is_err());
        assert_eq!(
            "CLEARED_ACK".parse::<AlarmStatus>(),
            Ok(AlarmStatus::ClearedAck)
        );
    }
}
