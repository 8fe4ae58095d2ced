//! Customer logic that records each lifecycle event it hears as the server
//! attribute `lifecycle` of the customer it is bound to (named in its
//! settings, `{"customer": "<uuid>"}`): `"<event> <entity type> <id>"`.
//! The customer is in scope of its own logic, and outlives the entities
//! whose deletion it records. Host setup: a customer scope.

use std::cell::RefCell;

use clientele_guest::customer_logic::{Guest, LifecycleEvent};
use clientele_guest::data_write;
use clientele_guest::types::{AttributeScope, EntityId, EntityType, Error, KeyValue, TsKv, Value};

thread_local! {
    static CUSTOMER: RefCell<String> = const { RefCell::new(String::new()) };
}

struct LifecycleLog;

impl Guest for LifecycleLog {
    fn init(settings_json: String) -> Result<(), Error> {
        let settings: serde_json::Value = clientele_guest::settings(&settings_json)?;
        let customer = settings["customer"]
            .as_str()
            .ok_or_else(|| Error::invalid("settings need \"customer\""))?;
        CUSTOMER.with(|c| *c.borrow_mut() = customer.to_owned());
        Ok(())
    }

    fn on_telemetry(_: EntityId, _: Vec<TsKv>) -> Result<(), Error> {
        Ok(())
    }

    fn on_attributes_changed(
        _: EntityId,
        _: AttributeScope,
        _: Vec<KeyValue>,
    ) -> Result<(), Error> {
        Ok(())
    }

    fn on_lifecycle(entity: EntityId, event: LifecycleEvent) -> Result<(), Error> {
        let kind = match entity.entity_type {
            EntityType::Device => "DEVICE",
            EntityType::Asset => "ASSET",
            EntityType::Customer => "CUSTOMER",
            EntityType::Tenant => "TENANT",
        };
        let event = match event {
            LifecycleEvent::Created => "created",
            LifecycleEvent::Updated => "updated",
            LifecycleEvent::Deleted => "deleted",
            LifecycleEvent::Assigned => "assigned",
            LifecycleEvent::Unassigned => "unassigned",
        };
        let record = format!("{event} {} {}", kind.to_lowercase(), entity.id);
        let customer = CUSTOMER.with(|c| c.borrow().clone());
        data_write::save_attributes(
            &EntityId {
                entity_type: EntityType::Customer,
                id: customer,
            },
            AttributeScope::Server,
            &[KeyValue {
                key: "lifecycle".into(),
                value: Value::String(record),
            }],
        )
    }
}

clientele_guest::export_customer_logic!(LifecycleLog);
