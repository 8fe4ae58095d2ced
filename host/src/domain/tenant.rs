//! Tenants: created by the system administrator.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::contact::Contact;
use super::customer::check_additional_info;
use super::ids::TenantId;
use super::validate::{ValidationError, check_required};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    pub id: TenantId,
    pub created_time: i64,
    pub title: String,
    pub name: String,
    pub region: Option<String>,
    #[serde(flatten)]
    pub contact: Contact,
    pub additional_info: Option<Value>,
    pub version: i64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantInput {
    #[serde(default)]
    pub id: Option<TenantId>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(flatten)]
    pub contact: Contact,
    #[serde(default)]
    pub additional_info: Option<Value>,
    #[serde(default)]
    pub version: Option<i64>,
}

impl TenantInput {
    pub fn validate(&self) -> Result<(), ValidationError> {
        let title = self.title.as_deref().unwrap_or("");
        check_required("title", title, "Tenant title should be specified!")?;
        self.contact.validate()?;
        check_additional_info(self.additional_info.as_ref())
    }
}

impl Tenant {
    pub fn create(input: TenantInput, now: i64) -> Self {
        let title = input.title.unwrap_or_default();
        Tenant {
            id: TenantId::new(),
            created_time: now,
            name: title.clone(),
            title,
            region: input.region,
            contact: input.contact,
            additional_info: input.additional_info,
            version: 1,
        }
    }

    pub fn updated(&self, input: TenantInput) -> Self {
        let title = input.title.unwrap_or_default();
        Tenant {
            id: self.id,
            created_time: self.created_time,
            name: title.clone(),
            title,
            region: input.region,
            contact: input.contact,
            additional_info: input.additional_info,
            version: self.version + 1,
        }
    }
}
