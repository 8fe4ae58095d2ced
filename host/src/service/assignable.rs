//! What devices and assets share: finding one the caller may act on,
//! paged lists, assignment to a customer, deletion with its data.

use serde_json::json;
use uuid::Uuid;

use crate::auth::Caller;
use crate::auth::permissions::{Operation, Target, require};
use crate::domain::assignable::{Assignable, AssignableInput};
use crate::domain::audit::{ActionType, AuditLog};
use crate::domain::customer::Customer;
use crate::domain::ids::{CustomerId, EntityGroupId, EntityId, TenantId};
use crate::domain::page::{PageData, PageLink};
use crate::store::{self, Changes, KvRead, assignable, customers, entity_groups, telemetry};

use super::audit::{Actor, record, stage_record};
use super::entity_groups::{owner_of_new, stage_join};
use super::{App, ServiceError, ServiceResult};
use crate::wasm::LifecycleEvent;

pub const SORT_PROPERTIES: [&str; 4] = ["createdTime", "name", "type", "label"];

pub(super) fn check<T: Assignable>(caller: &Caller, op: Operation, e: &T) -> ServiceResult<()> {
    let target = Target::in_customer(e.tenant(), Some(e.customer())).about(e.entity_id());
    Ok(require(caller, T::RESOURCE, op, &target)?)
}

/// Where a new device or asset goes ([`owner_of_new`]).
pub(super) fn new_owner<T: Assignable>(
    view: &dyn KvRead,
    caller: &Caller,
    groups: &[EntityGroupId],
) -> ServiceResult<CustomerId> {
    owner_of_new(view, caller, groups, T::GROUP_TYPE, T::RESOURCE)
}

/// Stages a new device's or asset's joining the groups it was created
/// into, once it is staged.
pub(super) fn stage_join_groups<T: Assignable>(
    view: &dyn KvRead,
    changes: &mut Changes,
    caller: &Caller,
    groups: &[EntityGroupId],
    e: &T,
) -> ServiceResult<()> {
    stage_join(view, changes, caller, groups, e.entity_id(), e.owner_id())?;
    Ok(())
}

/// One the caller may do `op` to, in the caller's tenant.
pub(super) fn find<T: Assignable>(
    view: &dyn KvRead,
    caller: &Caller,
    id: Uuid,
    op: Operation,
) -> ServiceResult<T> {
    let e: T = assignable::get(view, caller.tenant_id, id)?.ok_or_else(ServiceError::not_found)?;
    check(caller, op, &e)?;
    Ok(e)
}

/// Refuses a name another one in the tenant already has.
pub(super) fn check_name_free<T: Assignable>(
    view: &dyn KvRead,
    tenant: TenantId,
    name: &str,
) -> ServiceResult<()> {
    if assignable::id_by_name::<T>(view, tenant, name)?.is_some() {
        return Err(ServiceError::invalid(format!(
            "{} with such name already exists!",
            T::LABEL
        )));
    }
    Ok(())
}

/// Stages an update: the entity must exist in the caller's tenant and be
/// the caller's to change, a version sent must be the current one, and a
/// new name must be free.
pub(super) fn stage_update<T: Assignable>(
    view: &dyn KvRead,
    changes: &mut Changes,
    caller: &Caller,
    id: T::Id,
    input: AssignableInput<T::Id>,
) -> ServiceResult<T> {
    let old: T = assignable::get(view, caller.tenant_id, id.into())?.ok_or_else(|| {
        ServiceError::invalid(format!(
            "Can't update non existing {}!",
            T::LABEL.to_lowercase()
        ))
    })?;
    check(caller, Operation::Write, &old)?;
    if input.version.is_some_and(|v| v != old.version()) {
        return Err(ServiceError::VersionConflict(format!(
            "{} was already changed by someone else",
            T::LABEL
        )));
    }
    let name = input.name.as_deref().unwrap_or("");
    if name != old.name() {
        check_name_free::<T>(view, caller.tenant_id, name)?;
    }
    let new = old.updated(input);
    assignable::put(changes, Some(&old), &new);
    Ok(new)
}

