//! Dashboards: create, update, read, list, assign to customers, change
//! owner, delete.

use serde_json::json;

use crate::auth::Caller;
use crate::auth::permissions::{Operation, Resource, Target, allowed, require};
use crate::domain::audit::ActionType;
use crate::domain::customer::Customer;
use crate::domain::dashboard::{AssignedCustomer, Dashboard, DashboardInput};
use crate::domain::entity_group::GroupType;
use crate::domain::ids::{CustomerId, DashboardId, now_ms, owner_of};
use crate::domain::page::{PageData, PageLink};
use crate::store::{self, Changes, KvRead, customers, dashboards, entity_groups};

use super::audit::{Actor, record, stage_record};
use super::entity_groups::{owner_of_new, stage_join};
use super::owners::resolve_owner;
use super::{App, ServiceError, ServiceResult};

/// A dashboard is its owner's to act on; one assigned to the caller's
/// customer is also readable there (Community Edition's sharing), never
/// changed through the assignment.
fn check(caller: &Caller, op: Operation, d: &Dashboard) -> ServiceResult<()> {
    let at = |customer| Target::in_customer(d.tenant_id, Some(customer)).about(d.id.entity_id());
    if allowed(caller, Resource::Dashboard, op, &at(d.customer_id)) {
        return Ok(());
    }
    let shared = op == Operation::Read && d.is_assigned_to(caller.customer_id);
    if shared && allowed(caller, Resource::Dashboard, op, &at(caller.customer_id)) {
        return Ok(());
    }
    Err(ServiceError::Forbidden)
}

pub(super) fn find(
    view: &dyn KvRead,
    caller: &Caller,
    id: DashboardId,
    op: Operation,
) -> ServiceResult<Dashboard> {
    let d = dashboards::get(view, caller.tenant_id, id)?.ok_or_else(ServiceError::not_found)?;
    check(caller, op, &d)?;
    Ok(d)
}

fn audit(
    caller: &Caller,
    d: &Dashboard,
    action: ActionType,
    data: serde_json::Value,
) -> crate::domain::audit::AuditLog {
    record(
        &Actor::from(caller),
        d.customer_id,
        Some((d.id.entity_id(), &d.title)),
        action,
        data,
    )
}

fn page_of(mut all: Vec<Dashboard>, link: &PageLink) -> PageData<Dashboard> {
    all.retain(|d| link.matches(&d.title.to_lowercase()));
    match link.sort_property.as_deref() {
        Some("title") => PageData::sorted_by_key(all, link, |d| (d.title.to_lowercase(), d.id)),
        _ => PageData::sorted_by_key(all, link, |d| (d.created_time, d.id)),
    }
}

impl App {
    /// Creates (no `id`) or updates a dashboard. A new one is owned by the
    /// groups it is created into, or else by its creator's own.
    pub async fn save_dashboard(
        &self,
        caller: &Caller,
        mut input: DashboardInput,
    ) -> ServiceResult<Dashboard> {
        input.validate()?;
        let caller = caller.clone();
        self.write(move |view| {
            let mut changes = Changes::new();
            let (old, new, action) = match input.id {
                None => {
                    let groups = std::mem::take(&mut input.entity_groups);
                    let customer = owner_of_new(
                        view,
                        &caller,
                        &groups,
                        GroupType::Dashboard,
                        Resource::Dashboard,
                    )?;
                    let d = Dashboard::create(caller.tenant_id, customer, input, now_ms());
                    let owner = d.owner_id();
                    stage_join(
                        view,
                        &mut changes,
                        &caller,
                        &groups,
                        d.id.entity_id(),
                        owner,
                    )?;
                    (None, d, ActionType::Added)
                }
                Some(id) => {
                    let old = dashboards::get(view, caller.tenant_id, id)?.ok_or_else(|| {
                        ServiceError::invalid("Can't update non existing dashboard!")
                    })?;
                    check(&caller, Operation::Write, &old)?;
                    if input.version.is_some_and(|v| v != old.version) {
                        return Err(ServiceError::VersionConflict(
                            "Dashboard was already changed by someone else".into(),
                        ));
                    }
                    let new = old.updated(input);
                    (Some(old), new, ActionType::Updated)
                }
            };
            dashboards::put(&mut changes, old.as_ref(), &new);
            store::audit_log::append(
                &mut changes,
                &audit(&caller, &new, action, json!({ "entity": new })),
            );
            Ok((new, changes))
        })
        .await
    }

