//! Entity groups (ThingsBoard Professional Edition): create, rename,
//! delete, look up, and put entities in and out of them. Every owner gets
//! its "All" groups and default user groups when it is created
//! ([`stage_defaults`]); an entity leaves its owner's named groups when it
//! is deleted or changes owner ([`store::entity_groups::stage_leave_all`]).

mod joining;
mod owned;
mod shared;
pub(super) mod upgrade;

use serde_json::json;
use uuid::Uuid;

use crate::auth::Caller;
use crate::auth::permissions::{Operation, Resource, Target, require};
use crate::domain::audit::ActionType;
use crate::domain::entity_group::{
    ALL_GROUP_NAME, EntityGroup, EntityGroupInfo, EntityGroupInput, GroupType,
};
use crate::domain::ids::{
    CustomerId, EntityGroupId, EntityId, EntityType, TenantId, customer_of_owner, now_ms,
};
use crate::domain::page::{PageData, PageLink};
use crate::store::{Changes, KvRead, customers, entity_groups};

use super::audit::{Actor, stage_record};
use super::owners::resolve_owner;
use super::{App, ServiceError, ServiceResult};

use joining::{check_may_hold, keeps_an_administrator};
pub(super) use joining::{
    customer_of_first_group, default_user_group, owner_of_new, stage_defaults, stage_join,
    stage_new_user_groups,
};
pub use owned::Member;

const DUPLICATE_NAME: &str = "Entity group with such name, type and owner already exists!";

/// Sort properties of a group's member lists.
const MEMBER_SORT: [&str; 2] = ["createdTime", "name"];

/// What listing a group's members takes: reading the group for devices,
/// assets and dashboards, which a customer's users see anyway; managing it
/// for users and customers, whose lists are their administrators' (as
/// ThingsBoard Community Edition's customer users list neither).
fn members_op(t: GroupType) -> Operation {
    match t {
        GroupType::User | GroupType::Customer => Operation::Write,
        GroupType::Device | GroupType::Asset | GroupType::Dashboard => Operation::Read,
    }
}

fn check(caller: &Caller, op: Operation, g: &EntityGroup) -> ServiceResult<()> {
    Ok(require(
        caller,
        Resource::EntityGroup(g.group_type),
        op,
        &Target::group(g.tenant_id, g.owner_id, g.id),
    )?)
}

/// A group the caller may `op`; "not found" also when it is another
/// tenant's: that one's ids are not the caller's to learn about.
pub(super) fn find(
    view: &dyn KvRead,
    caller: &Caller,
    id: EntityGroupId,
    op: Operation,
) -> ServiceResult<EntityGroup> {
    let g = entity_groups::get(view, caller.tenant_id, id)?.ok_or_else(|| {
        ServiceError::NotFound(format!("Entity group with id [{}] is not found", id.0))
    })?;
    check(caller, op, &g)?;
    Ok(g)
}

/// The ids of a group's members: for an "All" group everything its owner
/// owns of its type, else those put in it.
pub(super) fn member_ids(view: &dyn KvRead, g: &EntityGroup) -> ServiceResult<Vec<Uuid>> {
    Ok(if g.group_all {
        owned::ids_owned(view, g.tenant_id, g.owner_id, g.group_type)?
    } else {
        entity_groups::members(view, g.tenant_id, g.id)?
    })
}

/// Whether group `group` holds `entity`: a member row of a named group,
/// or for an "All" group (which has none), the entity being of its type
/// and owned by its owner directly (as [`member_ids`] lists them). The
/// member row is looked at first: a member costs one read.
pub(in crate::service) fn holds(
    view: &dyn KvRead,
    tenant: TenantId,
    group: EntityGroupId,
    entity: Uuid,
) -> ServiceResult<bool> {
    if entity_groups::is_member(view, tenant, group, entity)? {
        return Ok(true);
    }
    let Some(g) = entity_groups::get(view, tenant, group)? else {
        return Ok(false);
    };
    Ok(g.group_all && owned::owner(view, tenant, g.group_type, entity)? == Some(g.owner_id))
}

