//! Customer logic: `customer-logic` extensions bound to customers. A
//! binding makes its guest hear of the customer's events (new telemetry,
//! attribute changes, the lifecycle of its devices and assets) and lets it
//! read and change that customer's entities only (`wasm::AccessScope`).
//!
//! Bindings are the tenant administrator's, like extensions. What guests
//! write goes through the same writer as everything else; it reaches live
//! subscribers and calculated fields, but not customer logic again, so
//! logic cannot feed itself in a loop.

mod dispatch;
mod registry;

use serde_json::{Value, json};

use crate::auth::Caller;
use crate::auth::permissions::{Operation, Resource, Target, require};
use crate::domain::audit::ActionType;
use crate::domain::extension::check_settings;
use crate::domain::ids::{CustomerId, EntityId, ExtensionId, TenantId, now_ms};
use crate::domain::logic_binding::LogicBinding;
use crate::store::{Changes, KvRead, customers, extensions, logic_bindings};
use crate::wasm::{LifecycleEvent, World};

use super::audit::{Actor, stage_record};
use super::extensions::{stage_unuse, stage_use};
use super::telemetry::DataChange;
use super::{App, ServiceError, ServiceResult};

pub(crate) use dispatch::{Dispatcher, DispatcherParts, LogicEvent};
pub(crate) use registry::Bindings;

fn manage(caller: &Caller, op: Operation) -> ServiceResult<()> {
    Ok(require(
        caller,
        Resource::Extension,
        op,
        &Target::tenant(caller.tenant_id),
    )?)
}

/// The customer, in the caller's tenant, or 404.
fn customer_of(view: &dyn KvRead, caller: &Caller, id: CustomerId) -> ServiceResult<()> {
    customers::get(view, caller.tenant_id, id)?
        .map(drop)
        .ok_or_else(ServiceError::not_found)
}

/// Stages the removal of every binding of `customer` (deleted with it).
pub(super) fn stage_delete_of(
    view: &dyn KvRead,
    changes: &mut Changes,
    tenant: TenantId,
    customer: CustomerId,
) -> ServiceResult<()> {
    for b in logic_bindings::of_customer(view, tenant, customer)? {
        logic_bindings::delete(changes, &b);
        stage_unuse(changes, tenant, b.extension_id, customer.entity_id());
    }
    Ok(())
}

/// The lifecycle event a create or update is.
pub(super) fn lifecycle_of(action: ActionType) -> LifecycleEvent {
    if action == ActionType::Added {
        LifecycleEvent::Created
    } else {
        LifecycleEvent::Updated
    }
}

impl App {
    /// Binds `extension` to `customer` with `settings` (a JSON object), or
    /// changes the settings of that binding.
    pub async fn bind_logic(
        &self,
        caller: &Caller,
        customer: CustomerId,
        extension: ExtensionId,
        settings: Value,
    ) -> ServiceResult<LogicBinding> {
        manage(caller, Operation::Write)?;
        check_settings(&settings)?;
        self.extension_of_world(caller.tenant_id, extension, World::CustomerLogic)?;
        let caller = caller.clone();
        self.write(move |view| {
            customer_of(view, &caller, customer)?;
            if !extensions::exists(view, caller.tenant_id, extension)? {
                return Err(ServiceError::invalid("The extension does not exist"));
            }
            let old = logic_bindings::get(view, caller.tenant_id, customer, extension)?;
            let binding = LogicBinding {
                tenant_id: caller.tenant_id,
                customer_id: customer,
                extension_id: extension,
                settings,
                created_time: old.as_ref().map_or_else(now_ms, |o| o.created_time),
                version: old.as_ref().map_or(1, |o| o.version + 1),
            };
            let mut changes = Changes::new();
            logic_bindings::put(&mut changes, &binding);
            stage_use(
                &mut changes,
                caller.tenant_id,
                extension,
                customer.entity_id(),
            );
            let action = if old.is_some() {
                ActionType::Updated
            } else {
                ActionType::Added
            };
            stage_record(
                &mut changes,
                &Actor::from(&caller),
                customer,
                Some((extension.entity_id(), "customer logic")),
                action,
                json!({ "entity": binding }),
            );
            Ok((binding, changes))
        })
        .await
    }

    pub async fn unbind_logic(
        &self,
        caller: &Caller,
        customer: CustomerId,
        extension: ExtensionId,
    ) -> ServiceResult<()> {
        manage(caller, Operation::Write)?;
        let caller = caller.clone();
        self.write(move |view| {
            customer_of(view, &caller, customer)?;
            let binding = logic_bindings::get(view, caller.tenant_id, customer, extension)?
                .ok_or_else(ServiceError::not_found)?;
            let mut changes = Changes::new();
            logic_bindings::delete(&mut changes, &binding);
            stage_unuse(
                &mut changes,
                caller.tenant_id,
                extension,
                customer.entity_id(),
            );
            stage_record(
                &mut changes,
                &Actor::from(&caller),
                customer,
                Some((extension.entity_id(), "customer logic")),
                ActionType::Deleted,
                json!({ "entityId": extension.entity_id(), "customerId": customer.entity_id() }),
            );
            Ok(((), changes))
        })
        .await
    }

    /// The logic bound to `customer`.
    pub async fn customer_logic(
        &self,
        caller: &Caller,
        customer: CustomerId,
    ) -> ServiceResult<Vec<LogicBinding>> {
        manage(caller, Operation::Read)?;
        let snapshot = self.store.snapshot()?;
        customer_of(&*snapshot, caller, customer)?;
        Ok(logic_bindings::of_customer(
            &*snapshot,
            caller.tenant_id,
            customer,
        )?)
    }

    /// Hands a committed data change to the customer logic of the entity's
    /// customer (free when the tenant binds none).
    pub(super) fn offer_to_logic(&self, tenant: TenantId, entity: EntityId, change: &DataChange) {
        if self.logic_bindings.tenant_has_any(tenant) {
            self.logic.offer(LogicEvent::Data {
                tenant,
                entity,
                change: change.clone(),
            });
        }
    }

    /// Tells `customer`'s logic that `entity` was created, changed,
    /// deleted, assigned to it or unassigned from it (after the commit).
    pub(super) async fn logic_lifecycle(
        &self,
        tenant: TenantId,
        customer: CustomerId,
        entity: EntityId,
        event: LifecycleEvent,
    ) {
        if customer.is_null() || !self.logic_bindings.tenant_has_any(tenant) {
            return;
        }
        self.logic
            .send(LogicEvent::Lifecycle {
                tenant,
                customer,
                entity,
                event,
            })
            .await;
    }
}
