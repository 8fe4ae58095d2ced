//! Time series split between the ingest log and the per-series table read
//! back exactly like one table, whatever has been compacted.

use std::collections::BTreeMap;
use std::sync::Arc;

use uuid::Uuid;

use super::telemetry::{self as ts, Deletion, Series, Window};
use super::telemetry_log::{self, SLICES};
use super::*;
use crate::domain::ids::TenantId;
use crate::domain::telemetry::DataValue;

async fn append(
    store: &dyn Store,
    series: &Series,
    tenant: TenantId,
    entity: Uuid,
    points: Vec<(u32, i64, DataValue)>,
) {
    let log = Arc::clone(&series.log);
    write::<_, StoreError, _>(store, move |_| {
        let mut changes = Changes::new();
        let refs: Vec<_> = points.iter().map(|(k, t, v)| (*k, *t, v)).collect();
        log.append(&mut changes, tenant, entity, &refs);
        Ok(((), changes))
    })
    .await
    .unwrap();
}

/// One point of key 0 in its own entry.
async fn append_one(
    store: &dyn Store,
    series: &Series,
    tenant: TenantId,
    entity: Uuid,
    ts: i64,
    v: i64,
) {
    append(
        store,
        series,
        tenant,
        entity,
        vec![(0, ts, DataValue::Long(v))],
    )
    .await;
}

async fn delete(
    store: &dyn Store,
    series: &Series,
    tenant: TenantId,
    entity: Uuid,
    keys: Vec<u32>,
    deletion: Deletion,
) {
    let log = Arc::clone(&series.log);
    write::<_, StoreError, _>(store, move |view| {
        let mut changes = Changes::new();
        ts::stage_delete(view, &mut changes, &log, tenant, entity, &keys, deletion)?;
        Ok(((), changes))
    })
    .await
    .unwrap();
}

async fn compact(store: &dyn Store, slice: u8, max: usize) -> usize {
    write::<_, StoreError, _>(store, move |view| {
        let mut changes = Changes::new();
        let moved = telemetry_log::stage_compaction(view, &mut changes, slice, max)?;
        Ok((moved, changes))
    })
    .await
    .unwrap()
}

/// Stages a compaction prepared earlier, or (if it no longer applies)
/// compacts in the writer; true if the prepared one applied.
async fn compact_prepared(
    store: &dyn Store,
    prepared: telemetry_log::PreparedCompaction,
    slice: u8,
    max: usize,
) -> bool {
    write::<_, StoreError, _>(store, move |view| {
        if let Some(changes) = prepared.if_current(view)? {
            return Ok((true, changes));
        }
        let mut changes = Changes::new();
        telemetry_log::stage_compaction(view, &mut changes, slice, max)?;
        Ok((false, changes))
    })
    .await
    .unwrap()
}

fn scan(
    store: &dyn Store,
    tenant: TenantId,
    entity: Uuid,
    key: u32,
    window: Window,
    limit: usize,
) -> Vec<(i64, DataValue)> {
    let snap = store.snapshot().unwrap();
    let mut out = Vec::new();
    ts::scan_points(&*snap, tenant, entity, key, window, &mut |t, v| {
        out.push((t, v));
        out.len() < limit
    })
    .unwrap();
    out
}

/// Key 0's points in [0, 10), oldest first.
fn history(store: &dyn Store, tenant: TenantId, entity: Uuid) -> Vec<(i64, DataValue)> {
    scan(
        store,
        tenant,
        entity,
        0,
        Window::oldest_first(0, 10),
        usize::MAX,
    )
}

fn count(store: &dyn Store, table: Table) -> usize {
    let snap = store.snapshot().unwrap();
    let mut n = 0;
    snap.scan(table, &[], None, false, &mut |_, _| {
        n += 1;
        Ok(true)
    })
    .unwrap();
    n
}

fn check_latest(
    store: &dyn Store,
    tenant: TenantId,
    entities: &[Uuid],
    want: &BTreeMap<(Uuid, u32), Option<(i64, DataValue)>>,
    step: i64,
) {
    let snap = store.snapshot().unwrap();
    for entity in entities {
        let mut all = Vec::new();
        let mut each = Vec::new();
        for key in 0..2u32 {
            let expected = want.get(&(*entity, key)).cloned().flatten();
            let got = latest::get(&*snap, tenant, *entity, key).unwrap();
            assert_eq!(got, expected, "latest of key {key} at step {step}");
            each.push(expected.clone());
            if let Some((t, v)) = expected {
                all.push((key, t, v));
            }
        }
        assert_eq!(
            latest::get_many(&*snap, tenant, *entity, &[1, 0]).unwrap(),
            vec![each[1].clone(), each[0].clone()],
            "several keys at once, in the order asked, step {step}"
        );
        assert_eq!(
            latest::all(&*snap, tenant, *entity).unwrap(),
            all,
            "step {step}"
        );
    }
}

