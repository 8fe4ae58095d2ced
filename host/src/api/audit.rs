//! `/api/audit/logs*`: the tenant's audit log, whole or by subject.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;

use crate::domain::audit::{ActionType, AuditLog};
use crate::domain::ids::{CustomerId, UserId};
use crate::domain::page::PageData;
use crate::service::App;
use crate::service::audit::AuditScope;

use super::error::{ApiError, ApiResult};
use super::extract::{Auth, Params, PathId, parse_entity};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/audit/logs", get(tenant_logs))
        .route("/api/audit/logs/customer/{id}", get(customer_logs))
        .route("/api/audit/logs/user/{id}", get(user_logs))
        .route(
            "/api/audit/logs/entity/{entity_type}/{id}",
            get(entity_logs),
        )
}

fn action_types(params: &Params) -> ApiResult<Option<Vec<ActionType>>> {
    let Some(raw) = params.get("actionTypes").filter(|s| !s.trim().is_empty()) else {
        return Ok(None);
    };
    raw.split(',')
        .map(|t| {
            t.parse::<ActionType>()
                .map_err(|()| ApiError::bad_request(format!("Invalid action type: '{}'", t.trim())))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

async fn query(
    app: &App,
    caller: &crate::auth::Caller,
    scope: AuditScope,
    params: &Params,
) -> ApiResult<Json<PageData<AuditLog>>> {
    let page = app
        .audit_logs(
            caller,
            scope,
            params.time("startTime")?,
            params.time("endTime")?,
            action_types(params)?,
            params.page_link()?,
        )
        .await?;
    Ok(Json(page))
}

async fn tenant_logs(
    State(app): State<App>,
    Auth(caller): Auth,
    params: Params,
) -> ApiResult<Json<PageData<AuditLog>>> {
    query(&app, &caller, AuditScope::Tenant, &params).await
}

async fn customer_logs(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<CustomerId>,
    params: Params,
) -> ApiResult<Json<PageData<AuditLog>>> {
    let scope = AuditScope::Customer(id);
    query(&app, &caller, scope, &params).await
}

async fn user_logs(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<UserId>,
    params: Params,
) -> ApiResult<Json<PageData<AuditLog>>> {
    let scope = AuditScope::User(id);
    query(&app, &caller, scope, &params).await
}

async fn entity_logs(
    State(app): State<App>,
    Auth(caller): Auth,
    Path((entity_type, id)): Path<(String, String)>,
    params: Params,
) -> ApiResult<Json<PageData<AuditLog>>> {
    let scope = AuditScope::Entity(parse_entity(&entity_type, &id)?);
    query(&app, &caller, scope, &params).await
}
