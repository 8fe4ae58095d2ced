//! `calculated_fields` (tenant ‖ id -> CalculatedField) and
//! `calculated_fields_by_entity` (tenant ‖ entity ‖ field -> ()).

use uuid::Uuid;

use crate::domain::calculated_field::CalculatedField;
use crate::domain::ids::{CalculatedFieldId, TenantId};

use super::codec::{Key, decode, encode, ids_in_index, rows_with_prefix};
use super::{Changes, KvRead, StoreResult, Table};

fn key(tenant: TenantId, id: CalculatedFieldId) -> Vec<u8> {
    Key::new().id(tenant.0).id(id.0).build()
}

fn by_entity_key(tenant: TenantId, entity: Uuid, id: CalculatedFieldId) -> Vec<u8> {
    Key::new().id(tenant.0).id(entity).id(id.0).build()
}

/// Whether the field exists, without reading its row.
pub fn exists(r: &dyn KvRead, tenant: TenantId, id: CalculatedFieldId) -> StoreResult<bool> {
    r.contains(Table::CalculatedFields, &key(tenant, id))
}

pub fn get(
    r: &dyn KvRead,
    tenant: TenantId,
    id: CalculatedFieldId,
) -> StoreResult<Option<CalculatedField>> {
    r.get(Table::CalculatedFields, &key(tenant, id))?
        .map(|b| decode(Table::CalculatedFields, &b))
        .transpose()
}

/// Decodes a committed row (for commit listeners).
pub fn decode_row(bytes: &[u8]) -> StoreResult<CalculatedField> {
    decode(Table::CalculatedFields, bytes)
}

/// The field's id from a committed row's key.
pub fn id_of_key(key: &[u8]) -> Option<(TenantId, CalculatedFieldId)> {
    let tenant = super::codec::uuid_at(key, 0)?;
    let id = super::codec::uuid_at(key, 16)?;
    Some((TenantId(tenant), CalculatedFieldId(id)))
}

/// A field's entity never changes (updates keep it), so the index entry is
/// written once and removed with the field.
pub fn put(changes: &mut Changes, field: &CalculatedField) {
    changes.put(
        Table::CalculatedFields,
        key(field.tenant_id, field.id),
        encode(field),
    );
    changes.put(
        Table::CalculatedFieldsByEntity,
        by_entity_key(field.tenant_id, field.entity_id.id, field.id),
        Vec::new(),
    );
}

pub fn delete(changes: &mut Changes, field: &CalculatedField) {
    changes.delete(Table::CalculatedFields, key(field.tenant_id, field.id));
    changes.delete(
        Table::CalculatedFieldsByEntity,
        by_entity_key(field.tenant_id, field.entity_id.id, field.id),
    );
}

/// The fields of one entity, oldest first (ids are time-based).
pub fn of_entity(
    r: &dyn KvRead,
    tenant: TenantId,
    entity: Uuid,
) -> StoreResult<Vec<CalculatedField>> {
    let prefix = Key::new().id(tenant.0).id(entity).build();
    let mut out = Vec::new();
    for id in ids_in_index(r, Table::CalculatedFieldsByEntity, &prefix, 32)? {
        out.extend(get(r, tenant, CalculatedFieldId(id))?);
    }
    Ok(out)
}

pub fn of_tenant(r: &dyn KvRead, tenant: TenantId) -> StoreResult<Vec<CalculatedField>> {
    rows_with_prefix(r, Table::CalculatedFields, tenant.0.as_bytes())
}

/// Every field of the installation (to build the trigger index at start).
pub fn all(r: &dyn KvRead) -> StoreResult<Vec<CalculatedField>> {
    rows_with_prefix(r, Table::CalculatedFields, &[])
}
