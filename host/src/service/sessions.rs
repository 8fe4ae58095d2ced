//! Logging in and out, tokens, password changes, activation and reset.

use serde_json::json;

use crate::auth::jwt::{Claims, JwtError, JwtPair, PUBLIC_NAME, TokenKind};
use crate::auth::{Caller, password, tokens};
use crate::domain::audit::ActionType;
use crate::domain::customer::Customer;
use crate::domain::ids::{CustomerId, NULL_UUID, TenantId, UserId, now_ms};
use crate::domain::user::{Authority, Credentials, User};
use crate::store::{self, Changes, KvRead, customers, users};

use super::audit::{Actor, failure, stage_record};
use super::group_permissions::rights::{caller_of, public_caller_of};
use super::users::pending_token;
use super::{App, ServiceError, ServiceResult};

const BAD_CREDENTIALS: &str = "Invalid username or password";
const NOT_ACTIVE: &str = "User account is not active";
const LOCKED: &str = "User account is locked due to security policy";

/// Where a login came from, for the audit record.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub address: Option<String>,
    pub browser: Option<String>,
}

/// A hash to verify against when the user does not exist, so that a wrong
/// e-mail costs as long as a wrong password and reveals nothing.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| password::hash("not a password").unwrap_or_default())
}

fn actor_of(user: &User) -> Actor {
    Actor {
        tenant: user.tenant_id,
        customer: user.customer_id,
        user: user.id,
        name: user.email.clone(),
    }
}

fn is_locked(creds: &Credentials, now: i64) -> bool {
    creds.locked_until.is_some_and(|until| until > now)
}

impl App {
    fn now_s() -> i64 {
        now_ms() / 1000
    }

    /// Checks e-mail and password; counts failures and locks the account
    /// after too many in a row.
    pub async fn login(
        &self,
        email: &str,
        password_text: &str,
        client: ClientInfo,
    ) -> ServiceResult<JwtPair> {
        let email = email.trim().to_lowercase();
        let snapshot = self.store.snapshot()?;
        let found = users::find_by_email(&*snapshot, &email)?;
        let Some(user) = found else {
            let pw = password_text.to_owned();
            self.hashing(move || password::verify(&pw, dummy_hash()))
                .await?;
            return Err(ServiceError::unauthorized(BAD_CREDENTIALS));
        };
        let creds = users::credentials(&*snapshot, user.id)?.unwrap_or_default();
        drop(snapshot);
        let Some(hash) = creds.password_hash.clone() else {
            return Err(ServiceError::unauthorized(NOT_ACTIVE));
        };
        if is_locked(&creds, now_ms()) {
            return Err(ServiceError::unauthorized(LOCKED));
        }
        if !creds.enabled {
            return Err(ServiceError::unauthorized(NOT_ACTIVE));
        }
        let pw = password_text.to_owned();
        let ok = self.hashing(move || password::verify(&pw, &hash)).await?;
        let max = self.settings.security.max_failed_login_attempts;
        let lockout_ms = self
            .settings
            .security
            .lockout_minutes
            .saturating_mul(60_000);
        let data = json!({ "clientAddress": client.address, "browser": client.browser });
        let logged_in = user.clone();
        let generation = self
            .write(move |view| {
                let old = users::credentials(view, user.id)?.unwrap_or_default();
                let mut creds = old.clone();
                let actor = actor_of(&user);
                let entity = Some((user.id.entity_id(), user.email.as_str()));
                let mut changes = Changes::new();
                let outcome = if ok {
                    creds.failed_logins = 0;
                    creds.locked_until = None;
                    stage_record(
                        &mut changes,
                        &actor,
                        user.customer_id,
                        entity,
                        ActionType::Login,
                        data,
                    );
                    Ok(creds.generation)
                } else {
                    creds.failed_logins += 1;
                    let log = failure(&actor, entity, ActionType::Login, BAD_CREDENTIALS);
                    store::audit_log::append(&mut changes, &log);
                    if max > 0 && creds.failed_logins >= max {
                        let now = now_ms();
                        creds.locked_until = Some(if lockout_ms > 0 {
                            now + lockout_ms
                        } else {
                            i64::MAX
                        });
                        creds.failed_logins = 0;
                        stage_record(
                            &mut changes,
                            &actor,
                            user.customer_id,
                            entity,
                            ActionType::Lockout,
                            json!({}),
                        );
                    }
                    Err(ServiceError::unauthorized(BAD_CREDENTIALS))
                };
                users::put_credentials(&mut changes, &user, Some(&old), &creds);
                // The counters are written whatever the outcome; the outcome is the answer.
                Ok((outcome, changes))
            })
            .await??;
        Ok(self.jwt.issue(&logged_in, generation, Self::now_s()))
    }

