//! Tenants, managed by the system administrator.

use serde_json::json;

use crate::auth::Caller;
use crate::auth::permissions::{Operation, Resource, Target, require};
use crate::domain::asset::Asset;
use crate::domain::audit::ActionType;
use crate::domain::device::Device;
use crate::domain::ids::{CustomerId, TenantId, now_ms};
use crate::domain::page::{PageData, PageLink};
use crate::domain::tenant::{Tenant, TenantInput};
use crate::store::{self, Changes, assignable, customers, dashboards, tenants, users};

use super::audit::{Actor, stage_record};
use super::{App, ServiceError, ServiceResult};

pub(super) fn check(caller: &Caller, op: Operation, tenant: TenantId) -> ServiceResult<()> {
    Ok(require(
        caller,
        Resource::Tenant,
        op,
        &Target::tenant(tenant),
    )?)
}

impl App {
    pub async fn save_tenant(&self, caller: &Caller, input: TenantInput) -> ServiceResult<Tenant> {
        input.validate()?;
        let caller = caller.clone();
        self.write(move |view| {
            let (tenant, action) = match input.id {
                None => {
                    let t = Tenant::create(input, now_ms());
                    check(&caller, Operation::Create, t.id)?;
                    (t, ActionType::Added)
                }
                Some(id) => {
                    check(&caller, Operation::Write, id)?;
                    let old = tenants::get(view, id)?.ok_or_else(|| {
                        ServiceError::invalid("Can't update non existing tenant!")
                    })?;
                    if input.version.is_some_and(|v| v != old.version) {
                        return Err(ServiceError::VersionConflict(
                            "Tenant was already changed by someone else".into(),
                        ));
                    }
                    (old.updated(input), ActionType::Updated)
                }
            };
            let mut changes = Changes::new();
            tenants::put(&mut changes, &tenant);
            if action == ActionType::Added {
                let owner = tenant.id.entity_id();
                super::group_permissions::stage_owner_defaults(
                    view,
                    &mut changes,
                    tenant.id,
                    owner,
                    tenant.created_time,
                )?;
            }
            stage_record(
                &mut changes,
                &Actor::from(&caller),
                CustomerId::NULL,
                Some((tenant.id.entity_id(), &tenant.title)),
                action,
                json!({ "entity": tenant }),
            );
            Ok((tenant, changes))
        })
        .await
    }

    pub async fn tenant(&self, caller: &Caller, id: TenantId) -> ServiceResult<Tenant> {
        check(caller, Operation::Read, id)?;
        let snapshot = self.store.snapshot()?;
        tenants::get(&*snapshot, id)?.ok_or_else(ServiceError::not_found)
    }

    pub async fn tenants(
        &self,
        caller: &Caller,
        link: PageLink,
    ) -> ServiceResult<PageData<Tenant>> {
        // Every tenant: only who may read any tenant, not just its own.
        check(caller, Operation::Read, TenantId::NULL)?;
        link.check_sort(&["createdTime", "title", "email", "country", "city"])?;
        let snapshot = self.store.snapshot()?;
        self.blocking(move || {
            let mut all = tenants::all(&*snapshot)?;
            all.retain(|t| link.matches(&t.title.to_lowercase()));
            let text = |s: &Option<String>| s.clone().unwrap_or_default();
            Ok(match link.sort_property.as_deref() {
                Some("title") => {
                    PageData::sorted_by_key(all, &link, |t| (t.title.to_lowercase(), t.id))
                }
                Some("email") => {
                    PageData::sorted_by_key(all, &link, |t| (text(&t.contact.email), t.id))
                }
                Some("country") => {
                    PageData::sorted_by_key(all, &link, |t| (text(&t.contact.country), t.id))
                }
                Some("city") => {
                    PageData::sorted_by_key(all, &link, |t| (text(&t.contact.city), t.id))
                }
                _ => PageData::sorted_by_key(all, &link, |t| (t.created_time, t.id)),
            })
        })
        .await
    }

    /// Deletes a tenant with everything it owns (customers, users, devices,
    /// assets, dashboards, extensions, calculated fields, customer logic
    /// bindings, attributes, telemetry, events and alarms), in one
    /// transaction;
    /// its devices' open sessions end. The tenant's audit log is kept: it
    /// is the record of what happened.
    pub async fn delete_tenant(&self, caller: &Caller, id: TenantId) -> ServiceResult<()> {
        check(caller, Operation::Delete, id)?;
        let caller = caller.clone();
        let gone = self
            .write(move |view| {
                let tenant = tenants::get(view, id)?.ok_or_else(ServiceError::not_found)?;
                let mut changes = Changes::new();
                for user in users::of_tenant(view, id)? {
                    let creds = users::credentials(view, user.id)?;
                    users::delete(&mut changes, &user, creds.as_ref());
                }
                let mut doomed = Vec::new();
                customers::for_each_of(view, id, |c| doomed.push(c))?;
                for c in &doomed {
                    customers::delete(&mut changes, c);
                }
                let devices: Vec<Device> = assignable::of_tenant(view, id)?;
                for d in &devices {
                    let creds = store::devices::credentials(view, d.id)?;
                    store::devices::delete(&mut changes, d, creds.as_ref());
                }
                for a in assignable::of_tenant::<Asset>(view, id)? {
                    assignable::delete(&mut changes, &a);
                }
                for d in dashboards::of_tenant(view, id)? {
                    dashboards::delete(&mut changes, &d);
                }
                for (table, key) in tenants::keyed_rows(view, id)? {
                    changes.delete(table, key);
                }
                tenants::delete(&mut changes, id);
                stage_record(
                    &mut changes,
                    &Actor::from(&caller),
                    CustomerId::NULL,
                    Some((id.entity_id(), &tenant.title)),
                    ActionType::Deleted,
                    json!({ "entityId": id.entity_id() }),
                );
                Ok((devices, changes))
            })
            .await?;
        self.tenant_extensions_deleted(id);
        for d in gone {
            let _ = self
                .device_events
                .send(super::DeviceEvent::Revoked { device: d.id });
        }
        Ok(())
    }
}
