//! Events (ThingsBoard's `EventInfo`): what happened to an entity that is
//! not an audited user action: lifecycle (an extension started, or failed
//! to), errors of a guest, statistics, debug traces of calculated fields.
//!
//! Wire shape: `{id{id}, createdTime, tenantId, type, uid, entityId,
//! body{server, ...}}`; the body depends on the type: LC_EVENT `event,
//! success, error`; ERROR `method, error`; STATS `messagesProcessed,
//! errorsOccurred`; DEBUG_CALCULATED_FIELD `calculatedFieldId, entityId,
//! entityType, msgType, arguments, result, error`.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::ids::{EntityId, TenantId};
use super::validate::ValidationError;

/// ThingsBoard's event types. Clientele records ERROR, LC_EVENT, STATS and
/// DEBUG_CALCULATED_FIELD; the rule-engine types are accepted in requests
/// (and find nothing), so that ThingsBoard's clients work unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventType {
    Error,
    LcEvent,
    Stats,
    DebugRuleNode,
    DebugRuleChain,
    DebugCalculatedField,
}

impl EventType {
    pub const ALL: [EventType; 6] = [
        EventType::Error,
        EventType::LcEvent,
        EventType::Stats,
        EventType::DebugRuleNode,
        EventType::DebugRuleChain,
        EventType::DebugCalculatedField,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Error => "ERROR",
            EventType::LcEvent => "LC_EVENT",
            EventType::Stats => "STATS",
            EventType::DebugRuleNode => "DEBUG_RULE_NODE",
            EventType::DebugRuleChain => "DEBUG_RULE_CHAIN",
            EventType::DebugCalculatedField => "DEBUG_CALCULATED_FIELD",
        }
    }

    /// The byte that stands for the type in storage keys. Never reuse or
    /// renumber one: stored keys hold them.
    pub fn code(self) -> u8 {
        match self {
            EventType::Error => 1,
            EventType::LcEvent => 2,
            EventType::Stats => 3,
            EventType::DebugRuleNode => 4,
            EventType::DebugRuleChain => 5,
            EventType::DebugCalculatedField => 6,
        }
    }

    /// Parses a type as ThingsBoard does: any case, with ThingsBoard's
    /// message for anything else.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let raw = raw.trim();
        Self::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(raw))
            .ok_or_else(|| ValidationError::new(format!("Event type: '{raw}' is not supported!")))
    }
}

/// An event's id: ThingsBoard sends it without an entity type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventId {
    pub id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub id: EventId,
    pub created_time: i64,
    pub tenant_id: TenantId,
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// The id again, as a string (ThingsBoard's `uid`).
    pub uid: String,
    pub entity_id: EntityId,
    pub body: Value,
}

/// Largest body kept, as JSON. A guest's error message can be long (it
/// carries the guest's stderr); bounding each event, with the cap on their
/// number, bounds what one entity's events take on disk.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// An event to record: what background tasks (guest calls, calculated
/// fields) hand to the service.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub tenant: TenantId,
    pub entity: EntityId,
    pub event_type: EventType,
    /// The type's fields; `server` is added when missing.
    pub body: Value,
    pub ts: i64,
}

impl NewEvent {
    /// A lifecycle event: `event` ("STARTED", "STOPPED", "SUSPENDED") and
    /// whether it went well, with the error if not.
    pub fn lifecycle(
        tenant: TenantId,
        entity: EntityId,
        event: &str,
        error: Option<&str>,
        ts: i64,
    ) -> Self {
        let mut body = json!({ "event": event, "success": error.is_none() });
        if let Some(error) = error {
            body["error"] = Value::from(error);
        }
        NewEvent {
            tenant,
            entity,
            event_type: EventType::LcEvent,
            body,
            ts,
        }
    }

    /// An error of `method` (what was being done when it failed).
    pub fn error(tenant: TenantId, entity: EntityId, method: &str, error: &str, ts: i64) -> Self {
        NewEvent {
            tenant,
            entity,
            event_type: EventType::Error,
            body: json!({ "method": method, "error": error }),
            ts,
        }
    }

    /// The stored event, with a new id, the server's name in the body and
    /// an oversized body replaced by a note saying so.
    pub fn into_event(self) -> Event {
        let id = super::ids::new_time_uuid();
        let mut body = match self.body {
            Value::Object(map) => map,
            other => Map::from_iter([("data".to_owned(), other)]),
        };
        let size = serde_json::to_vec(&body).map_or(0, |b| b.len());
        if size > MAX_BODY_BYTES {
            let note = format!("event body of {size} bytes dropped (over {MAX_BODY_BYTES})");
            body = Map::from_iter([("error".to_owned(), Value::from(note))]);
        }
        body.entry("server")
            .or_insert_with(|| Value::from(server_name()));
        Event {
            id: EventId { id },
            created_time: self.ts,
            tenant_id: self.tenant,
            event_type: self.event_type,
            uid: id.to_string(),
            entity_id: self.entity,
            body: Value::Object(body),
        }
    }
}

/// The `server` of events: this machine's host name (ThingsBoard puts its
/// service id there), or "clientele" when it cannot be read.
pub fn server_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "clientele".to_owned())
    })
}

/// ThingsBoard's event filter: `eventType` and the fields of that type's
/// filter. Each other field given (and not empty) must match the body: a
/// string is a case-insensitive "contains" on the body's field of the same
/// name (`errorStr` on `error`), a number a minimum (STATS counts),
/// `status` ("Success"/"Failure") the LC event's `success`, `isError`
/// whether the event has an error.
#[derive(Debug, Clone, PartialEq)]
pub struct EventFilter {
    pub event_type: EventType,
    fields: Map<String, Value>,
}

