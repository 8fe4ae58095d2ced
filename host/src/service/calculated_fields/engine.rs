//! Runs calculated fields after the data they read is durable.
//!
//! The ingest path hands each change that some field reads to a bounded
//! queue without waiting ([`Engine::offer`]); one worker drains it in
//! batches, computes every triggered field against one snapshot, and saves
//! all outputs, with the events the runs left, in one write. Ingest never
//! waits for a field: when the queue is full, the newest change per entity
//! is kept aside and run next, so a slow or failing field costs its own
//! intermediate results, never another device's throughput, and memory
//! stays bounded by the number of entities.
//!
//! A SIMPLE field failing [`SUSPEND_AFTER`] times in a row is suspended
//! until it is saved again; a WASM field's extension is suspended by the
//! extension registry's own count (`wasm.max_consecutive_failures`), with
//! an event on the extension.

use std::sync::{Arc, Mutex, PoisonError, Weak};

use foldhash::{HashMap, HashMapExt};
use serde_json::json;
use tokio::sync::{Notify, broadcast, mpsc};
use uuid::Uuid;

use crate::domain::event::{EventType, NewEvent};
use crate::domain::ids::{EntityId, TenantId, now_ms};
use crate::domain::telemetry::{KvEntry, TsKvEntry};
use crate::store::telemetry::Series;
use crate::store::{self, Changes, Store, StoreError};

use super::super::access::{Alive, OwnerCache};
use super::super::events::stage_surviving_events;
use super::super::extension_registry::ExtensionRegistry;
use super::super::guest_failures::failure_events;
use super::super::telemetry::{DataChange, DataEvent, Scope, stage_derived, tell_subscribers};
use super::super::{ServiceError, ServiceResult};
use super::compute::{self, ArgValue, OutputTarget, OutputValue, Trigger};
use super::compute_thread::ComputeThread;
use super::registry::{Compiled, Program, Registry};
use super::wasm_run;

/// Changes waiting for the worker; past this, the newest per entity is kept.
const QUEUE: usize = 16_384;
/// Changes taken per batch (one snapshot, one write).
const BATCH: usize = 16_384;
/// Failures in a row that suspend a SIMPLE field.
pub const SUSPEND_AFTER: u32 = 100;

/// What one run of one field gave.
pub struct Run {
    pub field: Arc<Compiled>,
    pub args: Vec<(String, ArgValue)>,
    /// `Ok(None)`: an argument has no value yet; nothing to save.
    pub result: Result<Option<Vec<OutputValue>>, String>,
    /// Events the run leaves (a guest's failure and suspension).
    pub events: Vec<NewEvent>,
}

/// One kind of change of one entity: its telemetry (`None`) or its
/// attributes of one scope.
type ChangeOf = (TenantId, Uuid, Option<Scope>);

pub struct Engine {
    queue: mpsc::Sender<Trigger>,
    /// (tenant, entity, kind of change) -> the newest change of that kind
    /// that missed the queue. Telemetry and each attribute scope are kept
    /// apart: a field reading one must not lose it to a change of another.
    overflow: Mutex<HashMap<ChangeOf, Trigger>>,
    wake: Notify,
}

/// What the engine is built from.
pub struct EngineParts<'a> {
    pub store: &'a Arc<dyn Store>,
    pub series: &'a Arc<Series>,
    pub registry: &'a Arc<Registry>,
    pub extensions: &'a Arc<ExtensionRegistry>,
    pub data_events: &'a broadcast::Sender<DataEvent>,
    pub owner_changes: broadcast::Receiver<super::super::access::OwnerChanged>,
    pub event_cap: usize,
}

