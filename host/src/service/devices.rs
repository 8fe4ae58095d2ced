//! Devices: create, update, credentials, delete; reading, listing and
//! assignment are shared with assets (`assignable.rs`).

use rand::RngExt;
use serde_json::json;

use crate::auth::Caller;
use crate::auth::permissions::Operation;
use crate::domain::assignable::Assignable;
use crate::domain::audit::ActionType;
use crate::domain::device::{
    ACCESS_TOKEN, CredentialsId, Device, DeviceCredentials, DeviceInput, check_access_token,
};
use crate::domain::ids::{CustomerId, DeviceId, TenantId, new_time_uuid, now_ms};
use crate::store::{self, Changes, KvRead, assignable as rows, devices};

use super::assignable::{
    audit, check_name_free, find, new_owner, stage_delete_data, stage_join_groups, stage_update,
};
use super::audit::{Actor, stage_record};
use super::customer_logic::lifecycle_of;
use super::{App, DeviceEvent, ServiceError, ServiceResult};
use crate::wasm::LifecycleEvent;

/// A fresh access token: 20 random alphanumerics, as ThingsBoard makes them.
fn generate_token() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..20)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// A token not used by any device: the one asked for, or a generated one.
fn free_token(view: &dyn KvRead, wanted: Option<String>) -> ServiceResult<String> {
    match wanted {
        Some(t) => {
            check_access_token(&t)?;
            if devices::token_taken(view, &t)? {
                return Err(ServiceError::invalid(
                    "Device credentials are already assigned to another device!",
                ));
            }
            Ok(t)
        }
        None => loop {
            let t = generate_token();
            if !devices::token_taken(view, &t)? {
                return Ok(t);
            }
        },
    }
}

/// Stages a new device with fresh credentials (also used by gateways).
pub(super) fn stage_create(
    view: &dyn KvRead,
    changes: &mut Changes,
    tenant: TenantId,
    customer: CustomerId,
    input: DeviceInput,
    token: Option<String>,
) -> ServiceResult<Device> {
    check_name_free::<Device>(view, tenant, input.name.as_deref().unwrap_or(""))?;
    let device = Device::create(tenant, customer, input, now_ms());
    let creds = DeviceCredentials {
        id: CredentialsId {
            id: new_time_uuid(),
        },
        created_time: device.created_time,
        device_id: device.id,
        credentials_type: ACCESS_TOKEN.into(),
        credentials_id: free_token(view, token)?,
        credentials_value: None,
        version: 1,
    };
    rows::put(changes, None, &device);
    devices::put_credentials(changes, tenant, None, &creds);
    Ok(device)
}

impl App {
    /// Creates (no `id`) or updates a device; a new one gets an access token
    /// (`access_token`, or a generated one).
    pub async fn save_device(
        &self,
        caller: &Caller,
        mut input: DeviceInput,
        access_token: Option<String>,
    ) -> ServiceResult<Device> {
        input.validate(Device::LABEL)?;
        let caller = caller.clone();
        let saved = self
            .write(move |view| {
                let mut changes = Changes::new();
                let (device, action) = match input.id {
                    None => {
                        let groups = std::mem::take(&mut input.entity_groups);
                        let customer = new_owner::<Device>(view, &caller, &groups)?;
                        let d = stage_create(
                            view,
                            &mut changes,
                            caller.tenant_id,
                            customer,
                            input,
                            access_token,
                        )?;
                        stage_join_groups(view, &mut changes, &caller, &groups, &d)?;
                        (d, ActionType::Added)
                    }
                    Some(id) => (
                        stage_update(view, &mut changes, &caller, id, input)?,
                        ActionType::Updated,
                    ),
                };
                let log = audit(&caller, &device, action, json!({ "entity": device }));
                store::audit_log::append(&mut changes, &log);
                Ok(((device, action), changes))
            })
            .await
            .map(|(device, action)| (device, lifecycle_of(action)));
        let (device, event) = saved?;
        self.logic_lifecycle(
            device.tenant_id,
            device.customer_id,
            device.id.entity_id(),
            event,
        )
        .await;
        Ok(device)
    }

    /// Deletes a device with its credentials, attributes and telemetry.
    pub async fn delete_device(&self, caller: &Caller, id: DeviceId) -> ServiceResult<()> {
        let caller = caller.clone();
        let gone = self
            .write(move |view| {
                let d: Device = find(view, &caller, id.0, Operation::Delete)?;
                let mut changes = Changes::new();
                let creds = devices::credentials(view, id)?;
                devices::delete(&mut changes, &d, creds.as_ref());
                stage_delete_data(view, &mut changes, d.tenant_id, d.id.0)?;
                let log = audit(
                    &caller,
                    &d,
                    ActionType::Deleted,
                    json!({ "entityId": id.entity_id() }),
                );
                store::audit_log::append(&mut changes, &log);
                Ok((d, changes))
            })
            .await?;
        let _ = self.device_events.send(DeviceEvent::Revoked { device: id });
        self.logic_lifecycle(
            gone.tenant_id,
            gone.customer_id,
            id.entity_id(),
            LifecycleEvent::Deleted,
        )
        .await;
        Ok(())
    }

