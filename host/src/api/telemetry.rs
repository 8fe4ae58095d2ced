//! `/api/plugins/telemetry/{entityType}/{entityId}/...`: attributes and
//! telemetry over REST, in ThingsBoard's shapes.

use std::collections::BTreeMap;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{delete, get, post};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use crate::domain::ids::now_ms;
use crate::domain::telemetry::{DataValue, parse_kv_object, parse_telemetry_bytes};
use crate::service::{Aggregation, App, DeleteQuery, HistoryQuery, Scope};

use super::error::{ApiError, ApiResult};
use super::extract::{Auth, Body, Params, parse_entity};

const BASE: &str = "/api/plugins/telemetry/{entity_type}/{entity_id}";

pub fn routes() -> Router<App> {
    let at = |p: &str| format!("{BASE}{p}");
    Router::new()
        .route(&at("/keys/timeseries"), get(ts_keys))
        .route(&at("/keys/attributes"), get(attr_keys))
        .route(&at("/keys/attributes/{scope}"), get(attr_keys_scoped))
        .route(&at("/values/timeseries"), get(ts_values))
        .route(&at("/values/timeseries/history"), get(ts_values))
        .route(&at("/values/attributes"), get(attr_values))
        .route(&at("/values/attributes/{scope}"), get(attr_values_scoped))
        .route(&at("/timeseries/{scope}"), post(save_ts))
        .route(&at("/timeseries/{scope}/{ttl}"), post(save_ts_ttl))
        .route(&at("/attributes/{scope}"), post(save_attrs))
        .route(&at("/timeseries/delete"), delete(delete_ts))
        .route(&at("/{scope}"), post(save_attrs).delete(delete_attrs))
}

fn scope(raw: &str) -> ApiResult<Scope> {
    Scope::parse(raw)
        .ok_or_else(|| ApiError::bad_request(format!("Invalid attribute scope: '{raw}'")))
}

fn point(ts: i64, v: &DataValue, strict: bool) -> Value {
    let value = if strict {
        v.to_json()
    } else {
        Value::String(v.to_wire_string())
    };
    json!({ "ts": ts, "value": value })
}

async fn ts_keys(
    State(app): State<App>,
    Auth(caller): Auth,
    Path((t, id)): Path<(String, String)>,
) -> ApiResult<Json<Vec<String>>> {
    Ok(Json(
        app.telemetry_keys(&caller, parse_entity(&t, &id)?).await?,
    ))
}

async fn attr_keys(
    State(app): State<App>,
    Auth(caller): Auth,
    Path((t, id)): Path<(String, String)>,
) -> ApiResult<Json<Vec<String>>> {
    let attrs = app
        .attributes(&caller, parse_entity(&t, &id)?, None, None)
        .await?;
    let mut names: Vec<String> = attrs.into_iter().map(|(_, k, _, _)| k).collect();
    names.sort();
    names.dedup();
    Ok(Json(names))
}

async fn attr_keys_scoped(
    State(app): State<App>,
    Auth(caller): Auth,
    Path((t, id, s)): Path<(String, String, String)>,
) -> ApiResult<Json<Vec<String>>> {
    let attrs = app
        .attributes(&caller, parse_entity(&t, &id)?, Some(scope(&s)?), None)
        .await?;
    Ok(Json(attrs.into_iter().map(|(_, k, _, _)| k).collect()))
}

fn attr_json(attrs: Vec<(Scope, String, i64, DataValue)>) -> Value {
    Value::Array(
        attrs
            .into_iter()
            .map(|(_, k, t, v)| json!({ "key": k, "value": v.to_json(), "lastUpdateTs": t }))
            .collect(),
    )
}

async fn attr_values(
    State(app): State<App>,
    Auth(caller): Auth,
    Path((t, id)): Path<(String, String)>,
    params: Params,
) -> ApiResult<Json<Value>> {
    Ok(Json(attr_json(
        app.attributes(&caller, parse_entity(&t, &id)?, None, params.list("keys"))
            .await?,
    )))
}

async fn attr_values_scoped(
    State(app): State<App>,
    Auth(caller): Auth,
    Path((t, id, s)): Path<(String, String, String)>,
    params: Params,
) -> ApiResult<Json<Value>> {
    Ok(Json(attr_json(
        app.attributes(
            &caller,
            parse_entity(&t, &id)?,
            Some(scope(&s)?),
            params.list("keys"),
        )
        .await?,
    )))
}

