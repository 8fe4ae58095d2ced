//! ThingsBoard-shaped JWTs, signed HS512 with the installation's own secret.

use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::ids::{CustomerId, EntityId, NULL_UUID, TenantId, UserId, owner_of};
use crate::domain::user::{Authority, User};

use super::rights::Rights;

const ISSUER: &str = "clientele";
const REFRESH_SCOPE: &str = "REFRESH_TOKEN";
/// The first and last name of a public user, as ThingsBoard gives them.
pub const PUBLIC_NAME: &str = "Public";

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
        let access = Claims {
            sub: user.email.clone(),
            user_id: user.id.0,
            scopes: vec![user.authority.as_str().to_owned()],
            session_id: Uuid::new_v4(),
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
        self.pair(access)
    }

    /// A fresh pair for the public user of `customer`, a public customer
    /// (ThingsBoard's public login): no user row behind it, the null user
    /// id, the customer's id (the `publicId`) as subject, `isPublic`.
    pub fn issue_public(&self, tenant: TenantId, customer: CustomerId, now_s: i64) -> JwtPair {
        let access = Claims {
            sub: customer.0.to_string(),
            user_id: NULL_UUID,
            scopes: vec![Authority::CustomerUser.as_str().to_owned()],
            session_id: Uuid::new_v4(),
            iss: ISSUER.to_owned(),
            iat: now_s,
            exp: now_s + self.access_ttl_s,
            tenant_id: Some(tenant.0),
            customer_id: Some(customer.0),
            first_name: Some(PUBLIC_NAME.to_owned()),
            last_name: Some(PUBLIC_NAME.to_owned()),
            enabled: true,
            is_public: true,
            generation: 0,
        };
        self.pair(access)
    }

    /// `access` and the refresh token that goes with it.
    fn pair(&self, access: Claims) -> JwtPair {
        let refresh = Claims {
            scopes: vec![REFRESH_SCOPE.to_owned()],
            exp: access.iat + self.refresh_ttl_s,
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
    /// The rights a user's roles grant. `None`: for a customer user none
    /// beyond its own profile; for a tenant's user, that it is one of the
    /// tenant's administrators ("Tenant Administrators"), whose rights
    /// follow from their authority, as the system administrator's do.
    pub rights: Option<Arc<Rights>>,
    /// The public user of a public customer (`customer_id`), signed in
    /// with `/api/auth/login/public`: no user row (the null user id, the
    /// customer's id as `email`), no profile of its own, and only the
    /// rights of that customer's "Public Users".
    pub is_public: bool,
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
            is_public: false,
        }
    }

    /// The public user of the public customer `customer`, with no rights:
    /// see [`Caller::with_rights`].
    pub fn public(tenant: TenantId, customer: CustomerId) -> Self {
        Caller {
            user_id: UserId(NULL_UUID),
            tenant_id: tenant,
            customer_id: customer,
            authority: Authority::CustomerUser,
            email: customer.0.to_string(),
            rights: None,
            is_public: true,
        }
    }

    /// The caller's own owner: its customer, or for a tenant's user (and
    /// the system administrator, of the null tenant) its tenant.
    pub fn owner_id(&self) -> EntityId {
        owner_of(self.tenant_id, self.customer_id)
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
    fn a_public_token_names_its_customer_and_no_user() {
        let keys = JwtKeys::new(b"0123456789abcdef0123456789abcdef", 60, 600);
        let (t, c) = (TenantId::new(), CustomerId::new());
        let now = crate::domain::ids::now_ms() / 1000;
        let pair = keys.issue_public(t, c, now);
        let claims = keys.verify(&pair.token, TokenKind::Access).unwrap();
        assert!(claims.is_public);
        assert_eq!(claims.sub, c.0.to_string());
        assert_eq!(
            (claims.user_id, claims.customer_id, claims.tenant_id),
            (NULL_UUID, Some(c.0), Some(t.0))
        );
        assert_eq!(claims.scopes, ["CUSTOMER_USER"]);
        let refresh = keys
            .verify(&pair.refresh_token, TokenKind::Refresh)
            .unwrap();
        assert!(refresh.is_public);
        assert_eq!(refresh.exp, now + 600);
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
