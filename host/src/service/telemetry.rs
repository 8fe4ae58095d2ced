//! Attributes and telemetry of devices, customers and tenants: saved by
//! devices (ingest) and over REST, read back latest or as history with
//! aggregation, and deleted in the UI's four modes.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::sync::Arc;

use foldhash::{HashMap, HashMapExt};
use serde_json::json;
use uuid::Uuid;

use crate::auth::Caller;
use crate::auth::permissions::{DataKind, Operation};
use crate::domain::audit::ActionType;
use crate::domain::device::Device;
use crate::domain::ids::{CustomerId, DeviceId, EntityId, EntityType, TenantId, now_ms};
use crate::domain::telemetry::{DataValue, KvEntry, TsKvEntry};
use crate::store::latest;
use crate::store::telemetry::{self as ts, Series};
use crate::store::telemetry_log::{self, Logged};
use crate::store::{Changes, KvRead};

use super::access::Alive;
use super::audit::{Actor, stage_record};
use super::{App, ServiceError, ServiceResult};

pub use crate::domain::telemetry::Scope;

/// Values by key name.
pub type Named = Vec<(String, DataValue)>;

/// A change devices are told about: shared attributes set or deleted, or
/// the device itself gone.
#[derive(Debug, Clone, PartialEq)]
pub enum DeviceEvent {
    SharedUpdated {
        device: DeviceId,
        values: Vec<KvEntry>,
    },
    SharedDeleted {
        device: DeviceId,
        keys: Vec<String>,
    },
    /// Deleted, or its token replaced: its open sessions end.
    Revoked {
        device: DeviceId,
    },
}

/// New data of any entity, for live subscribers (the web UI's WebSocket).
#[derive(Debug, Clone, PartialEq)]
pub struct DataEvent {
    pub tenant: TenantId,
    pub entity: EntityId,
    pub change: DataChange,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DataChange {
    Telemetry(Arc<Vec<TsKvEntry>>),
    Attributes {
        scope: Scope,
        ts: i64,
        values: Arc<Vec<KvEntry>>,
    },
}

/// Tells live subscribers of a change, if there are any (building the
/// event costs nothing then).
pub(super) fn tell_subscribers(
    events: &tokio::sync::broadcast::Sender<DataEvent>,
    tenant: TenantId,
    entity: EntityId,
    change: DataChange,
) {
    if events.receiver_count() > 0 {
        let _ = events.send(DataEvent {
            tenant,
            entity,
            change,
        });
    }
}

impl DataChange {
    /// The newest time in the change: of its points, or of the attributes'
    /// update. `None` for a change without points.
    pub fn time(&self) -> Option<i64> {
        match self {
            DataChange::Telemetry(points) => points.iter().map(|p| p.ts).max(),
            DataChange::Attributes { ts, .. } => Some(*ts),
        }
    }
}

/// How points are combined per interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregation {
    None,
    Min,
    Max,
    Avg,
    Sum,
    Count,
}

