//! Time series, latest values and attributes of any entity.
//!
//! `telemetry`: chunks of points keyed tenant ‖ entity ‖ key id ‖ first
//! time (`series_chunks.rs`), so one key's history is one range scan; new
//! points reach it through the ingest log (`telemetry_log.rs`), and reads
//! merge the two. Latest values: `latest.rs`. `attributes`: tenant ‖ entity
//! ‖ scope ‖ key -> time ‖ value. Key names are interned (`ts_keys` /
//! `ts_key_names`) so that a series prefix is a fixed 36 bytes. Values are a
//! tag byte and the value (see [`encode_value`]).

use std::sync::{Arc, PoisonError, RwLock};

use foldhash::HashMap;
use uuid::Uuid;

use crate::domain::ids::TenantId;
use crate::domain::telemetry::DataValue;

use super::codec::{Key, keys_under, time_at};
use super::{
    Changes, KvRead, Mutation, Store, StoreError, StoreResult, Table, latest, meta, series_chunks,
    telemetry_log,
};
use telemetry_log::Logged;

const KEY_SEQUENCE: &str = "ts_key_sequence";

/// Tag byte, then: bool (1 byte), i64 / f64 (8 bytes BE), UTF-8 text, JSON text.
pub fn encode_value(v: &DataValue) -> Vec<u8> {
    let mut out = Vec::with_capacity(9);
    encode_value_into(&mut out, v);
    out
}

/// [`encode_value`], appended to `out`.
pub fn encode_value_into(out: &mut Vec<u8>, v: &DataValue) {
    match v {
        DataValue::Boolean(b) => out.extend([0, u8::from(*b)]),
        DataValue::Long(i) => {
            out.push(1);
            out.extend(i.to_be_bytes());
        }
        DataValue::Double(d) => {
            out.push(2);
            out.extend(d.to_be_bytes());
        }
        DataValue::String(s) => {
            out.push(3);
            out.extend(s.as_bytes());
        }
        DataValue::Json(j) => {
            out.push(4);
            // Writing a Value into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut *out, j);
        }
    }
}

pub fn decode_value(table: Table, bytes: &[u8]) -> StoreResult<DataValue> {
    let corrupt = |reason: &str| StoreError::corrupt(table, reason);
    let (tag, rest) = bytes.split_first().ok_or_else(|| corrupt("empty value"))?;
    let eight = || -> StoreResult<[u8; 8]> { rest.try_into().map_err(|_| corrupt("short number")) };
    Ok(match tag {
        0 => DataValue::Boolean(rest.first().is_some_and(|b| *b != 0)),
        1 => DataValue::Long(i64::from_be_bytes(eight()?)),
        2 => DataValue::Double(f64::from_be_bytes(eight()?)),
        3 => DataValue::String(String::from_utf8(rest.to_vec()).map_err(|_| corrupt("bad utf-8"))?),
        4 => DataValue::Json(serde_json::from_slice(rest).map_err(|e| corrupt(&e.to_string()))?),
        _ => return Err(corrupt("unknown value tag")),
    })
}

/// The key dictionary, cached in memory; new names are added by writes and
/// reach the cache once committed.
#[derive(Debug, Default)]
pub struct KeyDictionary {
    ids: RwLock<HashMap<String, u32>>,
    names: RwLock<HashMap<u32, String>>,
}

impl KeyDictionary {
    pub fn attach(store: &dyn Store) -> StoreResult<Arc<Self>> {
        let dict = Arc::new(KeyDictionary::default());
        let snapshot = store.snapshot()?;
        snapshot.scan(Table::TsKeys, &[], None, false, &mut |k, v| {
            if let (Ok(name), Ok(id)) = (std::str::from_utf8(k), <[u8; 4]>::try_from(v)) {
                dict.learn(name, u32::from_be_bytes(id));
            }
            Ok(true)
        })?;
        let listener = Arc::clone(&dict);
        store.on_commit(Arc::new(move |mutations: &[Mutation]| {
            for m in mutations.iter().filter(|m| m.table == Table::TsKeys) {
                if let (Ok(name), Some(Ok(id))) = (
                    std::str::from_utf8(&m.key),
                    m.value.as_deref().map(<[u8; 4]>::try_from),
                ) {
                    listener.learn(name, u32::from_be_bytes(id));
                }
            }
        }));
        Ok(dict)
    }

