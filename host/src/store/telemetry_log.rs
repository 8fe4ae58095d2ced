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
use super::telemetry::{decode_value, encode_value_into};
use super::{
    Changes, KvRead, Mutation, Reads, Recorder, Row, Store, StoreError, StoreResult, Table,
    Visitor, meta, series_chunks,
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
    StoreError::corrupt(Table::TelemetryLog, reason)
}

/// One point of a log entry: interned key id, time, encoded value
/// (`telemetry::encode_value`), borrowed from the entry.
type RawPoint<'a> = (u32, i64, &'a [u8]);

/// Writes an entry: tenant ‖ entity ‖ (key id u32 ‖ time i64 ‖ value length u32 ‖ value)*
struct EntryWriter(Vec<u8>);

impl EntryWriter {
    fn new(tenant: TenantId, entity: Uuid, points: usize) -> Self {
        let mut out = Vec::with_capacity(32 + points * 24);
        out.extend(tenant.0.as_bytes());
        out.extend(entity.as_bytes());
        EntryWriter(out)
    }

    fn push_raw(&mut self, key: u32, ts: i64, value: &[u8]) {
        self.0.extend(key.to_be_bytes());
        self.0.extend(ts.to_be_bytes());
        self.0.extend((value.len() as u32).to_be_bytes());
        self.0.extend(value);
    }

    /// Encodes the value straight into the entry (the ingest path).
    fn push(&mut self, key: u32, ts: i64, value: &DataValue) {
        self.0.extend(key.to_be_bytes());
        self.0.extend(ts.to_be_bytes());
        let len_at = self.0.len();
        self.0.extend([0; 4]);
        encode_value_into(&mut self.0, value);
        let len = (self.0.len() - len_at - 4) as u32;
        self.0[len_at..len_at + 4].copy_from_slice(&len.to_be_bytes());
    }
}

/// The owner of an entry, read without decoding its points.
fn entry_owner(bytes: &[u8]) -> Option<(Uuid, Uuid)> {
    Some((uuid_at(bytes, 0)?, uuid_at(bytes, 16)?))
}

fn decode_points(bytes: &[u8]) -> StoreResult<Vec<RawPoint<'_>>> {
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
        out.push((key, ts, value));
        rest = &rest[16 + len..];
    }
    Ok(out)
}

/// Where the next sequence number is kept when something depends on it
/// surviving a restart (a latest-value tombstone, see `latest.rs`); the log's
/// own keys say the rest.
const NEXT_SEQ: &str = "telemetry_log_next_seq";

/// The log's in-memory bookkeeping: the next sequence number, and per slice
/// how many entries wait (a hint for when to compact) and one past the
/// highest sequence number seen (so a rewritten entry is not counted as a
/// new one).
/// Kept in step by a commit listener; recounted at start-up.
#[derive(Debug)]
pub struct IngestLog {
    next_seq: AtomicU64,
    pending: [AtomicU64; SLICES as usize],
    highest: [AtomicU64; SLICES as usize],
}

