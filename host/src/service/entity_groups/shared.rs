//! `GET /api/entityGroups/{groupType}` with `includeShared`, and
//! `/api/entityGroups/{groupType}/shared` (ThingsBoard PE): the caller's
//! own owner's groups of a type, and the groups of that type shared with
//! its user groups through GROUP roles, each once.

use std::collections::HashSet;

use crate::auth::Caller;
use crate::auth::permissions::Operation;
use crate::domain::entity_group::{EntityGroupInfo, GroupType};
use crate::domain::ids::EntityGroupId;
use crate::store::KvRead;

use super::super::{App, ServiceError, ServiceResult};
use super::{find, groups_of, info};

/// The groups of type `t` the caller's GROUP roles let it read, except
/// those in `skip`, each once, by name. The grants only name candidates:
/// each group is read through the same check `GET /api/entityGroup/{id}`
/// makes, so a grant whose role does not read, or whose group is gone,
/// adds nothing.
fn shared_groups(
    view: &dyn KvRead,
    caller: &Caller,
    t: GroupType,
    skip: &HashSet<EntityGroupId>,
) -> ServiceResult<Vec<EntityGroupInfo>> {
    let mut out = Vec::new();
    for group in caller.rights.iter().flat_map(|r| r.groups_of_type(t)) {
        if skip.contains(&group) {
            continue;
        }
        match find(view, caller, group, Operation::Read) {
            Ok(g) => out.push(info(view, g)?),
            Err(ServiceError::NotFound(_) | ServiceError::Forbidden) => {}
            Err(e) => return Err(e),
        }
    }
    out.sort_by(|a, b| (&a.group.name, a.group.id).cmp(&(&b.group.name, b.group.id)));
    Ok(out)
}

/// The caller's own owner's groups of type `t`, if its roles read them
/// there.
fn own_groups(
    view: &dyn KvRead,
    caller: &Caller,
    t: GroupType,
) -> ServiceResult<Option<Vec<EntityGroupInfo>>> {
    match groups_of(view, caller, None, t) {
        Ok(groups) => Ok(Some(groups)),
        Err(ServiceError::Forbidden) => Ok(None),
        Err(e) => Err(e),
    }
}

impl App {
    /// Only the groups of type `t` shared with the caller (ThingsBoard's
    /// `getSharedEntityGroupsByType`): those its GROUP roles let it read,
    /// outside its own owner's groups, by name. A caller with no shares
    /// (a tenant administrator among them) gets an empty list.
    pub async fn shared_entity_groups(
        &self,
        caller: &Caller,
        t: GroupType,
    ) -> ServiceResult<Vec<EntityGroupInfo>> {
        let snapshot = self.store.snapshot()?;
        let view = &*snapshot;
        let own = own_groups(view, caller, t)?;
        let skip: HashSet<EntityGroupId> = own.iter().flatten().map(|g| g.group.id).collect();
        shared_groups(view, caller, t, &skip)
    }

    /// The caller's own owner's groups of type `t` (if its roles read them
    /// there), then, with `include_shared` (ThingsBoard's default), the
    /// groups of that type shared with it. Refused when it may read
    /// neither.
    pub async fn my_entity_groups(
        &self,
        caller: &Caller,
        t: GroupType,
        include_shared: bool,
    ) -> ServiceResult<Vec<EntityGroupInfo>> {
        let snapshot = self.store.snapshot()?;
        let view = &*snapshot;
        let own = own_groups(view, caller, t)?;
        let skip: HashSet<EntityGroupId> = own.iter().flatten().map(|g| g.group.id).collect();
        let shared = match include_shared {
            true => shared_groups(view, caller, t, &skip)?,
            false => Vec::new(),
        };
        match own {
            None if shared.is_empty() => Err(ServiceError::Forbidden),
            own => {
                let mut all = own.unwrap_or_default();
                all.extend(shared);
                Ok(all)
            }
        }
    }
}
