//! Brings a store written before roles were granted up to date, once per
//! step: every tenant gets its default roles, then every customer's default
//! user groups the grants of them (step 1), then every tenant's "Tenant
//! Users" theirs (step 2: before it, tenant users were administrators).
//! Runs after the entity groups' upgrade, which gave every owner its user
//! groups; a fresh installation goes through here too, right after its
//! first start.

use crate::domain::ids::{EntityId, now_ms};
use crate::store::{self, Changes, KvRead, Store, customers, group_permissions, meta, tenants};

use super::super::{ServiceError, ServiceResult};
use super::defaults::{default_user_groups_of, stage_default_grants, tenant_roles};

/// Set once every tenant has its roles and every customer its grants.
const GROUP_PERMISSIONS: &str = "group_permissions_v1";
/// Set once every tenant's "Tenant Users" hold the "Tenant User" role.
const TENANT_USERS: &str = "tenant_user_grants_v1";

/// Idempotent commits, the roles first so that granting them finds them
/// in the store. Each step runs once: a default grant an administrator
/// took away later is not given back.
pub async fn ensure(store: &dyn Store) -> ServiceResult<()> {
    let snapshot = store.snapshot()?;
    let customers_done = meta::get(&*snapshot, GROUP_PERMISSIONS)?.is_some();
    let tenants_done = meta::get(&*snapshot, TENANT_USERS)?.is_some();
    drop(snapshot);
    if customers_done && tenants_done {
        return Ok(());
    }
    store::write::<_, ServiceError, _>(store, |view| {
        let mut changes = Changes::new();
        for tenant in tenants::all(view)? {
            tenant_roles(view, &mut changes, tenant.id, now_ms())?;
        }
        Ok(((), changes))
    })
    .await?;
    for (done, step, owners) in [
        (customers_done, GROUP_PERMISSIONS, Owners::Customers),
        (tenants_done, TENANT_USERS, Owners::Tenants),
    ] {
        if done {
            continue;
        }
        store::write::<_, ServiceError, _>(store, move |view| {
            let mut changes = Changes::new();
            stage_missing_grants(view, &mut changes, owners)?;
            meta::put(&mut changes, step, now_ms().to_be_bytes().to_vec());
            Ok(((), changes))
        })
        .await?;
    }
    Ok(())
}

/// Whose default user groups a step grants to.
#[derive(Clone, Copy)]
enum Owners {
    Customers,
    Tenants,
}

/// The default user groups of `owners` that hold no role get the default.
fn stage_missing_grants(
    view: &dyn KvRead,
    changes: &mut Changes,
    owners: Owners,
) -> ServiceResult<()> {
    for tenant in tenants::all(view)? {
        let t = tenant.id;
        let mut ids: Vec<EntityId> = Vec::new();
        match owners {
            Owners::Customers => customers::for_each_of(view, t, |c| ids.push(c.id.entity_id()))?,
            Owners::Tenants => ids.push(t.entity_id()),
        }
        for owner in ids {
            let mut bare = Vec::new();
            for (g, name) in default_user_groups_of(view, t, owner)? {
                if group_permissions::of_user_group(view, t, g.0)?.is_empty() {
                    bare.push((g, name));
                }
            }
            stage_default_grants(view, changes, t, &bare, now_ms())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::domain::entity_group::{GroupType, TENANT_USERS as TENANT_USERS_GROUP};
    use crate::domain::ids::{EntityGroupId, TenantId};
    use crate::domain::role::TENANT_USER;
    use crate::store::{entity_groups, roles};

    /// The id of `tenant`'s "Tenant Users".
    fn tenant_users(view: &dyn KvRead, tenant: TenantId) -> EntityGroupId {
        entity_groups::id_by_name(view, tenant, tenant.0, GroupType::User, TENANT_USERS_GROUP)
            .unwrap()
            .expect("Tenant Users")
    }

    /// The grants of `tenant`'s "Tenant Users", by role name.
    fn tenant_user_grants(store: &dyn Store, tenant: TenantId) -> Vec<String> {
        let view = store.snapshot().unwrap();
        let group = tenant_users(&*view, tenant);
        group_permissions::of_user_group(&*view, tenant, group.0)
            .unwrap()
            .into_iter()
            .map(|p| roles::get(&*view, tenant, p.role_id).unwrap().unwrap().name)
            .collect()
    }

    /// Takes away the grants of `tenant`'s "Tenant Users", and the marker
    /// of the step that gives them if `forget_step`.
    async fn revoke(store: &dyn Store, tenant: TenantId, forget_step: bool) {
        store::write::<_, ServiceError, _>(store, move |view| {
            let mut changes = Changes::new();
            let group = tenant_users(view, tenant);
            for p in group_permissions::of_user_group(view, tenant, group.0)? {
                group_permissions::delete(&mut changes, &p);
            }
            if forget_step {
                changes.delete(store::Table::Meta, TENANT_USERS.as_bytes().to_vec());
            }
            Ok(((), changes))
        })
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn tenant_users_of_an_older_store_get_their_role_once() {
        let (app, admin) = crate::service::tests::app_with(|_| {}).await;
        let store = Arc::clone(&app.store);
        let t = admin.tenant_id;
        // A new tenant starts with it.
        assert_eq!(tenant_user_grants(&*store, t), [TENANT_USER]);

        // A store from before the step: granted at the next start.
        revoke(&*store, t, true).await;
        assert!(tenant_user_grants(&*store, t).is_empty());
        ensure(&*store).await.unwrap();
        assert_eq!(tenant_user_grants(&*store, t), [TENANT_USER]);

        // Once done, never again: a grant an administrator took away stays
        // away.
        revoke(&*store, t, false).await;
        ensure(&*store).await.unwrap();
        assert!(tenant_user_grants(&*store, t).is_empty());
    }
}
