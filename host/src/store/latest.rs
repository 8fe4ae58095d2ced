//! The latest value of each key: the `latest` table merged with the newer
//! points still waiting in the ingest log.
//!
//! Ingest does not touch `latest` at all (a commit holding a point for each
//! of thousands of series would otherwise rewrite every leaf of it): the
//! latest value is the newest of the row and the entity's logged points,
//! and compaction folds the logged points into the row as it moves them.
//!
//! Deleting a latest value without a replacement leaves a tombstone that
//! hides the points logged before it (those with a smaller sequence
//! number), so that older points still waiting in the log do not come back
//! as the latest value; points logged after the deletion count again.

use std::collections::{BTreeMap, HashMap};

use uuid::Uuid;

use crate::domain::ids::TenantId;
use crate::domain::telemetry::DataValue;

use super::codec::{Key, time_at};
use super::telemetry::{decode_value, encode_value};
use super::telemetry_log::{self, LoggedPoint};
use super::{Changes, KvRead, StoreError, StoreResult, Table};

/// Marks a tombstone where a value's tag byte would be.
const TOMBSTONE: u8 = 0xFF;

/// One row of the `latest` table.
#[derive(Debug, Clone, PartialEq)]
enum Row {
    /// time ‖ value tag ‖ value
    Value(i64, DataValue),
    /// 0 ‖ TOMBSTONE ‖ sequence: logged points before `before_seq` are hidden.
    Deleted { before_seq: u64 },
}

fn corrupt(reason: &str) -> StoreError {
    StoreError::Corrupt {
        table: Table::Latest.name(),
        reason: reason.to_owned(),
    }
}

fn row_key(tenant: TenantId, entity: Uuid, key: u32) -> Vec<u8> {
    let mut k = Key::new().id(tenant.0).id(entity).build();
    k.extend(key.to_be_bytes());
    k
}

fn encode_row(row: &Row) -> Vec<u8> {
    match row {
        Row::Value(ts, value) => {
            let mut out = Key::new().time(*ts).build();
            out.extend(encode_value(value));
            out
        }
        Row::Deleted { before_seq } => {
            let mut out = Key::new().time(0).build();
            out.push(TOMBSTONE);
            out.extend(before_seq.to_be_bytes());
            out
        }
    }
}

fn decode_row(bytes: &[u8]) -> StoreResult<Row> {
    let ts = time_at(bytes, 0).ok_or_else(|| corrupt("short row"))?;
    let rest = bytes.get(8..).unwrap_or_default();
    if rest.first() == Some(&TOMBSTONE) {
        let seq = rest
            .get(1..9)
            .and_then(|s| <[u8; 8]>::try_from(s).ok())
            .ok_or_else(|| corrupt("short tombstone"))?;
        return Ok(Row::Deleted {
            before_seq: u64::from_be_bytes(seq),
        });
    }
    Ok(Row::Value(ts, decode_value(Table::Latest, rest)?))
}

/// The newest visible logged point per key; a later entry wins a tie.
fn newest_logged(
    points: impl IntoIterator<Item = LoggedPoint>,
    hidden_before: impl Fn(u32) -> u64,
) -> HashMap<u32, (i64, DataValue)> {
    let mut best: HashMap<u32, (i64, DataValue)> = HashMap::new();
    for p in points {
        if p.seq < hidden_before(p.key) {
            continue;
        }
        if best.get(&p.key).is_none_or(|(t, _)| p.ts >= *t) {
            best.insert(p.key, (p.ts, p.value));
        }
    }
    best
}

/// The row and the newest logged point together: the newer one, the log
/// winning a tie (it is newer).
fn merge(row: Option<Row>, logged: Option<(i64, DataValue)>) -> Option<(i64, DataValue)> {
    match (row, logged) {
        (Some(Row::Value(ts, value)), Some((lts, lvalue))) => Some(if lts >= ts {
            (lts, lvalue)
        } else {
            (ts, value)
        }),
        (Some(Row::Value(ts, value)), None) => Some((ts, value)),
        (_, logged) => logged,
    }
}

fn hidden_by(row: Option<&Row>) -> u64 {
    match row {
        Some(Row::Deleted { before_seq }) => *before_seq,
        _ => 0,
    }
}

/// The latest value of one key.
pub fn get(
    r: &dyn KvRead,
    tenant: TenantId,
    entity: Uuid,
    key: u32,
) -> StoreResult<Option<(i64, DataValue)>> {
    let row = r
        .get(Table::Latest, &row_key(tenant, entity, key))?
        .map(|b| decode_row(&b))
        .transpose()?;
    let hidden = hidden_by(row.as_ref());
    let mut logged = Vec::new();
    telemetry_log::visit_points(r, tenant, entity, &mut |p| {
        if p.key == key {
            logged.push(p);
        }
    })?;
    let mut newest = newest_logged(logged, |_| hidden);
    Ok(merge(row, newest.remove(&key)))
}

