//! `/api/device*`, `/api/tenant/devices`, `/api/customer/{id}/devices` and
//! device assignment.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};

use crate::domain::device::{Device, DeviceCredentials, DeviceInput};
use crate::domain::ids::{CustomerId, DeviceId};
use crate::domain::page::PageData;
use crate::service::App;

use super::error::ApiResult;
use super::extract::{Auth, Body, Params, parse_uuid};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/device", post(save))
        .route("/api/device/{id}", get(one).delete(remove))
        .route("/api/device/{id}/credentials", get(credentials))
        .route("/api/device/credentials", post(update_credentials))
        .route("/api/tenant/devices", get(tenant_devices))
        .route("/api/customer/{id}/devices", get(customer_devices))
        .route("/api/customer/{id}/device/{device_id}", post(assign))
        .route("/api/customer/device/{device_id}", delete(unassign))
}

async fn save(
    State(app): State<App>,
    Auth(caller): Auth,
    params: Params,
    Body(input): Body<DeviceInput>,
) -> ApiResult<Json<Device>> {
    let token = params
        .get("accessToken")
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    Ok(Json(app.save_device(&caller, input, token).await?))
}

async fn one(
    State(app): State<App>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Device>> {
    Ok(Json(app.device(&caller, DeviceId(parse_uuid(&id)?)).await?))
}

async fn remove(
    State(app): State<App>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<()> {
    app.delete_device(&caller, DeviceId(parse_uuid(&id)?))
        .await?;
    Ok(())
}

async fn credentials(
    State(app): State<App>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<DeviceCredentials>> {
    Ok(Json(
        app.device_credentials(&caller, DeviceId(parse_uuid(&id)?))
            .await?,
    ))
}

async fn update_credentials(
    State(app): State<App>,
    Auth(caller): Auth,
    Body(update): Body<DeviceCredentials>,
) -> ApiResult<Json<DeviceCredentials>> {
    Ok(Json(app.update_device_credentials(&caller, update).await?))
}

/// A page of devices, or with `deviceName` the one device of that name.
async fn tenant_devices(
    State(app): State<App>,
    Auth(caller): Auth,
    params: Params,
) -> ApiResult<Response> {
    if let Some(name) = params.get("deviceName") {
        return Ok(Json(app.device_by_name(&caller, name).await?).into_response());
    }
    let kind = params
        .get("type")
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    let page: PageData<Device> = app
        .tenant_devices(&caller, params.page_link()?, kind)
        .await?;
    Ok(Json(page).into_response())
}

async fn customer_devices(
    State(app): State<App>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<PageData<Device>>> {
    let kind = params
        .get("type")
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    let customer = CustomerId(parse_uuid(&id)?);
    Ok(Json(
        app.customer_devices(&caller, customer, params.page_link()?, kind)
            .await?,
    ))
}

async fn assign(
    State(app): State<App>,
    Auth(caller): Auth,
    Path((id, device_id)): Path<(String, String)>,
) -> ApiResult<Json<Device>> {
    let customer = CustomerId(parse_uuid(&id)?);
    Ok(Json(
        app.assign_device(&caller, DeviceId(parse_uuid(&device_id)?), customer)
            .await?,
    ))
}

async fn unassign(
    State(app): State<App>,
    Auth(caller): Auth,
    Path(device_id): Path<String>,
) -> ApiResult<Json<Device>> {
    Ok(Json(
        app.assign_device(&caller, DeviceId(parse_uuid(&device_id)?), CustomerId::NULL)
            .await?,
    ))
}
