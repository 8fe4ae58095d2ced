//! Events (ThingsBoard's section "Events"): recorded by background work
//! (extension lifecycle, guest errors, calculated-field debugging), listed
//! and cleared over REST by the tenant's administrators.

use crate::auth::Caller;
use crate::auth::permissions::{Operation, Resource, Target, require};
use crate::domain::event::{Event, EventFilter, NewEvent};
use crate::domain::ids::{EntityId, EntityType, TenantId};
use crate::domain::page::{PageData, PageLink};
use crate::store::events::{self, EventQuery};
use crate::store::{Changes, KvRead, StoreResult};

use super::access::Alive;
use super::{App, ServiceError, ServiceResult};

/// Stages one event in the caller's job; past `cap` events of its entity
/// and type, the oldest go. `cap` is [`App::event_cap`]. Several events
/// of one job go in one [`stage_events`] call, which counts them together.
pub(crate) fn stage_event(
    view: &dyn KvRead,
    changes: &mut Changes,
    cap: usize,
    event: NewEvent,
) -> StoreResult<()> {
    stage_events(view, changes, cap, vec![event])
}

/// Stages several events (of any entities and types) in one job.
pub(crate) fn stage_events(
    view: &dyn KvRead,
    changes: &mut Changes,
    cap: usize,
    new: Vec<NewEvent>,
) -> StoreResult<()> {
    let new = new.into_iter().map(NewEvent::into_event).collect();
    events::stage_bounded(view, changes, cap, new)
}

/// Stages the events of a background worker whose entity still exists
/// (it may have been deleted since the event happened).
pub(crate) fn stage_surviving_events(
    view: &dyn KvRead,
    changes: &mut Changes,
    alive: &mut Alive,
    cap: usize,
    new: Vec<NewEvent>,
) -> ServiceResult<()> {
    let mut kept = Vec::with_capacity(new.len());
    for e in new {
        // A type without events: the caller's bug, logged rather than
        // failing the worker's whole batch.
        if let Err(why) = check_kept_for(e.entity.entity_type) {
            tracing::warn!(%why, "event dropped");
            continue;
        }
        if alive.exists(view, e.tenant, e.entity)? {
            kept.push(e);
        }
    }
    Ok(stage_events(view, changes, cap, kept)?)
}

/// Stages the removal of every event of `entity` (deleted with it).
pub(crate) fn stage_delete_of(
    view: &dyn KvRead,
    changes: &mut Changes,
    tenant: TenantId,
    entity: uuid::Uuid,
) -> StoreResult<()> {
    for key in events::keys_of(view, tenant, entity)? {
        changes.delete(crate::store::Table::Events, key);
    }
    Ok(())
}

/// Refuses the entity types that have no events here.
fn check_kept_for(entity_type: EntityType) -> ServiceResult<()> {
    match entity_type {
        EntityType::Device
        | EntityType::Asset
        | EntityType::Customer
        | EntityType::Extension
        | EntityType::CalculatedField => Ok(()),
        other => Err(ServiceError::invalid(format!(
            "Events are not kept for entity type '{other}'"
        ))),
    }
}

/// Whether `entity` exists, for the entity types that have events here;
/// any other type is refused.
pub(super) fn exists(view: &dyn KvRead, tenant: TenantId, entity: EntityId) -> ServiceResult<bool> {
    check_kept_for(entity.entity_type)?;
    super::access::entity_exists(view, tenant, entity)
}

/// The caller may `op` the events of `entity`, which is in its tenant.
fn check(view: &dyn KvRead, caller: &Caller, entity: EntityId, op: Operation) -> ServiceResult<()> {
    require(
        caller,
        Resource::Event,
        op,
        &Target::tenant(caller.tenant_id),
    )?;
    if !exists(view, caller.tenant_id, entity)? {
        return Err(ServiceError::not_found());
    }
    Ok(())
}

/// A time window as ThingsBoard checks it.
fn check_window(start: Option<i64>, end: Option<i64>) -> ServiceResult<()> {
    if let (Some(start), Some(end)) = (start, end)
        && start > end
    {
        return Err(ServiceError::invalid(
            "The start time must be before the end time",
        ));
    }
    Ok(())
}

impl App {
    /// Events kept per entity and type (`events.max_per_entity_and_type`).
    pub(crate) fn event_cap(&self) -> usize {
        self.settings.events.cap()
    }

    /// Records events in one write job, for background tasks (guest calls,
    /// start-up). Events of entities deleted meanwhile are dropped: nothing
    /// would ever delete them.
    pub async fn record_events(&self, events: Vec<NewEvent>) -> ServiceResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        let cap = self.event_cap();
        self.write(move |view| {
            let mut changes = Changes::new();
            stage_surviving_events(view, &mut changes, &mut Alive::default(), cap, events)?;
            Ok(((), changes))
        })
        .await
    }

    /// A page of `entity`'s events that `filter` selects, newest first.
    pub async fn events(
        &self,
        caller: &Caller,
        entity: EntityId,
        filter: EventFilter,
        start_time: Option<i64>,
        end_time: Option<i64>,
        page: PageLink,
    ) -> ServiceResult<PageData<Event>> {
        page.check_sort(&["createdTime", "ts"])?;
        check_window(start_time, end_time)?;
        let snapshot = self.store.snapshot()?;
        check(&*snapshot, caller, entity, Operation::Read)?;
        let query = EventQuery {
            tenant: caller.tenant_id,
            entity: entity.id,
            filter,
            start_time,
            end_time,
        };
        self.blocking(move || Ok(events::query(&*snapshot, &query, &page)?))
            .await
    }

    /// Deletes `entity`'s events that `filter` selects in the window.
    pub async fn clear_events(
        &self,
        caller: &Caller,
        entity: EntityId,
        filter: EventFilter,
        start_time: Option<i64>,
        end_time: Option<i64>,
    ) -> ServiceResult<()> {
        check_window(start_time, end_time)?;
        let caller = caller.clone();
        self.write(move |view| {
            check(view, &caller, entity, Operation::Delete)?;
            let query = EventQuery {
                tenant: caller.tenant_id,
                entity: entity.id,
                filter,
                start_time,
                end_time,
            };
            let mut changes = Changes::new();
            for key in events::matching_keys(view, &query)? {
                changes.delete(crate::store::Table::Events, key);
            }
            Ok(((), changes))
        })
        .await
    }
}
