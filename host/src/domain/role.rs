//! Roles (ThingsBoard Professional Edition): named sets of rights that
//! group permissions grant to user groups. A GENERIC role maps resources
//! to operations (`{"DEVICE": ["READ", "READ_TELEMETRY"]}`); a GROUP role
//! lists operations on the one entity group it is granted over
//! (`["READ", "WRITE"]`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::customer::check_additional_info;
use super::ids::{CustomerId, EntityId, RoleId, TenantId, customer_of_owner};
use super::validate::{ValidationError, check_required};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RoleType {
    Generic,
    Group,
}

/// The resources a GENERIC role names, as ThingsBoard spells them; the
/// ones Clientele has, plus `ALL`.
pub const RESOURCES: [&str; 19] = [
    "ALL",
    "PROFILE",
    "TENANT",
    "CUSTOMER",
    "USER",
    "DEVICE",
    "ASSET",
    "DASHBOARD",
    "ALARM",
    "CUSTOMER_GROUP",
    "USER_GROUP",
    "DEVICE_GROUP",
    "ASSET_GROUP",
    "DASHBOARD_GROUP",
    "ROLE",
    "GROUP_PERMISSION",
    "AUDIT_LOG",
    "CALCULATED_FIELD",
    "EXTENSION",
];

/// The operations a role grants, as ThingsBoard spells them; the first
/// [`GROUP_ROLE_OPERATIONS`] are those a GROUP role may grant over its
/// group.
pub const OPERATIONS: [&str; 21] = [
    "ALL",
    "READ",
    "WRITE",
    "DELETE",
    "RPC_CALL",
    "READ_CREDENTIALS",
    "WRITE_CREDENTIALS",
    "READ_ATTRIBUTES",
    "WRITE_ATTRIBUTES",
    "READ_TELEMETRY",
    "WRITE_TELEMETRY",
    "CREATE",
    "ADD_TO_GROUP",
    "REMOVE_FROM_GROUP",
    "CHANGE_OWNER",
    "IMPERSONATE",
    "CLAIM_DEVICES",
    "SHARE_GROUP",
    "ASSIGN_TO_TENANT",
    "READ_CALCULATED_FIELD",
    "WRITE_CALCULATED_FIELD",
];

/// The operations a GROUP role may grant over its group (ThingsBoard's
/// vocabulary, as `allowedPermissions` reports it).
pub const GROUP_ROLE_OPERATIONS: &[&str] = OPERATIONS.split_at(11).0;

/// The roles every tenant has, owned by the tenant and granted to each
/// customer's "Customer Administrators" and "Customer Users" groups and to
/// the tenant's own "Tenant Users" (its "Tenant Administrators" need no
/// role: they are the tenant's administrators).
pub const CUSTOMER_ADMINISTRATOR: &str = "Customer Administrator";
pub const CUSTOMER_USER: &str = "Customer User";
pub const TENANT_USER: &str = "Tenant User";