impl IngestLog {
    pub fn attach(store: &dyn Store) -> StoreResult<Arc<Self>> {
        let log = Arc::new(IngestLog {
            next_seq: AtomicU64::new(0),
            pending: std::array::from_fn(|_| AtomicU64::new(0)),
            highest: std::array::from_fn(|_| AtomicU64::new(0)),
        });
        let snapshot = store.snapshot()?;
        let mut next = meta::get(&*snapshot, NEXT_SEQ)?
            .and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok())
            .map_or(0, u64::from_be_bytes);
        for slice in 0..SLICES {
            snapshot.scan(Table::TelemetryLog, &[slice], None, false, &mut |k, _| {
                let seq = seq_of(k).unwrap_or(0);
                next = next.max(seq + 1);
                log.highest[usize::from(slice)].fetch_max(seq + 1, Ordering::Relaxed);
                log.pending[usize::from(slice)].fetch_add(1, Ordering::Relaxed);
                Ok(true)
            })?;
        }
        log.next_seq.store(next, Ordering::Relaxed);
        let listener = Arc::clone(&log);
        store.on_commit(Arc::new(move |mutations: &[Mutation]| {
            for m in mutations.iter().filter(|m| m.table == Table::TelemetryLog) {
                listener.heard(m);
            }
        }));
        Ok(log)
    }

    fn heard(&self, m: &Mutation) {
        let (Some(slice), Some(seq)) = (m.key.first(), seq_of(&m.key)) else {
            return;
        };
        let (Some(pending), Some(highest)) = (
            self.pending.get(usize::from(*slice)),
            self.highest.get(usize::from(*slice)),
        ) else {
            return;
        };
        if m.value.is_none() {
            let _ = pending.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_sub(1))
            });
        } else if highest.fetch_max(seq + 1, Ordering::Relaxed) <= seq {
            pending.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Stages the next sequence number in `meta`, for a change that must
    /// not see it go back after a restart (the log may be empty by then).
    pub fn stage_next_seq(&self, changes: &mut Changes) {
        meta::put(changes, NEXT_SEQ, self.next_seq().to_be_bytes().to_vec());
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
        let mut entry = EntryWriter::new(tenant, entity, points.len());
        for (key, ts, value) in points {
            entry.push(*key, *ts, value);
        }
        changes.put(
            Table::TelemetryLog,
            entry_key(slice_of(entity), seq),
            entry.0,
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

/// A logged point of one key: its time, the sequence number of the entry
/// holding it (later entries are newer), and its encoded value.
#[derive(Debug, Clone, PartialEq)]
pub struct Logged {
    pub ts: i64,
    pub seq: u64,
    pub value: Vec<u8>,
}

/// The logged points of `keys` (every key if `None`) of one entity, per key
/// in log order (oldest entry first): one pass over the entity's slice
/// however many keys are asked for.
pub fn points_by_key(
    r: &dyn KvRead,
    tenant: TenantId,
    entity: Uuid,
    keys: Option<&[u32]>,
) -> StoreResult<BTreeMap<u32, Vec<Logged>>> {
    let mut out: BTreeMap<u32, Vec<Logged>> = BTreeMap::new();
    entries_of(r, tenant, entity, &mut |k, v| {
        let seq = seq_of(k).ok_or_else(|| corrupt("short key"))?;
        for (key, ts, value) in decode_points(v)? {
            if keys.is_none_or(|ks| ks.contains(&key)) {
                out.entry(key).or_default().push(Logged {
                    ts,
                    seq,
                    value: value.to_vec(),
                });
            }
        }
        Ok(true)
    })?;
    Ok(out)
}

/// Logged points in `[start, end)` by time, decoded; a later entry's point
/// replaces an earlier one at the same time.
pub fn in_window(logged: &[Logged], start: i64, end: i64) -> StoreResult<BTreeMap<i64, DataValue>> {
    let mut out = BTreeMap::new();
    for p in logged.iter().filter(|p| p.ts >= start && p.ts < end) {
        out.insert(p.ts, decode_value(Table::TelemetryLog, &p.value)?);
    }
    Ok(out)
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
        let kept: Vec<&RawPoint<'_>> = points
            .iter()
            .filter(|(key, ts, _)| !(keys.contains(key) && *ts >= start && *ts < end))
            .collect();
        if kept.len() == points.len() {
            return Ok(true);
        }
        if kept.is_empty() {
            changes.delete(Table::TelemetryLog, k.to_vec());
        } else {
            let mut entry = EntryWriter::new(tenant, entity, kept.len());
            for (key, ts, value) in kept {
                entry.push_raw(*key, *ts, value);
            }
            changes.put(Table::TelemetryLog, k.to_vec(), entry.0);
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

/// One series' points taken from the log by a compaction: by time, each
/// with the sequence number of its entry (a later entry's point replaces an
/// earlier one at the same time) and its encoded value.
pub(super) type Compacted = BTreeMap<(TenantId, Uuid, u32), BTreeMap<i64, (u64, Vec<u8>)>>;

/// Moves up to `max_entries` of the oldest entries of `slice` into the
/// per-series table (folding their newest points into `latest`) and removes
/// them from the log, in the caller's job, so both happen in one commit.
/// Returns how many entries moved.
///
/// An entry that cannot be decoded is dropped with an error in the log: no
/// read of its entity could succeed while it is there, and keeping it would
/// stop its slice from ever being compacted again.
pub fn stage_compaction(
    r: &dyn KvRead,
    changes: &mut Changes,
    slice: u8,
    max_entries: usize,
) -> StoreResult<usize> {
    let moved = take_oldest(r, slice, max_entries)?.stage(r, changes)?;
    Ok(moved.len())
}

/// A compaction computed from a snapshot, away from the writer (see
/// `recorded_view.rs`): the writer only checks it and applies it.
pub struct PreparedCompaction {
    /// What it read: the log entries it moves, and the `latest` rows and
    /// chunks it merged them into.
    reads: Reads,
    changes: Changes,
}

/// Computes [`stage_compaction`]'s changes from `snapshot`.
pub fn prepare_compaction(
    snapshot: &dyn KvRead,
    slice: u8,
    max_entries: usize,
) -> StoreResult<PreparedCompaction> {
    let taken = take_oldest(snapshot, slice, max_entries)?;
    let recorder = Recorder::new(snapshot);
    let mut changes = Changes::new();
    let entries = taken.stage(&recorder, &mut changes)?;
    // Entries logged after the snapshot come after these: they change
    // nothing the compaction did, so only these are checked.
    recorder.saw_run(Table::TelemetryLog, &[slice], entries);
    Ok(PreparedCompaction {
        reads: recorder.into_reads(),
        changes,
    })
}

impl PreparedCompaction {
    /// The prepared changes, if they still apply to `view` (the
    /// compaction's job's view): nothing it read has changed. `None`:
    /// something did (a delete since the snapshot).
    pub fn if_current(self, view: &dyn KvRead) -> StoreResult<Option<Changes>> {
        Ok(self.reads.still_hold(view)?.then_some(self.changes))
    }
}

/// The oldest entries of a slice, as a compaction takes them.
struct Taken {
    entries: Vec<Row>,
    series: Compacted,
    /// Every entry left in the slice has at least this sequence number.
    remaining_from: u64,
}

fn take_oldest(r: &dyn KvRead, slice: u8, max_entries: usize) -> StoreResult<Taken> {
    let mut entries: Vec<Row> = Vec::new();
    let mut series: Compacted = BTreeMap::new();
    r.scan(Table::TelemetryLog, &[slice], None, false, &mut |k, v| {
        entries.push((k.to_vec(), v.to_vec()));
        let decoded = entry_owner(v)
            .zip(seq_of(k))
            .ok_or_else(|| corrupt("short entry"))
            .and_then(|owner| Ok((owner, decode_points(v)?)));
        match decoded {
            Ok((((tenant, entity), seq), points)) => {
                for (key, ts, value) in points {
                    series
                        .entry((TenantId(tenant), entity, key))
                        .or_default()
                        .insert(ts, (seq, value.to_vec()));
                }
            }
            Err(e) => tracing::error!(error = %e, slice, "dropping an unreadable ingest-log entry"),
        }
        Ok(entries.len() < max_entries)
    })?;
    // Entries left in the slice come after the last one taken; none are
    // left (before entries yet to be logged) when fewer than asked were there.
    let remaining_from = match entries.last().and_then(|(k, _)| seq_of(k)) {
        Some(last) if entries.len() == max_entries => last + 1,
        _ => u64::MAX,
    };
    Ok(Taken {
        entries,
        series,
        remaining_from,
    })
}

impl Taken {
    /// Stages the move; returns the entries moved (removed from the log).
    fn stage(self, r: &dyn KvRead, changes: &mut Changes) -> StoreResult<Vec<Row>> {
        super::latest::stage_compacted(r, changes, &self.series, self.remaining_from)?;
        for ((tenant, entity, key), points) in self.series {
            let points = points
                .into_iter()
                .map(|(ts, (_, value))| (ts, value))
                .collect();
            series_chunks::stage_merge(r, changes, tenant, entity, key, points)?;
        }
        for (k, _) in &self.entries {
            changes.delete(Table::TelemetryLog, k.clone());
        }
        Ok(self.entries)
    }
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
        let mut entry = EntryWriter::new(tenant, entity, points.len());
        for (k, t, v) in &points {
            entry.push(*k, *t, v);
        }
        let bytes = entry.0;
        assert_eq!(entry_owner(&bytes), Some((tenant.0, entity)));
        let decoded: Vec<(u32, i64, DataValue)> = decode_points(&bytes)
            .unwrap()
            .into_iter()
            .map(|(k, t, v)| (k, t, decode_value(Table::TelemetryLog, v).unwrap()))
            .collect();
        assert_eq!(decoded, points);
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
