//! `/api/groupPermission*` and the grants of a group: ThingsBoard
//! Professional Edition's group permissions, and what the caller may do
//! (`/api/permissions/allowedPermissions`, and on one entity
//! `/api/permission/{entityType}/{entityId}/{operation}`).

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use serde_json::Value;

use crate::domain::group_permission::{GroupPermission, GroupPermissionInput};
use crate::domain::ids::{EntityGroupId, GroupPermissionId};
use crate::service::{App, GroupPermissionInfo};

use super::error::ApiResult;
use super::extract::{Auth, Body, PathId, parse_entity};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/groupPermission", post(save))
        .route(
            "/api/groupPermission/{groupPermissionId}",
            get(one).delete(remove),
        )
        .route(
            "/api/groupPermission/info/{groupPermissionId}",
            get(one_info),
        )
        .route(
            "/api/userGroup/{userGroupId}/groupPermissions",
            get(of_user_group),
        )
        .route(
            "/api/entityGroup/{entityGroupId}/groupPermissions",
            get(over_entity_group),
        )
        .route("/api/permissions/allowedPermissions", get(allowed))
        .route(
            "/api/permission/{entityType}/{entityId}/{operation}",
            get(has_permission),
        )
}

async fn save(
    State(app): State<App>,
    Auth(caller): Auth,
    Body(input): Body<GroupPermissionInput>,
) -> ApiResult<Json<GroupPermission>> {
    Ok(Json(app.save_group_permission(&caller, input).await?))
}

async fn one(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<GroupPermissionId>,
) -> ApiResult<Json<GroupPermission>> {
    Ok(Json(app.group_permission(&caller, id).await?))
}

async fn one_info(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<GroupPermissionId>,
) -> ApiResult<Json<GroupPermissionInfo>> {
    Ok(Json(app.group_permission_info(&caller, id).await?))
}

async fn remove(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<GroupPermissionId>,
) -> ApiResult<()> {
    Ok(app.delete_group_permission(&caller, id).await?)
}

async fn of_user_group(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<EntityGroupId>,
) -> ApiResult<Json<Vec<GroupPermissionInfo>>> {
    Ok(Json(app.user_group_permissions(&caller, id).await?))
}

async fn over_entity_group(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<EntityGroupId>,
) -> ApiResult<Json<Vec<GroupPermissionInfo>>> {
    Ok(Json(app.entity_group_permissions(&caller, id).await?))
}

async fn allowed(State(app): State<App>, Auth(caller): Auth) -> ApiResult<Json<Value>> {
    Ok(Json(app.allowed_permissions(&caller)))
}

/// `true` or `false`, as JSON; an unknown entity type or operation is 400.
async fn has_permission(
    State(app): State<App>,
    Auth(caller): Auth,
    Path((entity_type, entity_id, operation)): Path<(String, String, String)>,
) -> ApiResult<Json<bool>> {
    let entity = parse_entity(&entity_type, &entity_id)?;
    Ok(Json(
        app.has_entity_permission(&caller, entity, &operation)
            .await?,
    ))
}
