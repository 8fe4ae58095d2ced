//! Devices: create, update, read, list, assign to customers, credentials, delete.

use rand::RngExt;
use serde_json::json;

use crate::auth::Caller;
use crate::auth::permissions::{Operation, Resource, Target, allowed};
use crate::domain::audit::ActionType;
use crate::domain::device::{
    ACCESS_TOKEN, CredentialsId, Device, DeviceCredentials, DeviceInput, check_access_token,
};
use crate::domain::ids::{CustomerId, DeviceId, TenantId, new_time_uuid, now_ms};
use crate::domain::page::{PageData, PageLink, SortOrder};
use crate::store::{self, Changes, KvRead, customers, devices, telemetry};

use super::audit::{Actor, record};
use super::{App, ServiceError, ServiceResult};

pub const DEVICE_SORT_PROPERTIES: [&str; 5] =
    ["createdTime", "name", "type", "label", "customerTitle"];
const DUPLICATE_NAME: &str = "Device with such name already exists!";

fn check(caller: &Caller, op: Operation, d: &Device) -> ServiceResult<()> {
    let target = Target::customer(d.tenant_id, d.customer_id);
    if allowed(caller, Resource::Device, op, &target) {
        Ok(())
    } else {
        Err(ServiceError::Forbidden)
    }
}

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
    let name = input.name.clone().unwrap_or_default();
    if devices::id_by_name(view, tenant, &name)?.is_some() {
        return Err(ServiceError::invalid(DUPLICATE_NAME));
    }
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
    devices::put(changes, None, &device);
    devices::put_credentials(changes, tenant, None, &creds);
    Ok(device)
}

fn audit(
    caller: &Caller,
    d: &Device,
    action: ActionType,
    data: serde_json::Value,
) -> crate::domain::audit::AuditLog {
    record(
        &Actor::from(caller),
        d.customer_id,
        Some((d.id.entity_id(), &d.name)),
        action,
        data,
    )
}

/// A device the caller may act on, found in the caller's tenant.
fn find(view: &dyn KvRead, caller: &Caller, id: DeviceId, op: Operation) -> ServiceResult<Device> {
    let d = devices::get(view, caller.tenant_id, id)?.ok_or_else(ServiceError::not_found)?;
    check(caller, op, &d)?;
    Ok(d)
}

fn sort_devices(list: &mut [Device], link: &PageLink) {
    let key = link.sort_property.as_deref().unwrap_or("createdTime");
    list.sort_by(|a, b| {
        let ord = match key {
            "name" => a.name.to_lowercase().cmp(&b.name.to_lowercase()),
            "type" => a.device_type.cmp(&b.device_type),
            "label" => a.label.cmp(&b.label),
            _ => a.created_time.cmp(&b.created_time),
        }
        .then(a.id.cmp(&b.id));
        if link.sort_order == SortOrder::Desc {
            ord.reverse()
        } else {
            ord
        }
    });
}

fn page_devices(
    mut all: Vec<Device>,
    link: &PageLink,
    device_type: Option<&str>,
) -> PageData<Device> {
    all.retain(|d| {
        link.matches(&d.name.to_lowercase()) && device_type.is_none_or(|t| d.device_type == t)
    });
    sort_devices(&mut all, link);
    PageData::from_sorted(all, link)
}

impl App {
    /// Creates (no `id`) or updates a device; a new one gets an access token
    /// (`access_token`, or a generated one).
    pub async fn save_device(
        &self,
        caller: &Caller,
        input: DeviceInput,
        access_token: Option<String>,
    ) -> ServiceResult<Device> {
        input.validate()?;
        let caller = caller.clone();
        self.write(move |view| {
            let mut changes = Changes::new();
            let (device, action) = match input.id {
                None => {
                    let target = Target::tenant(caller.tenant_id);
                    if !allowed(&caller, Resource::Device, Operation::Create, &target) {
                        return Err(ServiceError::Forbidden);
                    }
                    let d = stage_create(
                        view,
                        &mut changes,
                        caller.tenant_id,
                        CustomerId::NULL,
                        input,
                        access_token,
                    )?;
                    (d, ActionType::Added)
                }
                Some(id) => {
                    let old = devices::get(view, caller.tenant_id, id)?.ok_or_else(|| {
                        ServiceError::invalid("Can't update non existing device!")
                    })?;
                    check(&caller, Operation::Write, &old)?;
                    if input.version.is_some_and(|v| v != old.version) {
                        return Err(ServiceError::VersionConflict(
                            "Device was already changed by someone else".into(),
                        ));
                    }
                    let new_name = input.name.as_deref().unwrap_or("");
                    if new_name != old.name
                        && devices::id_by_name(view, caller.tenant_id, new_name)?.is_some()
                    {
                        return Err(ServiceError::invalid(DUPLICATE_NAME));
                    }
                    let d = old.updated(input);
                    devices::put(&mut changes, Some(&old), &d);
                    (d, ActionType::Updated)
                }
            };
            store::audit_log::append(
                &mut changes,
                &audit(&caller, &device, action, json!({ "entity": device })),
            );
            Ok((device, changes))
        })
        .await
    }

