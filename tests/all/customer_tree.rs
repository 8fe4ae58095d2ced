//! Sub-customers (ThingsBoard Professional Edition's owners): customers own
//! customers to any depth; the owner changes, never into a loop or another
//! tenant; deleting a customer deletes everything below it and keeps the
//! devices and assets with its owner.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use clientele_tests::{Client, PASSWORD, TestServer, customer_ref, id};

/// The titles in a page, sorted.
fn titles(page: &Value) -> BTreeSet<String> {
    page["data"]
        .as_array()
        .unwrap_or_else(|| panic!("not a page: {page}"))
        .iter()
        .map(|c| c["title"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// `top` under the tenant, `mid` under it (named by `parentCustomerId`),
/// `low` under `mid` (named by `ownerId`): their ids.
async fn tree_named(admin: &Client, top: &str, mid: &str, low: &str) -> (String, String, String) {
    let a = id(&admin.create_customer(top).await);
    let b = admin
        .post_ok(
            "/api/customer",
            json!({"title": mid, "parentCustomerId": customer_ref(&a)}),
        )
        .await;
    let c = admin
        .post_ok(
            "/api/customer",
            json!({"title": low, "ownerId": customer_ref(&id(&b))}),
        )
        .await;
    (a, id(&b), id(&c))
}

async fn tree(admin: &Client) -> (String, String, String) {
    tree_named(admin, "A", "B", "C").await
}

#[tokio::test]
async fn customers_nest_and_lists_show_each_level_with_its_owner() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let (a, b, c) = tree(&admin).await;

    let top = admin.get_ok(&format!("/api/customer/{a}")).await;
    assert_eq!(top["ownerId"]["entityType"], "TENANT");
    assert_eq!(top["parentCustomerId"], Value::Null);
    let child = admin.get_ok(&format!("/api/customer/{c}")).await;
    assert_eq!(child["ownerId"], customer_ref(&b));
    assert_eq!(child["parentCustomerId"], customer_ref(&b));

    let page = "pageSize=10&page=0&sortProperty=title&sortOrder=ASC";
    let direct = admin
        .get_ok(&format!("/api/customer/{a}/customerInfos?{page}"))
        .await;
    assert_eq!(titles(&direct), set(&["B"]));
    assert_eq!(direct["data"][0]["ownerName"], "A");
    let all_below = admin
        .get_ok(&format!(
            "/api/customer/{a}/customerInfos?{page}&includeCustomers=true"
        ))
        .await;
    assert_eq!(titles(&all_below), set(&["B", "C"]));
    assert_eq!(all_below["totalElements"], 2);
    let own = admin
        .get_ok(&format!("/api/customerInfos/all?{page}"))
        .await;
    assert_eq!(titles(&own), set(&["A"]));
    let every = admin
        .get_ok(&format!(
            "/api/customerInfos/all?{page}&includeCustomers=true"
        ))
        .await;
    assert_eq!(titles(&every), set(&["A", "B", "C"]));
    let searched = admin
        .get_ok(&format!(
            "/api/customerInfos/all?{page}&includeCustomers=true&textSearch=c"
        ))
        .await;
    assert_eq!(titles(&searched), set(&["C"]));

    // A save that sends the customer back as read keeps its owner; one that
    // names another owner is refused (moves have their own endpoint).
    let mut edit = child.clone();
    edit["city"] = json!("Lviv");
    let saved = admin.post_ok("/api/customer", edit.clone()).await;
    assert_eq!(saved["parentCustomerId"], customer_ref(&b));
    let mut moved = saved.clone();
    moved["parentCustomerId"] = customer_ref(&a);
    moved["ownerId"] = customer_ref(&a);
    admin.post_err("/api/customer", moved, 400, 31).await;
    // So is a save that names two different owners, or a device as owner.
    admin
        .post_err(
            "/api/customer",
            json!({"title": "D", "parentCustomerId": customer_ref(&a), "ownerId": customer_ref(&b)}),
            400,
            31,
        )
        .await;
    admin
        .post_err(
            "/api/customer",
            json!({"title": "D", "ownerId": {"entityType": "DEVICE", "id": a}}),
            400,
            31,
        )
        .await;
    // A parent that does not exist: nothing is created.
    let missing = uuid::Uuid::new_v4().to_string();
    admin
        .post_err(
            "/api/customer",
            json!({"title": "D", "parentCustomerId": customer_ref(&missing)}),
            404,
            32,
        )
        .await;
    admin
        .get_err("/api/tenant/customers?customerTitle=D", 404, 32)
        .await;
    admin
        .get_err(
            &format!("/api/customer/{missing}/customerInfos?{page}"),
            404,
            32,
        )
        .await;
}

#[tokio::test]
async fn owners_change_but_never_into_a_loop_or_another_tenant() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let sys = server.sysadmin().await;
    let other = server.new_tenant(&sys, "Other", "admin@other.io").await;
    let foreign = id(&other.client.create_customer("Foreign").await);
    let (a, b, c) = tree(&admin).await;
    let owner = |kind: &str, owner: &str, entity_kind: &str, entity: &str| {
        format!("/api/owner/{kind}/{owner}/{entity_kind}/{entity}")
    };

    // Under its own grandchild, or itself: refused, and nothing moves.
    admin
        .post_err(&owner("CUSTOMER", &c, "CUSTOMER", &a), json!({}), 400, 31)
        .await;
    admin
        .post_err(&owner("CUSTOMER", &a, "CUSTOMER", &a), json!({}), 400, 31)
        .await;
    let a_now = admin.get_ok(&format!("/api/customer/{a}")).await;
    assert_eq!(a_now["ownerId"]["entityType"], "TENANT");
    assert_eq!(a_now["version"], 1);

    // Across tenants, either way: refused.
    admin
        .post_err(
            &owner("CUSTOMER", &foreign, "CUSTOMER", &b),
            json!({}),
            404,
            32,
        )
        .await;
    let other_tenant = id(&other.tenant);
    admin
        .post_err(
            &owner("TENANT", &other_tenant, "CUSTOMER", &b),
            json!({}),
            403,
            20,
        )
        .await;
    other
        .client
        .post_err(
            &owner("TENANT", &other_tenant, "CUSTOMER", &b),
            json!({}),
            404,
            32,
        )
        .await;
    admin
        .post_err(&owner("DASHBOARD", &a, "CUSTOMER", &b), json!({}), 400, 31)
        .await;

    // C to the tenant, then A under C: legal now that C is not below A.
    let me = admin.get_ok("/api/auth/user").await;
    let tenant = me["tenantId"]["id"].as_str().unwrap();
    let (status, _) = admin
        .post(&owner("TENANT", tenant, "CUSTOMER", &c), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = admin
        .post(&owner("CUSTOMER", &c, "CUSTOMER", &a), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let a_moved = admin.get_ok(&format!("/api/customer/{a}")).await;
    assert_eq!(a_moved["ownerId"], customer_ref(&c));
    assert_eq!(a_moved["version"], 2);
    let page = "pageSize=10&page=0&includeCustomers=true";
    let below_c = admin
        .get_ok(&format!("/api/customer/{c}/customerInfos?{page}"))
        .await;
    assert_eq!(titles(&below_c), set(&["A", "B"]));

    // A device's owner is the customer it is assigned to.
    let device = admin.create_device("meter", "TREE_METER", false).await;
    let (status, _) = admin
        .post(&owner("CUSTOMER", &b, "DEVICE", &device), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let read = admin.get_ok(&format!("/api/device/{device}")).await;
    assert_eq!(read["customerId"]["id"], b.as_str());

    // A customer user changes no owner, not even of its own customer.
    admin.create_active_user(&server, &b, "user@b.io").await;
    let user = server.login("user@b.io", PASSWORD).await;
    user.post_err(&owner("CUSTOMER", &b, "CUSTOMER", &c), json!({}), 403, 20)
        .await;

    // The move is in the audit log.
    let log = admin
        .get_ok(&format!("/api/audit/logs/customer/{a}?pageSize=10&page=0"))
        .await;
    let actions: Vec<&str> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["actionType"].as_str())
        .collect();
    assert!(actions.contains(&"CHANGE_OWNER"), "{log}");
}

#[tokio::test]
async fn deleting_a_customer_deletes_its_subtree_and_keeps_its_devices_with_its_owner() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let (a, b, c) = tree(&admin).await;
    let bystander = id(&admin.create_customer("Bystander").await);
    let assign = |customer: &str, kind: &str, entity: &str| {
        format!("/api/customer/{customer}/{kind}/{entity}")
    };
    let in_c = admin.create_device("in C", "TREE_IN_C", false).await;
    let in_b = admin.create_device("in B", "TREE_IN_B", false).await;
    let kept = admin.create_device("kept", "TREE_KEPT", false).await;
    for (customer, device) in [(&c, &in_c), (&b, &in_b), (&bystander, &kept)] {
        admin
            .post_ok(&assign(customer, "device", device), json!({}))
            .await;
    }
    let asset = admin
        .post_ok("/api/asset", json!({"name": "pump", "type": "pump"}))
        .await;
    admin
        .post_ok(&assign(&c, "asset", &id(&asset)), json!({}))
        .await;
    admin.create_active_user(&server, &c, "user@c.io").await;
    let user_of_c = server.login("user@c.io", PASSWORD).await;

    admin.delete_ok(&format!("/api/customer/{b}")).await;
    for gone in [&b, &c] {
        admin
            .get_err(&format!("/api/customer/{gone}"), 404, 32)
            .await;
    }
    let (status, _) = server.try_login("user@c.io", PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    user_of_c.get_err("/api/auth/user", 401, 10).await;
    // Everything B and C had now belongs to A, B's owner.
    for device in [&in_c, &in_b] {
        let d = admin.get_ok(&format!("/api/device/{device}")).await;
        assert_eq!(d["customerId"]["id"], a.as_str(), "{d}");
    }
    let pump = admin.get_ok(&format!("/api/asset/{}", id(&asset))).await;
    assert_eq!(pump["customerId"]["id"], a.as_str());
    let untouched = admin.get_ok(&format!("/api/device/{kept}")).await;
    assert_eq!(untouched["customerId"]["id"], bystander.as_str());
    let log = admin
        .get_ok(&format!(
            "/api/audit/logs/entity/DEVICE/{in_c}?pageSize=10&page=0"
        ))
        .await;
    assert!(
        log["data"].as_array().unwrap().iter().any(|r| {
            r["actionType"] == "CHANGE_OWNER"
                && r["actionData"]["reason"] == "owner customer deleted"
        }),
        "{log}"
    );

    // The tenant's own customer gone: its devices go back to the tenant.
    admin.delete_ok(&format!("/api/customer/{a}")).await;
    let d = admin.get_ok(&format!("/api/device/{in_c}")).await;
    assert_eq!(
        d["customerId"]["id"],
        "13814000-1dd2-11b2-8080-808080808080"
    );

    // A bulk delete naming a parent and its child deletes both, once.
    let (p, q, r) = tree_named(&admin, "P", "Q", "R").await;
    let (status, body) = admin
        .delete(&format!("/api/customers?customerIds={r},{p}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for gone in [&p, &q, &r] {
        admin
            .get_err(&format!("/api/customer/{gone}"), 404, 32)
            .await;
    }
    admin.get_ok(&format!("/api/customer/{bystander}")).await;
}
