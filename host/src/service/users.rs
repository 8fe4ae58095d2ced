//! Users: tenant administrators and customer users, their activation links
//! and enabled state.

use serde_json::json;

use crate::auth::Caller;
use crate::auth::permissions::{Operation, Resource, Target, require};
use crate::auth::tokens;
use crate::domain::audit::ActionType;
use crate::domain::entity_group::GroupType;
use crate::domain::ids::{CustomerId, TenantId, UserId, now_ms};
use crate::domain::page::{PageData, PageLink};
use crate::domain::user::{Authority, Credentials, PendingToken, User, UserInput};
use crate::store::{Changes, KvRead, customers, entity_groups, tenants, users};

use super::audit::{Actor, stage_record};
use super::group_permissions::rights::tenant_administrator_ids;
use super::{App, ServiceError, ServiceResult};

pub const USER_SORT_PROPERTIES: [&str; 4] = ["createdTime", "firstName", "lastName", "email"];

/// Whether to mail the activation link of a new user, and from which base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActivationMail {
    Send { base_url: String },
    DontSend,
}

fn target(u: &User) -> Target {
    Target::user(u.tenant_id, u.customer_id, u.id, u.authority).about(u.id.entity_id())
}

pub(super) fn check(caller: &Caller, op: Operation, u: &User) -> ServiceResult<()> {
    Ok(require(caller, Resource::User, op, &target(u))?)
}

/// Finds a user the caller may address: the system administrator looks
/// across tenants, everyone else only inside their own.
pub(super) fn find(view: &dyn KvRead, caller: &Caller, id: UserId) -> ServiceResult<User> {
    let user = if caller.authority == Authority::SysAdmin {
        users::get_any(view, id)?
    } else {
        users::get(view, caller.tenant_id, id)?
    };
    user.ok_or_else(ServiceError::not_found)
}

pub fn activation_link(base_url: &str, token: &str) -> String {
    format!(
        "{}/api/noauth/activate?activateToken={token}",
        base_url.trim_end_matches('/')
    )
}

/// A fresh pending token valid for `hours`; returns the raw token to show once.
pub(super) fn pending_token(hours: i64) -> (String, PendingToken) {
    let raw = tokens::new_token();
    let pending = PendingToken {
        hash: tokens::hash_token(&raw),
        expires_at: now_ms() + hours * 3_600_000,
    };
    (raw, pending)
}

/// May `caller` `op` `u`'s login (enable it, issue activation links)?
pub(super) fn check_credentials(caller: &Caller, op: Operation, u: &User) -> ServiceResult<()> {
    Ok(require(caller, Resource::UserCredentials, op, &target(u))?)
}

/// Filters by the search (on the e-mail), sorts and pages users.
pub(super) fn page_users(mut all: Vec<User>, link: &PageLink) -> PageData<User> {
    all.retain(|u| link.matches(&u.email));
    let lower = |s: &Option<String>| s.as_deref().unwrap_or("").to_lowercase();
    match link.sort_property.as_deref() {
        Some("firstName") => PageData::sorted_by_key(all, link, |u| (lower(&u.first_name), u.id)),
        Some("lastName") => PageData::sorted_by_key(all, link, |u| (lower(&u.last_name), u.id)),
        Some("email") => PageData::sorted_by_key(all, link, |u| (u.email.clone(), u.id)),
        _ => PageData::sorted_by_key(all, link, |u| (u.created_time, u.id)),
    }
}

