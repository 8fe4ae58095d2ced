//! Entity groups (ThingsBoard Professional Edition): sets of entities of
//! one type under one owner, the tenant or a customer. Every owner has a
//! reserved "All" group per type, which always holds everything of that
//! type the owner owns; named groups hold what is put in them. User groups
//! are the groups of type USER: roles are granted to them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::customer::{check_additional_info, info_flag};
use super::ids::{CustomerId, EntityGroupId, EntityId, EntityType, TenantId};
use super::validate::{ValidationError, check_required};

/// The reserved group of every owner and type that holds all of them.
pub const ALL_GROUP_NAME: &str = "All";

/// The user groups created with a tenant: its administrators (full rights
/// in the tenant) and read-only users.
pub const TENANT_ADMINISTRATORS: &str = "Tenant Administrators";
pub const TENANT_USERS: &str = "Tenant Users";
/// The user groups created with a customer: its administrators (full
/// rights over the customer's subtree) and read-only users.
pub const CUSTOMER_ADMINISTRATORS: &str = "Customer Administrators";
pub const CUSTOMER_USERS: &str = "Customer Users";
/// The user group of a public customer that public groups are granted to.
pub const PUBLIC_USERS: &str = "Public Users";

/// What a group holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GroupType {
    Customer,
    Asset,
    Device,
    User,
    Dashboard,
}

impl GroupType {
    pub const ALL: [GroupType; 5] = [
        GroupType::Customer,
        GroupType::Asset,
        GroupType::Device,
        GroupType::User,
        GroupType::Dashboard,
    ];

    pub fn entity_type(self) -> EntityType {
        match self {
            GroupType::Customer => EntityType::Customer,
            GroupType::Asset => EntityType::Asset,
            GroupType::Device => EntityType::Device,
            GroupType::User => EntityType::User,
            GroupType::Dashboard => EntityType::Dashboard,
        }
    }

    /// The group type that holds entities of `t`, if any does.
    pub fn of(t: EntityType) -> Option<GroupType> {
        GroupType::ALL.into_iter().find(|g| g.entity_type() == t)
    }

    /// One byte for store keys: stable, whatever the enum's order.
    pub fn code(self) -> u8 {
        match self {
            GroupType::Customer => 1,
            GroupType::Asset => 2,
            GroupType::Device => 3,
            GroupType::User => 4,
            GroupType::Dashboard => 5,
        }
    }
}

impl fmt::Display for GroupType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.entity_type().fmt(f)
    }
}

impl FromStr for GroupType {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, ValidationError> {
        s.parse::<EntityType>()
            .ok()
            .and_then(GroupType::of)
            .ok_or_else(|| ValidationError::new(format!("Unsupported entity group type: {s}")))
    }
}