    fn learn(&self, name: &str, id: u32) {
        self.ids
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.to_owned(), id);
        self.names
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, name.to_owned());
    }

    /// The id of a committed key name.
    pub fn id(&self, name: &str) -> Option<u32> {
        self.ids
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .copied()
    }

    pub fn name(&self, id: u32) -> Option<String> {
        self.names
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
            .cloned()
    }

    /// The id of `name` as `view` sees it: from the cache, or from the table
    /// for a name committed a moment ago whose listener has not run yet.
    pub fn id_in(&self, view: &dyn KvRead, name: &str) -> StoreResult<Option<u32>> {
        if let Some(id) = self.id(name) {
            return Ok(Some(id));
        }
        Ok(view
            .get(Table::TsKeys, name.as_bytes())?
            .and_then(|v| <[u8; 4]>::try_from(v.as_slice()).ok())
            .map(u32::from_be_bytes))
    }

    /// The name of `id` as `view` sees it (see [`KeyDictionary::id_in`]).
    pub fn name_in(&self, view: &dyn KvRead, id: u32) -> StoreResult<Option<String>> {
        if let Some(name) = self.name(id) {
            return Ok(Some(name));
        }
        Ok(view
            .get(Table::TsKeyNames, &id.to_be_bytes())?
            .and_then(|b| String::from_utf8(b).ok()))
    }

    /// The id for `name` inside a write: cached, made earlier in this batch,
    /// or new (staged in `changes`, remembered in `fresh` for this job).
    pub fn intern(
        &self,
        view: &dyn KvRead,
        changes: &mut Changes,
        fresh: &mut HashMap<String, u32>,
        name: &str,
    ) -> StoreResult<u32> {
        if let Some(id) = fresh.get(name).copied() {
            return Ok(id);
        }
        if let Some(id) = self.id_in(view, name)? {
            return Ok(id);
        }
        let issued = fresh.len() as u32;
        let next = meta::get(view, KEY_SEQUENCE)?
            .and_then(|v| <[u8; 4]>::try_from(v.as_slice()).ok())
            .map_or(0, u32::from_be_bytes)
            + issued;
        fresh.insert(name.to_owned(), next);
        changes.put(
            Table::TsKeys,
            name.as_bytes().to_vec(),
            next.to_be_bytes().to_vec(),
        );
        changes.put(
            Table::TsKeyNames,
            next.to_be_bytes().to_vec(),
            name.as_bytes().to_vec(),
        );
        meta::put(changes, KEY_SEQUENCE, (next + 1).to_be_bytes().to_vec());
        Ok(next)
    }
}

/// The in-memory companions of the telemetry tables, attached to the store
/// once: the key dictionary and the ingest log's bookkeeping.
#[derive(Debug)]
pub struct Series {
    pub keys: Arc<KeyDictionary>,
    pub log: Arc<telemetry_log::IngestLog>,
}

impl Series {
    pub fn attach(store: &dyn Store) -> StoreResult<Arc<Self>> {
        Ok(Arc::new(Series {
            keys: KeyDictionary::attach(store)?,
            log: telemetry_log::IngestLog::attach(store)?,
        }))
    }
}

/// tenant ‖ entity: the start of every key of one entity's data.
pub(super) fn entity_prefix(tenant: TenantId, entity: Uuid) -> Vec<u8> {
    Key::new().id(tenant.0).id(entity).build()
}

pub(super) fn series_prefix(tenant: TenantId, entity: Uuid, key: u32) -> Vec<u8> {
    let mut k = entity_prefix(tenant, entity);
    k.extend(key.to_be_bytes());
    k
}

pub(super) fn series_key(tenant: TenantId, entity: Uuid, key: u32, ts: i64) -> Vec<u8> {
    let mut k = series_prefix(tenant, entity, key);
    k.extend(Key::new().time(ts).build());
    k
}

fn timed(ts: i64, value: &DataValue) -> Vec<u8> {
    let mut v = Key::new().time(ts).build();
    v.extend(encode_value(value));
    v
}

fn untimed(table: Table, bytes: &[u8]) -> StoreResult<(i64, DataValue)> {
    let ts = time_at(bytes, 0).ok_or_else(|| StoreError::corrupt(table, "short timed value"))?;
    Ok((ts, decode_value(table, bytes.get(8..).unwrap_or_default())?))
}

/// Points with `start <= ts < end`, in one direction.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub start: i64,
    pub end: i64,
    pub newest_first: bool,
}

impl Window {
    pub fn oldest_first(start: i64, end: i64) -> Self {
        Window {
            start,
            end,
            newest_first: false,
        }
    }
    pub fn newest_first(start: i64, end: i64) -> Self {
        Window {
            start,
            end,
            newest_first: true,
        }
    }
}

