//! `/api/extension*`: WebAssembly components, uploaded as raw bytes. A
//! Clientele feature (ThingsBoard has none), in ThingsBoard's style.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};

use crate::config::Settings;
use crate::domain::extension::Extension;
use crate::domain::ids::ExtensionId;
use crate::domain::page::PageData;
use crate::service::{App, ServiceError};

use super::error::{ApiError, ApiResult};
use super::extract::{Auth, Params, PathId};

const WASM: &str = "application/wasm";

/// The upload's body may be as large as a component may be
/// (`wasm.max_component_bytes`), not just `http.max_body_bytes`.
pub fn routes(settings: &Settings) -> Router<App> {
    let upload_limit = DefaultBodyLimit::max(settings.wasm.max_component_bytes);
    Router::new()
        .route("/api/extension", post(upload).layer(upload_limit))
        .route("/api/extension/{id}", get(one).delete(remove))
        .route("/api/extension/{id}/content", get(content))
        .route("/api/extensions", get(list))
}

/// Raw bytes only: a JSON or form body is a client's mistake worth naming.
fn check_content_type(headers: &HeaderMap) -> ApiResult<()> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let essence = value
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == WASM || essence == "application/octet-stream" {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "Content-Type must be {WASM} or application/octet-stream, not '{essence}'"
        )))
    }
}

async fn upload(
    State(app): State<App>,
    Auth(caller): Auth,
    params: Params,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Extension>> {
    check_content_type(&headers)?;
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::from(ServiceError::TooLarge(format!(
                "The component is larger than the {} bytes allowed",
                app.settings().wasm.max_component_bytes
            )))
        } else {
            ApiError::bad_request(format!("Invalid request body: {}", rejection.body_text()))
        }
    })?;
    let name = params.required("name")?.to_owned();
    Ok(Json(app.upload_extension(&caller, name, bytes).await?))
}

async fn one(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<ExtensionId>,
) -> ApiResult<Json<Extension>> {
    Ok(Json(app.extension_info(&caller, id).await?))
}

async fn content(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<ExtensionId>,
) -> ApiResult<impl IntoResponse> {
    let bytes = app.extension_content(&caller, id).await?;
    Ok(([(header::CONTENT_TYPE, WASM)], bytes))
}

async fn list(
    State(app): State<App>,
    Auth(caller): Auth,
    params: Params,
) -> ApiResult<Json<PageData<Extension>>> {
    Ok(Json(
        app.tenant_extensions(&caller, params.page_link()?).await?,
    ))
}

async fn remove(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<ExtensionId>,
) -> ApiResult<()> {
    app.delete_extension(&caller, id).await?;
    Ok(())
}
