//! The roles every tenant has and the grants every owner starts with: a
//! customer's "Customer Administrators" hold the tenant's "Customer
//! Administrator" role and its "Customer Users" the "Customer User" role;
//! the tenant's "Tenant Users" hold the "Tenant User" role. Also the
//! built-in roles sharing makes when first needed.

use serde_json::json;

use crate::auth::Caller;
use crate::domain::audit::ActionType;
use crate::domain::entity_group::{
    CUSTOMER_ADMINISTRATORS, CUSTOMER_USERS, GroupType, TENANT_USERS, default_user_groups,
};
use crate::domain::group_permission::{GroupPermission, GroupPermissionInput};
use crate::domain::ids::{EntityGroupId, EntityId, RoleId, TenantId, customer_of_owner, now_ms};
use crate::domain::role::{
    CUSTOMER_ADMINISTRATOR, CUSTOMER_USER, Role, RoleInput, RoleType, TENANT_USER, default_roles,
};
use crate::domain::share::BuiltInRole;
use crate::store::{Changes, KvRead, entity_groups, roles};

use super::super::ServiceResult;
use super::super::audit::{Actor, stage_record};
use super::super::entity_groups::stage_defaults;

/// Stages what a new owner starts with: its groups ([`stage_defaults`]),
/// the tenant's default roles if it has none yet, and the grants of those
/// roles to the owner's default user groups.
pub(in crate::service) fn stage_owner_defaults(
    view: &dyn KvRead,
    changes: &mut Changes,
    tenant: TenantId,
    owner: EntityId,
    now: i64,
) -> ServiceResult<()> {
    let groups = stage_defaults(changes, tenant, owner, now);
    let user_groups: Vec<(EntityGroupId, &str)> = groups
        .iter()
        .filter(|g| g.group_type == GroupType::User)
        .map(|g| (g.id, g.name.as_str()))
        .collect();
    stage_default_grants(view, changes, tenant, &user_groups, now)
}

/// One of the tenant's default roles, new.
fn role(name: &str, permissions: serde_json::Value, tenant: TenantId, now: i64) -> Role {
    let input = RoleInput {
        name: Some(name.to_owned()),
        role_type: Some(RoleType::Generic),
        permissions: Some(permissions),
        ..Default::default()
    };
    Role::create(tenant, tenant.entity_id(), input, now)
}

/// `owner`'s oldest role named `name` of type `role_type`, if it has one:
/// how the service finds the roles it made itself (names are not unique).
fn role_named(
    view: &dyn KvRead,
    tenant: TenantId,
    owner: EntityId,
    name: &str,
    role_type: RoleType,
) -> ServiceResult<Option<Role>> {
    let roles = roles::of_owner(view, tenant, owner.id)?;
    Ok(oldest_named(&roles, name, role_type).cloned())
}

/// The oldest of `roles` named `name` of type `role_type`.
fn oldest_named<'a>(roles: &'a [Role], name: &str, role_type: RoleType) -> Option<&'a Role> {
    roles
        .iter()
        .filter(|r| r.name == name && r.role_type == role_type)
        .min_by_key(|r| (r.created_time, r.id))
}

/// The tenant's default roles, staged anew where the tenant has none yet
/// (a new tenant) or no longer (an administrator may delete a role no
/// group holds).
pub(in crate::service) fn tenant_roles(
    view: &dyn KvRead,
    changes: &mut Changes,
    tenant: TenantId,
    now: i64,
) -> ServiceResult<[RoleId; 3]> {
    // Asked for every new customer: the tenant's roles are read once.
    let existing = roles::of_owner(view, tenant, tenant.0)?;
    let mut ids = [RoleId(uuid::Uuid::nil()); 3];
    for (slot, (name, permissions)) in ids.iter_mut().zip(default_roles()) {
        *slot = match oldest_named(&existing, name, RoleType::Generic) {
            Some(r) => r.id,
            None => {
                let r = role(name, permissions, tenant, now);
                roles::put(changes, &r);
                r.id
            }
        };
    }
    Ok(ids)
}

/// Stages the grants of an owner's default user groups, whose ids are in
/// `groups` (they may be staged in this same change). "Tenant
/// Administrators" and "All" get none: the first are the tenant's
/// administrators by membership, the second has no rights of its own.
pub(in crate::service) fn stage_default_grants(
    view: &dyn KvRead,
    changes: &mut Changes,
    tenant: TenantId,
    groups: &[(EntityGroupId, &str)],
    now: i64,
) -> ServiceResult<()> {
    let [admin_role, user_role, tenant_user_role] = tenant_roles(view, changes, tenant, now)?;
    for &(group, name) in groups {
        let (role, role_name) = match name {
            CUSTOMER_ADMINISTRATORS => (admin_role, CUSTOMER_ADMINISTRATOR),
            CUSTOMER_USERS => (user_role, CUSTOMER_USER),
            TENANT_USERS => (tenant_user_role, TENANT_USER),
            _ => continue,
        };
        stage_generic_grant(changes, tenant, group, role, role_name, now);
    }
    Ok(())
}

/// Stages a grant of the GENERIC role `role` (named `role_name`) to
/// `user_group`, made by the service itself: no caller's checks, no audit
/// record (a default of a new owner, not anyone's act).
pub(super) fn stage_generic_grant(
    changes: &mut Changes,
    tenant: TenantId,
    user_group: EntityGroupId,
    role: RoleId,
    role_name: &str,
    now: i64,
) {
    let input = GroupPermissionInput {
        id: None,
        user_group_id: user_group,
        role_id: role,
        entity_group_id: None,
        is_public: None,
    };
    let p = GroupPermission::create(tenant, &input, None, role_name.to_owned(), now);
    crate::store::group_permissions::put(changes, &p);
}

/// The built-in role `spec` of `owner`, found by name and type, or made
/// now (and staged, with its audit record): ThingsBoard's
/// `findOrCreateRole`. Returns it, and whether it is new.
pub(super) fn find_or_stage_role(
    view: &dyn KvRead,
    changes: &mut Changes,
    caller: &Caller,
    owner: EntityId,
    spec: BuiltInRole,
) -> ServiceResult<(Role, bool)> {
    let role_type = if spec.group {
        RoleType::Group
    } else {
        RoleType::Generic
    };
    if let Some(role) = role_named(view, caller.tenant_id, owner, spec.name, role_type)? {
        return Ok((role, false));
    }
    let input = RoleInput {
        name: Some(spec.name.to_owned()),
        role_type: Some(role_type),
        permissions: Some(spec.permissions),
        additional_info: Some(spec.additional_info),
        ..Default::default()
    };
    input.validate()?;
    let role = Role::create(caller.tenant_id, owner, input, now_ms());
    roles::put(changes, &role);
    stage_record(
        changes,
        &Actor::from(caller),
        customer_of_owner(role.owner_id),
        Some((role.id.entity_id(), &role.name)),
        ActionType::Added,
        json!({ "entity": role }),
    );
    Ok((role, true))
}

/// The default user groups of `owner` (a tenant or a customer) as
/// stored: (id, name).
pub(in crate::service) fn default_user_groups_of(
    view: &dyn KvRead,
    tenant: TenantId,
    owner: EntityId,
) -> ServiceResult<Vec<(EntityGroupId, &'static str)>> {
    let mut out = Vec::new();
    for &name in default_user_groups(owner.entity_type) {
        if let Some(id) = entity_groups::id_by_name(view, tenant, owner.id, GroupType::User, name)?
        {
            out.push((id, name));
        }
    }
    Ok(out)
}