/// A small deterministic generator, so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

/// Random appends (overwriting times now and then), compactions of random
/// slices (in the writer, or prepared from a snapshot some steps earlier),
/// and partial deletes, checked after every step against a plain map:
/// every window, both directions, with and without a limit.
#[tokio::test]
async fn merged_reads_match_a_model_through_appends_compactions_and_deletes() {
    for (_, store, _dir) in super::tests::both() {
        let series = Series::attach(&*store).unwrap();
        let tenant = TenantId(Uuid::new_v4());
        let entities: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
        let mut model: BTreeMap<(Uuid, u32), BTreeMap<i64, DataValue>> = BTreeMap::new();
        // Latest per series: the newest point by time, the last written on a
        // tie; unchanged by deleting points unless the deletion asks.
        let mut latest_model: BTreeMap<(Uuid, u32), Option<(i64, DataValue)>> = BTreeMap::new();
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let mut prepared = None;
        let (mut applied, mut redone) = (0, 0);
        for step in 0..400 {
            let entity = entities[rng.next(3) as usize];
            match rng.next(10) {
                0..=5 => {
                    let points: Vec<(u32, i64, DataValue)> = (0..1 + rng.next(4))
                        .map(|_| {
                            (
                                rng.next(2) as u32,
                                rng.next(40) as i64 - 5,
                                DataValue::Long(step),
                            )
                        })
                        .collect();
                    for (k, t, v) in &points {
                        model.entry((entity, *k)).or_default().insert(*t, v.clone());
                        let current = latest_model.entry((entity, *k)).or_default();
                        if current.as_ref().is_none_or(|(c, _)| t >= c) {
                            *current = Some((*t, v.clone()));
                        }
                    }
                    append(&*store, &series, tenant, entity, points).await;
                }
                6..=8 => {
                    // Few slices, so a prepared compaction often meets
                    // appends and deletes of its own slice before it lands.
                    let slice = telemetry_log::slice_of(entity);
                    let max = 1 + rng.next(3) as usize;
                    match (rng.next(2), prepared.take()) {
                        (0, _) => {
                            compact(&*store, slice, max).await;
                        }
                        (_, Some((slice, max, p))) => {
                            if compact_prepared(&*store, p, slice, max).await {
                                applied += 1;
                            } else {
                                redone += 1;
                            }
                        }
                        (_, None) => {
                            let snapshot = store.snapshot().unwrap();
                            let p =
                                telemetry_log::prepare_compaction(&*snapshot, slice, max).unwrap();
                            prepared = Some((slice, max, p));
                        }
                    }
                }
                _ => {
                    // One key or both: a device message often holds several.
                    let keys: Vec<u32> = match rng.next(3) {
                        2 => vec![0, 1],
                        k => vec![k as u32],
                    };
                    let start = rng.next(40) as i64 - 5;
                    let deletion = Deletion {
                        start,
                        end: start + rng.next(10) as i64,
                        latest: rng.next(2) == 0,
                        rewrite_latest: rng.next(2) == 0,
                    };
                    delete(&*store, &series, tenant, entity, keys.clone(), deletion).await;
                    for key in keys {
                        let points = model.entry((entity, key)).or_default();
                        points.retain(|t, _| *t < deletion.start || *t >= deletion.end);
                        let current = latest_model.entry((entity, key)).or_default();
                        if deletion.latest
                            && let Some((t, _)) = current
                            && *t >= deletion.start
                            && *t < deletion.end
                        {
                            *current = if deletion.rewrite_latest {
                                points.iter().next_back().map(|(t, v)| (*t, v.clone()))
                            } else {
                                None
                            };
                        }
                    }
                }
            }
            check_latest(&*store, tenant, &entities, &latest_model, step);
            for entity in &entities {
                for key in 0..2u32 {
                    let want = model.get(&(*entity, key)).cloned().unwrap_or_default();
                    let (start, end) = (rng.next(40) as i64 - 5, rng.next(40) as i64);
                    let window: Vec<(i64, DataValue)> = want
                        .range(start..end.max(start))
                        .map(|(t, v)| (*t, v.clone()))
                        .collect();
                    assert_eq!(
                        scan(
                            &*store,
                            tenant,
                            *entity,
                            key,
                            Window::oldest_first(start, end),
                            usize::MAX
                        ),
                        window,
                        "step {step}"
                    );
                    let newest: Vec<_> = window.iter().rev().take(3).cloned().collect();
                    assert_eq!(
                        scan(
                            &*store,
                            tenant,
                            *entity,
                            key,
                            Window::newest_first(start, end),
                            3
                        ),
                        newest,
                        "step {step}"
                    );
                }
            }
        }
        assert!(
            applied > 5 && redone > 0,
            "prepared compactions applied {applied}, redone {redone}"
        );
        // Compacting everything empties the log and changes no answer.
        for slice in 0..SLICES {
            while compact(&*store, slice, 1000).await > 0 {}
        }
        assert_eq!(count(&*store, Table::TelemetryLog), 0);
        check_latest(&*store, tenant, &entities, &latest_model, 1000);
        for ((entity, key), want) in &model {
            let all: Vec<_> = want.iter().map(|(t, v)| (*t, v.clone())).collect();
            assert_eq!(
                scan(
                    &*store,
                    tenant,
                    *entity,
                    *key,
                    Window::oldest_first(i64::MIN, i64::MAX),
                    usize::MAX
                ),
                all
            );
        }
    }
}

