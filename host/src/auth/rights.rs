//! A customer user's effective rights (ThingsBoard Professional Edition):
//! the roles granted to the user groups it is in, merged. Rights are
//! additive: a GENERIC role granted to a customer's user group reaches
//! that customer and every customer below it, and nothing else; a GROUP
//! role reaches one entity group.

use std::fmt;
use std::sync::Arc;

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
}

#[derive(Clone)]
pub struct Rights {
    tenant: TenantId,
    generic: Vec<GenericGrant>,
    groups: Vec<GroupGrant>,
    tree: Arc<dyn CustomerTree>,
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
        tree: Arc<dyn CustomerTree>,
    ) -> Self {
        Rights {
            tenant,
            generic,
            groups,
            tree,
        }
    }

    pub fn generic(&self) -> &[GenericGrant] {
        &self.generic
    }

    pub fn groups(&self) -> &[GroupGrant] {
        &self.groups
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
            || ask.group.is_some_and(|group| {
                self.groups.iter().any(|g| {
                    g.group == group && ask.operations.iter().all(|op| ops_allow(&g.operations, op))
                })
            })
    }

    /// Whether a grant held at `scope` reaches what `customer` owns.
    fn reaches(&self, scope: CustomerId, customer: CustomerId, strict: bool) -> bool {
        if scope.is_null() {
            // A tenant's user group: the whole tenant.
            return !strict || !customer.is_null();
        }
        !customer.is_null() && self.tree.is_within(self.tenant, customer, scope, strict)
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
            Arc::new(tree),
        );
        let ask = |customer, op, strict| Ask {
            resource: "DEVICE",
            operations: op,
            customer,
            strict,
            group: None,
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
}
