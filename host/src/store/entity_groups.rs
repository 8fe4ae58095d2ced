//! `entity_groups` (tenant ‖ group id -> EntityGroup) with its name index
//! `entity_group_names` (tenant ‖ owner ‖ type ‖ name -> group id: unique
//! per owner and type, listed by name), and the members of named groups
//! both ways: `entity_group_members` (tenant ‖ group ‖ entity -> ()) and
//! `entity_memberships` (tenant ‖ entity ‖ group -> ()). "All" groups have
//! no member rows: their members are whatever their owner owns.

use uuid::Uuid;

use crate::domain::entity_group::{EntityGroup, GroupType};
use crate::domain::ids::{EntityGroupId, TenantId};

use super::codec::{Key, decode, encode, ids_in_index, uuid_at};
use super::group_permissions;
use super::{Changes, KvRead, StoreResult, Table};

fn key(tenant: TenantId, id: EntityGroupId) -> Vec<u8> {
    Key::new().id(tenant.0).id(id.0).build()
}

fn owner_prefix(tenant: TenantId, owner: Uuid, t: GroupType) -> Key {
    Key::new().id(tenant.0).id(owner).tag(t.code())
}

fn name_key(g: &EntityGroup) -> Vec<u8> {
    owner_prefix(g.tenant_id, g.owner_id.id, g.group_type)
        .text(&g.name)
        .build()
}

fn member_key(tenant: TenantId, group: EntityGroupId, entity: Uuid) -> Vec<u8> {
    Key::new().id(tenant.0).id(group.0).id(entity).build()
}

fn membership_key(tenant: TenantId, entity: Uuid, group: EntityGroupId) -> Vec<u8> {
    Key::new().id(tenant.0).id(entity).id(group.0).build()
}

pub fn get(
    r: &dyn KvRead,
    tenant: TenantId,
    id: EntityGroupId,
) -> StoreResult<Option<EntityGroup>> {
    r.get(Table::EntityGroups, &key(tenant, id))?
        .map(|b| decode(Table::EntityGroups, &b))
        .transpose()
}

/// The group of `owner` and type `t` named exactly `name`.
pub fn id_by_name(
    r: &dyn KvRead,
    tenant: TenantId,
    owner: Uuid,
    t: GroupType,
    name: &str,
) -> StoreResult<Option<EntityGroupId>> {
    let k = owner_prefix(tenant, owner, t).text(name).build();
    Ok(r.get(Table::EntityGroupNames, &k)?
        .and_then(|v| uuid_at(&v, 0))
        .map(EntityGroupId))
}

/// The groups of `owner` and type `t`, by name.
pub fn of_owner(
    r: &dyn KvRead,
    tenant: TenantId,
    owner: Uuid,
    t: GroupType,
) -> StoreResult<Vec<EntityGroup>> {
    let prefix = owner_prefix(tenant, owner, t).build();
    let mut ids = Vec::new();
    r.scan(
        Table::EntityGroupNames,
        &prefix,
        None,
        false,
        &mut |_, v| {
            ids.extend(uuid_at(v, 0).map(EntityGroupId));
            Ok(true)
        },
    )?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.extend(get(r, tenant, id)?);
    }
    Ok(out)
}

/// Writes `new`, replacing `old` (same id) if there was one.
pub fn put(changes: &mut Changes, old: Option<&EntityGroup>, new: &EntityGroup) {
    if let Some(old) = old
        && old.name != new.name
    {
        changes.delete(Table::EntityGroupNames, name_key(old));
    }
    changes.put(Table::EntityGroups, key(new.tenant_id, new.id), encode(new));
    changes.put(
        Table::EntityGroupNames,
        name_key(new),
        new.id.0.as_bytes().to_vec(),
    );
}

/// Deletes a group and its member rows; the members themselves stay.
pub fn delete(r: &dyn KvRead, changes: &mut Changes, g: &EntityGroup) -> StoreResult<()> {
    for entity in members(r, g.tenant_id, g.id)? {
        remove_member(changes, g.tenant_id, g.id, entity);
    }
    group_permissions::stage_delete_of_group(r, changes, g.tenant_id, g.id.0)?;
    changes.delete(Table::EntityGroups, key(g.tenant_id, g.id));
    changes.delete(Table::EntityGroupNames, name_key(g));
    Ok(())
}

pub fn add_member(changes: &mut Changes, tenant: TenantId, group: EntityGroupId, entity: Uuid) {
    changes.put(
        Table::EntityGroupMembers,
        member_key(tenant, group, entity),
        Vec::new(),
    );
    changes.put(
        Table::EntityMemberships,
        membership_key(tenant, entity, group),
        Vec::new(),
    );
}

pub fn remove_member(changes: &mut Changes, tenant: TenantId, group: EntityGroupId, entity: Uuid) {
    changes.delete(Table::EntityGroupMembers, member_key(tenant, group, entity));
    changes.delete(
        Table::EntityMemberships,
        membership_key(tenant, entity, group),
    );
}

pub fn is_member(
    r: &dyn KvRead,
    tenant: TenantId,
    group: EntityGroupId,
    entity: Uuid,
) -> StoreResult<bool> {
    r.contains(
        Table::EntityGroupMembers,
        &member_key(tenant, group, entity),
    )
}

/// The members of a named group, in id order.
pub fn members(r: &dyn KvRead, tenant: TenantId, group: EntityGroupId) -> StoreResult<Vec<Uuid>> {
    let prefix = Key::new().id(tenant.0).id(group.0).build();
    ids_in_index(r, Table::EntityGroupMembers, &prefix, 32)
}

/// The named groups `entity` is in.
pub fn memberships(
    r: &dyn KvRead,
    tenant: TenantId,
    entity: Uuid,
) -> StoreResult<Vec<EntityGroupId>> {
    let prefix = Key::new().id(tenant.0).id(entity).build();
    Ok(ids_in_index(r, Table::EntityMemberships, &prefix, 32)?
        .into_iter()
        .map(EntityGroupId)
        .collect())
}

/// Takes `entity` out of every named group: it was deleted, or its owner
/// changed and the groups were its old owner's.
pub fn stage_leave_all(
    r: &dyn KvRead,
    changes: &mut Changes,
    tenant: TenantId,
    entity: Uuid,
) -> StoreResult<()> {
    for group in memberships(r, tenant, entity)? {
        remove_member(changes, tenant, group, entity);
    }
    Ok(())
}

/// Deletes every group `owner` has (with their member rows): the owner is
/// being deleted.
pub fn stage_delete_of_owner(
    r: &dyn KvRead,
    changes: &mut Changes,
    tenant: TenantId,
    owner: Uuid,
) -> StoreResult<()> {
    for t in GroupType::ALL {
        for g in of_owner(r, tenant, owner, t)? {
            delete(r, changes, &g)?;
        }
    }
    Ok(())
}
