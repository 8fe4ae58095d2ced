//! The latest value of each key: the `latest` table merged with the newer
//! points still waiting in the ingest log.
//!
//! Ingest does not touch `latest` at all (a commit holding a point for each
//! of thousands of series would otherwise rewrite every leaf of it): the
//! latest value is the newest of the row's value and the entity's logged
//! points, and compaction folds the logged points into the row as it moves
//! them.
//!
//! Deleting a latest value leaves a row that hides the points logged before
//! it (those with a smaller sequence number, `hidden_before`), so that older
//! points still waiting in the log do not come back as the latest value;
//! points logged after the deletion count again.

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::domain::ids::TenantId;
use crate::domain::telemetry::DataValue;

use super::codec::{Key, time_at};
use super::telemetry::{decode_value, entity_prefix, series_prefix};
use super::telemetry_log::{Compacted, Logged};
use super::{Changes, KvRead, StoreError, StoreResult, Table};

/// One row of the `latest` table: hidden_before (u64) ‖ [time ‖ encoded value].
#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct Row {
    /// The value, kept encoded (decoded only when returned).
    pub value: Option<(i64, Vec<u8>)>,
    /// Logged points of entries before this sequence number are hidden (0: none).
    pub hidden_before: u64,
}

fn corrupt(reason: &str) -> StoreError {
    StoreError::corrupt(Table::Latest, reason)
}

fn encode_row(row: &Row) -> Vec<u8> {
    let mut out = row.hidden_before.to_be_bytes().to_vec();
    if let Some((ts, value)) = &row.value {
        out.extend(Key::new().time(*ts).build());
        out.extend(value);
    }
    out
}

fn decode_row(bytes: &[u8]) -> StoreResult<Row> {
    let hidden: [u8; 8] = bytes
        .get(..8)
        .and_then(|h| h.try_into().ok())
        .ok_or_else(|| corrupt("short row"))?;
    let value = match bytes.get(8..) {
        Some([]) | None => None,
        Some(rest) => {
            let ts = time_at(rest, 0).ok_or_else(|| corrupt("short value time"))?;
            Some((ts, rest[8..].to_vec()))
        }
    };
    Ok(Row {
        value,
        hidden_before: u64::from_be_bytes(hidden),
    })
}

pub(super) fn read(r: &dyn KvRead, tenant: TenantId, entity: Uuid, key: u32) -> StoreResult<Row> {
    r.get(Table::Latest, &series_prefix(tenant, entity, key))?
        .map_or(Ok(Row::default()), |b| decode_row(&b))
}

/// Stages `row`, or the removal of a row that says nothing.
pub(super) fn write(changes: &mut Changes, tenant: TenantId, entity: Uuid, key: u32, row: &Row) {
    let k = series_prefix(tenant, entity, key);
    if *row == Row::default() {
        changes.delete(Table::Latest, k);
    } else {
        changes.put(Table::Latest, k, encode_row(row));
    }
}

/// The latest value given the row and the key's logged points (in log
/// order): the newest visible point if it is at least as new as the row's
/// value (the log is newer on a tie), else the row's value.
pub(super) fn merged<'a>(row: &'a Row, logged: &'a [Logged]) -> Option<(i64, &'a [u8])> {
    let newest =
        logged
            .iter()
            .filter(|p| p.seq >= row.hidden_before)
            .fold(None::<&Logged>, |best, p| match best {
                Some(b) if b.ts > p.ts => Some(b),
                _ => Some(p),
            });
    match (&row.value, newest) {
        (Some((ts, value)), Some(p)) if p.ts < *ts => Some((*ts, value.as_slice())),
        (_, Some(p)) => Some((p.ts, p.value.as_slice())),
        (Some((ts, value)), None) => Some((*ts, value.as_slice())),
        (None, None) => None,
    }
}

fn decoded(found: Option<(i64, &[u8])>) -> StoreResult<Option<(i64, DataValue)>> {
    found
        .map(|(ts, value)| Ok((ts, decode_value(Table::Latest, value)?)))
        .transpose()
}

