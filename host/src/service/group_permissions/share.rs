//! `POST /api/entityGroup/{id}/share` (ThingsBoard PE's
//! `shareEntityGroup`): grants GROUP roles over an entity group to one
//! user group, or to an owner's "All" user group (every user it owns),
//! with the listed roles or the sharer's default read-only or write role.
//! Each grant goes through [`stage_save`], as `POST /api/groupPermission`
//! and `/{userGroupId}/{roleId}/share` do, all in one transaction.

use crate::auth::Caller;
use crate::auth::permissions::Operation;
use crate::domain::entity_group::{ALL_GROUP_NAME, EntityGroup, GroupType};
use crate::domain::group_permission::GroupPermissionInput;
use crate::domain::ids::EntityGroupId;
use crate::domain::share::{Recipient, ShareGroupRequest, ShareRoles, check_sharable, share_role};
use crate::store::{Changes, KvRead, entity_groups};

use super::super::entity_groups::find as find_group;
use super::super::{App, ServiceError, ServiceResult};
use super::defaults::find_or_stage_role;
use super::stage_save;

/// The user group a request shares with, once the caller may change it
/// (ThingsBoard asks for WRITE on it): another tenant's owner or group is
/// not found, one out of the caller's reach forbidden.
fn recipient(
    view: &dyn KvRead,
    caller: &Caller,
    request: &ShareGroupRequest,
) -> ServiceResult<EntityGroup> {
    let id = match request.recipient()? {
        Recipient::UserGroup(id) => id,
        Recipient::AllUsersOf(owner) => entity_groups::id_by_name(
            view,
            caller.tenant_id,
            owner.id,
            GroupType::User,
            ALL_GROUP_NAME,
        )?
        .ok_or_else(ServiceError::not_found)?,
    };
    find_group(view, caller, id, Operation::Write)
}

impl App {
    /// Shares `group` as `request` says; 200 with nothing, or nothing
    /// changed.
    pub async fn share_entity_group(
        &self,
        caller: &Caller,
        group: EntityGroupId,
        request: ShareGroupRequest,
    ) -> ServiceResult<()> {
        let caller = caller.clone();
        self.write(move |view| {
            let g = find_group(view, &caller, group, Operation::Write)?;
            check_sharable(g.group_type)?;
            let to = recipient(view, &caller, &request)?;
            let mut changes = Changes::new();
            let (role_ids, new_roles) = match request.roles() {
                ShareRoles::Listed(ids) => (ids, Vec::new()),
                ShareRoles::Default { read_only } => {
                    // The sharer's own owner's, as ThingsBoard makes it.
                    let owner = caller.owner_id();
                    let (role, new) = find_or_stage_role(
                        view,
                        &mut changes,
                        &caller,
                        owner,
                        share_role(read_only),
                    )?;
                    let new = if new { vec![role.clone()] } else { Vec::new() };
                    (vec![role.id], new)
                }
            };
            for role_id in role_ids {
                let input = GroupPermissionInput {
                    id: None,
                    user_group_id: to.id,
                    role_id,
                    entity_group_id: Some(g.id),
                    is_public: None,
                };
                stage_save(view, &mut changes, &caller, &input, &new_roles)?;
            }
            Ok(((), changes))
        })
        .await
    }
}