/// `owner` and the owners above it, up to the tenant (a group's
/// `ownerIds`; the owners whose roles a user group may hold).
pub(super) fn owner_chain(
    view: &dyn KvRead,
    tenant: TenantId,
    owner: EntityId,
) -> ServiceResult<Vec<EntityId>> {
    let mut chain = vec![owner];
    if owner.entity_type == EntityType::Customer {
        let above = customers::ancestors(view, tenant, CustomerId(owner.id))?;
        chain.extend(above.into_iter().map(CustomerId::entity_id));
        chain.push(tenant.entity_id());
    }
    Ok(chain)
}

/// The group with the chain of owners above it.
fn info(view: &dyn KvRead, g: EntityGroup) -> ServiceResult<EntityGroupInfo> {
    let owner_ids = owner_chain(view, g.tenant_id, g.owner_id)?;
    Ok(EntityGroupInfo {
        group: g,
        owner_ids,
    })
}

/// The groups of type `t` of `owner` (`None`: the caller's own) the
/// caller may read, by name.
fn groups_of(
    view: &dyn KvRead,
    caller: &Caller,
    owner: Option<EntityId>,
    t: GroupType,
) -> ServiceResult<Vec<EntityGroupInfo>> {
    let owner = resolve_owner(
        view,
        caller,
        owner,
        Resource::EntityGroup(t),
        Operation::Read,
    )?;
    // One owner: its chain is walked once for all of its groups.
    let owner_ids = owner_chain(view, caller.tenant_id, owner)?;
    Ok(
        entity_groups::of_owner(view, caller.tenant_id, owner.id, t)?
            .into_iter()
            .map(|group| EntityGroupInfo {
                group,
                owner_ids: owner_ids.clone(),
            })
            .collect(),
    )
}

impl App {
    /// Creates (no `id`) or renames (with `id`) a named group.
    pub async fn save_entity_group(
        &self,
        caller: &Caller,
        input: EntityGroupInput,
    ) -> ServiceResult<EntityGroupInfo> {
        let t = input.validate()?;
        let caller = caller.clone();
        self.write(move |view| {
            let tenant = caller.tenant_id;
            let (saved, old) = match input.id {
                None => {
                    let owner = resolve_owner(
                        view,
                        &caller,
                        input.owner_id,
                        Resource::EntityGroup(t),
                        Operation::Create,
                    )?;
                    (EntityGroup::create(tenant, owner, t, input, now_ms()), None)
                }
                Some(id) => {
                    let old = find(view, &caller, id, Operation::Write)?;
                    if old.is_reserved() {
                        return Err(ServiceError::invalid(format!(
                            "The group '{}' is reserved and can't be changed",
                            old.name
                        )));
                    }
                    if input.version.is_some_and(|v| v != old.version) {
                        return Err(ServiceError::VersionConflict(
                            "Entity group was already changed by someone else".into(),
                        ));
                    }
                    if input.group_type.is_some_and(|t| t != old.group_type) {
                        return Err(ServiceError::invalid(
                            "An entity group's type can't be changed",
                        ));
                    }
                    if input.owner_id.is_some_and(|o| o != old.owner_id) {
                        return Err(ServiceError::invalid(
                            "An entity group's owner can't be changed",
                        ));
                    }
                    (old.updated(input), Some(old))
                }
            };
            let action = match old {
                None => ActionType::Added,
                Some(_) => ActionType::Updated,
            };
            let renamed = old.as_ref().is_none_or(|o| o.name != saved.name);
            if renamed
                && entity_groups::id_by_name(
                    view,
                    tenant,
                    saved.owner_id.id,
                    saved.group_type,
                    &saved.name,
                )?
                .is_some()
            {
                return Err(ServiceError::invalid(DUPLICATE_NAME));
            }
            let mut changes = Changes::new();
            entity_groups::put(&mut changes, old.as_ref(), &saved);
            audit(
                &mut changes,
                &caller,
                &saved,
                action,
                json!({ "entity": saved }),
            );
            Ok((info(view, saved)?, changes))
        })
        .await
    }

    pub async fn entity_group(
        &self,
        caller: &Caller,
        id: EntityGroupId,
    ) -> ServiceResult<EntityGroupInfo> {
        let snapshot = self.store.snapshot()?;
        let g = find(&*snapshot, caller, id, Operation::Read)?;
        info(&*snapshot, g)
    }

