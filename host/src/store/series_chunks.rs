//! The per-series table holds points in chunks: key tenant ‖ entity ‖ key
//! id ‖ time of the chunk's first point, value up to [`CHUNK_MAX`] points
//! sorted by time (time i64 ‖ length u32 ‖ encoded value, each).
//!
//! Why chunks: compaction moves about a hundred points per series at a
//! time; as one row per point that was a B-tree insert (and a 44-byte key)
//! per point, as chunks it is a rewrite of the series' last chunk and a new
//! one or two. A chunk covers the times from its first point up to the next
//! chunk's first point; chunks of one series never overlap.

use uuid::Uuid;

use crate::domain::ids::TenantId;

use super::codec::time_at;
use super::telemetry::{series_key, series_prefix};
use super::{Changes, KvRead, StoreError, StoreResult, Table};

/// Points per chunk at most. Small under test, so that the model tests
/// split, fill and empty chunks all the time.
pub(super) const CHUNK_MAX: usize = if cfg!(test) { 4 } else { 128 };

/// Offset of the first-point time in a chunk key.
const TIME_AT: usize = 36;

/// A point with its value still encoded.
pub(super) type RawPoint = (i64, Vec<u8>);

fn corrupt(reason: &str) -> StoreError {
    StoreError::corrupt(Table::Telemetry, reason)
}

fn encode_chunk(points: &[RawPoint]) -> Vec<u8> {
    let mut out = Vec::with_capacity(points.iter().map(|(_, v)| 12 + v.len()).sum());
    for (ts, value) in points {
        out.extend(ts.to_be_bytes());
        out.extend((value.len() as u32).to_be_bytes());
        out.extend(value);
    }
    out
}

fn decode_chunk(mut bytes: &[u8]) -> StoreResult<Vec<RawPoint>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let header: [u8; 12] = bytes
            .get(..12)
            .and_then(|h| h.try_into().ok())
            .ok_or_else(|| corrupt("short point header"))?;
        let ts = i64::from_be_bytes(header[..8].try_into().unwrap_or_default());
        let len = u32::from_be_bytes(header[8..].try_into().unwrap_or_default()) as usize;
        let value = bytes
            .get(12..12 + len)
            .ok_or_else(|| corrupt("short point value"))?;
        out.push((ts, value.to_vec()));
        bytes = &bytes[12 + len..];
    }
    Ok(out)
}

struct Series {
    tenant: TenantId,
    entity: Uuid,
    key: u32,
}

impl Series {
    fn prefix(&self) -> Vec<u8> {
        series_prefix(self.tenant, self.entity, self.key)
    }
    fn chunk_key(&self, first: i64) -> Vec<u8> {
        series_key(self.tenant, self.entity, self.key, first)
    }
}

/// The chunk whose range holds `ts`: the one with the greatest first time
/// not after it.
fn holding(r: &dyn KvRead, s: &Series, ts: i64) -> StoreResult<Option<(Vec<u8>, Vec<u8>)>> {
    let mut found = None;
    r.scan(
        Table::Telemetry,
        &s.prefix(),
        Some(&s.chunk_key(ts)),
        true,
        &mut |k, v| {
            found = Some((k.to_vec(), v.to_vec()));
            Ok(false)
        },
    )?;
    Ok(found)
}

/// The chunks whose ranges meet `[lo, hi]`, decoded, in time order.
fn meeting(
    r: &dyn KvRead,
    s: &Series,
    lo: i64,
    hi: i64,
) -> StoreResult<Vec<(Vec<u8>, Vec<RawPoint>)>> {
    let mut out = Vec::new();
    if let Some((k, v)) = holding(r, s, lo)? {
        out.push((k, decode_chunk(&v)?));
    }
    r.scan(
        Table::Telemetry,
        &s.prefix(),
        Some(&s.chunk_key(lo)),
        false,
        &mut |k, v| {
            let first = time_at(k, TIME_AT).ok_or_else(|| corrupt("short key"))?;
            if first > hi {
                return Ok(false);
            }
            if out.first().is_none_or(|(held, _)| held.as_slice() != k) {
                out.push((k.to_vec(), decode_chunk(v)?));
            }
            Ok(true)
        },
    )?;
    Ok(out)
}

