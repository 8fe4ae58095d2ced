//! `customers` (tenant ‖ id -> Customer) and its indexes: `customer_titles`
//! (tenant ‖ title -> id, unique) and `customers_by_owner`
//! (tenant ‖ owner ‖ id -> ()). Every write keeps all three in step.

use crate::domain::customer::Customer;
use crate::domain::ids::{CustomerId, TenantId};

use super::codec::{Key, decode, encode, uuid_at};
use super::{Changes, KvRead, StoreResult, Table};

pub fn key(tenant: TenantId, id: CustomerId) -> Vec<u8> {
    Key::new().id(tenant.0).id(id.0).build()
}

fn title_key(tenant: TenantId, title: &str) -> Vec<u8> {
    Key::new().id(tenant.0).text(title).build()
}

/// Until customers nest (owner = parent customer), every customer's owner is its tenant.
fn owner_key(c: &Customer) -> Vec<u8> {
    Key::new()
        .id(c.tenant_id.0)
        .id(c.tenant_id.0)
        .id(c.id.0)
        .build()
}

pub fn get(r: &dyn KvRead, tenant: TenantId, id: CustomerId) -> StoreResult<Option<Customer>> {
    r.get(Table::Customers, &key(tenant, id))?
        .map(|b| decode(Table::Customers, &b))
        .transpose()
}

pub fn id_by_title(
    r: &dyn KvRead,
    tenant: TenantId,
    title: &str,
) -> StoreResult<Option<CustomerId>> {
    Ok(r.get(Table::CustomerTitles, &title_key(tenant, title))?
        .and_then(|v| uuid_at(&v, 0))
        .map(CustomerId))
}

/// Writes `new`, replacing `old` (same id) if there was one.
pub fn put(changes: &mut Changes, old: Option<&Customer>, new: &Customer) {
    if let Some(old) = old
        && old.title != new.title
    {
        changes.delete(Table::CustomerTitles, title_key(old.tenant_id, &old.title));
    }
    changes.put(Table::Customers, key(new.tenant_id, new.id), encode(new));
    changes.put(
        Table::CustomerTitles,
        title_key(new.tenant_id, &new.title),
        new.id.0.as_bytes().to_vec(),
    );
    changes.put(Table::CustomersByOwner, owner_key(new), Vec::new());
}

pub fn delete(changes: &mut Changes, c: &Customer) {
    changes.delete(Table::Customers, key(c.tenant_id, c.id));
    changes.delete(Table::CustomerTitles, title_key(c.tenant_id, &c.title));
    changes.delete(Table::CustomersByOwner, owner_key(c));
}

/// Every customer of every tenant, in key order (for building in-memory indexes).
pub fn for_each(r: &dyn KvRead, visit: impl FnMut(Customer)) -> StoreResult<()> {
    visit_with_prefix(r, &[], visit)
}

fn visit_with_prefix(
    r: &dyn KvRead,
    prefix: &[u8],
    mut visit: impl FnMut(Customer),
) -> StoreResult<()> {
    r.scan(Table::Customers, prefix, None, false, &mut |_, v| {
        visit(decode(Table::Customers, v)?);
        Ok(true)
    })
}

/// Decodes a committed `customers` row (for commit listeners).
pub fn decode_row(value: &[u8]) -> StoreResult<Customer> {
    decode(Table::Customers, value)
}

/// Splits a `customers` key into tenant and customer id.
pub fn split_key(key: &[u8]) -> Option<(TenantId, CustomerId)> {
    Some((TenantId(uuid_at(key, 0)?), CustomerId(uuid_at(key, 16)?)))
}

/// Every customer of one tenant.
pub fn for_each_of(
    r: &dyn KvRead,
    tenant: TenantId,
    visit: impl FnMut(Customer),
) -> StoreResult<()> {
    visit_with_prefix(r, tenant.0.as_bytes(), visit)
}
