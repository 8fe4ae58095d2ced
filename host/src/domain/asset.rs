//! Assets: buildings, vehicles, anything devices belong to.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::assignable::assignable;
use super::customer::check_additional_info;
use super::ids::{AssetId, CustomerId, EntityType, TenantId};
use super::validate::{ValidationError, check_opt_text, check_required};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Asset {
    pub id: AssetId,
    pub created_time: i64,
    pub tenant_id: TenantId,
    pub customer_id: CustomerId,
    pub name: String,
    #[serde(rename = "type")]
    pub asset_type: String,
    pub label: Option<String>,
    pub additional_info: Option<Value>,
    pub version: i64,
}

assignable!(Asset, EntityType::Asset, "Asset", asset_type);

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssetInput {
    #[serde(default)]
    pub id: Option<AssetId>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, rename = "type")]
    pub asset_type: Option<String>,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub additional_info: Option<Value>,
    #[serde(default)]
    pub version: Option<i64>,
}

impl AssetInput {
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_required(
            "name",
            self.name.as_deref().unwrap_or(""),
            "Asset name should be specified!",
        )?;
        check_opt_text("type", self.asset_type.as_deref())?;
        check_opt_text("label", self.label.as_deref())?;
        check_additional_info(self.additional_info.as_ref())
    }
}

impl Asset {
    pub fn create(tenant_id: TenantId, input: AssetInput, now: i64) -> Self {
        Asset {
            id: AssetId::new(),
            created_time: now,
            tenant_id,
            customer_id: CustomerId::NULL,
            name: input.name.unwrap_or_default(),
            asset_type: input
                .asset_type
                .filter(|t| !t.trim().is_empty())
                .unwrap_or_else(|| "default".into()),
            label: input.label,
            additional_info: input.additional_info,
            version: 1,
        }
    }

    pub fn updated(&self, input: AssetInput) -> Self {
        Asset {
            name: input.name.unwrap_or_default(),
            asset_type: input
                .asset_type
                .filter(|t| !t.trim().is_empty())
                .unwrap_or_else(|| self.asset_type.clone()),
            label: input.label,
            additional_info: input.additional_info,
            version: self.version + 1,
            ..self.clone()
        }
    }
}
