//! Sharing an entity group (ThingsBoard Professional Edition): the
//! `ShareGroupRequest` of `POST /api/entityGroup/{id}/share`, the GROUP
//! roles a share falls back on, and what making a group public relies on
//! (its owner's public customer, that customer's "Public Users" group and
//! their roles).

use serde::Deserialize;
use serde_json::{Value, json};

use super::entity_group::GroupType;
use super::ids::{EntityGroupId, EntityId, EntityType, RoleId};
use super::validate::ValidationError;

/// The GROUP roles a share without `roleIds` grants, created for the
/// sharer's owner when it has none (ThingsBoard's names and operations).
pub const ENTITY_GROUP_READ_ONLY_USER: &str = "Entity Group Read-only User";
pub const ENTITY_GROUP_WRITE_USER: &str = "Entity Group Write User";
/// The roles of a public customer: the GROUP role its "Public Users" hold
/// over each public group, and their GENERIC role.
pub const ENTITY_GROUP_PUBLIC_USER: &str = "Entity Group Public User";
pub const PUBLIC_USER: &str = "Public User";

/// ThingsBoard's `ShareGroupRequest`. Its booleans are Java `boolean`s:
/// absent is `false` (so a request without `readElseWrite` and `roleIds`
/// shares with write rights, as ThingsBoard does).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShareGroupRequest {
    /// With `allUserGroup`: the owner (tenant or customer) whose "All"
    /// user group is shared with.
    #[serde(default)]
    pub owner_id: Option<EntityId>,
    #[serde(default)]
    pub all_user_group: bool,
    /// Without `allUserGroup`: the user group shared with.
    #[serde(default)]
    pub user_group_id: Option<EntityGroupId>,
    /// Without `roleIds`: the read-only role, else the write role.
    #[serde(default)]
    pub read_else_write: bool,
    /// GROUP roles to grant, one group permission each.
    #[serde(default)]
    pub role_ids: Option<Vec<RoleId>>,
}

/// Who a share goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipient {
    /// The "All" user group of an owner: every user it owns.
    AllUsersOf(EntityId),
    UserGroup(EntityGroupId),
}

/// The roles a share grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShareRoles {
    /// The listed roles, each once, in order.
    Listed(Vec<RoleId>),
    /// The sharer's owner's default GROUP role.
    Default { read_only: bool },
}

impl ShareGroupRequest {
    /// Who the request shares with; what it leaves out is a 400.
    pub fn recipient(&self) -> Result<Recipient, ValidationError> {
        if !self.all_user_group {
            return self.user_group_id.map(Recipient::UserGroup).ok_or_else(|| {
                ValidationError::new("userGroupId should be specified unless allUserGroup is true")
            });
        }
        let owner = self
            .owner_id
            .ok_or_else(|| ValidationError::new("ownerId should be specified with allUserGroup"))?;
        match owner.entity_type {
            EntityType::Tenant | EntityType::Customer => Ok(Recipient::AllUsersOf(owner)),
            other => Err(ValidationError::new(format!(
                "An owner is a tenant or a customer, not {other}"
            ))),
        }
    }

    pub fn roles(&self) -> ShareRoles {
        let mut ids: Vec<RoleId> = Vec::new();
        for id in self.role_ids.iter().flatten() {
            if !ids.contains(id) {
                ids.push(*id);
            }
        }
        if ids.is_empty() {
            ShareRoles::Default {
                read_only: self.read_else_write,
            }
        } else {
            ShareRoles::Listed(ids)
        }
    }
}

/// Refuses a group of a type ThingsBoard does not share (user groups).
pub fn check_sharable(t: GroupType) -> Result<(), ValidationError> {
    match t {
        GroupType::Customer | GroupType::Asset | GroupType::Device | GroupType::Dashboard => Ok(()),
        GroupType::User => Err(ValidationError::new(format!(
            "Invalid entityGroup type '{t}'! Only entity groups of types 'CUSTOMER', 'ASSET', 'DEVICE', 'ENTITY_VIEW' or 'DASHBOARD' can be shared."
        ))),
    }
}

/// Refuses a group of a type ThingsBoard does not make public.
pub fn check_publishable(t: GroupType) -> Result<(), ValidationError> {
    match t {
        GroupType::Asset | GroupType::Device | GroupType::Dashboard => Ok(()),
        GroupType::Customer | GroupType::User => Err(ValidationError::new(format!(
            "Invalid entityGroup type '{t}'! Only entity groups of types 'ASSET', 'DEVICE', 'ENTITY_VIEW' or 'DASHBOARD' can be public."
        ))),
    }
}

