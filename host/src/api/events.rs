//! `/api/events/{entityType}/{entityId}[/{eventType}|/clear]`: an
//! entity's events, as ThingsBoard serves them.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use serde_json::Value;

use crate::auth::Caller;
use crate::domain::event::{Event, EventFilter, EventType};
use crate::domain::ids::EntityId;
use crate::domain::page::PageData;
use crate::service::{App, ServiceError};

use super::error::ApiResult;
use super::extract::{Auth, Body, Params, parse_entity, parse_uuid};

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/api/events/{entity_type}/{entity_id}",
            get(lifecycle).post(by_filter),
        )
        .route(
            "/api/events/{entity_type}/{entity_id}/{event_type}",
            get(by_type),
        )
        .route("/api/events/{entity_type}/{entity_id}/clear", post(clear))
}

/// ThingsBoard's clients send the entity's `tenantId`; it must be the
/// caller's (events are read in the caller's tenant only).
fn check_tenant(caller: &Caller, params: &Params) -> ApiResult<()> {
    if let Some(raw) = params.non_empty("tenantId")
        && parse_uuid(raw)? != caller.tenant_id.0
    {
        return Err(ServiceError::Forbidden.into());
    }
    Ok(())
}

async fn list(
    app: &App,
    caller: &Caller,
    entity: EntityId,
    filter: EventFilter,
    params: &Params,
) -> ApiResult<Json<PageData<Event>>> {
    check_tenant(caller, params)?;
    let page = app
        .events(
            caller,
            entity,
            filter,
            params.time("startTime")?,
            params.time("endTime")?,
            params.page_link()?,
        )
        .await?;
    Ok(Json(page))
}

async fn by_type(
    State(app): State<App>,
    Auth(caller): Auth,
    Path((entity_type, id, event_type)): Path<(String, String, String)>,
    params: Params,
) -> ApiResult<Json<PageData<Event>>> {
    let entity = parse_entity(&entity_type, &id)?;
    let filter = EventFilter::of_type(EventType::parse(&event_type)?);
    list(&app, &caller, entity, filter, &params).await
}

/// ThingsBoard's deprecated form without a type: lifecycle events only.
async fn lifecycle(
    State(app): State<App>,
    Auth(caller): Auth,
    Path((entity_type, id)): Path<(String, String)>,
    params: Params,
) -> ApiResult<Json<PageData<Event>>> {
    let entity = parse_entity(&entity_type, &id)?;
    let filter = EventFilter::of_type(EventType::LcEvent);
    list(&app, &caller, entity, filter, &params).await
}

async fn by_filter(
    State(app): State<App>,
    Auth(caller): Auth,
    Path((entity_type, id)): Path<(String, String)>,
    params: Params,
    Body(filter): Body<Value>,
) -> ApiResult<Json<PageData<Event>>> {
    let entity = parse_entity(&entity_type, &id)?;
    let filter = EventFilter::from_json(filter)?;
    list(&app, &caller, entity, filter, &params).await
}

async fn clear(
    State(app): State<App>,
    Auth(caller): Auth,
    Path((entity_type, id)): Path<(String, String)>,
    params: Params,
    Body(filter): Body<Value>,
) -> ApiResult<()> {
    check_tenant(&caller, &params)?;
    let entity = parse_entity(&entity_type, &id)?;
    let filter = EventFilter::from_json(filter)?;
    app.clear_events(
        &caller,
        entity,
        filter,
        params.time("startTime")?,
        params.time("endTime")?,
    )
    .await?;
    Ok(())
}
