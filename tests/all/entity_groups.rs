//! Entity groups (ThingsBoard Professional Edition): every owner's "All"
//! groups and default user groups, named groups and their members, and
//! where groups end: at their owner, their tenant and the caller's rights.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use clientele::domain::ids::TenantId;
use clientele::store::{Store, entity_groups};
use clientele_tests::{Client, PASSWORD, TestServer, customer_ref, id};
use uuid::Uuid;

const PAGE: &str = "pageSize=50&page=0";

/// The names of a list of groups.
fn names(groups: &Value) -> BTreeSet<String> {
    groups
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {groups}"))
        .iter()
        .map(|g| g["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// The group named `name` in a list of groups.
fn named<'a>(groups: &'a Value, name: &str) -> &'a Value {
    groups
        .as_array()
        .and_then(|all| all.iter().find(|g| g["name"] == name))
        .unwrap_or_else(|| panic!("no group {name} in {groups}"))
}

/// The `name`s (or `title`s) of a page of members, sorted.
async fn members(client: &Client, group: &str, kind: &str) -> BTreeSet<String> {
    let page = client
        .get_ok(&format!("/api/entityGroup/{group}/{kind}?{PAGE}"))
        .await;
    page["data"]
        .as_array()
        .unwrap_or_else(|| panic!("not a page: {page}"))
        .iter()
        .map(|e| {
            e.get("title")
                .or_else(|| e.get("email"))
                .or_else(|| e.get("name"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

/// The named groups an entity has rows for, read from the store itself:
/// what listings (which skip entities that are gone) can't show.
fn rows_of(server: &TestServer, tenant: &str, entity: &str) -> usize {
    let snapshot = server.store().snapshot().unwrap();
    let tenant = TenantId(Uuid::parse_str(tenant).unwrap());
    entity_groups::memberships(&*snapshot, tenant, Uuid::parse_str(entity).unwrap())
        .unwrap()
        .len()
}

/// The ids of the groups an entity is in.
async fn groups_of(client: &Client, kind: &str, entity: &str) -> BTreeSet<String> {
    let ids = client
        .get_ok(&format!("/api/entityGroups/{kind}/{entity}"))
        .await;
    ids.as_array()
        .unwrap_or_else(|| panic!("not a list: {ids}"))
        .iter()
        .map(|g| {
            assert_eq!(g["entityType"], "ENTITY_GROUP");
            g["id"].as_str().unwrap_or_default().to_owned()
        })
        .collect()
}

#[tokio::test]
async fn every_owner_starts_with_its_all_groups_and_user_groups() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let me = admin.get_ok("/api/auth/user").await;
    let tenant = me["tenantId"]["id"].as_str().unwrap().to_owned();

    for kind in ["CUSTOMER", "DEVICE", "ASSET", "DASHBOARD"] {
        let groups = admin.get_ok(&format!("/api/entityGroups/{kind}")).await;
        assert_eq!(names(&groups), set(&["All"]), "{kind}");
        let all = named(&groups, "All");
        assert_eq!(all["groupAll"], true);
        assert_eq!(all["type"], kind);
        assert_eq!(all["ownerId"]["id"], tenant.as_str());
        assert_eq!(all["ownerIds"].as_array().map(Vec::len), Some(1));
    }
    let user_groups = admin.get_ok("/api/entityGroups/USER").await;
    assert_eq!(
        names(&user_groups),
        set(&["All", "Tenant Administrators", "Tenant Users"])
    );
    // The same, unpaged under `/all`, or as a page.
    let listed = admin.get_ok("/api/entityGroups/USER/all").await;
    assert_eq!(names(&listed), names(&user_groups));
    let page = admin
        .get_ok("/api/entityGroups/USER?pageSize=2&page=0&sortProperty=name&sortOrder=DESC")
        .await;
    assert_eq!(page["totalElements"], 3);
    assert_eq!(page["hasNext"], true);
    assert_eq!(page["data"][0]["name"], "Tenant Users");
    // The first administrator is in the administrators' group (and All).
    let admins = id(named(&user_groups, "Tenant Administrators"));
    let all_users = id(named(&user_groups, "All"));
    assert_eq!(
        groups_of(&admin, "USER", &id(&me)).await,
        set(&[&all_users, &admins])
    );

    // A customer gets its own, and its "All" group lists what it owns.
    let a = id(&admin.create_customer("A").await);
    let b = admin
        .post_ok(
            "/api/customer",
            json!({"title": "B", "parentCustomerId": customer_ref(&a)}),
        )
        .await;
    let a_users = admin
        .get_ok(&format!("/api/entityGroups/CUSTOMER/{a}/USER"))
        .await;
    assert_eq!(
        names(&a_users),
        set(&["All", "Customer Administrators", "Customer Users"])
    );
    let owners: Vec<&str> = named(&a_users, "Customer Users")["ownerIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(owners, [a.as_str(), tenant.as_str()]);
    let tenant_all = admin
        .get_ok(&format!("/api/entityGroup/all/TENANT/{tenant}/CUSTOMER"))
        .await;
    assert_eq!(
        members(&admin, &id(&tenant_all), "customers").await,
        set(&["A"])
    );
    let a_all = admin
        .get_ok(&format!("/api/entityGroup/all/CUSTOMER/{a}/CUSTOMER"))
        .await;
    assert_eq!(members(&admin, &id(&a_all), "customers").await, set(&["B"]));
    assert_eq!(
        names(
            &admin
                .get_ok(&format!("/api/entityGroups/CUSTOMER/{a}/USER/all"))
                .await
        ),
        names(&a_users)
    );
    let by_name = admin
        .get_ok(&format!(
            "/api/entityGroup/CUSTOMER/{a}/USER/Customer%20Users"
        ))
        .await;
    assert_eq!(id(&by_name), id(named(&a_users, "Customer Users")));

    // A device follows its owner's "All" group.
    let device = admin.create_device("meter", "GROUP_METER", false).await;
    let devices_all = admin
        .get_ok(&format!("/api/entityGroup/all/CUSTOMER/{a}/DEVICE"))
        .await;
    assert!(
        members(&admin, &id(&devices_all), "devices")
            .await
            .is_empty()
    );
    admin
        .post_ok(&format!("/api/customer/{a}/device/{device}"), json!({}))
        .await;
    assert_eq!(
        members(&admin, &id(&devices_all), "devices").await,
        set(&["meter"])
    );
    assert_eq!(
        groups_of(&admin, "DEVICE", &device).await,
        set(&[&id(&devices_all)])
    );

    // Deleting a customer deletes its groups, and its sub-customers'.
    let b_all = admin
        .get_ok(&format!("/api/entityGroup/all/CUSTOMER/{}/USER", id(&b)))
        .await;
    admin.delete_ok(&format!("/api/customer/{a}")).await;
    for gone in [&a_all, &b_all] {
        admin
            .get_err(&format!("/api/entityGroup/{}", id(gone)), 404, 32)
            .await;
    }
}

#[tokio::test]
async fn named_groups_hold_only_their_owners_entities_and_keep_them_when_deleted() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let key = admin
        .post_ok(
            "/api/entityGroup",
            json!({"name": "Key accounts", "type": "CUSTOMER"}),
        )
        .await;
    let key_id = id(&key);
    assert_eq!(key["groupAll"], false);
    assert_eq!(key["ownerId"]["entityType"], "TENANT");

    // Created into the group: in it, and in All.
    let a = admin
        .post_ok(
            &format!("/api/customer?entityGroupId={key_id}"),
            json!({"title": "A"}),
        )
        .await;
    let a = id(&a);
    let b = id(&admin.create_customer("B").await);
    assert_eq!(members(&admin, &key_id, "customers").await, set(&["A"]));
    assert_eq!(groups_of(&admin, "CUSTOMER", &a).await.len(), 2);
    assert!(groups_of(&admin, "CUSTOMER", &a).await.contains(&key_id));

    // Added and removed; adding twice changes nothing.
    let add = format!("/api/entityGroup/{key_id}/addEntities");
    admin.post_ok(&add, json!([b])).await;
    admin.post_ok(&add, json!([b])).await;
    assert_eq!(
        members(&admin, &key_id, "customers").await,
        set(&["A", "B"])
    );
    admin
        .post_ok(
            &format!("/api/entityGroup/{key_id}/deleteEntities"),
            json!([b]),
        )
        .await;
    assert_eq!(members(&admin, &key_id, "customers").await, set(&["A"]));
    let listed = admin
        .get_ok(&format!("/api/entityGroup/{key_id}/entities?{PAGE}"))
        .await;
    assert_eq!(listed["data"][0]["id"]["id"], a.as_str());
    assert_eq!(listed["data"][0]["name"], "A");
    let one = admin
        .get_ok(&format!("/api/entityGroup/{key_id}/{a}"))
        .await;
    assert_eq!(one["name"], "A");
    admin
        .get_err(&format!("/api/entityGroup/{key_id}/{b}"), 404, 32)
        .await;

    // A sub-customer is A's, not the tenant's: it can't join the tenant's
    // group, not even alongside one that could; nothing of that is written.
    let sub = admin
        .post_ok(
            "/api/customer",
            json!({"title": "A1", "parentCustomerId": customer_ref(&a)}),
        )
        .await;
    admin.post_err(&add, json!([b, id(&sub)]), 400, 31).await;
    assert_eq!(members(&admin, &key_id, "customers").await, set(&["A"]));
    // Nor can a device join a customer group, nor an unknown id.
    let device = admin.create_device("meter", "KEY_METER", false).await;
    admin.post_err(&add, json!([device]), 404, 32).await;
    admin.post_err(&add, json!(["not-a-uuid"]), 400, 31).await;
    admin
        .get_err(
            &format!("/api/entityGroup/{key_id}/devices?{PAGE}"),
            400,
            31,
        )
        .await;

    // Moving A to another owner takes it out of its old owner's groups.
    admin
        .post_ok(&format!("/api/owner/CUSTOMER/{b}/CUSTOMER/{a}"), json!({}))
        .await;
    assert!(members(&admin, &key_id, "customers").await.is_empty());
    admin
        .post_ok(
            &format!(
                "/api/owner/TENANT/{}/CUSTOMER/{a}",
                key["tenantId"]["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    admin.post_ok(&add, json!([a, b])).await;

    // Deleting the group keeps its members; deleting a member takes it out,
    // rows and all.
    let tenant = key["tenantId"]["id"].as_str().unwrap().to_owned();
    assert_eq!(rows_of(&server, &tenant, &b), 1);
    admin.delete_ok(&format!("/api/customer/{b}")).await;
    assert_eq!(rows_of(&server, &tenant, &b), 0);
    assert_eq!(members(&admin, &key_id, "customers").await, set(&["A"]));
    admin.delete_ok(&format!("/api/entityGroup/{key_id}")).await;
    admin
        .get_err(&format!("/api/entityGroup/{key_id}"), 404, 32)
        .await;
    admin.get_ok(&format!("/api/customer/{a}")).await;
    assert_eq!(groups_of(&admin, "CUSTOMER", &a).await.len(), 1);
    assert_eq!(rows_of(&server, &tenant, &a), 0);

    // A device leaves the tenant's groups when assigned to a customer, and
    // its rows go when it is deleted.
    let pumps = id(&admin
        .post_ok(
            "/api/entityGroup",
            json!({"name": "Pumps", "type": "DEVICE"}),
        )
        .await);
    let add = format!("/api/entityGroup/{pumps}/addEntities");
    admin.post_ok(&add, json!([device])).await;
    assert_eq!(members(&admin, &pumps, "devices").await, set(&["meter"]));
    admin
        .post_ok(&format!("/api/customer/{a}/device/{device}"), json!({}))
        .await;
    assert!(members(&admin, &pumps, "devices").await.is_empty());
    assert_eq!(rows_of(&server, &tenant, &device), 0);
    admin
        .delete_ok(&format!("/api/customer/device/{device}"))
        .await;
    admin.post_ok(&add, json!([device])).await;
    assert_eq!(rows_of(&server, &tenant, &device), 1);
    admin.delete_ok(&format!("/api/device/{device}")).await;
    assert_eq!(rows_of(&server, &tenant, &device), 0);
    // Created into a group: in it, and owned by the group's owner.
    let other = admin
        .post_ok(
            &format!("/api/device?entityGroupId={pumps}"),
            json!({"name": "other", "type": "default"}),
        )
        .await;
    assert_eq!(
        other["customerId"]["id"],
        "13814000-1dd2-11b2-8080-808080808080"
    );
    assert_eq!(members(&admin, &pumps, "devices").await, set(&["other"]));
    // Not into another type's group: nothing is created.
    admin
        .post_err(
            &format!("/api/asset?entityGroupId={pumps}"),
            json!({"name": "plant", "type": "default"}),
            400,
            31,
        )
        .await;
    admin
        .get_err("/api/tenant/assets?assetName=plant", 404, 32)
        .await;
}

#[tokio::test]
async fn all_stays_reserved_and_names_stay_unique() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    for name in ["All", "all", " ALL "] {
        admin
            .post_err(
                "/api/entityGroup",
                json!({"name": name, "type": "DEVICE"}),
                400,
                31,
            )
            .await;
    }
    admin
        .post_err(
            "/api/entityGroup",
            json!({"name": "Pumps", "type": "TENANT"}),
            400,
            31,
        )
        .await;
    admin
        .post_err("/api/entityGroup", json!({"name": "Pumps"}), 400, 31)
        .await;
    let pumps = admin
        .post_ok(
            "/api/entityGroup",
            json!({"name": "Pumps", "type": "DEVICE"}),
        )
        .await;
    admin
        .post_err(
            "/api/entityGroup",
            json!({"name": "Pumps", "type": "DEVICE"}),
            400,
            31,
        )
        .await;
    // The same name for another type is another group.
    admin
        .post_ok(
            "/api/entityGroup",
            json!({"name": "Pumps", "type": "ASSET"}),
        )
        .await;

    // Renamed: the old name is free again; renamed to "All": refused.
    let mut renamed = pumps.clone();
    renamed["name"] = json!("Water pumps");
    let saved = admin.post_ok("/api/entityGroup", renamed.clone()).await;
    assert_eq!(saved["version"], 2);
    let mut to_all = saved.clone();
    to_all["name"] = json!("all");
    admin.post_err("/api/entityGroup", to_all, 400, 31).await;
    admin
        .post_ok(
            "/api/entityGroup",
            json!({"name": "Pumps", "type": "DEVICE"}),
        )
        .await;

    // The default user groups are reserved too: new users rely on them.
    let user_groups = admin.get_ok("/api/entityGroups/USER").await;
    let readers = named(&user_groups, "Tenant Users").clone();
    let mut edit = readers.clone();
    edit["name"] = json!("Readers");
    admin.post_err("/api/entityGroup", edit, 400, 31).await;
    admin
        .delete_err(&format!("/api/entityGroup/{}", id(&readers)), 400, 31)
        .await;

    // "All" itself: not renamed, not deleted, not filled or emptied by hand.
    let all = named(&admin.get_ok("/api/entityGroups/DEVICE").await, "All").clone();
    let all_id = id(&all);
    let mut edit = all.clone();
    edit["name"] = json!("Everything");
    admin.post_err("/api/entityGroup", edit, 400, 31).await;
    admin
        .delete_err(&format!("/api/entityGroup/{all_id}"), 400, 31)
        .await;
    let device = admin.create_device("meter", "ALL_METER", false).await;
    for op in ["addEntities", "deleteEntities"] {
        admin
            .post_err(
                &format!("/api/entityGroup/{all_id}/{op}"),
                json!([device]),
                400,
                31,
            )
            .await;
    }
    assert_eq!(members(&admin, &all_id, "devices").await, set(&["meter"]));
}

#[tokio::test]
async fn groups_stay_inside_their_tenant_and_their_customer() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let sys = server.sysadmin().await;
    let other = server.new_tenant(&sys, "Other", "admin@other.io").await;
    let a = id(&admin.create_customer("A").await);
    let b = id(&admin.create_customer("B").await);
    let a_groups = admin
        .get_ok(&format!("/api/entityGroups/CUSTOMER/{a}/USER"))
        .await;
    let a_admins = id(named(&a_groups, "Customer Administrators"));
    let a_users = id(named(&a_groups, "Customer Users"));
    let b_groups = admin
        .get_ok(&format!("/api/entityGroups/CUSTOMER/{b}/DEVICE"))
        .await;
    let b_devices = id(named(&b_groups, "All"));
    let vip = id(&admin
        .post_ok(
            "/api/entityGroup",
            json!({"name": "VIP", "type": "CUSTOMER"}),
        )
        .await);

    // Another tenant's administrator: none of it exists for it.
    let foreign = &other.client;
    foreign
        .get_err(&format!("/api/entityGroup/{vip}"), 404, 32)
        .await;
    foreign
        .post_err(
            &format!("/api/entityGroup/{vip}/addEntities"),
            json!([a]),
            404,
            32,
        )
        .await;
    foreign
        .delete_err(&format!("/api/entityGroup/{vip}"), 404, 32)
        .await;
    foreign
        .get_err(&format!("/api/entityGroups/CUSTOMER/{a}/USER"), 404, 32)
        .await;
    foreign
        .post_err(
            "/api/entityGroup",
            json!({"name": "Mine", "type": "DEVICE", "ownerId": customer_ref(&a)}),
            404,
            32,
        )
        .await;
    let foreign_customer = id(&foreign.create_customer("F").await);
    admin
        .post_err(
            &format!("/api/entityGroup/{vip}/addEntities"),
            json!([foreign_customer]),
            404,
            32,
        )
        .await;
    assert!(members(&admin, &vip, "customers").await.is_empty());
    // Asked for by ids, another tenant's groups are left out.
    let foreign_all = foreign.get_ok("/api/entityGroups/CUSTOMER").await;
    let foreign_all = id(named(&foreign_all, "All"));
    let both = admin
        .get_ok(&format!(
            "/api/entityGroups/list?entityGroupIds={vip},{foreign_all}"
        ))
        .await;
    assert_eq!(names(&both), set(&["VIP"]));

    // A user created into A's administrators is there and not in its
    // read-only users; one created with no group is in the read-only one.
    let boss = admin
        .post_ok(
            &format!("/api/user?sendActivationMail=false&entityGroupId={a_admins}"),
            json!({"email": "boss@a.io", "authority": "CUSTOMER_USER"}),
        )
        .await;
    assert_eq!(boss["customerId"]["id"], a.as_str());
    let boss_groups = groups_of(&admin, "USER", &id(&boss)).await;
    assert!(boss_groups.contains(&a_admins));
    assert!(!boss_groups.contains(&a_users));
    let reader = admin.create_active_user(&server, &a, "reader@a.io").await;
    assert!(groups_of(&admin, "USER", &reader).await.contains(&a_users));
    // Created into "All" alone: still in a user group, the default one.
    let a_all_users = id(named(&a_groups, "All"));
    let plain = admin
        .post_ok(
            &format!("/api/user?sendActivationMail=false&entityGroupId={a_all_users}"),
            json!({"email": "plain@a.io", "authority": "CUSTOMER_USER",
                   "customerId": {"entityType": "CUSTOMER", "id": "13814000-1dd2-11b2-8080-808080808080"}}),
        )
        .await;
    assert_eq!(plain["customerId"]["id"], a.as_str());
    assert!(
        groups_of(&admin, "USER", &id(&plain))
            .await
            .contains(&a_users)
    );
    // A user group of another customer, or a customer group, is refused.
    admin
        .post_err(
            &format!("/api/user?sendActivationMail=false&entityGroupId={a_admins}"),
            json!({"email": "x@b.io", "authority": "CUSTOMER_USER", "customerId": customer_ref(&b)}),
            400,
            31,
        )
        .await;
    admin
        .post_err(
            &format!("/api/user?sendActivationMail=false&entityGroupId={vip}"),
            json!({"email": "y@a.io", "authority": "CUSTOMER_USER"}),
            400,
            31,
        )
        .await;

    // A customer user reads its own customer's groups, and no one else's,
    // and changes none.
    let reader = server.login("reader@a.io", PASSWORD).await;
    let mine = reader.get_ok("/api/entityGroups/USER").await;
    assert!(names(&mine).contains("Customer Users"));
    let a_devices = admin
        .get_ok(&format!("/api/entityGroup/all/CUSTOMER/{a}/DEVICE"))
        .await;
    reader
        .get_ok(&format!(
            "/api/entityGroup/{}/devices?{PAGE}",
            id(&a_devices)
        ))
        .await;
    reader
        .get_err(&format!("/api/entityGroup/{a_users}/users?{PAGE}"), 403, 20)
        .await;
    reader
        .get_err(&format!("/api/entityGroup/{b_devices}"), 403, 20)
        .await;
    reader
        .get_err(&format!("/api/entityGroup/{vip}"), 403, 20)
        .await;
    // Probing another customer's groups by name or owner learns nothing:
    // refused before anything is looked up.
    for probe in [
        format!("/api/entityGroup/CUSTOMER/{b}/USER/Customer%20Users"),
        format!("/api/entityGroup/CUSTOMER/{b}/USER/No%20such%20group"),
        format!("/api/entityGroups/CUSTOMER/{b}/DEVICE"),
        format!("/api/entityGroups/CUSTOMER/{}/DEVICE", Uuid::new_v4()),
    ] {
        reader.get_err(&probe, 403, 20).await;
    }
    reader
        .post_err(
            "/api/entityGroup",
            json!({"name": "Mine", "type": "DEVICE"}),
            403,
            20,
        )
        .await;
    reader
        .post_err(
            &format!("/api/entityGroup/{a_users}/deleteEntities"),
            json!([id(&boss)]),
            403,
            20,
        )
        .await;
}

#[tokio::test]
async fn a_rename_keeps_names_unique_and_a_stale_version_changes_nothing() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let create = |name: &str| json!({"name": name, "type": "DEVICE"});
    let pumps = admin.post_ok("/api/entityGroup", create("Pumps")).await;
    admin.post_ok("/api/entityGroup", create("Valves")).await;

    // Onto a name its owner already uses for the type: refused.
    let mut taken = pumps.clone();
    taken["name"] = json!("Valves");
    admin.post_err("/api/entityGroup", taken, 400, 31).await;

    // A save based on an old version loses to the newer one: 409, code 35.
    let mut first = pumps.clone();
    first["name"] = json!("Water pumps");
    let saved = admin.post_ok("/api/entityGroup", first).await;
    let mut stale = pumps.clone();
    stale["name"] = json!("Oil pumps");
    admin.post_err("/api/entityGroup", stale, 409, 35).await;

    let now = admin
        .get_ok(&format!("/api/entityGroup/{}", id(&pumps)))
        .await;
    assert_eq!(now["name"], "Water pumps");
    assert_eq!(now["version"], saved["version"]);
    assert_eq!(
        names(&admin.get_ok("/api/entityGroups/DEVICE").await),
        set(&["All", "Valves", "Water pumps"])
    );
}

#[tokio::test]
async fn owner_ids_name_the_owner_then_every_owner_above_it() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let tenant = admin.get_ok("/api/auth/user").await["tenantId"]["id"]
        .as_str()
        .expect("tenant id")
        .to_owned();
    let top = id(&admin.create_customer("Top").await);
    let mut parent = top.clone();
    let mut chain = vec![top.clone()];
    for title in ["Middle", "Bottom"] {
        let c = admin
            .post_ok(
                "/api/customer",
                json!({"title": title, "ownerId": customer_ref(&parent)}),
            )
            .await;
        parent = id(&c);
        chain.push(parent.clone());
    }
    let bottom_group = admin
        .post_ok(
            "/api/entityGroup",
            json!({"name": "Sensors", "type": "DEVICE", "ownerId": customer_ref(&parent)}),
        )
        .await;
    let owner_ids: Vec<&str> = bottom_group["ownerIds"]
        .as_array()
        .unwrap_or_else(|| panic!("no ownerIds: {bottom_group}"))
        .iter()
        .map(|o| o["id"].as_str().expect("owner id"))
        .collect();
    assert_eq!(
        owner_ids,
        [
            chain[2].as_str(),
            chain[1].as_str(),
            chain[0].as_str(),
            tenant.as_str()
        ],
        "{bottom_group}"
    );
    assert_eq!(bottom_group["ownerIds"][3]["entityType"], "TENANT");
    assert_eq!(bottom_group["ownerIds"][0]["entityType"], "CUSTOMER");
}