/// Whether `name` would read as the reserved "All" group: any case, any
/// surrounding spaces.
pub fn is_reserved_name(name: &str) -> bool {
    name.trim().eq_ignore_ascii_case(ALL_GROUP_NAME)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityGroup {
    pub id: EntityGroupId,
    pub created_time: i64,
    pub tenant_id: TenantId,
    #[serde(rename = "type")]
    pub group_type: GroupType,
    pub name: String,
    /// The tenant or the customer that owns the group and its members.
    pub owner_id: EntityId,
    /// The reserved group holding everything its owner owns of its type.
    pub group_all: bool,
    /// ThingsBoard's flag for edge-synchronised groups; there are no edges
    /// here, so it is always false, but clients expect it.
    #[serde(default)]
    pub edge_group_all: bool,
    pub additional_info: Option<Value>,
    /// Display settings (columns, actions), kept as the client sent them.
    pub configuration: Option<Value>,
    pub external_id: Option<Value>,
    pub version: i64,
}

impl EntityGroup {
    fn new(
        tenant_id: TenantId,
        owner_id: EntityId,
        t: GroupType,
        name: &str,
        group_all: bool,
        now: i64,
    ) -> Self {
        EntityGroup {
            id: EntityGroupId::new(),
            created_time: now,
            tenant_id,
            group_type: t,
            name: name.to_owned(),
            owner_id,
            group_all,
            edge_group_all: false,
            additional_info: None,
            configuration: None,
            external_id: None,
            version: 1,
        }
    }

    /// The groups an owner gets when it is created: "All" of every type,
    /// and its default user groups.
    pub fn defaults_for(tenant_id: TenantId, owner_id: EntityId, now: i64) -> Vec<EntityGroup> {
        let mut out: Vec<EntityGroup> = GroupType::ALL
            .into_iter()
            .map(|t| EntityGroup::new(tenant_id, owner_id, t, ALL_GROUP_NAME, true, now))
            .collect();
        out.extend(
            default_user_groups(owner_id.entity_type)
                .iter()
                .map(|name| {
                    EntityGroup::new(tenant_id, owner_id, GroupType::User, name, false, now)
                }),
        );
        out
    }

    /// A new named user group the service makes itself ("Public Users").
    pub fn user_group(tenant_id: TenantId, owner_id: EntityId, name: &str, now: i64) -> Self {
        EntityGroup::new(tenant_id, owner_id, GroupType::User, name, false, now)
    }

    /// A new named group of type `t` (as [`EntityGroupInput::validate`]
    /// found it).
    pub fn create(
        tenant_id: TenantId,
        owner_id: EntityId,
        t: GroupType,
        input: EntityGroupInput,
        now: i64,
    ) -> Self {
        EntityGroup {
            additional_info: input.additional_info,
            configuration: input.configuration,
            ..EntityGroup::new(
                tenant_id,
                owner_id,
                t,
                input.name.as_deref().unwrap_or("").trim(),
                false,
                now,
            )
        }
    }

    /// "All", or one of its owner's default user groups: new users and
    /// rights rely on those, so they are never renamed or deleted.
    pub fn is_reserved(&self) -> bool {
        self.group_all
            || (self.group_type == GroupType::User
                && default_user_groups(self.owner_id.entity_type).contains(&self.name.as_str()))
    }

    /// Whether the group was made public: `additionalInfo.isPublic`, as
    /// ThingsBoard reads it.
    pub fn is_public(&self) -> bool {
        info_flag(self.additional_info.as_ref(), "isPublic")
    }

    /// This group made public through `public_customer`, or private again
    /// (`None`), one version on: ThingsBoard's `additionalInfo.isPublic`
    /// and `publicCustomerId` (empty once private), the rest kept.
    pub fn published(&self, public_customer: Option<CustomerId>) -> Self {
        let mut info = match &self.additional_info {
            Some(Value::Object(map)) => map.clone(),
            _ => serde_json::Map::new(),
        };
        info.insert("isPublic".into(), Value::Bool(public_customer.is_some()));
        let customer = public_customer.map(|c| c.0.to_string()).unwrap_or_default();
        info.insert("publicCustomerId".into(), Value::String(customer));
        EntityGroup {
            additional_info: Some(Value::Object(info)),
            version: self.version + 1,
            ..self.clone()
        }
    }

    /// This group with a new name and settings; type and owner stay.
    pub fn updated(&self, input: EntityGroupInput) -> Self {
        EntityGroup {
            name: input.name.unwrap_or_default().trim().to_owned(),
            additional_info: input.additional_info,
            configuration: input.configuration,
            version: self.version + 1,
            ..self.clone()
        }
    }
}

/// The user groups created with an owner of this type.
pub fn default_user_groups(owner: EntityType) -> &'static [&'static str] {
    match owner {
        EntityType::Tenant => &[TENANT_ADMINISTRATORS, TENANT_USERS],
        _ => &[CUSTOMER_ADMINISTRATORS, CUSTOMER_USERS],
    }
}

/// The user group a new user of an owner of this type joins when its
/// creator names none: the tenant's administrators, or a customer's
/// read-only users (ThingsBoard Community Edition's rights).
pub fn new_user_group(owner: EntityType) -> &'static str {
    match owner {
        EntityType::Tenant => TENANT_ADMINISTRATORS,
        _ => CUSTOMER_USERS,
    }
}

/// A group with the chain of owners above it, its own owner first
/// (ThingsBoard's `EntityGroupInfo`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityGroupInfo {
    #[serde(flatten)]
    pub group: EntityGroup,
    pub owner_ids: Vec<EntityId>,
}

