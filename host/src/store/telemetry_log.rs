//! The ingest log: new telemetry points land here first and move into the
//! per-series `telemetry` table later, many at a time.
//!
//! Why: `telemetry` is ordered by series, so a commit holding one new point
//! for each of thousands of devices rewrites one leaf page per series (a
//! dozen megabytes per fsync). The log is ordered by arrival instead:
//! `slice ‖ sequence -> tenant ‖ entity ‖ points`, one entry per entity per
//! write, so a commit appends to the tail of a few slices. Compaction
//! ([`stage_compaction`]) later moves one slice's entries into `telemetry`
//! in one commit, when each series has gathered many points, so each leaf
//! is rewritten once for many points.
//!
//! Reads merge both ([`points_of`] gives the log's points of one series;
//! `telemetry::scan_points` merges them in), and since the log and the
//! table live in the same store, one snapshot sees each point exactly once,
//! in one place or the other. A point in the log is always newer than a
//! point of the same series and time in the table, so the log wins ties.
//!
//! An entity's entries all sit in one slice (chosen from its id), so a
//! series read scans one slice, and slices are compacted in turn.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use uuid::Uuid;

use crate::domain::ids::TenantId;
use crate::domain::telemetry::DataValue;

use super::codec::uuid_at;
use super::telemetry::{decode_value, encode_value};
use super::{
    Changes, KvRead, Mutation, Store, StoreError, StoreResult, Table, Visitor, series_chunks,
};

/// Slices the log is split into: more slices mean more points per series
/// when a slice is compacted (cheaper compaction) but more tails touched
/// per commit. Sixteen keeps both small.
pub const SLICES: u8 = 16;

/// The slice an entity's points go to: a fold of all its bytes, so ids that
/// differ anywhere (time-based or random) spread over the slices.
pub fn slice_of(entity: Uuid) -> u8 {
    entity.as_bytes().iter().fold(0u8, |acc, b| acc ^ b) % SLICES
}

fn entry_key(slice: u8, seq: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(9);
    k.push(slice);
    k.extend(seq.to_be_bytes());
    k
}

fn corrupt(reason: &str) -> StoreError {
    StoreError::Corrupt {
        table: Table::TelemetryLog.name(),
        reason: reason.to_owned(),
    }
}

/// One point of a log entry: interned key id, time, value.
pub type LogPoint = (u32, i64, DataValue);

/// A point with the sequence number of the entry holding it (later entries are newer).
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedPoint {
    pub seq: u64,
    pub key: u32,
    pub ts: i64,
    pub value: DataValue,
}

/// tenant ‖ entity ‖ (key id u32 ‖ time i64 ‖ value length u32 ‖ value)*
fn encode_entry<'a>(
    tenant: TenantId,
    entity: Uuid,
    points: impl ExactSizeIterator<Item = (u32, i64, &'a DataValue)>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + points.len() * 24);
    out.extend(tenant.0.as_bytes());
    out.extend(entity.as_bytes());
    for (key, ts, value) in points {
        let encoded = encode_value(value);
        out.extend(key.to_be_bytes());
        out.extend(ts.to_be_bytes());
        out.extend((encoded.len() as u32).to_be_bytes());
        out.extend(encoded);
    }
    out
}

/// The owner of an entry, read without decoding its points.
fn entry_owner(bytes: &[u8]) -> Option<(Uuid, Uuid)> {
    Some((uuid_at(bytes, 0)?, uuid_at(bytes, 16)?))
}

fn decode_points(bytes: &[u8]) -> StoreResult<Vec<LogPoint>> {
    let mut rest = bytes.get(32..).ok_or_else(|| corrupt("short entry"))?;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let header: [u8; 16] = rest
            .get(..16)
            .and_then(|h| h.try_into().ok())
            .ok_or_else(|| corrupt("short point"))?;
        let key = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        let ts = i64::from_be_bytes(header[4..12].try_into().unwrap_or_default());
        let len = u32::from_be_bytes(header[12..16].try_into().unwrap_or_default()) as usize;
        let value = rest
            .get(16..16 + len)
            .ok_or_else(|| corrupt("short value"))?;
        out.push((key, ts, decode_value(Table::TelemetryLog, value)?));
        rest = &rest[16 + len..];
    }
    Ok(out)
}

/// The log's in-memory bookkeeping: the next sequence number and how many
/// entries wait in each slice (a hint for when to compact; kept in step by
/// a commit listener and recounted at start-up).
#[derive(Debug)]
pub struct IngestLog {
    next_seq: AtomicU64,
    pending: [AtomicU64; SLICES as usize],
}