    pub async fn dashboard(&self, caller: &Caller, id: DashboardId) -> ServiceResult<Dashboard> {
        let snapshot = self.store.snapshot()?;
        find(&*snapshot, caller, id, Operation::Read)
    }

    pub async fn delete_dashboard(&self, caller: &Caller, id: DashboardId) -> ServiceResult<()> {
        let caller = caller.clone();
        self.write(move |view| {
            let d = find(view, &caller, id, Operation::Delete)?;
            let mut changes = Changes::new();
            dashboards::delete(&mut changes, &d);
            entity_groups::stage_leave_all(view, &mut changes, d.tenant_id, d.id.0)?;
            store::audit_log::append(
                &mut changes,
                &audit(
                    &caller,
                    &d,
                    ActionType::Deleted,
                    json!({ "entityId": id.entity_id() }),
                ),
            );
            Ok(((), changes))
        })
        .await
    }

    pub async fn tenant_dashboards(
        &self,
        caller: &Caller,
        link: PageLink,
    ) -> ServiceResult<PageData<Dashboard>> {
        let tenant = Target::tenant(caller.tenant_id);
        require(caller, Resource::Dashboard, Operation::Read, &tenant)?;
        link.check_sort(&["createdTime", "title"])?;
        let snapshot = self.store.snapshot()?;
        let tenant = caller.tenant_id;
        self.blocking(move || Ok(page_of(dashboards::of_tenant(&*snapshot, tenant)?, &link)))
            .await
    }

    pub async fn customer_dashboards(
        &self,
        caller: &Caller,
        customer: CustomerId,
        link: PageLink,
    ) -> ServiceResult<PageData<Dashboard>> {
        link.check_sort(&["createdTime", "title"])?;
        let snapshot = self.store.snapshot()?;
        customers::get(&*snapshot, caller.tenant_id, customer)?
            .ok_or_else(ServiceError::not_found)?;
        let target = Target::customer(caller.tenant_id, customer);
        require(caller, Resource::Dashboard, Operation::Read, &target)?;
        let tenant = caller.tenant_id;
        self.blocking(move || {
            // Those assigned to it and those it owns, each once.
            let mut all = dashboards::of_customer(&*snapshot, tenant, customer)?;
            for d in dashboards::of_owner(&*snapshot, tenant, customer)? {
                if !d.is_assigned_to(customer) {
                    all.push(d);
                }
            }
            Ok(page_of(all, &link))
        })
        .await
    }

    /// Adds (`assign`) or removes a customer from a dashboard's customers.
    pub async fn assign_dashboard(
        &self,
        caller: &Caller,
        id: DashboardId,
        customer: CustomerId,
        assign: bool,
    ) -> ServiceResult<Dashboard> {
        let caller = caller.clone();
        self.write(move |view| {
            let old = find(view, &caller, id, Operation::Write)?;
            // Sharing with a customer, or ending it, is putting a
            // dashboard among that customer's, as far as rights go.
            let at = Target::customer(caller.tenant_id, customer);
            require(&caller, Resource::Dashboard, Operation::Create, &at)?;
            let c = customers::get(view, caller.tenant_id, customer)?.ok_or_else(ServiceError::not_found)?;
            let mut new = old.clone();
            new.assigned_customers.retain(|a| a.customer_id != customer);
            if assign {
                new.assigned_customers.push(AssignedCustomer::of(&c));
            }
            new.version += 1;
            // ThingsBoard's action data names the customer by what happened to it.
            let (action, data) = if assign {
                (ActionType::AssignedToCustomer, json!({ "entityId": id.entity_id(), "assignedCustomerId": c.id.entity_id(), "assignedCustomerName": c.title }))
            } else {
                (ActionType::UnassignedFromCustomer, json!({ "entityId": id.entity_id(), "unassignedCustomerId": c.id.entity_id(), "unassignedCustomerName": c.title }))
            };
            let mut changes = Changes::new();
            dashboards::put(&mut changes, Some(&old), &new);
            store::audit_log::append(&mut changes, &audit(&caller, &new, action, data));
            Ok((new, changes))
        })
        .await
    }
}

