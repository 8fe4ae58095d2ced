//! Delivers a customer's events to the logic bound to it, off the request
//! and ingest paths.
//!
//! Data changes are offered without waiting: when the queue is full the
//! change is not delivered (and counted in the log), because a device must
//! never wait for a guest. Lifecycle events come from REST calls and wait
//! for room instead. One worker takes events in batches, in order, calls
//! each bound guest on a blocking thread, and commits what the successful
//! calls asked for (data, attributes, alarms) in one write. A failed call
//! leaves nothing but its ERROR event; the registry suspends an extension
//! that keeps failing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use foldhash::{HashMap, HashMapExt};
use tokio::sync::{broadcast, mpsc};

use crate::domain::event::NewEvent;
use crate::domain::ids::{CustomerId, EntityId, ExtensionId, TenantId, now_ms};
use crate::store::telemetry::Series;
use crate::store::{self, Changes, Store, StoreError};
use crate::wasm::{AccessScope, GuestHost, KeyValue, LifecycleEvent, TsKv};

use super::super::access::{Alive, OwnerCache, OwnerChanged};
use super::super::alarms::{stage_clear, stage_raise};
use super::super::calculated_fields::{
    self as fields, Engine as FieldEngine, Registry as FieldRegistry,
};
use super::super::events::stage_surviving_events;
use super::super::extension_registry::ExtensionRegistry;
use super::super::guest_failures::failure_events;
use super::super::guest_host::{
    AlarmOp, Pending, ServiceHost, alarm_severity, entity_ref, guest_point, guest_scope,
    guest_value,
};
use super::super::telemetry::{DataChange, DataEvent, stage_derived, tell_subscribers};
use super::super::{ServiceError, ServiceResult};
use super::registry::Bindings;

/// Events waiting for the worker.
const QUEUE: usize = 16_384;
/// Events taken per batch.
const BATCH: usize = 1_024;

/// Something that happened to one of a customer's entities.
#[derive(Debug, Clone)]
pub enum LogicEvent {
    /// New telemetry or attributes (the owner is looked up by the worker).
    Data {
        tenant: TenantId,
        entity: EntityId,
        change: DataChange,
    },
    /// Created, updated, deleted, assigned or unassigned; `customer` is
    /// given because a deleted entity has no owner left to look up.
    Lifecycle {
        tenant: TenantId,
        customer: CustomerId,
        entity: EntityId,
        event: LifecycleEvent,
    },
}

pub struct Dispatcher {
    queue: mpsc::Sender<LogicEvent>,
    dropped: AtomicU64,
}

/// What the dispatcher is built from.
pub struct DispatcherParts<'a> {
    pub store: &'a Arc<dyn Store>,
    pub series: &'a Arc<Series>,
    pub bindings: &'a Arc<Bindings>,
    pub extensions: &'a Arc<ExtensionRegistry>,
    pub fields: (&'a Arc<FieldRegistry>, &'a Arc<FieldEngine>),
    pub data_events: &'a broadcast::Sender<DataEvent>,
    pub owner_changes: broadcast::Receiver<OwnerChanged>,
    pub event_cap: usize,
}

struct Worker {
    store: Weak<dyn Store>,
    series: Arc<Series>,
    bindings: Arc<Bindings>,
    extensions: Arc<ExtensionRegistry>,
    field_registry: Arc<FieldRegistry>,
    field_engine: Arc<FieldEngine>,
    data_events: broadcast::Sender<DataEvent>,
    owners: Mutex<OwnerCache>,
    event_cap: usize,
}

/// What the calls of one batch leave: writes of the calls that succeeded
/// (with who asked), and events.
#[derive(Default)]
struct Outcome {
    writes: Vec<(TenantId, ExtensionId, Pending)>,
    events: Vec<NewEvent>,
}