impl IngestLog {
    pub fn attach(store: &dyn Store) -> StoreResult<Arc<Self>> {
        let log = Arc::new(IngestLog {
            next_seq: AtomicU64::new(0),
            pending: std::array::from_fn(|_| AtomicU64::new(0)),
        });
        let snapshot = store.snapshot()?;
        let mut last = 0u64;
        for slice in 0..SLICES {
            snapshot.scan(Table::TelemetryLog, &[slice], None, false, &mut |k, _| {
                last = last.max(seq_of(k).map_or(0, |s| s + 1));
                log.pending[usize::from(slice)].fetch_add(1, Ordering::Relaxed);
                Ok(true)
            })?;
        }
        log.next_seq.store(last, Ordering::Relaxed);
        let listener = Arc::clone(&log);
        store.on_commit(Arc::new(move |mutations: &[Mutation]| {
            for m in mutations.iter().filter(|m| m.table == Table::TelemetryLog) {
                let Some(slice) = m
                    .key
                    .first()
                    .and_then(|s| listener.pending.get(usize::from(*s)))
                else {
                    continue;
                };
                if m.value.is_some() {
                    slice.fetch_add(1, Ordering::Relaxed);
                } else {
                    let _ = slice.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                        Some(n.saturating_sub(1))
                    });
                }
            }
        }));
        Ok(log)
    }

    /// The sequence number the next entry will get: inside a write job,
    /// every entry logged so far has a smaller one.
    pub fn next_seq(&self) -> u64 {
        self.next_seq.load(Ordering::Relaxed)
    }

    /// Entries waiting in `slice` (committed appends minus removals).
    pub fn pending(&self, slice: u8) -> u64 {
        self.pending
            .get(usize::from(slice))
            .map_or(0, |n| n.load(Ordering::Relaxed))
    }

    /// Stages one entry with `points` of one entity. Called inside a write
    /// job; sequence numbers a rolled-back batch used are simply skipped.
    pub fn append(
        &self,
        changes: &mut Changes,
        tenant: TenantId,
        entity: Uuid,
        points: &[(u32, i64, &DataValue)],
    ) {
        if points.is_empty() {
            return;
        }
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        changes.put(
            Table::TelemetryLog,
            entry_key(slice_of(entity), seq),
            encode_entry(tenant, entity, points.iter().copied()),
        );
    }
}

fn seq_of(key: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(key.get(1..9)?.try_into().ok()?))
}

/// Visits the entries of one entity in its slice, oldest first, with their
/// keys; `visit` returns false to stop.
fn entries_of(
    r: &dyn KvRead,
    tenant: TenantId,
    entity: Uuid,
    visit: &mut Visitor<'_>,
) -> StoreResult<()> {
    r.scan(
        Table::TelemetryLog,
        &[slice_of(entity)],
        None,
        false,
        &mut |k, v| {
            if entry_owner(v) == Some((tenant.0, entity)) {
                return visit(k, v);
            }
            Ok(true)
        },
    )
}

/// The log's points of one series with `start <= ts < end`, by time; a later
/// entry's point replaces an earlier one at the same time.
pub fn points_of(
    r: &dyn KvRead,
    tenant: TenantId,
    entity: Uuid,
    key: u32,
    start: i64,
    end: i64,
) -> StoreResult<BTreeMap<i64, DataValue>> {
    let mut out = BTreeMap::new();
    entries_of(r, tenant, entity, &mut |_, v| {
        for (k, ts, value) in decode_points(v)? {
            if k == key && ts >= start && ts < end {
                out.insert(ts, value);
            }
        }
        Ok(true)
    })?;
    Ok(out)
}

/// Every logged point of one entity, oldest entry first.
pub fn visit_points(
    r: &dyn KvRead,
    tenant: TenantId,
    entity: Uuid,
    visit: &mut dyn FnMut(LoggedPoint),
) -> StoreResult<()> {
    entries_of(r, tenant, entity, &mut |k, v| {
        let seq = seq_of(k).ok_or_else(|| corrupt("short key"))?;
        for (key, ts, value) in decode_points(v)? {
            visit(LoggedPoint {
                seq,
                key,
                ts,
                value,
            });
        }
        Ok(true)
    })
}

