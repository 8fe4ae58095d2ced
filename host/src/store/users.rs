//! `users` (tenant ‖ id -> User) with `user_emails` (e-mail -> tenant ‖ id,
//! unique installation-wide) and `users_by_customer` (tenant ‖ customer ‖ id);
//! `credentials` (user id -> Credentials) and `user_tokens` (token hash ->
//! tenant ‖ user id) for activation and password reset.

use crate::domain::ids::{CustomerId, TenantId, UserId};
use crate::domain::user::{Credentials, User};

use uuid::Uuid;

use super::codec::{Key, decode, encode, ids_in_index, rows_with_prefix, uuid_at};
use super::{Changes, KvRead, StoreResult, Table};

fn key(tenant: TenantId, id: UserId) -> Vec<u8> {
    Key::new().id(tenant.0).id(id.0).build()
}

fn by_customer_key(u: &User) -> Vec<u8> {
    Key::new()
        .id(u.tenant_id.0)
        .id(u.customer_id.0)
        .id(u.id.0)
        .build()
}

fn credentials_key(id: UserId) -> Vec<u8> {
    Key::new().id(id.0).build()
}

pub fn get(r: &dyn KvRead, tenant: TenantId, id: UserId) -> StoreResult<Option<User>> {
    r.get(Table::Users, &key(tenant, id))?
        .map(|b| decode(Table::Users, &b))
        .transpose()
}

/// The user holding `email` (already lower-cased), anywhere in the installation.
pub fn find_by_email(r: &dyn KvRead, email: &str) -> StoreResult<Option<User>> {
    match r.get(Table::UserEmails, email.as_bytes())? {
        Some(v) => match (uuid_at(&v, 0), uuid_at(&v, 16)) {
            (Some(t), Some(u)) => get(r, TenantId(t), UserId(u)),
            _ => Ok(None),
        },
        None => Ok(None),
    }
}

pub fn email_taken(r: &dyn KvRead, email: &str) -> StoreResult<bool> {
    Ok(r.get(Table::UserEmails, email.as_bytes())?.is_some())
}

pub fn put(changes: &mut Changes, old: Option<&User>, new: &User) {
    if let Some(old) = old {
        if old.email != new.email {
            changes.delete(Table::UserEmails, old.email.as_bytes().to_vec());
        }
        // A user moved to another customer (change of owner).
        if old.customer_id != new.customer_id {
            changes.delete(Table::UsersByCustomer, by_customer_key(old));
        }
    }
    changes.put(Table::Users, key(new.tenant_id, new.id), encode(new));
    changes.put(
        Table::UserEmails,
        new.email.as_bytes().to_vec(),
        key(new.tenant_id, new.id),
    );
    changes.put(Table::UsersByCustomer, by_customer_key(new), Vec::new());
    changes.put(
        Table::UserTenants,
        credentials_key(new.id),
        new.tenant_id.0.as_bytes().to_vec(),
    );
}

/// A user found by id alone, whatever its tenant.
pub fn get_any(r: &dyn KvRead, id: UserId) -> StoreResult<Option<User>> {
    match r.get(Table::UserTenants, &credentials_key(id))? {
        Some(v) => match uuid_at(&v, 0) {
            Some(t) => get(r, TenantId(t), id),
            None => Ok(None),
        },
        None => Ok(None),
    }
}

/// Removes the user, its indexes, credentials and pending tokens.
pub fn delete(changes: &mut Changes, u: &User, creds: Option<&Credentials>) {
    changes.delete(Table::Users, key(u.tenant_id, u.id));
    changes.delete(Table::UserEmails, u.email.as_bytes().to_vec());
    changes.delete(Table::UsersByCustomer, by_customer_key(u));
    changes.delete(Table::Credentials, credentials_key(u.id));
    changes.delete(Table::UserTenants, credentials_key(u.id));
    if let Some(creds) = creds {
        for pending in [&creds.activation, &creds.reset].into_iter().flatten() {
            changes.delete(Table::UserTokens, pending.hash.as_bytes().to_vec());
        }
    }
}

/// Users of one customer (the null customer: the tenant's administrators).
pub fn of_customer(
    r: &dyn KvRead,
    tenant: TenantId,
    customer: CustomerId,
) -> StoreResult<Vec<User>> {
    let mut users = Vec::new();
    for id in ids_of_customer(r, tenant, customer)? {
        users.extend(get(r, tenant, UserId(id))?);
    }
    Ok(users)
}

/// The ids of a customer's users (the null customer: the tenant's
/// administrators), without reading their rows.
pub fn ids_of_customer(
    r: &dyn KvRead,
    tenant: TenantId,
    customer: CustomerId,
) -> StoreResult<Vec<Uuid>> {
    let prefix = Key::new().id(tenant.0).id(customer.0).build();
    ids_in_index(r, Table::UsersByCustomer, &prefix, 32)
}

/// Every user of a tenant.
pub fn of_tenant(r: &dyn KvRead, tenant: TenantId) -> StoreResult<Vec<User>> {
    rows_with_prefix(r, Table::Users, tenant.0.as_bytes())
}

pub fn credentials(r: &dyn KvRead, id: UserId) -> StoreResult<Option<Credentials>> {
    r.get(Table::Credentials, &credentials_key(id))?
        .map(|b| decode(Table::Credentials, &b))
        .transpose()
}

/// Writes credentials and keeps the token index in step with their pending tokens.
pub fn put_credentials(
    changes: &mut Changes,
    user: &User,
    old: Option<&Credentials>,
    new: &Credentials,
) {
    if let Some(old) = old {
        for pending in [&old.activation, &old.reset].into_iter().flatten() {
            let still = [&new.activation, &new.reset]
                .into_iter()
                .flatten()
                .any(|p| p.hash == pending.hash);
            if !still {
                changes.delete(Table::UserTokens, pending.hash.as_bytes().to_vec());
            }
        }
    }
    for pending in [&new.activation, &new.reset].into_iter().flatten() {
        changes.put(
            Table::UserTokens,
            pending.hash.as_bytes().to_vec(),
            key(user.tenant_id, user.id),
        );
    }
    changes.put(Table::Credentials, credentials_key(user.id), encode(new));
}

/// The user a pending activation or reset token (by its hash) belongs to.
pub fn by_token_hash(r: &dyn KvRead, hash: &str) -> StoreResult<Option<User>> {
    match r.get(Table::UserTokens, hash.as_bytes())? {
        Some(v) => match (uuid_at(&v, 0), uuid_at(&v, 16)) {
            (Some(t), Some(u)) => get(r, TenantId(t), UserId(u)),
            _ => Ok(None),
        },
        None => Ok(None),
    }
}
