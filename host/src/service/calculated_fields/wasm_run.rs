//! A WASM field's run: arguments as the `calculated-field` world takes
//! them, the guest called under its limits with read access to the field's
//! entity and customer only, outputs mapped back.

use std::sync::Arc;

use crate::domain::calculated_field::CalculatedField;
use crate::domain::ids::EntityType;
use crate::store::telemetry::Series;
use crate::store::{KvRead, Store};
use crate::wasm::{
    self, AccessScope, Argument, ArgumentValue, EntityKind, EntityRef, GuestHost, TsKv, WasmError,
};

use super::super::guest_host::{ServiceHost, data_value, guest_value};
use super::super::telemetry::Scope;
use super::compute::{ArgValue, OutputTarget, OutputValue};

fn ts_kv(key: &str, (ts, v): &(i64, crate::domain::telemetry::DataValue)) -> TsKv {
    TsKv {
        ts: *ts,
        key: key.to_owned(),
        value: guest_value(v),
    }
}

/// The arguments in the guest's form; each point carries the argument's
/// key (the stored key name), the argument's name is the record's name.
pub fn guest_arguments(field: &CalculatedField, args: &[(String, ArgValue)]) -> Vec<Argument> {
    args.iter()
        .zip(&field.configuration.arguments)
        .map(|((name, value), (_, arg))| {
            let key = &arg.ref_entity_key.key;
            Argument {
                name: name.clone(),
                value: match value {
                    ArgValue::Single(p) => ArgumentValue::Single(p.as_ref().map(|p| ts_kv(key, p))),
                    ArgValue::Rolling(points) => {
                        ArgumentValue::Rolling(points.iter().map(|p| ts_kv(key, p)).collect())
                    }
                },
            }
        })
        .collect()
}

fn entity_ref(field: &CalculatedField) -> EntityRef {
    EntityRef {
        kind: match field.entity_id.entity_type {
            EntityType::Asset => EntityKind::Asset,
            _ => EntityKind::Device,
        },
        id: field.entity_id.id,
    }
}

/// Calls the guest; its outputs go to the field's own entity.
pub fn compute(
    store: &Arc<dyn Store>,
    r: &dyn KvRead,
    series: &Arc<Series>,
    extension: &wasm::Extension,
    field: &CalculatedField,
    args: &[(String, ArgValue)],
    now: i64,
) -> Result<Vec<OutputValue>, WasmError> {
    let tenant = field.tenant_id;
    let customer = super::super::access::data_owner(r, tenant, field.entity_id)
        .ok()
        .flatten();
    let entity = entity_ref(field);
    let scope = AccessScope::for_entity(tenant.0, customer.map(|c| c.0), entity);
    let host: Arc<dyn GuestHost> = ServiceHost::new(store, series, tenant);
    let settings = field
        .configuration
        .settings
        .as_ref()
        .filter(|s| !s.is_null())
        .map_or_else(|| "{}".to_owned(), |s| s.to_string());
    let outputs = extension.compute(
        &host,
        &scope,
        entity,
        &settings,
        &guest_arguments(field, args),
        now,
    )?;
    Ok(outputs
        .into_iter()
        .map(|o| OutputValue {
            target: match o.target {
                wasm::OutputTarget::Telemetry => OutputTarget::Telemetry,
                wasm::OutputTarget::ServerAttribute => OutputTarget::Attribute(Scope::Server),
            },
            ts: o.ts.unwrap_or(now),
            key: o.key,
            value: data_value(&o.value),
        })
        .collect())
}