pub(super) fn audit<T: Assignable>(
    caller: &Caller,
    e: &T,
    action: ActionType,
    data: serde_json::Value,
) -> AuditLog {
    record(
        &Actor::from(caller),
        e.customer(),
        Some((e.entity_id(), e.name())),
        action,
        data,
    )
}

fn page_of<T: Assignable>(mut all: Vec<T>, link: &PageLink, kind: Option<&str>) -> PageData<T> {
    all.retain(|e| link.matches(&e.name().to_lowercase()) && kind.is_none_or(|k| e.kind() == k));
    match link.sort_property.as_deref() {
        Some("name") => PageData::sorted_by_key(all, link, |e| (e.name().to_lowercase(), e.uuid())),
        Some("type") => PageData::sorted_by_key(all, link, |e| (e.kind().to_owned(), e.uuid())),
        Some("label") => {
            PageData::sorted_by_key(all, link, |e| (e.label().map(str::to_owned), e.uuid()))
        }
        _ => PageData::sorted_by_key(all, link, |e| (e.created(), e.uuid())),
    }
}

impl App {
    /// One device or asset the caller may read.
    pub async fn assignable<T: Assignable>(&self, caller: &Caller, id: Uuid) -> ServiceResult<T> {
        let snapshot = self.store.snapshot()?;
        find(&*snapshot, caller, id, Operation::Read)
    }

    /// The caller's tenant's device or asset with this name.
    pub async fn assignable_by_name<T: Assignable>(
        &self,
        caller: &Caller,
        name: &str,
    ) -> ServiceResult<T> {
        let snapshot = self.store.snapshot()?;
        let id =
            assignable::id_by_name::<T>(&*snapshot, caller.tenant_id, name)?.ok_or_else(|| {
                ServiceError::NotFound(format!("{} with name [{name}] is not found", T::LABEL))
            })?;
        find(&*snapshot, caller, id, Operation::Read)
    }

    /// A page of the tenant's (optionally of one type).
    pub async fn tenant_assignables<T: Assignable>(
        &self,
        caller: &Caller,
        link: PageLink,
        kind: Option<String>,
    ) -> ServiceResult<PageData<T>> {
        let tenant = Target::tenant(caller.tenant_id);
        require(caller, T::RESOURCE, Operation::Read, &tenant)?;
        link.check_sort(&SORT_PROPERTIES)?;
        let snapshot = self.store.snapshot()?;
        let tenant = caller.tenant_id;
        self.blocking(move || {
            Ok(page_of(
                assignable::of_tenant::<T>(&*snapshot, tenant)?,
                &link,
                kind.as_deref(),
            ))
        })
        .await
    }

    /// A page of those assigned to one customer.
    pub async fn customer_assignables<T: Assignable>(
        &self,
        caller: &Caller,
        customer: CustomerId,
        link: PageLink,
        kind: Option<String>,
    ) -> ServiceResult<PageData<T>> {
        link.check_sort(&SORT_PROPERTIES)?;
        let snapshot = self.store.snapshot()?;
        customers::get(&*snapshot, caller.tenant_id, customer)?
            .ok_or_else(ServiceError::not_found)?;
        let target = Target::customer(caller.tenant_id, customer);
        require(caller, T::RESOURCE, Operation::Read, &target)?;
        let tenant = caller.tenant_id;
        self.blocking(move || {
            Ok(page_of(
                assignable::of_customer::<T>(&*snapshot, tenant, customer)?,
                &link,
                kind.as_deref(),
            ))
        })
        .await
    }

