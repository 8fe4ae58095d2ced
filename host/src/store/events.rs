//! `events`: tenant ‖ entity ‖ type (1 byte) ‖ time ‖ id -> Event, so that
//! one entity's events of one type (a "series") are a time-ordered range:
//! listing a window is a scan, and the oldest are the first keys.
//!
//! A series holds at most `cap` events: staging new ones deletes the oldest
//! beyond it in the same job, so a guest that fails a million times keeps
//! only its last `cap` errors.

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::domain::event::{Event, EventFilter, EventType};
use crate::domain::ids::TenantId;
use crate::domain::page::{PageData, PageLink, SortOrder};

use super::codec::{Key, decode, encode, keys_under, time_at};
use super::{Changes, KvRead, StoreResult, Table};

/// tenant ‖ entity ‖ type: the series.
fn series_prefix(tenant: TenantId, entity: Uuid, event_type: EventType) -> Vec<u8> {
    let mut k = Key::new().id(tenant.0).id(entity).build();
    k.push(event_type.code());
    k
}

fn key(e: &Event) -> Vec<u8> {
    let mut k = series_prefix(e.tenant_id, e.entity_id.id, e.event_type);
    k.extend(Key::new().time(e.created_time).id(e.id.id).build());
    k
}

/// Where the time is in a key: after tenant, entity and type.
const TIME_AT: usize = 33;

/// Stages `new` events (any series) and deletes what falls out of each
/// series' `cap`: the oldest of the stored and new events together, so a
/// new event older than all `cap` stored ones is not written at all.
/// Events staged earlier in the same job are not seen by `r`: give all of
/// one job's events in one call.
pub fn stage_bounded(
    r: &dyn KvRead,
    changes: &mut Changes,
    cap: usize,
    new: Vec<Event>,
) -> StoreResult<()> {
    let mut series: BTreeMap<Vec<u8>, Vec<Event>> = BTreeMap::new();
    for e in new {
        series
            .entry(series_prefix(e.tenant_id, e.entity_id.id, e.event_type))
            .or_default()
            .push(e);
    }
    for (prefix, events) in series {
        // The newest `cap - new` stored ones stay whatever comes; only the
        // others can go (as many as there are new ones, more when the cap
        // was lowered below what is stored).
        let (stored, oldest) = droppable_keys(r, &prefix, cap.saturating_sub(events.len()))?;
        let excess = (stored + events.len()).saturating_sub(cap);
        // Those stored keys (None) and the new ones (Some), in order.
        let mut all: BTreeMap<Vec<u8>, Option<Event>> =
            oldest.into_iter().map(|k| (k, None)).collect();
        for e in events {
            all.insert(key(&e), Some(e));
        }
        for (i, (k, new)) in all.into_iter().enumerate() {
            match (i < excess, new) {
                (true, None) => changes.delete(Table::Events, k),
                (true, Some(_)) | (false, None) => {}
                (false, Some(e)) => changes.put(Table::Events, k, encode(&e)),
            }
        }
    }
    Ok(())
}

/// How many keys are under `prefix`, and all of them but the newest
/// `keep_newest`, in one pass.
fn droppable_keys(
    r: &dyn KvRead,
    prefix: &[u8],
    keep_newest: usize,
) -> StoreResult<(usize, Vec<Vec<u8>>)> {
    let (mut count, mut older) = (0, Vec::new());
    r.scan(Table::Events, prefix, None, true, &mut |k, _| {
        if count >= keep_newest {
            older.push(k.to_vec());
        }
        count += 1;
        Ok(true)
    })?;
    Ok((count, older))
}

/// Called with each selected event's key, raw value and, when the filter
/// had to decode it, the event; returns false to stop.
type EventVisitor<'a> = dyn FnMut(&[u8], &[u8], Option<Event>) -> StoreResult<bool> + 'a;