impl Dispatcher {
    pub fn start(parts: DispatcherParts<'_>) -> Arc<Dispatcher> {
        let (queue, rx) = mpsc::channel(QUEUE);
        let worker = Worker {
            store: Arc::downgrade(parts.store),
            series: Arc::clone(parts.series),
            bindings: Arc::clone(parts.bindings),
            extensions: Arc::clone(parts.extensions),
            field_registry: Arc::clone(parts.fields.0),
            field_engine: Arc::clone(parts.fields.1),
            data_events: parts.data_events.clone(),
            owners: Mutex::new(OwnerCache::new(parts.owner_changes)),
            event_cap: parts.event_cap,
        };
        tokio::spawn(Arc::new(worker).serve(rx));
        Arc::new(Dispatcher {
            queue,
            dropped: AtomicU64::new(0),
        })
    }

    /// A data change, never waiting (see the module docs).
    pub fn offer(&self, event: LogicEvent) {
        if self.queue.try_send(event).is_err() {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(
                    dropped = n,
                    "customer logic is behind; data changes not delivered"
                );
            }
        }
    }

    /// A lifecycle event, waiting for room.
    pub async fn send(&self, event: LogicEvent) {
        let _ = self.queue.send(event).await;
    }
}

impl Worker {
    async fn serve(self: Arc<Self>, mut rx: mpsc::Receiver<LogicEvent>) {
        let mut batch = Vec::with_capacity(BATCH);
        while rx.recv_many(&mut batch, BATCH).await > 0 {
            let events = std::mem::take(&mut batch);
            match self.process(events).await {
                Ok(()) => {}
                Err(ServiceError::Store(StoreError::Closed)) => return,
                Err(e) => tracing::warn!(error = %e, "customer logic: a batch failed"),
            }
        }
    }

    async fn process(self: &Arc<Self>, events: Vec<LogicEvent>) -> ServiceResult<()> {
        let worker = Arc::clone(self);
        let outcome = tokio::task::spawn_blocking(move || worker.deliver(&events))
            .await
            .map_err(|e| ServiceError::Internal(format!("customer logic panicked: {e}")))??;
        if outcome.writes.is_empty() && outcome.events.is_empty() {
            return Ok(());
        }
        let store = self.store.upgrade().ok_or(StoreError::Closed)?;
        let made = apply(&*store, &self.series, outcome, self.event_cap).await?;
        for (tenant, entity, change) in made {
            fields::offer(
                &self.field_registry,
                &self.field_engine,
                tenant,
                entity,
                &change,
            );
            tell_subscribers(&self.data_events, tenant, entity, change);
        }
        Ok(())
    }

    /// Calls every bound guest for each event (blocking).
    fn deliver(&self, events: &[LogicEvent]) -> ServiceResult<Outcome> {
        let store = self.store.upgrade().ok_or(StoreError::Closed)?;
        let snapshot = store.snapshot()?;
        let mut owners = self.owners.lock().unwrap_or_else(PoisonError::into_inner);
        owners.refresh();
        let mut out = Outcome::default();
        for event in events {
            let (tenant, customer, entity) = match event {
                LogicEvent::Data { tenant, entity, .. } => {
                    match owners.owner_of(&*snapshot, *tenant, *entity)? {
                        Some(c) => (*tenant, c, *entity),
                        // The tenant's own entity, or gone meanwhile.
                        None => continue,
                    }
                }
                LogicEvent::Lifecycle {
                    tenant,
                    customer,
                    entity,
                    ..
                } => (*tenant, *customer, *entity),
            };
            let Some(target) = entity_ref(entity) else {
                continue;
            };
            let mut scope = AccessScope::for_customer(tenant.0, customer.0);
            if matches!(event, LogicEvent::Data { .. }) {
                // Its owner was just read: the guest's calls on it need not
                // read it again each (a lifecycle event's entity may have
                // left the customer, so its calls still ask).
                scope.entities.push(target);
            }
            for binding in self.bindings.of_customer(tenant, customer) {
                let ext_id = binding.extension_id;
                let Some(ext) = self.extensions.get(tenant, ext_id) else {
                    continue; // suspended or deleted
                };
                let host = ServiceHost::new(&store, &self.series, tenant);
                let guest_host: Arc<dyn GuestHost> = host.clone();
                let settings = &binding.settings;
                let (method, result) = match event {
                    LogicEvent::Data {
                        change: DataChange::Telemetry(points),
                        ..
                    } => {
                        let values: Vec<TsKv> = points
                            .iter()
                            .map(|p| guest_point(p.ts, &p.key, &p.value))
                            .collect();
                        (
                            "on-telemetry",
                            ext.on_telemetry(&guest_host, &scope, settings, target, &values),
                        )
                    }
                    LogicEvent::Data {
                        change:
                            DataChange::Attributes {
                                scope: s, values, ..
                            },
                        ..
                    } => {
                        let values: Vec<KeyValue> = values
                            .iter()
                            .map(|v| KeyValue {
                                key: v.key.clone(),
                                value: guest_value(&v.value),
                            })
                            .collect();
                        (
                            "on-attributes-changed",
                            ext.on_attributes_changed(
                                &guest_host,
                                &scope,
                                settings,
                                target,
                                guest_scope(*s),
                                &values,
                            ),
                        )
                    }
                    LogicEvent::Lifecycle { event, .. } => (
                        "on-lifecycle",
                        ext.on_lifecycle(&guest_host, &scope, settings, target, *event),
                    ),
                };
                match result {
                    Ok(()) => {
                        self.extensions.succeeded(tenant, ext_id);
                        let pending = host.take_pending();
                        if !pending.is_empty() {
                            out.writes.push((tenant, ext_id, pending));
                        }
                    }
                    Err(e) => out.events.extend(failure_events(
                        &self.extensions,
                        tenant,
                        ext_id,
                        method,
                        &e,
                        now_ms(),
                    )),
                }
            }
        }
        Ok(out)
    }
}

