//! The HTTP device API: `/api/v1/{accessToken}/telemetry|attributes`. The
//! answer comes once the data is durable.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::post;
use serde_json::Value;

use crate::domain::device::Device;
use crate::domain::ids::now_ms;
use crate::domain::telemetry::{
    device_attributes_json, parse_attributes_bytes, parse_telemetry_bytes,
};
use crate::service::{App, ServiceError};

use super::error::ApiResult;
use super::extract::Params;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/v1/{token}/telemetry", post(telemetry))
        .route(
            "/api/v1/{token}/attributes",
            post(attributes).get(get_attributes),
        )
}

fn device(app: &App, token: &str) -> ApiResult<Device> {
    let device = app.device_by_token(token)?;
    Ok(device.ok_or_else(|| ServiceError::unauthorized("Invalid device access token"))?)
}

async fn telemetry(
    State(app): State<App>,
    Path(token): Path<String>,
    body: Bytes,
) -> ApiResult<()> {
    let device = device(&app, &token)?;
    let entries = parse_telemetry_bytes(&body, now_ms())?;
    app.ingest_telemetry(&device, entries).await?;
    Ok(())
}

async fn attributes(
    State(app): State<App>,
    Path(token): Path<String>,
    body: Bytes,
) -> ApiResult<()> {
    let device = device(&app, &token)?;
    let entries = parse_attributes_bytes(&body)?;
    app.ingest_client_attributes(&device, entries).await?;
    Ok(())
}

/// `{"client":{..},"shared":{..}}` for `clientKeys` / `sharedKeys` (all when absent).
async fn get_attributes(
    State(app): State<App>,
    Path(token): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    let device = device(&app, &token)?;
    let client_keys = params.list("clientKeys");
    let shared_keys = params.list("sharedKeys");
    let (client, shared) =
        app.device_attributes(&device, client_keys.as_deref(), shared_keys.as_deref())?;
    Ok(Json(device_attributes_json(client, shared)))
}
