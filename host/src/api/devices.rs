//! `/api/device*`, `/api/tenant/devices`, `/api/customer/{id}/devices`,
//! device assignment and credentials.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::{delete, get, post};

use crate::domain::device::{Device, DeviceCredentials, DeviceInput};
use crate::domain::ids::DeviceId;
use crate::service::App;

use super::assignable;
use super::error::ApiResult;
use super::extract::{Auth, Body, Params, PathId};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/device", post(save))
        .route(
            "/api/device/{id}",
            get(assignable::one::<Device>).delete(remove),
        )
        .route("/api/device/{id}/credentials", get(credentials))
        .route("/api/device/credentials", post(update_credentials))
        .route(
            "/api/tenant/devices",
            get(assignable::tenant_list::<Device>),
        )
        .route(
            "/api/customer/{id}/devices",
            get(assignable::customer_list::<Device>),
        )
        .route(
            "/api/customer/{id}/device/{entity_id}",
            post(assignable::assign::<Device>),
        )
        .route(
            "/api/customer/device/{entity_id}",
            delete(assignable::unassign::<Device>),
        )
}

async fn save(
    State(app): State<App>,
    Auth(caller): Auth,
    params: Params,
    Body(input): Body<DeviceInput>,
) -> ApiResult<Json<Device>> {
    let input = DeviceInput {
        entity_groups: params.entity_group_ids()?,
        ..input
    };
    let token = params.non_empty("accessToken").map(str::to_owned);
    Ok(Json(app.save_device(&caller, input, token).await?))
}

async fn remove(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<DeviceId>,
) -> ApiResult<()> {
    app.delete_device(&caller, id).await?;
    Ok(())
}

async fn credentials(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<DeviceId>,
) -> ApiResult<Json<DeviceCredentials>> {
    Ok(Json(app.device_credentials(&caller, id).await?))
}

async fn update_credentials(
    State(app): State<App>,
    Auth(caller): Auth,
    Body(update): Body<DeviceCredentials>,
) -> ApiResult<Json<DeviceCredentials>> {
    Ok(Json(app.update_device_credentials(&caller, update).await?))
}
