//! `roles` (tenant ‖ role id -> Role) and `roles_by_owner` (tenant ‖ owner
//! ‖ role id -> (), the owner being the tenant or a customer).

use uuid::Uuid;

use crate::domain::ids::{RoleId, TenantId};
use crate::domain::role::Role;

use super::codec::{Key, decode, encode, ids_in_index};
use super::group_permissions;
use super::{Changes, KvRead, StoreResult, Table};

fn key(tenant: TenantId, id: RoleId) -> Vec<u8> {
    Key::new().id(tenant.0).id(id.0).build()
}

fn owner_key(r: &Role) -> Vec<u8> {
    Key::new()
        .id(r.tenant_id.0)
        .id(r.owner_id.id)
        .id(r.id.0)
        .build()
}

pub fn get(r: &dyn KvRead, tenant: TenantId, id: RoleId) -> StoreResult<Option<Role>> {
    r.get(Table::Roles, &key(tenant, id))?
        .map(|b| decode(Table::Roles, &b))
        .transpose()
}

/// The roles `owner` (the tenant's id or a customer's) has.
pub fn of_owner(r: &dyn KvRead, tenant: TenantId, owner: Uuid) -> StoreResult<Vec<Role>> {
    let prefix = Key::new().id(tenant.0).id(owner).build();
    let mut out = Vec::new();
    for id in ids_in_index(r, Table::RolesByOwner, &prefix, 32)? {
        out.extend(get(r, tenant, RoleId(id))?);
    }
    Ok(out)
}

/// Writes a role (its owner never changes).
pub fn put(changes: &mut Changes, role: &Role) {
    changes.put(Table::Roles, key(role.tenant_id, role.id), encode(role));
    changes.put(Table::RolesByOwner, owner_key(role), Vec::new());
}

pub fn delete(changes: &mut Changes, role: &Role) {
    changes.delete(Table::Roles, key(role.tenant_id, role.id));
    changes.delete(Table::RolesByOwner, owner_key(role));
}

/// Deletes every role `owner` has, and wherever it is granted: the owner
/// is being deleted.
pub fn stage_delete_of_owner(
    r: &dyn KvRead,
    changes: &mut Changes,
    tenant: TenantId,
    owner: Uuid,
) -> StoreResult<()> {
    for role in of_owner(r, tenant, owner)? {
        for p in group_permissions::of_role(r, tenant, role.id.0)? {
            group_permissions::delete(changes, &p);
        }
        delete(changes, &role);
    }
    Ok(())
}
