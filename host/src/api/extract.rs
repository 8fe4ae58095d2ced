//! Request parts in ThingsBoard's terms: the caller from `X-Authorization`,
//! JSON bodies, query values and ids, each failing with ThingsBoard's error JSON.

use std::collections::HashMap;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::auth::Caller;
use crate::domain::ids::{
    AlarmId, AssetId, CalculatedFieldId, CustomerId, DashboardId, DeviceId, EntityGroupId,
    EntityId, EntityType, ExtensionId, GroupPermissionId, RoleId, TenantId, UserId,
};
use crate::domain::page::PageLink;
use crate::service::{App, ServiceError};

use super::error::{ApiError, code};

/// The authenticated caller. Accepts `X-Authorization: Bearer <jwt>` (what
/// ThingsBoard's clients send), `Authorization: Bearer <jwt>`, or `?token=`.
#[derive(Debug, Clone)]
pub struct Auth(pub Caller);

fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

impl FromRequestParts<App> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, ApiError> {
        let header = ["x-authorization", "authorization"]
            .iter()
            .find_map(|name| parts.headers.get(*name))
            .and_then(|v| v.to_str().ok())
            .and_then(bearer)
            .map(str::to_owned);
        let token = match header {
            Some(t) => Some(t),
            None => Query::<HashMap<String, String>>::try_from_uri(&parts.uri)
                .ok()
                .and_then(|q| q.0.get("token").cloned()),
        };
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or_else(ServiceError::authentication_failed)?;
        Ok(Auth(app.authenticate(&token)?))
    }
}

/// A JSON body whose every failure (syntax, shape, type, size) is a 400/413
/// in ThingsBoard's error JSON.
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Body(v)),
            Err(rejection) => Err(json_error(rejection)),
        }
    }
}

fn json_error(rejection: JsonRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            code::BAD_REQUEST_PARAMS,
            "Request body is too large",
        );
    }
    let detail = match &rejection {
        JsonRejection::MissingJsonContentType(_) => {
            "Content-Type must be application/json".to_owned()
        }
        other => other.body_text(),
    };
    ApiError::bad_request(format!("Invalid request body: {detail}"))
}

/// Raw query values, read leniently so each parameter gets its own message.
#[derive(Debug, Default)]
pub struct Params(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Query::<HashMap<String, String>>::try_from_uri(&parts.uri)
            .map(|q| Params(q.0))
            .map_err(|e| ApiError::bad_request(format!("Invalid query: {}", e.body_text())))
    }
}

impl Params {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The groups a new entity is created into (ThingsBoard PE's
    /// `entityGroupId` and `entityGroupIds`, either or both), in order,
    /// each once.
    pub fn entity_group_ids(&self) -> Result<Vec<EntityGroupId>, ApiError> {
        let mut out: Vec<EntityGroupId> = Vec::new();
        for name in ["entityGroupId", "entityGroupIds"] {
            for id in parse_uuid_list(self.get(name).unwrap_or(""))? {
                if !out.contains(&EntityGroupId(id)) {
                    out.push(EntityGroupId(id));
                }
            }
        }
        Ok(out)
    }

    /// The value when present and not empty (an empty filter filters nothing).
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// A comma-separated list (`keys=a,b`), when present; ThingsBoard also
    /// accepts the parameter repeated, but the map keeps one value per name.
    pub fn list(&self, name: &str) -> Option<Vec<String>> {
        self.get(name)
            .map(|v| comma_items(v).map(str::to_owned).collect())
    }

    /// A comma-separated list that must name at least one item.
    pub fn required_list(&self, name: &str) -> Result<Vec<String>, ApiError> {
        self.list(name)
            .filter(|items| !items.is_empty())
            .ok_or_else(|| ApiError::bad_request(format!("Parameter '{name}' can't be empty!")))
    }

    pub fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| ApiError::bad_request(format!("Parameter '{name}' can't be empty!")))
    }

    /// Booleans as ThingsBoard's clients send them: `true`, `True`, `false`, ...
    pub fn flag(&self, name: &str, default: bool) -> Result<bool, ApiError> {
        match self.get(name).map(str::trim) {
            None | Some("") => Ok(default),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(ApiError::bad_request(format!(
                "Parameter '{name}' must be true or false, not '{v}'"
            ))),
        }
    }

    pub fn time(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.get(name).map(str::trim) {
            None | Some("") => Ok(None),
            Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
                ApiError::bad_request(format!("Parameter '{name}' must be a number, not '{v}'"))
            }),
        }
    }

    pub fn page_link(&self) -> Result<PageLink, ApiError> {
        PageLink::parse(
            self.get("pageSize"),
            self.get("page"),
            self.get("textSearch"),
            self.get("sortProperty"),
            self.get("sortOrder"),
        )
        .map_err(ApiError::from)
    }
}

