//! Typed telemetry and attribute values, and ThingsBoard's device payloads.
//!
//! Typing follows ThingsBoard: a JSON string is STRING, a boolean BOOLEAN, an
//! integer LONG, any other number DOUBLE, an object or array JSON; nulls are
//! skipped.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use thiserror::Error;

/// Longest key ThingsBoard accepts.
pub const MAX_KEY_LEN: usize = 255;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", content = "v")]
pub enum DataValue {
    Boolean(bool),
    Long(i64),
    Double(f64),
    String(String),
    Json(Value),
}

impl DataValue {
    /// The typed value of a JSON value; `None` for null.
    pub fn from_json(v: &Value) -> Option<DataValue> {
        Some(match v {
            Value::Null => return None,
            Value::Bool(b) => DataValue::Boolean(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => DataValue::Long(i),
                None => DataValue::Double(n.as_f64()?),
            },
            Value::String(s) => DataValue::String(s.clone()),
            Value::Array(_) | Value::Object(_) => DataValue::Json(v.clone()),
        })
    }

    /// As sent with `useStrictDataTypes=true`.
    pub fn to_json(&self) -> Value {
        match self {
            DataValue::Boolean(b) => Value::Bool(*b),
            DataValue::Long(i) => Value::from(*i),
            DataValue::Double(d) => {
                serde_json::Number::from_f64(*d).map_or(Value::Null, Value::Number)
            }
            DataValue::String(s) => Value::String(s.clone()),
            DataValue::Json(v) => v.clone(),
        }
    }

    /// As ThingsBoard sends it by default: every value as a string.
    pub fn to_wire_string(&self) -> String {
        match self {
            DataValue::String(s) => s.clone(),
            DataValue::Json(v) => v.to_string(),
            other => other.to_json().to_string(),
        }
    }

    /// The number in this value, for aggregation and expressions.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            DataValue::Long(i) => Some(*i as f64),
            DataValue::Double(d) => Some(*d),
            DataValue::Boolean(b) => Some(if *b { 1.0 } else { 0.0 }),
            DataValue::String(s) => s.trim().parse().ok(),
            DataValue::Json(_) => None,
        }
    }
}

/// `{"k": v, ...}` with typed JSON values.
pub fn values_object(values: impl IntoIterator<Item = (String, DataValue)>) -> Value {
    Value::Object(
        values
            .into_iter()
            .map(|(k, v)| (k, v.to_json()))
            .collect::<Map<_, _>>(),
    )
}

/// What a device is told about its attributes: `{"client":{..},"shared":{..}}`
/// (the MQTT attribute response and the HTTP device API alike).
pub fn device_attributes_json(
    client: impl IntoIterator<Item = (String, DataValue)>,
    shared: impl IntoIterator<Item = (String, DataValue)>,
) -> Value {
    let mut out = Map::new();
    out.insert("client".into(), values_object(client));
    out.insert("shared".into(), values_object(shared));
    Value::Object(out)
}

/// Attribute scopes, stored as one byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Scope {
    #[serde(rename = "CLIENT_SCOPE")]
    Client = 1,
    #[serde(rename = "SERVER_SCOPE")]
    Server = 2,
    #[serde(rename = "SHARED_SCOPE")]
    Shared = 3,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Client, Scope::Server, Scope::Shared];

    /// ThingsBoard's name: `CLIENT_SCOPE`, `SERVER_SCOPE`, `SHARED_SCOPE`.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Client => "CLIENT_SCOPE",
            Scope::Server => "SERVER_SCOPE",
            Scope::Shared => "SHARED_SCOPE",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.name() == s)
    }
}

/// One key's value.
#[derive(Debug, Clone, PartialEq)]
pub struct KvEntry {
    pub key: String,
    pub value: DataValue,
}

/// One key's value at a time (ms).
#[derive(Debug, Clone, PartialEq)]
pub struct TsKvEntry {
    pub ts: i64,
    pub key: String,
    pub value: DataValue,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PayloadError {
    #[error("invalid JSON: {0}")]
    Json(String),
    #[error("{0}")]
    Shape(String),
}

pub fn shape(msg: impl Into<String>) -> PayloadError {
    PayloadError::Shape(msg.into())
}

pub(crate) fn check_key(key: &str) -> Result<(), PayloadError> {
    if key.is_empty() || key.len() > MAX_KEY_LEN || key.contains('\0') {
        return Err(shape(format!("invalid key '{}'", key.escape_debug())));
    }
    Ok(())
}

/// `{"k": v, ...}` into typed entries (nulls skipped).
pub fn parse_kv_object(obj: &Map<String, Value>) -> Result<Vec<KvEntry>, PayloadError> {
    let mut out = Vec::with_capacity(obj.len());
    for (key, value) in obj {
        check_key(key)?;
        if let Some(value) = DataValue::from_json(value) {
            out.push(KvEntry {
                key: key.clone(),
                value,
            });
        }
    }
    Ok(out)
}

pub(super) fn parse_ts(v: &Value) -> Result<i64, PayloadError> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
                    .map(|f| f as i64)
            })
            .ok_or_else(|| shape("'ts' must be an integer number of milliseconds")),
        _ => Err(shape("'ts' must be a number of milliseconds")),
    }
}