    pub async fn device_credentials(
        &self,
        caller: &Caller,
        id: DeviceId,
    ) -> ServiceResult<DeviceCredentials> {
        let snapshot = self.store.snapshot()?;
        // Reading the secret takes the right to change the device.
        let _: Device = find(&*snapshot, caller, id.0, Operation::Write)?;
        devices::credentials(&*snapshot, id)?.ok_or_else(ServiceError::not_found)
    }

    /// Replaces a device's access token.
    pub async fn update_device_credentials(
        &self,
        caller: &Caller,
        update: DeviceCredentials,
    ) -> ServiceResult<DeviceCredentials> {
        let caller = caller.clone();
        let saved = self
            .write(move |view| {
                let d: Device = find(view, &caller, update.device_id.0, Operation::Write)?;
                if update.credentials_type != ACCESS_TOKEN {
                    return Err(ServiceError::invalid(
                        "Only ACCESS_TOKEN credentials are supported",
                    ));
                }
                let old = devices::credentials(view, d.id)?.ok_or_else(ServiceError::not_found)?;
                let token = if update.credentials_id == old.credentials_id {
                    old.credentials_id.clone()
                } else {
                    free_token(view, Some(update.credentials_id.clone()))?
                };
                let new = DeviceCredentials {
                    credentials_id: token,
                    version: old.version + 1,
                    ..old.clone()
                };
                let mut changes = Changes::new();
                devices::put_credentials(&mut changes, d.tenant_id, Some(&old), &new);
                let log = audit(&caller, &d, ActionType::CredentialsUpdated, json!({}));
                store::audit_log::append(&mut changes, &log);
                let replaced = new.credentials_id != old.credentials_id;
                Ok(((new, replaced), changes))
            })
            .await?;
        let (new, replaced) = saved;
        if replaced {
            let _ = self.device_events.send(DeviceEvent::Revoked {
                device: new.device_id,
            });
        }
        Ok(new)
    }

    /// The device an access token belongs to (device transports).
    pub fn device_by_token(&self, token: &str) -> ServiceResult<Option<Device>> {
        if token.is_empty() || token.len() > 256 {
            return Ok(None);
        }
        let snapshot = self.store.snapshot()?;
        Ok(devices::by_token(&*snapshot, token)?)
    }
}

impl App {
    /// The device a gateway publishes for, by name: found in the gateway's
    /// tenant, or created under the gateway's customer (ThingsBoard's
    /// gateway API creates unknown devices on first sight).
    pub async fn gateway_device(
        &self,
        gateway: &Device,
        name: &str,
        device_type: Option<&str>,
    ) -> ServiceResult<Device> {
        let name = name.trim();
        crate::domain::validate::check_required(
            "device",
            name,
            "Device name should be specified!",
        )?;
        let snapshot = self.store.snapshot()?;
        if let Some(id) = devices::id_by_name(&*snapshot, gateway.tenant_id, name)?
            && let Some(d) = devices::get(&*snapshot, gateway.tenant_id, id)?
        {
            return Ok(d);
        }
        drop(snapshot);
        let gateway = gateway.clone();
        let input = DeviceInput {
            name: Some(name.to_owned()),
            kind: device_type.map(str::to_owned),
            additional_info: Some(json!({ "lastConnectedGateway": gateway.id.0 })),
            ..Default::default()
        };
        // Two sessions may race to create the same name: the second finds
        // the first's, and only the first is a creation.
        let (device, created) = self
            .write(move |view| {
                let mut changes = Changes::new();
                if let Some(id) = devices::id_by_name(
                    view,
                    gateway.tenant_id,
                    input.name.as_deref().unwrap_or(""),
                )? && let Some(d) = devices::get(view, gateway.tenant_id, id)?
                {
                    return Ok(((d, false), changes));
                }
                input.validate(Device::LABEL)?;
                let d = stage_create(
                    view,
                    &mut changes,
                    gateway.tenant_id,
                    gateway.customer_id,
                    input,
                    None,
                )?;
                let actor = Actor {
                    tenant: gateway.tenant_id,
                    customer: gateway.customer_id,
                    user: crate::domain::ids::UserId(gateway.id.0),
                    name: gateway.name.clone(),
                };
                stage_record(
                    &mut changes,
                    &actor,
                    d.customer_id,
                    Some((d.id.entity_id(), &d.name)),
                    ActionType::Added,
                    json!({ "entity": d, "gateway": gateway.id.entity_id() }),
                );
                Ok(((d, true), changes))
            })
            .await?;
        if created {
            let (tenant, customer) = (device.tenant_id, device.customer_id);
            self.logic_lifecycle(
                tenant,
                customer,
                device.id.entity_id(),
                LifecycleEvent::Created,
            )
            .await;
        }
        Ok(device)
    }
}