/// The items of a comma-separated value, trimmed, empty ones left out.
pub fn comma_items(raw: &str) -> impl Iterator<Item = &str> {
    raw.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// Parses an id from the path or a list, with ThingsBoard's message.
pub fn parse_uuid(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw.trim())
        .map_err(|_| ApiError::bad_request(format!("Invalid UUID string: {raw}")))
}

/// Comma-separated ids (`customerIds=a,b`).
pub fn parse_uuid_list(raw: &str) -> Result<Vec<Uuid>, ApiError> {
    comma_items(raw).map(parse_uuid).collect()
}

/// An entity named by type and id, as in `/{entityType}/{entityId}`.
pub fn parse_entity(entity_type: &str, id: &str) -> Result<EntityId, ApiError> {
    let entity_type: EntityType = entity_type
        .parse()
        .map_err(|()| ApiError::bad_request(format!("Invalid entity type: '{entity_type}'")))?;
    Ok(EntityId {
        entity_type,
        id: parse_uuid(id)?,
    })
}

/// Ids from the path: `PathId<CustomerId>` for `/{id}`, or
/// `PathId<(CustomerId, Uuid)>` for `/{id}/.../{entity_id}`; a malformed
/// one is a 400 with ThingsBoard's message.
#[derive(Debug)]
pub struct PathId<T>(pub T);

/// What [`PathId`] can hold: an id type, or a pair of them.
pub trait FromPath: Sized {
    type Raw: DeserializeOwned + Send;
    fn from_path(raw: Self::Raw) -> Result<Self, ApiError>;
}

macro_rules! id_from_path {
    ($($t:ty),*) => {$(
        impl FromPath for $t {
            type Raw = String;
            fn from_path(raw: String) -> Result<Self, ApiError> {
                parse_uuid(&raw).map(Self::from)
            }
        }
    )*};
}
id_from_path!(
    Uuid,
    TenantId,
    CustomerId,
    UserId,
    DeviceId,
    AssetId,
    DashboardId,
    CalculatedFieldId,
    ExtensionId,
    AlarmId,
    EntityGroupId,
    RoleId,
    GroupPermissionId
);

impl<A, B> FromPath for (A, B)
where
    A: FromPath<Raw = String>,
    B: FromPath<Raw = String>,
{
    type Raw = (String, String);
    fn from_path((a, b): (String, String)) -> Result<Self, ApiError> {
        Ok((A::from_path(a)?, B::from_path(b)?))
    }
}

impl<T: FromPath, S: Send + Sync> FromRequestParts<S> for PathId<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) = Path::<T::Raw>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request(e.body_text()))?;
        T::from_path(raw).map(PathId)
    }
}

/// The base URL for links in mails and activation links: the configured
/// public URL, or the scheme and host the request came in on.
pub fn base_url(app: &App, headers: &axum::http::HeaderMap) -> String {
    if let Some(url) = &app.settings().public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let scheme = header("x-forwarded-proto").unwrap_or("http");
    let host = header("x-forwarded-host")
        .or_else(|| header("host"))
        .unwrap_or("localhost");
    format!("{scheme}://{host}")
}