    /// Deletes a named group; its members stay, with their owner.
    pub async fn delete_entity_group(
        &self,
        caller: &Caller,
        id: EntityGroupId,
    ) -> ServiceResult<()> {
        let caller = caller.clone();
        self.write(move |view| {
            let g = find(view, &caller, id, Operation::Delete)?;
            if g.is_reserved() {
                return Err(ServiceError::invalid(format!(
                    "The group '{}' is reserved and can't be deleted",
                    g.name
                )));
            }
            let mut changes = Changes::new();
            entity_groups::delete(view, &mut changes, &g)?;
            audit(
                &mut changes,
                &caller,
                &g,
                ActionType::Deleted,
                json!({ "entityId": g.id.entity_id() }),
            );
            Ok(((), changes))
        })
        .await
    }

    /// The groups of type `t` of `owner` (`None`: the caller's own), by name.
    pub async fn entity_groups(
        &self,
        caller: &Caller,
        owner: Option<EntityId>,
        t: GroupType,
    ) -> ServiceResult<Vec<EntityGroupInfo>> {
        let snapshot = self.store.snapshot()?;
        groups_of(&*snapshot, caller, owner, t)
    }

    /// The group of type `t` of `owner` (`None`: the caller's own) with
    /// exactly this name.
    pub async fn entity_group_by_name(
        &self,
        caller: &Caller,
        owner: Option<EntityId>,
        t: GroupType,
        name: &str,
    ) -> ServiceResult<EntityGroupInfo> {
        let snapshot = self.store.snapshot()?;
        let view = &*snapshot;
        let owner = resolve_owner(
            view,
            caller,
            owner,
            Resource::EntityGroup(t),
            Operation::Read,
        )?;
        let id = entity_groups::id_by_name(view, caller.tenant_id, owner.id, t, name)?.ok_or_else(
            || ServiceError::NotFound(format!("Entity group with name [{name}] is not found")),
        )?;
        let g = find(view, caller, id, Operation::Read)?;
        info(view, g)
    }

    /// The groups `entity` is in: its owner's "All" group and the named
    /// groups it was put in.
    pub async fn groups_of_entity(
        &self,
        caller: &Caller,
        entity: EntityId,
    ) -> ServiceResult<Vec<EntityGroupId>> {
        let t = GroupType::of(entity.entity_type).ok_or_else(|| {
            ServiceError::invalid(format!("A {} is in no entity group", entity.entity_type))
        })?;
        let snapshot = self.store.snapshot()?;
        let view = &*snapshot;
        let tenant = caller.tenant_id;
        let found = owned::load(view, tenant, t, entity.id)?.ok_or_else(ServiceError::not_found)?;
        require(
            caller,
            Resource::EntityGroup(t),
            Operation::Read,
            &Target::owner(tenant, found.owner),
        )?;
        let mut out: Vec<EntityGroupId> =
            entity_groups::id_by_name(view, tenant, found.owner.id, t, ALL_GROUP_NAME)?
                .into_iter()
                .collect();
        out.extend(entity_groups::memberships(view, tenant, entity.id)?);
        Ok(out)
    }