/// Latest values, or with `startTs`/`endTs` the history (raw or aggregated).
async fn ts_values(
    State(app): State<App>,
    Auth(caller): Auth,
    Path((t, id)): Path<(String, String)>,
    params: Params,
) -> ApiResult<Json<Value>> {
    let entity = parse_entity(&t, &id)?;
    let strict = params.flag("useStrictDataTypes", false)?;
    let start = params.time("startTs")?;
    let end = params.time("endTs")?;
    let mut out = Map::new();
    if start.is_none() && end.is_none() {
        let latest = app
            .latest_telemetry(&caller, entity, params.list("keys"))
            .await?;
        for (k, (ts, v)) in latest {
            out.insert(k, Value::Array(vec![point(ts, &v, strict)]));
        }
        return Ok(Json(Value::Object(out)));
    }
    let (Some(start), Some(end)) = (start, end) else {
        return Err(ApiError::bad_request(
            "Both startTs and endTs are required for history",
        ));
    };
    if end < start {
        return Err(ApiError::bad_request("endTs must not be before startTs"));
    }
    let keys = params.required_list("keys")?;
    let agg = match params.get("agg").map(str::trim).filter(|a| !a.is_empty()) {
        None => Aggregation::None,
        Some(a) => Aggregation::parse(a)
            .ok_or_else(|| ApiError::bad_request(format!("Invalid aggregation: '{a}'")))?,
    };
    if let Some(kind) = params
        .get("intervalType")
        .filter(|k| !k.eq_ignore_ascii_case("MILLISECONDS"))
        && !kind.is_empty()
    {
        return Err(ApiError::bad_request(format!(
            "intervalType '{kind}' is not supported; use MILLISECONDS"
        )));
    }
    let interval = params
        .time("interval")?
        .unwrap_or(end.saturating_sub(start));
    if agg != Aggregation::None && interval <= 0 {
        return Err(ApiError::bad_request("interval must be greater than zero"));
    }
    if agg != Aggregation::None && (end.saturating_sub(start)) / interval.max(1) > 100_000 {
        return Err(ApiError::bad_request(
            "Too many intervals: widen the interval",
        ));
    }
    let limit = match params.time("limit")? {
        None => 100,
        Some(l) if (1..=100_000).contains(&l) => l as usize,
        Some(_) => return Err(ApiError::bad_request("limit must be between 1 and 100000")),
    };
    let newest_first = match params.get("orderBy") {
        None | Some("DESC") => true,
        Some("ASC") => false,
        Some(o) => return Err(ApiError::bad_request(format!("Invalid orderBy: '{o}'"))),
    };
    let q = HistoryQuery {
        keys,
        start,
        end,
        interval,
        limit,
        agg,
        newest_first,
    };
    let history: BTreeMap<String, Vec<(i64, DataValue)>> =
        app.telemetry_history(&caller, entity, q).await?;
    for (k, points) in history {
        out.insert(
            k,
            Value::Array(points.iter().map(|(ts, v)| point(*ts, v, strict)).collect()),
        );
    }
    Ok(Json(Value::Object(out)))
}

async fn save_ts(
    State(app): State<App>,
    Auth(caller): Auth,
    Path((t, id, _scope)): Path<(String, String, String)>,
    Body(body): Body<Box<RawValue>>,
) -> ApiResult<()> {
    let entries = parse_telemetry_bytes(body.get().as_bytes(), now_ms())?;
    app.save_telemetry(&caller, parse_entity(&t, &id)?, entries)
        .await?;
    Ok(())
}

/// With a TTL in the path: accepted and ignored (data is kept until deleted).
async fn save_ts_ttl(
    app: State<App>,
    caller: Auth,
    Path((t, id, scope, _ttl)): Path<(String, String, String, String)>,
    body: Body<Box<RawValue>>,
) -> ApiResult<()> {
    save_ts(app, caller, Path((t, id, scope)), body).await
}

async fn save_attrs(
    State(app): State<App>,
    Auth(caller): Auth,
    Path((t, id, s)): Path<(String, String, String)>,
    Body(body): Body<Value>,
) -> ApiResult<()> {
    let obj = body
        .as_object()
        .ok_or_else(|| ApiError::bad_request("Attributes must be a JSON object"))?;
    let entries = parse_kv_object(obj)?;
    app.save_attributes(&caller, parse_entity(&t, &id)?, scope(&s)?, entries)
        .await?;
    Ok(())
}

async fn delete_attrs(
    State(app): State<App>,
    Auth(caller): Auth,
    Path((t, id, s)): Path<(String, String, String)>,
    params: Params,
) -> ApiResult<()> {
    let keys = params.required_list("keys")?;
    app.delete_attributes(&caller, parse_entity(&t, &id)?, scope(&s)?, keys)
        .await?;
    Ok(())
}

/// Where "all data" of a delete ends (exclusive): millions of years past any
/// real timestamp, so that future-dated points go too (ThingsBoard stops at
/// "now" and leaves them), while staying clear of `i64::MAX` for the
/// store's arithmetic on window ends.
const ALL_DATA_END: i64 = i64::MAX / 2;

/// The UI's four modes: all data, all but latest, latest value, a time range.
async fn delete_ts(
    State(app): State<App>,
    Auth(caller): Auth,
    Path((t, id)): Path<(String, String)>,
    params: Params,
) -> ApiResult<()> {
    let keys = params.required_list("keys")?;
    let all = params.flag("deleteAllDataForKeys", false)?;
    let (start, end) = if all {
        (i64::MIN, ALL_DATA_END)
    } else {
        match (params.time("startTs")?, params.time("endTs")?) {
            (Some(s), Some(e)) if e >= s => (s, e),
            (Some(_), Some(_)) => {
                return Err(ApiError::bad_request("endTs must not be before startTs"));
            }
            _ => {
                return Err(ApiError::bad_request(
                    "startTs and endTs are required unless deleteAllDataForKeys=true",
                ));
            }
        }
    };
    let q = DeleteQuery {
        keys,
        start,
        end,
        delete_latest: params.flag("deleteLatest", true)?,
        rewrite_latest: params.flag("rewriteLatestIfDeleted", false)?,
    };
    app.delete_telemetry(&caller, parse_entity(&t, &id)?, q)
        .await?;
    Ok(())
}