/// Which events of one entity to list or clear.
#[derive(Debug, Clone)]
pub struct EventQuery {
    pub tenant: TenantId,
    pub entity: Uuid,
    pub filter: EventFilter,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
}

impl EventQuery {
    fn window(&self) -> (i64, i64) {
        (
            self.start_time.unwrap_or(i64::MIN),
            self.end_time.unwrap_or(i64::MAX),
        )
    }

    /// Visits the events of the window in time order (or reversed): each
    /// key, and the event when the filter had to read it (it looks at
    /// bodies) or `None` with the raw value to decode if needed. Stops when
    /// `visit` says so.
    fn visit(
        &self,
        r: &dyn KvRead,
        reverse: bool,
        visit: &mut EventVisitor<'_>,
    ) -> StoreResult<()> {
        let prefix = series_prefix(self.tenant, self.entity, self.filter.event_type);
        let (from, to) = self.window();
        let start = if reverse {
            let mut k = Key::new().time(to).build();
            k.extend_from_slice(&[0xff; 16]);
            [prefix.as_slice(), &k].concat()
        } else {
            [prefix.as_slice(), &Key::new().time(from).build()].concat()
        };
        let filtered = self.filter.has_body_filter();
        r.scan(
            Table::Events,
            &prefix,
            Some(&start),
            reverse,
            &mut |k, v| {
                let Some(at) = time_at(k, TIME_AT) else {
                    return Ok(true);
                };
                if at < from || at > to {
                    // Past the far end of the window: the rest is further out.
                    return Ok((reverse && at > to) || (!reverse && at < from));
                }
                if !filtered {
                    return visit(k, v, None);
                }
                let e: Event = decode(Table::Events, v)?;
                if self.filter.matches(&e.body) {
                    visit(k, v, Some(e))
                } else {
                    Ok(true)
                }
            },
        )
    }
}

/// A page of events, newest first (oldest first with `sortOrder=ASC` and a
/// sort property), with the total in the window.
pub fn query(r: &dyn KvRead, q: &EventQuery, page: &PageLink) -> StoreResult<PageData<Event>> {
    let reverse = page.sort_order == SortOrder::Desc || page.sort_property.is_none();
    let (skip, take) = (page.offset(), page.page_size);
    let mut total = 0usize;
    let mut rows = Vec::new();
    q.visit(r, reverse, &mut |_, v, decoded| {
        if total >= skip && rows.len() < take {
            rows.push(match decoded {
                Some(e) => e,
                None => decode(Table::Events, v)?,
            });
        }
        total += 1;
        Ok(true)
    })?;
    Ok(PageData::new(rows, total, page))
}

/// The keys of the events `q` selects: for clearing them.
pub fn matching_keys(r: &dyn KvRead, q: &EventQuery) -> StoreResult<Vec<Vec<u8>>> {
    let mut keys = Vec::new();
    q.visit(r, false, &mut |k, _, _| {
        keys.push(k.to_vec());
        Ok(true)
    })?;
    Ok(keys)
}