impl App {
    /// Creates (no `id`) or updates a user. A new user gets a pending
    /// activation; with [`ActivationMail::Send`] the link is mailed, and if
    /// that fails the user is removed again.
    pub async fn save_user(
        &self,
        caller: &Caller,
        input: UserInput,
        mail: ActivationMail,
    ) -> ServiceResult<User> {
        let email = input.validate()?;
        if input.id.is_none() && matches!(mail, ActivationMail::Send { .. }) {
            // Refused before anything is stored, with the way around it.
            self.mail_configured().map_err(|_| {
                ServiceError::invalid(
                    "Mail server is not configured, so the activation mail cannot be sent: \
                     create the user with sendActivationMail=false and share its activation link",
                )
            })?;
        }
        let creator = caller.clone();
        let caller = caller.clone();
        let ttl = self.settings.security.activation_ttl_hours;
        let (user, raw_token) = self
            .write(move |view| {
                let mut changes = Changes::new();
                let actor = Actor::from(&caller);
                let (user, raw, action) = match input.id {
                    None => {
                        let groups = input.entity_groups.clone();
                        let (user, raw, creds) = new_user(view, &caller, email, input, ttl)?;
                        users::put(&mut changes, None, &user);
                        super::entity_groups::stage_new_user_groups(
                            view,
                            &mut changes,
                            &caller,
                            &user,
                            &groups,
                        )?;
                        users::put_credentials(&mut changes, &user, None, &creds);
                        (user, Some(raw), ActionType::Added)
                    }
                    Some(id) => {
                        let old = find(view, &caller, id)?;
                        check(&caller, Operation::Write, &old)?;
                        if input.version.is_some_and(|v| v != old.version) {
                            return Err(ServiceError::VersionConflict(
                                "User was already changed by someone else".into(),
                            ));
                        }
                        if email != old.email && users::email_taken(view, &email)? {
                            return Err(ServiceError::invalid(format!(
                                "User with email '{email}' already present in database!"
                            )));
                        }
                        let user = old.updated(email, input);
                        users::put(&mut changes, Some(&old), &user);
                        (user, None, ActionType::Updated)
                    }
                };
                stage_record(
                    &mut changes,
                    &actor,
                    user.customer_id,
                    Some((user.id.entity_id(), &user.email)),
                    action,
                    json!({ "entity": user }),
                );
                Ok(((user, raw), changes))
            })
            .await?;
        if let (Some(raw), ActivationMail::Send { base_url }) = (raw_token, mail) {
            let link = activation_link(&base_url, &raw);
            if let Err(e) = self.send_activation_mail(&user.email, &link).await {
                tracing::warn!(error = %e, user = %user.id, "activation mail failed; removing the new user");
                // Undone in the creator's name (audited as a deletion), past
                // the rules that would refuse e.g. a customer user's removal.
                let _ = self.remove_user(&creator, user.id, false).await;
                return Err(ServiceError::Mail(
                    "Couldn't send user activation email".into(),
                ));
            }
        }
        Ok(user)
    }

    /// One user the caller may read.
    pub async fn user(&self, caller: &Caller, id: UserId) -> ServiceResult<User> {
        let snapshot = self.store.snapshot()?;
        let user = find(&*snapshot, caller, id)?;
        check(caller, Operation::Read, &user)?;
        Ok(user)
    }

    /// Deletes a user (administrators only); the last tenant administrator
    /// stays, and no one deletes itself (it would lock itself out midway,
    /// and a customer administrator could leave its customer unmanaged).
    pub async fn delete_user(&self, caller: &Caller, id: UserId) -> ServiceResult<()> {
        self.remove_user(caller, id, true).await
    }

    async fn remove_user(&self, caller: &Caller, id: UserId, enforce: bool) -> ServiceResult<()> {
        let caller = caller.clone();
        self.write(move |view| {
            let user = find(view, &caller, id)?;
            if enforce {
                check(&caller, Operation::Delete, &user)?;
                if user.authority == Authority::TenantAdmin
                    && tenant_administrator_ids(view, user.tenant_id)? == [user.id.0]
                {
                    return Err(ServiceError::invalid(
                        "At least one tenant administrator must remain!",
                    ));
                }
                if user.id == caller.user_id {
                    return Err(ServiceError::invalid("A user can't delete itself!"));
                }
            }
            let mut changes = Changes::new();
            let actor = Actor::from(&caller);
            stage_delete_user(view, &mut changes, &actor, &user)?;
            stage_record(
                &mut changes,
                &actor,
                user.customer_id,
                Some((user.id.entity_id(), &user.email)),
                ActionType::Deleted,
                json!({ "entityId": user.id.entity_id() }),
            );
            Ok(((), changes))
        })
        .await
    }

