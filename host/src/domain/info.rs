//! ThingsBoard's `EntityInfo`: an entity named by its id and its name, as
//! Professional Edition's Info shapes (`CustomerInfo`, `UserInfo`) list the
//! groups an entity is in; and an owner as owner lists send it.

use serde::Serialize;

use super::customer::Customer;
use super::ids::EntityId;
use super::tenant::Tenant;

/// `{"id": {"entityType", "id"}, "name"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntityInfo {
    pub id: EntityId,
    pub name: String,
}

/// An owner, sent as itself (ThingsBoard's `ContactBased`): the tenant or
/// one of its customers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Owner {
    Tenant(Tenant),
    Customer(Customer),
}

impl Owner {
    pub fn name(&self) -> &str {
        match self {
            Owner::Tenant(t) => &t.name,
            Owner::Customer(c) => &c.name,
        }
    }

    pub fn created_time(&self) -> i64 {
        match self {
            Owner::Tenant(t) => t.created_time,
            Owner::Customer(c) => c.created_time,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::EntityGroupId;

    #[test]
    fn an_entity_info_is_a_typed_id_and_a_name() {
        let g = EntityGroupId::new();
        let json = serde_json::to_value(EntityInfo {
            id: g.entity_id(),
            name: "Managers".into(),
        })
        .unwrap();
        assert_eq!(json["id"]["entityType"], "ENTITY_GROUP");
        assert_eq!(json["id"]["id"], g.0.to_string());
        assert_eq!(json["name"], "Managers");
    }
}
