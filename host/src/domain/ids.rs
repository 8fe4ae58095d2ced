//! Typed entity ids in ThingsBoard's wire shape: `{"entityType":"CUSTOMER","id":"<uuid>"}`.
//!
//! On input only `id` is required (ThingsBoard's typed ids accept a missing
//! `entityType`); a present `entityType` must match the id's type, so a device
//! id cannot be passed where a customer id is expected.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

/// ThingsBoard's "null" UUID: the `customerId` of tenant administrators and of
/// unassigned entities, the `tenantId` of the system administrator.
pub const NULL_UUID: Uuid = Uuid::from_u128(0x13814000_1dd2_11b2_8080_808080808080);

/// A new time-based (v1) UUID, as ThingsBoard uses for every entity id.
pub fn new_time_uuid() -> Uuid {
    static NODE: OnceLock<[u8; 6]> = OnceLock::new();
    let node = NODE.get_or_init(|| {
        let mut node = *Uuid::new_v4()
            .as_bytes()
            .first_chunk::<6>()
            .unwrap_or(&[1; 6]);
        node[0] |= 0x01; // multicast bit: marks a random, not a MAC, node id (RFC 4122 4.5)
        node
    });
    Uuid::now_v1(node)
}

/// Milliseconds since the Unix epoch, the unit of every ThingsBoard timestamp.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The kind of an entity, as named on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EntityType {
    Tenant,
    Customer,
    User,
    Device,
    Asset,
    Dashboard,
    /// A WebAssembly component uploaded by a tenant (Clientele's own type).
    Extension,
    CalculatedField,
    Alarm,
    EntityGroup,
    Role,
    GroupPermission,
}

impl EntityType {
    pub fn as_str(self) -> &'static str {
        match self {
            EntityType::Tenant => "TENANT",
            EntityType::Customer => "CUSTOMER",
            EntityType::User => "USER",
            EntityType::Device => "DEVICE",
            EntityType::Asset => "ASSET",
            EntityType::Dashboard => "DASHBOARD",
            EntityType::Extension => "EXTENSION",
            EntityType::CalculatedField => "CALCULATED_FIELD",
            EntityType::Alarm => "ALARM",
            EntityType::EntityGroup => "ENTITY_GROUP",
            EntityType::Role => "ROLE",
            EntityType::GroupPermission => "GROUP_PERMISSION",
        }
    }
}

impl FromStr for EntityType {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        serde_json::from_value(serde_json::Value::String(s.to_ascii_uppercase())).map_err(|_| ())
    }
}

impl fmt::Display for EntityType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Any entity's id with its type: what audit records and relations point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EntityId {
    #[serde(rename = "entityType")]
    pub entity_type: EntityType,
    pub id: Uuid,
}

#[derive(Deserialize)]
struct WireId {
    #[serde(rename = "entityType", default)]
    entity_type: Option<String>,
    id: Uuid,
}

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $kind:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub Uuid);

        impl $name {
            pub const TYPE: EntityType = $kind;
            pub fn new() -> Self {
                Self(new_time_uuid())
            }
            pub fn entity_id(self) -> EntityId {
                EntityId { entity_type: $kind, id: self.0 }
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                self.entity_id().serialize(s)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let wire = WireId::deserialize(d)?;
                match wire.entity_type.as_deref() {
                    None => Ok(Self(wire.id)),
                    Some(t) if t.eq_ignore_ascii_case($kind.as_str()) => Ok(Self(wire.id)),
                    Some(t) => Err(serde::de::Error::custom(format!(
                        "expected an id of type {}, got {t}",
                        $kind.as_str()
                    ))),
                }
            }
        }
    };
}

typed_id!(
    /// A tenant: the organisation that owns devices and customers.
    TenantId,
    EntityType::Tenant
);
typed_id!(
    /// A customer of a tenant.
    CustomerId,
    EntityType::Customer
);
typed_id!(
    /// A user: system administrator, tenant administrator or customer user.
    UserId,
    EntityType::User
);
typed_id!(
    /// A device: sends telemetry, has an access token.
    DeviceId,
    EntityType::Device
);
typed_id!(
    /// An asset: a building, a vehicle, anything devices belong to.
    AssetId,
    EntityType::Asset
);
typed_id!(
    /// A dashboard, referenced as a customer's or user's home dashboard.
    DashboardId,
    EntityType::Dashboard
);
typed_id!(
    /// An alarm raised on a device, asset, customer or tenant.
    AlarmId,
    EntityType::Alarm
);

typed_id!(
    /// A WebAssembly extension: a component a tenant uploaded.
    ExtensionId,
    EntityType::Extension
);
typed_id!(
    /// A calculated field of a device or asset.
    CalculatedFieldId,
    EntityType::CalculatedField
);
typed_id!(
    /// A group of entities of one type under one owner (Professional
    /// Edition), or a group of users that roles are granted to.
    EntityGroupId,
    EntityType::EntityGroup
);
typed_id!(
    /// A role: rights that group permissions grant to user groups.
    RoleId,
    EntityType::Role
);
typed_id!(
    /// A group permission: one role granted to one user group (over one
    /// entity group, for a GROUP role).
    GroupPermissionId,
    EntityType::GroupPermission
);

impl TenantId {
    /// The system administrator's tenant.
    pub const NULL: TenantId = TenantId(NULL_UUID);
}

impl CustomerId {
    /// "No customer": tenant administrators and unassigned entities.
    pub const NULL: CustomerId = CustomerId(NULL_UUID);
    pub fn is_null(self) -> bool {
        self.0 == NULL_UUID
    }
}

/// The owner (ThingsBoard PE) of what belongs to `customer` in `tenant`:
/// that customer, or the tenant itself for the null customer.
pub fn owner_of(tenant: TenantId, customer: CustomerId) -> EntityId {
    if customer.is_null() {
        tenant.entity_id()
    } else {
        customer.entity_id()
    }
}

/// The customer an owner stands for, the null customer for a tenant: how
/// the index tables and audit records file an owner.
pub fn customer_of_owner(owner: EntityId) -> CustomerId {
    match owner.entity_type {
        EntityType::Customer => CustomerId(owner.id),
        _ => CustomerId::NULL,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_id_round_trips_in_thingsboard_shape() {
        let id = CustomerId::new();
        let json = serde_json::to_value(id).unwrap();
        assert_eq!(json["entityType"], "CUSTOMER");
        assert_eq!(json["id"], id.0.to_string());
        let back: CustomerId = serde_json::from_value(json).unwrap();
        assert_eq!(back, id);
    }

    #[test]
    fn typed_id_accepts_missing_type_and_refuses_a_foreign_type() {
        let u = Uuid::new_v4();
        let ok: CustomerId = serde_json::from_value(serde_json::json!({"id": u})).unwrap();
        assert_eq!(ok.0, u);
        let wrong = serde_json::from_value::<CustomerId>(
            serde_json::json!({"entityType": "DEVICE", "id": u}),
        );
        assert!(wrong.is_err());
    }

    #[test]
    fn time_uuids_are_version_1_and_distinct() {
        let a = new_time_uuid();
        let b = new_time_uuid();
        assert_eq!(a.get_version_num(), 1);
        assert_ne!(a, b);
    }

    #[test]
    fn null_uuid_is_thingsboards() {
        assert_eq!(
            NULL_UUID.to_string(),
            "13814000-1dd2-11b2-8080-808080808080"
        );
    }
}