pub(super) const NOT_OBJECTS: &str = "telemetry must be a JSON object or an array of objects";

pub use super::telemetry_payload::parse_telemetry_bytes;

/// Attributes: `{"k": v}` only.
pub fn parse_attributes_bytes(payload: &[u8]) -> Result<Vec<KvEntry>, PayloadError> {
    parse_kv_object(&parse_object(payload, "attributes")?)
}

impl From<serde_json::Error> for PayloadError {
    fn from(e: serde_json::Error) -> Self {
        PayloadError::Json(e.to_string())
    }
}

/// A payload that must be one JSON object; `what` names it in the error.
pub fn parse_object(payload: &[u8], what: &str) -> Result<Map<String, Value>, PayloadError> {
    match serde_json::from_slice(payload)? {
        Value::Object(map) => Ok(map),
        _ => Err(not_an_object(what)),
    }
}

/// [`parse_object`] with each value left as raw JSON, borrowed from the
/// payload, to be parsed by its own parser without a `Value` tree in
/// between.
pub fn parse_raw_object<'a>(
    payload: &'a [u8],
    what: &str,
) -> Result<BTreeMap<String, &'a RawValue>, PayloadError> {
    // A raw value takes any JSON: a data error can only be the top level's.
    serde_json::from_slice(payload).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => not_an_object(what),
        _ => e.into(),
    })
}

fn not_an_object(what: &str) -> PayloadError {
    shape(format!("{what} must be a JSON object"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_are_typed_like_thingsboard() {
        let e = parse_telemetry_bytes(
            json!({"b": true, "l": 42, "d": 1.5, "s": "x", "j": {"a": 1}, "n": null})
                .to_string()
                .as_bytes(),
            7,
        )
        .unwrap();
        let get = |k: &str| e.iter().find(|x| x.key == k).map(|x| x.value.clone());
        assert_eq!(get("b"), Some(DataValue::Boolean(true)));
        assert_eq!(get("l"), Some(DataValue::Long(42)));
        assert_eq!(get("d"), Some(DataValue::Double(1.5)));
        assert_eq!(get("s"), Some(DataValue::String("x".into())));
        assert_eq!(get("j"), Some(DataValue::Json(json!({"a": 1}))));
        assert_eq!(get("n"), None);
        assert!(e.iter().all(|x| x.ts == 7));
    }

    #[test]
    fn every_telemetry_form_parses() {
        let forms = [
            json!({"t": 1}),
            json!([{"t": 1}, {"h": 2}]),
            json!({"ts": 1000, "values": {"t": 1}}),
            json!([{"ts": 1000, "values": {"t": 1}}, {"ts": 2000, "values": {"t": 2}}]),
        ];
        let counts: Vec<usize> = forms
            .iter()
            .map(|f| {
                parse_telemetry_bytes(f.to_string().as_bytes(), 5)
                    .unwrap()
                    .len()
            })
            .collect();
        assert_eq!(counts, [1, 2, 1, 2]);
        let timed = parse_telemetry_bytes(forms[3].to_string().as_bytes(), 5).unwrap();
        assert_eq!((timed[0].ts, timed[1].ts), (1000, 2000));
    }

    #[test]
    fn bad_payloads_are_errors_not_panics() {
        assert!(parse_telemetry_bytes(b"{not json", 0).is_err());
        assert!(parse_telemetry_bytes(b"42", 0).is_err());
        assert!(parse_telemetry_bytes(br#"{"ts":"yesterday","values":{"a":1}}"#, 0).is_err());
        assert!(parse_telemetry_bytes(br#"{"ts":1.5,"values":{"a":1}}"#, 0).is_err());
        assert!(parse_telemetry_bytes(br#"[{"ts":"x","values":{"a":1}}, 3]"#, 0).is_err());
        assert!(parse_telemetry_bytes(br#"{"":1}"#, 0).is_err());
        assert!(parse_attributes_bytes(b"[1,2]").is_err());
    }
}