    /// ThingsBoard's public login (`POST /api/auth/login/public`): a token
    /// pair for the public user of the public customer `public_id` names.
    /// An id that is no UUID, names no customer, or a customer that is not
    /// public, is refused as ThingsBoard refuses it (401, code 10), and
    /// nothing is issued.
    pub fn login_public(&self, public_id: &str) -> ServiceResult<JwtPair> {
        let refused = || ServiceError::unauthorized(INVALID_PUBLIC_ID);
        let id = uuid::Uuid::parse_str(public_id.trim()).map_err(|_| refused())?;
        let customer = CustomerId(id);
        let tenant = self
            .customer_index
            .tenant_of(customer)
            .ok_or_else(refused)?;
        let snapshot = self.store.snapshot()?;
        let c = public_customer(&*snapshot, tenant, customer)?.ok_or_else(refused)?;
        Ok(self.jwt.issue_public(c.tenant_id, c.id, Self::now_s()))
    }

    /// The caller behind an access token, checked against the store: a
    /// deleted, disabled or locked user, or a revoked token, is refused; a
    /// public token's customer must still be public.
    pub fn authenticate(&self, token: &str) -> ServiceResult<Caller> {
        let claims = self.verify_claims(token, TokenKind::Access)?;
        // One snapshot for the user and its rights.
        let snapshot = self.store.snapshot()?;
        if claims.is_public {
            let c = public_customer_of(&*snapshot, &claims)?;
            return public_caller_of(&*snapshot, self.reach(), &c);
        }
        let (user, _) = user_of(&*snapshot, &claims)?;
        caller_of(&*snapshot, self.reach(), &user)
    }

    /// `user` as a caller: a customer user with the rights its roles grant.
    pub fn caller(&self, user: &User) -> ServiceResult<Caller> {
        let snapshot = self.store.snapshot()?;
        caller_of(&*snapshot, self.reach(), user)
    }

    /// A token's claims, its signature, algorithm, expiry and kind checked:
    /// a forged or expired token costs no store read.
    fn verify_claims(&self, token: &str, kind: TokenKind) -> ServiceResult<Claims> {
        self.jwt.verify(token, kind).map_err(|e| match e {
            JwtError::Expired => ServiceError::Unauthorized {
                message: "Token has expired".into(),
                expired: true,
            },
            JwtError::Invalid => ServiceError::authentication_failed(),
        })
    }

    /// A new token pair for a valid refresh token: a public one for a
    /// public user's, whose customer must still be public.
    pub fn refresh(&self, refresh_token: &str) -> ServiceResult<JwtPair> {
        let claims = self.verify_claims(refresh_token, TokenKind::Refresh)?;
        let snapshot = self.store.snapshot()?;
        if claims.is_public {
            let c = public_customer_of(&*snapshot, &claims)?;
            return Ok(self.jwt.issue_public(c.tenant_id, c.id, Self::now_s()));
        }
        let (user, generation) = user_of(&*snapshot, &claims)?;
        Ok(self.jwt.issue(&user, generation, Self::now_s()))
    }

    /// Records the logout (tokens are the client's to discard, as in
    /// ThingsBoard); a public user has no record to log it under.
    pub async fn logout(&self, caller: &Caller) -> ServiceResult<()> {
        if caller.is_public {
            return Ok(());
        }
        let caller = caller.clone();
        self.write(move |_| {
            let mut changes = Changes::new();
            let entity = Some((caller.user_id.entity_id(), caller.email.as_str()));
            stage_record(
                &mut changes,
                &Actor::from(&caller),
                caller.customer_id,
                entity,
                ActionType::Logout,
                json!({}),
            );
            Ok(((), changes))
        })
        .await
    }

    /// The caller's own profile; a public user's is made up from its
    /// token, as ThingsBoard's client makes it up (no user row: the null
    /// id, the public customer's id as e-mail, "Public" names).
    pub async fn current_user(&self, caller: &Caller) -> ServiceResult<User> {
        if caller.is_public {
            return Ok(public_user(caller));
        }
        let snapshot = self.store.snapshot()?;
        users::get(&*snapshot, caller.tenant_id, caller.user_id)?
            .ok_or_else(ServiceError::authentication_failed)
    }

