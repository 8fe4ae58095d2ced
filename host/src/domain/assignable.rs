//! What devices and assets share: a name unique in the tenant, a type, and
//! an assignment to at most one customer; the input that creates and
//! updates them, and its validation.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::customer::check_additional_info;
use super::entity_group::GroupType;
use super::ids::{CustomerId, EntityGroupId, EntityId, EntityType, TenantId};
use super::validate::{ValidationError, check_opt_text, check_required};
use crate::auth::permissions::Resource;

pub trait Assignable: Clone + Serialize + DeserializeOwned + Send + Sync + 'static {
    const ENTITY_TYPE: EntityType;
    /// The type of the entity groups that hold it.
    const GROUP_TYPE: GroupType;
    /// What the permission rules call it.
    const RESOURCE: Resource;
    /// The word used in messages: "Device", "Asset".
    const LABEL: &'static str;
    /// Its typed id: `DeviceId`, `AssetId`.
    type Id: Copy + Into<Uuid> + DeserializeOwned + Send + 'static;

    fn uuid(&self) -> Uuid;
    fn tenant(&self) -> TenantId;
    /// The null customer when unassigned.
    fn customer(&self) -> CustomerId;
    fn name(&self) -> &str;
    fn kind(&self) -> &str;
    fn label(&self) -> Option<&str>;
    fn created(&self) -> i64;
    fn version(&self) -> i64;
    /// A new one, version 1, of type "default" unless the input names one.
    fn create(
        tenant: TenantId,
        customer: CustomerId,
        input: AssignableInput<Self::Id>,
        now: i64,
    ) -> Self;
    /// This one with the caller's changes, one version on; the type stays
    /// when none is given, and assignment changes through its own endpoints.
    fn updated(&self, input: AssignableInput<Self::Id>) -> Self;
    /// This one assigned to `customer` (or unassigned), one version on.
    fn assigned_to(&self, customer: CustomerId) -> Self;

    fn entity_id(&self) -> EntityId {
        EntityId {
            entity_type: Self::ENTITY_TYPE,
            id: self.uuid(),
        }
    }

    /// Its owner (ThingsBoard PE's `ownerId`): the customer it is assigned
    /// to, else its tenant.
    fn owner_id(&self) -> EntityId {
        super::ids::owner_of(self.tenant(), self.customer())
    }
}

/// What a caller sends to create (no `id`) or update a device or asset.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignableInput<Id> {
    #[serde(default)]
    pub id: Option<Id>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub additional_info: Option<Value>,
    #[serde(default)]
    pub version: Option<i64>,
    /// Groups to put a new one in (ThingsBoard PE's `entityGroupId` /
    /// `entityGroupIds` query parameters): its owner is theirs.
    #[serde(skip)]
    pub entity_groups: Vec<EntityGroupId>,
}

// By hand: a derived Default would ask the id type for one.
impl<Id> Default for AssignableInput<Id> {
    fn default() -> Self {
        AssignableInput {
            id: None,
            name: None,
            kind: None,
            label: None,
            additional_info: None,
            version: None,
            entity_groups: Vec::new(),
        }
    }
}

impl<Id> AssignableInput<Id> {
    /// Checks the fields; `label` names the entity in the messages.
    pub fn validate(&self, label: &str) -> Result<(), ValidationError> {
        check_required(
            "name",
            self.name.as_deref().unwrap_or(""),
            &format!("{label} name should be specified!"),
        )?;
        check_opt_text("type", self.kind.as_deref())?;
        check_opt_text("label", self.label.as_deref())?;
        check_additional_info(self.additional_info.as_ref())
    }

    /// The type asked for, unless blank.
    pub(crate) fn given_kind(&mut self) -> Option<String> {
        self.kind.take().filter(|t| !t.trim().is_empty())
    }
}

/// Implements [`Assignable`] for a struct with the usual fields.
macro_rules! assignable {
    ($t:ident, $id:ident, $kind:expr, $group:expr, $resource:expr, $label:expr) => {
        impl $crate::domain::assignable::Assignable for $t {
            const ENTITY_TYPE: $crate::domain::ids::EntityType = $kind;
            const GROUP_TYPE: $crate::domain::entity_group::GroupType = $group;
            const RESOURCE: $crate::auth::permissions::Resource = $resource;
            const LABEL: &'static str = $label;
            type Id = $id;

            fn uuid(&self) -> uuid::Uuid {
                self.id.0
            }
            fn tenant(&self) -> $crate::domain::ids::TenantId {
                self.tenant_id
            }
            fn customer(&self) -> $crate::domain::ids::CustomerId {
                self.customer_id
            }
            fn name(&self) -> &str {
                &self.name
            }
            fn kind(&self) -> &str {
                &self.kind
            }
            fn label(&self) -> Option<&str> {
                self.label.as_deref()
            }
            fn created(&self) -> i64 {
                self.created_time
            }
            fn version(&self) -> i64 {
                self.version
            }
            fn create(
                tenant_id: $crate::domain::ids::TenantId,
                customer_id: $crate::domain::ids::CustomerId,
                mut input: $crate::domain::assignable::AssignableInput<$id>,
                now: i64,
            ) -> Self {
                $t {
                    id: $id::new(),
                    created_time: now,
                    tenant_id,
                    customer_id,
                    kind: input.given_kind().unwrap_or_else(|| "default".into()),
                    name: input.name.unwrap_or_default(),
                    label: input.label,
                    additional_info: input.additional_info,
                    version: 1,
                }
            }
            fn updated(&self, mut input: $crate::domain::assignable::AssignableInput<$id>) -> Self {
                $t {
                    kind: input.given_kind().unwrap_or_else(|| self.kind.clone()),
                    name: input.name.unwrap_or_default(),
                    label: input.label,
                    additional_info: input.additional_info,
                    version: self.version + 1,
                    ..self.clone()
                }
            }
            fn assigned_to(&self, customer: $crate::domain::ids::CustomerId) -> Self {
                Self {
                    customer_id: customer,
                    version: self.version + 1,
                    ..self.clone()
                }
            }
        }

        /// The wire shape: the stored fields plus `ownerId` (the customer
        /// it is assigned to, else its tenant), which ThingsBoard
        /// Professional Edition sends. Deserialising ignores it: the
        /// customer is the one stored truth.
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                #[derive(serde::Serialize)]
                #[serde(rename_all = "camelCase")]
                struct Wire<'a> {
                    id: $id,
                    created_time: i64,
                    tenant_id: $crate::domain::ids::TenantId,
                    customer_id: $crate::domain::ids::CustomerId,
                    name: &'a str,
                    #[serde(rename = "type")]
                    kind: &'a str,
                    label: &'a Option<String>,
                    additional_info: &'a Option<serde_json::Value>,
                    version: i64,
                    owner_id: $crate::domain::ids::EntityId,
                }
                Wire {
                    id: self.id,
                    created_time: self.created_time,
                    tenant_id: self.tenant_id,
                    customer_id: self.customer_id,
                    name: &self.name,
                    kind: &self.kind,
                    label: &self.label,
                    additional_info: &self.additional_info,
                    version: self.version,
                    owner_id: $crate::domain::assignable::Assignable::owner_id(self),
                }
                .serialize(serializer)
            }
        }
    };
}
pub(crate) use assignable;
