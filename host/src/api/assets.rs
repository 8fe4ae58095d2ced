//! `/api/asset*`, `/api/tenant/assets`, `/api/customer/{id}/assets` and
//! asset assignment.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};

use crate::domain::asset::{Asset, AssetInput};
use crate::domain::ids::{AssetId, CustomerId};
use crate::domain::page::PageData;
use crate::service::App;

use super::error::ApiResult;
use super::extract::{Auth, Body, Params, parse_uuid};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/asset", post(save))
        .route("/api/asset/{id}", get(one).delete(remove))
        .route("/api/tenant/assets", get(tenant_assets))
        .route("/api/customer/{id}/assets", get(customer_assets))
        .route("/api/customer/{id}/asset/{asset_id}", post(assign))
        .route("/api/customer/asset/{asset_id}", delete(unassign))
}

async fn save(
    State(app): State<App>,
    Auth(caller): Auth,
    Body(input): Body<AssetInput>,
) -> ApiResult<Json<Asset>> {
    Ok(Json(app.save_asset(&caller, input).await?))
}

async fn one(
    State(app): State<App>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Asset>> {
    Ok(Json(app.asset(&caller, AssetId(parse_uuid(&id)?)).await?))
}

async fn remove(
    State(app): State<App>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<()> {
    app.delete_asset(&caller, AssetId(parse_uuid(&id)?)).await?;
    Ok(())
}

/// A page of assets, or with `assetName` the one asset of that name.
async fn tenant_assets(
    State(app): State<App>,
    Auth(caller): Auth,
    params: Params,
) -> ApiResult<Response> {
    if let Some(name) = params.get("assetName") {
        return Ok(Json(app.asset_by_name(&caller, name).await?).into_response());
    }
    let kind = params
        .get("type")
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    let page: PageData<Asset> = app
        .tenant_assets(&caller, params.page_link()?, kind)
        .await?;
    Ok(Json(page).into_response())
}

async fn customer_assets(
    State(app): State<App>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<PageData<Asset>>> {
    let kind = params
        .get("type")
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    let customer = CustomerId(parse_uuid(&id)?);
    Ok(Json(
        app.customer_assets(&caller, customer, params.page_link()?, kind)
            .await?,
    ))
}

async fn assign(
    State(app): State<App>,
    Auth(caller): Auth,
    Path((id, asset_id)): Path<(String, String)>,
) -> ApiResult<Json<Asset>> {
    let customer = CustomerId(parse_uuid(&id)?);
    Ok(Json(
        app.assign_asset(&caller, AssetId(parse_uuid(&asset_id)?), customer)
            .await?,
    ))
}

async fn unassign(
    State(app): State<App>,
    Auth(caller): Auth,
    Path(asset_id): Path<String>,
) -> ApiResult<Json<Asset>> {
    Ok(Json(
        app.assign_asset(&caller, AssetId(parse_uuid(&asset_id)?), CustomerId::NULL)
            .await?,
    ))
}