/// Points of one key in `window`, from the per-series table and the ingest
/// log merged (the log wins a tie: it is newer); `visit` returns false to stop.
pub fn scan_points(
    r: &dyn KvRead,
    tenant: TenantId,
    entity: Uuid,
    key: u32,
    window: Window,
    visit: &mut dyn FnMut(i64, DataValue) -> bool,
) -> StoreResult<()> {
    let logged = telemetry_log::points_by_key(r, tenant, entity, Some(&[key]))?;
    let logged = logged.get(&key).map_or(&[][..], Vec::as_slice);
    scan_merged(r, tenant, entity, key, logged, window, visit)
}

/// [`scan_points`] with the key's logged points already read (see
/// [`telemetry_log::points_by_key`]), so that a reader of several keys
/// scans the entity's log slice once.
#[allow(clippy::too_many_arguments)] // a series (3), its logged points, a window, a visitor
pub fn scan_merged(
    r: &dyn KvRead,
    tenant: TenantId,
    entity: Uuid,
    key: u32,
    logged: &[Logged],
    window: Window,
    visit: &mut dyn FnMut(i64, DataValue) -> bool,
) -> StoreResult<()> {
    let Window {
        start,
        end,
        newest_first,
    } = window;
    let logged = telemetry_log::in_window(logged, start, end)?;
    let mut logged: Box<dyn Iterator<Item = (i64, DataValue)>> = if newest_first {
        Box::new(logged.into_iter().rev())
    } else {
        Box::new(logged.into_iter())
    };
    let mut next_logged = logged.next();
    // `before(a, b)`: a comes first in the scan's direction.
    let before = |a: i64, b: i64| if newest_first { a > b } else { a < b };
    let mut stopped = false;
    series_chunks::scan(
        r,
        tenant,
        entity,
        key,
        start,
        end,
        newest_first,
        &mut |ts, raw| {
            // Logged points up to this one go first; one at the same time replaces it.
            while next_logged.as_ref().is_some_and(|(t, _)| !before(ts, *t)) {
                let Some((t, value)) = next_logged.take() else {
                    break;
                };
                next_logged = logged.next();
                if !visit(t, value) {
                    stopped = true;
                    return Ok(false);
                }
                if t == ts {
                    return Ok(true);
                }
            }
            if !visit(ts, decode_value(Table::Telemetry, raw)?) {
                stopped = true;
                return Ok(false);
            }
            Ok(true)
        },
    )?;
    while !stopped && let Some((t, value)) = next_logged.take() {
        next_logged = logged.next();
        stopped = !visit(t, value);
    }
    Ok(())
}

/// What to delete of some keys: their points in `[start, end)`, and each
/// one's latest value if that falls in the window too and `latest` is set
/// (then, with `rewrite_latest`, the newest remaining point takes its place).
#[derive(Debug, Clone, Copy)]
pub struct Deletion {
    pub start: i64,
    pub end: i64,
    pub latest: bool,
    pub rewrite_latest: bool,
}

/// Stages a deletion from the table, the ingest log and `latest`, reading
/// the entity's log once for all `keys` and rewriting each log entry once.
#[allow(clippy::too_many_arguments)] // the log, an entity (2), its keys, the deletion
pub fn stage_delete(
    r: &dyn KvRead,
    changes: &mut Changes,
    log: &telemetry_log::IngestLog,
    tenant: TenantId,
    entity: Uuid,
    keys: &[u32],
    d: Deletion,
) -> StoreResult<()> {
    let logged = telemetry_log::points_by_key(r, tenant, entity, Some(keys))?;
    let mut hid_any = false;
    for &key in keys {
        let points = logged.get(&key).map_or(&[][..], Vec::as_slice);
        let row = latest::read(r, tenant, entity, key)?;
        let current = latest::merged(&row, points).map(|(ts, value)| (ts, value.to_vec()));
        series_chunks::stage_delete(r, changes, tenant, entity, key, d.start, d.end)?;
        let Some((latest_ts, latest_value)) = current else {
            continue;
        };
        if latest_ts < d.start || latest_ts >= d.end {
            // Its point is not in the window: it stays the latest by itself.
            continue;
        }
        if !d.latest {
            // Kept although its point goes (the "all data except the
            // latest" mode): pinned in the row, hiding what it hid before.
            let pinned = latest::Row {
                value: Some((latest_ts, latest_value)),
                ..row
            };
            latest::write(changes, tenant, entity, key, &pinned);
            continue;
        }
        let replacement = if d.rewrite_latest {
            newest_outside(r, tenant, entity, key, points, d)?
        } else {
            None
        };
        let cleared = latest::Row {
            value: replacement,
            hidden_before: log.next_seq(),
        };
        latest::write(changes, tenant, entity, key, &cleared);
        hid_any = true;
    }
    telemetry_log::stage_delete(r, changes, tenant, entity, keys, d.start, d.end)?;
    if hid_any {
        // The rows hide entries below the next sequence number: it must not
        // go back after a restart, even if the log is empty by then.
        log.stage_next_seq(changes);
    }
    Ok(())
}