#[tokio::test]
async fn a_reattached_log_counts_what_waits_and_never_reuses_a_sequence() {
    for (_, store, _dir) in super::tests::both() {
        let series = Series::attach(&*store).unwrap();
        let tenant = TenantId(Uuid::new_v4());
        let entity = Uuid::new_v4();
        let slice = telemetry_log::slice_of(entity);
        append_one(&*store, &series, tenant, entity, 1, 1).await;
        append_one(&*store, &series, tenant, entity, 2, 2).await;
        assert_eq!(series.log.pending(slice), 2);

        let again = Series::attach(&*store).unwrap();
        assert_eq!(again.log.pending(slice), 2);
        append_one(&*store, &again, tenant, entity, 1, 9).await;
        assert_eq!(
            count(&*store, Table::TelemetryLog),
            3,
            "a reused sequence would overwrite an entry"
        );
        // The newest entry wins the tie at time 1.
        let all = history(&*store, tenant, entity);
        assert_eq!(all, vec![(1, DataValue::Long(9)), (2, DataValue::Long(2))]);

        assert_eq!(compact(&*store, slice, 100).await, 3);
        assert_eq!(again.log.pending(slice), 0);
        assert_eq!(history(&*store, tenant, entity), all);
    }
}

#[tokio::test]
async fn an_entitys_and_a_tenants_data_lists_its_log_entries() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let series = Series::attach(&*store).unwrap();
    let (tenant, other) = (TenantId(Uuid::new_v4()), TenantId(Uuid::new_v4()));
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    append(
        &*store,
        &series,
        tenant,
        a,
        vec![(0, 1, DataValue::Long(1))],
    )
    .await;
    append(
        &*store,
        &series,
        tenant,
        b,
        vec![(0, 1, DataValue::Long(1))],
    )
    .await;
    append(&*store, &series, other, a, vec![(0, 1, DataValue::Long(1))]).await;
    let snap = store.snapshot().unwrap();
    let logged = |keys: Vec<(Table, Vec<u8>)>| {
        keys.iter()
            .filter(|(t, _)| *t == Table::TelemetryLog)
            .count()
    };
    assert_eq!(logged(ts::all_keys_of(&*snap, tenant, a).unwrap()), 1);
    assert_eq!(logged(tenants::keyed_rows(&*snap, tenant).unwrap()), 2);
    assert_eq!(logged(tenants::keyed_rows(&*snap, other).unwrap()), 1);
}

