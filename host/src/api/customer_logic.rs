//! `/api/customer/{id}/logic[/{extensionId}]`: customer-logic extensions
//! bound to a customer, with their settings (Clientele's own paths, in
//! ThingsBoard's style; tenant administrators only).

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use serde_json::Value;

use crate::domain::ids::{CustomerId, ExtensionId};
use crate::domain::logic_binding::LogicBinding;
use crate::service::App;

use super::error::ApiResult;
use super::extract::{Auth, Body, PathId};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/customer/{id}/logic", get(list))
        .route(
            "/api/customer/{id}/logic/{extension_id}",
            post(bind).delete(unbind),
        )
}

async fn list(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(customer): PathId<CustomerId>,
) -> ApiResult<Json<Vec<LogicBinding>>> {
    Ok(Json(app.customer_logic(&caller, customer).await?))
}

/// The body is the settings object handed to the guest's `init`.
async fn bind(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId((customer, extension)): PathId<(CustomerId, ExtensionId)>,
    Body(settings): Body<Value>,
) -> ApiResult<Json<LogicBinding>> {
    Ok(Json(
        app.bind_logic(&caller, customer, extension, settings)
            .await?,
    ))
}

async fn unbind(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId((customer, extension)): PathId<(CustomerId, ExtensionId)>,
) -> ApiResult<()> {
    app.unbind_logic(&caller, customer, extension).await?;
    Ok(())
}