/// The latest value of one key.
pub fn get(
    r: &dyn KvRead,
    tenant: TenantId,
    entity: Uuid,
    key: u32,
) -> StoreResult<Option<(i64, DataValue)>> {
    Ok(get_many(r, tenant, entity, &[key])?.pop().flatten())
}

/// The latest values of several keys (in their order), reading the
/// entity's log once for all of them.
pub fn get_many(
    r: &dyn KvRead,
    tenant: TenantId,
    entity: Uuid,
    keys: &[u32],
) -> StoreResult<Vec<Option<(i64, DataValue)>>> {
    let logged = super::telemetry_log::points_by_key(r, tenant, entity, Some(keys))?;
    keys.iter()
        .map(|key| {
            let row = read(r, tenant, entity, *key)?;
            decoded(merged(&row, logged.get(key).map_or(&[], Vec::as_slice)))
        })
        .collect()
}

/// Every latest value of an entity, by key id.
pub fn all(
    r: &dyn KvRead,
    tenant: TenantId,
    entity: Uuid,
) -> StoreResult<Vec<(u32, i64, DataValue)>> {
    let mut rows: BTreeMap<u32, Row> = BTreeMap::new();
    r.scan(
        Table::Latest,
        &entity_prefix(tenant, entity),
        None,
        false,
        &mut |k, v| {
            if let Some(Ok(id)) = k.get(32..).map(<[u8; 4]>::try_from) {
                rows.insert(u32::from_be_bytes(id), decode_row(v)?);
            }
            Ok(true)
        },
    )?;
    let logged = super::telemetry_log::points_by_key(r, tenant, entity, None)?;
    let mut keys: Vec<u32> = rows.keys().chain(logged.keys()).copied().collect();
    keys.sort_unstable();
    keys.dedup();
    let none = Row::default();
    let mut out = Vec::new();
    for key in keys {
        let row = rows.get(&key).unwrap_or(&none);
        let points = logged.get(&key).map_or(&[][..], Vec::as_slice);
        if let Some((ts, value)) = decoded(merged(row, points))? {
            out.push((key, ts, value));
        }
    }
    Ok(out)
}

/// Folds the points a compaction takes from the log into the rows, in the
/// compaction's job. `remaining_from`: every entry still in the slice after
/// this compaction has at least this sequence number, so a row that hides
/// nothing from there on stops hiding (and goes, if it has no value).
pub(super) fn stage_compacted(
    r: &dyn KvRead,
    changes: &mut Changes,
    series: &Compacted,
    remaining_from: u64,
) -> StoreResult<()> {
    for ((tenant, entity, key), points) in series {
        let row = read(r, *tenant, *entity, *key)?;
        // Newest first; the first visible one is the newest visible.
        let newest = points
            .iter()
            .rev()
            .find(|(_, (seq, _))| *seq >= row.hidden_before);
        let newer = newest.filter(|(ts, _)| row.value.as_ref().is_none_or(|(at, _)| *ts >= at));
        let folded = Row {
            value: newer
                .map(|(ts, (_, value))| (*ts, value.clone()))
                .or_else(|| row.value.clone()),
            hidden_before: if row.hidden_before <= remaining_from {
                0
            } else {
                row.hidden_before
            },
        };
        if folded != row {
            write(changes, *tenant, *entity, *key, &folded);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::telemetry::encode_value;

    #[test]
    fn rows_round_trip() {
        let value = |v: DataValue| encode_value(&v);
        for row in [
            Row {
                value: Some((-3, value(DataValue::Double(1.5)))),
                hidden_before: 0,
            },
            Row {
                value: Some((1_700_000_000_000, value(DataValue::String("x".into())))),
                hidden_before: 42,
            },
            Row {
                value: None,
                hidden_before: 42,
            },
        ] {
            assert_eq!(decode_row(&encode_row(&row)).unwrap(), row);
        }
        assert!(decode_row(&[0; 4]).is_err());
        assert!(decode_row(&[0, 0, 0, 0, 0, 0, 0, 1, 9]).is_err());
    }
}