    /// Enables or disables a user's login; disabling revokes its tokens.
    pub async fn set_user_enabled(
        &self,
        caller: &Caller,
        id: UserId,
        enabled: bool,
    ) -> ServiceResult<()> {
        let caller = caller.clone();
        self.write(move |view| {
            let user = find(view, &caller, id)?;
            check_credentials(&caller, Operation::Write, &user)?;
            let old = users::credentials(view, user.id)?.unwrap_or_default();
            let mut creds = old.clone();
            creds.enabled = enabled;
            if enabled {
                creds.failed_logins = 0;
                creds.locked_until = None;
            } else {
                creds.generation += 1;
            }
            let mut changes = Changes::new();
            users::put_credentials(&mut changes, &user, Some(&old), &creds);
            stage_record(
                &mut changes,
                &Actor::from(&caller),
                user.customer_id,
                Some((user.id.entity_id(), &user.email)),
                ActionType::CredentialsUpdated,
                json!({ "userCredentialsEnabled": enabled }),
            );
            Ok(((), changes))
        })
        .await
    }

    /// A fresh activation link for a user who has not set a password yet.
    /// Each call replaces the previous link (which stops working) and
    /// restarts its lifetime, so an expired link is mended by asking again.
    pub async fn activation_link(
        &self,
        caller: &Caller,
        id: UserId,
        base_url: &str,
    ) -> ServiceResult<(String, i64)> {
        let caller = caller.clone();
        let ttl = self.settings.security.activation_ttl_hours;
        let base_url = base_url.to_owned();
        self.write(move |view| {
            let user = find(view, &caller, id)?;
            check_credentials(&caller, Operation::Write, &user)?;
            let old = users::credentials(view, user.id)?.unwrap_or_default();
            if old.is_activated() {
                return Err(ServiceError::invalid("User is already activated!"));
            }
            let (raw, pending) = pending_token(ttl);
            let ttl_ms = pending.expires_at - now_ms();
            let creds = Credentials {
                activation: Some(pending),
                ..old.clone()
            };
            let mut changes = Changes::new();
            users::put_credentials(&mut changes, &user, Some(&old), &creds);
            Ok(((activation_link(&base_url, &raw), ttl_ms), changes))
        })
        .await
    }

    /// Users the caller may list: a tenant administrator sees every user of
    /// its tenant, a customer user those of its own customer.
    pub async fn users(&self, caller: &Caller, link: PageLink) -> ServiceResult<PageData<User>> {
        link.check_sort(&USER_SORT_PROPERTIES)?;
        let snapshot = self.store.snapshot()?;
        let caller = caller.clone();
        self.blocking(move || {
            let all = match caller.authority {
                Authority::TenantAdmin => {
                    let mut all = users::of_tenant(&*snapshot, caller.tenant_id)?;
                    // A tenant's user outside "Tenant Administrators" sees
                    // those its roles let it read.
                    all.retain(|u| check(&caller, Operation::Read, u).is_ok());
                    all
                }
                Authority::CustomerUser => {
                    users::of_customer(&*snapshot, caller.tenant_id, caller.customer_id)?
                }
                Authority::SysAdmin => return Err(ServiceError::Forbidden),
            };
            Ok(page_users(all, &link))
        })
        .await
    }

    /// Users of one customer.
    pub async fn customer_users(
        &self,
        caller: &Caller,
        customer: CustomerId,
        link: PageLink,
    ) -> ServiceResult<PageData<User>> {
        link.check_sort(&USER_SORT_PROPERTIES)?;
        let snapshot = self.store.snapshot()?;
        let c = customers::get(&*snapshot, caller.tenant_id, customer)?
            .ok_or_else(ServiceError::not_found)?;
        let users = Target::users_of(c.tenant_id, c.id, Authority::CustomerUser);
        require(caller, Resource::User, Operation::Read, &users)?;
        let tenant = caller.tenant_id;
        self.blocking(move || {
            Ok(page_users(
                users::of_customer(&*snapshot, tenant, customer)?,
                &link,
            ))
        })
        .await
    }

    /// Every customer user of the caller's tenant, whatever its customer
    /// (ThingsBoard PE's `GET /api/customer/users`): a tenant
    /// administrator's list, as the users of all customers at once.
    pub async fn all_customer_users(
        &self,
        caller: &Caller,
        link: PageLink,
    ) -> ServiceResult<PageData<User>> {
        let tenant = caller.tenant_id;
        let all_customers = Target::users_of(tenant, CustomerId::NULL, Authority::CustomerUser);
        require(caller, Resource::User, Operation::Read, &all_customers)?;
        link.check_sort(&USER_SORT_PROPERTIES)?;
        let snapshot = self.store.snapshot()?;
        self.blocking(move || {
            let mut all = users::of_tenant(&*snapshot, tenant)?;
            all.retain(|u| u.authority == Authority::CustomerUser);
            Ok(page_users(all, &link))
        })
        .await
    }