    pub async fn device(&self, caller: &Caller, id: DeviceId) -> ServiceResult<Device> {
        let snapshot = self.store.snapshot()?;
        find(&*snapshot, caller, id, Operation::Read)
    }

    /// The caller's tenant's device with this name.
    pub async fn device_by_name(&self, caller: &Caller, name: &str) -> ServiceResult<Device> {
        let snapshot = self.store.snapshot()?;
        let id = devices::id_by_name(&*snapshot, caller.tenant_id, name)?.ok_or_else(|| {
            ServiceError::NotFound(format!("Device with name [{name}] is not found"))
        })?;
        find(&*snapshot, caller, id, Operation::Read)
    }

    /// A page of the tenant's devices (optionally of one type).
    pub async fn tenant_devices(
        &self,
        caller: &Caller,
        link: PageLink,
        device_type: Option<String>,
    ) -> ServiceResult<PageData<Device>> {
        if !allowed(
            caller,
            Resource::Device,
            Operation::Read,
            &Target::tenant(caller.tenant_id),
        ) {
            return Err(ServiceError::Forbidden);
        }
        link.check_sort(&DEVICE_SORT_PROPERTIES)?;
        let snapshot = self.store.snapshot()?;
        let tenant = caller.tenant_id;
        self.blocking(move || {
            Ok(page_devices(
                devices::of_tenant(&*snapshot, tenant)?,
                &link,
                device_type.as_deref(),
            ))
        })
        .await
    }

    /// A page of the devices assigned to one customer.
    pub async fn customer_devices(
        &self,
        caller: &Caller,
        customer: CustomerId,
        link: PageLink,
        device_type: Option<String>,
    ) -> ServiceResult<PageData<Device>> {
        link.check_sort(&DEVICE_SORT_PROPERTIES)?;
        let snapshot = self.store.snapshot()?;
        customers::get(&*snapshot, caller.tenant_id, customer)?
            .ok_or_else(ServiceError::not_found)?;
        if !allowed(
            caller,
            Resource::Device,
            Operation::Read,
            &Target::customer(caller.tenant_id, customer),
        ) {
            return Err(ServiceError::Forbidden);
        }
        let tenant = caller.tenant_id;
        self.blocking(move || {
            Ok(page_devices(
                devices::of_customer(&*snapshot, tenant, customer)?,
                &link,
                device_type.as_deref(),
            ))
        })
        .await
    }

    /// Assigns a device to a customer of the same tenant (`NULL` unassigns).
    pub async fn assign_device(
        &self,
        caller: &Caller,
        id: DeviceId,
        customer: CustomerId,
    ) -> ServiceResult<Device> {
        let caller = caller.clone();
        self.write(move |view| {
            let old = find(view, &caller, id, Operation::Write)?;
            let (action, data) = if customer.is_null() {
                (ActionType::UnassignedFromCustomer, json!({ "entityId": id.entity_id(), "unassignedCustomerId": old.customer_id.entity_id() }))
            } else {
                let c = customers::get(view, caller.tenant_id, customer)?.ok_or_else(ServiceError::not_found)?;
                (ActionType::AssignedToCustomer, json!({ "entityId": id.entity_id(), "assignedCustomerId": customer.entity_id(), "assignedCustomerName": c.title }))
            };
            let new = Device { customer_id: customer, version: old.version + 1, ..old.clone() };
            let mut changes = Changes::new();
            devices::put(&mut changes, Some(&old), &new);
            store::audit_log::append(&mut changes, &audit(&caller, &new, action, data));
            Ok((new, changes))
        })
        .await
    }

