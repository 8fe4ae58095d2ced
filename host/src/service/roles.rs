//! Roles (ThingsBoard Professional Edition): create, update, read, list,
//! delete. A role belongs to an owner, the tenant or a customer.

use serde_json::json;

use crate::auth::Caller;
use crate::auth::permissions::{Operation, Resource, Target, require};
use crate::domain::audit::ActionType;
use crate::domain::ids::{CustomerId, RoleId, customer_of_owner, now_ms};
use crate::domain::page::{PageData, PageLink};
use crate::domain::role::{Role, RoleInput, RoleType};
use crate::store::{Changes, KvRead, group_permissions, roles};

use super::audit::{Actor, stage_record};
use super::owners::resolve_owner;
use super::{App, ServiceError, ServiceResult};

fn check(caller: &Caller, op: Operation, role: &Role) -> ServiceResult<()> {
    let target = Target::owner(role.tenant_id, role.owner_id);
    Ok(require(caller, Resource::Role, op, &target)?)
}

/// A role the caller may `op`; another tenant's is not found.
pub(super) fn find(
    view: &dyn KvRead,
    caller: &Caller,
    id: RoleId,
    op: Operation,
) -> ServiceResult<Role> {
    let role = roles::get(view, caller.tenant_id, id)?
        .ok_or_else(|| ServiceError::NotFound(format!("Role with id [{}] is not found", id.0)))?;
    check(caller, op, &role)?;
    Ok(role)
}

impl App {
    /// Creates (no `id`) or updates (with `id`) a role.
    pub async fn save_role(&self, caller: &Caller, input: RoleInput) -> ServiceResult<Role> {
        input.validate()?;
        let caller = caller.clone();
        self.write(move |view| {
            let (role, action) = match input.id {
                None => {
                    let named = input.owner_id.or(input
                        .customer_id
                        .filter(|c| !c.is_null())
                        .map(CustomerId::entity_id));
                    let owner =
                        resolve_owner(view, &caller, named, Resource::Role, Operation::Create)?;
                    let role = Role::create(caller.tenant_id, owner, input, now_ms());
                    (role, ActionType::Added)
                }
                Some(id) => {
                    let old = find(view, &caller, id, Operation::Write)?;
                    if input.version.is_some_and(|v| v != old.version) {
                        return Err(ServiceError::VersionConflict(
                            "Role was already changed by someone else".into(),
                        ));
                    }
                    if input.role_type.is_some_and(|t| t != old.role_type) {
                        return Err(ServiceError::invalid("A role's type can't be changed"));
                    }
                    if input.owner_id.is_some_and(|o| o != old.owner_id) {
                        return Err(ServiceError::invalid("A role's owner can't be changed"));
                    }
                    (old.updated(input), ActionType::Updated)
                }
            };
            let mut changes = Changes::new();
            roles::put(&mut changes, &role);
            audit(
                &mut changes,
                &caller,
                &role,
                action,
                json!({ "entity": role }),
            );
            Ok((role, changes))
        })
        .await
    }

    pub async fn role(&self, caller: &Caller, id: RoleId) -> ServiceResult<Role> {
        let snapshot = self.store.snapshot()?;
        find(&*snapshot, caller, id, Operation::Read)
    }

    pub async fn delete_role(&self, caller: &Caller, id: RoleId) -> ServiceResult<()> {
        let caller = caller.clone();
        self.write(move |view| {
            let role = find(view, &caller, id, Operation::Delete)?;
            if group_permissions::role_in_use(view, caller.tenant_id, role.id.0)? {
                return Err(ServiceError::invalid(format!(
                    "Role '{}' is granted to user groups: revoke those group permissions first",
                    role.name
                )));
            }
            let mut changes = Changes::new();
            roles::delete(&mut changes, &role);
            let data = json!({ "entityId": role.id.entity_id() });
            audit(&mut changes, &caller, &role, ActionType::Deleted, data);
            Ok(((), changes))
        })
        .await
    }

    /// A page of the caller's owner's roles, optionally of one type.
    pub async fn roles(
        &self,
        caller: &Caller,
        link: PageLink,
        role_type: Option<RoleType>,
    ) -> ServiceResult<PageData<Role>> {
        link.check_sort(&["createdTime", "name", "type"])?;
        let snapshot = self.store.snapshot()?;
        let owner = resolve_owner(&*snapshot, caller, None, Resource::Role, Operation::Read)?;
        let mut all = roles::of_owner(&*snapshot, caller.tenant_id, owner.id)?;
        all.retain(|r| {
            role_type.is_none_or(|t| r.role_type == t) && link.matches(&r.name.to_lowercase())
        });
        Ok(match link.sort_property.as_deref() {
            Some("name") => PageData::sorted_by_key(all, &link, |r| (r.name.to_lowercase(), r.id)),
            Some("type") => {
                PageData::sorted_by_key(all, &link, |r| (r.role_type == RoleType::Group, r.id))
            }
            _ => PageData::sorted_by_key(all, &link, |r| (r.created_time, r.id)),
        })
    }
}

fn audit(
    changes: &mut Changes,
    caller: &Caller,
    role: &Role,
    action: ActionType,
    data: serde_json::Value,
) {
    stage_record(
        changes,
        &Actor::from(caller),
        customer_of_owner(role.owner_id),
        Some((role.id.entity_id(), &role.name)),
        action,
        data,
    );
}