impl EventFilter {
    /// Only events of this type.
    pub fn of_type(event_type: EventType) -> Self {
        EventFilter {
            event_type,
            fields: Map::new(),
        }
    }

    /// Reads a filter body; `eventType` is required.
    pub fn from_json(value: Value) -> Result<Self, ValidationError> {
        let Value::Object(mut fields) = value else {
            return Err(ValidationError::new(
                "The event filter must be a JSON object",
            ));
        };
        let event_type = match fields.remove("eventType") {
            Some(Value::String(t)) => EventType::parse(&t)?,
            _ => return Err(ValidationError::new("Event type is required!")),
        };
        fields.retain(|_, v| !matches!(v, Value::Null) && v.as_str().is_none_or(|s| !s.is_empty()));
        Ok(EventFilter { event_type, fields })
    }

    /// Whether a body must be read to apply the filter.
    pub fn has_body_filter(&self) -> bool {
        !self.fields.is_empty()
    }

    pub fn matches(&self, body: &Value) -> bool {
        self.fields
            .iter()
            .all(|(key, wanted)| field_matches(key, wanted, body))
    }
}

fn field_matches(key: &str, wanted: &Value, body: &Value) -> bool {
    let error = body.get("error").and_then(Value::as_str).unwrap_or("");
    match (key, wanted) {
        ("errorStr", Value::String(s)) => contains(error, s),
        ("isError", wanted) => truthy(wanted) == Some(!error.is_empty()),
        ("status", Value::String(s)) => {
            let success = body.get("success").and_then(Value::as_bool);
            match s.to_ascii_lowercase().as_str() {
                "success" => success == Some(true),
                "failure" => success == Some(false),
                _ => false,
            }
        }
        (_, Value::String(s)) => match body.get(key) {
            Some(Value::String(v)) => contains(v, s),
            Some(v @ (Value::Number(_) | Value::Bool(_))) => contains(&v.to_string(), s),
            _ => false,
        },
        (_, Value::Number(min)) => match (body.get(key).and_then(Value::as_f64), min.as_f64()) {
            (Some(v), Some(min)) => v >= min,
            _ => false,
        },
        (_, wanted) => body.get(key) == Some(wanted),
    }
}

fn contains(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

fn truthy(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::DeviceId;

    #[test]
    fn types_parse_in_any_case_and_refuse_others_with_thingsboards_message() {
        assert_eq!(EventType::parse("lc_event").unwrap(), EventType::LcEvent);
        assert_eq!(
            EventType::parse("DEBUG_CALCULATED_FIELD").unwrap(),
            EventType::DebugCalculatedField
        );
        let err = EventType::parse("NOPE").unwrap_err();
        assert_eq!(err.0, "Event type: 'NOPE' is not supported!");
        for t in EventType::ALL {
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
        let mut codes: Vec<u8> = EventType::ALL.iter().map(|t| t.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), EventType::ALL.len(), "codes must be distinct");
    }

    #[test]
    fn an_event_gets_an_id_a_uid_and_the_server_name() {
        let tenant = TenantId::new();
        let device = DeviceId::new().entity_id();
        let e = NewEvent::error(tenant, device, "compute", "boom", 5).into_event();
        assert_eq!(e.uid, e.id.id.to_string());
        assert_eq!(e.body["server"], server_name());
        assert_eq!(e.body["method"], "compute");
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["type"], "ERROR");
        assert_eq!(json["entityId"]["entityType"], "DEVICE");
        assert!(json["id"].get("entityType").is_none(), "{json}");
    }

    #[test]
    fn an_oversized_body_is_replaced_by_a_note() {
        let big = "x".repeat(MAX_BODY_BYTES);
        let e = NewEvent::error(TenantId::new(), DeviceId::new().entity_id(), "m", &big, 1)
            .into_event();
        let error = e.body["error"].as_str().unwrap();
        assert!(error.contains("dropped"), "{error}");
        assert!(serde_json::to_vec(&e.body).unwrap().len() < 1024);
    }

    #[test]
    fn filters_match_fields_of_the_body() {
        let error = json!({"server": "edge-1", "method": "compute", "error": "Trap: Boom"});
        let lc_ok = json!({"server": "edge-1", "event": "STARTED", "success": true});
        let stats = json!({"messagesProcessed": 10, "errorsOccurred": 2});
        let f = |v: Value| EventFilter::from_json(v).unwrap();

        assert!(f(json!({"eventType": "ERROR"})).matches(&error));
        assert!(!f(json!({"eventType": "ERROR"})).has_body_filter());
        assert!(f(json!({"eventType": "ERROR", "errorStr": "boom", "server": ""})).matches(&error));
        assert!(!f(json!({"eventType": "ERROR", "errorStr": "other"})).matches(&error));
        assert!(f(json!({"eventType": "ERROR", "method": "COMP"})).matches(&error));
        assert!(f(json!({"eventType": "ERROR", "isError": true})).matches(&error));
        assert!(!f(json!({"eventType": "LC_EVENT", "isError": "true"})).matches(&lc_ok));
        assert!(f(json!({"eventType": "LC_EVENT", "status": "Success"})).matches(&lc_ok));
        assert!(!f(json!({"eventType": "LC_EVENT", "status": "Failure"})).matches(&lc_ok));
        assert!(f(json!({"eventType": "STATS", "messagesProcessed": 5})).matches(&stats));
        assert!(!f(json!({"eventType": "STATS", "errorsOccurred": 3})).matches(&stats));
        assert!(EventFilter::from_json(json!({"errorStr": "x"})).is_err());
        assert!(EventFilter::from_json(json!({"eventType": "X"})).is_err());
    }
}