/// Removes the points of `keys` with `start <= ts < end` from the entity's
/// entries: each touched entry is rewritten without them, or removed.
pub fn stage_delete(
    r: &dyn KvRead,
    changes: &mut Changes,
    tenant: TenantId,
    entity: Uuid,
    keys: &[u32],
    start: i64,
    end: i64,
) -> StoreResult<()> {
    entries_of(r, tenant, entity, &mut |k, v| {
        let points = decode_points(v)?;
        let kept: Vec<(u32, i64, &DataValue)> = points
            .iter()
            .filter(|(key, ts, _)| !(keys.contains(key) && *ts >= start && *ts < end))
            .map(|(key, ts, value)| (*key, *ts, value))
            .collect();
        if kept.len() == points.len() {
            return Ok(true);
        }
        if kept.is_empty() {
            changes.delete(Table::TelemetryLog, k.to_vec());
        } else {
            changes.put(
                Table::TelemetryLog,
                k.to_vec(),
                encode_entry(tenant, entity, kept.into_iter()),
            );
        }
        Ok(true)
    })
}

/// Keys of every entry of one entity (to remove its data with it).
pub fn keys_of(r: &dyn KvRead, tenant: TenantId, entity: Uuid) -> StoreResult<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    entries_of(r, tenant, entity, &mut |k, _| {
        out.push(k.to_vec());
        Ok(true)
    })?;
    Ok(out)
}

/// Keys of every entry of one tenant.
pub fn keys_of_tenant(r: &dyn KvRead, tenant: TenantId) -> StoreResult<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    r.scan(Table::TelemetryLog, &[], None, false, &mut |k, v| {
        if entry_owner(v).is_some_and(|(t, _)| t == tenant.0) {
            out.push(k.to_vec());
        }
        Ok(true)
    })?;
    Ok(out)
}

/// Moves up to `max_entries` of the oldest entries of `slice` into the
/// per-series table (folding their newest points into `latest`) and
/// removes them from the log, in the caller's job (so
/// both happen in one commit). Returns how many entries moved.
pub fn stage_compaction(
    r: &dyn KvRead,
    changes: &mut Changes,
    slice: u8,
    max_entries: usize,
) -> StoreResult<usize> {
    let mut entries: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    r.scan(Table::TelemetryLog, &[slice], None, false, &mut |k, v| {
        entries.push((k.to_vec(), v.to_vec()));
        Ok(entries.len() < max_entries)
    })?;
    // Grouped by series and sorted by time; a later entry's point replaces
    // an earlier one of the same series and time.
    let mut by_series: BTreeMap<(Uuid, Uuid, u32), BTreeMap<i64, Vec<u8>>> = BTreeMap::new();
    let mut compacted = Vec::new();
    for (k, v) in &entries {
        let (tenant, entity) = entry_owner(v).ok_or_else(|| corrupt("short entry"))?;
        let seq = seq_of(k).ok_or_else(|| corrupt("short key"))?;
        for (key, ts, value) in decode_points(v)? {
            by_series
                .entry((tenant, entity, key))
                .or_default()
                .insert(ts, encode_value(&value));
            compacted.push((
                TenantId(tenant),
                entity,
                LoggedPoint {
                    seq,
                    key,
                    ts,
                    value,
                },
            ));
        }
    }
    // Entries left in the slice come after the last one taken; none are
    // left (before entries yet to be logged) when fewer than asked were there.
    let remaining_from = match entries.last().and_then(|(k, _)| seq_of(k)) {
        Some(last) if entries.len() == max_entries => last + 1,
        _ => u64::MAX,
    };
    super::latest::stage_compacted(r, changes, compacted, remaining_from)?;
    for ((tenant, entity, key), points) in by_series {
        let points = points.into_iter().collect();
        series_chunks::stage_merge(r, changes, TenantId(tenant), entity, key, points)?;
    }
    for (k, _) in &entries {
        changes.delete(Table::TelemetryLog, k.clone());
    }
    Ok(entries.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_reject_truncation() {
        let (tenant, entity) = (TenantId(Uuid::new_v4()), Uuid::new_v4());
        let points = vec![
            (3, -5, DataValue::Double(1.5)),
            (7, 1_700_000_000_000, DataValue::String("on".into())),
            (3, 9, DataValue::Json(serde_json::json!({"a": 1}))),
        ];
        let bytes = encode_entry(tenant, entity, points.iter().map(|(k, t, v)| (*k, *t, v)));
        assert_eq!(entry_owner(&bytes), Some((tenant.0, entity)));
        assert_eq!(decode_points(&bytes).unwrap(), points);
        for cut in [10, 40, bytes.len() - 1] {
            assert!(decode_points(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn slices_spread_ids_and_stay_in_range() {
        let mut seen = [0u32; SLICES as usize];
        for _ in 0..1600 {
            seen[usize::from(slice_of(Uuid::new_v4()))] += 1;
        }
        assert!(seen.iter().all(|n| *n > 40), "{seen:?}");
    }
}
