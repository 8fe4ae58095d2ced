//! Every permission decision, in one place.
//!
//! The system administrator manages tenants and their administrators; a
//! tenant administrator (a member of "Tenant Administrators") does
//! everything inside its tenant (ThingsBoard's rules for both). Any other
//! user's rights come from the roles its user groups hold ([`Rights`]):
//! by default the tenant's "Tenant Users" read everything of the tenant,
//! a customer's "Customer Users" read their
//! customer's entities and write their data, and "Customer
//! Administrators" do inside their customer's subtree what a tenant
//! administrator does in the tenant. Callers only say what they want to do
//! to what, and [`require`] turns a refusal into an error.

use crate::domain::entity_group::GroupType;
use crate::domain::ids::{
    CustomerId, EntityGroupId, EntityId, EntityType, TenantId, UserId, customer_of_owner,
};
use crate::domain::user::Authority;

use super::Caller;
use super::rights::Ask;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Tenant,
    Customer,
    /// A user's profile.
    User,
    /// A user's login, managed by an administrator: enabling, disabling,
    /// activation links. Not one's own: a user changes only its password.
    UserCredentials,
    AuditLog,
    Device,
    Asset,
    Dashboard,
    /// Attributes or telemetry of an entity of this type (the target is
    /// its owner).
    EntityData(EntityType, DataKind),
    /// Calculated fields: the tenant administrator's, as in ThingsBoard
    /// (their outputs are entity data, readable as such).
    CalculatedField,
    /// WebAssembly extensions: a tenant administrator's own.
    Extension,
    /// Events of an entity (lifecycle, errors, debug): the tenant
    /// administrator's, as the entity's internals are.
    Event,
    /// Alarms of an entity (the target is the originator's owner).
    Alarm,
    /// Entity groups of a type and their members (the target is the
    /// group's owner).
    EntityGroup(GroupType),
    /// Roles (the target is the role's owner).
    Role,
    /// Roles granted to user groups (the target is the user group's owner).
    GroupPermission,
}

/// An entity's data, granted apart in roles (`READ_ATTRIBUTES`,
/// `WRITE_TELEMETRY`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKind {
    Attributes,
    Telemetry,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Read,
    Create,
    Write,
    Delete,
}

/// The user a rule is about: its authority, and who it is. `id` is `None`
/// for the users of a group as a whole: one about to be created, or a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserTarget {
    pub authority: Authority,
    pub id: Option<UserId>,
}

/// Where the thing acted on lives: its tenant, its customer (if any) and,
/// for users, who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub tenant: TenantId,
    pub customer: Option<CustomerId>,
    pub user: Option<UserTarget>,
    /// The entity group acted on, for checks about one group.
    pub group: Option<EntityGroupId>,
    /// The entity acted on, for checks about one entity or its data: a
    /// GROUP role over a group holding it reaches it.
    pub entity: Option<EntityId>,
}

impl Target {
    pub fn tenant(tenant: TenantId) -> Self {
        Target {
            tenant,
            customer: None,
            user: None,
            group: None,
            entity: None,
        }
    }

    pub fn customer(tenant: TenantId, customer: CustomerId) -> Self {
        Target {
            tenant,
            customer: Some(customer),
            user: None,
            group: None,
            entity: None,
        }
    }

    /// What belongs to `customer`, or to the tenant itself (`None`).
    pub fn in_customer(tenant: TenantId, customer: Option<CustomerId>) -> Self {
        Target {
            tenant,
            customer: customer.filter(|c| !c.is_null()),
            user: None,
            group: None,
            entity: None,
        }
    }

    /// What belongs to `owner` (ThingsBoard PE): the tenant, or one of its
    /// customers.
    pub fn owner(tenant: TenantId, owner: EntityId) -> Self {
        Self::in_customer(tenant, Some(customer_of_owner(owner)))
    }