/// The newest point of a key outside the deletion's window, encoded.
fn newest_outside(
    r: &dyn KvRead,
    tenant: TenantId,
    entity: Uuid,
    key: u32,
    logged: &[Logged],
    d: Deletion,
) -> StoreResult<Option<(i64, Vec<u8>)>> {
    let mut found = None;
    for window in [
        Window::newest_first(d.end, i64::MAX),
        Window::newest_first(i64::MIN, d.start),
    ] {
        scan_merged(r, tenant, entity, key, logged, window, &mut |t, v| {
            found = Some((t, encode_value(&v)));
            false
        })?;
        if found.is_some() {
            break;
        }
    }
    Ok(found)
}

fn attribute_key(tenant: TenantId, entity: Uuid, scope: u8, key: &str) -> Vec<u8> {
    let mut k = entity_prefix(tenant, entity);
    k.push(scope);
    k.extend(key.as_bytes());
    k
}

pub fn put_attribute(
    changes: &mut Changes,
    tenant: TenantId,
    entity: Uuid,
    scope: u8,
    key: &str,
    ts: i64,
    value: &DataValue,
) {
    changes.put(
        Table::Attributes,
        attribute_key(tenant, entity, scope, key),
        timed(ts, value),
    );
}

pub fn delete_attribute(
    changes: &mut Changes,
    tenant: TenantId,
    entity: Uuid,
    scope: u8,
    key: &str,
) {
    changes.delete(Table::Attributes, attribute_key(tenant, entity, scope, key));
}

/// One attribute of an entity: (last update, value).
pub fn attribute(
    r: &dyn KvRead,
    tenant: TenantId,
    entity: Uuid,
    scope: u8,
    key: &str,
) -> StoreResult<Option<(i64, DataValue)>> {
    r.get(
        Table::Attributes,
        &attribute_key(tenant, entity, scope, key),
    )?
    .map(|v| untimed(Table::Attributes, &v))
    .transpose()
}

/// Every attribute of an entity in one scope: (key, last update, value).
pub fn attributes(
    r: &dyn KvRead,
    tenant: TenantId,
    entity: Uuid,
    scope: u8,
) -> StoreResult<Vec<(String, i64, DataValue)>> {
    let mut prefix = entity_prefix(tenant, entity);
    prefix.push(scope);
    let mut out = Vec::new();
    r.scan(Table::Attributes, &prefix, None, false, &mut |k, v| {
        let name = String::from_utf8_lossy(k.get(33..).unwrap_or_default()).into_owned();
        let (ts, value) = untimed(Table::Attributes, v)?;
        out.push((name, ts, value));
        Ok(true)
    })?;
    Ok(out)
}

/// The tables of an entity's data keyed by tenant ‖ entity (the ingest log
/// is keyed by slice and is listed apart).
const DATA_TABLES: [Table; 3] = [Table::Telemetry, Table::Latest, Table::Attributes];

/// Every stored key of an entity's data (series, latest, attributes), for
/// removing all of it with the entity.
pub fn all_keys_of(
    r: &dyn KvRead,
    tenant: TenantId,
    entity: Uuid,
) -> StoreResult<Vec<(Table, Vec<u8>)>> {
    let mut out = keys_under(r, &DATA_TABLES, &entity_prefix(tenant, entity))?;
    for k in telemetry_log::keys_of(r, tenant, entity)? {
        out.push((Table::TelemetryLog, k));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_through_the_codec() {
        for v in [
            DataValue::Boolean(true),
            DataValue::Long(-7),
            DataValue::Double(2.5),
            DataValue::String("héllo".into()),
            DataValue::Json(serde_json::json!({"a": [1, 2]})),
        ] {
            assert_eq!(
                decode_value(Table::Telemetry, &encode_value(&v)).unwrap(),
                v
            );
        }
        assert!(decode_value(Table::Telemetry, &[9, 1]).is_err());
        assert!(decode_value(Table::Telemetry, &[1, 1]).is_err());
        assert!(decode_value(Table::Telemetry, &[]).is_err());
    }
}
