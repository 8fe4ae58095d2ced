//! Device credentials: `device_credentials` (device id -> credentials) and
//! `device_tokens` (access token -> tenant ‖ device id, unique in the
//! installation). Device rows themselves are in [`super::assignable`].

use crate::domain::device::{Device, DeviceCredentials};
use crate::domain::ids::{DeviceId, TenantId};

use super::assignable;
use super::codec::{Key, decode, encode, uuid_at};
use super::{Changes, KvRead, StoreResult, Table};

fn credentials_key(id: DeviceId) -> Vec<u8> {
    Key::new().id(id.0).build()
}

pub fn get(r: &dyn KvRead, tenant: TenantId, id: DeviceId) -> StoreResult<Option<Device>> {
    assignable::get(r, tenant, id.0)
}

pub fn id_by_name(r: &dyn KvRead, tenant: TenantId, name: &str) -> StoreResult<Option<DeviceId>> {
    Ok(assignable::id_by_name::<Device>(r, tenant, name)?.map(DeviceId))
}

/// Removes the device row, its indexes and its credentials.
pub fn delete(changes: &mut Changes, d: &Device, creds: Option<&DeviceCredentials>) {
    assignable::delete(changes, d);
    changes.delete(Table::DeviceCredentials, credentials_key(d.id));
    if let Some(c) = creds {
        changes.delete(Table::DeviceTokens, c.credentials_id.as_bytes().to_vec());
    }
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
        Key::new().id(tenant.0).id(new.device_id.0).build(),
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
