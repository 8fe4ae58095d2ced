//! Brings a store written before entity groups existed up to date, once:
//! every tenant and customer gets its "All" groups and default user
//! groups, and every user that is in no user group joins its owner's
//! default one. A fresh installation goes through here too, right after
//! its first start created the tenant and its administrator.

use crate::domain::entity_group::GroupType;
use crate::domain::ids::{now_ms, owner_of};
use crate::store::{self, Changes, KvRead, Store, customers, entity_groups, meta, tenants, users};

use super::super::{ServiceError, ServiceResult};
use super::{default_user_group, stage_defaults};

/// Set once every owner has its groups and every user a user group.
const ENTITY_GROUPS: &str = "entity_groups_v1";

/// Two commits: the groups first, so that placing the users reads them
/// from the store. Both are idempotent, so a stop between them only means
/// the next start does the second.
pub async fn ensure(store: &dyn Store) -> ServiceResult<()> {
    if meta::get(&*store.snapshot()?, ENTITY_GROUPS)?.is_some() {
        return Ok(());
    }
    store::write::<_, ServiceError, _>(store, |view| {
        let mut changes = Changes::new();
        stage_missing_groups(view, &mut changes)?;
        Ok(((), changes))
    })
    .await?;
    store::write::<_, ServiceError, _>(store, |view| {
        let mut changes = Changes::new();
        stage_groupless_users(view, &mut changes)?;
        meta::put(&mut changes, ENTITY_GROUPS, now_ms().to_be_bytes().to_vec());
        Ok(((), changes))
    })
    .await
}

/// Every tenant and customer without its user groups gets its defaults.
fn stage_missing_groups(view: &dyn KvRead, changes: &mut Changes) -> ServiceResult<()> {
    let now = now_ms();
    for tenant in tenants::all(view)? {
        let t = tenant.id;
        let mut owners = vec![t.entity_id()];
        customers::for_each_of(view, t, |c| owners.push(c.id.entity_id()))?;
        for owner in owners {
            if entity_groups::of_owner(view, t, owner.id, GroupType::User)?.is_empty() {
                stage_defaults(changes, t, owner, now);
            }
        }
    }
    Ok(())
}

/// Every user in no group joins its owner's default user group.
fn stage_groupless_users(view: &dyn KvRead, changes: &mut Changes) -> ServiceResult<()> {
    for tenant in tenants::all(view)? {
        let t = tenant.id;
        for user in users::of_tenant(view, t)? {
            if !entity_groups::memberships(view, t, user.id.0)?.is_empty() {
                continue;
            }
            let owner = owner_of(t, user.customer_id);
            let group = default_user_group(view, t, owner)?;
            entity_groups::add_member(changes, t, group, user.id.0);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::domain::customer::CustomerInput;
    use crate::domain::entity_group::{CUSTOMER_USERS, GroupType, TENANT_ADMINISTRATORS};
    use crate::domain::user::{Authority, UserInput};
    use crate::service::{ActivationMail, NameConflict};
    use crate::store::Table;

    const GROUP_TABLES: [Table; 4] = [
        Table::EntityGroups,
        Table::EntityGroupNames,
        Table::EntityGroupMembers,
        Table::EntityMemberships,
    ];

    /// Takes the store back to before groups: no group rows, no marker.
    async fn forget_groups(store: &dyn Store) {
        store::write::<_, ServiceError, _>(store, |view| {
            let mut changes = Changes::new();
            for table in GROUP_TABLES {
                view.scan(table, &[], None, false, &mut |k, _| {
                    changes.delete(table, k.to_vec());
                    Ok(true)
                })?;
            }
            changes.delete(Table::Meta, ENTITY_GROUPS.as_bytes().to_vec());
            Ok(((), changes))
        })
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn a_store_from_before_groups_gets_them_once() {
        let (app, admin) = crate::service::tests::app_with(|_| {}).await;
        let customer = app
            .save_customer(
                &admin,
                CustomerInput {
                    title: Some("A".into()),
                    ..Default::default()
                },
                NameConflict::Fail,
            )
            .await
            .unwrap();
        let user = app
            .save_user(
                &admin,
                UserInput {
                    email: Some("u@a.io".into()),
                    authority: Some(Authority::CustomerUser),
                    customer_id: Some(customer.id),
                    ..Default::default()
                },
                ActivationMail::DontSend,
            )
            .await
            .unwrap();
        let store = Arc::clone(&app.store);
        forget_groups(&*store).await;
        let view = store.snapshot().unwrap();
        assert!(
            entity_groups::of_owner(&*view, admin.tenant_id, customer.id.0, GroupType::User)
                .unwrap()
                .is_empty()
        );

        ensure(&*store).await.unwrap();
        let view = store.snapshot().unwrap();
        let t = admin.tenant_id;
        let group = |owner: uuid::Uuid, name: &str| {
            entity_groups::id_by_name(&*view, t, owner, GroupType::User, name)
                .unwrap()
                .unwrap_or_else(|| panic!("no group {name}"))
        };
        let admins = group(t.0, TENANT_ADMINISTRATORS);
        let readers = group(customer.id.0, CUSTOMER_USERS);
        assert!(entity_groups::is_member(&*view, t, admins, admin.user_id.0).unwrap());
        assert!(entity_groups::is_member(&*view, t, readers, user.id.0).unwrap());
        for gt in GroupType::ALL {
            assert!(
                entity_groups::id_by_name(&*view, t, customer.id.0, gt, "All")
                    .unwrap()
                    .is_some()
            );
        }

        // Once done, never again: a second run finds the marker and adds
        // nothing, even where groups went missing since.
        forget_groups_of(&*store, customer.id.0).await;
        ensure(&*store).await.unwrap();
        let view = store.snapshot().unwrap();
        assert!(
            entity_groups::of_owner(&*view, t, customer.id.0, GroupType::User)
                .unwrap()
                .is_empty()
        );
    }

    /// Deletes one owner's groups, leaving the marker.
    async fn forget_groups_of(store: &dyn Store, owner: uuid::Uuid) {
        store::write::<_, ServiceError, _>(store, move |view| {
            let mut changes = Changes::new();
            let t = tenants::all(view)?[0].id;
            entity_groups::stage_delete_of_owner(view, &mut changes, t, owner)?;
            Ok(((), changes))
        })
        .await
        .unwrap();
    }
}
