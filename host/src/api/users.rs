//! `/api/user*`, `/api/users`, `/api/customer/{id}/users`, `/api/tenant/{id}/users`,
//! and ThingsBoard PE's `/api/user/users`, `/api/customer/users`, `/api/userInfos/all`.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::domain::ids::{CustomerId, TenantId, UserId};
use crate::domain::page::PageData;
use crate::domain::user::{User, UserInfo, UserInput};
use crate::service::{ActivationMail, App};

use super::error::ApiResult;
use super::extract::{Auth, Body, Params, PathId, base_url};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/user", post(save))
        .route("/api/user/{id}", get(one).delete(remove))
        .route("/api/user/{id}/activationLink", get(activation_link))
        .route(
            "/api/user/{id}/activationLinkInfo",
            get(activation_link_info),
        )
        .route("/api/user/{id}/userCredentialsEnabled", post(set_enabled))
        .route("/api/users", get(list))
        .route("/api/user/users", get(of_user))
        .route("/api/customer/users", get(all_customer_users))
        .route("/api/userInfos/all", get(infos))
        .route("/api/customer/{id}/users", get(customer_users))
        .route("/api/tenant/{id}/users", get(tenant_admins))
}

async fn save(
    State(app): State<App>,
    Auth(caller): Auth,
    headers: HeaderMap,
    params: Params,
    Body(input): Body<UserInput>,
) -> ApiResult<Json<User>> {
    let mail = if params.flag("sendActivationMail", true)? {
        ActivationMail::Send {
            base_url: base_url(&app, &headers),
        }
    } else {
        ActivationMail::DontSend
    };
    let input = UserInput {
        entity_groups: params.entity_group_ids()?,
        ..input
    };
    Ok(Json(app.save_user(&caller, input, mail).await?))
}

async fn one(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<UserId>,
) -> ApiResult<Json<User>> {
    Ok(Json(app.user(&caller, id).await?))
}

async fn remove(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<UserId>,
) -> ApiResult<()> {
    app.delete_user(&caller, id).await?;
    Ok(())
}

/// The link as plain text, as ThingsBoard answers it.
async fn activation_link(
    State(app): State<App>,
    Auth(caller): Auth,
    headers: HeaderMap,
    PathId(id): PathId<UserId>,
) -> ApiResult<String> {
    let (link, _) = app
        .activation_link(&caller, id, &base_url(&app, &headers))
        .await?;
    Ok(link)
}

async fn activation_link_info(
    State(app): State<App>,
    Auth(caller): Auth,
    headers: HeaderMap,
    PathId(id): PathId<UserId>,
) -> ApiResult<Json<Value>> {
    let (link, ttl) = app
        .activation_link(&caller, id, &base_url(&app, &headers))
        .await?;
    Ok(Json(json!({ "value": link, "ttlMs": ttl })))
}

async fn set_enabled(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(id): PathId<UserId>,
    params: Params,
) -> ApiResult<()> {
    let enabled = params.flag("userCredentialsEnabled", true)?;
    app.set_user_enabled(&caller, id, enabled).await?;
    Ok(())
}

async fn list(
    State(app): State<App>,
    Auth(caller): Auth,
    params: Params,
) -> ApiResult<Json<PageData<User>>> {
    Ok(Json(app.users(&caller, params.page_link()?).await?))
}

/// Every user the caller may read (ThingsBoard PE's `getUserUsers`).
async fn of_user(
    State(app): State<App>,
    Auth(caller): Auth,
    params: Params,
) -> ApiResult<Json<PageData<User>>> {
    Ok(Json(app.user_users(&caller, params.page_link()?).await?))
}

/// Every customer user of the tenant (ThingsBoard PE's `getAllCustomerUsers`).
async fn all_customer_users(
    State(app): State<App>,
    Auth(caller): Auth,
    params: Params,
) -> ApiResult<Json<PageData<User>>> {
    Ok(Json(
        app.all_customer_users(&caller, params.page_link()?).await?,
    ))
}

/// The users of the caller's owner; `includeCustomers=true` adds those of
/// every customer below it (ThingsBoard PE's `getAllUserInfos`).
async fn infos(
    State(app): State<App>,
    Auth(caller): Auth,
    params: Params,
) -> ApiResult<Json<PageData<UserInfo>>> {
    let nested = params.flag("includeCustomers", false)?;
    let link = params.page_link()?;
    Ok(Json(app.user_infos(&caller, nested, link).await?))
}

async fn customer_users(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(customer): PathId<CustomerId>,
    params: Params,
) -> ApiResult<Json<PageData<User>>> {
    Ok(Json(
        app.customer_users(&caller, customer, params.page_link()?)
            .await?,
    ))
}

async fn tenant_admins(
    State(app): State<App>,
    Auth(caller): Auth,
    PathId(tenant): PathId<TenantId>,
    params: Params,
) -> ApiResult<Json<PageData<User>>> {
    Ok(Json(
        app.tenant_admins(&caller, tenant, params.page_link()?)
            .await?,
    ))
}
