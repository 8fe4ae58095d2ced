//! `dashboards` (tenant ‖ id -> Dashboard), `dashboards_by_customer`
//! (tenant ‖ customer ‖ dashboard -> ()), kept in step with each
//! dashboard's `assignedCustomers`, and `dashboards_by_owner` (the same
//! key, for the customer owning it; tenant-owned ones are not filed, so
//! rows from before dashboards had owners need no index).

use crate::domain::dashboard::Dashboard;
use crate::domain::ids::{CustomerId, DashboardId, TenantId};

use super::codec::{Key, decode, encode, ids_in_index, rows_with_prefix};
use super::{Changes, KvRead, StoreResult, Table};

fn key(tenant: TenantId, id: DashboardId) -> Vec<u8> {
    Key::new().id(tenant.0).id(id.0).build()
}

fn by_customer_key(tenant: TenantId, customer: CustomerId, id: DashboardId) -> Vec<u8> {
    Key::new().id(tenant.0).id(customer.0).id(id.0).build()
}

pub fn get(r: &dyn KvRead, tenant: TenantId, id: DashboardId) -> StoreResult<Option<Dashboard>> {
    r.get(Table::Dashboards, &key(tenant, id))?
        .map(|b| decode(Table::Dashboards, &b))
        .transpose()
}

pub fn put(changes: &mut Changes, old: Option<&Dashboard>, new: &Dashboard) {
    let old_owner = old.map(|o| o.customer_id);
    if let Some(old) = old
        && old.customer_id != new.customer_id
        && !old.customer_id.is_null()
    {
        changes.delete(
            Table::DashboardsByOwner,
            by_customer_key(old.tenant_id, old.customer_id, old.id),
        );
    }
    // Filed once, when it gets its owner: an update that keeps the owner
    // leaves the index alone.
    if !new.customer_id.is_null() && old_owner != Some(new.customer_id) {
        changes.put(
            Table::DashboardsByOwner,
            by_customer_key(new.tenant_id, new.customer_id, new.id),
            Vec::new(),
        );
    }
    if let Some(old) = old {
        for a in &old.assigned_customers {
            if !new.is_assigned_to(a.customer_id) {
                changes.delete(
                    Table::DashboardsByCustomer,
                    by_customer_key(old.tenant_id, a.customer_id, old.id),
                );
            }
        }
    }
    changes.put(Table::Dashboards, key(new.tenant_id, new.id), encode(new));
    for a in &new.assigned_customers {
        changes.put(
            Table::DashboardsByCustomer,
            by_customer_key(new.tenant_id, a.customer_id, new.id),
            Vec::new(),
        );
    }
}

pub fn delete(changes: &mut Changes, d: &Dashboard) {
    changes.delete(Table::Dashboards, key(d.tenant_id, d.id));
    if !d.customer_id.is_null() {
        changes.delete(
            Table::DashboardsByOwner,
            by_customer_key(d.tenant_id, d.customer_id, d.id),
        );
    }
    for a in &d.assigned_customers {
        changes.delete(
            Table::DashboardsByCustomer,
            by_customer_key(d.tenant_id, a.customer_id, d.id),
        );
    }
}

pub fn of_tenant(r: &dyn KvRead, tenant: TenantId) -> StoreResult<Vec<Dashboard>> {
    rows_with_prefix(r, Table::Dashboards, tenant.0.as_bytes())
}

/// The dashboards `customer` owns (the null customer: the tenant's own,
/// which are the tenant's dashboards less those of its customers).
pub fn of_owner(
    r: &dyn KvRead,
    tenant: TenantId,
    customer: CustomerId,
) -> StoreResult<Vec<Dashboard>> {
    if customer.is_null() {
        let mut all = of_tenant(r, tenant)?;
        all.retain(|d| d.customer_id.is_null());
        return Ok(all);
    }
    filed_under(r, Table::DashboardsByOwner, tenant, customer)
}

/// The dashboards assigned to `customer`.
pub fn of_customer(
    r: &dyn KvRead,
    tenant: TenantId,
    customer: CustomerId,
) -> StoreResult<Vec<Dashboard>> {
    filed_under(r, Table::DashboardsByCustomer, tenant, customer)
}

/// The dashboards an index files under `customer`.
fn filed_under(
    r: &dyn KvRead,
    index: Table,
    tenant: TenantId,
    customer: CustomerId,
) -> StoreResult<Vec<Dashboard>> {
    let prefix = Key::new().id(tenant.0).id(customer.0).build();
    let mut out = Vec::new();
    for id in ids_in_index(r, index, &prefix, 32)? {
        out.extend(get(r, tenant, DashboardId(id))?);
    }
    Ok(out)
}
