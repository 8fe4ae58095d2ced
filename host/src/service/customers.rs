//! Customers: create, update, read, list, delete.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::json;

use crate::auth::Caller;
use crate::auth::permissions::{Operation, Resource, Target, require};
use crate::auth::tokens;
use crate::domain::audit::ActionType;
use crate::domain::customer::{Customer, CustomerInfo, CustomerInput};
use crate::domain::ids::{CustomerId, EntityId, TenantId, now_ms, owner_of};
use crate::domain::page::{PageData, PageLink};
use crate::domain::user::Authority;
use crate::store::{Changes, KvRead, customers, entity_groups, users};

use super::assignable::{stage_delete_data, stage_move_all};
use super::entity_groups::{customer_of_first_group, stage_join};
use super::group_permissions::stage_owner_defaults;
use super::infos::Infos;
use super::owners::resolve_owner;
use crate::domain::entity_group::GroupType;
use crate::wasm::LifecycleEvent;

use super::audit::{Actor, stage_record};
use super::customer_index::SORT_PROPERTIES;
use super::{App, ServiceError, ServiceResult};
use crate::domain::asset::Asset;
use crate::domain::device::Device;

/// What to do when a new title is taken (ThingsBoard's `nameConflictPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NameConflict {
    #[default]
    Fail,
    Uniquify {
        strategy: UniquifyStrategy,
        separator: char,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UniquifyStrategy {
    #[default]
    Random,
    Incremental,
}

const DUPLICATE_TITLE: &str = "Customer with such title already exists!";

/// The page of customers `ids` (a page of the index, `total` in all),
/// read from `view`.
pub(super) fn page_of(
    view: &dyn KvRead,
    tenant: TenantId,
    ids: Vec<CustomerId>,
    total: usize,
    link: &PageLink,
) -> ServiceResult<PageData<Customer>> {
    let mut data = Vec::with_capacity(ids.len());
    for id in ids {
        data.extend(customers::get(view, tenant, id)?);
    }
    Ok(PageData::new(data, total, link))
}

/// Customer `id` of the caller's tenant, if the caller may read it.
pub(super) fn readable(
    view: &dyn KvRead,
    caller: &Caller,
    id: CustomerId,
) -> ServiceResult<Customer> {
    let c = customers::get(view, caller.tenant_id, id)?.ok_or_else(ServiceError::not_found)?;
    check(caller, Operation::Read, &c)?;
    Ok(c)
}

pub(super) fn check(caller: &Caller, op: Operation, c: &Customer) -> ServiceResult<()> {
    let target = Target::customer(c.tenant_id, c.id).about(c.id.entity_id());
    Ok(require(caller, Resource::Customer, op, &target)?)
}

/// A free title for a new customer, following the conflict policy.
fn free_title(
    view: &dyn KvRead,
    caller: &Caller,
    title: &str,
    policy: NameConflict,
) -> ServiceResult<String> {
    if customers::id_by_title(view, caller.tenant_id, title)?.is_none() {
        return Ok(title.to_owned());
    }
    let NameConflict::Uniquify {
        strategy,
        separator,
    } = policy
    else {
        return Err(ServiceError::invalid(DUPLICATE_TITLE));
    };
    for n in 1..=1000u32 {
        let suffix = match strategy {
            UniquifyStrategy::Incremental => n.to_string(),
            UniquifyStrategy::Random => tokens::new_token()[..6].to_lowercase(),
        };
        let candidate = format!("{title}{separator}{suffix}");
        if candidate.chars().count() <= crate::domain::validate::MAX_FIELD_LEN
            && customers::id_by_title(view, caller.tenant_id, &candidate)?.is_none()
        {
            return Ok(candidate);
        }
    }
    Err(ServiceError::invalid(DUPLICATE_TITLE))
}

impl App {
    /// Creates (no `id`) or updates (with `id`) a customer.
    pub async fn save_customer(
        &self,
        caller: &Caller,
        input: CustomerInput,
        policy: NameConflict,
    ) -> ServiceResult<Customer> {
        input.validate()?;
        let parent = input.parent()?;
        let caller = caller.clone();
        let (saved, action) = self
            .write(move |view| {
                let mut changes = Changes::new();
                let actor = Actor::from(&caller);
                let (saved, action) = match input.id {
                    None => {
                        let groups = input.entity_groups.clone();
                        // Created into a group and nowhere else: under
                        // that group's owner.
                        let parent = match parent {
                            None if input.owner_id.is_none() => customer_of_first_group(
                                view,
                                &caller,
                                &groups,
                                GroupType::Customer,
                            )?,
                            named => named,
                        };
                        let owner = owner_of(caller.tenant_id, parent.unwrap_or(CustomerId::NULL));
                        resolve_owner(
                            view,
                            &caller,
                            Some(owner),
                            Resource::Customer,
                            Operation::Create,
                        )?;
                        let title = free_title(
                            view,
                            &caller,
                            input.title.as_deref().unwrap_or(""),
                            policy,
                        )?;
                        let input = CustomerInput {
                            title: Some(title),
                            ..input
                        };
                        let c = Customer::create(caller.tenant_id, parent, input, now_ms());
                        customers::put(&mut changes, None, &c);
                        let me = c.id.entity_id();
                        stage_owner_defaults(view, &mut changes, c.tenant_id, me, c.created_time)?;
                        stage_join(view, &mut changes, &caller, &groups, me, c.owner_id())?;
                        (c, ActionType::Added)
                    }
                    Some(id) => {
                        let old = customers::get(view, caller.tenant_id, id)?.ok_or_else(|| {
                            ServiceError::invalid("Can't update non existing customer!")
                        })?;
                        check(&caller, Operation::Write, &old)?;
                        if input.version.is_some_and(|v| v != old.version) {
                            return Err(ServiceError::VersionConflict(
                                "Customer was already changed by someone else".into(),
                            ));
                        }
                        // A client that round-trips the customer sends its
                        // owner back; a different one is a move, which has
                        // its own endpoint (and checks).
                        if input.names_owner() && parent != old.parent_customer_id {
                            return Err(ServiceError::invalid(
                                "A customer's owner is changed with POST /api/owner/{ownerType}/{ownerId}/CUSTOMER/{customerId}",
                            ));
                        }
                        let new_title = input.title.as_deref().unwrap_or("");
                        if new_title != old.title
                            && customers::id_by_title(view, caller.tenant_id, new_title)?.is_some()
                        {
                            return Err(ServiceError::invalid(DUPLICATE_TITLE));
                        }
                        let c = old.updated(input);
                        customers::put(&mut changes, Some(&old), &c);
                        if c.title != old.title || c.is_public() != old.is_public() {
                            super::dashboards::stage_customer_changed(view, &mut changes, &c)?;
                        }
                        (c, ActionType::Updated)
                    }
                };
                stage_record(
                    &mut changes,
                    &actor,
                    saved.id,
                    Some((saved.id.entity_id(), &saved.title)),
                    action,
                    json!({ "entity": saved }),
                );
                Ok(((saved, action), changes))
            })
            .await?;
        if action == ActionType::Updated {
            let (tenant, id) = (saved.tenant_id, saved.id);
            self.logic_lifecycle(tenant, id, id.entity_id(), LifecycleEvent::Updated)
                .await;
        }
        Ok(saved)
    }

    /// One customer the caller may read.
    pub async fn customer(&self, caller: &Caller, id: CustomerId) -> ServiceResult<Customer> {
        readable(&*self.store.snapshot()?, caller, id)
    }

    /// The caller's tenant's customer with exactly this title.
    pub async fn customer_by_title(&self, caller: &Caller, title: &str) -> ServiceResult<Customer> {
        let snapshot = self.store.snapshot()?;
        let not_found =
            || ServiceError::NotFound(format!("Customer with title [{title}] is not found"));
        let id =
            customers::id_by_title(&*snapshot, caller.tenant_id, title)?.ok_or_else(not_found)?;
        let c = customers::get(&*snapshot, caller.tenant_id, id)?.ok_or_else(not_found)?;
        check(caller, Operation::Read, &c)?;
        Ok(c)
    }

    /// A page of the customers the caller sees: its tenant's, or for a
    /// customer user those below its customer (as far as its roles reach:
    /// they reach a subtree whole).
    pub async fn customers(
        &self,
        caller: &Caller,
        link: PageLink,
    ) -> ServiceResult<PageData<Customer>> {
        link.check_sort(&SORT_PROPERTIES)?;
        let tenant = caller.tenant_id;
        let (ids, total) = if caller.authority == Authority::CustomerUser {
            // Its roles are held in its own customer's groups, so they
            // reach the subtree below it whole, or not at all.
            let own = Target::customer(tenant, caller.customer_id);
            require(caller, Resource::Customer, Operation::Read, &own)?;
            let below = self.customer_index.below(tenant, caller.customer_id);
            self.customer_index.page_among(tenant, &link, Some(&below))
        } else {
            require(
                caller,
                Resource::Customer,
                Operation::Read,
                &Target::tenant(tenant),
            )?;
            self.customer_index.page(tenant, &link)
        };
        let snapshot = self.store.snapshot()?;
        page_of(&*snapshot, tenant, ids, total, &link)
    }

    /// A page of the customers `owner` (a customer; `None`: the tenant)
    /// owns directly or, with `nested`, at any depth, with their owners'
    /// names and their groups.
    pub async fn customer_infos(
        &self,
        caller: &Caller,
        owner: Option<CustomerId>,
        nested: bool,
        link: PageLink,
    ) -> ServiceResult<PageData<CustomerInfo>> {
        let target = Target::in_customer(caller.tenant_id, owner);
        require(caller, Resource::Customer, Operation::Read, &target)?;
        link.check_sort(&SORT_PROPERTIES)?;
        let snapshot = self.store.snapshot()?;
        let tenant = caller.tenant_id;
        let index = Arc::clone(&self.customer_index);
        self.blocking(move || {
            let view = &*snapshot;
            // Which customers count (`None`: all of the tenant's); the
            // index filters, sorts and pages them without reading rows.
            let among: Option<HashSet<CustomerId>> = match (owner, nested) {
                (None, true) => None,
                (None, false) => Some(customers::children(view, tenant, tenant.0)?),
                (Some(c), false) => {
                    existing_owner(view, tenant, c)?;
                    Some(customers::children(view, tenant, c.0)?)
                }
                (Some(c), true) => {
                    existing_owner(view, tenant, c)?;
                    Some(customers::subtree(view, tenant, c)?.split_off(1))
                }
            }
            .map(|ids| ids.into_iter().collect());
            let (ids, total) = index.page_among(tenant, &link, among.as_ref());
            let mut infos = Infos::new(view, tenant);
            let mut data = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(c) = customers::get(view, tenant, id)? {
                    data.push(infos.customer(c)?);
                }
            }
            Ok(PageData::new(data, total, &link))
        })
        .await
    }

    /// The customers among `ids` that the caller may read; others are left out.
    pub async fn customers_by_ids(
        &self,
        caller: &Caller,
        ids: &[CustomerId],
    ) -> ServiceResult<Vec<Customer>> {
        let snapshot = self.store.snapshot()?;
        let mut out = Vec::new();
        for id in ids {
            if let Some(c) = customers::get(&*snapshot, caller.tenant_id, *id)?
                && check(caller, Operation::Read, &c).is_ok()
            {
                out.push(c);
            }
        }
        Ok(out)
    }

    /// Deletes a customer and its users, atomically; their tokens stop
    /// working at once because the users are gone.
    pub async fn delete_customer(&self, caller: &Caller, id: CustomerId) -> ServiceResult<()> {
        self.delete_customers(caller, vec![id]).await
    }

    /// Deletes a selection of customers with their sub-customers and all
    /// their users in one transaction: if any of them is missing or not the
    /// caller's to delete, none is.
    pub async fn delete_customers(
        &self,
        caller: &Caller,
        mut ids: Vec<CustomerId>,
    ) -> ServiceResult<()> {
        ids.sort();
        ids.dedup();
        let caller = caller.clone();
        let tenant = caller.tenant_id;
        let moved = self
            .write(move |view| {
                let mut changes = Changes::new();
                let mut moved = Vec::new();
                for root in roots(view, tenant, &ids)? {
                    moved.extend(stage_delete_tree(view, &caller, &root, &mut changes)?);
                }
                Ok((moved, changes))
            })
            .await?;
        self.owners_changed(tenant, moved);
        Ok(())
    }
}

