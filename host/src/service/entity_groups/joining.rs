//! How owners and new entities get into groups: the groups a new owner
//! starts with, the groups a new customer or user is created into, and
//! the rule that an entity is only ever in its own owner's groups.

use crate::auth::Caller;
use crate::auth::permissions::{Operation, Resource};
use crate::domain::entity_group::{EntityGroup, GroupType, TENANT_ADMINISTRATORS, new_user_group};
use crate::domain::ids::{
    CustomerId, EntityGroupId, EntityId, EntityType, TenantId, customer_of_owner, owner_of,
};
use crate::domain::user::User;
use crate::store::{Changes, KvRead, StoreError, Table, entity_groups};

use super::super::owners::resolve_owner;
use super::super::{ServiceError, ServiceResult};
use super::find;

/// Stages the groups a new owner starts with: "All" of every type and its
/// default user groups. Returns them.
pub(in crate::service) fn stage_defaults(
    changes: &mut Changes,
    tenant: TenantId,
    owner: EntityId,
    now: i64,
) -> Vec<EntityGroup> {
    let groups = EntityGroup::defaults_for(tenant, owner, now);
    for g in &groups {
        entity_groups::put(changes, None, g);
    }
    groups
}

/// Refuses taking `removed` members out of `g` when it is its tenant's
/// "Tenant Administrators" and they are all it has: a tenant keeps one
/// administrator, as deleting users keeps one.
pub(super) fn keeps_an_administrator(
    view: &dyn KvRead,
    g: &EntityGroup,
    removed: usize,
) -> ServiceResult<()> {
    let administrators = g.group_type == GroupType::User
        && g.owner_id.entity_type == EntityType::Tenant
        && g.name == TENANT_ADMINISTRATORS;
    if administrators && entity_groups::members(view, g.tenant_id, g.id)?.len() <= removed {
        return Err(ServiceError::invalid(
            "At least one tenant administrator must remain!",
        ));
    }
    Ok(())
}

/// The group of `owner` a new user joins when its creator names none
/// ([`new_user_group`]). Every owner has it: it can't be renamed or
/// deleted, so a missing one is a corrupt store.
pub(in crate::service) fn default_user_group(
    view: &dyn KvRead,
    tenant: TenantId,
    owner: EntityId,
) -> ServiceResult<EntityGroupId> {
    let name = new_user_group(owner.entity_type);
    entity_groups::id_by_name(view, tenant, owner.id, GroupType::User, name)?.ok_or_else(|| {
        ServiceError::Store(StoreError::corrupt(
            Table::EntityGroupNames,
            format!("owner {} has no group '{name}'", owner.id),
        ))
    })
}

/// Stages a new user's joining its user groups: those its creator named
/// (all of its owner's), or else its owner's default one.
pub(in crate::service) fn stage_new_user_groups(
    view: &dyn KvRead,
    changes: &mut Changes,
    caller: &Caller,
    user: &User,
    groups: &[EntityGroupId],
) -> ServiceResult<()> {
    let owner = user.owner_id();
    let me = user.id.entity_id();
    if stage_join(view, changes, caller, groups, me, owner)? > 0 {
        return Ok(());
    }
    // No group, or only "All": the default one.
    let g = default_user_group(view, user.tenant_id, owner)?;
    entity_groups::add_member(changes, user.tenant_id, g, user.id.0);
    Ok(())
}

/// The customer owning the first of `groups` (`None`: the tenant, or no
/// groups): where a new entity of type `t` goes when its creator names
/// no owner but creates it into groups. The caller must be able to read
/// the group before it learns anything of it.
pub(in crate::service) fn customer_of_first_group(
    view: &dyn KvRead,
    caller: &Caller,
    groups: &[EntityGroupId],
    t: GroupType,
) -> ServiceResult<Option<CustomerId>> {
    let Some(&first) = groups.first() else {
        return Ok(None);
    };
    let g = find(view, caller, first, Operation::Read)?;
    if g.group_type != t {
        return Err(ServiceError::invalid(format!(
            "Entity group '{}' holds entities of type {}, not {t}",
            g.name, g.group_type
        )));
    }
    let owner = customer_of_owner(g.owner_id);
    Ok((!owner.is_null()).then_some(owner))
}

/// Where a new device, asset or dashboard goes (the null customer: the
/// tenant): to the owner of the groups (of type `t`) it is created into,
/// or else to the caller's own, the tenant for its administrators and its
/// customer for a customer administrator. The caller must be allowed to
/// create `resource` there.
pub(in crate::service) fn owner_of_new(
    view: &dyn KvRead,
    caller: &Caller,
    groups: &[EntityGroupId],
    t: GroupType,
    resource: Resource,
) -> ServiceResult<CustomerId> {
    let customer = if groups.is_empty() {
        caller.customer_id
    } else {
        customer_of_first_group(view, caller, groups, t)?.unwrap_or(CustomerId::NULL)
    };
    let owner = owner_of(caller.tenant_id, customer);
    resolve_owner(view, caller, Some(owner), resource, Operation::Create)?;
    Ok(customer)
}

/// Checks that `groups` are named groups of type `t` owned by `owner`, the
/// groups a new entity of that owner may be put in, and stages its joining
/// them.
/// Returns how many named groups it joins ("All" needs no joining).
pub(in crate::service) fn stage_join(
    view: &dyn KvRead,
    changes: &mut Changes,
    caller: &Caller,
    groups: &[EntityGroupId],
    entity: EntityId,
    owner: EntityId,
) -> ServiceResult<usize> {
    let mut joined = 0;
    for &id in groups {
        let g = find(view, caller, id, Operation::Write)?;
        check_may_hold(&g, entity, owner)?;
        if !g.group_all {
            entity_groups::add_member(changes, g.tenant_id, g.id, entity.id);
            joined += 1;
        }
    }
    Ok(joined)
}

/// Refuses to put `entity` (owned by `owner`) in a group of another type
/// or another owner: an entity is only ever in its own owner's groups.
pub(super) fn check_may_hold(
    g: &EntityGroup,
    entity: EntityId,
    owner: EntityId,
) -> ServiceResult<()> {
    if GroupType::of(entity.entity_type) != Some(g.group_type) {
        return Err(ServiceError::invalid(format!(
            "A {} can't be put in a group of type {}",
            entity.entity_type, g.group_type
        )));
    }
    if owner != g.owner_id {
        return Err(ServiceError::invalid(format!(
            "{} [{}] belongs to another owner than entity group '{}'",
            entity.entity_type, entity.id, g.name
        )));
    }
    Ok(())
}
