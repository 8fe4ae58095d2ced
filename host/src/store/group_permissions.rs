//! `group_permissions` (tenant ‖ permission id -> GroupPermission) and its
//! indexes by user group, by entity group and by role (tenant ‖ that id ‖
//! permission id -> ()). A changed grant is deleted and written anew, so
//! its indexes follow it.

use uuid::Uuid;

use crate::domain::group_permission::GroupPermission;
use crate::domain::ids::{GroupPermissionId, TenantId};

use super::codec::{Key, decode, encode, ids_in_index};
use super::{Changes, KvRead, StoreResult, Table};

fn key(tenant: TenantId, id: GroupPermissionId) -> Vec<u8> {
    Key::new().id(tenant.0).id(id.0).build()
}

fn index_key(tenant: TenantId, by: Uuid, id: GroupPermissionId) -> Vec<u8> {
    Key::new().id(tenant.0).id(by).id(id.0).build()
}

/// Every index of `p`, with the id it is filed by.
fn indexes(p: &GroupPermission) -> impl Iterator<Item = (Table, Uuid)> {
    [
        Some((Table::GroupPermissionsByUserGroup, p.user_group_id.0)),
        Some((Table::GroupPermissionsByRole, p.role_id.0)),
        p.entity_group_id
            .map(|g| (Table::GroupPermissionsByEntityGroup, g.0)),
    ]
    .into_iter()
    .flatten()
}

pub fn get(
    r: &dyn KvRead,
    tenant: TenantId,
    id: GroupPermissionId,
) -> StoreResult<Option<GroupPermission>> {
    r.get(Table::GroupPermissions, &key(tenant, id))?
        .map(|b| decode(Table::GroupPermissions, &b))
        .transpose()
}

fn filed_under(
    r: &dyn KvRead,
    table: Table,
    tenant: TenantId,
    by: Uuid,
) -> StoreResult<Vec<GroupPermission>> {
    let prefix = Key::new().id(tenant.0).id(by).build();
    let mut out = Vec::new();
    for id in ids_in_index(r, table, &prefix, 32)? {
        out.extend(get(r, tenant, GroupPermissionId(id))?);
    }
    Ok(out)
}

/// The permissions granted to one user group.
pub fn of_user_group(
    r: &dyn KvRead,
    tenant: TenantId,
    group: Uuid,
) -> StoreResult<Vec<GroupPermission>> {
    filed_under(r, Table::GroupPermissionsByUserGroup, tenant, group)
}

/// The permissions granted over one entity group (GROUP roles).
pub fn over_entity_group(
    r: &dyn KvRead,
    tenant: TenantId,
    group: Uuid,
) -> StoreResult<Vec<GroupPermission>> {
    filed_under(r, Table::GroupPermissionsByEntityGroup, tenant, group)
}

/// Where `role` is granted.
pub fn of_role(r: &dyn KvRead, tenant: TenantId, role: Uuid) -> StoreResult<Vec<GroupPermission>> {
    filed_under(r, Table::GroupPermissionsByRole, tenant, role)
}

/// Whether `role` is granted anywhere.
pub fn role_in_use(r: &dyn KvRead, tenant: TenantId, role: Uuid) -> StoreResult<bool> {
    let prefix = Key::new().id(tenant.0).id(role).build();
    let mut used = false;
    r.scan(
        Table::GroupPermissionsByRole,
        &prefix,
        None,
        false,
        &mut |_, _| {
            used = true;
            Ok(false)
        },
    )?;
    Ok(used)
}

pub fn put(changes: &mut Changes, p: &GroupPermission) {
    changes.put(Table::GroupPermissions, key(p.tenant_id, p.id), encode(p));
    for (table, by) in indexes(p) {
        changes.put(table, index_key(p.tenant_id, by, p.id), Vec::new());
    }
}

pub fn delete(changes: &mut Changes, p: &GroupPermission) {
    changes.delete(Table::GroupPermissions, key(p.tenant_id, p.id));
    for (table, by) in indexes(p) {
        changes.delete(table, index_key(p.tenant_id, by, p.id));
    }
}

/// Deletes every permission held by, or granted over, `group`: the group
/// is being deleted.
pub fn stage_delete_of_group(
    r: &dyn KvRead,
    changes: &mut Changes,
    tenant: TenantId,
    group: Uuid,
) -> StoreResult<()> {
    for p in of_user_group(r, tenant, group)?
        .into_iter()
        .chain(over_entity_group(r, tenant, group)?)
    {
        delete(changes, &p);
    }
    Ok(())
}
