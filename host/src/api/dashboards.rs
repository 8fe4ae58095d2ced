//! `/api/dashboard*`, `/api/tenant/dashboards`, `/api/customer/{id}/dashboards`
//! and dashboard assignment (a dashboard may have many customers).

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};

use crate::domain::dashboard::{Dashboard, DashboardInput};
use crate::domain::ids::{CustomerId, DashboardId};
use crate::domain::page::PageData;
use crate::service::App;

use super::error::ApiResult;
use super::extract::{Auth, Body, Params, parse_uuid};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/dashboard", post(save))
        .route("/api/dashboard/{id}", get(one).delete(remove))
        .route("/api/tenant/dashboards", get(tenant_dashboards))
        .route("/api/customer/{id}/dashboards", get(customer_dashboards))
        .route(
            "/api/customer/{id}/dashboard/{dashboard_id}",
            post(assign).delete(assign),
        )
}

async fn save(
    State(app): State<App>,
    Auth(caller): Auth,
    Body(input): Body<DashboardInput>,
) -> ApiResult<Json<Dashboard>> {
    Ok(Json(app.save_dashboard(&caller, input).await?))
}

async fn one(
    State(app): State<App>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Dashboard>> {
    Ok(Json(
        app.dashboard(&caller, DashboardId(parse_uuid(&id)?))
            .await?,
    ))
}

async fn remove(
    State(app): State<App>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<()> {
    app.delete_dashboard(&caller, DashboardId(parse_uuid(&id)?))
        .await?;
    Ok(())
}

async fn tenant_dashboards(
    State(app): State<App>,
    Auth(caller): Auth,
    params: Params,
) -> ApiResult<Json<PageData<Dashboard>>> {
    Ok(Json(
        app.tenant_dashboards(&caller, params.page_link()?).await?,
    ))
}

async fn customer_dashboards(
    State(app): State<App>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<PageData<Dashboard>>> {
    let customer = CustomerId(parse_uuid(&id)?);
    Ok(Json(
        app.customer_dashboards(&caller, customer, params.page_link()?)
            .await?,
    ))
}

/// `POST` assigns, `DELETE` unassigns.
async fn assign(
    State(app): State<App>,
    Auth(caller): Auth,
    method: axum::http::Method,
    Path((id, dashboard_id)): Path<(String, String)>,
) -> ApiResult<Json<Dashboard>> {
    let (customer, dashboard) = (
        CustomerId(parse_uuid(&id)?),
        DashboardId(parse_uuid(&dashboard_id)?),
    );
    let add = method == axum::http::Method::POST;
    Ok(Json(
        app.assign_dashboard(&caller, dashboard, customer, add)
            .await?,
    ))
}
