//! Who owns an entity, and what an owner owns: the facts "All" groups and
//! named-group membership rest on. An entity's owner is the customer it
//! belongs to (a customer's parent, a device's or asset's assignee, a
//! customer user's customer, a dashboard's owner) or else its tenant.

use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::domain::asset::Asset;
use crate::domain::customer::Customer;
use crate::domain::dashboard::Dashboard;
use crate::domain::device::Device;
use crate::domain::entity_group::GroupType;
use crate::domain::ids::{CustomerId, DashboardId, EntityId, TenantId, UserId, customer_of_owner};
use crate::domain::user::User;
use crate::store::{KvRead, StoreResult, assignable, customers, dashboards, users};

/// One member of a group, as lists show it: its id, name and creation
/// time for sorting, and the entity itself.
#[derive(Debug, Clone)]
pub struct Member {
    pub id: EntityId,
    pub name: String,
    pub created_time: i64,
    pub owner: EntityId,
    pub row: Value,
}

fn member<T: Serialize>(
    id: EntityId,
    name: &str,
    created: i64,
    owner: EntityId,
    row: &T,
) -> Member {
    Member {
        id,
        name: name.to_owned(),
        created_time: created,
        owner,
        row: serde_json::to_value(row).unwrap_or(Value::Null),
    }
}

/// An entity of one of the types groups hold, as stored.
enum Stored {
    Customer(Customer),
    Device(Device),
    Asset(Asset),
    User(User),
    Dashboard(Dashboard),
}

impl Stored {
    /// The entity of type `t` with this id in the tenant, if there is one.
    fn get(r: &dyn KvRead, tenant: TenantId, t: GroupType, id: Uuid) -> StoreResult<Option<Self>> {
        Ok(match t {
            GroupType::Customer => customers::get(r, tenant, CustomerId(id))?.map(Stored::Customer),
            GroupType::Device => assignable::get::<Device>(r, tenant, id)?.map(Stored::Device),
            GroupType::Asset => assignable::get::<Asset>(r, tenant, id)?.map(Stored::Asset),
            GroupType::User => users::get(r, tenant, UserId(id))?.map(Stored::User),
            GroupType::Dashboard => {
                dashboards::get(r, tenant, DashboardId(id))?.map(Stored::Dashboard)
            }
        })
    }

    fn owner(&self) -> EntityId {
        use crate::domain::assignable::Assignable;
        match self {
            Stored::Customer(c) => c.owner_id(),
            Stored::Device(d) => d.owner_id(),
            Stored::Asset(a) => a.owner_id(),
            Stored::User(u) => u.owner_id(),
            Stored::Dashboard(d) => d.owner_id(),
        }
    }

    fn into_member(self) -> Member {
        use crate::domain::assignable::Assignable;
        let owner = self.owner();
        match self {
            Stored::Customer(c) => member(c.id.entity_id(), &c.title, c.created_time, owner, &c),
            Stored::Device(d) => member(d.entity_id(), d.name(), d.created(), owner, &d),
            Stored::Asset(a) => member(a.entity_id(), a.name(), a.created(), owner, &a),
            Stored::User(u) => member(u.id.entity_id(), &u.email, u.created_time, owner, &u),
            Stored::Dashboard(d) => member(d.id.entity_id(), &d.title, d.created_time, owner, &d),
        }
    }
}

/// The entity of type `t` with this id in the tenant, if there is one.
pub fn load(
    r: &dyn KvRead,
    tenant: TenantId,
    t: GroupType,
    id: Uuid,
) -> StoreResult<Option<Member>> {
    Ok(Stored::get(r, tenant, t, id)?.map(Stored::into_member))
}

/// The owner of the entity of type `t` with this id in the tenant, if
/// there is one: what an "All" group's membership rests on, without
/// building the entity's row as [`load`] does.
pub fn owner(
    r: &dyn KvRead,
    tenant: TenantId,
    t: GroupType,
    id: Uuid,
) -> StoreResult<Option<EntityId>> {
    Ok(Stored::get(r, tenant, t, id)?.map(|e| e.owner()))
}

/// The ids of everything of type `t` that `owner` owns directly: the
/// members of its "All" group.
pub fn ids_owned(
    r: &dyn KvRead,
    tenant: TenantId,
    owner: EntityId,
    t: GroupType,
) -> StoreResult<Vec<Uuid>> {
    let customer = customer_of_owner(owner);
    Ok(match t {
        GroupType::Customer => customers::children(r, tenant, owner.id)?
            .into_iter()
            .map(|c| c.0)
            .collect(),
        GroupType::Device => assignable::ids_of_customer::<Device>(r, tenant, customer)?,
        GroupType::Asset => assignable::ids_of_customer::<Asset>(r, tenant, customer)?,
        GroupType::User => users::ids_of_customer(r, tenant, customer)?,
        GroupType::Dashboard => dashboards::of_owner(r, tenant, customer)?
            .into_iter()
            .map(|d| d.id.0)
            .collect(),
    })
}