impl Aggregation {
    pub fn parse(s: &str) -> Option<Aggregation> {
        Some(match s {
            "NONE" => Aggregation::None,
            "MIN" => Aggregation::Min,
            "MAX" => Aggregation::Max,
            "AVG" => Aggregation::Avg,
            "SUM" => Aggregation::Sum,
            "COUNT" => Aggregation::Count,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
pub struct HistoryQuery {
    pub keys: Vec<String>,
    pub start: i64,
    pub end: i64,
    pub interval: i64,
    pub limit: usize,
    pub agg: Aggregation,
    pub newest_first: bool,
}

/// Which points a telemetry delete removes (the UI's four modes).
#[derive(Debug, Clone)]
pub struct DeleteQuery {
    pub keys: Vec<String>,
    pub start: i64,
    pub end: i64,
    pub delete_latest: bool,
    pub rewrite_latest: bool,
}

/// The entity data is stored under, with the customer that owns it (for rights).
struct Owner {
    tenant: TenantId,
    customer: Option<CustomerId>,
    entity: Uuid,
}

fn resolve(
    view: &dyn KvRead,
    caller: &Caller,
    entity: EntityId,
    kind: DataKind,
    op: Operation,
) -> ServiceResult<Owner> {
    let customer = super::access::require_data(view, caller, entity, kind, op)?;
    Ok(Owner {
        tenant: caller.tenant_id,
        customer,
        entity: entity.id,
    })
}

/// Stages points: one ingest-log entry, which also makes them the latest
/// values where they are newest (see `store/latest.rs`).
///
/// `fresh` holds the key names this job has interned so far: one map per
/// job, since names a job interns are not visible to its own reads.
pub(super) fn stage_points(
    series: &Series,
    fresh: &mut HashMap<String, u32>,
    view: &dyn KvRead,
    changes: &mut Changes,
    tenant: TenantId,
    entity: Uuid,
    entries: &[TsKvEntry],
) -> ServiceResult<()> {
    let mut points = Vec::with_capacity(entries.len());
    for e in entries {
        let id = series.keys.intern(view, changes, fresh, &e.key)?;
        points.push((id, e.ts, &e.value));
    }
    series.log.append(changes, tenant, entity, &points);
    Ok(())
}

pub(super) fn stage_attributes(
    changes: &mut Changes,
    tenant: TenantId,
    entity: Uuid,
    scope: Scope,
    entries: &[KvEntry],
    now: i64,
) {
    for e in entries {
        ts::put_attribute(changes, tenant, entity, scope as u8, &e.key, now, &e.value);
    }
}

/// Stages data a background worker made for `entity` (calculated-field
/// outputs, what a guest saved): nothing when the entity was deleted
/// meanwhile, since nothing may land under a deleted id. Returns the
/// changes made, for subscribers.
#[allow(clippy::too_many_arguments)] // one job's context (6) and what to stage
pub(super) fn stage_derived(
    series: &Series,
    fresh: &mut HashMap<String, u32>,
    alive: &mut Alive,
    view: &dyn KvRead,
    changes: &mut Changes,
    tenant: TenantId,
    entity: EntityId,
    points: Vec<TsKvEntry>,
    attributes: Vec<(Scope, Vec<KvEntry>)>,
) -> ServiceResult<Vec<DataChange>> {
    let mut made = Vec::new();
    if !alive.exists(view, tenant, entity)? {
        return Ok(made);
    }
    if !points.is_empty() {
        stage_points(series, fresh, view, changes, tenant, entity.id, &points)?;
        made.push(DataChange::Telemetry(Arc::new(points)));
    }
    let now = now_ms();
    for (scope, values) in attributes.into_iter().filter(|(_, v)| !v.is_empty()) {
        stage_attributes(changes, tenant, entity.id, scope, &values, now);
        made.push(DataChange::Attributes {
            scope,
            ts: now,
            values: Arc::new(values),
        });
    }
    Ok(made)
}

fn numbers(points: &[(i64, DataValue)]) -> impl Iterator<Item = f64> + '_ {
    points.iter().filter_map(|(_, v)| v.as_f64())
}

/// Combines the points of one interval; `None` when nothing numeric is there.
fn aggregate(agg: Aggregation, points: &[(i64, DataValue)]) -> Option<DataValue> {
    if points.is_empty() {
        return None;
    }
    let all_long = points.iter().all(|(_, v)| matches!(v, DataValue::Long(_)));
    let n = numbers(points).count();
    let value = match agg {
        Aggregation::Count => return Some(DataValue::Long(points.len() as i64)),
        _ if n == 0 => return None,
        Aggregation::Min => numbers(points).fold(f64::INFINITY, f64::min),
        Aggregation::Max => numbers(points).fold(f64::NEG_INFINITY, f64::max),
        Aggregation::Sum => numbers(points).sum(),
        Aggregation::Avg => numbers(points).sum::<f64>() / n as f64,
        Aggregation::None => return points.last().map(|(_, v)| v.clone()),
    };
    Some(
        if all_long && agg != Aggregation::Avg && value.fract() == 0.0 {
            DataValue::Long(value as i64)
        } else {
            DataValue::Double(value)
        },
    )
}

impl App {
    /// Device telemetry: durable once this returns.
    pub async fn ingest_telemetry(
        &self,
        device: &Device,
        entries: Vec<TsKvEntry>,
    ) -> ServiceResult<()> {
        self.ingest_telemetry_of(vec![(device, entries)]).await
    }

    /// Telemetry of several devices (a gateway's message) in one commit:
    /// all of it is durable once this returns, or none of it is stored.
    pub async fn ingest_telemetry_of(
        &self,
        batches: Vec<(impl Borrow<Device>, Vec<TsKvEntry>)>,
    ) -> ServiceResult<()> {
        let series = Arc::clone(&self.series);
        // Names interned by this job are not visible to its own reads: one
        // map for the whole job, across its devices.
        let mut fresh = HashMap::new();
        let stage = move |view: &dyn KvRead,
                          changes: &mut Changes,
                          tenant,
                          device: DeviceId,
                          entries: &[TsKvEntry]| {
            stage_points(
                &series, &mut fresh, view, changes, tenant, device.0, entries,
            )
        };
        self.ingest_of(batches, stage, DataChange::Telemetry).await
    }

    /// Client-side attributes a device reports about itself.
    pub async fn ingest_client_attributes(
        &self,
        device: &Device,
        entries: Vec<KvEntry>,
    ) -> ServiceResult<()> {
        self.ingest_client_attributes_of(vec![(device, entries)])
            .await
    }

    /// Client-side attributes of several devices (a gateway's message) in
    /// one commit: all of them are durable once this returns, or none.
    pub async fn ingest_client_attributes_of(
        &self,
        batches: Vec<(impl Borrow<Device>, Vec<KvEntry>)>,
    ) -> ServiceResult<()> {
        let now = now_ms();
        let stage = move |_: &dyn KvRead,
                          changes: &mut Changes,
                          tenant,
                          device: DeviceId,
                          entries: &[KvEntry]| {
            stage_attributes(changes, tenant, device.0, Scope::Client, entries, now);
            Ok(())
        };
        let change = move |values| DataChange::Attributes {
            scope: Scope::Client,
            ts: now,
            values,
        };
        self.ingest_of(batches, stage, change).await
    }

    /// What devices send, for several devices in one commit: only the
    /// devices' tenant and id travel to the writer (this is the ingest hot
    /// path, and a whole `Device` per message is copying for nothing), a
    /// device deleted while its message was in flight is skipped (nothing
    /// may land under a deleted id), and live subscribers hear of the rest
    /// once it is durable.
    async fn ingest_of<E: Send + Sync + 'static>(
        &self,
        batches: Vec<(impl Borrow<Device>, Vec<E>)>,
        mut stage: impl FnMut(&dyn KvRead, &mut Changes, TenantId, DeviceId, &[E]) -> ServiceResult<()>
        + Send
        + 'static,
        change: impl Fn(Arc<Vec<E>>) -> DataChange,
    ) -> ServiceResult<()> {
        let batches: Vec<(TenantId, DeviceId, Arc<Vec<E>>)> = batches
            .into_iter()
            .filter(|(_, e)| !e.is_empty())
            .map(|(d, e)| (d.borrow().tenant_id, d.borrow().id, Arc::new(e)))
            .collect();
        if batches.is_empty() {
            return Ok(());
        }
        let staged = batches.clone();
        let live = Arc::clone(&self.live_devices);
        // Which batches were stored: only those are announced, so that no
        // subscriber, field or logic hears of data of a deleted device.
        let stored = self
            .write(move |view| {
                let mut changes = Changes::new();
                let mut stored = Vec::with_capacity(staged.len());
                for (tenant, device, entries) in &staged {
                    let exists = live.exists(view, *tenant, device.0)?;
                    if exists {
                        stage(view, &mut changes, *tenant, *device, entries)?;
                    }
                    stored.push(exists);
                }
                Ok((stored, changes))
            })
            .await?;
        for ((tenant, device, entries), stored) in batches.into_iter().zip(stored) {
            if stored {
                self.publish(tenant, device.entity_id(), change(entries));
            }
        }
        Ok(())
    }

    /// What a device asks for: its client and shared attributes by key
    /// (`None`: all of that scope).
    pub fn device_attributes(
        &self,
        device: &Device,
        client_keys: Option<&[String]>,
        shared_keys: Option<&[String]>,
    ) -> ServiceResult<(Named, Named)> {
        let snapshot = self.store.snapshot()?;
        let pick =
            |scope: Scope, keys: Option<&[String]>| -> ServiceResult<Vec<(String, DataValue)>> {
                let all = ts::attributes(&*snapshot, device.tenant_id, device.id.0, scope as u8)?;
                Ok(all
                    .into_iter()
                    .filter(|(k, _, _)| keys.is_none_or(|wanted| wanted.iter().any(|w| w == k)))
                    .map(|(k, _, v)| (k, v))
                    .collect())
            };
        Ok((
            pick(Scope::Client, client_keys)?,
            pick(Scope::Shared, shared_keys)?,
        ))
    }

    /// Telemetry saved over REST, audited as the caller's.
    pub async fn save_telemetry(
        &self,
        caller: &Caller,
        entity: EntityId,
        entries: Vec<TsKvEntry>,
    ) -> ServiceResult<()> {
        let (caller, series) = (caller.clone(), Arc::clone(&self.series));
        let tenant = caller.tenant_id;
        let entries = Arc::new(entries);
        let staged = Arc::clone(&entries);
        self.write(move |view| {
            let entries = staged;
            let owner = resolve(view, &caller, entity, DataKind::Telemetry, Operation::Write)?;
            let mut changes = Changes::new();
            stage_points(
                &series,
                &mut HashMap::new(),
                view,
                &mut changes,
                owner.tenant,
                owner.entity,
                &entries,
            )?;
            let data: serde_json::Map<String, serde_json::Value> = entries
                .iter()
                .map(|e| (e.key.clone(), e.value.to_json()))
                .collect();
            stage_record(
                &mut changes,
                &Actor::from(&caller),
                owner.customer.unwrap_or(CustomerId::NULL),
                Some((entity, "")),
                ActionType::TimeseriesUpdated,
                json!({ "entityId": entity, "timeseries": data }),
            );
            Ok(((), changes))
        })
        .await?;
        self.publish(tenant, entity, DataChange::Telemetry(entries));
        Ok(())
    }

    /// Server or shared attributes saved over REST; devices hear of shared ones.
    pub async fn save_attributes(
        &self,
        caller: &Caller,
        entity: EntityId,
        scope: Scope,
        entries: Vec<KvEntry>,
    ) -> ServiceResult<()> {
        if scope == Scope::Client {
            return Err(ServiceError::invalid(
                "Client attributes are written by the device only",
            ));
        }
        if scope == Scope::Shared && entity.entity_type != EntityType::Device {
            return Err(ServiceError::invalid(
                "Shared attributes are supported for devices only",
            ));
        }
        let caller_tenant = caller.tenant_id;
        let caller = caller.clone();
        let now = now_ms();
        let entries = Arc::new(entries);
        let staged = Arc::clone(&entries);
        self.write(move |view| {
            let entries = staged;
            let owner = resolve(
                view,
                &caller,
                entity,
                DataKind::Attributes,
                Operation::Write,
            )?;
            let mut changes = Changes::new();
            stage_attributes(
                &mut changes,
                owner.tenant,
                owner.entity,
                scope,
                &entries,
                now,
            );
            let data: serde_json::Map<String, serde_json::Value> = entries
                .iter()
                .map(|e| (e.key.clone(), e.value.to_json()))
                .collect();
            stage_record(
                &mut changes,
                &Actor::from(&caller),
                owner.customer.unwrap_or(CustomerId::NULL),
                Some((entity, "")),
                ActionType::AttributesUpdated,
                json!({ "entityId": entity, "scope": scope.name(), "attributes": data }),
            );
            Ok(((), changes))
        })
        .await?;
        let change = DataChange::Attributes {
            scope,
            ts: now,
            values: Arc::clone(&entries),
        };
        self.publish(caller_tenant, entity, change);
        if scope == Scope::Shared {
            let _ = self.device_events.send(DeviceEvent::SharedUpdated {
                device: DeviceId(entity.id),
                values: entries.to_vec(),
            });
        }
        Ok(())
    }

    pub async fn delete_attributes(
        &self,
        caller: &Caller,
        entity: EntityId,
        scope: Scope,
        keys: Vec<String>,
    ) -> ServiceResult<()> {
        let caller = caller.clone();
        let deleted = keys.clone();
        self.write(move |view| {
            let owner = resolve(
                view,
                &caller,
                entity,
                DataKind::Attributes,
                Operation::Write,
            )?;
            let mut changes = Changes::new();
            for k in &keys {
                ts::delete_attribute(&mut changes, owner.tenant, owner.entity, scope as u8, k);
            }
            stage_record(
                &mut changes,
                &Actor::from(&caller),
                owner.customer.unwrap_or(CustomerId::NULL),
                Some((entity, "")),
                ActionType::AttributesDeleted,
                json!({ "entityId": entity, "attributes": keys }),
            );
            Ok(((), changes))
        })
        .await?;
        if scope == Scope::Shared && entity.entity_type == EntityType::Device {
            let _ = self.device_events.send(DeviceEvent::SharedDeleted {
                device: DeviceId(entity.id),
                keys: deleted,
            });
        }
        Ok(())
    }

    /// Attributes of an entity: (scope, key, last update, value), in key order.
    pub async fn attributes(
        &self,
        caller: &Caller,
        entity: EntityId,
        scope: Option<Scope>,
        keys: Option<Vec<String>>,
    ) -> ServiceResult<Vec<(Scope, String, i64, DataValue)>> {
        let snapshot = self.store.snapshot()?;
        let owner = resolve(
            &*snapshot,
            caller,
            entity,
            DataKind::Attributes,
            Operation::Read,
        )?;
        let mut out = Vec::new();
        for s in Scope::ALL
            .into_iter()
            .filter(|s| scope.is_none_or(|x| x == *s))
        {
            for (k, t, v) in ts::attributes(&*snapshot, owner.tenant, owner.entity, s as u8)? {
                if keys.as_ref().is_none_or(|ks| ks.contains(&k)) {
                    out.push((s, k, t, v));
                }
            }
        }
        Ok(out)
    }

    /// Latest value of each key (all keys when `keys` is `None`).
    pub async fn latest_telemetry(
        &self,
        caller: &Caller,
        entity: EntityId,
        keys: Option<Vec<String>>,
    ) -> ServiceResult<BTreeMap<String, (i64, DataValue)>> {
        let snapshot = self.store.snapshot()?;
        let owner = resolve(
            &*snapshot,
            caller,
            entity,
            DataKind::Telemetry,
            Operation::Read,
        )?;
        let mut out = BTreeMap::new();
        for (id, t, v) in latest::all(&*snapshot, owner.tenant, owner.entity)? {
            if let Some(name) = self.series.keys.name_in(&*snapshot, id)?
                && keys.as_ref().is_none_or(|ks| ks.contains(&name))
            {
                out.insert(name, (t, v));
            }
        }
        Ok(out)
    }

    /// Names of an entity's time series.
    pub async fn telemetry_keys(
        &self,
        caller: &Caller,
        entity: EntityId,
    ) -> ServiceResult<Vec<String>> {
        Ok(self
            .latest_telemetry(caller, entity, None)
            .await?
            .into_keys()
            .collect())
    }

    /// Points of each key in a window, raw (up to `limit`) or aggregated per interval.
    pub async fn telemetry_history(
        &self,
        caller: &Caller,
        entity: EntityId,
        q: HistoryQuery,
    ) -> ServiceResult<BTreeMap<String, Vec<(i64, DataValue)>>> {
        let snapshot = self.store.snapshot()?;
        let owner = resolve(
            &*snapshot,
            caller,
            entity,
            DataKind::Telemetry,
            Operation::Read,
        )?;
        let series = Arc::clone(&self.series);
        self.blocking(move || {
            let mut ids = Vec::new();
            for key in &q.keys {
                if let Some(id) = series.keys.id_in(&*snapshot, key)? {
                    ids.push((key, id));
                }
            }
            let wanted: Vec<u32> = ids.iter().map(|(_, id)| *id).collect();
            // One pass over the entity's log for every key asked for.
            let logged = telemetry_log::points_by_key(
                &*snapshot,
                owner.tenant,
                owner.entity,
                Some(&wanted),
            )?;
            let mut out = BTreeMap::new();
            for (key, id) in ids {
                let logged = logged.get(&id).map_or(&[][..], Vec::as_slice);
                let points = history_of(&*snapshot, &owner, id, logged, &q)?;
                if !points.is_empty() {
                    out.insert(key.clone(), points);
                }
            }
            Ok(out)
        })
        .await
    }

    /// Deletes points of the keys in `[start, end)`, and the latest value if
    /// asked (then, with `rewrite_latest`, the newest remaining point takes its place).
    pub async fn delete_telemetry(
        &self,
        caller: &Caller,
        entity: EntityId,
        q: DeleteQuery,
    ) -> ServiceResult<()> {
        let (caller, series) = (caller.clone(), Arc::clone(&self.series));
        self.write(move |view| {
            let owner = resolve(view, &caller, entity, DataKind::Telemetry, Operation::Write)?;
            let mut changes = Changes::new();
            let mut ids = Vec::new();
            for key in &q.keys {
                ids.extend(series.keys.id_in(view, key)?);
            }
            let deletion = ts::Deletion { start: q.start, end: q.end, latest: q.delete_latest, rewrite_latest: q.rewrite_latest };
            ts::stage_delete(view, &mut changes, &series.log, owner.tenant, owner.entity, &ids, deletion)?;
            stage_record(&mut changes, &Actor::from(&caller), owner.customer.unwrap_or(CustomerId::NULL), Some((entity, "")), ActionType::TimeseriesDeleted, json!({ "entityId": entity, "timeseries": q.keys, "startTs": q.start, "endTs": q.end }));
            Ok(((), changes))
        })
        .await
    }

    /// Tells the calculated fields that read it, the customer logic of its
    /// customer, and live subscribers if
    /// there are any (the ingest path pays nothing otherwise).
    fn publish(&self, tenant: TenantId, entity: EntityId, change: DataChange) {
        self.offer_to_fields(tenant, entity, &change);
        self.offer_to_logic(tenant, entity, &change);
        tell_subscribers(&self.data_events, tenant, entity, change);
    }

    /// Every new value saved in the installation; subscribers filter and
    /// check rights themselves.
    pub fn subscribe_data_events(&self) -> tokio::sync::broadcast::Receiver<DataEvent> {
        self.data_events.subscribe()
    }

    /// Shared-attribute changes, for device sessions to forward.
    pub fn subscribe_device_events(&self) -> tokio::sync::broadcast::Receiver<DeviceEvent> {
        self.device_events.subscribe()
    }
}

fn history_of(
    r: &dyn KvRead,
    owner: &Owner,
    id: u32,
    logged: &[Logged],
    q: &HistoryQuery,
) -> ServiceResult<Vec<(i64, DataValue)>> {
    if q.agg == Aggregation::None {
        let mut points = Vec::new();
        ts::scan_merged(
            r,
            owner.tenant,
            owner.entity,
            id,
            logged,
            ts::Window {
                start: q.start,
                end: q.end,
                newest_first: q.newest_first,
            },
            &mut |t, v| {
                points.push((t, v));
                points.len() < q.limit
            },
        )?;
        return Ok(points);
    }
    let interval = q.interval.max(1);
    let mut buckets: BTreeMap<i64, Vec<(i64, DataValue)>> = BTreeMap::new();
    ts::scan_merged(
        r,
        owner.tenant,
        owner.entity,
        id,
        logged,
        ts::Window::oldest_first(q.start, q.end),
        &mut |t, v| {
            let bucket = q.start + (t - q.start) / interval * interval;
            buckets.entry(bucket).or_default().push((t, v));
            true
        },
    )?;
    let mut out: Vec<(i64, DataValue)> = buckets
        .into_iter()
        .filter_map(|(start, points)| {
            let middle = start + (interval.min(q.end - start)) / 2;
            aggregate(q.agg, &points).map(|v| (middle, v))
        })
        .collect();
    if q.newest_first {
        out.reverse();
    }
    out.truncate(q.limit);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregates_keep_longs_long_and_skip_non_numbers() {
        let pts = vec![
            (1, DataValue::Long(2)),
            (2, DataValue::Long(5)),
            (3, DataValue::Long(3)),
        ];
        assert_eq!(aggregate(Aggregation::Min, &pts), Some(DataValue::Long(2)));
        assert_eq!(aggregate(Aggregation::Max, &pts), Some(DataValue::Long(5)));
        assert_eq!(aggregate(Aggregation::Sum, &pts), Some(DataValue::Long(10)));
        assert_eq!(
            aggregate(Aggregation::Avg, &pts),
            Some(DataValue::Double(10.0 / 3.0))
        );
        assert_eq!(
            aggregate(Aggregation::Count, &pts),
            Some(DataValue::Long(3))
        );
        let text = vec![(1, DataValue::String("x".into()))];
        assert_eq!(aggregate(Aggregation::Avg, &text), None);
        assert_eq!(
            aggregate(Aggregation::Count, &text),
            Some(DataValue::Long(1))
        );
    }
}