/// What the worker needs; it holds the store weakly so that it never keeps
/// a closed service's database open.
struct Worker {
    engine: Arc<Engine>,
    /// Where fields are computed: off the runtime's workers, which serve
    /// the devices, and at a lower priority than they.
    thread: ComputeThread,
    store: Weak<dyn Store>,
    series: Arc<Series>,
    registry: Arc<Registry>,
    extensions: Arc<ExtensionRegistry>,
    data_events: broadcast::Sender<DataEvent>,
    owners: Mutex<OwnerCache>,
    event_cap: usize,
}

impl Engine {
    /// Starts the worker and its compute thread; they stop once every
    /// [`Engine`] handle is dropped or the store closes.
    pub fn start(parts: EngineParts<'_>) -> ServiceResult<Arc<Engine>> {
        let thread = ComputeThread::start("calculated-fields").map_err(|e| {
            ServiceError::Internal(format!("cannot start the calculated fields thread: {e}"))
        })?;
        let (queue, rx) = mpsc::channel(QUEUE);
        let engine = Arc::new(Engine {
            queue,
            overflow: Mutex::default(),
            wake: Notify::new(),
        });
        let worker = Worker {
            engine: Arc::clone(&engine),
            thread,
            store: Arc::downgrade(parts.store),
            series: Arc::clone(parts.series),
            registry: Arc::clone(parts.registry),
            extensions: Arc::clone(parts.extensions),
            data_events: parts.data_events.clone(),
            owners: Mutex::new(OwnerCache::new(parts.owner_changes)),
            event_cap: parts.event_cap,
        };
        tokio::spawn(Arc::new(worker).serve(rx));
        Ok(engine)
    }

    /// Hands a committed change to the worker, never waiting.
    pub fn offer(&self, trigger: Trigger) {
        if let Err(mpsc::error::TrySendError::Full(trigger)) = self.queue.try_send(trigger) {
            let kind = match &trigger.change {
                DataChange::Telemetry(_) => None,
                DataChange::Attributes { scope, .. } => Some(*scope),
            };
            let k = (trigger.tenant, trigger.entity, kind);
            self.overflow
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(k, trigger);
            self.wake.notify_one();
        }
    }

    fn take_overflow(&self) -> Vec<Trigger> {
        let mut overflow = self.overflow.lock().unwrap_or_else(PoisonError::into_inner);
        overflow.drain().map(|(_, t)| t).collect()
    }
}

impl Worker {
    async fn serve(self: Arc<Self>, mut rx: mpsc::Receiver<Trigger>) {
        let mut batch = Vec::with_capacity(BATCH);
        // The previous batch's save: its commit overlaps the computing of
        // the next batch, and saves stay in order (one at a time), so a
        // newer attribute value is never overwritten by an older one.
        let mut saving: Option<tokio::task::JoinHandle<ServiceResult<()>>> = None;
        loop {
            tokio::select! {
                n = rx.recv_many(&mut batch, BATCH) => if n == 0 { break },
                () = self.engine.wake.notified() => {}
            }
            batch.extend(self.engine.take_overflow());
            let triggers = std::mem::take(&mut batch);
            let computed = self.compute_batch(triggers).await;
            if let Some(previous) = saving.take()
                && !report(previous.await)
            {
                return;
            }
            match computed {
                Ok(None) => {}
                Ok(Some((outputs, events))) => {
                    let worker = Arc::clone(&self);
                    saving = Some(tokio::spawn(
                        async move { worker.save(outputs, events).await },
                    ));
                }
                Err(e) => {
                    if !report(Ok(Err(e))) {
                        return;
                    }
                }
            }
        }
        if let Some(previous) = saving {
            report(previous.await);
        }
    }