/// Every latest value of an entity, by key id.
pub fn all(
    r: &dyn KvRead,
    tenant: TenantId,
    entity: Uuid,
) -> StoreResult<Vec<(u32, i64, DataValue)>> {
    let prefix = Key::new().id(tenant.0).id(entity).build();
    let mut rows: BTreeMap<u32, Row> = BTreeMap::new();
    r.scan(Table::Latest, &prefix, None, false, &mut |k, v| {
        if let Some(Ok(id)) = k.get(32..).map(<[u8; 4]>::try_from) {
            rows.insert(u32::from_be_bytes(id), decode_row(v)?);
        }
        Ok(true)
    })?;
    let mut logged = Vec::new();
    telemetry_log::visit_points(r, tenant, entity, &mut |p| logged.push(p))?;
    let mut newest = newest_logged(logged, |key| hidden_by(rows.get(&key)));
    let mut keys: Vec<u32> = rows.keys().chain(newest.keys()).copied().collect();
    keys.sort_unstable();
    keys.dedup();
    Ok(keys
        .into_iter()
        .filter_map(|key| {
            merge(rows.remove(&key), newest.remove(&key)).map(|(ts, value)| (key, ts, value))
        })
        .collect())
}

/// Sets the latest value (a replacement chosen after a deletion).
pub fn put(
    changes: &mut Changes,
    tenant: TenantId,
    entity: Uuid,
    key: u32,
    ts: i64,
    value: &DataValue,
) {
    changes.put(
        Table::Latest,
        row_key(tenant, entity, key),
        encode_row(&Row::Value(ts, value.clone())),
    );
}

/// Deletes the latest value: no value until a point is logged from
/// `next_seq` on (the log's next sequence number, read inside the same job).
pub fn delete(changes: &mut Changes, tenant: TenantId, entity: Uuid, key: u32, next_seq: u64) {
    changes.put(
        Table::Latest,
        row_key(tenant, entity, key),
        encode_row(&Row::Deleted {
            before_seq: next_seq,
        }),
    );
}

/// Folds the points of compacted log entries into the rows, in the
/// compaction's job. `remaining_from`: every entry still in the slice after
/// this compaction has at least this sequence number, so a tombstone that
/// hides nothing from there on has done its work and goes.
pub(super) fn stage_compacted(
    r: &dyn KvRead,
    changes: &mut Changes,
    compacted: Vec<(TenantId, Uuid, LoggedPoint)>,
    remaining_from: u64,
) -> StoreResult<()> {
    let mut by_series: HashMap<(TenantId, Uuid), Vec<LoggedPoint>> = HashMap::new();
    for (tenant, entity, point) in compacted {
        by_series.entry((tenant, entity)).or_default().push(point);
    }
    for ((tenant, entity), points) in by_series {
        let mut rows: HashMap<u32, Option<Row>> = HashMap::new();
        for p in &points {
            if let std::collections::hash_map::Entry::Vacant(slot) = rows.entry(p.key) {
                let row = r
                    .get(Table::Latest, &row_key(tenant, entity, p.key))?
                    .map(|b| decode_row(&b))
                    .transpose()?;
                slot.insert(row);
            }
        }
        let mut newest = newest_logged(points, |key| {
            hidden_by(rows.get(&key).and_then(Option::as_ref))
        });
        for (key, row) in rows {
            let newer = newest.remove(&key).filter(|(ts, _)| match &row {
                Some(Row::Value(row_ts, _)) => ts >= row_ts,
                _ => true,
            });
            match (newer, row) {
                (Some((ts, value)), _) => put(changes, tenant, entity, key, ts, &value),
                (None, Some(Row::Deleted { before_seq })) if before_seq <= remaining_from => {
                    changes.delete(Table::Latest, row_key(tenant, entity, key));
                }
                (None, _) => {}
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip() {
        for row in [
            Row::Value(-3, DataValue::Double(1.5)),
            Row::Value(1_700_000_000_000, DataValue::String("x".into())),
            Row::Deleted { before_seq: 42 },
        ] {
            assert_eq!(decode_row(&encode_row(&row)).unwrap(), row);
        }
        assert!(decode_row(&[0; 4]).is_err());
        assert!(decode_row(&[0, 0, 0, 0, 0, 0, 0, 0, TOMBSTONE, 1]).is_err());
    }
}
