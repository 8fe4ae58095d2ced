//! What a use case can answer instead of a result; the API maps each to
//! ThingsBoard's status and error code.

use thiserror::Error;

use crate::auth::permissions::Denied;
use crate::domain::validate::ValidationError;
use crate::store::StoreError;

const PERMISSION_DENIED: &str = "You don't have permission to perform this operation!";
const NOT_FOUND: &str = "Requested item wasn't found!";
const AUTHENTICATION_FAILED: &str = "Authentication failed";

#[derive(Debug, Error)]
pub enum ServiceError {
    /// Bad input: 400, code 31.
    #[error("{0}")]
    Invalid(String),
    /// 404, code 32.
    #[error("{0}")]
    NotFound(String),
    /// 403, code 20.
    #[error("{PERMISSION_DENIED}")]
    Forbidden,
    /// Stale `version`: 409, code 35.
    #[error("{0}")]
    VersionConflict(String),
    /// 409 without a more specific code (a used activation token).
    #[error("{0}")]
    Conflict(String),
    /// An upload over its size cap: 413, code 31.
    #[error("{0}")]
    TooLarge(String),
    /// 401, code 10 (or 11 when `expired`).
    #[error("{message}")]
    Unauthorized { message: String, expired: bool },
    /// Mail could not be sent: 500, code 2.
    #[error("{0}")]
    Mail(String),
    /// The store failed: 500, code 46; the cause is logged, not sent.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Anything else that is our fault: 500, code 2.
    #[error("{0}")]
    Internal(String),
}

impl From<ValidationError> for ServiceError {
    fn from(e: ValidationError) -> Self {
        ServiceError::Invalid(e.0)
    }
}

impl From<Denied> for ServiceError {
    fn from(_: Denied) -> Self {
        ServiceError::Forbidden
    }
}

impl ServiceError {
    pub fn not_found() -> Self {
        ServiceError::NotFound(NOT_FOUND.to_owned())
    }

    /// A missing, invalid or revoked token: nothing more is said about why.
    pub fn authentication_failed() -> Self {
        Self::unauthorized(AUTHENTICATION_FAILED)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        ServiceError::Unauthorized {
            message: message.into(),
            expired: false,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        ServiceError::Invalid(message.into())
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;