    /// Runs the fields `triggers` set off, with everything per run that
    /// follows (events, outputs, dropping the runs), on the compute thread;
    /// what to save, or `None` when there is nothing.
    async fn compute_batch(
        self: &Arc<Self>,
        triggers: Vec<Trigger>,
    ) -> ServiceResult<Option<(Outputs, Vec<NewEvent>)>> {
        let worker = Arc::clone(self);
        self.thread
            .run(move || {
                let mut runs = worker.compute(&triggers)?;
                let mut events = Vec::new();
                let now = now_ms();
                for r in &mut runs {
                    events.append(&mut r.events);
                    events.extend(worker.run_events(r, now));
                }
                let outputs = collect_outputs(&mut runs);
                Ok((!outputs.is_empty() || !events.is_empty()).then_some((outputs, events)))
            })
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))?
    }

    /// Saves a batch's outputs and events, then tells live subscribers.
    async fn save(&self, outputs: Outputs, events: Vec<NewEvent>) -> ServiceResult<()> {
        let store = self.store.upgrade().ok_or(StoreError::Closed)?;
        let saved = save(&*store, &self.series, outputs, events, self.event_cap).await?;
        for (tenant, entity, change) in saved {
            tell_subscribers(&self.data_events, tenant, entity, change);
        }
        Ok(())
    }

    /// Every field `triggers` set off, against one snapshot (blocking).
    fn compute(&self, triggers: &[Trigger]) -> ServiceResult<Vec<Run>> {
        let store = self.store.upgrade().ok_or(StoreError::Closed)?;
        let snapshot = store.snapshot()?;
        let mut owners = self.owners.lock().unwrap_or_else(PoisonError::into_inner);
        let mut batch = wasm_run::Batch::new(&store, &self.series, &*snapshot, &mut owners);
        let mut runs = Vec::new();
        for trigger in triggers {
            let change = &trigger.change;
            for field in self
                .registry
                .triggered(trigger.tenant, trigger.entity, change)
            {
                if field.is_suspended() {
                    continue;
                }
                if let Some(run) = self.run_one(&mut batch, field, trigger) {
                    runs.push(run);
                }
            }
        }
        Ok(runs)
    }

    /// One run of `field` for `trigger`, at its time; `None` when the
    /// field's extension is suspended.
    fn run_one(
        &self,
        batch: &mut wasm_run::Batch<'_>,
        field: Arc<Compiled>,
        trigger: &Trigger,
    ) -> Option<Run> {
        let (r, now) = (batch.snapshot, trigger.at);
        let args = match compute::arguments(r, &self.series, &field.field, trigger) {
            Ok(args) => args,
            Err(e) => {
                return Some(Run {
                    field,
                    args: Vec::new(),
                    result: Err(compute::read_failure(e)),
                    events: Vec::new(),
                });
            }
        };
        let (result, events) = match &field.program {
            Program::Simple(expression) => (
                compute::simple(&field.field, expression, &args, now),
                Vec::new(),
            ),
            Program::Wasm {
                extension: ext,
                setup,
            } => {
                let tenant = field.field.tenant_id;
                let loaded = self.extensions.get(tenant, *ext)?;
                match batch.compute(&loaded, &field.field, setup, &args, now) {
                    Ok(outputs) => {
                        self.extensions.succeeded(tenant, *ext);
                        (Ok(Some(outputs)), Vec::new())
                    }
                    Err(e) => {
                        let events =
                            failure_events(&self.extensions, tenant, *ext, "compute", &e, now);
                        (Err(e.to_string()), events)
                    }
                }
            }
        };
        Some(Run {
            field,
            args,
            result,
            events,
        })
    }

    /// The events a run leaves on its field: ERROR when it failed (if the
    /// field's debug settings want failures), DEBUG_CALCULATED_FIELD for
    /// every run while debugging is on. A SIMPLE field's suspension is an
    /// LC_EVENT.
    fn run_events(&self, r: &Run, now: i64) -> Vec<NewEvent> {
        let field = &r.field.field;
        let entity = field.id.entity_id();
        let mut out = Vec::new();
        let failed = r.result.is_err();
        if matches!(r.field.program, Program::Simple(_)) && r.field.record(failed, SUSPEND_AFTER) {
            let why = format!("suspended after {SUSPEND_AFTER} failed runs in a row");
            tracing::warn!(field = %field.id, "calculated field {why}");
            out.push(NewEvent::lifecycle(
                field.tenant_id,
                entity,
                "SUSPENDED",
                Some(&why),
                now,
            ));
        }
        if let Err(e) = &r.result
            && field.debug_settings.failures_enabled
        {
            out.push(NewEvent::error(field.tenant_id, entity, "compute", e, now));
        }
        if field.debug_settings.debug_all(now) {
            let arguments: serde_json::Map<String, serde_json::Value> = r
                .args
                .iter()
                .map(|(name, v)| (name.clone(), compute::arg_json(v)))
                .collect();
            let (result, error) = match &r.result {
                Ok(Some(values)) => (compute::outputs_json(values), None),
                Ok(None) => (serde_json::Value::Null, None),
                Err(e) => (serde_json::Value::Null, Some(e.clone())),
            };
            out.push(NewEvent {
                tenant: field.tenant_id,
                entity,
                event_type: EventType::DebugCalculatedField,
                body: json!({
                    "entityId": field.entity_id.id,
                    "entityType": field.entity_id.entity_type,
                    "arguments": arguments,
                    "result": result,
                    "error": error,
                }),
                ts: now,
            });
        }
        out
    }
}

