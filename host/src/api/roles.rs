//! `/api/role*`: ThingsBoard Professional Edition's roles.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};

use crate::domain::ids::RoleId;
use crate::domain::page::PageData;
use crate::domain::role::{Role, RoleInput, RoleType};
use crate::service::App;

use super::error::{ApiError, ApiResult};
use super::extract::{Auth, Body, Params, PathId};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/role", post(save))
        .route("/api/role/{roleId}", get(one).delete(remove))
        .route("/api/roles", get(list))
}

async fn save(
    State(app): State<App>,
    Auth(caller): Auth,
    Body(input): Body<RoleInput>,
) -> ApiResult<Json<Role>> {
    Ok(Json(app.save_role(&caller, input).await?))
}

async fn one(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<RoleId>,
) -> ApiResult<Json<Role>> {
    Ok(Json(app.role(&caller, id).await?))
}

async fn remove(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<RoleId>,
) -> ApiResult<()> {
    Ok(app.delete_role(&caller, id).await?)
}

/// `?pageSize&page[&type=GENERIC|GROUP&textSearch&sortProperty&sortOrder]`
async fn list(
    State(app): State<App>,
    Auth(caller): Auth,
    params: Params,
) -> ApiResult<Json<PageData<Role>>> {
    let link = params.page_link()?;
    let role_type = match params.non_empty("type") {
        None => None,
        Some(t) if t.eq_ignore_ascii_case("GENERIC") => Some(RoleType::Generic),
        Some(t) if t.eq_ignore_ascii_case("GROUP") => Some(RoleType::Group),
        Some(t) => return Err(ApiError::bad_request(format!("Invalid role type: '{t}'"))),
    };
    Ok(Json(app.roles(&caller, link, role_type).await?))
}
