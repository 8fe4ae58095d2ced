//! A customer user's effective rights (ThingsBoard Professional Edition):
//! the roles granted to the user groups it is in, merged. Rights are
//! additive: a GENERIC role granted to a customer's user group reaches
//! that customer and every customer below it, and nothing else; a GROUP
//! role reaches one entity group and the entities in it.

use std::fmt;
use std::sync::Arc;

use uuid::Uuid;

use crate::domain::entity_group::GroupType;
use crate::domain::ids::{CustomerId, EntityGroupId, TenantId};
use crate::domain::role::{Grants, grants_allow, ops_allow};

/// Where customers sit in their tenant's tree, for the reach of a grant.
pub trait CustomerTree: Send + Sync {
    /// Whether `customer` is `ancestor` or below it (only below it when
    /// `strict`).
    fn is_within(
        &self,
        tenant: TenantId,
        customer: CustomerId,
        ancestor: CustomerId,
        strict: bool,
    ) -> bool;
}

/// Which entity groups hold which entities: the reach of a GROUP role over
/// its group's members. Asked only when a GROUP role's operations would
/// allow what is asked, so a caller without one never pays for it.
pub trait GroupMembers: Send + Sync {
    fn holds(&self, tenant: TenantId, group: EntityGroupId, entity: Uuid) -> bool;
}

/// What the reach of a grant is judged against: where customers sit, and
/// which groups hold what.
#[derive(Clone)]
pub struct Reach {
    pub tree: Arc<dyn CustomerTree>,
    pub members: Arc<dyn GroupMembers>,
}

/// The deepest a customer tree is walked: deeper than any real hierarchy,
/// and a bound should a corrupt store ever hold a cycle.
const MAX_DEPTH: usize = 256;

/// [`CustomerTree::is_within`] over a tree given by `parent` (`None`: the
/// tenant is above): the one walk every tree uses.
pub fn within(
    parent: impl Fn(CustomerId) -> Option<CustomerId>,
    customer: CustomerId,
    ancestor: CustomerId,
    strict: bool,
) -> bool {
    let mut at = if strict {
        parent(customer)
    } else {
        Some(customer)
    };
    for _ in 0..MAX_DEPTH {
        match at {
            Some(c) if c == ancestor => return true,
            Some(c) => at = parent(c),
            None => return false,
        }
    }
    false
}

/// A GENERIC role held through a user group of `scope`.
#[derive(Debug, Clone)]
pub struct GenericGrant {
    pub scope: CustomerId,
    pub grants: Grants,
}

/// A GROUP role over one entity group.
#[derive(Debug, Clone)]
pub struct GroupGrant {
    pub group: EntityGroupId,
    pub group_type: GroupType,
    pub operations: Vec<String>,
}

/// What a resource and operation are called in roles, and where: what a
/// check asks of [`Rights::allows`].
#[derive(Debug, Clone, Copy)]
pub struct Ask<'a> {
    pub resource: &'static str,
    /// All of these must be granted.
    pub operations: &'a [&'static str],
    /// The customer owning what is acted on.
    pub customer: CustomerId,
    /// Only below `customer`'s scope, not the scope itself: a customer's
    /// own record is changed from above.
    pub strict: bool,
    /// The entity group acted on, if the check is about one.
    pub group: Option<EntityGroupId>,
    /// The entity acted on (its data included), if the check is about one
    /// entity: a GROUP role over a group holding it reaches it.
    pub entity: Option<Uuid>,
}

#[derive(Clone)]
pub struct Rights {
    tenant: TenantId,
    generic: Vec<GenericGrant>,
    groups: Vec<GroupGrant>,
    reach: Reach,
}

impl fmt::Debug for Rights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rights")
            .field("generic", &self.generic)
            .field("groups", &self.groups)
            .finish()
    }
}

impl Rights {
    pub fn new(
        tenant: TenantId,
        generic: Vec<GenericGrant>,
        groups: Vec<GroupGrant>,
        reach: Reach,
    ) -> Self {
        Rights {
            tenant,
            generic,
            groups,
            reach,
        }
    }

    pub fn generic(&self) -> &[GenericGrant] {
        &self.generic
    }

    pub fn groups(&self) -> &[GroupGrant] {
        &self.groups
    }

    /// The entity groups of type `t` GROUP roles are granted over, each
    /// once, in grant order: what has been shared with the holder.
    pub fn groups_of_type(&self, t: GroupType) -> Vec<EntityGroupId> {
        let mut out: Vec<EntityGroupId> = Vec::new();
        for g in self.groups.iter().filter(|g| g.group_type == t) {
            if !out.contains(&g.group) {
                out.push(g.group);
            }
        }
        out
    }

    /// Whether a grant allows `ask`.
    pub fn allows(&self, ask: &Ask<'_>) -> bool {
        let generic = self.generic.iter().any(|g| {
            ask.operations
                .iter()
                .all(|op| grants_allow(&g.grants, ask.resource, op))
                && self.reaches(g.scope, ask.customer, ask.strict)
        });
        generic
            || self.groups.iter().any(|g| {
                ask.operations.iter().all(|op| ops_allow(&g.operations, op))
                    && self.group_reaches(g, ask)
            })
    }

    /// Whether a GROUP role's group is what `ask` is about, or holds the
    /// entity it is about (of the group's type: a device group's role is
    /// about devices, not about their alarms).
    fn group_reaches(&self, g: &GroupGrant, ask: &Ask<'_>) -> bool {
        if ask.group == Some(g.group) {
            return true;
        }
        ask.entity.is_some_and(|entity| {
            g.group_type.entity_type().as_str() == ask.resource
                && self.reach.members.holds(self.tenant, g.group, entity)
        })
    }