    /// This target, about one entity.
    pub fn about(self, entity: EntityId) -> Self {
        Target {
            entity: Some(entity),
            ..self
        }
    }

    /// One entity group of `owner`.
    pub fn group(tenant: TenantId, owner: EntityId, group: EntityGroupId) -> Self {
        Target {
            group: Some(group),
            ..Self::owner(tenant, owner)
        }
    }

    /// One user (`customer` is the null customer for tenant administrators).
    pub fn user(
        tenant: TenantId,
        customer: CustomerId,
        user: UserId,
        authority: Authority,
    ) -> Self {
        Target {
            user: Some(UserTarget {
                authority,
                id: Some(user),
            }),
            ..Self::users_of(tenant, customer, authority)
        }
    }

    /// The users of `authority` in a tenant (with the null customer) or a
    /// customer: to create one, or to list them.
    pub fn users_of(tenant: TenantId, customer: CustomerId, authority: Authority) -> Self {
        Target {
            tenant,
            customer: (!customer.is_null()).then_some(customer),
            user: Some(UserTarget {
                authority,
                id: None,
            }),
            group: None,
            entity: None,
        }
    }
}

/// A refused permission; the service answers it as "forbidden".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Denied;

/// [`allowed`], as a result to propagate with `?`.
pub fn require(
    caller: &Caller,
    resource: Resource,
    op: Operation,
    target: &Target,
) -> Result<(), Denied> {
    if allowed(caller, resource, op, target) {
        Ok(())
    } else {
        Err(Denied)
    }
}

/// Refuses unless `owner` is the caller's own: its tenant for a tenant
/// administrator, its customer for a customer user. ThingsBoard PE lets
/// only its owner's own users make an entity group public or private (the
/// public customer it uses is the caller's owner's), on top of the right
/// to change the group.
pub fn require_own_owner(caller: &Caller, owner: EntityId) -> Result<(), Denied> {
    let own = match caller.authority {
        Authority::SysAdmin => None,
        Authority::TenantAdmin | Authority::CustomerUser => Some(caller.owner_id()),
    };
    if own == Some(owner) {
        Ok(())
    } else {
        Err(Denied)
    }
}

/// May `caller` do `op` on `resource` at `target`?
pub fn allowed(caller: &Caller, resource: Resource, op: Operation, target: &Target) -> bool {
    let is_self = target.user.is_some_and(|u| u.id == Some(caller.user_id));
    let listing = |authority: Authority| lists_users(op, target, authority);
    match caller.authority {
        Authority::SysAdmin => match resource {
            Resource::Tenant => true,
            // Tenant administrators (and itself); never customers' users,
            // nor other system administrators.
            Resource::User | Resource::UserCredentials => {
                is_self
                    || target
                        .user
                        .is_some_and(|u| u.authority == Authority::TenantAdmin)
            }
            Resource::Customer
            | Resource::AuditLog
            | Resource::Device
            | Resource::Asset
            | Resource::Dashboard
            | Resource::EntityData(..)
            | Resource::CalculatedField
            | Resource::Extension
            | Resource::Event
            | Resource::Alarm
            | Resource::EntityGroup(_)
            | Resource::Role
            | Resource::GroupPermission => false,
        },
        Authority::TenantAdmin if caller.rights.is_some() => {
            target.tenant == caller.tenant_id && tenant_user_may(caller, resource, op, target)
        }
        Authority::TenantAdmin => {
            let own_tenant = target.tenant == caller.tenant_id;
            match resource {
                Resource::Tenant => own_tenant && op == Operation::Read,
                Resource::User | Resource::UserCredentials => {
                    own_tenant
                        && target
                            .user
                            .is_none_or(|u| u.authority != Authority::SysAdmin)
                        && !listing(Authority::TenantAdmin)
                }
                Resource::Customer
                | Resource::AuditLog
                | Resource::Device
                | Resource::Asset
                | Resource::Dashboard
                | Resource::EntityData(..)
                | Resource::CalculatedField
                | Resource::Extension
                | Resource::Event
                | Resource::Alarm
                | Resource::EntityGroup(_)
                | Resource::Role
                | Resource::GroupPermission => own_tenant,
            }
        }
        Authority::CustomerUser => {
            target.tenant == caller.tenant_id && customer_user_may(caller, resource, op, target)
        }
    }
}