/// Visits the points of one series in `[start, end)`, oldest or newest
/// first, values still encoded; `visit` returns false to stop.
#[allow(clippy::too_many_arguments)] // a series (3) and a window (3) laid flat
pub(super) fn scan(
    r: &dyn KvRead,
    tenant: TenantId,
    entity: Uuid,
    key: u32,
    start: i64,
    end: i64,
    newest_first: bool,
    visit: &mut dyn FnMut(i64, &[u8]) -> StoreResult<bool>,
) -> StoreResult<()> {
    if start >= end {
        return Ok(());
    }
    let s = Series {
        tenant,
        entity,
        key,
    };
    let from = if newest_first {
        s.chunk_key(end - 1)
    } else {
        holding(r, &s, start)?.map_or_else(|| s.chunk_key(start), |(k, _)| k)
    };
    r.scan(
        Table::Telemetry,
        &s.prefix(),
        Some(&from),
        newest_first,
        &mut |k, v| {
            let first = time_at(k, TIME_AT).ok_or_else(|| corrupt("short key"))?;
            let points = decode_chunk(v)?;
            if newest_first {
                for (ts, value) in points.iter().rev() {
                    if *ts >= end {
                        continue;
                    }
                    if *ts < start || !visit(*ts, value)? {
                        return Ok(false);
                    }
                }
                Ok(first > start)
            } else {
                if first >= end {
                    return Ok(false);
                }
                for (ts, value) in &points {
                    if *ts < start {
                        continue;
                    }
                    if *ts >= end || !visit(*ts, value)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
        },
    )
}

/// Stages `points` (sorted by time, one per time) into one series: the
/// chunks they fall into are rewritten with them (a new point replaces one
/// at the same time), and the rest go into new chunks.
pub(super) fn stage_merge(
    r: &dyn KvRead,
    changes: &mut Changes,
    tenant: TenantId,
    entity: Uuid,
    key: u32,
    points: Vec<RawPoint>,
) -> StoreResult<()> {
    let (Some((lo, _)), Some((hi, _))) = (points.first(), points.last()) else {
        return Ok(());
    };
    let s = Series {
        tenant,
        entity,
        key,
    };
    let mut touched = meeting(r, &s, *lo, *hi)?;
    // The usual case: new points come after a full chunk, which stays as it is.
    if touched.first().is_some_and(|(_, held)| {
        held.len() >= CHUNK_MAX && held.last().is_some_and(|(ts, _)| ts < lo)
    }) {
        touched.remove(0);
    }
    let mut merged: Vec<RawPoint> = Vec::with_capacity(points.len());
    let mut old = touched
        .iter_mut()
        .flat_map(|(_, held)| std::mem::take(held))
        .peekable();
    for point in points {
        while let Some(earlier) = old.next_if(|(ts, _)| *ts < point.0) {
            merged.push(earlier);
        }
        old.next_if(|(ts, _)| *ts == point.0);
        merged.push(point);
    }
    merged.extend(old);
    for (k, _) in &touched {
        changes.delete(Table::Telemetry, k.clone());
    }
    for chunk in merged.chunks(CHUNK_MAX) {
        changes.put(
            Table::Telemetry,
            s.chunk_key(chunk[0].0),
            encode_chunk(chunk),
        );
    }
    Ok(())
}

/// Stages the removal of the series' points in `[start, end)`.
pub(super) fn stage_delete(
    r: &dyn KvRead,
    changes: &mut Changes,
    tenant: TenantId,
    entity: Uuid,
    key: u32,
    start: i64,
    end: i64,
) -> StoreResult<()> {
    if start >= end {
        return Ok(());
    }
    let s = Series {
        tenant,
        entity,
        key,
    };
    for (k, points) in meeting(r, &s, start, end - 1)? {
        let kept: Vec<RawPoint> = points
            .iter()
            .filter(|(ts, _)| *ts < start || *ts >= end)
            .cloned()
            .collect();
        if kept.len() == points.len() {
            continue;
        }
        changes.delete(Table::Telemetry, k);
        if let Some((first, _)) = kept.first() {
            changes.put(Table::Telemetry, s.chunk_key(*first), encode_chunk(&kept));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_round_trip_and_reject_truncation() {
        let points = vec![(-4, vec![1, 2]), (7, vec![]), (9, vec![3; 300])];
        let bytes = encode_chunk(&points);
        assert_eq!(decode_chunk(&bytes).unwrap(), points);
        for cut in [5, 13, bytes.len() - 1] {
            assert!(decode_chunk(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }
}
