//! Rows of devices and assets with their two indexes: name -> id (unique per
//! tenant) and customer -> ids (the null customer: unassigned). Keys:
//! rows tenant ‖ id, names tenant ‖ name, by customer tenant ‖ customer ‖ id.

use std::sync::atomic::{AtomicU64, Ordering};

use uuid::Uuid;

use crate::domain::assignable::Assignable;
use crate::domain::ids::{CustomerId, EntityType, TenantId};

use super::codec::{Key, decode, encode, ids_in_index, rows_with_prefix, uuid_at};
use super::{Changes, KvRead, Mutation, StoreResult, Table};

/// Writes that deleted a device row: bumped on the writer as it takes each
/// such write, so a later write on the same writer sees the bump. Counted
/// for the whole process rather than per store: a bump from another store
/// costs a reader of it one lookup, nothing more.
static DEVICE_DELETIONS: AtomicU64 = AtomicU64::new(0);

struct Tables {
    rows: Table,
    names: Table,
    by_customer: Table,
}

fn tables<T: Assignable>() -> Tables {
    match T::ENTITY_TYPE {
        EntityType::Asset => Tables {
            rows: Table::Assets,
            names: Table::AssetNames,
            by_customer: Table::AssetsByCustomer,
        },
        _ => Tables {
            rows: Table::Devices,
            names: Table::DeviceNames,
            by_customer: Table::DevicesByCustomer,
        },
    }
}

fn key(tenant: TenantId, id: Uuid) -> Vec<u8> {
    Key::new().id(tenant.0).id(id).build()
}

fn name_key(tenant: TenantId, name: &str) -> Vec<u8> {
    Key::new().id(tenant.0).text(name).build()
}

fn by_customer_key<T: Assignable>(e: &T) -> Vec<u8> {
    Key::new()
        .id(e.tenant().0)
        .id(e.customer().0)
        .id(e.uuid())
        .build()
}

pub fn get<T: Assignable>(r: &dyn KvRead, tenant: TenantId, id: Uuid) -> StoreResult<Option<T>> {
    let t = tables::<T>();
    r.get(t.rows, &key(tenant, id))?
        .map(|b| decode(t.rows, &b))
        .transpose()
}

/// Counts `mutations` (one write's, on the writer) if they delete a device
/// row; see [`device_deletions`].
pub(super) fn note_device_deletions(mutations: &[Mutation]) {
    if mutations
        .iter()
        .any(|m| m.table == Table::Devices && m.value.is_none())
    {
        DEVICE_DELETIONS.fetch_add(1, Ordering::Relaxed);
    }
}

/// How many writes have deleted a device row so far. A device found in a
/// write is still there in a later write on the same writer if this has
/// not moved in between.
pub fn device_deletions() -> u64 {
    DEVICE_DELETIONS.load(Ordering::Relaxed)
}

/// Whether the row is there (cheaper than reading it).
pub fn exists<T: Assignable>(r: &dyn KvRead, tenant: TenantId, id: Uuid) -> StoreResult<bool> {
    r.contains(tables::<T>().rows, &key(tenant, id))
}

pub fn id_by_name<T: Assignable>(
    r: &dyn KvRead,
    tenant: TenantId,
    name: &str,
) -> StoreResult<Option<Uuid>> {
    Ok(r.get(tables::<T>().names, &name_key(tenant, name))?
        .and_then(|v| uuid_at(&v, 0)))
}

pub fn put<T: Assignable>(changes: &mut Changes, old: Option<&T>, new: &T) {
    let t = tables::<T>();
    if let Some(old) = old {
        if old.name() != new.name() {
            changes.delete(t.names, name_key(old.tenant(), old.name()));
        }
        if old.customer() != new.customer() {
            changes.delete(t.by_customer, by_customer_key(old));
        }
    }
    changes.put(t.rows, key(new.tenant(), new.uuid()), encode(new));
    changes.put(
        t.names,
        name_key(new.tenant(), new.name()),
        new.uuid().as_bytes().to_vec(),
    );
    changes.put(t.by_customer, by_customer_key(new), Vec::new());
}

pub fn delete<T: Assignable>(changes: &mut Changes, e: &T) {
    let t = tables::<T>();
    changes.delete(t.rows, key(e.tenant(), e.uuid()));
    changes.delete(t.names, name_key(e.tenant(), e.name()));
    changes.delete(t.by_customer, by_customer_key(e));
}

/// Those assigned to one customer (the null customer: unassigned ones).
pub fn of_customer<T: Assignable>(
    r: &dyn KvRead,
    tenant: TenantId,
    customer: CustomerId,
) -> StoreResult<Vec<T>> {
    let ids = ids_of_customer::<T>(r, tenant, customer)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.extend(get(r, tenant, id)?);
    }
    Ok(out)
}

/// The ids of those assigned to one customer (the null customer:
/// unassigned ones), without reading their rows.
pub fn ids_of_customer<T: Assignable>(
    r: &dyn KvRead,
    tenant: TenantId,
    customer: CustomerId,
) -> StoreResult<Vec<Uuid>> {
    let prefix = Key::new().id(tenant.0).id(customer.0).build();
    ids_in_index(r, tables::<T>().by_customer, &prefix, 32)
}

/// Every one of a tenant.
pub fn of_tenant<T: Assignable>(r: &dyn KvRead, tenant: TenantId) -> StoreResult<Vec<T>> {
    rows_with_prefix(r, tables::<T>().rows, tenant.0.as_bytes())
}