/// The owner customer `id` of the caller's tenant, or "not found".
pub(super) fn existing_owner(
    view: &dyn KvRead,
    tenant: TenantId,
    id: CustomerId,
) -> ServiceResult<Customer> {
    customers::get(view, tenant, id)?
        .ok_or_else(|| ServiceError::NotFound(format!("Customer with id [{}] is not found", id.0)))
}

/// The customers among `ids` that no other of them is above: deleting
/// those (with everything below) deletes all of `ids`, each once.
fn roots(view: &dyn KvRead, tenant: TenantId, ids: &[CustomerId]) -> ServiceResult<Vec<Customer>> {
    let chosen: HashSet<CustomerId> = ids.iter().copied().collect();
    let mut out = Vec::new();
    for &id in ids {
        let c = customers::get(view, tenant, id)?.ok_or_else(ServiceError::not_found)?;
        let above = customers::ancestors(view, tenant, id)?;
        if !above.iter().any(|a| chosen.contains(a)) {
            out.push(c);
        }
    }
    Ok(out)
}

/// Deletes `root` and every customer below it, deepest first. Their
/// devices and assets go to `root`'s owner (a customer, or the tenant):
/// kept, not lost. Returns the entities whose owner changed.
fn stage_delete_tree(
    view: &dyn KvRead,
    caller: &Caller,
    root: &Customer,
    changes: &mut Changes,
) -> ServiceResult<Vec<EntityId>> {
    let heir = match root.parent_customer_id {
        Some(p) => Some(existing_owner(view, root.tenant_id, p)?),
        None => None,
    };
    let mut moved = Vec::new();
    for id in customers::subtree(view, root.tenant_id, root.id)?
        .into_iter()
        .rev()
    {
        let c = customers::get(view, root.tenant_id, id)?.ok_or_else(ServiceError::not_found)?;
        moved.extend(stage_delete(view, caller, &c, heir.as_ref(), changes)?);
    }
    Ok(moved)
}

