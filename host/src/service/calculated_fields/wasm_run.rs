//! A WASM field's run: arguments as the `calculated-field` world takes
//! them, the guest called under its limits with read access to the field's
//! entity and customer only, outputs mapped back.

use std::sync::Arc;

use foldhash::{HashMap, HashMapExt};

use crate::domain::calculated_field::CalculatedField;
use crate::domain::ids::TenantId;
use crate::store::telemetry::Series;
use crate::store::{KvRead, Store};
use crate::wasm::{self, AccessScope, ArgumentValue, FieldSetup, GuestHost, WasmError};

use super::super::access::OwnerCache;
use super::super::guest_host::{ServiceHost, data_value, entity_ref, guest_ts_value};
use super::super::telemetry::Scope;
use super::compute::{ArgValue, OutputTarget, OutputValue};

/// The arguments' values in the guest's form, in their order (the names
/// went to the guest's `init`).
pub fn guest_arguments(args: &[(String, ArgValue)]) -> Vec<ArgumentValue> {
    args.iter()
        .map(|(_, value)| match value {
            ArgValue::Single(p) => {
                ArgumentValue::Single(p.as_ref().map(|(ts, v)| guest_ts_value(*ts, v)))
            }
            ArgValue::Rolling(points) => ArgumentValue::Rolling(
                points
                    .iter()
                    .map(|(ts, v)| guest_ts_value(*ts, v))
                    .collect(),
            ),
        })
        .collect()
}

/// What the WASM runs of one batch share: the snapshot, the owners, and
/// each tenant's host (fields only read, so one host serves every run of
/// a tenant).
pub struct Batch<'a> {
    store: &'a Arc<dyn Store>,
    series: &'a Arc<Series>,
    pub snapshot: &'a dyn KvRead,
    owners: &'a mut OwnerCache,
    hosts: HashMap<TenantId, Arc<dyn GuestHost>>,
}

impl<'a> Batch<'a> {
    pub fn new(
        store: &'a Arc<dyn Store>,
        series: &'a Arc<Series>,
        snapshot: &'a dyn KvRead,
        owners: &'a mut OwnerCache,
    ) -> Self {
        owners.refresh();
        Batch {
            store,
            series,
            snapshot,
            owners,
            hosts: HashMap::new(),
        }
    }

    /// Calls the guest with the field's `setup` (its settings and argument
    /// names) and the values of `args`, which are in the same order; its
    /// outputs go to the field's own entity.
    pub fn compute(
        &mut self,
        extension: &wasm::Extension,
        field: &CalculatedField,
        setup: &FieldSetup,
        args: &[(String, ArgValue)],
        now: i64,
    ) -> Result<Vec<OutputValue>, WasmError> {
        let tenant = field.tenant_id;
        let snapshot = self.snapshot;
        // An owner that cannot be read leaves the guest its entity alone.
        let customer = self
            .owners
            .owner_of(snapshot, tenant, field.entity_id)
            .ok()
            .flatten();
        let (store, series) = (self.store, self.series);
        let host = self
            .hosts
            .entry(tenant)
            .or_insert_with(|| ServiceHost::new(store, series, tenant));
        // Fields belong to devices and assets only (checked when saved).
        let entity = entity_ref(field.entity_id).expect("a device or asset");
        let scope = AccessScope::for_entity(tenant.0, customer.map(|c| c.0), entity);
        let outputs =
            extension.compute(host, &scope, entity, setup, &guest_arguments(args), now)?;
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
}
