//! Devices and their access-token credentials.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::assignable::{AssignableInput, assignable};
use super::customer::info_flag;
use super::entity_group::GroupType;
use super::ids::{CustomerId, DeviceId, EntityType, TenantId};
use super::validate::ValidationError;
use crate::auth::permissions::Resource;

/// As stored and as sent on the wire (which adds `ownerId`: see
/// [`assignable`]'s `Serialize`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    pub id: DeviceId,
    pub created_time: i64,
    pub tenant_id: TenantId,
    /// The null customer when unassigned.
    pub customer_id: CustomerId,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub label: Option<String>,
    pub additional_info: Option<Value>,
    pub version: i64,
}

assignable!(
    Device,
    DeviceId,
    EntityType::Device,
    GroupType::Device,
    Resource::Device,
    "Device"
);

pub type DeviceInput = AssignableInput<DeviceId>;

impl Device {
    /// A gateway may publish for the devices behind it (`additionalInfo.gateway`).
    pub fn is_gateway(&self) -> bool {
        info_flag(self.additional_info.as_ref(), "gateway")
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
