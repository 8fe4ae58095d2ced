//! The pages an activation or reset link opens, served by the binary itself.

use axum::Router;
use axum::response::Html;
use axum::routing::get;

use crate::service::App;

const PASSWORD_PAGE: &str = include_str!("../../ui/password.html");

const EXPIRED_PAGE: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Clientele: link expired</title></head><body style=\"font-family:system-ui,sans-serif\">\
<h1>This activation link has expired</h1><p>Ask your administrator for a new one.</p></body></html>";

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/login/createPassword",
            get(|| async { Html(PASSWORD_PAGE) }),
        )
        .route(
            "/login/resetPassword",
            get(|| async { Html(PASSWORD_PAGE) }),
        )
        .route(
            "/activationLinkExpired",
            get(|| async { Html(EXPIRED_PAGE) }),
        )
}