/// What a caller may send to create or rename a group.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityGroupInput {
    #[serde(default)]
    pub id: Option<EntityGroupId>,
    #[serde(default, rename = "type")]
    pub group_type: Option<GroupType>,
    #[serde(default)]
    pub name: Option<String>,
    /// Omitted: the caller's own owner (its customer, or its tenant).
    #[serde(default)]
    pub owner_id: Option<EntityId>,
    #[serde(default)]
    pub additional_info: Option<Value>,
    #[serde(default)]
    pub configuration: Option<Value>,
    #[serde(default)]
    pub version: Option<i64>,
}

impl EntityGroupInput {
    /// Checks the input; returns the group's type.
    pub fn validate(&self) -> Result<GroupType, ValidationError> {
        let t = self
            .group_type
            .ok_or_else(|| ValidationError::new("Entity group type should be specified!"))?;
        let name = self.name.as_deref().unwrap_or("");
        check_required("name", name, "Entity group name should be specified!")?;
        if is_reserved_name(name) {
            return Err(ValidationError::new(format!(
                "Entity group name '{ALL_GROUP_NAME}' is reserved for the group that holds all entities"
            )));
        }
        check_additional_info(self.additional_info.as_ref())?;
        match &self.configuration {
            None | Some(Value::Null | Value::Object(_)) => Ok(t),
            Some(_) => Err(ValidationError::new(
                "Validation error: configuration must be a JSON object",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_owner_gets_all_groups_and_its_own_user_groups() {
        let t = TenantId::new();
        let c = CustomerId::new();
        let groups = EntityGroup::defaults_for(t, c.entity_id(), 1);
        for gt in GroupType::ALL {
            let all: Vec<_> = groups
                .iter()
                .filter(|g| g.group_type == gt && g.group_all)
                .collect();
            assert_eq!(all.len(), 1, "{gt}");
            assert_eq!(all[0].name, ALL_GROUP_NAME);
        }
        let user_groups: Vec<&str> = groups
            .iter()
            .filter(|g| g.group_type == GroupType::User && !g.group_all)
            .map(|g| g.name.as_str())
            .collect();
        assert_eq!(user_groups, [CUSTOMER_ADMINISTRATORS, CUSTOMER_USERS]);
        let tenant_groups = EntityGroup::defaults_for(t, t.entity_id(), 1);
        assert!(
            tenant_groups
                .iter()
                .any(|g| g.name == TENANT_ADMINISTRATORS)
        );
    }

    #[test]
    fn publishing_a_group_marks_its_additional_info_and_keeps_the_rest() {
        let t = TenantId::new();
        let mut g = EntityGroup::user_group(t, t.entity_id(), "Pumps", 1);
        g.additional_info = Some(serde_json::json!({"description": "pumps"}));
        assert!(!g.is_public());
        let c = CustomerId::new();
        let public = g.published(Some(c));
        assert!(public.is_public());
        assert_eq!(public.version, g.version + 1);
        let info = public.additional_info.clone().unwrap();
        assert_eq!(info["publicCustomerId"], c.0.to_string());
        assert_eq!(info["description"], "pumps");
        let private = public.published(None);
        assert!(!private.is_public());
        assert_eq!(private.additional_info.unwrap()["publicCustomerId"], "");
    }

    #[test]
    fn names_that_read_as_all_are_refused() {
        for name in ["All", "all", " ALL ", "aLl"] {
            let input = EntityGroupInput {
                group_type: Some(GroupType::Device),
                name: Some(name.into()),
                ..Default::default()
            };
            assert!(input.validate().is_err(), "{name:?}");
        }
        let fine = EntityGroupInput {
            group_type: Some(GroupType::Device),
            name: Some("All devices".into()),
            ..Default::default()
        };
        assert!(fine.validate().is_ok());
    }

    #[test]
    fn group_types_parse_in_any_case_and_refuse_the_rest() {
        assert_eq!("device".parse::<GroupType>(), Ok(GroupType::Device));
        assert_eq!("CUSTOMER".parse::<GroupType>(), Ok(GroupType::Customer));
        assert!("TENANT".parse::<GroupType>().is_err());
        assert!("ALARM".parse::<GroupType>().is_err());
    }
}
