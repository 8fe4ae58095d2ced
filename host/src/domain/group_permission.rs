//! Group permissions (ThingsBoard Professional Edition): a role granted to
//! a user group. A GENERIC role applies to everything its user group's
//! owner owns, down the owner's subtree; a GROUP role applies to the
//! members of one entity group.

use serde::{Deserialize, Serialize};

use super::entity_group::GroupType;
use super::ids::{EntityGroupId, EntityType, GroupPermissionId, RoleId, TenantId};
use super::validate::ValidationError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupPermission {
    pub id: GroupPermissionId,
    pub created_time: i64,
    pub tenant_id: TenantId,
    pub user_group_id: EntityGroupId,
    pub role_id: RoleId,
    /// The group a GROUP role is granted over; `None` for a GENERIC role.
    pub entity_group_id: Option<EntityGroupId>,
    pub entity_group_type: Option<EntityType>,
    /// The grant that makes an entity group public (to its owner's public
    /// customer's "Public Users"); made by the service, never by a client.
    pub is_public: bool,
    /// "<role> over <group>": what the UI shows.
    pub name: String,
}

impl GroupPermission {
    pub fn create(
        tenant_id: TenantId,
        input: &GroupPermissionInput,
        over: Option<(EntityGroupId, GroupType)>,
        name: String,
        now: i64,
    ) -> Self {
        GroupPermission {
            id: GroupPermissionId::new(),
            created_time: now,
            tenant_id,
            user_group_id: input.user_group_id,
            role_id: input.role_id,
            entity_group_id: over.map(|(g, _)| g),
            entity_group_type: over.map(|(_, t)| t.entity_type()),
            is_public: false,
            name,
        }
    }

    /// The grant that makes `group` public: `role` (the public customer's
    /// "Entity Group Public User") to `public_users`.
    pub fn public(
        tenant_id: TenantId,
        public_users: EntityGroupId,
        role_id: RoleId,
        group: (EntityGroupId, GroupType),
        name: String,
        now: i64,
    ) -> Self {
        let input = GroupPermissionInput {
            id: None,
            user_group_id: public_users,
            role_id,
            entity_group_id: Some(group.0),
            is_public: Some(true),
        };
        GroupPermission {
            is_public: true,
            ..GroupPermission::create(tenant_id, &input, Some(group), name, now)
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupPermissionInput {
    /// Present: changes that grant (its rows are rewritten whole).
    #[serde(default)]
    pub id: Option<GroupPermissionId>,
    pub user_group_id: EntityGroupId,
    pub role_id: RoleId,
    #[serde(default)]
    pub entity_group_id: Option<EntityGroupId>,
    #[serde(default)]
    pub is_public: Option<bool>,
}

impl GroupPermissionInput {
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.is_public == Some(true) {
            return Err(ValidationError::new(
                "Public group permissions are made with POST /api/entityGroup/{id}/makePublic",
            ));
        }
        Ok(())
    }
}
