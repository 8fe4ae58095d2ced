//! `/api/owner/...`: ThingsBoard Professional Edition's change of owner.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::post;

use crate::service::App;

use super::error::{ApiError, ApiResult};
use super::extract::{Auth, parse_entity};

pub fn routes() -> Router<App> {
    Router::new().route(
        "/api/owner/{ownerType}/{ownerId}/{entityType}/{entityId}",
        post(change_owner),
    )
}

/// Answers 200 with an empty body, as ThingsBoard does.
async fn change_owner(
    State(app): State<App>,
    Auth(caller): Auth,
    Path((owner_type, owner_id, entity_type, entity_id)): Path<(String, String, String, String)>,
) -> ApiResult<()> {
    let owner = parse_entity(&owner_type, &owner_id)?;
    let entity = parse_entity(&entity_type, &entity_id)?;
    app.change_owner(&caller, owner, entity)
        .await
        .map_err(ApiError::from)
}
