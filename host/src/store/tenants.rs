//! `tenants`: tenant id -> Tenant.

use crate::domain::ids::TenantId;
use crate::domain::tenant::Tenant;

use super::codec::{Key, decode, encode, keys_under};
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

/// Tables whose every key starts with the id of the tenant owning the row,
/// so a tenant's rows there are one key range each. Rows that also sit in
/// indexes keyed otherwise (names, tokens, e-mails) are not here: deleting
/// them means reading them first.
const KEYED_BY_TENANT: [Table; 15] = [
    Table::Telemetry,
    Table::Latest,
    Table::Attributes,
    Table::Extensions,
    Table::ExtensionContent,
    Table::ExtensionNames,
    Table::ExtensionUses,
    Table::Events,
    Table::Alarms,
    Table::ActiveAlarms,
    Table::AlarmsByOriginator,
    Table::AlarmsByAssignee,
    Table::CalculatedFields,
    Table::CalculatedFieldsByEntity,
    Table::LogicBindings,
];

/// The keys of every row of `tenant` in the tables keyed by tenant, and of
/// its ingest-log entries: what deleting the tenant removes by key.
pub fn keyed_rows(r: &dyn KvRead, tenant: TenantId) -> StoreResult<Vec<(Table, Vec<u8>)>> {
    let mut out = keys_under(r, &KEYED_BY_TENANT, tenant.0.as_bytes())?;
    for k in super::telemetry_log::keys_of_tenant(r, tenant)? {
        out.push((Table::TelemetryLog, k));
    }
    Ok(out)
}
