//! Who owns a customer, device, asset or dashboard, and changing it
//! (ThingsBoard Professional Edition's `POST /api/owner/...`). A customer
//! is owned by its tenant or by a parent customer; devices and assets by
//! the tenant or the customer they are assigned to; dashboards by the
//! tenant or a customer, whatever customers they are assigned to; a
//! customer user by its customer.

use serde_json::json;

use crate::auth::Caller;
use crate::auth::permissions::{Operation, Resource, Target, require};
use crate::domain::asset::Asset;
use crate::domain::audit::ActionType;
use crate::domain::customer::Customer;
use crate::domain::device::Device;
use crate::domain::ids::{CustomerId, DashboardId, EntityId, EntityType, UserId, owner_of};
use crate::domain::user::{Authority, User};
use crate::store::{Changes, KvRead, customers, entity_groups, users};

use super::audit::{Actor, stage_record};
use super::customers::existing_owner;
use super::entity_groups::default_user_group;
use super::{App, ServiceError, ServiceResult};

/// The customer an owner id names (`None`: the caller's tenant). Another
/// tenant is refused as not the caller's; a missing customer is not found.
pub(super) fn owner_customer(
    caller: &Caller,
    owner: EntityId,
) -> ServiceResult<Option<CustomerId>> {
    match owner.entity_type {
        EntityType::Tenant if owner.id == caller.tenant_id.0 => Ok(None),
        EntityType::Tenant => Err(ServiceError::Forbidden),
        EntityType::Customer => Ok(Some(CustomerId(owner.id))),
        other => Err(ServiceError::invalid(format!(
            "An owner is a tenant or a customer, not {other}"
        ))),
    }
}

/// The owner a caller means, once it may `op` `resource` there: the one it
/// names (the tenant, or a customer of its tenant that must exist), or
/// else its own. The rights come first, so that a refused caller learns
/// nothing of which customers exist.
pub(super) fn resolve_owner(
    view: &dyn KvRead,
    caller: &Caller,
    named: Option<EntityId>,
    resource: Resource,
    op: Operation,
) -> ServiceResult<EntityId> {
    let owner = match named {
        None => caller.owner_id(),
        Some(named) => match owner_customer(caller, named)? {
            None => caller.tenant_id.entity_id(),
            Some(c) => c.entity_id(),
        },
    };
    require(
        caller,
        resource,
        op,
        &Target::owner(caller.tenant_id, owner),
    )?;
    if owner.entity_type == EntityType::Customer {
        existing_owner(view, caller.tenant_id, CustomerId(owner.id))?;
    }
    Ok(owner)
}

/// Refuses a new parent that is the customer itself or below it: the
/// customers would form a loop, owned by no one.
fn check_no_cycle(view: &dyn KvRead, c: &Customer, parent: CustomerId) -> ServiceResult<()> {
    if parent == c.id || customers::ancestors(view, c.tenant_id, parent)?.contains(&c.id) {
        return Err(ServiceError::invalid(
            "A customer can't be owned by itself or by one of its own sub-customers",
        ));
    }
    Ok(())
}

impl App {
    /// Gives `entity` (a customer, device, asset, dashboard or customer
    /// user of the caller's tenant) to `owner` (the tenant, or one of its
    /// customers).
    pub async fn change_owner(
        &self,
        caller: &Caller,
        owner: EntityId,
        entity: EntityId,
    ) -> ServiceResult<()> {
        let parent = owner_customer(caller, owner)?;
        let to = parent.unwrap_or(CustomerId::NULL);
        match entity.entity_type {
            EntityType::Customer => {
                self.move_customer(caller, CustomerId(entity.id), parent)
                    .await
            }
            EntityType::Device => self.assign::<Device>(caller, entity.id, to).await.map(drop),
            EntityType::Asset => self.assign::<Asset>(caller, entity.id, to).await.map(drop),
            EntityType::User => self.move_user(caller, UserId(entity.id), parent).await,
            EntityType::Dashboard => {
                self.move_dashboard(caller, DashboardId(entity.id), to)
                    .await
            }
            other => Err(ServiceError::invalid(format!(
                "The owner of a {other} can't be changed"
            ))),
        }
    }

