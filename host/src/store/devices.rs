//! `devices` (tenant ‖ id -> Device) with `device_names` (unique per
//! tenant), `devices_by_customer`, `device_credentials` (id -> credentials)
//! and `device_tokens` (access token -> tenant ‖ id, unique installation-wide).

use crate::domain::device::{Device, DeviceCredentials};
use crate::domain::ids::{CustomerId, DeviceId, TenantId};

use super::codec::{Key, decode, encode, uuid_at};
use super::{Changes, KvRead, StoreResult, Table};

fn key(tenant: TenantId, id: DeviceId) -> Vec<u8> {
    Key::new().id(tenant.0).id(id.0).build()
}

fn name_key(tenant: TenantId, name: &str) -> Vec<u8> {
    Key::new().id(tenant.0).text(name).build()
}

fn by_customer_key(d: &Device) -> Vec<u8> {
    Key::new()
        .id(d.tenant_id.0)
        .id(d.customer_id.0)
        .id(d.id.0)
        .build()
}

fn credentials_key(id: DeviceId) -> Vec<u8> {
    Key::new().id(id.0).build()
}

pub fn get(r: &dyn KvRead, tenant: TenantId, id: DeviceId) -> StoreResult<Option<Device>> {
    r.get(Table::Devices, &key(tenant, id))?
        .map(|b| decode(Table::Devices, &b))
        .transpose()
}

pub fn id_by_name(r: &dyn KvRead, tenant: TenantId, name: &str) -> StoreResult<Option<DeviceId>> {
    Ok(r.get(Table::DeviceNames, &name_key(tenant, name))?
        .and_then(|v| uuid_at(&v, 0))
        .map(DeviceId))
}

pub fn put(changes: &mut Changes, old: Option<&Device>, new: &Device) {
    if let Some(old) = old {
        if old.name != new.name {
            changes.delete(Table::DeviceNames, name_key(old.tenant_id, &old.name));
        }
        if old.customer_id != new.customer_id {
            changes.delete(Table::DevicesByCustomer, by_customer_key(old));
        }
    }
    changes.put(Table::Devices, key(new.tenant_id, new.id), encode(new));
    changes.put(
        Table::DeviceNames,
        name_key(new.tenant_id, &new.name),
        new.id.0.as_bytes().to_vec(),
    );
    changes.put(Table::DevicesByCustomer, by_customer_key(new), Vec::new());
}

pub fn delete(changes: &mut Changes, d: &Device, creds: Option<&DeviceCredentials>) {
    changes.delete(Table::Devices, key(d.tenant_id, d.id));
    changes.delete(Table::DeviceNames, name_key(d.tenant_id, &d.name));
    changes.delete(Table::DevicesByCustomer, by_customer_key(d));
    changes.delete(Table::DeviceCredentials, credentials_key(d.id));
    if let Some(c) = creds {
        changes.delete(Table::DeviceTokens, c.credentials_id.as_bytes().to_vec());
    }
}

/// Devices assigned to one customer (the null customer: unassigned ones).
pub fn of_customer(
    r: &dyn KvRead,
    tenant: TenantId,
    customer: CustomerId,
) -> StoreResult<Vec<Device>> {
    let prefix = Key::new().id(tenant.0).id(customer.0).build();
    let mut ids = Vec::new();
    r.scan(
        Table::DevicesByCustomer,
        &prefix,
        None,
        false,
        &mut |k, _| {
            ids.extend(uuid_at(k, 32).map(DeviceId));
            Ok(true)
        },
    )?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.extend(get(r, tenant, id)?);
    }
    Ok(out)
}

/// Every device of a tenant.
pub fn of_tenant(r: &dyn KvRead, tenant: TenantId) -> StoreResult<Vec<Device>> {
    let mut out = Vec::new();
    r.scan(
        Table::Devices,
        tenant.0.as_bytes(),
        None,
        false,
        &mut |_, v| {
            out.push(decode(Table::Devices, v)?);
            Ok(true)
        },
    )?;
    Ok(out)
}

pub fn credentials(r: &dyn KvRead, id: DeviceId) -> StoreResult<Option<DeviceCredentials>> {
    r.get(Table::DeviceCredentials, &credentials_key(id))?
        .map(|b| decode(Table::DeviceCredentials, &b))
        .transpose()
}

pub fn token_taken(r: &dyn KvRead, token: &str) -> StoreResult<bool> {
    Ok(r.get(Table::DeviceTokens, token.as_bytes())?.is_some())
}

pub fn put_credentials(
    changes: &mut Changes,
    tenant: TenantId,
    old: Option<&DeviceCredentials>,
    new: &DeviceCredentials,
) {
    if let Some(old) = old
        && old.credentials_id != new.credentials_id
    {
        changes.delete(Table::DeviceTokens, old.credentials_id.as_bytes().to_vec());
    }
    changes.put(
        Table::DeviceCredentials,
        credentials_key(new.device_id),
        encode(new),
    );
    changes.put(
        Table::DeviceTokens,
        new.credentials_id.as_bytes().to_vec(),
        key(tenant, new.device_id),
    );
}

/// The device an access token belongs to.
pub fn by_token(r: &dyn KvRead, token: &str) -> StoreResult<Option<Device>> {
    match r.get(Table::DeviceTokens, token.as_bytes())? {
        Some(v) => match (uuid_at(&v, 0), uuid_at(&v, 16)) {
            (Some(t), Some(d)) => get(r, TenantId(t), DeviceId(d)),
            _ => Ok(None),
        },
        None => Ok(None),
    }
}