/// A role the service creates itself: name, type, permissions and the
/// `additionalInfo` ThingsBoard gives it.
pub struct BuiltInRole {
    pub name: &'static str,
    pub group: bool,
    pub permissions: Value,
    pub additional_info: Value,
}

fn built_in(name: &'static str, group: bool, permissions: Value, what: &str) -> BuiltInRole {
    BuiltInRole {
        name,
        group,
        permissions,
        additional_info: json!({ "description": format!("Autogenerated {what}") }),
    }
}

/// The GROUP role a share without `roleIds` grants.
pub fn share_role(read_only: bool) -> BuiltInRole {
    if read_only {
        built_in(
            ENTITY_GROUP_READ_ONLY_USER,
            true,
            json!([
                "READ",
                "RPC_CALL",
                "READ_CREDENTIALS",
                "READ_ATTRIBUTES",
                "READ_TELEMETRY"
            ]),
            "group role with read-only permissions.",
        )
    } else {
        built_in(
            ENTITY_GROUP_WRITE_USER,
            true,
            json!(["ALL"]),
            "group role with write permissions.",
        )
    }
}

/// The GROUP role a public customer's "Public Users" hold over each
/// public group.
pub fn public_group_role() -> BuiltInRole {
    built_in(
        ENTITY_GROUP_PUBLIC_USER,
        true,
        json!(["READ", "RPC_CALL", "READ_ATTRIBUTES", "READ_TELEMETRY"]),
        "Public User group role with read-only permissions.",
    )
}

/// The GENERIC role of a public customer's "Public Users" (ThingsBoard's
/// also reads widgets, which Clientele has none of).
pub fn public_user_role() -> BuiltInRole {
    built_in(
        PUBLIC_USER,
        false,
        json!({ "DASHBOARD": ["READ"], "ALARM": ["READ"] }),
        "Public User role with read-only permissions.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{CustomerId, TenantId};
    use crate::domain::role::{RoleType, parse_permissions};

    fn request(body: Value) -> ShareGroupRequest {
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn a_request_names_one_user_group_or_an_owners_all_users() {
        let c = CustomerId::new();
        let g = EntityGroupId::new();
        let all = request(json!({"ownerId": c.entity_id(), "allUserGroup": true}));
        assert_eq!(all.recipient(), Ok(Recipient::AllUsersOf(c.entity_id())));
        let one = request(json!({"userGroupId": g, "ownerId": c.entity_id()}));
        assert_eq!(one.recipient(), Ok(Recipient::UserGroup(g)));
        let t = TenantId::new();
        let tenant = request(json!({"ownerId": t.entity_id(), "allUserGroup": true}));
        assert_eq!(tenant.recipient(), Ok(Recipient::AllUsersOf(t.entity_id())));
        for bad in [
            json!({}),
            json!({"allUserGroup": true}),
            json!({"allUserGroup": true, "ownerId": {"entityType": "DEVICE", "id": g.0}}),
            json!({"allUserGroup": false, "ownerId": c.entity_id()}),
        ] {
            assert!(request(bad.clone()).recipient().is_err(), "{bad}");
        }
    }

    #[test]
    fn without_roles_a_share_reads_or_writes_as_thingsboard_defaults() {
        assert_eq!(
            request(json!({})).roles(),
            ShareRoles::Default { read_only: false }
        );
        assert_eq!(
            request(json!({"readElseWrite": true, "roleIds": []})).roles(),
            ShareRoles::Default { read_only: true }
        );
        let (a, b) = (RoleId::new(), RoleId::new());
        assert_eq!(
            request(json!({"roleIds": [a, b, a], "readElseWrite": true})).roles(),
            ShareRoles::Listed(vec![a, b])
        );
    }

    #[test]
    fn user_groups_are_not_shared_and_only_entity_groups_go_public() {
        assert!(check_sharable(GroupType::Device).is_ok());
        assert!(check_sharable(GroupType::Customer).is_ok());
        assert!(check_sharable(GroupType::User).is_err());
        assert!(check_publishable(GroupType::Dashboard).is_ok());
        assert!(check_publishable(GroupType::Customer).is_err());
        assert!(check_publishable(GroupType::User).is_err());
    }

    #[test]
    fn the_built_in_roles_are_valid_roles() {
        for role in [
            share_role(true),
            share_role(false),
            public_group_role(),
            public_user_role(),
        ] {
            let t = if role.group {
                RoleType::Group
            } else {
                RoleType::Generic
            };
            assert!(
                parse_permissions(t, &role.permissions).is_ok(),
                "{}",
                role.name
            );
        }
    }
}