    /// Gives customer user `id` to customer `to`: it leaves its old
    /// customer's user groups, and so the rights they gave, and joins the
    /// new one's "Customer Users". Its login and tokens stay.
    async fn move_user(
        &self,
        caller: &Caller,
        id: UserId,
        to: Option<CustomerId>,
    ) -> ServiceResult<()> {
        let caller = caller.clone();
        self.write(move |view| {
            let tenant = caller.tenant_id;
            let old = super::users::find(view, &caller, id)?;
            super::users::check(&caller, Operation::Write, &old)?;
            if old.authority != Authority::CustomerUser {
                return Err(ServiceError::invalid(
                    "Only a customer user's owner can be changed",
                ));
            }
            let Some(to) = to else {
                return Err(ServiceError::invalid(
                    "A customer user is owned by a customer, not by the tenant",
                ));
            };
            if old.id == caller.user_id {
                return Err(ServiceError::invalid("A user can't change its own owner!"));
            }
            let joining = Target::users_of(tenant, to, Authority::CustomerUser);
            require(&caller, Resource::User, Operation::Create, &joining)?;
            let new_owner = existing_owner(view, tenant, to)?;
            let mut changes = Changes::new();
            if old.customer_id == to {
                return Ok(((), changes));
            }
            let new = User {
                customer_id: to,
                version: old.version + 1,
                ..old.clone()
            };
            users::put(&mut changes, Some(&old), &new);
            entity_groups::stage_leave_all(view, &mut changes, tenant, id.0)?;
            let group = default_user_group(view, tenant, to.entity_id())?;
            entity_groups::add_member(&mut changes, tenant, group, id.0);
            stage_record(
                &mut changes,
                &Actor::from(&caller),
                to,
                Some((id.entity_id(), &new.email)),
                ActionType::ChangeOwner,
                json!({
                    "entityId": id.entity_id(),
                    "previousOwnerId": owner_of(tenant, old.customer_id),
                    "targetOwnerId": to.entity_id(),
                    "targetOwnerName": new_owner.title,
                }),
            );
            Ok(((), changes))
        })
        .await
    }

    /// Puts customer `id` under `parent` (`None`: the tenant) with
    /// everything below it.
    async fn move_customer(
        &self,
        caller: &Caller,
        id: CustomerId,
        parent: Option<CustomerId>,
    ) -> ServiceResult<()> {
        let caller = caller.clone();
        self.write(move |view| {
            let tenant = caller.tenant_id;
            let old = customers::get(view, tenant, id)?.ok_or_else(ServiceError::not_found)?;
            require(
                &caller,
                Resource::Customer,
                Operation::Write,
                &Target::customer(tenant, id),
            )?;
            let (target, new_owner) = match parent {
                None => (Target::tenant(tenant), None),
                Some(p) => {
                    let p = existing_owner(view, tenant, p)?;
                    check_no_cycle(view, &old, p.id)?;
                    (Target::customer(tenant, p.id), Some(p))
                }
            };
            require(&caller, Resource::Customer, Operation::Create, &target)?;
            let mut changes = Changes::new();
            if old.parent_customer_id == parent {
                return Ok(((), changes));
            }
            let new = old.moved_to(parent);
            customers::put(&mut changes, Some(&old), &new);
            // Its groups were its old owner's.
            entity_groups::stage_leave_all(view, &mut changes, tenant, id.0)?;
            stage_record(
                &mut changes,
                &Actor::from(&caller),
                new.id,
                Some((new.id.entity_id(), &new.title)),
                ActionType::ChangeOwner,
                json!({
                    "entityId": new.id.entity_id(),
                    "previousOwnerId": old.owner_id(),
                    "targetOwnerId": new.owner_id(),
                    "targetOwnerName": new_owner.map(|p| p.title),
                }),
            );
            Ok(((), changes))
        })
        .await
    }
}
