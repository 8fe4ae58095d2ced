//! What devices and assets share: a name unique in the tenant, a type, and
//! an assignment to at most one customer.

use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::ids::{CustomerId, EntityId, EntityType, TenantId};

pub trait Assignable: Clone + Serialize + DeserializeOwned + Send + Sync + 'static {
    const ENTITY_TYPE: EntityType;
    /// The word used in messages: "Device", "Asset".
    const LABEL: &'static str;

    fn uuid(&self) -> Uuid;
    fn tenant(&self) -> TenantId;
    /// The null customer when unassigned.
    fn customer(&self) -> CustomerId;
    fn name(&self) -> &str;
    fn kind(&self) -> &str;
    fn label(&self) -> Option<&str>;
    fn created(&self) -> i64;
    fn version(&self) -> i64;
    /// This entity assigned to `customer` (or unassigned), one version on.
    fn assigned_to(&self, customer: CustomerId) -> Self;

    fn entity_id(&self) -> EntityId {
        EntityId {
            entity_type: Self::ENTITY_TYPE,
            id: self.uuid(),
        }
    }
}

/// Implements [`Assignable`] for a struct with the usual fields.
macro_rules! assignable {
    ($t:ty, $kind:expr, $label:expr, $type_field:ident) => {
        impl $crate::domain::assignable::Assignable for $t {
            const ENTITY_TYPE: $crate::domain::ids::EntityType = $kind;
            const LABEL: &'static str = $label;
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
                &self.$type_field
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
            fn assigned_to(&self, customer: $crate::domain::ids::CustomerId) -> Self {
                Self {
                    customer_id: customer,
                    version: self.version + 1,
                    ..self.clone()
                }
            }
        }
    };
}
pub(crate) use assignable;
