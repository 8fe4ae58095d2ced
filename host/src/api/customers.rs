//! `/api/customer*`, `/api/user/customers`: ThingsBoard's customer endpoints.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};

use crate::domain::customer::{Customer, CustomerInfo, CustomerInput};
use crate::domain::ids::CustomerId;
use crate::domain::page::PageData;
use crate::service::{App, NameConflict, UniquifyStrategy};

use super::error::{ApiError, ApiResult};
use super::extract::{Auth, Body, Params, PathId, parse_uuid_list};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/customer", post(save))
        .route("/api/customer/{id}", get(one).delete(remove))
        .route("/api/customer/{id}/shortInfo", get(short_info))
        .route("/api/customer/{id}/title", get(title))
        .route("/api/customer/info/{id}", get(info))
        .route("/api/customers", get(list).delete(remove_many))
        .route("/api/customer/{id}/customerInfos", get(infos_of_customer))
        .route("/api/customerInfos/all", get(infos_of_tenant))
        .route("/api/tenant/customers", get(by_title))
        .route("/api/user/customers", get(of_user))
}

fn name_conflict(params: &Params) -> ApiResult<NameConflict> {
    let policy = params.get("nameConflictPolicy").unwrap_or("FAIL");
    if policy.eq_ignore_ascii_case("FAIL") {
        return Ok(NameConflict::Fail);
    }
    if !policy.eq_ignore_ascii_case("UNIQUIFY") {
        return Err(ApiError::bad_request(format!(
            "Invalid nameConflictPolicy: '{policy}'"
        )));
    }
    let separator = match params.get("uniquifySeparator") {
        None => '_',
        Some(s) => {
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => c,
                _ => {
                    return Err(ApiError::bad_request(
                        "uniquifySeparator must be one character",
                    ));
                }
            }
        }
    };
    let strategy = match params.get("uniquifyStrategy").unwrap_or("RANDOM") {
        s if s.eq_ignore_ascii_case("RANDOM") => UniquifyStrategy::Random,
        s if s.eq_ignore_ascii_case("INCREMENTAL") => UniquifyStrategy::Incremental,
        s => {
            return Err(ApiError::bad_request(format!(
                "Invalid uniquifyStrategy: '{s}'"
            )));
        }
    };
    Ok(NameConflict::Uniquify {
        strategy,
        separator,
    })
}

async fn save(
    State(app): State<App>,
    Auth(caller): Auth,
    params: Params,
    Body(input): Body<CustomerInput>,
) -> ApiResult<Json<Customer>> {
    let policy = name_conflict(&params)?;
    let input = CustomerInput {
        entity_groups: params.entity_group_ids()?,
        ..input
    };
    Ok(Json(app.save_customer(&caller, input, policy).await?))
}

async fn one(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<CustomerId>,
) -> ApiResult<Json<Customer>> {
    Ok(Json(app.customer(&caller, id).await?))
}

async fn info(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<CustomerId>,
) -> ApiResult<Json<CustomerInfo>> {
    Ok(Json(app.customer_info(&caller, id).await?))
}

async fn short_info(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<CustomerId>,
) -> ApiResult<Json<serde_json::Value>> {
    let c = app.customer(&caller, id).await?;
    Ok(Json(
        serde_json::json!({ "title": c.title, "isPublic": c.is_public() }),
    ))
}

async fn title(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<CustomerId>,
) -> ApiResult<String> {
    Ok(app.customer(&caller, id).await?.title)
}

async fn remove(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<CustomerId>,
) -> ApiResult<()> {
    app.delete_customer(&caller, id).await?;
    Ok(())
}

/// Deletes a selection (`customerIds=a,b`) in one transaction: all of them
/// or, if any is missing or not the caller's, none. Answers the deleted ids.
async fn remove_many(
    State(app): State<App>,
    Auth(caller): Auth,
    params: Params,
) -> ApiResult<Json<Vec<CustomerId>>> {
    let ids: Vec<CustomerId> = parse_uuid_list(params.required("customerIds")?)?
        .into_iter()
        .map(CustomerId)
        .collect();
    if ids.len() > MAX_BULK {
        return Err(ApiError::bad_request(format!(
            "At most {MAX_BULK} customers can be deleted at once"
        )));
    }
    app.delete_customers(&caller, ids.clone()).await?;
    Ok(Json(ids))
}

/// Largest selection one bulk delete takes; bounds one transaction's size.
const MAX_BULK: usize = 1000;

/// `GET /api/customers`: a page (`pageSize`, `page`, ...) or, with
/// `customerIds`, the listed customers the caller may read.
async fn list(
    State(app): State<App>,
    Auth(caller): Auth,
    params: Params,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    if let Some(ids) = params.get("customerIds") {
        let ids: Vec<CustomerId> = parse_uuid_list(ids)?.into_iter().map(CustomerId).collect();
        return Ok(Json(app.customers_by_ids(&caller, &ids).await?).into_response());
    }
    let link = params.page_link()?;
    let page: PageData<Customer> = app.customers(&caller, link).await?;
    Ok(Json(page).into_response())
}

/// Every customer the caller may read (ThingsBoard PE's `getUserCustomers`).
async fn of_user(
    State(app): State<App>,
    Auth(caller): Auth,
    params: Params,
) -> ApiResult<Json<PageData<Customer>>> {
    Ok(Json(
        app.user_customers(&caller, params.page_link()?).await?,
    ))
}

async fn by_title(
    State(app): State<App>,
    Auth(caller): Auth,
    params: Params,
) -> ApiResult<Json<Customer>> {
    let title = params.required("customerTitle")?;
    Ok(Json(app.customer_by_title(&caller, title).await?))
}

/// The customers a customer owns; `includeCustomers=true` adds those below
/// them, at any depth.
async fn infos_of_customer(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<CustomerId>,
    params: Params,
) -> ApiResult<Json<PageData<CustomerInfo>>> {
    let nested = params.flag("includeCustomers", false)?;
    let link = params.page_link()?;
    Ok(Json(
        app.customer_infos(&caller, Some(id), nested, link).await?,
    ))
}

/// The tenant's own customers; `includeCustomers=true`: all of them.
async fn infos_of_tenant(
    State(app): State<App>,
    Auth(caller): Auth,
    params: Params,
) -> ApiResult<Json<PageData<CustomerInfo>>> {
    let nested = params.flag("includeCustomers", false)?;
    let link = params.page_link()?;
    Ok(Json(app.customer_infos(&caller, None, nested, link).await?))
}
