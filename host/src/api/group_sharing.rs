//! Sharing entity groups (ThingsBoard PE): `POST
//! /api/entityGroup/{id}/share` with a `ShareGroupRequest`,
//! `/{id}/{userGroupId}/{roleId}/share`, `/makePublic` and
//! `/makePrivate`; each answers 200 with an empty body.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::post;

use crate::domain::group_permission::GroupPermissionInput;
use crate::domain::ids::{EntityGroupId, RoleId};
use crate::domain::share::ShareGroupRequest;
use crate::service::{App, ServiceError};

use super::error::ApiResult;
use super::extract::{Auth, Body, PathId, parse_uuid};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/entityGroup/{entityGroupId}/share", post(share))
        .route(
            "/api/entityGroup/{entityGroupId}/makePublic",
            post(make_public),
        )
        .route(
            "/api/entityGroup/{entityGroupId}/makePrivate",
            post(make_private),
        )
}

async fn share(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<EntityGroupId>,
    Body(request): Body<ShareGroupRequest>,
) -> ApiResult<()> {
    Ok(app.share_entity_group(&caller, id, request).await?)
}

async fn make_public(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<EntityGroupId>,
) -> ApiResult<()> {
    Ok(app.make_entity_group_public(&caller, id).await?)
}

async fn make_private(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<EntityGroupId>,
) -> ApiResult<()> {
    Ok(app.make_entity_group_private(&caller, id).await?)
}

/// `POST /api/entityGroup/{entityGroupId}/{userGroupId}/{roleId}/share`
/// (ThingsBoard PE's `shareEntityGroupToChildOwnerUserGroup`): grants a
/// GROUP role over an entity group to a user group, as `POST
/// /api/groupPermission` does. Its path has the shape of the lookup of a
/// group by name, so it is routed there (`entity_groups.rs`) and answers
/// only when the last segment is `share`.
pub(super) async fn share_to_user_group(
    State(app): State<App>,
    Auth(caller): Auth,
    Path((group, user_group, role, verb)): Path<(String, String, String, String)>,
) -> ApiResult<()> {
    if verb != "share" {
        return Err(ServiceError::not_found().into());
    }
    let input = GroupPermissionInput {
        id: None,
        user_group_id: EntityGroupId(parse_uuid(&user_group)?),
        role_id: RoleId(parse_uuid(&role)?),
        entity_group_id: Some(EntityGroupId(parse_uuid(&group)?)),
        is_public: None,
    };
    app.save_group_permission(&caller, input).await?;
    Ok(())
}
