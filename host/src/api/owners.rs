//! `/api/owner/...` and `/api/owners`: ThingsBoard Professional Edition's
//! change of owner, and the owners a caller may pick.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};

use crate::domain::info::Owner;
use crate::domain::page::PageData;
use crate::service::App;

use super::error::{ApiError, ApiResult};
use super::extract::{Auth, Params, parse_entity};

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/api/owner/{ownerType}/{ownerId}/{entityType}/{entityId}",
            post(change_owner),
        )
        .route("/api/owners", get(owners))
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

/// The tenant and customers the caller may pick as an owner, each sent as
/// itself (ThingsBoard's `PageData<ContactBased>`).
async fn owners(
    State(app): State<App>,
    Auth(caller): Auth,
    params: Params,
) -> ApiResult<Json<PageData<Owner>>> {
    Ok(Json(app.owners(&caller, params.page_link()?).await?))
}
