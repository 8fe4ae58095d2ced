//! `/api/asset*`, `/api/tenant/assets`, `/api/customer/{id}/assets` and
//! asset assignment.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::{delete, get, post};

use crate::domain::asset::{Asset, AssetInput};
use crate::domain::ids::AssetId;
use crate::service::App;

use super::assignable;
use super::error::ApiResult;
use super::extract::{Auth, Body, Params, PathId};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/asset", post(save))
        .route(
            "/api/asset/{id}",
            get(assignable::one::<Asset>).delete(remove),
        )
        .route("/api/tenant/assets", get(assignable::tenant_list::<Asset>))
        .route(
            "/api/customer/{id}/assets",
            get(assignable::customer_list::<Asset>),
        )
        .route(
            "/api/customer/{id}/asset/{entity_id}",
            post(assignable::assign::<Asset>),
        )
        .route(
            "/api/customer/asset/{entity_id}",
            delete(assignable::unassign::<Asset>),
        )
}

async fn save(
    State(app): State<App>,
    Auth(caller): Auth,
    params: Params,
    Body(input): Body<AssetInput>,
) -> ApiResult<Json<Asset>> {
    let input = AssetInput {
        entity_groups: params.entity_group_ids()?,
        ..input
    };
    Ok(Json(app.save_asset(&caller, input).await?))
}

async fn remove(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<AssetId>,
) -> ApiResult<()> {
    app.delete_asset(&caller, id).await?;
    Ok(())
}
