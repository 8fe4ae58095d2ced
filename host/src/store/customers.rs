//! `customers` (tenant ‖ id -> Customer) and its indexes: `customer_titles`
//! (tenant ‖ title -> id, unique) and `customers_by_owner`
//! (tenant ‖ owner ‖ id -> (), the owner being the parent customer or the
//! tenant). Every write keeps all three in step.

use crate::domain::customer::Customer;
use crate::domain::ids::{CustomerId, TenantId};

use uuid::Uuid;

use super::codec::{Key, decode, encode, uuid_at};
use super::{Changes, KvRead, StoreError, StoreResult, Table};

pub fn key(tenant: TenantId, id: CustomerId) -> Vec<u8> {
    Key::new().id(tenant.0).id(id.0).build()
}

fn title_key(tenant: TenantId, title: &str) -> Vec<u8> {
    Key::new().id(tenant.0).text(title).build()
}

/// tenant ‖ owner ‖ id, the owner being the parent customer or the tenant.
fn owner_key(c: &Customer) -> Vec<u8> {
    Key::new()
        .id(c.tenant_id.0)
        .id(c.owner_id().id)
        .id(c.id.0)
        .build()
}

/// The customers `owner` (a customer's id, or the tenant's for the
/// tenant's own) owns directly.
pub fn children(r: &dyn KvRead, tenant: TenantId, owner: Uuid) -> StoreResult<Vec<CustomerId>> {
    let prefix = Key::new().id(tenant.0).id(owner).build();
    let mut out = Vec::new();
    r.scan(
        Table::CustomersByOwner,
        &prefix,
        None,
        false,
        &mut |k, _| {
            out.extend(uuid_at(k, 32).map(CustomerId));
            Ok(true)
        },
    )?;
    Ok(out)
}

/// `root` and every customer below it, parents before their children.
pub fn subtree(r: &dyn KvRead, tenant: TenantId, root: CustomerId) -> StoreResult<Vec<CustomerId>> {
    let mut out = vec![root];
    let mut next = 0;
    while next < out.len() {
        let below = children(r, tenant, out[next].0)?;
        out.extend(below);
        next += 1;
    }
    Ok(out)
}

/// Deepest nesting followed when walking up; past it the rows form a cycle,
/// which no write can make, so the store is corrupt.
const MAX_DEPTH: usize = 10_000;

/// The customers above `id`, nearest first (empty for the tenant's own).
pub fn ancestors(r: &dyn KvRead, tenant: TenantId, id: CustomerId) -> StoreResult<Vec<CustomerId>> {
    let mut out = Vec::new();
    let mut at = id;
    while let Some(parent) = get(r, tenant, at)?.and_then(|c| c.parent_customer_id) {
        if out.len() == MAX_DEPTH {
            return Err(StoreError::corrupt(
                Table::Customers,
                format!("customer {} is its own ancestor", id.0),
            ));
        }
        out.push(parent);
        at = parent;
    }
    Ok(out)
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
    if let Some(old) = old
        && old.parent_customer_id != new.parent_customer_id
    {
        changes.delete(Table::CustomersByOwner, owner_key(old));
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
