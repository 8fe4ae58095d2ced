//! Handlers devices and assets share: read one, list the tenant's or a
//! customer's, assign and unassign. Each type wires them to its own paths.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use uuid::Uuid;

use crate::domain::assignable::Assignable;
use crate::domain::ids::CustomerId;
use crate::domain::page::PageData;
use crate::service::App;

use super::error::ApiResult;
use super::extract::{Auth, Params, PathId};

pub async fn one<T: Assignable>(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<Uuid>,
) -> ApiResult<Json<T>> {
    Ok(Json(app.assignable::<T>(&caller, id).await?))
}

/// A page of the tenant's (`type` filters), or with `deviceName` /
/// `assetName` the one of that name.
pub async fn tenant_list<T: Assignable>(
    State(app): State<App>,
    Auth(caller): Auth,
    params: Params,
) -> ApiResult<Response> {
    let name_param = format!("{}Name", T::LABEL.to_lowercase());
    if let Some(name) = params.get(&name_param) {
        return Ok(Json(app.assignable_by_name::<T>(&caller, name).await?).into_response());
    }
    let kind = params.non_empty("type").map(str::to_owned);
    let page: PageData<T> = app
        .tenant_assignables(&caller, params.page_link()?, kind)
        .await?;
    Ok(Json(page).into_response())
}

pub async fn customer_list<T: Assignable>(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(customer): PathId<CustomerId>,
    params: Params,
) -> ApiResult<Json<PageData<T>>> {
    let kind = params.non_empty("type").map(str::to_owned);
    Ok(Json(
        app.customer_assignables(&caller, customer, params.page_link()?, kind)
            .await?,
    ))
}

/// `POST /api/customer/{id}/<type>/{entity_id}`
pub async fn assign<T: Assignable>(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId((customer, id)): PathId<(CustomerId, Uuid)>,
) -> ApiResult<Json<T>> {
    Ok(Json(app.assign::<T>(&caller, id, customer).await?))
}

/// `DELETE /api/customer/<type>/{entity_id}`
pub async fn unassign<T: Assignable>(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<Uuid>,
) -> ApiResult<Json<T>> {
    Ok(Json(app.assign::<T>(&caller, id, CustomerId::NULL).await?))
}