/// The default roles with their permissions. A customer administrator does
/// inside its customer's subtree what a tenant administrator does in the
/// tenant; a customer user reads its customer, its entities and their data,
/// writes their data and handles their alarms (ThingsBoard Community
/// Edition's customer user); a tenant user reads everything of its tenant,
/// entities and data, and changes nothing but its own profile
/// (ThingsBoard PE's read-only "Tenant Users").
pub fn default_roles() -> [(&'static str, Value); 3] {
    let entity = [
        "READ",
        "READ_ATTRIBUTES",
        "READ_TELEMETRY",
        "WRITE_ATTRIBUTES",
        "WRITE_TELEMETRY",
    ];
    [
        (
            CUSTOMER_ADMINISTRATOR,
            serde_json::json!({ "ALL": ["ALL"] }),
        ),
        (
            CUSTOMER_USER,
            serde_json::json!({
                "PROFILE": ["ALL"],
                "CUSTOMER": entity,
                "DEVICE": entity,
                "ASSET": entity,
                "DASHBOARD": ["READ"],
                "ALARM": ["ALL"],
                "CUSTOMER_GROUP": ["READ"],
                "USER_GROUP": ["READ"],
                "DEVICE_GROUP": ["READ"],
                "ASSET_GROUP": ["READ"],
                "DASHBOARD_GROUP": ["READ"],
            }),
        ),
        (
            TENANT_USER,
            serde_json::json!({
                "PROFILE": ["ALL"],
                "ALL": ["READ", "READ_ATTRIBUTES", "READ_TELEMETRY"],
            }),
        ),
    ]
}

/// Whether `grants` allow `op` on `resource` ("ALL" stands for any
/// resource or any operation).
pub fn grants_allow(grants: &Grants, resource: &str, op: &str) -> bool {
    [resource, "ALL"]
        .iter()
        .any(|r| grants.get(*r).is_some_and(|ops| ops_allow(ops, op)))
}

/// Whether granted operations `ops` include `op` ("ALL": any).
pub fn ops_allow(ops: &[String], op: &str) -> bool {
    ops.iter().any(|o| o == op || o == "ALL")
}

/// What a role grants, checked: resource -> operations for a GENERIC role
/// (a GROUP role's operations are under the empty resource).
pub type Grants = BTreeMap<String, Vec<String>>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Role {
    pub id: RoleId,
    pub created_time: i64,
    pub tenant_id: TenantId,
    /// The customer that owns the role; the null customer: the tenant.
    pub customer_id: CustomerId,
    pub owner_id: EntityId,
    pub name: String,
    #[serde(rename = "type")]
    pub role_type: RoleType,
    /// As the client sent it, once checked: an object for GENERIC roles, a
    /// list for GROUP roles.
    pub permissions: Value,
    pub additional_info: Option<Value>,
    pub version: i64,
}

impl Role {
    pub fn create(tenant_id: TenantId, owner_id: EntityId, input: RoleInput, now: i64) -> Self {
        Role {
            id: RoleId::new(),
            created_time: now,
            tenant_id,
            customer_id: customer_of_owner(owner_id),
            owner_id,
            name: input.name.unwrap_or_default().trim().to_owned(),
            role_type: input.role_type.unwrap_or(RoleType::Generic),
            permissions: input.permissions.unwrap_or(Value::Null),
            additional_info: input.additional_info,
            version: 1,
        }
    }

    /// This role with a new name and permissions; type and owner stay.
    pub fn updated(&self, input: RoleInput) -> Self {
        Role {
            name: input.name.unwrap_or_default().trim().to_owned(),
            permissions: input.permissions.unwrap_or(Value::Null),
            additional_info: input.additional_info,
            version: self.version + 1,
            ..self.clone()
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleInput {
    #[serde(default)]
    pub id: Option<RoleId>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, rename = "type")]
    pub role_type: Option<RoleType>,
    #[serde(default)]
    pub permissions: Option<Value>,
    /// Omitted: the caller's own owner.
    #[serde(default)]
    pub owner_id: Option<EntityId>,
    #[serde(default)]
    pub customer_id: Option<CustomerId>,
    #[serde(default)]
    pub additional_info: Option<Value>,
    #[serde(default)]
    pub version: Option<i64>,
}

impl RoleInput {
    pub fn validate(&self) -> Result<(), ValidationError> {
        let name = self.name.as_deref().unwrap_or("");
        check_required("name", name, "Role name should be specified!")?;
        let t = self
            .role_type
            .ok_or_else(|| ValidationError::new("Role type should be specified!"))?;
        let permissions = self.permissions.clone().unwrap_or(Value::Null);
        parse_permissions(t, &permissions)?;
        check_additional_info(self.additional_info.as_ref())
    }
}

fn operations(value: &Value, resource: &str) -> Result<Vec<String>, ValidationError> {
    let Value::Array(items) = value else {
        return Err(ValidationError::new(format!(
            "The operations of {resource} must be a list"
        )));
    };
    items
        .iter()
        .map(|op| match op.as_str() {
            Some(op) if OPERATIONS.contains(&op) => Ok(op.to_owned()),
            _ => Err(ValidationError::new(format!("Unknown operation: {op}"))),
        })
        .collect()
}

/// Checks a role's permissions against its type: a GENERIC role's are an
/// object of known resources to lists of known operations (null: none), a
/// GROUP role's a list of known operations.
pub fn parse_permissions(t: RoleType, permissions: &Value) -> Result<Grants, ValidationError> {
    match (t, permissions) {
        (_, Value::Null) => Ok(Grants::new()),
        (RoleType::Generic, Value::Object(map)) => map
            .iter()
            .map(|(resource, ops)| {
                if !RESOURCES.contains(&resource.as_str()) {
                    return Err(ValidationError::new(format!(
                        "Unknown resource: {resource}"
                    )));
                }
                Ok((resource.clone(), operations(ops, resource)?))
            })
            .collect(),
        (RoleType::Group, ops @ Value::Array(_)) => Ok(Grants::from([(
            String::new(),
            operations(ops, "the group")?,
        )])),
        (RoleType::Generic, _) => Err(ValidationError::new(
            "A GENERIC role's permissions map resources to lists of operations",
        )),
        (RoleType::Group, _) => Err(ValidationError::new(
            "A GROUP role's permissions are a list of operations",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn generic_roles_name_known_resources_and_operations() {
        let ok = parse_permissions(
            RoleType::Generic,
            &json!({"DEVICE": ["READ", "READ_TELEMETRY"], "ALL": ["READ"]}),
        )
        .unwrap();
        assert_eq!(ok["DEVICE"], ["READ", "READ_TELEMETRY"]);
        for bad in [
            json!({"SPACESHIP": ["READ"]}),
            json!({"DEVICE": ["FLY"]}),
            json!({"DEVICE": "READ"}),
            json!(["READ"]),
        ] {
            assert!(parse_permissions(RoleType::Generic, &bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn all_stands_for_any_resource_or_operation() {
        let g = parse_permissions(
            RoleType::Generic,
            &json!({"DEVICE": ["READ"], "ALARM": ["ALL"]}),
        )
        .unwrap();
        assert!(grants_allow(&g, "DEVICE", "READ"));
        assert!(!grants_allow(&g, "DEVICE", "WRITE"));
        assert!(grants_allow(&g, "ALARM", "DELETE"));
        assert!(!grants_allow(&g, "ASSET", "READ"));
        let all = parse_permissions(RoleType::Generic, &json!({"ALL": ["READ"]})).unwrap();
        assert!(grants_allow(&all, "ASSET", "READ"));
        assert!(!grants_allow(&all, "ASSET", "DELETE"));
    }

    #[test]
    fn the_default_roles_are_valid() {
        for (name, permissions) in default_roles() {
            assert!(
                parse_permissions(RoleType::Generic, &permissions).is_ok(),
                "{name}"
            );
        }
    }

    #[test]
    fn group_roles_list_operations() {
        let ok = parse_permissions(RoleType::Group, &json!(["READ", "WRITE"])).unwrap();
        assert_eq!(ok[""], ["READ", "WRITE"]);
        assert!(parse_permissions(RoleType::Group, &json!({"DEVICE": ["READ"]})).is_err());
        assert!(parse_permissions(RoleType::Group, &json!(["READ", 3])).is_err());
    }
}
