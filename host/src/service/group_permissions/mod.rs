//! Group permissions (ThingsBoard Professional Edition): granting a role
//! to a user group, listing and revoking grants. Every owner starts with
//! default grants ([`stage_owner_defaults`]); a customer user's effective
//! rights are loaded from them on each request ([`rights::load`]).

mod allowed;
mod defaults;
mod public;
mod public_customer;
pub(super) mod rights;
mod share;
pub(super) mod upgrade;

use serde_json::json;

use crate::auth::Caller;
use crate::auth::permissions::{Operation, Resource, Target, require};
use crate::domain::audit::ActionType;
use crate::domain::entity_group::{EntityGroup, GroupType};
use crate::domain::group_permission::{GroupPermission, GroupPermissionInput};
use crate::domain::ids::{EntityGroupId, GroupPermissionId, customer_of_owner, now_ms};
use crate::domain::role::{Role, RoleType};
use crate::store::{Changes, KvRead, group_permissions, roles};

use super::audit::{Actor, stage_record};
use super::entity_groups::{find as find_group, owner_chain};
use super::{App, ServiceError, ServiceResult};

pub(super) use defaults::stage_owner_defaults;

/// A grant with the role and groups it names, as the UI lists them
/// (ThingsBoard's `GroupPermissionInfo`).
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupPermissionInfo {
    #[serde(flatten)]
    pub permission: GroupPermission,
    pub role: Role,
    pub user_group_name: String,
    pub user_group_owner_id: crate::domain::ids::EntityId,
    pub entity_group_name: Option<String>,
    pub entity_group_owner_id: Option<crate::domain::ids::EntityId>,
    /// Grants of the default roles to the default groups are kept as they
    /// are by the UI.
    pub read_only: bool,
}

fn check(caller: &Caller, op: Operation, user_group: &EntityGroup) -> ServiceResult<()> {
    let target = Target::owner(user_group.tenant_id, user_group.owner_id);
    Ok(require(caller, Resource::GroupPermission, op, &target)?)
}

/// A user group the caller may `op` the grants of.
fn user_group(
    view: &dyn KvRead,
    caller: &Caller,
    id: EntityGroupId,
    op: Operation,
) -> ServiceResult<EntityGroup> {
    let g = find_group(view, caller, id, Operation::Read)?;
    check(caller, op, &g)?;
    if g.group_type != GroupType::User {
        return Err(ServiceError::invalid(format!(
            "Roles are granted to user groups; '{}' holds {}s",
            g.name,
            g.group_type.entity_type()
        )));
    }
    Ok(g)
}

/// A grant the caller may `op` (through its user group), with that group.
pub(in crate::service) fn find(
    view: &dyn KvRead,
    caller: &Caller,
    id: GroupPermissionId,
    op: Operation,
) -> ServiceResult<(GroupPermission, EntityGroup)> {
    let not_found =
        || ServiceError::NotFound(format!("Group permission with id [{}] is not found", id.0));
    let p = group_permissions::get(view, caller.tenant_id, id)?.ok_or_else(not_found)?;
    let group = user_group(view, caller, p.user_group_id, op)?;
    Ok((p, group))
}

/// The role a grant names; it must belong to the user group's owner or an
/// owner above it. `new_roles` are roles staged in the same transaction,
/// which the view does not show yet.
fn grantable_role(
    view: &dyn KvRead,
    group: &EntityGroup,
    input: &GroupPermissionInput,
    new_roles: &[Role],
) -> ServiceResult<Role> {
    let staged = new_roles.iter().find(|r| r.id == input.role_id).cloned();
    let role = match staged {
        Some(r) => r,
        None => roles::get(view, group.tenant_id, input.role_id)?.ok_or_else(|| {
            ServiceError::NotFound(format!("Role with id [{}] is not found", input.role_id.0))
        })?,
    };
    if !owner_chain(view, group.tenant_id, group.owner_id)?.contains(&role.owner_id) {
        return Err(ServiceError::invalid(format!(
            "Role '{}' belongs to an owner outside the user group's",
            role.name
        )));
    }
    Ok(role)
}

/// Stages a new grant (no `input.id`) or a change of one, with its audit
/// record, once every check passed: the caller manages the user group's
/// grants, the role is the user group's owner's or an owner's above it, a
/// GROUP role goes over an entity group the caller may change and a
/// GENERIC one over none. The one path every grant a client asks for
/// takes (`POST /api/groupPermission` and both share endpoints), so the
/// checks live here only. `new_roles`: as for [`grantable_role`].
pub(in crate::service) fn stage_save(
    view: &dyn KvRead,
    changes: &mut Changes,
    caller: &Caller,
    input: &GroupPermissionInput,
    new_roles: &[Role],
) -> ServiceResult<GroupPermission> {
    input.validate()?;
    let old = input
        .id
        .map(|id| find(view, caller, id, Operation::Write).map(|(p, _)| p))
        .transpose()?;
    if old.as_ref().is_some_and(|p| p.is_public) {
        return Err(ServiceError::invalid(
            "A public entity group's permission is taken back with POST /api/entityGroup/{id}/makePrivate",
        ));
    }
    let op = if old.is_some() {
        Operation::Write
    } else {
        Operation::Create
    };
    let group = user_group(view, caller, input.user_group_id, op)?;
    let role = grantable_role(view, &group, input, new_roles)?;
    let over = match (role.role_type, input.entity_group_id) {
        (RoleType::Generic, None) => None,
        (RoleType::Generic, Some(_)) => {
            return Err(ServiceError::invalid(
                "A GENERIC role is granted without an entity group",
            ));
        }
        (RoleType::Group, None) => {
            return Err(ServiceError::invalid(
                "A GROUP role is granted over an entity group: entityGroupId is required",
            ));
        }
        // Granting rights over a group takes the right to manage it.
        (RoleType::Group, Some(id)) => {
            let g = find_group(view, caller, id, Operation::Write)?;
            Some((g.id, g.group_type, g.name))
        }
    };
    let name = match &over {
        Some((_, _, group_name)) => format!("{} over {group_name}", role.name),
        None => role.name.clone(),
    };
    let over = over.map(|(id, t, _)| (id, t));
    let mut p = GroupPermission::create(caller.tenant_id, input, over, name, now_ms());
    if let Some(old) = &old {
        p.id = old.id;
        p.created_time = old.created_time;
        group_permissions::delete(changes, old);
    }
    group_permissions::put(changes, &p);
    let action = if old.is_some() {
        ActionType::Updated
    } else {
        ActionType::Added
    };
    audit(changes, caller, &group, &p, action);
    Ok(p)
}