    /// Puts entities in a named group (`add`) or takes them out. They must
    /// all be the group's type and owner's; if any is not, none moves.
    pub async fn change_group_members(
        &self,
        caller: &Caller,
        id: EntityGroupId,
        entities: Vec<Uuid>,
        add: bool,
    ) -> ServiceResult<()> {
        let caller = caller.clone();
        self.write(move |view| {
            let g = find(view, &caller, id, Operation::Write)?;
            if g.group_all {
                return Err(ServiceError::invalid(if add {
                    "Entities can't be added to the group 'All': it holds all of its owner's"
                } else {
                    "Entities can't be removed from the group 'All' but by changing their owner"
                }));
            }
            let tenant = g.tenant_id;
            let mut changes = Changes::new();
            let mut changed = Vec::new();
            let mut entities = entities;
            entities.sort();
            entities.dedup();
            for entity in entities {
                let m = owned::load(view, tenant, g.group_type, entity)?.ok_or_else(|| {
                    ServiceError::NotFound(format!(
                        "{} with id [{entity}] is not found",
                        g.group_type
                    ))
                })?;
                check_may_hold(&g, m.id, m.owner)?;
                let is_in = entity_groups::is_member(view, tenant, g.id, entity)?;
                match (add, is_in) {
                    (true, false) => entity_groups::add_member(&mut changes, tenant, g.id, entity),
                    (false, true) => {
                        entity_groups::remove_member(&mut changes, tenant, g.id, entity)
                    }
                    _ => continue,
                }
                changed.push(m.id);
            }
            if !changed.is_empty() {
                let action = if add {
                    ActionType::AddedToEntityGroup
                } else {
                    keeps_an_administrator(view, &g, changed.len())?;
                    ActionType::RemovedFromEntityGroup
                };
                let data = json!({ "entityGroupId": g.id.entity_id(), "entityGroupName": g.name, "entityIds": changed });
                audit(&mut changes, &caller, &g, action, data);
            }
            Ok(((), changes))
        })
        .await
    }

    /// The groups among `ids` the caller may read; others are left out.
    pub async fn entity_groups_by_ids(
        &self,
        caller: &Caller,
        ids: Vec<EntityGroupId>,
    ) -> ServiceResult<Vec<EntityGroupInfo>> {
        let snapshot = self.store.snapshot()?;
        let view = &*snapshot;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Ok(g) = find(view, caller, id, Operation::Read) {
                out.push(info(view, g)?);
            }
        }
        Ok(out)
    }

    /// One member of a group (ThingsBoard's `ShortEntityView` of it).
    pub async fn group_member(
        &self,
        caller: &Caller,
        id: EntityGroupId,
        entity: Uuid,
    ) -> ServiceResult<Member> {
        let snapshot = self.store.snapshot()?;
        let view = &*snapshot;
        let g = find(view, caller, id, Operation::Read)?;
        check(caller, members_op(g.group_type), &g)?;
        let m = owned::load(view, g.tenant_id, g.group_type, entity)?
            .filter(|m| m.owner == g.owner_id)
            .ok_or_else(ServiceError::not_found)?;
        let member = g.group_all || entity_groups::is_member(view, g.tenant_id, g.id, entity)?;
        if !member {
            return Err(ServiceError::not_found());
        }
        Ok(m)
    }

    /// A page of a group's members; `expected`, when given, is the type
    /// the caller asked for (`/devices` of a customer group is refused).
    pub async fn group_members(
        &self,
        caller: &Caller,
        id: EntityGroupId,
        expected: Option<GroupType>,
        link: PageLink,
    ) -> ServiceResult<PageData<Member>> {
        link.check_sort(&MEMBER_SORT)?;
        let snapshot = self.store.snapshot()?;
        let g = find(&*snapshot, caller, id, Operation::Read)?;
        check(caller, members_op(g.group_type), &g)?;
        if expected.is_some_and(|t| t != g.group_type) {
            return Err(ServiceError::invalid(format!(
                "Entity group '{}' holds entities of type {}",
                g.name, g.group_type
            )));
        }
        self.blocking(move || {
            let view = &*snapshot;
            let ids = member_ids(view, &g)?;
            let mut all = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(m) = owned::load(view, g.tenant_id, g.group_type, id)?
                    && m.owner == g.owner_id
                    && link.matches(&m.name.to_lowercase())
                {
                    all.push(m);
                }
            }
            Ok(match link.sort_property.as_deref() {
                Some("name") => {
                    PageData::sorted_by_key(all, &link, |m| (m.name.to_lowercase(), m.id.id))
                }
                _ => PageData::sorted_by_key(all, &link, |m| (m.created_time, m.id.id)),
            })
        })
        .await
    }
}

/// Stages the audit record of `action` on group `g`, filed under its owner.
pub(in crate::service) fn audit(
    changes: &mut Changes,
    caller: &Caller,
    g: &EntityGroup,
    action: ActionType,
    data: serde_json::Value,
) {
    stage_record(
        changes,
        &Actor::from(caller),
        customer_of_owner(g.owner_id),
        Some((g.id.entity_id(), &g.name)),
        action,
        data,
    );
}
