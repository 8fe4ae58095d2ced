//! Moves telemetry from the ingest log into the per-series table, one slice
//! per tick, so that each slice waits long enough to gather many points per
//! series (see `store/telemetry_log.rs` for why).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::store::telemetry::Series;
use crate::store::telemetry_log::{self, SLICES};
use crate::store::{self, Changes, Store, StoreError};

/// One slice is looked at per tick, so each is visited every
/// `TICK * SLICES` (1.6 s).
const TICK: Duration = Duration::from_millis(100);
/// A slice with this many entries waiting is compacted when visited ...
const MIN_ENTRIES: u64 = 1024;
/// ... and one with fewer, once it has waited this long (so a quiet
/// installation still compacts, but with few commits).
const MAX_WAIT: Duration = Duration::from_secs(5);
/// Entries moved by one commit at most, so one compaction never holds the
/// writer (and every device's acknowledgement) for long.
const MAX_ENTRIES_PER_COMMIT: usize = 8192;

/// Starts the compactor; it stops by itself once the store is dropped.
pub(super) fn spawn(store: &Arc<dyn Store>, series: &Arc<Series>) {
    let (weak, series) = (Arc::downgrade(store), Arc::clone(series));
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(TICK);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last = [Instant::now(); SLICES as usize];
        for slice in (0..SLICES).cycle() {
            ticks.tick().await;
            // Held for this tick only: the compactor must not keep a
            // dropped store open, and stops at the first tick without one.
            let Some(store) = weak.upgrade() else {
                return;
            };
            let waiting = series.log.pending(slice);
            let since = last[usize::from(slice)].elapsed();
            if waiting == 0 || (waiting < MIN_ENTRIES && since < MAX_WAIT) {
                continue;
            }
            match compact(&store, slice).await {
                Ok(()) => last[usize::from(slice)] = Instant::now(),
                Err(StoreError::Closed) => return,
                Err(e) => {
                    tracing::warn!(error = %e, slice, "telemetry compaction failed; retried later")
                }
            }
        }
    });
}

/// Compacts one slice in one commit. The work is done from a snapshot, off
/// the writer, which only checks and applies it: done in the writer, it held
/// every device's acknowledgement for up to 25 ms a time (the p99 of ingest).
async fn compact(store: &Arc<dyn Store>, slice: u8) -> Result<(), StoreError> {
    let snapshot = store.snapshot()?;
    let prepared = tokio::task::spawn_blocking(move || {
        telemetry_log::prepare_compaction(&*snapshot, slice, MAX_ENTRIES_PER_COMMIT)
    })
    .await
    .map_err(|_| StoreError::JobPanicked)??;
    store::write(&**store, move |view| {
        let changes = match prepared.if_current(view)? {
            Some(changes) => changes,
            None => {
                // Deleted data changed what it read since the snapshot
                // (rare): the writer does the work after all.
                let mut changes = Changes::new();
                telemetry_log::stage_compaction(view, &mut changes, slice, MAX_ENTRIES_PER_COMMIT)?;
                changes
            }
        };
        Ok::<_, StoreError>(((), changes))
    })
    .await
}

#[cfg(test)]
mod tests {
    use crate::domain::telemetry::{DataValue, TsKvEntry};
    use crate::store::telemetry_log::slice_of;

    use super::super::telemetry::{Aggregation, HistoryQuery};
    use super::super::tests::{app_with, new_device};
    use super::*;

    #[tokio::test]
    async fn a_full_slice_is_compacted_by_the_background_compactor() {
        let (app, admin) = app_with(|_| {}).await;
        let device = new_device(&app, &admin, "busy").await;
        let slice = slice_of(device.id.0);
        for ts in 0..MIN_ENTRIES as i64 {
            let point = TsKvEntry {
                ts,
                key: "temp".into(),
                value: DataValue::Long(ts),
            };
            app.ingest_telemetry(&device, vec![point]).await.unwrap();
        }
        assert_eq!(app.series.log.pending(slice), MIN_ENTRIES);
        // The slice is visited within one round of all of them.
        let deadline = Instant::now() + TICK * u32::from(SLICES) * 3;
        while app.series.log.pending(slice) > 0 {
            assert!(Instant::now() < deadline, "the slice was not compacted");
            tokio::time::sleep(TICK).await;
        }
        // Every point moved, none lost or doubled, and the latest value
        // folded into its row.
        let query = HistoryQuery {
            keys: vec!["temp".into()],
            start: 0,
            end: i64::MAX,
            interval: 0,
            limit: usize::MAX,
            agg: Aggregation::None,
            newest_first: false,
        };
        let history = app
            .telemetry_history(&admin, device.id.entity_id(), query)
            .await
            .unwrap();
        let times: Vec<i64> = history["temp"].iter().map(|(ts, _)| *ts).collect();
        assert_eq!(times, (0..MIN_ENTRIES as i64).collect::<Vec<_>>());
        let latest = app
            .latest_telemetry(&admin, device.id.entity_id(), None)
            .await
            .unwrap();
        let last = MIN_ENTRIES as i64 - 1;
        assert_eq!(latest["temp"], (last, DataValue::Long(last)));
    }
}
