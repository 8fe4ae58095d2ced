//! Dashboards: create, update, read, list, assign to customers, delete.

use serde_json::json;

use crate::auth::Caller;
use crate::auth::permissions::{Operation, Resource, Target, require};
use crate::domain::audit::ActionType;
use crate::domain::customer::Customer;
use crate::domain::dashboard::{AssignedCustomer, Dashboard, DashboardInput};
use crate::domain::ids::{CustomerId, DashboardId, now_ms};
use crate::domain::page::{PageData, PageLink};
use crate::store::{self, Changes, KvRead, customers, dashboards, entity_groups};

use super::audit::{Actor, record};
use super::{App, ServiceError, ServiceResult};

/// A customer user acts on a dashboard through its own customer's assignment.
fn target(caller: &Caller, d: &Dashboard) -> Target {
    let customer = d
        .is_assigned_to(caller.customer_id)
        .then_some(caller.customer_id);
    Target::in_customer(d.tenant_id, customer).about(d.id.entity_id())
}

fn find(
    view: &dyn KvRead,
    caller: &Caller,
    id: DashboardId,
    op: Operation,
) -> ServiceResult<Dashboard> {
    let d = dashboards::get(view, caller.tenant_id, id)?.ok_or_else(ServiceError::not_found)?;
    require(caller, Resource::Dashboard, op, &target(caller, &d))?;
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
        CustomerId::NULL,
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
    pub async fn save_dashboard(
        &self,
        caller: &Caller,
        input: DashboardInput,
    ) -> ServiceResult<Dashboard> {
        input.validate()?;
        let caller = caller.clone();
        self.write(move |view| {
            let (old, new, action) = match input.id {
                None => {
                    let tenant = Target::tenant(caller.tenant_id);
                    require(&caller, Resource::Dashboard, Operation::Create, &tenant)?;
                    (
                        None,
                        Dashboard::create(caller.tenant_id, input, now_ms()),
                        ActionType::Added,
                    )
                }
                Some(id) => {
                    let old = dashboards::get(view, caller.tenant_id, id)?.ok_or_else(|| {
                        ServiceError::invalid("Can't update non existing dashboard!")
                    })?;
                    let target = target(&caller, &old);
                    require(&caller, Resource::Dashboard, Operation::Write, &target)?;
                    if input.version.is_some_and(|v| v != old.version) {
                        return Err(ServiceError::VersionConflict(
                            "Dashboard was already changed by someone else".into(),
                        ));
                    }
                    let new = old.updated(input);
                    (Some(old), new, ActionType::Updated)
                }
            };
            let mut changes = Changes::new();
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
            Ok(page_of(
                dashboards::of_customer(&*snapshot, tenant, customer)?,
                &link,
            ))
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