/// Logs a failed batch; false when the store is closed (the worker stops).
fn report(outcome: Result<ServiceResult<()>, tokio::task::JoinError>) -> bool {
    match outcome {
        Ok(Ok(())) => true,
        Ok(Err(ServiceError::Store(StoreError::Closed))) => false,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "calculated fields: a batch failed");
            true
        }
        Err(e) => {
            tracing::warn!(error = %e, "calculated fields: saving a batch panicked");
            true
        }
    }
}

/// Outputs per (tenant, entity): what to save on each.
type Outputs = HashMap<(TenantId, EntityId), Vec<OutputValue>>;

/// Takes the outputs out of `runs` (their events are written by then).
fn collect_outputs(runs: &mut [Run]) -> Outputs {
    let mut out: Outputs = HashMap::new();
    for r in runs {
        if let Ok(Some(values)) = &mut r.result {
            out.entry((r.field.field.tenant_id, r.field.field.entity_id))
                .or_default()
                .append(values);
        }
    }
    out
}

/// Saves every output and event in one write (skipping entities deleted
/// meanwhile); returns the data changes made, for live subscribers.
async fn save(
    store: &dyn Store,
    series: &Arc<Series>,
    outputs: Outputs,
    events: Vec<NewEvent>,
    event_cap: usize,
) -> ServiceResult<Vec<(TenantId, EntityId, DataChange)>> {
    let series = Arc::clone(series);
    store::write(store, move |view| {
        let mut changes = Changes::new();
        let mut fresh = HashMap::new();
        let mut alive = Alive::default();
        let mut made = Vec::new();
        for ((tenant, entity), values) in outputs {
            let mut points = Vec::new();
            let mut attributes: HashMap<Scope, Vec<KvEntry>> = HashMap::new();
            for v in values {
                match v.target {
                    OutputTarget::Telemetry => points.push(TsKvEntry {
                        ts: v.ts,
                        key: v.key,
                        value: v.value,
                    }),
                    OutputTarget::Attribute(scope) => {
                        attributes.entry(scope).or_default().push(KvEntry {
                            key: v.key,
                            value: v.value,
                        })
                    }
                }
            }
            let attributes = attributes.into_iter().collect();
            let staged = stage_derived(
                &series,
                &mut fresh,
                &mut alive,
                view,
                &mut changes,
                tenant,
                entity,
                points,
                attributes,
            )?;
            made.extend(staged.into_iter().map(|c| (tenant, entity, c)));
        }
        stage_surviving_events(view, &mut changes, &mut alive, event_cap, events)?;
        Ok((made, changes))
    })
    .await
}
