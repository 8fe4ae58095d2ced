//! One error type for every handler, answered in ThingsBoard's JSON:
//! `{"status","message","errorCode","timestamp"}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::domain::ids::now_ms;
use crate::service::ServiceError;

/// ThingsBoard's error codes.
pub mod code {
    pub const GENERAL: u16 = 2;
    pub const AUTHENTICATION: u16 = 10;
    pub const JWT_TOKEN_EXPIRED: u16 = 11;
    pub const PERMISSION_DENIED: u16 = 20;
    pub const BAD_REQUEST_PARAMS: u16 = 31;
    pub const ITEM_NOT_FOUND: u16 = 32;
    pub const VERSION_CONFLICT: u16 = 35;
    pub const DATABASE: u16 = 46;
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: u16,
    pub message: String,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: u16, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code::BAD_REQUEST_PARAMS, message)
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        use ServiceError as E;
        let (status, code) = match &e {
            E::Invalid(_) => (StatusCode::BAD_REQUEST, code::BAD_REQUEST_PARAMS),
            E::NotFound(_) => (StatusCode::NOT_FOUND, code::ITEM_NOT_FOUND),
            E::Forbidden => (StatusCode::FORBIDDEN, code::PERMISSION_DENIED),
            E::VersionConflict(_) => (StatusCode::CONFLICT, code::VERSION_CONFLICT),
            E::Conflict(_) => (StatusCode::CONFLICT, code::BAD_REQUEST_PARAMS),
            E::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, code::BAD_REQUEST_PARAMS),
            E::Unauthorized { expired: true, .. } => {
                (StatusCode::UNAUTHORIZED, code::JWT_TOKEN_EXPIRED)
            }
            E::Unauthorized { .. } => (StatusCode::UNAUTHORIZED, code::AUTHENTICATION),
            E::Mail(_) => (StatusCode::INTERNAL_SERVER_ERROR, code::GENERAL),
            E::Store(_) => (StatusCode::INTERNAL_SERVER_ERROR, code::DATABASE),
            E::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, code::GENERAL),
        };
        // Server-side causes are logged, never sent: they may name files or internals.
        let message = match &e {
            E::Store(cause) => {
                tracing::error!(error = %cause, "store failure");
                "Database error".to_owned()
            }
            E::Internal(cause) => {
                tracing::error!(error = %cause, "internal error");
                "Internal server error".to_owned()
            }
            E::Mail(cause) => {
                tracing::warn!(error = %cause, "mail failure");
                cause.clone()
            }
            other => other.to_string(),
        };
        ApiError::new(status, code, message)
    }
}

/// A device's or caller's data that does not parse: bad input, 400.
impl From<crate::domain::telemetry::PayloadError> for ApiError {
    fn from(e: crate::domain::telemetry::PayloadError) -> Self {
        ApiError::bad_request(e.to_string())
    }
}

impl From<crate::domain::validate::ValidationError> for ApiError {
    fn from(e: crate::domain::validate::ValidationError) -> Self {
        ApiError::bad_request(e.0)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "status": self.status.as_u16(),
            "message": self.message,
            "errorCode": self.code,
            "timestamp": now_ms(),
        });
        (self.status, Json(body)).into_response()
    }
}
