//! A user's effective rights, loaded from the store: the user groups it is
//! in, the roles granted to them, merged into [`Rights`]. A tenant's user
//! in its "Tenant Administrators" group is its administrator and needs
//! none; any other tenant user (in "Tenant Users", say) has what its roles
//! grant, as customer users do.

use std::sync::Arc;

use crate::auth::Caller;
use crate::auth::rights::{GenericGrant, GroupGrant, GroupMembers, Reach, Rights};
use crate::domain::customer::Customer;
use crate::domain::entity_group::{ALL_GROUP_NAME, GroupType, PUBLIC_USERS, TENANT_ADMINISTRATORS};
use crate::domain::ids::customer_of_owner;
use crate::domain::ids::{EntityGroupId, TenantId};
use crate::domain::role::parse_permissions;
use crate::domain::user::{Authority, User};
use crate::store::{KvRead, Store, entity_groups, group_permissions, roles};

use super::super::{ServiceError, ServiceResult};

/// `user` as a caller: the system administrator and the tenant's
/// administrators have the rights of their authority, every other user
/// those its roles grant.
pub(in crate::service) fn caller_of(
    view: &dyn KvRead,
    reach: Reach,
    user: &User,
) -> ServiceResult<Caller> {
    let caller = Caller::of(user);
    match user.authority {
        Authority::SysAdmin => return Ok(caller),
        // Asked on every request of an administrator: two point reads,
        // before any of the group reads the rights of others take.
        Authority::TenantAdmin if is_tenant_administrator(view, user)? => return Ok(caller),
        Authority::TenantAdmin | Authority::CustomerUser => {}
    }
    let groups = user_groups_of(view, user)?;
    Ok(caller.with_rights(load(view, reach, user.tenant_id, groups)?))
}

/// Whether `user` is in its tenant's "Tenant Administrators".
fn is_tenant_administrator(view: &dyn KvRead, user: &User) -> ServiceResult<bool> {
    let tenant = user.tenant_id;
    match tenant_administrators(view, tenant)? {
        Some(group) => Ok(entity_groups::is_member(view, tenant, group, user.id.0)?),
        None => Ok(false),
    }
}

/// The tenant's administrators: the members of its "Tenant
/// Administrators" group.
pub(in crate::service) fn tenant_administrator_ids(
    view: &dyn KvRead,
    tenant: TenantId,
) -> ServiceResult<Vec<uuid::Uuid>> {
    match tenant_administrators(view, tenant)? {
        Some(group) => Ok(entity_groups::members(view, tenant, group)?),
        None => Ok(Vec::new()),
    }
}

/// The id of `tenant`'s "Tenant Administrators" group.
fn tenant_administrators(
    view: &dyn KvRead,
    tenant: TenantId,
) -> ServiceResult<Option<EntityGroupId>> {
    Ok(entity_groups::id_by_name(
        view,
        tenant,
        tenant.0,
        GroupType::User,
        TENANT_ADMINISTRATORS,
    )?)
}

/// The public user of `customer`, a public customer (ThingsBoard's public
/// login), as a caller: exactly the rights its "Public Users" group holds
/// (GROUP roles over the public groups of the customer's owner, and the
/// group's read-only GENERIC role), loaded as any user's are, so that
/// making a group private takes it out of reach at the next request.
pub(in crate::service) fn public_caller_of(
    view: &dyn KvRead,
    reach: Reach,
    customer: &Customer,
) -> ServiceResult<Caller> {
    let tenant = customer.tenant_id;
    let groups =
        entity_groups::id_by_name(view, tenant, customer.id.0, GroupType::User, PUBLIC_USERS)?;
    let caller = Caller::public(tenant, customer.id);
    Ok(caller.with_rights(load(view, reach, tenant, groups.into_iter().collect())?))
}

/// Group membership as the store holds it when asked (an "All" group holds
/// what its owner owns, without member rows): a GROUP role's
/// reach over members is asked only when its operations fit, and then
/// must see the members of now, not of when the rights were loaded.
pub(in crate::service) struct StoredMembers(pub Arc<dyn Store>);

impl GroupMembers for StoredMembers {
    fn holds(&self, tenant: TenantId, group: EntityGroupId, entity: uuid::Uuid) -> bool {
        let found = self
            .0
            .snapshot()
            .map_err(ServiceError::from)
            .and_then(|s| super::super::entity_groups::holds(&*s, tenant, group, entity));
        // A store that can't answer grants nothing.
        found.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "group membership unreadable: refused");
            false
        })
    }
}

/// The user groups `user` is in: those it was put in, and its customer's
/// "All" user group, which holds every user of the customer without
/// member rows (a share with `allUserGroup` goes there).
fn user_groups_of(view: &dyn KvRead, user: &User) -> ServiceResult<Vec<EntityGroupId>> {
    let tenant = user.tenant_id;
    let mut out = entity_groups::memberships(view, tenant, user.id.0)?;
    let owner = user.owner_id();
    let all = entity_groups::id_by_name(view, tenant, owner.id, GroupType::User, ALL_GROUP_NAME)?;
    if let Some(all) = all
        && !out.contains(&all)
    {
        out.push(all);
    }
    Ok(out)
}

/// The rights the roles granted to `user_groups` give, merged.
fn load(
    view: &dyn KvRead,
    reach: Reach,
    tenant: TenantId,
    user_groups: Vec<EntityGroupId>,
) -> ServiceResult<Rights> {
    let (mut generic, mut groups) = (Vec::new(), Vec::new());
    for group_id in user_groups {
        let Some(group) = entity_groups::get(view, tenant, group_id)? else {
            continue;
        };
        if group.group_type != GroupType::User {
            continue;
        }
        let scope = customer_of_owner(group.owner_id);
        for p in group_permissions::of_user_group(view, tenant, group_id.0)? {
            let Some(role) = roles::get(view, tenant, p.role_id)? else {
                continue;
            };
            // Stored roles were checked when saved; one that no longer
            // parses grants nothing rather than failing every request.
            let Ok(grants) = parse_permissions(role.role_type, &role.permissions) else {
                tracing::warn!(role = %role.id, "a stored role's permissions do not parse");
                continue;
            };
            let Some(group) = p.entity_group_id else {
                generic.push(GenericGrant { scope, grants });
                continue;
            };
            // Saved grants name their group's type; one that names none
            // (or no group type) grants nothing, never another type's rights.
            let Some(group_type) = p.entity_group_type.and_then(GroupType::of) else {
                tracing::warn!(grant = %p.id, "a stored grant names no group type");
                continue;
            };
            groups.push(GroupGrant {
                group,
                group_type,
                operations: grants.into_values().flatten().collect(),
            });
        }
    }
    Ok(Rights::new(tenant, generic, groups, reach))
}
