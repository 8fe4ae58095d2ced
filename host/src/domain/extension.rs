//! Extensions: WebAssembly components a tenant uploads, to run as
//! calculated fields or customer logic. ThingsBoard has no such entity; the
//! JSON follows its conventions (typed id, `createdTime`, `tenantId`,
//! `version`). The component's bytes are not part of it: they are stored
//! and served apart, so that lists stay small.

use serde::{Deserialize, Serialize};

use super::ids::{ExtensionId, TenantId};
use super::validate::{ValidationError, check_required};

/// Largest settings object a guest is given (a field's or a binding's),
/// serialised.
pub const MAX_SETTINGS_BYTES: usize = 64 * 1024;

/// A guest's settings must be a JSON object, and small.
pub fn check_settings(settings: &serde_json::Value) -> Result<(), ValidationError> {
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

/// [`check_settings`] for settings that may be left out (absent or null,
/// which [`guest_settings`] turns into `{}`).
pub fn check_optional_settings(
    settings: Option<&serde_json::Value>,
) -> Result<(), ValidationError> {
    settings
        .filter(|s| !s.is_null())
        .map_or(Ok(()), check_settings)
}

/// What a guest receives as its settings: the JSON text, `{}` when there
/// are none (absent or null). The one place that says so for fields,
/// bindings and test runs.
pub fn guest_settings(settings: Option<&serde_json::Value>) -> String {
    settings
        .filter(|s| !s.is_null())
        .map_or_else(|| "{}".to_owned(), serde_json::Value::to_string)
}

/// The role a component implements: one of the worlds of `wit/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExtensionWorld {
    CalculatedField,
    CustomerLogic,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Extension {
    pub id: ExtensionId,
    pub created_time: i64,
    pub tenant_id: TenantId,
    pub name: String,
    pub world: ExtensionWorld,
    /// The sha256 of the component, in lowercase hex: what the compiled
    /// code is cached under, and how a client checks what it uploaded.
    pub sha256: String,
    /// The component's size in bytes.
    pub size: u64,
    pub version: i64,
}

impl Extension {
    pub fn create(
        tenant_id: TenantId,
        name: &str,
        world: ExtensionWorld,
        sha256: String,
        size: u64,
        now: i64,
    ) -> Self {
        Extension {
            id: ExtensionId::new(),
            created_time: now,
            tenant_id,
            name: name.to_owned(),
            world,
            sha256,
            size,
            // Extensions are not updated in place (a new component is a new
            // upload), so the version stays 1.
            version: 1,
        }
    }
}

/// An extension's name follows the rules of every entity name.
pub fn check_name(name: &str) -> Result<(), ValidationError> {
    check_required("name", name, "Extension name should be specified!")
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

    #[test]
    fn the_json_is_in_thingsboards_shape() {
        let e = Extension::create(
            TenantId::new(),
            "dew",
            ExtensionWorld::CalculatedField,
            "ab".repeat(32),
            42,
            7,
        );
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["id"]["entityType"], "EXTENSION");
        assert_eq!(json["tenantId"]["entityType"], "TENANT");
        assert_eq!(json["world"], "CALCULATED_FIELD");
        assert_eq!(json["createdTime"], 7);
        assert_eq!(json["size"], 42);
        assert_eq!(serde_json::from_value::<Extension>(json).unwrap(), e);
    }

    #[test]
    fn names_are_checked_like_other_entity_names() {
        assert!(check_name("dew point").is_ok());
        assert!(check_name("  ").is_err());
        assert!(check_name("<script>").is_err());
        assert!(check_name(&"x".repeat(256)).is_err());
    }
}
