//! `tenants`: tenant id -> Tenant.

use crate::domain::ids::TenantId;
use crate::domain::tenant::Tenant;

use super::codec::{Key, decode, encode};
use super::{Changes, KvRead, StoreResult, Table};

fn key(id: TenantId) -> Vec<u8> {
    Key::new().id(id.0).build()
}

pub fn get(r: &dyn KvRead, id: TenantId) -> StoreResult<Option<Tenant>> {
    r.get(Table::Tenants, &key(id))?
        .map(|b| decode(Table::Tenants, &b))
        .transpose()
}

pub fn put(changes: &mut Changes, tenant: &Tenant) {
    changes.put(Table::Tenants, key(tenant.id), encode(tenant));
}

pub fn delete(changes: &mut Changes, id: TenantId) {
    changes.delete(Table::Tenants, key(id));
}

pub fn all(r: &dyn KvRead) -> StoreResult<Vec<Tenant>> {
    let mut out = Vec::new();
    r.scan(Table::Tenants, &[], None, false, &mut |_, v| {
        out.push(decode(Table::Tenants, v)?);
        Ok(true)
    })?;
    Ok(out)
}