    /// Changes the caller's password; every older token stops working and a
    /// fresh pair is returned.
    pub async fn change_password(
        &self,
        caller: &Caller,
        current: &str,
        new: &str,
    ) -> ServiceResult<JwtPair> {
        // A public user has no password to change.
        if caller.is_public {
            return Err(ServiceError::Forbidden);
        }
        let snapshot = self.store.snapshot()?;
        let creds = users::credentials(&*snapshot, caller.user_id)?.unwrap_or_default();
        drop(snapshot);
        let hash = creds.password_hash.clone().unwrap_or_default();
        let cur = current.to_owned();
        if !self.hashing(move || password::verify(&cur, &hash)).await? {
            return Err(ServiceError::invalid("Current password doesn't match!"));
        }
        if current == new {
            return Err(ServiceError::invalid(
                "New password should be different from existing!",
            ));
        }
        self.set_password(
            caller.tenant_id,
            caller.user_id,
            new,
            PasswordChange::Change,
        )
        .await
    }

    /// Sets the first password from an activation token and logs the user in.
    pub async fn activate(&self, token: &str, password_text: &str) -> ServiceResult<JwtPair> {
        let (user, creds) = self.user_by_token(token)?;
        let hash = tokens::hash_token(token);
        if creds.activation.as_ref().is_none_or(|p| p.hash != hash) {
            return Err(ServiceError::not_found());
        }
        if creds.is_activated() {
            return Err(ServiceError::invalid("User credentials already activated"));
        }
        if creds
            .activation
            .as_ref()
            .is_some_and(|p| p.expires_at <= now_ms())
        {
            return Err(ServiceError::invalid("Activation token expired"));
        }
        self.set_password(
            user.tenant_id,
            user.id,
            password_text,
            PasswordChange::Activate(hash),
        )
        .await
    }

    /// For the activation page: is this token usable? `Ok(false)` when expired.
    pub fn check_activation_token(&self, token: &str) -> ServiceResult<bool> {
        let (_, creds) = self.user_by_token(token).map_err(|e| match e {
            ServiceError::NotFound(_) => {
                ServiceError::Conflict("Activation token is not valid".into())
            }
            other => other,
        })?;
        let hash = tokens::hash_token(token);
        match &creds.activation {
            Some(p) if p.hash == hash && !creds.is_activated() => Ok(p.expires_at > now_ms()),
            _ => Err(ServiceError::Conflict(
                "Activation token is not valid".into(),
            )),
        }
    }

    /// Mails a reset link if the address belongs to an active user; answers
    /// the same either way so that addresses cannot be probed.
    pub async fn request_password_reset(&self, email: &str, base_url: &str) -> ServiceResult<()> {
        self.mail_configured()?;
        let email = email.trim().to_lowercase();
        let snapshot = self.store.snapshot()?;
        let Some(user) = users::find_by_email(&*snapshot, &email)? else {
            return Ok(());
        };
        drop(snapshot);
        let ttl = self.settings.security.reset_ttl_hours;
        let target = user.clone();
        let raw = self
            .write(move |view| {
                let old = users::credentials(view, target.id)?.unwrap_or_default();
                if !old.is_activated() || !old.enabled {
                    return Ok((None, Changes::new()));
                }
                let (raw, pending) = pending_token(ttl);
                let creds = Credentials {
                    reset: Some(pending),
                    ..old.clone()
                };
                let mut changes = Changes::new();
                users::put_credentials(&mut changes, &target, Some(&old), &creds);
                Ok((Some(raw), changes))
            })
            .await?;
        if let Some(raw) = raw {
            let link = format!(
                "{}/api/noauth/resetPassword?resetToken={raw}",
                base_url.trim_end_matches('/')
            );
            if let Err(e) = self.send_reset_mail(&user.email, &link).await {
                tracing::warn!(error = %e, user = %user.id, "password reset mail failed");
            }
        }
        Ok(())
    }

    /// Sets a new password from a reset token; older tokens are revoked.
    pub async fn reset_password(&self, token: &str, password_text: &str) -> ServiceResult<JwtPair> {
        let (user, creds) = self.user_by_token(token)?;
        let hash = tokens::hash_token(token);
        match &creds.reset {
            Some(p) if p.hash == hash && p.expires_at > now_ms() => {}
            Some(p) if p.hash == hash => {
                return Err(ServiceError::invalid("Password reset token expired"));
            }
            _ => return Err(ServiceError::not_found()),
        }
        self.set_password(
            user.tenant_id,
            user.id,
            password_text,
            PasswordChange::Reset(hash),
        )
        .await
    }

    fn user_by_token(&self, token: &str) -> ServiceResult<(User, Credentials)> {
        if token.is_empty() || token.len() > 128 {
            return Err(ServiceError::not_found());
        }
        let snapshot = self.store.snapshot()?;
        let user = users::by_token_hash(&*snapshot, &tokens::hash_token(token))?
            .ok_or_else(ServiceError::not_found)?;
        let creds = users::credentials(&*snapshot, user.id)?.unwrap_or_default();
        Ok((user, creds))
    }