    /// Administrators of one tenant (system administrator only).
    pub async fn tenant_admins(
        &self,
        caller: &Caller,
        tenant: TenantId,
        link: PageLink,
    ) -> ServiceResult<PageData<User>> {
        let admins = Target::users_of(tenant, CustomerId::NULL, Authority::TenantAdmin);
        require(caller, Resource::User, Operation::Read, &admins)?;
        link.check_sort(&USER_SORT_PROPERTIES)?;
        let snapshot = self.store.snapshot()?;
        if tenants::get(&*snapshot, tenant)?.is_none() {
            return Err(ServiceError::not_found());
        }
        self.blocking(move || {
            Ok(page_users(
                users::of_customer(&*snapshot, tenant, CustomerId::NULL)?,
                &link,
            ))
        })
        .await
    }
}

/// Deletes a user with its credentials, its group memberships and its
/// alarm assignments (its caller records why).
pub(super) fn stage_delete_user(
    view: &dyn KvRead,
    changes: &mut Changes,
    actor: &Actor,
    user: &User,
) -> ServiceResult<()> {
    let creds = users::credentials(view, user.id)?;
    users::delete(changes, user, creds.as_ref());
    entity_groups::stage_leave_all(view, changes, user.tenant_id, user.id.0)?;
    super::alarms::stage_unassign_user(view, changes, actor, user.tenant_id, user.id)
}

/// Checks the rules for a new user and builds it with a pending activation.
fn new_user(
    view: &dyn KvRead,
    caller: &Caller,
    email: String,
    input: UserInput,
    ttl_hours: i64,
) -> ServiceResult<(User, String, Credentials)> {
    let authority = input
        .authority
        .ok_or_else(|| ServiceError::invalid("User authority should be specified!"))?;
    let (tenant, customer) = match authority {
        // Refused by the rules: nobody creates system administrators.
        Authority::SysAdmin => (TenantId::NULL, CustomerId::NULL),
        Authority::TenantAdmin => match caller.authority {
            Authority::SysAdmin => {
                let tenant = input.tenant_id.ok_or_else(|| {
                    ServiceError::invalid("Tenant administrator should be assigned to tenant!")
                })?;
                (tenant, CustomerId::NULL)
            }
            _ => (caller.tenant_id, CustomerId::NULL),
        },
        Authority::CustomerUser => {
            // Created into a user group and given no customer: the group's.
            let named = input.customer_id.filter(|c| !c.is_null());
            let from_group = match named {
                None => super::entity_groups::customer_of_first_group(
                    view,
                    caller,
                    &input.entity_groups,
                    GroupType::User,
                )?,
                Some(_) => None,
            };
            let customer = named.or(from_group).ok_or_else(|| {
                ServiceError::invalid("Customer user should be assigned to customer!")
            })?;
            (caller.tenant_id, customer)
        }
    };
    let group = Target::users_of(tenant, customer, authority);
    require(caller, Resource::User, Operation::Create, &group)?;
    // Looked up after the rights check: a refused caller learns nothing of what exists.
    if customer.is_null() {
        if tenants::get(view, tenant)?.is_none() {
            return Err(ServiceError::invalid(
                "User is referencing non-existent tenant!",
            ));
        }
    } else if customers::get(view, tenant, customer)?.is_none() {
        return Err(ServiceError::invalid(
            "User is referencing non-existent customer!",
        ));
    }
    if users::email_taken(view, &email)? {
        return Err(ServiceError::invalid(format!(
            "User with email '{email}' already present in database!"
        )));
    }
    let user = User::create(tenant, customer, authority, email, input, now_ms());
    let (raw, pending) = pending_token(ttl_hours);
    let creds = Credentials {
        enabled: true,
        activation: Some(pending),
        ..Default::default()
    };
    Ok((user, raw, creds))
}