/// The rights of a tenant's user outside "Tenant Administrators": its own
/// profile, its tenant's record, and what its roles grant. Roles name no
/// resource for the tenant's extensions, events and calculated fields: a
/// role over every resource ("ALL") reaches them. Never the system
/// administrator, nor the list of the tenant's administrators (the system
/// administrator's view, as for a full tenant administrator).
fn tenant_user_may(caller: &Caller, resource: Resource, op: Operation, target: &Target) -> bool {
    if let Some(u) = target.user {
        if on_own_profile(caller, op, target) {
            return resource == Resource::User;
        }
        if u.authority == Authority::SysAdmin || lists_users(op, target, Authority::TenantAdmin) {
            return false;
        }
    }
    let terms = match resource {
        Resource::Tenant => return op == Operation::Read,
        Resource::CalculatedField | Resource::Extension | Resource::Event => {
            Some(("ALL", plain_operations(op)))
        }
        _ => role_terms(resource, op),
    };
    terms.is_some_and(|terms| roles_allow(caller, terms, resource, op, target))
}

/// A customer user's rights: its own profile, its colleagues one by one
/// (Community Edition's rule), and what its roles grant. A public user has
/// no profile and no colleagues: only what its roles grant.
fn customer_user_may(caller: &Caller, resource: Resource, op: Operation, target: &Target) -> bool {
    let own_customer = target.customer == Some(caller.customer_id);
    if let Some(u) = target.user {
        if caller.is_public {
            return false;
        }
        if on_own_profile(caller, op, target) {
            return resource == Resource::User;
        }
        if u.authority != Authority::CustomerUser {
            return false;
        }
        if resource == Resource::User && op == Operation::Read && own_customer && u.id.is_some() {
            return true;
        }
    }
    role_terms(resource, op).is_some_and(|terms| roles_allow(caller, terms, resource, op, target))
}

/// Whether `target` is the caller itself, read or changed: every user's
/// own profile (its profile only, not its login: see the callers).
fn on_own_profile(caller: &Caller, op: Operation, target: &Target) -> bool {
    target.user.is_some_and(|u| u.id == Some(caller.user_id))
        && matches!(op, Operation::Read | Operation::Write)
}

/// Whether `target` is the list of the users of one authority as a whole.
/// Such a list is an administrator's view of a group ("the users of
/// customer X", "the administrators of tenant Y"), as in ThingsBoard,
/// where those lists are endpoints of the administrator one level up.
fn lists_users(op: Operation, target: &Target, authority: Authority) -> bool {
    op == Operation::Read
        && target
            .user
            .is_some_and(|u| u.id.is_none() && u.authority == authority)
}

