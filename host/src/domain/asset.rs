//! Assets: buildings, vehicles, anything devices belong to.

use serde::Deserialize;
use serde_json::Value;

use super::assignable::{AssignableInput, assignable};
use super::entity_group::GroupType;
use super::ids::{AssetId, CustomerId, EntityType, TenantId};
use crate::auth::permissions::Resource;

/// As stored and as sent on the wire (which adds `ownerId`: see
/// [`assignable`]'s `Serialize`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Asset {
    pub id: AssetId,
    pub created_time: i64,
    pub tenant_id: TenantId,
    pub customer_id: CustomerId,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub label: Option<String>,
    pub additional_info: Option<Value>,
    pub version: i64,
}

assignable!(
    Asset,
    AssetId,
    EntityType::Asset,
    GroupType::Asset,
    Resource::Asset,
    "Asset"
);

pub type AssetInput = AssignableInput<AssetId>;
