//! `/api/tenant*`: the system administrator's tenant endpoints.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};

use crate::domain::ids::TenantId;
use crate::domain::page::PageData;
use crate::domain::tenant::{Tenant, TenantInput};
use crate::service::App;

use super::error::ApiResult;
use super::extract::{Auth, Body, Params, PathId};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/tenant", post(save))
        .route("/api/tenant/{id}", get(one).delete(remove))
        .route("/api/tenants", get(list))
}

async fn save(
    State(app): State<App>,
    Auth(caller): Auth,
    Body(input): Body<TenantInput>,
) -> ApiResult<Json<Tenant>> {
    Ok(Json(app.save_tenant(&caller, input).await?))
}

async fn one(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<TenantId>,
) -> ApiResult<Json<Tenant>> {
    Ok(Json(app.tenant(&caller, id).await?))
}

async fn remove(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<TenantId>,
) -> ApiResult<()> {
    app.delete_tenant(&caller, id).await?;
    Ok(())
}

async fn list(
    State(app): State<App>,
    Auth(caller): Auth,
    params: Params,
) -> ApiResult<Json<PageData<Tenant>>> {
    Ok(Json(app.tenants(&caller, params.page_link()?).await?))
}
