//! Brings a store written before roles were granted up to date, once:
//! every tenant gets its default roles and every customer's default user
//! groups the grants of them. Runs after the entity groups' upgrade, which
//! gave every customer its user groups; a fresh installation goes through
//! here too, right after its first start.

use crate::domain::ids::now_ms;
use crate::store::{self, Changes, KvRead, Store, customers, group_permissions, meta, tenants};

use super::super::{ServiceError, ServiceResult};
use super::defaults::{customer_user_groups, stage_customer_grants, tenant_roles};

/// Set once every tenant has its roles and every customer its grants.
const GROUP_PERMISSIONS: &str = "group_permissions_v1";

/// Two idempotent commits, the roles first so that granting them finds
/// them in the store.
pub async fn ensure(store: &dyn Store) -> ServiceResult<()> {
    if meta::get(&*store.snapshot()?, GROUP_PERMISSIONS)?.is_some() {
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
    store::write::<_, ServiceError, _>(store, |view| {
        let mut changes = Changes::new();
        stage_missing_grants(view, &mut changes)?;
        meta::put(
            &mut changes,
            GROUP_PERMISSIONS,
            now_ms().to_be_bytes().to_vec(),
        );
        Ok(((), changes))
    })
    .await
}

/// Every customer's default user groups that hold no role get the default.
fn stage_missing_grants(view: &dyn KvRead, changes: &mut Changes) -> ServiceResult<()> {
    for tenant in tenants::all(view)? {
        let t = tenant.id;
        let mut ids = Vec::new();
        customers::for_each_of(view, t, |c| ids.push(c.id))?;
        for customer in ids {
            let mut bare = Vec::new();
            for (g, name) in customer_user_groups(view, t, customer)? {
                if group_permissions::of_user_group(view, t, g.0)?.is_empty() {
                    bare.push((g, name));
                }
            }
            stage_customer_grants(view, changes, t, &bare, now_ms())?;
        }
    }
    Ok(())
}
