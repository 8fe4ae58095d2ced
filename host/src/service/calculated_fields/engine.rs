//! Runs calculated fields after the data they read is durable.
//!
//! The ingest path hands each change that some field reads to a bounded
//! queue without waiting ([`Engine::offer`]); one worker drains it in
//! batches, computes every triggered field against one snapshot, and saves
//! all outputs in one write. Ingest never waits for a field: when the queue
//! is full, the newest change per entity is kept aside and run next, so a
//! slow or failing field costs its own intermediate results, never another
//! device's throughput, and memory stays bounded by the number of entities.
//!
//! A field that fails many times in a row is suspended until it is saved
//! again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use tokio::sync::{Notify, broadcast, mpsc};
use uuid::Uuid;

use crate::domain::ids::{CalculatedFieldId, TenantId};
use crate::domain::telemetry::{KvEntry, TsKvEntry};
use crate::store::telemetry::Series;
use crate::store::{self, Changes, KvRead, Store, StoreError};

use super::super::telemetry::{DataChange, DataEvent, Scope, stage_attributes, stage_points};
use super::super::{ServiceError, ServiceResult};
use super::compute::{self, ArgValue, OutputTarget, OutputValue, Trigger};
use super::registry::{Compiled, Program, Registry};
use crate::domain::ids::now_ms;

/// Changes waiting for the worker; past this, the newest per entity is kept.
const QUEUE: usize = 16_384;
/// Changes taken per batch (one snapshot, one write).
const BATCH: usize = 2_048;
/// Failures in a row that suspend a field.
pub const SUSPEND_AFTER: u32 = 100;

/// What one run of one field gave.
pub struct Run {
    pub field: Arc<Compiled>,
    pub args: Vec<(String, ArgValue)>,
    /// `Ok(None)`: an argument has no value yet; nothing to save.
    pub result: Result<Option<Vec<OutputValue>>, String>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Health {
    version: i64,
    failures_in_a_row: u32,
    suspended: bool,
}

pub struct Engine {
    queue: mpsc::Sender<Trigger>,
    /// (tenant, entity, telemetry?) -> the newest change that missed the queue.
    overflow: Mutex<HashMap<(TenantId, Uuid, bool), Trigger>>,
    wake: Notify,
    health: Mutex<HashMap<CalculatedFieldId, Health>>,
}

/// What the worker needs; it holds the store weakly so that it never keeps
/// a closed service's database open.
struct Worker {
    engine: Arc<Engine>,
    store: Weak<dyn Store>,
    series: Arc<Series>,
    registry: Arc<Registry>,
    data_events: broadcast::Sender<DataEvent>,
}

impl Engine {
    /// Starts the worker; it stops once every [`Engine`] handle is dropped
    /// or the store closes.
    pub fn start(
        store: &Arc<dyn Store>,
        series: &Arc<Series>,
        registry: &Arc<Registry>,
        data_events: &broadcast::Sender<DataEvent>,
    ) -> Arc<Engine> {
        let (queue, rx) = mpsc::channel(QUEUE);
        let engine = Arc::new(Engine {
            queue,
            overflow: Mutex::default(),
            wake: Notify::new(),
            health: Mutex::default(),
        });
        let worker = Worker {
            engine: Arc::clone(&engine),
            store: Arc::downgrade(store),
            series: Arc::clone(series),
            registry: Arc::clone(registry),
            data_events: data_events.clone(),
        };
        tokio::spawn(worker.run(rx));
        engine
    }