    /// Deletes a device with its credentials, attributes and telemetry.
    pub async fn delete_device(&self, caller: &Caller, id: DeviceId) -> ServiceResult<()> {
        let caller = caller.clone();
        self.write(move |view| {
            let d = find(view, &caller, id, Operation::Delete)?;
            let mut changes = Changes::new();
            let creds = devices::credentials(view, id)?;
            devices::delete(&mut changes, &d, creds.as_ref());
            for (table, key) in telemetry::all_keys_of(view, d.tenant_id, d.id.0)? {
                changes.delete(table, key);
            }
            store::audit_log::append(
                &mut changes,
                &audit(
                    &caller,
                    &d,
                    ActionType::Deleted,
                    json!({ "entityId": id.entity_id() }),
                ),
            );
            Ok(((), changes))
        })
        .await
    }

    pub async fn device_credentials(
        &self,
        caller: &Caller,
        id: DeviceId,
    ) -> ServiceResult<DeviceCredentials> {
        let snapshot = self.store.snapshot()?;
        let d = find(&*snapshot, caller, id, Operation::Read)?;
        if !allowed(
            caller,
            Resource::Device,
            Operation::Write,
            &Target::customer(d.tenant_id, d.customer_id),
        ) {
            // Reading a secret is a tenant administrator's right.
            return Err(ServiceError::Forbidden);
        }
        devices::credentials(&*snapshot, id)?.ok_or_else(ServiceError::not_found)
    }

    /// Replaces a device's access token.
    pub async fn update_device_credentials(
        &self,
        caller: &Caller,
        update: DeviceCredentials,
    ) -> ServiceResult<DeviceCredentials> {
        let caller = caller.clone();
        self.write(move |view| {
            let d = find(view, &caller, update.device_id, Operation::Write)?;
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
            store::audit_log::append(
                &mut changes,
                &audit(&caller, &d, ActionType::CredentialsUpdated, json!({})),
            );
            Ok((new, changes))
        })
        .await
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

/// Unassigns every device of a customer that is being deleted (kept, not lost).
pub(super) fn stage_unassign_all(
    view: &dyn KvRead,
    changes: &mut Changes,
    actor: &Actor,
    tenant: TenantId,
    customer: CustomerId,
) -> ServiceResult<()> {
    for d in devices::of_customer(view, tenant, customer)? {
        let new = Device {
            customer_id: CustomerId::NULL,
            version: d.version + 1,
            ..d.clone()
        };
        devices::put(changes, Some(&d), &new);
        let log = record(
            actor,
            customer,
            Some((d.id.entity_id(), &d.name)),
            ActionType::UnassignedFromCustomer,
            json!({ "entityId": d.id.entity_id(), "unassignedCustomerId": customer.entity_id(), "reason": "customer deleted" }),
        );
        store::audit_log::append(changes, &log);
    }
    Ok(())
}

impl App {
    /// The device a gateway publishes for, by name: found in the gateway's
    /// tenant, or created under the gateway's customer (ThingsBoard's
    /// gateway API creates unknown devices on first sight).
    pub async fn gateway_device(&self, gateway: &Device, name: &str, device_type: Option<&str>) -> ServiceResult<Device> {
        let name = name.trim();
        crate::domain::validate::check_required("device", name, "Device name should be specified!")?;
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
            device_type: device_type.map(str::to_owned),
            additional_info: Some(json!({ "lastConnectedGateway": gateway.id.0 })),
            ..Default::default()
        };
        self.write(move |view| {
            let mut changes = Changes::new();
            // Two sessions may race to create the same name: the second finds the first's.
            if let Some(id) = devices::id_by_name(view, gateway.tenant_id, input.name.as_deref().unwrap_or(""))?
                && let Some(d) = devices::get(view, gateway.tenant_id, id)?
            {
                return Ok((d, changes));
            }
            input.validate()?;
            let d = stage_create(view, &mut changes, gateway.tenant_id, gateway.customer_id, input, None)?;
            let actor = Actor {
                tenant: gateway.tenant_id,
                customer: gateway.customer_id,
                user: crate::domain::ids::UserId(gateway.id.0),
                name: gateway.name.clone(),
            };
            let log = record(&actor, d.customer_id, Some((d.id.entity_id(), &d.name)), ActionType::Added, json!({ "entity": d, "gateway": gateway.id.entity_id() }));
            store::audit_log::append(&mut changes, &log);
            Ok((d, changes))
        })
        .await
    }
}
