//! What a caller may read across owners, as ThingsBoard Professional
//! Edition's lists "available to the current user" answer it
//! (`GET /api/user/customers`, `/api/user/users`, `/api/owners`). The
//! permission rules decide: whether the caller's GENERIC roles reach its
//! owner (they reach the subtree below it whole) is asked once, and what
//! its GROUP roles reach, member by member.

use std::collections::HashSet;

use uuid::Uuid;

use crate::auth::Caller;
use crate::auth::permissions::{Operation, Resource, Target, allowed, require};
use crate::domain::customer::Customer;
use crate::domain::entity_group::GroupType;
use crate::domain::ids::{CustomerId, UserId};
use crate::domain::info::Owner;
use crate::domain::page::{PageData, PageLink};
use crate::domain::user::{Authority, User};
use crate::store::{KvRead, customers, entity_groups, tenants, users};

use super::customer_index::SORT_PROPERTIES;
use super::customers::{check as check_customer, page_of};
use super::entity_groups::member_ids;
use super::users::{USER_SORT_PROPERTIES, check as check_user, page_users};
use super::{App, ServiceError, ServiceResult};

/// The members of the groups of type `t` the caller's GROUP roles are
/// granted over, each once: what those roles may reach.
fn shared_with(view: &dyn KvRead, caller: &Caller, t: GroupType) -> ServiceResult<Vec<Uuid>> {
    let mut out = Vec::new();
    for group in caller.rights.iter().flat_map(|r| r.groups_of_type(t)) {
        if let Some(g) = entity_groups::get(view, caller.tenant_id, group)? {
            out.extend(member_ids(view, &g)?);
        }
    }
    Ok(out)
}

/// A customer user's candidates for the users it may read: those of its
/// customer and every customer below, if its roles read users there, and
/// the members of user groups shared with it.
fn customer_users_in_reach(view: &dyn KvRead, caller: &Caller) -> ServiceResult<Vec<User>> {
    let (tenant, own) = (caller.tenant_id, caller.customer_id);
    let mut all = Vec::new();
    let users_there = Target::users_of(tenant, own, Authority::CustomerUser);
    if allowed(caller, Resource::User, Operation::Read, &users_there) {
        for c in customers::subtree(view, tenant, own)? {
            all.extend(users::of_customer(view, tenant, c)?);
        }
    }
    let mut seen: HashSet<UserId> = all.iter().map(|u| u.id).collect();
    for id in shared_with(view, caller, GroupType::User)? {
        if seen.insert(UserId(id))
            && let Some(u) = users::get(view, tenant, UserId(id))?
        {
            all.push(u);
        }
    }
    Ok(all)
}

impl App {
    /// A page of the customers the caller may read: a tenant
    /// administrator's are all of its tenant's; a customer user's, those
    /// below its own customer if its roles read customers there (as
    /// ThingsBoard lists the customers owned inside the caller's subtree),
    /// and those in customer groups shared with it.
    pub async fn user_customers(
        &self,
        caller: &Caller,
        link: PageLink,
    ) -> ServiceResult<PageData<Customer>> {
        link.check_sort(&SORT_PROPERTIES)?;
        let tenant = caller.tenant_id;
        let snapshot = self.store.snapshot()?;
        let view = &*snapshot;
        let among = match caller.authority {
            Authority::SysAdmin => return Err(ServiceError::Forbidden),
            Authority::TenantAdmin => {
                let all = Target::tenant(tenant);
                require(caller, Resource::Customer, Operation::Read, &all)?;
                None
            }
            Authority::CustomerUser => {
                let mut among = HashSet::new();
                let own = Target::customer(tenant, caller.customer_id);
                if allowed(caller, Resource::Customer, Operation::Read, &own) {
                    among = self.customer_index.below(tenant, caller.customer_id);
                }
                for id in shared_with(view, caller, GroupType::Customer)? {
                    if let Some(c) = customers::get(view, tenant, CustomerId(id))?
                        && check_customer(caller, Operation::Read, &c).is_ok()
                    {
                        among.insert(c.id);
                    }
                }
                Some(among)
            }
        };
        let (ids, total) = self
            .customer_index
            .page_among(tenant, &link, among.as_ref());
        page_of(view, tenant, ids, total, &link)
    }

    /// A page of the users the caller may read: a tenant administrator's
    /// are all of its tenant's; a customer user's, those of its customer
    /// and every customer below if its roles read users there, and those
    /// in user groups shared with it.
    pub async fn user_users(
        &self,
        caller: &Caller,
        link: PageLink,
    ) -> ServiceResult<PageData<User>> {
        link.check_sort(&USER_SORT_PROPERTIES)?;
        let tenant = caller.tenant_id;
        match caller.authority {
            Authority::SysAdmin => return Err(ServiceError::Forbidden),
            Authority::TenantAdmin => {
                let all = Target::tenant(tenant);
                require(caller, Resource::User, Operation::Read, &all)?;
            }
            Authority::CustomerUser => {}
        }
        let snapshot = self.store.snapshot()?;
        let caller = caller.clone();
        self.blocking(move || {
            let view = &*snapshot;
            let mut all = if caller.authority == Authority::TenantAdmin {
                users::of_tenant(view, tenant)?
            } else {
                customer_users_in_reach(view, &caller)?
            };
            all.retain(|u| check_user(&caller, Operation::Read, u).is_ok());
            Ok(page_users(all, &link))
        })
        .await
    }

    /// A page of the owners the caller may pick, as ThingsBoard's owner
    /// picker lists them: for a tenant administrator its tenant and every
    /// customer of it; for a customer user its own customer and every one
    /// below, if its roles read customers there. Public customers are left
    /// out. Ordered by name (case-insensitive, then newest first); the
    /// search matches the start of the name; `sortProperty` and
    /// `sortOrder` do not change the order, as in ThingsBoard.
    pub async fn owners(&self, caller: &Caller, link: PageLink) -> ServiceResult<PageData<Owner>> {
        let tenant = caller.tenant_id;
        let snapshot = self.store.snapshot()?;
        let view = &*snapshot;
        let mut owners = Vec::new();
        match caller.authority {
            Authority::SysAdmin => return Err(ServiceError::Forbidden),
            Authority::TenantAdmin => {
                let own = Target::tenant(tenant);
                if allowed(caller, Resource::Tenant, Operation::Read, &own) {
                    owners.extend(tenants::get(view, tenant)?.map(Owner::Tenant));
                }
                if allowed(caller, Resource::Customer, Operation::Read, &own) {
                    customers::for_each_of(view, tenant, |c| owners.push(Owner::Customer(c)))?;
                }
            }
            Authority::CustomerUser => {
                let own = Target::customer(tenant, caller.customer_id);
                if allowed(caller, Resource::Customer, Operation::Read, &own) {
                    for id in customers::subtree(view, tenant, caller.customer_id)? {
                        owners.extend(customers::get(view, tenant, id)?.map(Owner::Customer));
                    }
                }
            }
        }
        owners.retain(|o| {
            !matches!(o, Owner::Customer(c) if c.is_public())
                && link
                    .text_search
                    .as_deref()
                    .is_none_or(|s| o.name().to_lowercase().starts_with(s))
        });
        owners
            .sort_by_cached_key(|o| (o.name().to_lowercase(), std::cmp::Reverse(o.created_time())));
        Ok(PageData::from_sorted(owners, &link))
    }
}
