//! The REST API in ThingsBoard's wire format, over axum.

mod alarms;
mod assets;
mod assignable;
mod audit;
mod auth;
mod calculated_fields;
mod customer_logic;
mod customers;
mod dashboards;
mod device_http;
mod devices;
mod entity_groups;
pub mod error;
mod events;
mod extensions;
mod extract;
mod group_permissions;
mod group_sharing;
mod owners;
mod pages;
mod roles;
mod telemetry;
mod tenants;
mod users;
mod ws;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tower::limit::ConcurrencyLimitLayer;
use tower_http::trace::TraceLayer;

use crate::service::{App, ServiceError};

use error::ApiError;

/// Every route, with the body size cap and the concurrency limit.
pub fn router(app: App) -> Router {
    let settings = app.settings().http.clone();
    Router::new()
        .merge(auth::routes())
        .merge(customers::routes())
        .merge(owners::routes())
        .merge(entity_groups::routes())
        .merge(roles::routes())
        .merge(group_permissions::routes())
        .merge(group_sharing::routes())
        .merge(customer_logic::routes())
        .merge(users::routes())
        .merge(tenants::routes())
        .merge(devices::routes())
        .merge(assets::routes())
        .merge(dashboards::routes())
        .merge(alarms::routes())
        .merge(telemetry::routes())
        .merge(calculated_fields::routes())
        .merge(device_http::routes())
        .merge(ws::routes())
        .merge(audit::routes())
        .merge(extensions::routes(app.settings()))
        .merge(events::routes())
        .merge(pages::routes())
        .fallback(|| async { ApiError::from(ServiceError::not_found()) })
        .layer(DefaultBodyLimit::max(settings.max_body_bytes))
        .layer(ConcurrencyLimitLayer::new(
            settings.max_concurrent_requests.max(1),
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(app)
}