/// Commits what the successful calls asked for, with the batch's events,
/// in one write. An alarm a guest could not raise (its originator deleted
/// meanwhile, ...) is an ERROR event of the extension, not a failed batch.
async fn apply(
    store: &dyn Store,
    series: &Arc<Series>,
    outcome: Outcome,
    event_cap: usize,
) -> ServiceResult<Vec<(TenantId, EntityId, DataChange)>> {
    let series = Arc::clone(series);
    store::write(store, move |view| {
        let mut changes = Changes::new();
        let mut fresh = HashMap::new();
        let mut alive = Alive::default();
        let mut made = Vec::new();
        let mut events = outcome.events;
        let now = now_ms();
        for (tenant, ext_id, pending) in outcome.writes {
            for (entity, points) in pending.telemetry {
                let staged = stage_derived(
                    &series,
                    &mut fresh,
                    &mut alive,
                    view,
                    &mut changes,
                    tenant,
                    entity,
                    points,
                    Vec::new(),
                )?;
                made.extend(staged.into_iter().map(|c| (tenant, entity, c)));
            }
            for (entity, scope, values) in pending.attributes {
                let attributes = vec![(scope, values)];
                let staged = stage_derived(
                    &series,
                    &mut fresh,
                    &mut alive,
                    view,
                    &mut changes,
                    tenant,
                    entity,
                    Vec::new(),
                    attributes,
                )?;
                made.extend(staged.into_iter().map(|c| (tenant, entity, c)));
            }
            for op in pending.alarms {
                let done = match op {
                    AlarmOp::Raise {
                        originator,
                        alarm_type,
                        severity,
                        details,
                    } => stage_raise(
                        view,
                        &mut changes,
                        tenant,
                        originator,
                        &alarm_type,
                        alarm_severity(severity),
                        details,
                        now,
                    )
                    .map(drop),
                    AlarmOp::Clear {
                        originator,
                        alarm_type,
                    } => stage_clear(view, &mut changes, tenant, originator, &alarm_type, now)
                        .map(drop),
                };
                if let Err(e) = done {
                    events.push(NewEvent::error(
                        tenant,
                        ext_id.entity_id(),
                        "alarm",
                        &e.to_string(),
                        now,
                    ));
                }
            }
        }
        stage_surviving_events(view, &mut changes, &mut alive, event_cap, events)?;
        Ok((made, changes))
    })
    .await
}
