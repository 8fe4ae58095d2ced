//! `/api/alarm*`, `/api/alarms` and `/api/v2/alarm*`: alarms in
//! ThingsBoard's shapes, with its v1 (`searchStatus` or `status`) and v2
//! (`statusList`, `severityList`, `typeList`) list filters.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{delete, get, post};
use serde_json::Value;

use crate::domain::alarm::{
    AlarmInfo, AlarmInput, AlarmJson, AlarmSeverity, AlarmStatus, AlarmType,
};
use crate::domain::alarm_query::{AlarmFilter, AlarmSearchStatus, StatusFilter};
use crate::domain::ids::{AlarmId, UserId};
use crate::domain::page::PageData;
use crate::service::App;

use super::error::{ApiError, ApiResult};
use super::extract::{Auth, Body, Params, PathId, parse_entity, parse_uuid};

pub fn routes() -> Router<App> {
    // Every route names the third segment `{id}`: the router requires one
    // name per position, and it is an alarm id or an entity type.
    Router::new()
        .route("/api/alarm", post(save))
        .route("/api/alarm/types", get(types))
        .route("/api/alarm/info/{id}", get(info))
        .route(
            "/api/alarm/highestSeverity/{entity_type}/{entity_id}",
            get(highest_severity),
        )
        .route("/api/alarm/{id}", get(one).delete(remove))
        .route("/api/alarm/{id}/ack", post(ack))
        .route("/api/alarm/{id}/clear", post(clear))
        .route("/api/alarm/{id}/assign/{user_id}", post(assign))
        .route("/api/alarm/{id}/assign", delete(unassign))
        .route("/api/alarm/{id}/{entity_id}", get(entity_alarms::<false>))
        .route("/api/alarms", get(all_alarms::<false>))
        .route(
            "/api/v2/alarm/{entity_type}/{entity_id}",
            get(entity_alarms::<true>),
        )
        .route("/api/v2/alarms", get(all_alarms::<true>))
}

/// `searchStatus` or `status` (not both), `assigneeId`, `startTime`, `endTime`.
fn v1_filter(params: &Params) -> ApiResult<AlarmFilter> {
    let search: Option<AlarmSearchStatus> = params
        .non_empty("searchStatus")
        .map(str::parse)
        .transpose()?;
    let status: Option<AlarmStatus> = params.non_empty("status").map(str::parse).transpose()?;
    let status = match (search, status) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "Invalid alarms search query: Both parameters 'searchStatus' and 'status' can't be specified at the same time!",
            ));
        }
        (Some(s), None) => StatusFilter::search(s),
        (None, Some(s)) => StatusFilter::exact(s),
        (None, None) => StatusFilter::default(),
    };
    // Accepted for ThingsBoard's clients; originator names are always sent.
    params.flag("fetchOriginator", false)?;
    common_filter(params, status)
}

/// `statusList`, `severityList`, `typeList` (comma-separated), `assigneeId`,
/// `startTime`, `endTime`.
fn v2_filter(params: &Params) -> ApiResult<AlarmFilter> {
    let statuses = params
        .list("statusList")
        .unwrap_or_default()
        .iter()
        .map(|s| s.parse::<AlarmSearchStatus>())
        .collect::<Result<Vec<_>, _>>()?;
    let severities = params
        .list("severityList")
        .unwrap_or_default()
        .iter()
        .map(|s| s.parse::<AlarmSeverity>())
        .collect::<Result<Vec<_>, _>>()?;
    let mut filter = common_filter(params, StatusFilter::any_of(&statuses))?;
    filter.severities = severities;
    filter.types = params.list("typeList").unwrap_or_default();
    Ok(filter)
}

fn common_filter(params: &Params, status: StatusFilter) -> ApiResult<AlarmFilter> {
    Ok(AlarmFilter {
        status,
        assignee: params
            .non_empty("assigneeId")
            .map(parse_uuid)
            .transpose()?
            .map(UserId),
        start_time: params.time("startTime")?,
        end_time: params.time("endTime")?,
        ..AlarmFilter::default()
    })
}

async fn save(
    State(app): State<App>,
    Auth(caller): Auth,
    Body(input): Body<AlarmInput>,
) -> ApiResult<Json<AlarmJson>> {
    Ok(Json(app.save_alarm(&caller, input).await?))
}

async fn one(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<AlarmId>,
) -> ApiResult<Json<AlarmJson>> {
    Ok(Json(app.alarm(&caller, id).await?))
}

async fn info(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<AlarmId>,
) -> ApiResult<Json<AlarmInfo>> {
    Ok(Json(app.alarm_info(&caller, id).await?))
}

async fn remove(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<AlarmId>,
) -> ApiResult<Json<bool>> {
    Ok(Json(app.delete_alarm(&caller, id).await?))
}

async fn ack(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<AlarmId>,
) -> ApiResult<Json<AlarmInfo>> {
    Ok(Json(app.ack_alarm(&caller, id).await?))
}

async fn clear(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<AlarmId>,
) -> ApiResult<Json<AlarmInfo>> {
    Ok(Json(app.clear_alarm(&caller, id).await?))
}

async fn assign(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId((id, user)): PathId<(AlarmId, UserId)>,
) -> ApiResult<Json<AlarmInfo>> {
    Ok(Json(app.assign_alarm(&caller, id, user).await?))
}

async fn unassign(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<AlarmId>,
) -> ApiResult<Json<AlarmInfo>> {
    Ok(Json(app.unassign_alarm(&caller, id).await?))
}

/// The list filter of the v1 endpoints (`searchStatus` / `status`) or of
/// the v2 ones (`statusList`, `severityList`, `typeList`).
fn list_filter<const V2: bool>(params: &Params) -> ApiResult<AlarmFilter> {
    if V2 {
        v2_filter(params)
    } else {
        v1_filter(params)
    }
}

async fn entity_alarms<const V2: bool>(
    State(app): State<App>,
    Auth(caller): Auth,
    Path((t, id)): Path<(String, String)>,
    params: Params,
) -> ApiResult<Json<PageData<AlarmInfo>>> {
    let (entity, filter, link) = (
        parse_entity(&t, &id)?,
        list_filter::<V2>(&params)?,
        params.page_link()?,
    );
    Ok(Json(
        app.entity_alarms(&caller, entity, filter, link).await?,
    ))
}

async fn all_alarms<const V2: bool>(
    State(app): State<App>,
    Auth(caller): Auth,
    params: Params,
) -> ApiResult<Json<PageData<AlarmInfo>>> {
    let (filter, link) = (list_filter::<V2>(&params)?, params.page_link()?);
    Ok(Json(app.all_alarms(&caller, filter, link).await?))
}

async fn types(
    State(app): State<App>,
    Auth(caller): Auth,
    params: Params,
) -> ApiResult<Json<PageData<AlarmType>>> {
    Ok(Json(app.alarm_types(&caller, params.page_link()?).await?))
}

/// The severity's name, or `null` when the entity has no such alarm.
async fn highest_severity(
    State(app): State<App>,
    Auth(caller): Auth,
    Path((t, id)): Path<(String, String)>,
    params: Params,
) -> ApiResult<Json<Value>> {
    let (entity, filter) = (parse_entity(&t, &id)?, v1_filter(&params)?);
    Ok(Json(
        app.highest_alarm_severity(&caller, entity, filter).await?,
    ))
}