    /// Whether a grant held at `scope` reaches what `customer` owns.
    fn reaches(&self, scope: CustomerId, customer: CustomerId, strict: bool) -> bool {
        if scope.is_null() {
            // A tenant's user group: the whole tenant.
            return !strict || !customer.is_null();
        }
        !customer.is_null()
            && self
                .reach
                .tree
                .is_within(self.tenant, customer, scope, strict)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::domain::role::{RoleType, parse_permissions};
    use serde_json::json;

    /// child -> parent
    struct Tree(HashMap<CustomerId, CustomerId>);

    /// group -> members
    struct Members(HashMap<EntityGroupId, Vec<Uuid>>);

    impl GroupMembers for Members {
        fn holds(&self, _: TenantId, group: EntityGroupId, entity: Uuid) -> bool {
            self.0.get(&group).is_some_and(|m| m.contains(&entity))
        }
    }

    impl CustomerTree for Tree {
        fn is_within(&self, _: TenantId, c: CustomerId, a: CustomerId, strict: bool) -> bool {
            within(|x| self.0.get(&x).copied(), c, a, strict)
        }
    }

    #[test]
    fn a_generic_grant_reaches_its_scope_and_below_only() {
        let (top, mid, leaf, sibling) = (
            CustomerId::new(),
            CustomerId::new(),
            CustomerId::new(),
            CustomerId::new(),
        );
        let tree = Tree(HashMap::from([(leaf, mid), (mid, top)]));
        let grants = parse_permissions(RoleType::Generic, &json!({"DEVICE": ["READ"]})).unwrap();
        let rights = Rights::new(
            TenantId::new(),
            vec![GenericGrant { scope: mid, grants }],
            Vec::new(),
            Reach {
                tree: Arc::new(tree),
                members: Arc::new(Members(HashMap::new())),
            },
        );
        let ask = |customer, op, strict| Ask {
            resource: "DEVICE",
            operations: op,
            customer,
            strict,
            group: None,
            entity: None,
        };
        assert!(rights.allows(&ask(mid, &["READ"], false)));
        assert!(rights.allows(&ask(leaf, &["READ"], false)));
        assert!(rights.allows(&ask(leaf, &["READ"], true)));
        assert!(!rights.allows(&ask(mid, &["READ"], true)));
        assert!(!rights.allows(&ask(top, &["READ"], false)));
        assert!(!rights.allows(&ask(sibling, &["READ"], false)));
        assert!(!rights.allows(&ask(leaf, &["READ", "WRITE"], false)));
        assert!(!rights.allows(&ask(CustomerId::NULL, &["READ"], false)));
    }

    #[test]
    fn a_group_grant_reaches_its_group_and_its_members_only() {
        let (pumps, valves) = (EntityGroupId::new(), EntityGroupId::new());
        let (pump, valve) = (Uuid::new_v4(), Uuid::new_v4());
        let members = Members(HashMap::from([(pumps, vec![pump]), (valves, vec![valve])]));
        let rights = Rights::new(
            TenantId::new(),
            Vec::new(),
            vec![GroupGrant {
                group: pumps,
                group_type: GroupType::Device,
                operations: vec!["READ".into(), "READ_TELEMETRY".into()],
            }],
            Reach {
                tree: Arc::new(Tree(HashMap::new())),
                members: Arc::new(members),
            },
        );
        let ask = |resource, operations, group, entity| Ask {
            resource,
            operations,
            customer: CustomerId::new(),
            strict: false,
            group,
            entity,
        };
        assert!(rights.allows(&ask("DEVICE_GROUP", &["READ"], Some(pumps), None)));
        assert!(!rights.allows(&ask("DEVICE_GROUP", &["READ"], Some(valves), None)));
        assert!(rights.allows(&ask("DEVICE", &["READ"], None, Some(pump))));
        assert!(rights.allows(&ask("DEVICE", &["READ_TELEMETRY"], None, Some(pump))));
        // Not an operation it grants, not a member, not of the group's type.
        assert!(!rights.allows(&ask("DEVICE", &["WRITE"], None, Some(pump))));
        assert!(!rights.allows(&ask("DEVICE", &["READ"], None, Some(valve))));
        assert!(!rights.allows(&ask("ALARM", &["READ"], None, Some(pump))));
        assert!(!rights.allows(&ask("DEVICE", &["READ"], None, None)));
    }

    #[test]
    fn the_groups_of_a_type_are_listed_once_in_grant_order() {
        let (pumps, valves, sites) = (
            EntityGroupId::new(),
            EntityGroupId::new(),
            EntityGroupId::new(),
        );
        let grant = |group, group_type| GroupGrant {
            group,
            group_type,
            operations: vec!["READ".into()],
        };
        let rights = Rights::new(
            TenantId::new(),
            Vec::new(),
            vec![
                grant(valves, GroupType::Device),
                grant(sites, GroupType::Asset),
                grant(pumps, GroupType::Device),
                grant(valves, GroupType::Device),
            ],
            Reach {
                tree: Arc::new(Tree(HashMap::new())),
                members: Arc::new(Members(HashMap::new())),
            },
        );
        assert_eq!(rights.groups_of_type(GroupType::Device), [valves, pumps]);
        assert_eq!(rights.groups_of_type(GroupType::Asset), [sites]);
        assert!(rights.groups_of_type(GroupType::User).is_empty());
    }
}