/// The changes that delete one customer with its users, and their audit
/// records; its devices and assets go to `heir`. Returns the entities whose
/// owner changed: the customer itself and the devices and assets it had.
fn stage_delete(
    view: &dyn KvRead,
    caller: &Caller,
    c: &Customer,
    heir: Option<&Customer>,
    changes: &mut Changes,
) -> ServiceResult<Vec<EntityId>> {
    check(caller, Operation::Delete, c)?;
    let actor = Actor::from(caller);
    for user in users::of_customer(view, c.tenant_id, c.id)? {
        super::users::stage_delete_user(view, changes, &actor, &user)?;
        stage_record(
            changes,
            &actor,
            c.id,
            Some((user.id.entity_id(), &user.email)),
            ActionType::Deleted,
            json!({ "entityId": user.id.entity_id(), "reason": "customer deleted" }),
        );
    }
    let mut moved = stage_move_all::<Device>(view, changes, &actor, c, heir)?;
    moved.extend(stage_move_all::<Asset>(view, changes, &actor, c, heir)?);
    moved.push(c.id.entity_id());
    super::dashboards::stage_unassign_all(view, changes, c.tenant_id, c.id)?;
    super::dashboards::stage_move_owned(view, changes, &actor, c, heir)?;
    stage_delete_data(view, changes, c.tenant_id, c.id.0)?;
    entity_groups::stage_delete_of_owner(view, changes, c.tenant_id, c.id.0)?;
    crate::store::roles::stage_delete_of_owner(view, changes, c.tenant_id, c.id.0)?;
    customers::delete(changes, c);
    stage_record(
        changes,
        &actor,
        c.id,
        Some((c.id.entity_id(), &c.title)),
        ActionType::Deleted,
        json!({ "entityId": c.id.entity_id() }),
    );
    Ok(moved)
}
