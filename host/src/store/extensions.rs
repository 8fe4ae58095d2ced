//! `extensions` (tenant ‖ id -> Extension), `extension_content` (tenant ‖ id
//! -> the component's bytes), `extension_names` (tenant ‖ name -> id) and
//! `extension_uses` (tenant ‖ extension ‖ user -> the user's EntityId).

use crate::domain::extension::Extension;
use crate::domain::ids::{EntityId, ExtensionId, TenantId};

use super::codec::{Key, decode, encode, rows_with_prefix, uuid_at};
use super::{Changes, KvRead, StoreResult, Table};

/// Whether the extension exists, without reading its row.
pub fn exists(r: &dyn KvRead, tenant: TenantId, id: ExtensionId) -> StoreResult<bool> {
    r.contains(Table::Extensions, &key(tenant, id))
}

fn key(tenant: TenantId, id: ExtensionId) -> Vec<u8> {
    Key::new().id(tenant.0).id(id.0).build()
}

fn name_key(tenant: TenantId, name: &str) -> Vec<u8> {
    Key::new().id(tenant.0).text(name).build()
}

fn use_key(tenant: TenantId, extension: ExtensionId, user: EntityId) -> Vec<u8> {
    Key::new().id(tenant.0).id(extension.0).id(user.id).build()
}

pub fn get(r: &dyn KvRead, tenant: TenantId, id: ExtensionId) -> StoreResult<Option<Extension>> {
    r.get(Table::Extensions, &key(tenant, id))?
        .map(|b| decode(Table::Extensions, &b))
        .transpose()
}

/// The component's bytes.
pub fn content(r: &dyn KvRead, tenant: TenantId, id: ExtensionId) -> StoreResult<Option<Vec<u8>>> {
    r.get(Table::ExtensionContent, &key(tenant, id))
}

pub fn id_by_name(
    r: &dyn KvRead,
    tenant: TenantId,
    name: &str,
) -> StoreResult<Option<ExtensionId>> {
    Ok(r.get(Table::ExtensionNames, &name_key(tenant, name))?
        .and_then(|v| uuid_at(&v, 0))
        .map(ExtensionId))
}

/// A new extension with its bytes (extensions are never updated in place).
pub fn insert(changes: &mut Changes, e: &Extension, bytes: Vec<u8>) {
    changes.put(Table::Extensions, key(e.tenant_id, e.id), encode(e));
    changes.put(Table::ExtensionContent, key(e.tenant_id, e.id), bytes);
    changes.put(
        Table::ExtensionNames,
        name_key(e.tenant_id, &e.name),
        e.id.0.as_bytes().to_vec(),
    );
}

/// Removes the row, the bytes and the name (not the uses: deleting a used
/// extension is refused before this).
pub fn delete(changes: &mut Changes, e: &Extension) {
    changes.delete(Table::Extensions, key(e.tenant_id, e.id));
    changes.delete(Table::ExtensionContent, key(e.tenant_id, e.id));
    changes.delete(Table::ExtensionNames, name_key(e.tenant_id, &e.name));
}

pub fn of_tenant(r: &dyn KvRead, tenant: TenantId) -> StoreResult<Vec<Extension>> {
    rows_with_prefix(r, Table::Extensions, tenant.0.as_bytes())
}

/// Every extension of every tenant: what is loaded at start-up.
pub fn all(r: &dyn KvRead) -> StoreResult<Vec<Extension>> {
    rows_with_prefix(r, Table::Extensions, &[])
}

/// `user` (a calculated field, customer logic binding, ...) uses `extension`.
pub fn put_use(changes: &mut Changes, tenant: TenantId, extension: ExtensionId, user: EntityId) {
    changes.put(
        Table::ExtensionUses,
        use_key(tenant, extension, user),
        encode(&user),
    );
}

pub fn delete_use(changes: &mut Changes, tenant: TenantId, extension: ExtensionId, user: EntityId) {
    changes.delete(Table::ExtensionUses, use_key(tenant, extension, user));
}

/// The first entity found using `extension`, if any.
pub fn first_user(
    r: &dyn KvRead,
    tenant: TenantId,
    extension: ExtensionId,
) -> StoreResult<Option<EntityId>> {
    let mut found = None;
    r.scan(
        Table::ExtensionUses,
        &key(tenant, extension),
        None,
        false,
        &mut |_, v| {
            found = Some(decode(Table::ExtensionUses, v)?);
            Ok(false)
        },
    )?;
    Ok(found)
}
