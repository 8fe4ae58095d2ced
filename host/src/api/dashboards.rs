//! `/api/dashboard*`, `/api/tenant/dashboards`, `/api/customer/{id}/dashboards`
//! and dashboard assignment (a dashboard may have many customers).

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};

use crate::domain::dashboard::{Dashboard, DashboardInput};
use crate::domain::ids::{CustomerId, DashboardId};
use crate::domain::page::PageData;
use crate::service::App;

use super::error::ApiResult;
use super::extract::{Auth, Body, Params, PathId};

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
    params: Params,
    Body(input): Body<DashboardInput>,
) -> ApiResult<Json<Dashboard>> {
    let input = DashboardInput {
        entity_groups: params.entity_group_ids()?,
        ..input
    };
    Ok(Json(app.save_dashboard(&caller, input).await?))
}

async fn one(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<DashboardId>,
) -> ApiResult<Json<Dashboard>> {
    Ok(Json(app.dashboard(&caller, id).await?))
}

async fn remove(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<DashboardId>,
) -> ApiResult<()> {
    app.delete_dashboard(&caller, id).await?;
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
    PathId(customer): PathId<CustomerId>,
    params: Params,
) -> ApiResult<Json<PageData<Dashboard>>> {
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
    PathId((customer, dashboard)): PathId<(CustomerId, DashboardId)>,
) -> ApiResult<Json<Dashboard>> {
    let add = method == axum::http::Method::POST;
    Ok(Json(
        app.assign_dashboard(&caller, dashboard, customer, add)
            .await?,
    ))
}