    /// Hands a committed change to the worker, never waiting.
    pub fn offer(&self, trigger: Trigger) {
        if let Err(mpsc::error::TrySendError::Full(trigger)) = self.queue.try_send(trigger) {
            let telemetry = matches!(trigger.change, DataChange::Telemetry(_));
            let k = (trigger.tenant, trigger.entity, telemetry);
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

    /// Whether `field` is suspended (at its current version).
    pub fn is_suspended(&self, field: &Compiled) -> bool {
        let health = self.health.lock().unwrap_or_else(PoisonError::into_inner);
        health
            .get(&field.field.id)
            .is_some_and(|h| h.suspended && h.version == field.field.version)
    }

    /// Counts a run's outcome; true when this failure suspended the field.
    fn record(&self, field: &Compiled, failed: bool) -> bool {
        let mut health = self.health.lock().unwrap_or_else(PoisonError::into_inner);
        let h = health.entry(field.field.id).or_default();
        if h.version != field.field.version {
            // Saved again since: a fresh start.
            *h = Health {
                version: field.field.version,
                ..Health::default()
            };
        }
        if !failed {
            h.failures_in_a_row = 0;
            return false;
        }
        h.failures_in_a_row += 1;
        if !h.suspended && h.failures_in_a_row >= SUSPEND_AFTER {
            h.suspended = true;
            return true;
        }
        false
    }
}

impl Worker {
    async fn run(self, mut rx: mpsc::Receiver<Trigger>) {
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            tokio::select! {
                n = rx.recv_many(&mut batch, BATCH) => if n == 0 { return },
                () = self.engine.wake.notified() => {}
            }
            batch.extend(self.engine.take_overflow());
            let triggers = std::mem::take(&mut batch);
            match self.process(triggers).await {
                Ok(()) => {}
                Err(ServiceError::Store(StoreError::Closed)) => return,
                Err(e) => tracing::warn!(error = %e, "calculated fields: a batch failed"),
            }
        }
    }

    async fn process(&self, triggers: Vec<Trigger>) -> ServiceResult<()> {
        let store = self.store.upgrade().ok_or(StoreError::Closed)?;
        let (engine, series, registry) = (
            Arc::clone(&self.engine),
            Arc::clone(&self.series),
            Arc::clone(&self.registry),
        );
        let runs = tokio::task::spawn_blocking(move || {
            let snapshot = store.snapshot()?;
            let now = now_ms();
            let mut runs = Vec::new();
            for trigger in &triggers {
                let change = &trigger.change;
                for field in registry.triggered(trigger.tenant, trigger.entity, change) {
                    if engine.is_suspended(&field) {
                        continue;
                    }
                    runs.push(run(&*snapshot, &series, field, Some(trigger), now));
                }
            }
            Ok::<_, ServiceError>(runs)
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("calculated fields panicked: {e}")))??;
        for r in &runs {
            let failed = r.result.is_err();
            if self.engine.record(&r.field, failed) {
                tracing::warn!(field = %r.field.field.id, "calculated field suspended after {SUSPEND_AFTER} failures in a row");
            }
            if let Err(e) = &r.result {
                tracing::debug!(field = %r.field.field.id, error = %e, args = ?r.args, "calculated field failed");
            }
        }
        let outputs = collect_outputs(&runs);
        if outputs.is_empty() {
            return Ok(());
        }
        let store = self.store.upgrade().ok_or(StoreError::Closed)?;
        let saved = save(&*store, &self.series, outputs).await?;
        for (tenant, entity, change) in saved {
            if self.data_events.receiver_count() > 0 {
                let _ = self.data_events.send(DataEvent {
                    tenant,
                    entity,
                    change,
                });
            }
        }
        Ok(())
    }
}

/// One run of `field`, at `now`.
pub fn run(
    r: &dyn KvRead,
    series: &Series,
    field: Arc<Compiled>,
    trigger: Option<&Trigger>,
    now: i64,
) -> Run {
    let args = match compute::arguments(r, series, &field.field, trigger, now) {
        Ok(args) => args,
        Err(e) => {
            return Run {
                field,
                args: Vec::new(),
                result: Err(compute::read_failure(e)),
            };
        }
    };
    let result = match &field.program {
        Program::Simple(expression) => compute::simple(&field.field, expression, &args, now),
        Program::Wasm(extension) => Err(format!(
            "extension {extension}: WASM calculated fields are not available"
        )),
    };
    Run {
        field,
        args,
        result,
    }
}

/// Outputs per (tenant, entity id with its type): telemetry and attributes by scope.
type Outputs = HashMap<(TenantId, crate::domain::ids::EntityId), Vec<OutputValue>>;

fn collect_outputs(runs: &[Run]) -> Outputs {
    let mut out: Outputs = HashMap::new();
    for r in runs {
        if let Ok(Some(values)) = &r.result {
            out.entry((r.field.field.tenant_id, r.field.field.entity_id))
                .or_default()
                .extend(values.iter().cloned());
        }
    }
    out
}

/// Saves every output in one write (skipping entities deleted meanwhile);
/// returns the changes made, for live subscribers.
async fn save(
    store: &dyn Store,
    series: &Arc<Series>,
    outputs: Outputs,
) -> ServiceResult<Vec<(TenantId, crate::domain::ids::EntityId, DataChange)>> {
    let series = Arc::clone(series);
    store::write(store, move |view| {
        let mut changes = Changes::new();
        let mut fresh = HashMap::new();
        let mut made = Vec::new();
        for ((tenant, entity), values) in outputs {
            if !super::super::access::entity_exists(view, tenant, entity)? {
                continue;
            }
            let mut points = Vec::new();
            let mut attributes: HashMap<Scope, Vec<KvEntry>> = HashMap::new();
            let now = now_ms();
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
            if !points.is_empty() {
                stage_points(
                    &series,
                    &mut fresh,
                    view,
                    &mut changes,
                    tenant,
                    entity.id,
                    &points,
                )?;
                made.push((tenant, entity, DataChange::Telemetry(Arc::new(points))));
            }
            for (scope, values) in attributes {
                stage_attributes(&mut changes, tenant, entity.id, scope, &values, now);
                made.push((
                    tenant,
                    entity,
                    DataChange::Attributes {
                        scope,
                        ts: now,
                        values: Arc::new(values),
                    },
                ));
            }
        }
        Ok((made, changes))
    })
    .await
}