/// Every event key of one entity (all types): for deleting them with it.
pub fn keys_of(r: &dyn KvRead, tenant: TenantId, entity: Uuid) -> StoreResult<Vec<Vec<u8>>> {
    let keys = keys_under(
        r,
        &[Table::Events],
        &Key::new().id(tenant.0).id(entity).build(),
    )?;
    Ok(keys.into_iter().map(|(_, k)| k).collect())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::event::NewEvent;
    use crate::domain::ids::DeviceId;
    use crate::store::{MemoryStore, Store, StoreError, write};

    fn error_at(tenant: TenantId, device: DeviceId, ts: i64) -> Event {
        NewEvent::error(tenant, device.entity_id(), "compute", &format!("e{ts}"), ts).into_event()
    }

    async fn stage(store: &MemoryStore, cap: usize, new: Vec<Event>) {
        write::<_, StoreError, _>(store, move |view| {
            let mut changes = Changes::new();
            stage_bounded(view, &mut changes, cap, new)?;
            Ok(((), changes))
        })
        .await
        .unwrap();
    }

    fn times(store: &MemoryStore, q: &EventQuery, page: &PageLink) -> (Vec<i64>, usize) {
        let page = query(&*store.snapshot().unwrap(), q, page).unwrap();
        (
            page.data.iter().map(|e| e.created_time).collect(),
            page.total_elements,
        )
    }

    fn link(size: &str, page: &str, order: Option<&str>) -> PageLink {
        PageLink::parse(
            Some(size),
            Some(page),
            None,
            order.map(|_| "createdTime"),
            order,
        )
        .unwrap()
    }

    #[tokio::test]
    async fn a_series_keeps_its_newest_events_up_to_the_cap() {
        let store = MemoryStore::new();
        let (tenant, device) = (TenantId::new(), DeviceId::new());
        for ts in 1..=4 {
            stage(&store, 5, vec![error_at(tenant, device, ts)]).await;
        }
        // Three more in one job: two fall out, the oldest stored ones.
        let batch = (5..=7).map(|ts| error_at(tenant, device, ts)).collect();
        stage(&store, 5, batch).await;
        // One older than everything kept is not written at all.
        stage(&store, 5, vec![error_at(tenant, device, 0)]).await;
        let q = EventQuery {
            tenant,
            entity: device.0,
            filter: EventFilter::of_type(EventType::Error),
            start_time: None,
            end_time: None,
        };
        assert_eq!(
            times(&store, &q, &link("10", "0", None)),
            (vec![7, 6, 5, 4, 3], 5)
        );
        // Another type of the same entity is another series.
        let lc = NewEvent::lifecycle(tenant, device.entity_id(), "STARTED", None, 1).into_event();
        stage(&store, 5, vec![lc]).await;
        assert_eq!(times(&store, &q, &link("10", "0", None)).1, 5);
        // The cap lowered: more stored ones go than new ones come.
        stage(&store, 2, vec![error_at(tenant, device, 8)]).await;
        assert_eq!(times(&store, &q, &link("10", "0", None)), (vec![8, 7], 2));
    }

    #[tokio::test]
    async fn lists_page_through_a_window_in_either_order_and_filter_bodies() {
        let store = MemoryStore::new();
        let (tenant, device, other) = (TenantId::new(), DeviceId::new(), DeviceId::new());
        let batch = (1..=9)
            .map(|ts| error_at(tenant, device, ts * 10))
            .chain([error_at(tenant, other, 50)])
            .collect();
        stage(&store, 100, batch).await;
        let mut q = EventQuery {
            tenant,
            entity: device.0,
            filter: EventFilter::of_type(EventType::Error),
            start_time: Some(20),
            end_time: Some(70),
        };
        assert_eq!(
            times(&store, &q, &link("4", "0", None)),
            (vec![70, 60, 50, 40], 6)
        );
        assert_eq!(times(&store, &q, &link("4", "1", None)), (vec![30, 20], 6));
        assert_eq!(
            times(&store, &q, &link("4", "0", Some("ASC"))),
            (vec![20, 30, 40, 50], 6)
        );
        q.filter = EventFilter::from_json(json!({"eventType": "ERROR", "errorStr": "E5"})).unwrap();
        assert_eq!(times(&store, &q, &link("4", "0", None)), (vec![50], 1));

        let snapshot = store.snapshot().unwrap();
        assert_eq!(matching_keys(&*snapshot, &q).unwrap().len(), 1);
        assert_eq!(keys_of(&*snapshot, tenant, device.0).unwrap().len(), 9);
        let events_of = |tenant| {
            let keys = super::super::tenants::keyed_rows(&*snapshot, tenant).unwrap();
            keys.into_iter()
                .filter(|(t, _)| *t == Table::Events)
                .count()
        };
        assert_eq!(events_of(tenant), 10);
        assert_eq!(events_of(TenantId::new()), 0);
    }
}
