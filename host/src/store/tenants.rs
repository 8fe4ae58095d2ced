//! `tenants`: tenant id -> Tenant.

use crate::domain::ids::TenantId;
use crate::domain::tenant::Tenant;

use super::codec::{Key, decode, encode, keys_under};
use super::table::OnTenantDelete;
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

/// The keys of every row of `tenant` in the tables it is deleted from by
/// range ([`OnTenantDelete::ByRange`]), and of its ingest-log entries:
/// what deleting the tenant removes by key.
pub fn keyed_rows(r: &dyn KvRead, tenant: TenantId) -> StoreResult<Vec<(Table, Vec<u8>)>> {
    let by_range: Vec<Table> = Table::ALL
        .into_iter()
        .filter(|t| t.on_tenant_delete() == OnTenantDelete::ByRange)
        .collect();
    let mut out = keys_under(r, &by_range, tenant.0.as_bytes())?;
    for k in super::telemetry_log::keys_of_tenant(r, tenant)? {
        out.push((Table::TelemetryLog, k));
    }
    Ok(out)
}
