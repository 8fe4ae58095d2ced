//! Customer logic bindings: a `customer-logic` extension bound to a
//! customer, with the settings its `init` receives. The extension then
//! hears of that customer's events (telemetry, attribute changes, and the
//! lifecycle of its devices and assets) and may act on that customer's
//! entities only. Clientele's own entity, in ThingsBoard's JSON style.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ids::{CustomerId, ExtensionId, TenantId};
use super::validate::ValidationError;

/// Largest settings object, serialised.
pub const MAX_SETTINGS_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogicBinding {
    pub tenant_id: TenantId,
    pub customer_id: CustomerId,
    pub extension_id: ExtensionId,
    /// Handed to the guest's `init` as JSON.
    pub settings: Value,
    pub created_time: i64,
    pub version: i64,
}

/// Settings must be a JSON object (or nothing: `{}`), and small.
pub fn check_settings(settings: &Value) -> Result<(), ValidationError> {
    if !settings.is_object() {
        return Err(ValidationError::new("settings must be a JSON object"));
    }
    if settings.to_string().len() > MAX_SETTINGS_BYTES {
        return Err(ValidationError::new(format!(
            "settings are larger than {MAX_SETTINGS_BYTES} bytes"
        )));
    }
    Ok(())
}

impl LogicBinding {
    /// The settings as the guest receives them.
    pub fn settings_json(&self) -> String {
        self.settings.to_string()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn settings_are_a_small_object() {
        assert!(check_settings(&json!({"high": 30})).is_ok());
        assert!(check_settings(&json!([1])).is_err());
        assert!(check_settings(&json!("x")).is_err());
        let big = json!({"blob": "x".repeat(MAX_SETTINGS_BYTES)});
        assert!(check_settings(&big).unwrap_err().0.contains("larger"));
    }
}
