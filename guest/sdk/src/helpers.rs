//! Conversions and lookups that the generated bindings do not have.

use crate::calculated_field::{ArgumentValue, Output, OutputTarget};
use crate::types::{EntityId, EntityType, Error, TsValue, Value};

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Double(v)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Long(v)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Boolean(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::String(v.to_owned())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::String(v)
    }
}

impl Value {
    /// The value as a number, the way ThingsBoard's calculated fields read
    /// arguments: doubles and longs as they are, strings when they parse,
    /// booleans as 1 and 0. `None` for JSON and for text that is no number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Double(v) => Some(*v),
            // Precision loss above 2^53 is accepted, as in ThingsBoard.
            Value::Long(v) => Some(*v as f64),
            Value::Boolean(v) => Some(if *v { 1.0 } else { 0.0 }),
            Value::String(s) => s.trim().parse().ok(),
            Value::Json(_) => None,
        }
    }

    /// The value if it is a boolean, or the text `"true"` / `"false"`.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Boolean(v) => Some(*v),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
    }

    /// The text of a string or JSON value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) | Value::Json(s) => Some(s),
            _ => None,
        }
    }
}

impl EntityId {
    /// The id of a device.
    pub fn device(id: impl Into<String>) -> Self {
        Self::new(EntityType::Device, id)
    }

    /// The id of an asset.
    pub fn asset(id: impl Into<String>) -> Self {
        Self::new(EntityType::Asset, id)
    }

    /// The id of a customer.
    pub fn customer(id: impl Into<String>) -> Self {
        Self::new(EntityType::Customer, id)
    }

    fn new(entity_type: EntityType, id: impl Into<String>) -> Self {
        EntityId {
            entity_type,
            id: id.into(),
        }
    }
}

impl Error {
    /// `invalid-argument` with a message: bad settings, a missing argument.
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidArgument(message.into())
    }
}

impl Output {
    /// An output saved as telemetry, timestamped with the event's time.
    pub fn telemetry(key: impl Into<String>, value: impl Into<Value>) -> Self {
        Output {
            key: key.into(),
            value: value.into(),
            target: OutputTarget::Telemetry,
            ts: None,
        }
    }

    /// An output saved as a server-scope attribute.
    pub fn attribute(key: impl Into<String>, value: impl Into<Value>) -> Self {
        Output {
            target: OutputTarget::ServerAttribute,
            ..Self::telemetry(key, value)
        }
    }

    /// The same output with its own timestamp (ms) instead of the event's.
    pub fn at(self, ts: i64) -> Self {
        Output {
            ts: Some(ts),
            ..self
        }
    }
}

impl ArgumentValue {
    /// The newest point: the single value, or the last of a rolling window.
    pub fn latest(&self) -> Option<&TsValue> {
        match self {
            ArgumentValue::Single(v) => v.as_ref(),
            ArgumentValue::Rolling(points) => points.last(),
        }
    }

    /// Every point: the single value (if any), or the whole window.
    pub fn points(&self) -> &[TsValue] {
        match self {
            ArgumentValue::Single(v) => v.as_slice(),
            ArgumentValue::Rolling(points) => points,
        }
    }
}

/// The guest's JSON settings (`settings-json`) as a `T` of its own, or
/// `invalid-argument` saying what does not fit: how a guest reads the
/// settings `init` gets. Needs the `serde` feature.
#[cfg(feature = "serde")]
pub fn settings<T: serde::de::DeserializeOwned>(settings_json: &str) -> Result<T, Error> {
    serde_json::from_str(settings_json).map_err(|e| Error::invalid(format!("settings: {e}")))
}

/// Logs a formatted message to the host's log:
/// `log!(Info, "dew point {dp:.1} from {t} and {rh}")`. The level is a
/// variant of [`log::Level`](crate::log::Level).
#[macro_export]
macro_rules! log {
    ($level:ident, $($arg:tt)+) => {
        $crate::log::log($crate::log::Level::$level, &::std::format!($($arg)+))
    };
}
