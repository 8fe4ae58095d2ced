//! `/api/calculatedField*`: calculated fields of devices and assets
//! (ThingsBoard compat section 7), tenant administrators only.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};

use crate::domain::calculated_field::{CalculatedField, CalculatedFieldInput, FieldKind};
use crate::domain::ids::{CalculatedFieldId, EntityType};
use crate::domain::page::PageData;
use crate::service::{App, FieldFilter, TestRequest, TestResult};

use super::error::{ApiError, ApiResult};
use super::extract::{Auth, Body, Params, PathId, comma_items, parse_entity, parse_uuid_list};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/calculatedField", post(save))
        .route("/api/calculatedField/testScript", post(test))
        .route("/api/calculatedField/{id}", get(one).delete(remove))
        .route(
            "/api/calculatedField/{entity_type}/{entity_id}",
            get(of_entity),
        )
        .route("/api/calculatedFields", get(list))
        .route("/api/calculatedFields/names", get(names))
}

fn kind(raw: &str) -> ApiResult<FieldKind> {
    serde_json::from_value(serde_json::Value::String(raw.to_ascii_uppercase()))
        .map_err(|_| ApiError::bad_request(format!("Invalid calculated field type: '{raw}'")))
}

fn entity_type(raw: &str) -> ApiResult<EntityType> {
    raw.parse()
        .map_err(|()| ApiError::bad_request(format!("Invalid entity type: '{raw}'")))
}

async fn save(
    State(app): State<App>,
    Auth(caller): Auth,
    Body(input): Body<CalculatedFieldInput>,
) -> ApiResult<Json<CalculatedField>> {
    Ok(Json(app.save_calculated_field(&caller, input).await?))
}

async fn one(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<CalculatedFieldId>,
) -> ApiResult<Json<CalculatedField>> {
    Ok(Json(app.calculated_field(&caller, id).await?))
}

async fn remove(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<CalculatedFieldId>,
) -> ApiResult<()> {
    app.delete_calculated_field(&caller, id).await?;
    Ok(())
}

async fn of_entity(
    State(app): State<App>,
    Auth(caller): Auth,
    Path((t, id)): Path<(String, String)>,
    params: Params,
) -> ApiResult<Json<PageData<CalculatedField>>> {
    let entity = parse_entity(&t, &id)?;
    let kind = params.non_empty("type").map(kind).transpose()?;
    Ok(Json(
        app.calculated_fields_of(&caller, entity, kind, params.page_link()?)
            .await?,
    ))
}

async fn list(
    State(app): State<App>,
    Auth(caller): Auth,
    params: Params,
) -> ApiResult<Json<PageData<CalculatedField>>> {
    let filter = FieldFilter {
        types: params
            .non_empty("types")
            .map(|raw| comma_items(raw).map(kind).collect::<ApiResult<Vec<_>>>())
            .transpose()?,
        entity_type: params
            .non_empty("entityType")
            .map(entity_type)
            .transpose()?,
        entities: params
            .non_empty("entities")
            .map(parse_uuid_list)
            .transpose()?,
    };
    Ok(Json(
        app.calculated_fields(&caller, filter, params.page_link()?)
            .await?,
    ))
}

async fn names(
    State(app): State<App>,
    Auth(caller): Auth,
    params: Params,
) -> ApiResult<Json<PageData<String>>> {
    let kind = params.non_empty("type").map(kind).transpose()?;
    Ok(Json(
        app.calculated_field_names(&caller, kind, params.page_link()?)
            .await?,
    ))
}

async fn test(
    State(app): State<App>,
    Auth(caller): Auth,
    Body(request): Body<TestRequest>,
) -> ApiResult<Json<TestResult>> {
    Ok(Json(app.test_calculated_field(&caller, request).await?))
}
