//! Devices and their access-token credentials.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::assignable::assignable;
use super::customer::check_additional_info;
use super::ids::{CustomerId, DeviceId, EntityType, TenantId};
use super::validate::{ValidationError, check_opt_text, check_required};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    pub id: DeviceId,
    pub created_time: i64,
    pub tenant_id: TenantId,
    /// The null customer when unassigned.
    pub customer_id: CustomerId,
    pub name: String,
    #[serde(rename = "type")]
    pub device_type: String,
    pub label: Option<String>,
    pub additional_info: Option<Value>,
    pub version: i64,
}

assignable!(Device, EntityType::Device, "Device", device_type);

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceInput {
    #[serde(default)]
    pub id: Option<DeviceId>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, rename = "type")]
    pub device_type: Option<String>,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub additional_info: Option<Value>,
    #[serde(default)]
    pub version: Option<i64>,
}

impl DeviceInput {
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_required(
            "name",
            self.name.as_deref().unwrap_or(""),
            "Device name should be specified!",
        )?;
        check_opt_text("type", self.device_type.as_deref())?;
        check_opt_text("label", self.label.as_deref())?;
        check_additional_info(self.additional_info.as_ref())
    }
}

impl Device {
    pub fn create(
        tenant_id: TenantId,
        customer_id: CustomerId,
        input: DeviceInput,
        now: i64,
    ) -> Self {
        Device {
            id: DeviceId::new(),
            created_time: now,
            tenant_id,
            customer_id,
            name: input.name.unwrap_or_default(),
            device_type: input
                .device_type
                .filter(|t| !t.trim().is_empty())
                .unwrap_or_else(|| "default".into()),
            label: input.label,
            additional_info: input.additional_info,
            version: 1,
        }
    }

    /// This device with the caller's changes; assignment changes through its own endpoints.
    pub fn updated(&self, input: DeviceInput) -> Self {
        Device {
            name: input.name.unwrap_or_default(),
            device_type: input
                .device_type
                .filter(|t| !t.trim().is_empty())
                .unwrap_or_else(|| self.device_type.clone()),
            label: input.label,
            additional_info: input.additional_info,
            version: self.version + 1,
            ..self.clone()
        }
    }

    /// A gateway may publish for the devices behind it (`additionalInfo.gateway`).
    pub fn is_gateway(&self) -> bool {
        self.additional_info
            .as_ref()
            .and_then(|i| i.get("gateway"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }
}

/// `{"id","createdTime","deviceId","credentialsType","credentialsId","credentialsValue"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceCredentials {
    pub id: CredentialsId,
    pub created_time: i64,
    pub device_id: DeviceId,
    pub credentials_type: String,
    /// The access token.
    pub credentials_id: String,
    pub credentials_value: Option<String>,
    #[serde(default)]
    pub version: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialsId {
    pub id: uuid::Uuid,
}

pub const ACCESS_TOKEN: &str = "ACCESS_TOKEN";

/// An access token a caller chose: printable, no spaces, at most 32 characters as in ThingsBoard.
pub fn check_access_token(token: &str) -> Result<(), ValidationError> {
    if token.is_empty() || token.len() > 32 || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ValidationError::new(
            "Device credentials id should be 1 to 32 printable characters without spaces!",
        ));
    }
    Ok(())
}
