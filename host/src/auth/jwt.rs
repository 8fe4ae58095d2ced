//! ThingsBoard-shaped JWTs, signed HS512 with the installation's own secret.

use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::ids::{CustomerId, TenantId, UserId};
use crate::domain::user::{Authority, User};

use super::rights::Rights;

const ISSUER: &str = "clientele";
const REFRESH_SCOPE: &str = "REFRESH_TOKEN";

/// The claims ThingsBoard puts in its tokens, plus `gen`: the user's token
/// generation, bumped to revoke every token issued before.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Claims {
    pub sub: String,
    pub user_id: Uuid,
    pub scopes: Vec<String>,
    pub session_id: Uuid,
    pub iss: String,
    pub iat: i64,
    pub exp: i64,
    #[serde(default)]
    pub tenant_id: Option<Uuid>,
    #[serde(default)]
    pub customer_id: Option<Uuid>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub is_public: bool,
    #[serde(rename = "gen")]
    pub generation: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtError {
    Expired,
    Invalid,
}

/// `{"token","refreshToken"}` as the login endpoints return it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JwtPair {
    pub token: String,
    pub refresh_token: String,
}

/// The signing key, the verification rules and token lifetimes.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// Built once: every authenticated request verifies a token.
    validation: Validation,
    access_ttl_s: i64,
    refresh_ttl_s: i64,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys")
            .field("access_ttl_s", &self.access_ttl_s)
            .finish_non_exhaustive()
    }
}

impl JwtKeys {
    pub fn new(secret: &[u8], access_ttl_s: i64, refresh_ttl_s: i64) -> Self {
        // HS512 only (`none` and other algorithms are refused), no leeway on expiry.
        let mut validation = Validation::new(Algorithm::HS512);
        validation.leeway = 0;
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "sub", "iss"]);
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            access_ttl_s,
            refresh_ttl_s,
        }
    }

    /// A fresh access and refresh token for `user`.
    pub fn issue(&self, user: &User, generation: u64, now_s: i64) -> JwtPair {
        let session_id = Uuid::new_v4();
        let access = Claims {
            sub: user.email.clone(),
            user_id: user.id.0,
            scopes: vec![user.authority.as_str().to_owned()],
            session_id,
            iss: ISSUER.to_owned(),
            iat: now_s,
            exp: now_s + self.access_ttl_s,
            tenant_id: Some(user.tenant_id.0),
            customer_id: Some(user.customer_id.0),
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            enabled: true,
            is_public: false,
            generation,
        };
        let refresh = Claims {
            scopes: vec![REFRESH_SCOPE.to_owned()],
            exp: now_s + self.refresh_ttl_s,
            first_name: None,
            last_name: None,
            ..access.clone()
        };
        JwtPair {
            token: self.sign(&access),
            refresh_token: self.sign(&refresh),
        }
    }

    fn sign(&self, claims: &Claims) -> String {
        // HMAC signing of a serialisable struct cannot fail.
        jsonwebtoken::encode(&Header::new(Algorithm::HS512), claims, &self.encoding)
            .unwrap_or_default()
    }

    /// Checks signature, algorithm (HS512 only: `none` and others are refused),
    /// expiry and the kind of token.
    pub fn verify(&self, token: &str, kind: TokenKind) -> Result<Claims, JwtError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => JwtError::Expired,
                _ => JwtError::Invalid,
            })?;
        let is_refresh = data.claims.scopes.iter().any(|s| s == REFRESH_SCOPE);
        match (kind, is_refresh) {
            (TokenKind::Access, false) | (TokenKind::Refresh, true) => Ok(data.claims),
            _ => Err(JwtError::Invalid),
        }
    }
}

/// The authenticated user behind a request, as checked against the store.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: UserId,
    pub tenant_id: TenantId,
    pub customer_id: CustomerId,
    pub authority: Authority,
    pub email: String,
    /// A customer user's rights from its roles; `None`: none beyond its
    /// own profile. Administrators' rights follow from their authority.
    pub rights: Option<Arc<Rights>>,
}

impl Caller {
    /// `user`, with no rights from roles: see [`Caller::with_rights`].
    pub fn of(user: &User) -> Self {
        Caller {
            user_id: user.id,
            tenant_id: user.tenant_id,
            customer_id: user.customer_id,
            authority: user.authority,
            email: user.email.clone(),
            rights: None,
        }
    }

    pub fn with_rights(self, rights: Rights) -> Self {
        Caller {
            rights: Some(Arc::new(rights)),
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::user::UserInput;

    fn user() -> User {
        User::create(
            TenantId::new(),
            CustomerId::NULL,
            Authority::TenantAdmin,
            "t@x.io".into(),
            UserInput::default(),
            0,
        )
    }

    #[test]
    fn access_and_refresh_tokens_are_not_interchangeable() {
        let keys = JwtKeys::new(b"0123456789abcdef0123456789abcdef", 60, 600);
        let now = crate::domain::ids::now_ms() / 1000;
        let pair = keys.issue(&user(), 3, now);
        let claims = keys.verify(&pair.token, TokenKind::Access).unwrap();
        assert_eq!(
            (claims.scopes[0].as_str(), claims.generation),
            ("TENANT_ADMIN", 3)
        );
        assert!(keys.verify(&pair.refresh_token, TokenKind::Access).is_err());
        assert!(keys.verify(&pair.refresh_token, TokenKind::Refresh).is_ok());
        assert!(keys.verify(&pair.token, TokenKind::Refresh).is_err());
    }

    #[test]
    fn expired_forged_and_foreign_key_tokens_are_refused() {
        let keys = JwtKeys::new(b"secret-one-secret-one-secret-one", 60, 600);
        let old = keys.issue(&user(), 0, 1_000);
        assert_eq!(
            keys.verify(&old.token, TokenKind::Access).unwrap_err(),
            JwtError::Expired
        );
        let other = JwtKeys::new(b"secret-two-secret-two-secret-two", 60, 600);
        let now = crate::domain::ids::now_ms() / 1000;
        let foreign = other.issue(&user(), 0, now);
        assert_eq!(
            keys.verify(&foreign.token, TokenKind::Access).unwrap_err(),
            JwtError::Invalid
        );
        assert!(keys.verify("not.a.jwt", TokenKind::Access).is_err());
    }
}