impl App {
    /// Gives dashboard `id` to `to` (the null customer: the tenant): the
    /// caller must be able to change it, and to create one there. Its
    /// groups were its old owner's; its assignments stay.
    pub(super) async fn move_dashboard(
        &self,
        caller: &Caller,
        id: DashboardId,
        to: CustomerId,
    ) -> ServiceResult<()> {
        let caller = caller.clone();
        self.write(move |view| {
            let old = find(view, &caller, id, Operation::Write)?;
            let owner = resolve_owner(
                view,
                &caller,
                Some(owner_of(caller.tenant_id, to)),
                Resource::Dashboard,
                Operation::Create,
            )?;
            let mut changes = Changes::new();
            if old.customer_id == to {
                return Ok(((), changes));
            }
            let new = old.owned_by(to);
            dashboards::put(&mut changes, Some(&old), &new);
            entity_groups::stage_leave_all(view, &mut changes, new.tenant_id, new.id.0)?;
            let data = json!({
                "entityId": id.entity_id(),
                "previousOwnerId": old.owner_id(),
                "targetOwnerId": owner,
            });
            let log = audit(&caller, &new, ActionType::ChangeOwner, data);
            store::audit_log::append(&mut changes, &log);
            Ok(((), changes))
        })
        .await
    }
}

/// Gives every dashboard a customer that is being deleted owns to `heir`
/// (the deleted customer's owner; `None`: the tenant), kept, not lost.
pub(super) fn stage_move_owned(
    view: &dyn KvRead,
    changes: &mut Changes,
    actor: &Actor,
    c: &Customer,
    heir: Option<&Customer>,
) -> ServiceResult<()> {
    let to = heir.map_or(CustomerId::NULL, |h| h.id);
    for d in dashboards::of_owner(view, c.tenant_id, c.id)? {
        let new = d.owned_by(to);
        dashboards::put(changes, Some(&d), &new);
        entity_groups::stage_leave_all(view, changes, d.tenant_id, d.id.0)?;
        stage_record(
            changes,
            actor,
            c.id,
            Some((d.id.entity_id(), &d.title)),
            ActionType::ChangeOwner,
            json!({
                "entityId": d.id.entity_id(),
                "previousOwnerId": c.id.entity_id(),
                "targetOwnerId": owner_of(c.tenant_id, to),
                "targetOwnerName": heir.map(|h| &h.title),
                "reason": "owner customer deleted",
            }),
        );
    }
    Ok(())
}

/// Takes a customer that is being deleted off every dashboard it was assigned.
pub(super) fn stage_unassign_all(
    view: &dyn KvRead,
    changes: &mut Changes,
    tenant: crate::domain::ids::TenantId,
    customer: CustomerId,
) -> ServiceResult<()> {
    for d in dashboards::of_customer(view, tenant, customer)? {
        let mut new = d.clone();
        new.assigned_customers.retain(|a| a.customer_id != customer);
        new.version += 1;
        dashboards::put(changes, Some(&d), &new);
    }
    Ok(())
}

/// Copies a customer's new title and public flag onto every dashboard
/// assigned to it, in the transaction that changes the customer.
pub(super) fn stage_customer_changed(
    view: &dyn KvRead,
    changes: &mut Changes,
    c: &Customer,
) -> ServiceResult<()> {
    for d in dashboards::of_customer(view, c.tenant_id, c.id)? {
        let mut new = d.clone();
        for a in &mut new.assigned_customers {
            if a.customer_id == c.id {
                *a = AssignedCustomer::of(c);
            }
        }
        new.version += 1;
        dashboards::put(changes, Some(&d), &new);
    }
    Ok(())
}