    /// Assigns to a customer of the same tenant (the null customer unassigns).
    pub async fn assign<T: Assignable>(
        &self,
        caller: &Caller,
        id: Uuid,
        customer: CustomerId,
    ) -> ServiceResult<T> {
        let caller = caller.clone();
        let (was, new): (CustomerId, T) = self.write(move |view| {
            let old: T = find(view, &caller, id, Operation::Write)?;
            // Moving it in is creating it there, as far as rights go.
            let to = Target::in_customer(caller.tenant_id, Some(customer));
            require(&caller, T::RESOURCE, Operation::Create, &to)?;
            let (action, data) = if customer.is_null() {
                let was = customers::get(view, caller.tenant_id, old.customer())?;
                (ActionType::UnassignedFromCustomer, json!({ "entityId": old.entity_id(), "unassignedCustomerId": old.customer().entity_id(), "unassignedCustomerName": was.map(|c| c.title) }))
            } else {
                let c = customers::get(view, caller.tenant_id, customer)?.ok_or_else(ServiceError::not_found)?;
                (ActionType::AssignedToCustomer, json!({ "entityId": old.entity_id(), "assignedCustomerId": customer.entity_id(), "assignedCustomerName": c.title }))
            };
            let new = old.assigned_to(customer);
            let mut changes = Changes::new();
            assignable::put(&mut changes, Some(&old), &new);
            if new.customer() != old.customer() {
                // Its groups were its old owner's.
                entity_groups::stage_leave_all(view, &mut changes, new.tenant(), new.uuid())?;
            }
            store::audit_log::append(&mut changes, &audit(&caller, &new, action, data));
            Ok(((old.customer(), new), changes))
        })
        .await?;
        self.owners_changed(new.tenant(), [new.entity_id()]);
        if was != new.customer() {
            let (tenant, entity) = (new.tenant(), new.entity_id());
            self.logic_lifecycle(tenant, was, entity, LifecycleEvent::Unassigned)
                .await;
            self.logic_lifecycle(tenant, new.customer(), entity, LifecycleEvent::Assigned)
                .await;
        }
        Ok(new)
    }
}

/// Stages the removal of an entity's attributes, telemetry, events,
/// alarms, calculated fields and group memberships, and (for a customer)
/// its customer logic bindings.
pub(super) fn stage_delete_data(
    view: &dyn KvRead,
    changes: &mut Changes,
    tenant: TenantId,
    entity: Uuid,
) -> ServiceResult<()> {
    for (table, key) in telemetry::all_keys_of(view, tenant, entity)? {
        changes.delete(table, key);
    }
    for field in crate::store::calculated_fields::of_entity(view, tenant, entity)? {
        super::calculated_fields::stage_delete(view, changes, &field)?;
    }
    super::events::stage_delete_of(view, changes, tenant, entity)?;
    super::customer_logic::stage_delete_of(view, changes, tenant, CustomerId(entity))?;
    super::alarms::stage_delete_of_originator(view, changes, tenant, entity)?;
    entity_groups::stage_leave_all(view, changes, tenant, entity)?;
    Ok(())
}

/// Moves every one of a customer that is being deleted to `heir` (the
/// deleted customer's owner; `None`: the tenant), kept, not lost; returns
/// the ids of those moved.
pub(super) fn stage_move_all<T: Assignable>(
    view: &dyn KvRead,
    changes: &mut Changes,
    actor: &Actor,
    customer: &Customer,
    heir: Option<&Customer>,
) -> ServiceResult<Vec<EntityId>> {
    let mut moved = Vec::new();
    for e in assignable::of_customer::<T>(view, customer.tenant_id, customer.id)? {
        moved.push(e.entity_id());
        let new = e.assigned_to(heir.map_or(CustomerId::NULL, |h| h.id));
        assignable::put(changes, Some(&e), &new);
        entity_groups::stage_leave_all(view, changes, e.tenant(), e.uuid())?;
        let (action, data) = match heir {
            None => (
                ActionType::UnassignedFromCustomer,
                json!({ "entityId": e.entity_id(), "unassignedCustomerId": customer.id.entity_id(), "unassignedCustomerName": customer.title, "reason": "customer deleted" }),
            ),
            Some(h) => (
                ActionType::ChangeOwner,
                json!({ "entityId": e.entity_id(), "previousOwnerId": customer.id.entity_id(), "targetOwnerId": h.id.entity_id(), "targetOwnerName": h.title, "reason": "owner customer deleted" }),
            ),
        };
        stage_record(
            changes,
            actor,
            customer.id,
            Some((e.entity_id(), e.name())),
            action,
            data,
        );
    }
    Ok(moved)
}