impl App {
    /// Grants a role to a user group (no `id`), or changes a grant.
    pub async fn save_group_permission(
        &self,
        caller: &Caller,
        input: GroupPermissionInput,
    ) -> ServiceResult<GroupPermission> {
        let caller = caller.clone();
        self.write(move |view| {
            let mut changes = Changes::new();
            let p = stage_save(view, &mut changes, &caller, &input, &[])?;
            Ok((p, changes))
        })
        .await
    }

    pub async fn group_permission(
        &self,
        caller: &Caller,
        id: GroupPermissionId,
    ) -> ServiceResult<GroupPermission> {
        let snapshot = self.store.snapshot()?;
        Ok(find(&*snapshot, caller, id, Operation::Read)?.0)
    }

    pub async fn group_permission_info(
        &self,
        caller: &Caller,
        id: GroupPermissionId,
    ) -> ServiceResult<GroupPermissionInfo> {
        let snapshot = self.store.snapshot()?;
        let (p, group) = find(&*snapshot, caller, id, Operation::Read)?;
        info(&*snapshot, p, &group)
    }

    pub async fn delete_group_permission(
        &self,
        caller: &Caller,
        id: GroupPermissionId,
    ) -> ServiceResult<()> {
        let caller = caller.clone();
        self.write(move |view| {
            let (p, group) = find(view, &caller, id, Operation::Delete)?;
            let mut changes = Changes::new();
            group_permissions::delete(&mut changes, &p);
            audit(&mut changes, &caller, &group, &p, ActionType::Deleted);
            Ok(((), changes))
        })
        .await
    }

    /// The roles a user group holds.
    pub async fn user_group_permissions(
        &self,
        caller: &Caller,
        group: EntityGroupId,
    ) -> ServiceResult<Vec<GroupPermissionInfo>> {
        let snapshot = self.store.snapshot()?;
        let view = &*snapshot;
        let g = user_group(view, caller, group, Operation::Read)?;
        group_permissions::of_user_group(view, caller.tenant_id, g.id.0)?
            .into_iter()
            .map(|p| info(view, p, &g))
            .collect()
    }

    /// The GROUP roles granted over an entity group.
    pub async fn entity_group_permissions(
        &self,
        caller: &Caller,
        group: EntityGroupId,
    ) -> ServiceResult<Vec<GroupPermissionInfo>> {
        let snapshot = self.store.snapshot()?;
        let view = &*snapshot;
        let g = find_group(view, caller, group, Operation::Write)?;
        let mut out = Vec::new();
        for p in group_permissions::over_entity_group(view, caller.tenant_id, g.id.0)? {
            // Only the grants the caller could see from the user group's side.
            if let Ok(holder) = user_group(view, caller, p.user_group_id, Operation::Read) {
                out.push(info(view, p, &holder)?);
            }
        }
        Ok(out)
    }
}

/// `p` with its role and groups; `user_group` is the group holding it.
fn info(
    view: &dyn KvRead,
    p: GroupPermission,
    user_group: &EntityGroup,
) -> ServiceResult<GroupPermissionInfo> {
    let tenant = p.tenant_id;
    let role = roles::get(view, tenant, p.role_id)?.ok_or_else(ServiceError::not_found)?;
    let entity_group = p
        .entity_group_id
        .map(|g| crate::store::entity_groups::get(view, tenant, g))
        .transpose()?
        .flatten();
    Ok(GroupPermissionInfo {
        read_only: user_group.is_reserved() && role.owner_id == tenant.entity_id(),
        role,
        user_group_name: user_group.name.clone(),
        user_group_owner_id: user_group.owner_id,
        entity_group_name: entity_group.as_ref().map(|g| g.name.clone()),
        entity_group_owner_id: entity_group.map(|g| g.owner_id),
        permission: p,
    })
}

fn audit(
    changes: &mut Changes,
    caller: &Caller,
    user_group: &EntityGroup,
    p: &GroupPermission,
    action: ActionType,
) {
    stage_record(
        changes,
        &Actor::from(caller),
        customer_of_owner(user_group.owner_id),
        Some((p.id.entity_id(), &p.name)),
        action,
        json!({ "entity": p }),
    );
}