    /// Checks the policy, hashes, and stores the new password in one write
    /// that re-checks the token is still the one presented.
    async fn set_password(
        &self,
        tenant: TenantId,
        id: UserId,
        new: &str,
        change: PasswordChange,
    ) -> ServiceResult<JwtPair> {
        self.settings
            .security
            .password_policy
            .check(new)
            .map_err(ServiceError::Invalid)?;
        let pw = new.to_owned();
        let hash = self
            .hashing(move || password::hash(&pw))
            .await?
            .map_err(ServiceError::Internal)?;
        let (user, generation) = self
            .write(move |view| {
                let user = users::get(view, tenant, id)?.ok_or_else(ServiceError::not_found)?;
                let old = users::credentials(view, id)?.unwrap_or_default();
                let mut creds = old.clone();
                match &change {
                    PasswordChange::Activate(h) => {
                        if old.is_activated()
                            || old.activation.as_ref().is_none_or(|p| &p.hash != h)
                        {
                            return Err(ServiceError::invalid(
                                "User credentials already activated",
                            ));
                        }
                    }
                    PasswordChange::Reset(h) => {
                        if old.reset.as_ref().is_none_or(|p| &p.hash != h) {
                            return Err(ServiceError::not_found());
                        }
                        creds.reset = None;
                        creds.generation += 1;
                        creds.failed_logins = 0;
                        creds.locked_until = None;
                    }
                    PasswordChange::Change => creds.generation += 1,
                }
                creds.password_hash = Some(hash);
                let mut changes = Changes::new();
                users::put_credentials(&mut changes, &user, Some(&old), &creds);
                let entity = Some((user.id.entity_id(), user.email.as_str()));
                stage_record(
                    &mut changes,
                    &actor_of(&user),
                    user.customer_id,
                    entity,
                    ActionType::CredentialsUpdated,
                    json!({}),
                );
                let generation = creds.generation;
                Ok(((user, generation), changes))
            })
            .await?;
        Ok(self.jwt.issue(&user, generation, Self::now_s()))
    }
}

/// The user behind a user's token and its credentials' generation: a
/// deleted, disabled or locked user, or a revoked token, is refused.
fn user_of(view: &dyn KvRead, claims: &Claims) -> ServiceResult<(User, u64)> {
    let tenant = TenantId(claims.tenant_id.unwrap_or(NULL_UUID));
    let user = users::get(view, tenant, UserId(claims.user_id))?
        .ok_or_else(ServiceError::authentication_failed)?;
    let creds = users::credentials(view, user.id)?.unwrap_or_default();
    if !creds.enabled || !creds.is_activated() || creds.generation != claims.generation {
        return Err(ServiceError::authentication_failed());
    }
    if is_locked(&creds, now_ms()) {
        return Err(ServiceError::unauthorized(LOCKED));
    }
    Ok((user, creds.generation))
}

/// The public customer behind a public user's token: it must still exist
/// and be public, and the token must name it as its subject.
fn public_customer_of(view: &dyn KvRead, claims: &Claims) -> ServiceResult<Customer> {
    let (Some(tenant), Some(customer)) = (claims.tenant_id, claims.customer_id) else {
        return Err(ServiceError::authentication_failed());
    };
    if claims.user_id != NULL_UUID || claims.sub != customer.to_string() {
        return Err(ServiceError::authentication_failed());
    }
    public_customer(view, TenantId(tenant), CustomerId(customer))?
        .ok_or_else(ServiceError::authentication_failed)
}

/// What ThingsBoard answers a public id that names no public customer
/// (its `BadCredentialsException` / `UsernameNotFoundException`).
const INVALID_PUBLIC_ID: &str = "Invalid username or password";

/// Customer `id` of `tenant`, if it is there and public: the only kind a
/// public user may stand for.
fn public_customer(
    view: &dyn KvRead,
    tenant: TenantId,
    id: CustomerId,
) -> ServiceResult<Option<Customer>> {
    Ok(customers::get(view, tenant, id)?.filter(Customer::is_public))
}

/// The user-like profile of a public user (ThingsBoard's virtual user).
fn public_user(caller: &Caller) -> User {
    User {
        id: caller.user_id,
        created_time: 0,
        tenant_id: caller.tenant_id,
        customer_id: caller.customer_id,
        email: caller.email.clone(),
        name: caller.email.clone(),
        authority: Authority::CustomerUser,
        first_name: Some(PUBLIC_NAME.to_owned()),
        last_name: Some(PUBLIC_NAME.to_owned()),
        phone: None,
        additional_info: Some(json!({ "isPublic": true })),
        version: 0,
    }
}

enum PasswordChange {
    /// Activation with the token of this hash.
    Activate(String),
    /// Reset with the token of this hash.
    Reset(String),
    /// The user changed its own password.
    Change,
}
