//! An owner's public customer (ThingsBoard PE): the customer below the
//! owner, marked `additionalInfo.isPublic`, whose "Public Users" group the
//! owner's public entity groups are granted to. Found, or made when the
//! owner first makes a group public, in the same transaction.

use serde_json::json;

use crate::auth::Caller;
use crate::domain::audit::ActionType;
use crate::domain::customer::{Customer, RESERVED_TITLE};
use crate::domain::entity_group::{EntityGroup, GroupType, PUBLIC_USERS};
use crate::domain::ids::{CustomerId, EntityId, EntityType, RoleId, TenantId};
use crate::domain::share::{public_group_role, public_user_role};
use crate::store::{Changes, KvRead, customers, entity_groups};

use super::super::audit::{Actor, stage_record};
use super::super::{ServiceError, ServiceResult};
use super::defaults::{find_or_stage_role, stage_generic_grant};
use super::stage_owner_defaults;

/// What a public group is granted to: the public customer's "Public
/// Users", with its "Entity Group Public User" role.
pub(super) struct PublicCustomer {
    pub customer: CustomerId,
    pub users: EntityGroup,
    pub role: RoleId,
}

/// `owner`'s public customer, if it has one: the tenant's is "Public"
/// (a title no client may take); a customer's is among those it owns.
fn find(view: &dyn KvRead, tenant: TenantId, owner: EntityId) -> ServiceResult<Option<Customer>> {
    let candidates = match owner.entity_type {
        EntityType::Customer => customers::children(view, tenant, owner.id)?,
        _ => customers::id_by_title(view, tenant, RESERVED_TITLE)?
            .into_iter()
            .collect(),
    };
    let mut found = Vec::new();
    for id in candidates {
        if let Some(c) = customers::get(view, tenant, id)?
            && c.is_public()
            && c.owner_id() == owner
        {
            found.push(c);
        }
    }
    Ok(found.into_iter().min_by_key(|c| (c.created_time, c.id)))
}

/// A new public customer of `owner`, staged with what every customer
/// starts with (so that its users and lists work as any customer's) and
/// its audit record.
fn stage_new(
    view: &dyn KvRead,
    changes: &mut Changes,
    caller: &Caller,
    owner: EntityId,
    now: i64,
) -> ServiceResult<Customer> {
    let tenant = caller.tenant_id;
    let parent = match owner.entity_type {
        EntityType::Customer => {
            let c = customers::get(view, tenant, CustomerId(owner.id))?
                .ok_or_else(ServiceError::not_found)?;
            Some((c.id, c.title))
        }
        _ => None,
    };
    let c = Customer::new_public(
        tenant,
        parent.as_ref().map(|(id, t)| (*id, t.as_str())),
        now,
    );
    if customers::id_by_title(view, tenant, &c.title)?.is_some() {
        return Err(ServiceError::invalid(format!(
            "Customer with such title already exists! The public customer would be called '{}'",
            c.title
        )));
    }
    customers::put(changes, None, &c);
    stage_owner_defaults(view, changes, tenant, c.id.entity_id(), now)?;
    stage_record(
        changes,
        &Actor::from(caller),
        c.id,
        Some((c.id.entity_id(), &c.title)),
        ActionType::Added,
        json!({ "entity": c }),
    );
    Ok(c)
}

/// `owner`'s public customer with its "Public Users" and roles, each
/// found or staged now: a public customer made here gets them all, one
/// made before keeps what it has and gets what it lacks.
pub(super) fn find_or_stage(
    view: &dyn KvRead,
    changes: &mut Changes,
    caller: &Caller,
    owner: EntityId,
    now: i64,
) -> ServiceResult<PublicCustomer> {
    let tenant = caller.tenant_id;
    let (customer, is_new) = match find(view, tenant, owner)? {
        Some(c) => (c, false),
        None => (stage_new(view, changes, caller, owner, now)?, true),
    };
    let me = customer.id.entity_id();
    let existing = match is_new {
        true => None,
        false => entity_groups::id_by_name(view, tenant, me.id, GroupType::User, PUBLIC_USERS)?
            .map(|id| entity_groups::get(view, tenant, id))
            .transpose()?
            .flatten(),
    };
    let users = match existing {
        Some(g) => g,
        None => {
            let g = EntityGroup::user_group(tenant, me, PUBLIC_USERS, now);
            entity_groups::put(changes, None, &g);
            let (role, _) = find_or_stage_role(view, changes, caller, me, public_user_role())?;
            stage_generic_grant(changes, tenant, g.id, role.id, &role.name, now);
            g
        }
    };
    let (role, _) = find_or_stage_role(view, changes, caller, me, public_group_role())?;
    Ok(PublicCustomer {
        customer: customer.id,
        users,
        role: role.id,
    })
}
