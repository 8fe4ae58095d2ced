//! `logic_bindings`: tenant ‖ customer ‖ extension -> LogicBinding.

use crate::domain::ids::{CustomerId, ExtensionId, TenantId};
use crate::domain::logic_binding::LogicBinding;

use super::codec::{Key, decode, encode, rows_with_prefix};
use super::{Changes, KvRead, StoreResult, Table};

fn key(tenant: TenantId, customer: CustomerId, extension: ExtensionId) -> Vec<u8> {
    Key::new()
        .id(tenant.0)
        .id(customer.0)
        .id(extension.0)
        .build()
}

pub fn get(
    r: &dyn KvRead,
    tenant: TenantId,
    customer: CustomerId,
    extension: ExtensionId,
) -> StoreResult<Option<LogicBinding>> {
    r.get(Table::LogicBindings, &key(tenant, customer, extension))?
        .map(|b| decode(Table::LogicBindings, &b))
        .transpose()
}

/// Decodes a committed row (for commit listeners).
pub fn decode_row(bytes: &[u8]) -> StoreResult<LogicBinding> {
    decode(Table::LogicBindings, bytes)
}

/// (tenant, customer, extension) from a committed row's key.
pub fn split_key(k: &[u8]) -> Option<(TenantId, CustomerId, ExtensionId)> {
    use super::codec::uuid_at;
    Some((
        TenantId(uuid_at(k, 0)?),
        CustomerId(uuid_at(k, 16)?),
        ExtensionId(uuid_at(k, 32)?),
    ))
}

pub fn put(changes: &mut Changes, b: &LogicBinding) {
    changes.put(
        Table::LogicBindings,
        key(b.tenant_id, b.customer_id, b.extension_id),
        encode(b),
    );
}

pub fn delete(changes: &mut Changes, b: &LogicBinding) {
    changes.delete(
        Table::LogicBindings,
        key(b.tenant_id, b.customer_id, b.extension_id),
    );
}

pub fn of_customer(
    r: &dyn KvRead,
    tenant: TenantId,
    customer: CustomerId,
) -> StoreResult<Vec<LogicBinding>> {
    let prefix = Key::new().id(tenant.0).id(customer.0).build();
    rows_with_prefix(r, Table::LogicBindings, &prefix)
}

/// Every binding of the installation (to build the dispatch index at start).
pub fn all(r: &dyn KvRead) -> StoreResult<Vec<LogicBinding>> {
    rows_with_prefix(r, Table::LogicBindings, &[])
}
