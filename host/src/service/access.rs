//! Rights that outlive a request: a live subscription is checked when it is
//! opened, but the entity may later move to another customer. This is the
//! read check a subscription repeats, and the signal that tells subscribers
//! to repeat it at once.

use foldhash::{HashMap, HashMapExt};
use tokio::sync::broadcast;

use crate::auth::Caller;
use crate::auth::permissions::{DataKind, Operation, Resource, Target, require};
use crate::domain::asset::Asset;
use crate::domain::device::Device;
use crate::domain::ids::{CustomerId, EntityId, EntityType, TenantId};
use crate::store::{KvRead, assignable, customers, tenants};

use super::{App, ServiceError, ServiceResult};

/// An entity whose owning customer changed (assigned, unassigned, or its
/// customer deleted): users who read its data through their customer may
/// have lost the right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnerChanged {
    pub tenant: TenantId,
    pub entity: EntityId,
}

/// The customer owning `entity`'s data (`None`: the tenant's own), or not
/// found. The same rule the attribute and telemetry reads apply.
pub(super) fn data_owner(
    view: &dyn KvRead,
    tenant: TenantId,
    entity: EntityId,
) -> ServiceResult<Option<CustomerId>> {
    let assigned = |c: CustomerId| (!c.is_null()).then_some(c);
    match entity.entity_type {
        EntityType::Device => assignable::get::<Device>(view, tenant, entity.id)?
            .map(|d| assigned(d.customer_id))
            .ok_or_else(ServiceError::not_found),
        EntityType::Asset => assignable::get::<Asset>(view, tenant, entity.id)?
            .map(|a| assigned(a.customer_id))
            .ok_or_else(ServiceError::not_found),
        EntityType::Customer => customers::get(view, tenant, CustomerId(entity.id))?
            .map(|c| Some(c.id))
            .ok_or_else(ServiceError::not_found),
        EntityType::Tenant if entity.id == tenant.0 => tenants::get(view, tenant)?
            .map(|_| None)
            .ok_or_else(ServiceError::not_found),
        _ => Err(ServiceError::not_found()),
    }
}

/// Whether `caller` may `op` the attributes or telemetry (`kind`) of
/// `entity`; the customer owning them (`None`: the tenant's own).
pub(super) fn require_data(
    view: &dyn KvRead,
    caller: &Caller,
    entity: EntityId,
    kind: DataKind,
    op: Operation,
) -> ServiceResult<Option<CustomerId>> {
    let customer = data_owner(view, caller.tenant_id, entity)?;
    let target = Target::in_customer(caller.tenant_id, customer).about(entity);
    require(
        caller,
        Resource::EntityData(entity.entity_type, kind),
        op,
        &target,
    )?;
    Ok(customer)
}

/// Whether `entity` still exists in `tenant` (data written later, by a
/// background job, must not land under a deleted id).
pub(super) fn entity_exists(
    view: &dyn KvRead,
    tenant: TenantId,
    entity: EntityId,
) -> ServiceResult<bool> {
    // Asked on every write of a background worker (outputs, events): a key
    // lookup, without decoding the row.
    let (tenant_id, id) = (tenant, entity.id);
    match entity.entity_type {
        EntityType::Device => Ok(assignable::exists::<Device>(view, tenant_id, id)?),
        EntityType::Asset => Ok(assignable::exists::<Asset>(view, tenant_id, id)?),
        EntityType::Customer => Ok(view.contains(
            crate::store::Table::Customers,
            &customers::key(tenant_id, CustomerId(id)),
        )?),
        EntityType::Extension => Ok(crate::store::extensions::exists(
            view,
            tenant_id,
            crate::domain::ids::ExtensionId(id),
        )?),
        EntityType::CalculatedField => Ok(crate::store::calculated_fields::exists(
            view,
            tenant_id,
            crate::domain::ids::CalculatedFieldId(id),
        )?),
        _ => match data_owner(view, tenant, entity) {
            Ok(_) => Ok(true),
            Err(ServiceError::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        },
    }
}

/// Which entities exist, within one write job: a worker's job writes many
/// values and events for few entities, and each is looked up once.
#[derive(Default)]
pub(super) struct Alive(HashMap<(TenantId, EntityId), bool>);

impl Alive {
    /// [`entity_exists`], remembered.
    pub(super) fn exists(
        &mut self,
        view: &dyn KvRead,
        tenant: TenantId,
        entity: EntityId,
    ) -> ServiceResult<bool> {
        if let Some(known) = self.0.get(&(tenant, entity)) {
            return Ok(*known);
        }
        let found = entity_exists(view, tenant, entity)?;
        self.0.insert((tenant, entity), found);
        Ok(found)
    }
}

/// Each entity's owning customer, for the background workers: decoding an
/// entity's row for every run or event cost as much as the guest call.
/// Kept across batches and forgotten when an owner changes (the service
/// announces every assignment, unassignment and customer deletion).
pub(super) struct OwnerCache {
    known: HashMap<(TenantId, EntityId), Option<CustomerId>>,
    changes: broadcast::Receiver<OwnerChanged>,
}

/// Entities remembered at most; past it the cache starts again.
const MAX_OWNERS: usize = 100_000;

impl OwnerCache {
    pub(super) fn new(changes: broadcast::Receiver<OwnerChanged>) -> Self {
        OwnerCache {
            known: HashMap::new(),
            changes,
        }
    }

    /// Forgets what changed since it was last called (everything, if the
    /// announcements came faster than they were read): call it before each
    /// batch.
    pub(super) fn refresh(&mut self) {
        loop {
            match self.changes.try_recv() {
                Ok(c) => {
                    self.known.remove(&(c.tenant, c.entity));
                }
                Err(broadcast::error::TryRecvError::Lagged(_)) => self.known.clear(),
                Err(_) => break,
            }
        }
        if self.known.len() > MAX_OWNERS {
            self.known.clear();
        }
    }

    /// The customer owning `entity`'s data (`None`: the tenant's own, or
    /// the entity is gone), as [`data_owner`] reads it.
    pub(super) fn owner_of(
        &mut self,
        view: &dyn KvRead,
        tenant: TenantId,
        entity: EntityId,
    ) -> ServiceResult<Option<CustomerId>> {
        if let Some(known) = self.known.get(&(tenant, entity)) {
            return Ok(*known);
        }
        let owner = match data_owner(view, tenant, entity) {
            Ok(owner) => owner,
            Err(ServiceError::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        self.known.insert((tenant, entity), owner);
        Ok(owner)
    }
}

impl App {
    /// May `caller` read `entity`'s attributes or telemetry (`kind`) now?
    pub fn check_data_read(
        &self,
        caller: &Caller,
        entity: EntityId,
        kind: DataKind,
    ) -> ServiceResult<()> {
        let snapshot = self.store.snapshot()?;
        require_data(&*snapshot, caller, entity, kind, Operation::Read).map(drop)
    }

    /// Every owner change in the installation; subscribers filter by tenant.
    pub fn subscribe_owner_changes(&self) -> tokio::sync::broadcast::Receiver<OwnerChanged> {
        self.owner_events.subscribe()
    }

    /// Tells live subscribers that these entities changed owner (after the commit).
    pub(super) fn owners_changed(
        &self,
        tenant: TenantId,
        entities: impl IntoIterator<Item = EntityId>,
    ) {
        if self.owner_events.receiver_count() == 0 {
            return;
        }
        for entity in entities {
            let _ = self.owner_events.send(OwnerChanged { tenant, entity });
        }
    }
}
