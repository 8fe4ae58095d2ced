//! ThingsBoard Professional Edition's Info shapes: a customer or a user
//! with its owner's name and the named groups it is in
//! (`GET /api/customer/info/{id}`, `/api/customerInfos/all`,
//! `/api/userInfos/all`).

use std::collections::HashMap;

use uuid::Uuid;

use crate::auth::Caller;
use crate::auth::permissions::{Operation, Resource, Target, require};
use crate::domain::customer::{Customer, CustomerInfo};
use crate::domain::ids::{CustomerId, EntityGroupId, TenantId};
use crate::domain::info::EntityInfo;
use crate::domain::page::{PageData, PageLink};
use crate::domain::user::{Authority, User, UserInfo};
use crate::store::{KvRead, customers, entity_groups, tenants, users};

use super::customers::readable;
use super::users::{USER_SORT_PROPERTIES, check as check_user, page_users};
use super::{App, ServiceError, ServiceResult};

/// Builds Info shapes over one snapshot, looking each owner's name and
/// each group's name up once.
pub(super) struct Infos<'a> {
    view: &'a dyn KvRead,
    tenant: TenantId,
    owner_names: HashMap<Option<CustomerId>, String>,
    group_names: HashMap<EntityGroupId, Option<String>>,
}

impl<'a> Infos<'a> {
    pub(super) fn new(view: &'a dyn KvRead, tenant: TenantId) -> Self {
        Infos {
            view,
            tenant,
            owner_names: HashMap::new(),
            group_names: HashMap::new(),
        }
    }

    /// The title of `owner` (`None`: the tenant's).
    fn owner_name(&mut self, owner: Option<CustomerId>) -> ServiceResult<String> {
        if let Some(name) = self.owner_names.get(&owner) {
            return Ok(name.clone());
        }
        let name = match owner {
            Some(c) => customers::get(self.view, self.tenant, c)?.map(|c| c.title),
            None => tenants::get(self.view, self.tenant)?.map(|t| t.title),
        }
        .unwrap_or_default();
        self.owner_names.insert(owner, name.clone());
        Ok(name)
    }

    /// The named groups `entity` is in, by name (as ThingsBoard orders
    /// them); "All" groups hold their members implicitly and are not listed.
    fn groups(&mut self, entity: Uuid) -> ServiceResult<Vec<EntityInfo>> {
        let mut out = Vec::new();
        for id in entity_groups::memberships(self.view, self.tenant, entity)? {
            let name = match self.group_names.get(&id) {
                Some(name) => name.clone(),
                None => {
                    let name = entity_groups::get(self.view, self.tenant, id)?
                        .filter(|g| !g.group_all)
                        .map(|g| g.name);
                    self.group_names.insert(id, name.clone());
                    name
                }
            };
            if let Some(name) = name {
                out.push(EntityInfo {
                    id: id.entity_id(),
                    name,
                });
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.id.cmp(&b.id.id)));
        Ok(out)
    }

    pub(super) fn customer(&mut self, customer: Customer) -> ServiceResult<CustomerInfo> {
        Ok(CustomerInfo {
            owner_name: self.owner_name(customer.parent_customer_id)?,
            groups: self.groups(customer.id.0)?,
            customer,
        })
    }

    pub(super) fn user(&mut self, user: User) -> ServiceResult<UserInfo> {
        let owner = (!user.customer_id.is_null()).then_some(user.customer_id);
        Ok(UserInfo {
            owner_name: self.owner_name(owner)?,
            groups: self.groups(user.id.0)?,
            user,
        })
    }
}

impl App {
    /// One customer the caller may read, as a `CustomerInfo`.
    pub async fn customer_info(
        &self,
        caller: &Caller,
        id: CustomerId,
    ) -> ServiceResult<CustomerInfo> {
        // One snapshot for the customer and what its info adds.
        let snapshot = self.store.snapshot()?;
        let c = readable(&*snapshot, caller, id)?;
        Infos::new(&*snapshot, caller.tenant_id).customer(c)
    }

    /// A page of the users of the caller's owner (a tenant administrator:
    /// its tenant's administrators; a customer user: its customer's users)
    /// or, with `nested`, also of every customer below that owner, as
    /// `UserInfo`s. Takes the right to read users there, as ThingsBoard's
    /// `checkPermission(USER, READ)` does: a plain customer user, whose
    /// roles do not read users, is refused.
    pub async fn user_infos(
        &self,
        caller: &Caller,
        nested: bool,
        link: PageLink,
    ) -> ServiceResult<PageData<UserInfo>> {
        link.check_sort(&USER_SORT_PROPERTIES)?;
        let tenant = caller.tenant_id;
        let own = match caller.authority {
            Authority::TenantAdmin => None,
            Authority::CustomerUser => Some(caller.customer_id),
            Authority::SysAdmin => return Err(ServiceError::Forbidden),
        };
        let users_there = Target::in_customer(tenant, own);
        require(caller, Resource::User, Operation::Read, &users_there)?;
        let snapshot = self.store.snapshot()?;
        let caller = caller.clone();
        self.blocking(move || {
            let view = &*snapshot;
            let all = match (own, nested) {
                (None, true) => users::of_tenant(view, tenant)?,
                (None, false) => users::of_customer(view, tenant, CustomerId::NULL)?,
                (Some(c), false) => users::of_customer(view, tenant, c)?,
                (Some(c), true) => {
                    let mut all = Vec::new();
                    for c in customers::subtree(view, tenant, c)? {
                        all.extend(users::of_customer(view, tenant, c)?);
                    }
                    all
                }
            };
            let readable = all
                .into_iter()
                .filter(|u| check_user(&caller, Operation::Read, u).is_ok())
                .collect();
            let mut infos = Infos::new(view, tenant);
            page_users(readable, &link).try_map(|u| infos.user(u))
        })
        .await
    }
}