#[tokio::test]
async fn a_deleted_latest_value_hides_older_logged_points_until_a_new_one_comes() {
    for (_, store, _dir) in super::tests::both() {
        let series = Series::attach(&*store).unwrap();
        let (tenant, entity) = (TenantId(Uuid::new_v4()), Uuid::new_v4());
        let latest_of = |store: &dyn Store| {
            latest::get(&*store.snapshot().unwrap(), tenant, entity, 0).unwrap()
        };
        append_one(&*store, &series, tenant, entity, 1, 1).await;
        append_one(&*store, &series, tenant, entity, 5, 5).await;
        let deletion = Deletion {
            start: 5,
            end: 6,
            latest: true,
            rewrite_latest: false,
        };
        delete(&*store, &series, tenant, entity, vec![0], deletion).await;
        assert_eq!(
            latest_of(&*store),
            None,
            "the point at 1 is older than the deletion"
        );
        let slice = telemetry_log::slice_of(entity);
        assert_eq!(compact(&*store, slice, 100).await, 1);
        assert_eq!(latest_of(&*store), None, "compaction keeps it deleted");
        assert_eq!(
            count(&*store, Table::Latest),
            0,
            "the tombstone went with the last point it hid"
        );

        append_one(&*store, &series, tenant, entity, 3, 3).await;
        assert_eq!(latest_of(&*store), Some((3, DataValue::Long(3))));
        // The point at 1 is still history.
        let all = history(&*store, tenant, entity);
        assert_eq!(all, vec![(1, DataValue::Long(1)), (3, DataValue::Long(3))]);
    }
}

#[tokio::test]
async fn a_deleted_latest_value_stays_deleted_across_a_restart_and_new_points_show() {
    // Regression: the next sequence number was recomputed from the log
    // alone, so after a restart with an empty log new points got numbers
    // below the deletion's and stayed hidden.
    for (_, store, _dir) in super::tests::both() {
        let series = Series::attach(&*store).unwrap();
        let (tenant, entity) = (TenantId(Uuid::new_v4()), Uuid::new_v4());
        let latest_of = |store: &dyn Store| {
            latest::get(&*store.snapshot().unwrap(), tenant, entity, 0).unwrap()
        };
        append_one(&*store, &series, tenant, entity, 5, 5).await;
        assert_eq!(
            compact(&*store, telemetry_log::slice_of(entity), 100).await,
            1
        );
        let deletion = Deletion {
            start: 5,
            end: 6,
            latest: true,
            rewrite_latest: false,
        };
        delete(&*store, &series, tenant, entity, vec![0], deletion).await;
        assert_eq!(latest_of(&*store), None);

        let restarted = Series::attach(&*store).unwrap();
        append_one(&*store, &restarted, tenant, entity, 7, 7).await;
        assert_eq!(latest_of(&*store), Some((7, DataValue::Long(7))));
    }
}

#[tokio::test]
async fn keeping_the_latest_value_while_deleting_its_point_keeps_what_it_hid_hidden() {
    // Log A@30, B@50; delete the latest [40, 60) without a replacement; C@20
    // arrives; then delete [20, 21) keeping the latest: C's point goes, C
    // stays the latest, and A (hidden by the first deletion) stays hidden.
    for (_, store, _dir) in super::tests::both() {
        let series = Series::attach(&*store).unwrap();
        let (tenant, entity) = (TenantId(Uuid::new_v4()), Uuid::new_v4());
        let latest_of = |store: &dyn Store| {
            latest::get(&*store.snapshot().unwrap(), tenant, entity, 0).unwrap()
        };
        for (t, v) in [(30, 1), (50, 2)] {
            append_one(&*store, &series, tenant, entity, t, v).await;
        }
        let drop_latest = Deletion {
            start: 40,
            end: 60,
            latest: true,
            rewrite_latest: false,
        };
        delete(&*store, &series, tenant, entity, vec![0], drop_latest).await;
        append_one(&*store, &series, tenant, entity, 20, 3).await;
        assert_eq!(latest_of(&*store), Some((20, DataValue::Long(3))));
        let keep_latest = Deletion {
            start: 20,
            end: 21,
            latest: false,
            rewrite_latest: false,
        };
        delete(&*store, &series, tenant, entity, vec![0], keep_latest).await;
        assert_eq!(latest_of(&*store), Some((20, DataValue::Long(3))));
        let history = scan(
            &*store,
            tenant,
            entity,
            0,
            Window::oldest_first(0, 100),
            usize::MAX,
        );
        assert_eq!(history, vec![(30, DataValue::Long(1))]);
    }
}

