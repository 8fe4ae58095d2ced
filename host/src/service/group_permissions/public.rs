//! `POST /api/entityGroup/{id}/makePublic` and `/makePrivate` (ThingsBoard
//! PE): a public group is granted, read-only, to the "Public Users" of its
//! owner's public customer, and says so in `additionalInfo` (`isPublic`,
//! `publicCustomerId`); making it private takes that grant back. Only the
//! group's owner's own users may do either, with the right to change the
//! group. Everything a call changes is one transaction.

use serde_json::json;

use crate::auth::Caller;
use crate::auth::permissions::{Operation, require_own_owner};
use crate::domain::audit::ActionType;
use crate::domain::entity_group::EntityGroup;
use crate::domain::group_permission::GroupPermission;
use crate::domain::ids::{EntityGroupId, now_ms};
use crate::domain::share::{ENTITY_GROUP_PUBLIC_USER, check_publishable};
use crate::store::{Changes, KvRead, entity_groups, group_permissions};

use super::super::entity_groups::{audit as audit_group, find as find_group};
use super::super::{App, ServiceError, ServiceResult};
use super::{audit, public_customer};

/// A group the caller may make public or private.
fn publishable(
    view: &dyn KvRead,
    caller: &Caller,
    id: EntityGroupId,
) -> ServiceResult<EntityGroup> {
    let g = find_group(view, caller, id, Operation::Write)?;
    require_own_owner(caller, g.owner_id)?;
    check_publishable(g.group_type)?;
    Ok(g)
}

/// Stages `g` becoming `new` (public or private) with its audit record.
fn stage_group(
    changes: &mut Changes,
    caller: &Caller,
    g: &EntityGroup,
    new: &EntityGroup,
    action: ActionType,
    data: serde_json::Value,
) {
    entity_groups::put(changes, Some(g), new);
    audit_group(changes, caller, g, action, data);
}

impl App {
    /// Makes a group public (`POST /api/entityGroup/{id}/makePublic`).
    pub async fn make_entity_group_public(
        &self,
        caller: &Caller,
        id: EntityGroupId,
    ) -> ServiceResult<()> {
        let caller = caller.clone();
        self.write(move |view| {
            let g = publishable(view, &caller, id)?;
            if g.is_public() {
                return Err(ServiceError::invalid("Entity group is already public!"));
            }
            let now = now_ms();
            let mut changes = Changes::new();
            let public =
                public_customer::find_or_stage(view, &mut changes, &caller, g.owner_id, now)?;
            let tenant = caller.tenant_id;
            // A grant left behind (the flag was lost to an edit of the
            // group's additionalInfo) is reused, not doubled.
            let kept = group_permissions::over_entity_group(view, tenant, g.id.0)?
                .into_iter()
                .find(|p| p.is_public && p.user_group_id == public.users.id);
            let grant = match kept {
                Some(p) => p,
                None => {
                    let name = format!("{ENTITY_GROUP_PUBLIC_USER} over {}", g.name);
                    let over = (g.id, g.group_type);
                    let users = public.users.id;
                    let p = GroupPermission::public(tenant, users, public.role, over, name, now);
                    group_permissions::put(&mut changes, &p);
                    audit(&mut changes, &caller, &public.users, &p, ActionType::Added);
                    p
                }
            };
            let new = g.published(Some(public.customer));
            let data = json!({
                "entityGroupId": g.id.entity_id(),
                "publicCustomerId": public.customer.entity_id(),
                "groupPermissionId": grant.id.entity_id(),
            });
            stage_group(
                &mut changes,
                &caller,
                &g,
                &new,
                ActionType::MadePublic,
                data,
            );
            Ok(((), changes))
        })
        .await
    }

    /// Makes a public group private again (`.../makePrivate`).
    pub async fn make_entity_group_private(
        &self,
        caller: &Caller,
        id: EntityGroupId,
    ) -> ServiceResult<()> {
        let caller = caller.clone();
        self.write(move |view| {
            let g = publishable(view, &caller, id)?;
            if !g.is_public() {
                return Err(ServiceError::invalid("Entity group is not public!"));
            }
            let tenant = caller.tenant_id;
            let mut changes = Changes::new();
            let public: Vec<_> = group_permissions::over_entity_group(view, tenant, g.id.0)?
                .into_iter()
                .filter(|p| p.is_public)
                .collect();
            for p in &public {
                group_permissions::delete(&mut changes, p);
                if let Some(holder) = entity_groups::get(view, tenant, p.user_group_id)? {
                    audit(&mut changes, &caller, &holder, p, ActionType::Deleted);
                }
            }
            let new = g.published(None);
            let data = json!({ "entityGroupId": g.id.entity_id() });
            stage_group(
                &mut changes,
                &caller,
                &g,
                &new,
                ActionType::MadePrivate,
                data,
            );
            Ok(((), changes))
        })
        .await
    }
}
