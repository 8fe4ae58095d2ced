//! `/api/auth/*` and `/api/noauth/*`: login, tokens, activation, reset.

use std::net::SocketAddr;

use axum::Extension;
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::jwt::JwtPair;
use crate::domain::user::User;
use crate::service::{App, ClientInfo, ServiceError};

use super::error::ApiResult;
use super::extract::{Auth, Body, Params, base_url};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/auth/login", post(login))
        .route("/api/auth/login/public", post(login_public))
        .route("/api/auth/token", post(refresh))
        .route("/api/auth/user", get(current_user))
        .route("/api/auth/logout", post(logout))
        .route("/api/auth/changePassword", post(change_password))
        .route("/api/noauth/activate", get(check_activation).post(activate))
        .route("/api/noauth/resetPasswordByEmail", post(reset_by_email))
        .route("/api/noauth/resetPassword", get(check_reset).post(reset))
        .route("/api/noauth/userPasswordPolicy", get(password_policy))
}

#[derive(Deserialize)]
struct LoginRequest {
    username: String,
    password: String,
}

async fn login(
    State(app): State<App>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Body(req): Body<LoginRequest>,
) -> ApiResult<Json<JwtPair>> {
    let header = |name| {
        headers
            .get(name)
            .and_then(|v: &axum::http::HeaderValue| v.to_str().ok())
            .map(str::to_owned)
    };
    // A proxy's forwarding header names the client behind it; without one
    // the address is the connection's own, which the client cannot forge.
    let client = ClientInfo {
        address: header(header::FORWARDED)
            .or_else(|| header(header::HeaderName::from_static("x-forwarded-for")))
            .or_else(|| peer.map(|Extension(ConnectInfo(addr))| addr.ip().to_string())),
        browser: header(header::USER_AGENT),
    };
    Ok(Json(app.login(&req.username, &req.password, client).await?))
}

/// ThingsBoard's `PublicLoginRequest`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PublicLoginRequest {
    #[serde(default)]
    public_id: Option<String>,
}

/// `POST /api/auth/login/public`: as ThingsBoard's public login filter, a
/// body that does not parse, or names no `publicId`, is a failed
/// authentication (401, code 10), not a bad request.
async fn login_public(State(app): State<App>, body: Bytes) -> ApiResult<Json<JwtPair>> {
    let failed = ServiceError::authentication_failed;
    let req: PublicLoginRequest = serde_json::from_slice(&body).map_err(|_| failed())?;
    let public_id = req
        .public_id
        .filter(|id| !id.trim().is_empty())
        .ok_or_else(failed)?;
    Ok(Json(app.login_public(&public_id)?))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RefreshRequest {
    refresh_token: String,
}

async fn refresh(
    State(app): State<App>,
    Body(req): Body<RefreshRequest>,
) -> ApiResult<Json<JwtPair>> {
    Ok(Json(app.refresh(&req.refresh_token)?))
}

async fn current_user(State(app): State<App>, Auth(caller): Auth) -> ApiResult<Json<User>> {
    Ok(Json(app.current_user(&caller).await?))
}

async fn logout(State(app): State<App>, Auth(caller): Auth) -> ApiResult<()> {
    app.logout(&caller).await?;
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChangePasswordRequest {
    current_password: String,
    new_password: String,
}

async fn change_password(
    State(app): State<App>,
    Auth(caller): Auth,
    Body(req): Body<ChangePasswordRequest>,
) -> ApiResult<Json<JwtPair>> {
    Ok(Json(
        app.change_password(&caller, &req.current_password, &req.new_password)
            .await?,
    ))
}

/// The link from the activation mail: sends the browser to the page that
/// sets the password, or to the "link expired" page.
async fn check_activation(State(app): State<App>, params: Params) -> ApiResult<Response> {
    let token = params.required("activateToken")?;
    let target = if app.check_activation_token(token)? {
        format!("/login/createPassword?activateToken={}", urlencode(token))
    } else {
        "/activationLinkExpired".to_owned()
    };
    Ok(Redirect::to(&target).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ActivateRequest {
    activate_token: String,
    password: String,
}

async fn activate(
    State(app): State<App>,
    Body(req): Body<ActivateRequest>,
) -> ApiResult<Json<JwtPair>> {
    Ok(Json(
        app.activate(&req.activate_token, &req.password).await?,
    ))
}

#[derive(Deserialize)]
struct ResetByEmailRequest {
    email: String,
}

async fn reset_by_email(
    State(app): State<App>,
    headers: HeaderMap,
    Body(req): Body<ResetByEmailRequest>,
) -> ApiResult<()> {
    app.request_password_reset(&req.email, &base_url(&app, &headers))
        .await?;
    Ok(())
}

async fn check_reset(params: Params) -> ApiResult<Response> {
    let token = params.required("resetToken")?;
    Ok(Redirect::to(&format!(
        "/login/resetPassword?resetToken={}",
        urlencode(token)
    ))
    .into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResetRequest {
    reset_token: String,
    password: String,
}

async fn reset(State(app): State<App>, Body(req): Body<ResetRequest>) -> ApiResult<Json<JwtPair>> {
    Ok(Json(
        app.reset_password(&req.reset_token, &req.password).await?,
    ))
}

async fn password_policy(State(app): State<App>) -> Json<Value> {
    Json(json!(app.settings().security.password_policy))
}

/// Tokens are URL-safe base64, but a caller may send anything: keep only
/// what cannot break the redirect target.
fn urlencode(token: &str) -> String {
    token
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .collect()
}