#[tokio::test]
async fn a_rewritten_log_entry_is_not_counted_as_a_new_one() {
    // The per-slice count tells the compactor what waits; a deletion that
    // rewrites an entry must not make it look like two.
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let series = Series::attach(&*store).unwrap();
    let (tenant, entity) = (TenantId(Uuid::new_v4()), Uuid::new_v4());
    let slice = telemetry_log::slice_of(entity);
    let both = vec![(0, 1, DataValue::Long(1)), (1, 1, DataValue::Long(2))];
    append(&*store, &series, tenant, entity, both).await;
    assert_eq!(series.log.pending(slice), 1);
    let window = |key| Deletion {
        start: 0,
        end: 10,
        latest: key == 0,
        rewrite_latest: false,
    };
    delete(&*store, &series, tenant, entity, vec![0], window(0)).await;
    assert_eq!(
        count(&*store, Table::TelemetryLog),
        1,
        "rewritten, not removed"
    );
    assert_eq!(series.log.pending(slice), 1);
    delete(&*store, &series, tenant, entity, vec![1], window(1)).await;
    assert_eq!(count(&*store, Table::TelemetryLog), 0);
    assert_eq!(series.log.pending(slice), 0);
}

#[tokio::test]
async fn an_unreadable_log_entry_is_dropped_by_compaction_instead_of_blocking_its_slice() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let series = Series::attach(&*store).unwrap();
    let (tenant, entity) = (TenantId(Uuid::new_v4()), Uuid::new_v4());
    let slice = telemetry_log::slice_of(entity);
    append_one(&*store, &series, tenant, entity, 9, 9).await;
    write::<_, StoreError, _>(&*store, move |_| {
        let mut changes = Changes::new();
        let mut key = vec![slice];
        key.extend(1000u64.to_be_bytes());
        changes.put(Table::TelemetryLog, key, vec![1, 2, 3]);
        Ok(((), changes))
    })
    .await
    .unwrap();
    assert_eq!(compact(&*store, slice, 100).await, 2);
    assert_eq!(count(&*store, Table::TelemetryLog), 0);
    let history = history(&*store, tenant, entity);
    assert_eq!(
        history,
        vec![(9, DataValue::Long(9))],
        "the readable entry moved"
    );
}

#[tokio::test]
async fn a_prepared_compaction_applies_past_new_points_but_not_past_a_delete() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let series = Series::attach(&*store).unwrap();
    let (tenant, entity) = (TenantId(Uuid::new_v4()), Uuid::new_v4());
    let slice = telemetry_log::slice_of(entity);
    let prepare = |store: &Arc<dyn Store>| {
        let snapshot = store.snapshot().unwrap();
        telemetry_log::prepare_compaction(&*snapshot, slice, 100).unwrap()
    };
    append_one(&*store, &series, tenant, entity, 1, 1).await;
    append_one(&*store, &series, tenant, entity, 2, 2).await;
    // Points logged after the snapshot are not its business: they stay.
    let prepared = prepare(&store);
    append_one(&*store, &series, tenant, entity, 3, 3).await;
    assert!(compact_prepared(&*store, prepared, slice, 100).await);
    assert_eq!(count(&*store, Table::TelemetryLog), 1);
    // A point it moves deleted since the snapshot: it would bring the
    // point back, so the writer compacts afresh.
    append_one(&*store, &series, tenant, entity, 4, 4).await;
    let prepared = prepare(&store);
    let deletion = Deletion {
        start: 3,
        end: 4,
        latest: false,
        rewrite_latest: false,
    };
    delete(&*store, &series, tenant, entity, vec![0], deletion).await;
    assert!(!compact_prepared(&*store, prepared, slice, 100).await);
    // Nor past a delete of compacted points only (the table, not the log).
    append_one(&*store, &series, tenant, entity, 5, 5).await;
    let prepared = prepare(&store);
    let deletion = Deletion {
        start: 1,
        ..deletion
    };
    delete(
        &*store,
        &series,
        tenant,
        entity,
        vec![0],
        Deletion { end: 2, ..deletion },
    )
    .await;
    assert!(!compact_prepared(&*store, prepared, slice, 100).await);
    assert_eq!(count(&*store, Table::TelemetryLog), 0);
    let history = history(&*store, tenant, entity);
    let want: Vec<_> = [2, 4, 5].map(|t| (t, DataValue::Long(t))).to_vec();
    assert_eq!(history, want);
}