/// Whether the caller's roles grant `terms` (a resource's name and the
/// operations it needs) at `target`.
fn roles_allow(
    caller: &Caller,
    (resource_name, operations): (&'static str, &'static [&'static str]),
    resource: Resource,
    op: Operation,
    target: &Target,
) -> bool {
    let Some(rights) = caller.rights.as_deref() else {
        return false;
    };
    rights.allows(&Ask {
        resource: resource_name,
        operations,
        // The tenant's own (no customer) is reached by a GROUP role or a
        // GENERIC role of a tenant's user group, never a customer's.
        customer: target.customer.unwrap_or(CustomerId::NULL),
        // A customer's own record is its parent's to change.
        strict: resource == Resource::Customer
            && matches!(op, Operation::Write | Operation::Delete),
        group: target.group,
        entity: target.entity.map(|e| e.id),
    })
}

/// What roles call `op` itself.
fn plain_operations(op: Operation) -> &'static [&'static str] {
    match op {
        Operation::Read => &["READ"],
        Operation::Create => &["CREATE"],
        Operation::Write => &["WRITE"],
        Operation::Delete => &["DELETE"],
    }
}

/// What roles call `op` on `resource`: the resource's name and the
/// operations that must all be granted. `None`: never a customer user's
/// (the tenant, its extensions, events and calculated fields).
fn role_terms(
    resource: Resource,
    op: Operation,
) -> Option<(&'static str, &'static [&'static str])> {
    let plain = plain_operations(op);
    let name = match resource {
        Resource::Customer => "CUSTOMER",
        Resource::User => "USER",
        Resource::UserCredentials => {
            let ops: &'static [&'static str] = match op {
                Operation::Read => &["READ_CREDENTIALS"],
                _ => &["WRITE_CREDENTIALS"],
            };
            return Some(("USER", ops));
        }
        Resource::Device => "DEVICE",
        Resource::Asset => "ASSET",
        Resource::Dashboard => "DASHBOARD",
        Resource::Alarm => "ALARM",
        Resource::AuditLog => "AUDIT_LOG",
        Resource::Role => "ROLE",
        Resource::GroupPermission => "GROUP_PERMISSION",
        Resource::EntityGroup(t) => match t {
            GroupType::Customer => "CUSTOMER_GROUP",
            GroupType::User => "USER_GROUP",
            GroupType::Device => "DEVICE_GROUP",
            GroupType::Asset => "ASSET_GROUP",
            GroupType::Dashboard => "DASHBOARD_GROUP",
        },
        Resource::EntityData(t, kind) => {
            let name = match t {
                EntityType::Customer => "CUSTOMER",
                EntityType::Device => "DEVICE",
                EntityType::Asset => "ASSET",
                _ => return None,
            };
            let ops: &'static [&'static str] = match (kind, op) {
                (DataKind::Attributes, Operation::Read) => &["READ_ATTRIBUTES"],
                (DataKind::Attributes, _) => &["WRITE_ATTRIBUTES"],
                (DataKind::Telemetry, Operation::Read) => &["READ_TELEMETRY"],
                (DataKind::Telemetry, _) => &["WRITE_TELEMETRY"],
            };
            return Some((name, ops));
        }
        Resource::Tenant | Resource::CalculatedField | Resource::Extension | Resource::Event => {
            return None;
        }
    };
    Some((name, plain))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::auth::rights::{CustomerTree, GenericGrant, GroupMembers, Reach, Rights};
    use crate::domain::role::{
        CUSTOMER_USER, RoleType, TENANT_USER, default_roles, parse_permissions,
    };

    /// Customers with no parents: a grant reaches its own customer only.
    struct Flat;

    impl CustomerTree for Flat {
        fn is_within(&self, _: TenantId, c: CustomerId, a: CustomerId, strict: bool) -> bool {
            !strict && c == a
        }
    }

    /// No entity is in any group.
    struct NoMembers;

    impl GroupMembers for NoMembers {
        fn holds(&self, _: TenantId, _: EntityGroupId, _: uuid::Uuid) -> bool {
            false
        }
    }

    fn reach() -> Reach {
        Reach {
            tree: Arc::new(Flat),
            members: Arc::new(NoMembers),
        }
    }

    /// A caller; a customer user holds the default "Customer User" role.
    fn caller(authority: Authority, tenant: TenantId, customer: CustomerId) -> Caller {
        let caller = Caller {
            user_id: UserId::new(),
            tenant_id: tenant,
            customer_id: customer,
            authority,
            email: "x@y.io".into(),
            rights: None,
            is_public: false,
        };
        if authority != Authority::CustomerUser {
            return caller;
        }
        let generic = vec![GenericGrant {
            scope: customer,
            grants: default_role(CUSTOMER_USER),
        }];
        caller.with_rights(Rights::new(tenant, generic, Vec::new(), reach()))
    }

    /// What the default role `name` grants.
    fn default_role(name: &str) -> crate::domain::role::Grants {
        let (_, permissions) = default_roles()
            .into_iter()
            .find(|(n, _)| *n == name)
            .unwrap();
        parse_permissions(RoleType::Generic, &permissions).unwrap()
    }

    /// A tenant's user in "Tenant Users": the default "Tenant User" role,
    /// held at the tenant.
    fn tenant_user(t: TenantId) -> Caller {
        let generic = vec![GenericGrant {
            scope: CustomerId::NULL,
            grants: default_role(TENANT_USER),
        }];
        let me = caller(Authority::TenantAdmin, t, CustomerId::NULL);
        me.with_rights(Rights::new(t, generic, Vec::new(), reach()))
    }

    #[test]
    fn a_tenant_user_reads_its_whole_tenant_and_changes_only_its_profile() {
        let (t, c) = (TenantId::new(), CustomerId::new());
        let me = tenant_user(t);
        let may = |r: Resource, op: Operation, target: &Target| allowed(&me, r, op, target);
        let device = EntityId {
            entity_type: EntityType::Device,
            id: uuid::Uuid::new_v4(),
        };
        let in_customer = Target::customer(t, c).about(device);
        let own = Target::tenant(t).about(device);
        for target in [&in_customer, &own] {
            assert!(may(Resource::Device, Operation::Read, target));
            let telemetry = Resource::EntityData(EntityType::Device, DataKind::Telemetry);
            assert!(may(telemetry, Operation::Read, target));
            assert!(!may(telemetry, Operation::Write, target));
            for op in [Operation::Create, Operation::Write, Operation::Delete] {
                assert!(!may(Resource::Device, op, target), "{op:?}");
            }
        }
        let customer = Target::customer(t, c);
        assert!(may(Resource::Customer, Operation::Read, &customer));
        assert!(!may(Resource::Customer, Operation::Write, &customer));
        // The tenant's own resources, read through the role over "ALL".
        let tenant = Target::tenant(t);
        for r in [
            Resource::Extension,
            Resource::CalculatedField,
            Resource::Event,
        ] {
            assert!(may(r, Operation::Read, &tenant), "{r:?}");
            assert!(!may(r, Operation::Create, &tenant), "{r:?}");
        }
        assert!(may(Resource::Tenant, Operation::Read, &tenant));
        assert!(!may(Resource::Tenant, Operation::Write, &tenant));
        // Its own profile, others read only, credentials never.
        let myself = Target::user(t, CustomerId::NULL, me.user_id, Authority::TenantAdmin);
        assert!(may(Resource::User, Operation::Write, &myself));
        let admin = Target::user(t, CustomerId::NULL, UserId::new(), Authority::TenantAdmin);
        assert!(may(Resource::User, Operation::Read, &admin));
        assert!(!may(Resource::User, Operation::Write, &admin));
        assert!(!may(Resource::UserCredentials, Operation::Read, &admin));
        let admins = Target::users_of(t, CustomerId::NULL, Authority::TenantAdmin);
        assert!(!may(Resource::User, Operation::Read, &admins));
        // Nothing of another tenant.
        let other = TenantId::new();
        let theirs = Target::tenant(other).about(device);
        assert!(!may(Resource::Device, Operation::Read, &theirs));
        assert!(!may(
            Resource::Tenant,
            Operation::Read,
            &Target::tenant(other)
        ));
    }

    #[test]
    fn a_customer_user_without_roles_has_only_its_profile() {
        let (t, c) = (TenantId::new(), CustomerId::new());
        let me = Caller {
            rights: None,
            ..caller(Authority::CustomerUser, t, c)
        };
        let myself = Target::user(t, c, me.user_id, Authority::CustomerUser);
        assert!(allowed(&me, Resource::User, Operation::Write, &myself));
        assert!(!allowed(
            &me,
            Resource::Customer,
            Operation::Read,
            &Target::customer(t, c)
        ));
        assert!(!allowed(
            &me,
            Resource::Device,
            Operation::Read,
            &Target::customer(t, c)
        ));
    }

    #[test]
    fn a_customer_user_never_touches_administrators() {
        let (t, c) = (TenantId::new(), CustomerId::new());
        let mut me = caller(Authority::CustomerUser, t, c);
        let everything = parse_permissions(RoleType::Generic, &serde_json::json!({"ALL": ["ALL"]}));
        let generic = vec![GenericGrant {
            scope: c,
            grants: everything.unwrap(),
        }];
        me.rights = Some(Arc::new(Rights::new(t, generic, Vec::new(), reach())));
        // Even a role granting everything: a tenant administrator "of" its
        // customer is no target, nor is the tenant's anything.
        let admins = Target::users_of(t, c, Authority::TenantAdmin);
        assert!(!allowed(&me, Resource::User, Operation::Create, &admins));
        assert!(!allowed(
            &me,
            Resource::Tenant,
            Operation::Read,
            &Target::tenant(t)
        ));
        assert!(!allowed(
            &me,
            Resource::Extension,
            Operation::Read,
            &Target::customer(t, c)
        ));
        // Its own customer's record is changed from above.
        assert!(allowed(
            &me,
            Resource::Customer,
            Operation::Read,
            &Target::customer(t, c)
        ));
        assert!(!allowed(
            &me,
            Resource::Customer,
            Operation::Delete,
            &Target::customer(t, c)
        ));
        let users = Target::users_of(t, c, Authority::CustomerUser);
        assert!(allowed(&me, Resource::User, Operation::Create, &users));
    }

    #[test]
    fn a_public_user_has_no_profile_and_never_touches_users() {
        let (t, c) = (TenantId::new(), CustomerId::new());
        let everything = parse_permissions(RoleType::Generic, &serde_json::json!({"ALL": ["ALL"]}));
        let generic = vec![GenericGrant {
            scope: c,
            grants: everything.unwrap(),
        }];
        let me = Caller::public(t, c).with_rights(Rights::new(t, generic, Vec::new(), reach()));
        let myself = Target::user(t, c, me.user_id, Authority::CustomerUser);
        let colleague = Target::user(t, c, UserId::new(), Authority::CustomerUser);
        let users = Target::users_of(t, c, Authority::CustomerUser);
        for op in [Operation::Read, Operation::Write] {
            assert!(!allowed(&me, Resource::User, op, &myself));
            assert!(!allowed(&me, Resource::User, op, &colleague));
            assert!(!allowed(&me, Resource::UserCredentials, op, &myself));
        }
        assert!(!allowed(&me, Resource::User, Operation::Create, &users));
        // Whatever else its roles grant, it has.
        let device = Target::customer(t, c);
        assert!(allowed(&me, Resource::Device, Operation::Read, &device));
    }

    #[test]
    fn customer_users_read_only_their_own_customer() {
        let (t, c, other) = (TenantId::new(), CustomerId::new(), CustomerId::new());
        let me = caller(Authority::CustomerUser, t, c);
        let mine = Target::customer(t, c);
        assert!(allowed(&me, Resource::Customer, Operation::Read, &mine));
        assert!(!allowed(&me, Resource::Customer, Operation::Write, &mine));
        assert!(!allowed(
            &me,
            Resource::Customer,
            Operation::Read,
            &Target::customer(t, other)
        ));
        assert!(!allowed(
            &me,
            Resource::Customer,
            Operation::Create,
            &Target::tenant(t)
        ));
    }

    #[test]
    fn customer_users_write_only_themselves() {
        let (t, c) = (TenantId::new(), CustomerId::new());
        let me = caller(Authority::CustomerUser, t, c);
        let myself = Target::user(t, c, me.user_id, Authority::CustomerUser);
        let colleague = Target::user(t, c, UserId::new(), Authority::CustomerUser);
        assert!(allowed(&me, Resource::User, Operation::Write, &myself));
        assert!(allowed(&me, Resource::User, Operation::Read, &colleague));
        assert!(!allowed(&me, Resource::User, Operation::Write, &colleague));
        assert!(!allowed(&me, Resource::User, Operation::Delete, &myself));
    }

    #[test]
    fn only_administrators_manage_logins_and_list_a_groups_users() {
        let (t, c) = (TenantId::new(), CustomerId::new());
        let me = caller(Authority::CustomerUser, t, c);
        let myself = Target::user(t, c, me.user_id, Authority::CustomerUser);
        let my_customers_users = Target::users_of(t, c, Authority::CustomerUser);
        assert!(!allowed(
            &me,
            Resource::UserCredentials,
            Operation::Write,
            &myself
        ));
        assert!(!allowed(
            &me,
            Resource::User,
            Operation::Read,
            &my_customers_users
        ));

        let admin = caller(Authority::TenantAdmin, t, CustomerId::NULL);
        let customer_user = Target::user(t, c, UserId::new(), Authority::CustomerUser);
        assert!(allowed(
            &admin,
            Resource::UserCredentials,
            Operation::Write,
            &customer_user
        ));
        assert!(allowed(
            &admin,
            Resource::User,
            Operation::Read,
            &my_customers_users
        ));
        let admins = Target::users_of(t, CustomerId::NULL, Authority::TenantAdmin);
        assert!(!allowed(&admin, Resource::User, Operation::Read, &admins));
        assert!(allowed(&admin, Resource::User, Operation::Create, &admins));

        let sys = caller(Authority::SysAdmin, TenantId::NULL, CustomerId::NULL);
        assert!(allowed(&sys, Resource::User, Operation::Read, &admins));
        assert!(!allowed(
            &sys,
            Resource::UserCredentials,
            Operation::Write,
            &customer_user
        ));
        assert_eq!(
            require(&sys, Resource::User, Operation::Read, &my_customers_users),
            Err(Denied)
        );
    }

    #[test]
    fn customer_users_handle_only_alarms_of_their_customers_entities() {
        let (t, c, other) = (TenantId::new(), CustomerId::new(), CustomerId::new());
        let me = caller(Authority::CustomerUser, t, c);
        for op in [
            Operation::Read,
            Operation::Create,
            Operation::Write,
            Operation::Delete,
        ] {
            assert!(allowed(&me, Resource::Alarm, op, &Target::customer(t, c)));
            assert!(!allowed(
                &me,
                Resource::Alarm,
                op,
                &Target::customer(t, other)
            ));
            // The tenant's own entities (the null customer) are not its.
            assert!(!allowed(&me, Resource::Alarm, op, &Target::tenant(t)));
        }
        let admin = caller(Authority::TenantAdmin, t, CustomerId::NULL);
        assert!(allowed(
            &admin,
            Resource::Alarm,
            Operation::Delete,
            &Target::customer(t, other)
        ));
        assert!(!allowed(
            &admin,
            Resource::Alarm,
            Operation::Read,
            &Target::tenant(TenantId::new())
        ));
        let sys = caller(Authority::SysAdmin, TenantId::NULL, CustomerId::NULL);
        assert!(!allowed(
            &sys,
            Resource::Alarm,
            Operation::Read,
            &Target::tenant(t)
        ));
    }

    #[test]
    fn only_an_owners_own_users_act_as_that_owner() {
        let (t, c) = (TenantId::new(), CustomerId::new());
        let admin = caller(Authority::TenantAdmin, t, CustomerId::NULL);
        let user = caller(Authority::CustomerUser, t, c);
        let sys = caller(Authority::SysAdmin, TenantId::NULL, CustomerId::NULL);
        assert_eq!(require_own_owner(&admin, t.entity_id()), Ok(()));
        assert_eq!(require_own_owner(&admin, c.entity_id()), Err(Denied));
        assert_eq!(require_own_owner(&user, c.entity_id()), Ok(()));
        assert_eq!(require_own_owner(&user, t.entity_id()), Err(Denied));
        assert_eq!(
            require_own_owner(&user, CustomerId::new().entity_id()),
            Err(Denied)
        );
        assert_eq!(
            require_own_owner(&sys, TenantId::NULL.entity_id()),
            Err(Denied)
        );
    }

    #[test]
    fn tenant_admins_stay_in_their_tenant() {
        let (t, other) = (TenantId::new(), TenantId::new());
        let admin = caller(Authority::TenantAdmin, t, CustomerId::NULL);
        let c = CustomerId::new();
        assert!(allowed(
            &admin,
            Resource::Customer,
            Operation::Delete,
            &Target::customer(t, c)
        ));
        assert!(!allowed(
            &admin,
            Resource::Customer,
            Operation::Read,
            &Target::customer(other, c)
        ));
        assert!(!allowed(
            &admin,
            Resource::Tenant,
            Operation::Write,
            &Target::tenant(t)
        ));
        assert!(!allowed(
            &admin,
            Resource::AuditLog,
            Operation::Read,
            &Target::tenant(other)
        ));
    }

    #[test]
    fn the_system_administrator_never_sees_customers() {
        let sys = caller(Authority::SysAdmin, TenantId::NULL, CustomerId::NULL);
        let t = TenantId::new();
        assert!(allowed(
            &sys,
            Resource::Tenant,
            Operation::Create,
            &Target::tenant(t)
        ));
        assert!(!allowed(
            &sys,
            Resource::Customer,
            Operation::Read,
            &Target::customer(t, CustomerId::new())
        ));
        let cu = Target::user(t, CustomerId::new(), UserId::new(), Authority::CustomerUser);
        assert!(!allowed(&sys, Resource::User, Operation::Read, &cu));
    }

    #[test]
    fn the_system_administrator_creates_tenant_administrators_only() {
        let sys = caller(Authority::SysAdmin, TenantId::NULL, CustomerId::NULL);
        let new_user = |tenant, authority| Target::users_of(tenant, CustomerId::NULL, authority);
        let t = TenantId::new();
        assert!(allowed(
            &sys,
            Resource::User,
            Operation::Create,
            &new_user(t, Authority::TenantAdmin)
        ));
        assert!(!allowed(
            &sys,
            Resource::User,
            Operation::Create,
            &new_user(TenantId::NULL, Authority::SysAdmin)
        ));
        assert!(!allowed(
            &sys,
            Resource::User,
            Operation::Create,
            &Target::users_of(t, CustomerId::new(), Authority::CustomerUser)
        ));
    }

    #[test]
    fn extensions_and_events_are_the_tenant_administrators_alone() {
        let (t, other) = (TenantId::new(), TenantId::new());
        let c = CustomerId::new();
        let admin = caller(Authority::TenantAdmin, t, CustomerId::NULL);
        let user = caller(Authority::CustomerUser, t, c);
        let sys = caller(Authority::SysAdmin, TenantId::NULL, CustomerId::NULL);
        for resource in [Resource::Extension, Resource::Event] {
            for op in [Operation::Read, Operation::Create, Operation::Delete] {
                assert!(allowed(&admin, resource, op, &Target::tenant(t)));
                assert!(!allowed(&admin, resource, op, &Target::tenant(other)));
                assert!(!allowed(&user, resource, op, &Target::tenant(t)));
                assert!(!allowed(&user, resource, op, &Target::customer(t, c)));
                assert!(!allowed(&sys, resource, op, &Target::tenant(t)));
            }
        }
    }
}
