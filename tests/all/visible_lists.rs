//! What each caller sees in ThingsBoard PE's lists "available to the
//! current user" (`/api/user/customers`, `/api/user/users`,
//! `/api/customer/users`, `/api/userInfos/all`, `/api/owners`), in one
//! customer's info (`/api/customer/info/{id}`), and what
//! `/api/permission/{entityType}/{entityId}/{operation}` answers: a tenant
//! with customers A and B, A1 below A, and a second tenant, asked by the
//! tenant's administrator, A's administrator, A's, B's and A1's plain
//! users, the other tenant's administrator and the system administrator.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use clientele_tests::{Client, TestServer, customer_ref, id};

use crate::customer_admins::{group_ref, user_group, user_in};
use crate::two_tenants::TwoTenants;

const PAGE: &str = "pageSize=50&page=0";

struct World {
    _server: TestServer,
    admin: Client,
    sys: Client,
    tenant: String,
    a: String,
    b: String,
    a1: String,
    /// A tenant's customer group holding B, shared (GROUP role READ) with
    /// A's "Customer Users".
    partners: String,
    a_admin: Client,
    a_user: Client,
    b_user: Client,
    a1_user: Client,
    /// User ids, by e-mail.
    ids: Vec<(&'static str, String)>,
    other: Client,
    other_tenant: String,
    z: String,
}

impl World {
    async fn build() -> World {
        let TwoTenants {
            server,
            admin,
            sys,
            me,
            tenant,
            a,
            a1,
            b,
            other: made,
            z,
        } = TwoTenants::build().await;
        let a_admins = user_group(&admin, &a, "Customer Administrators").await;
        let (a_admin_id, a_admin) = user_in(&server, &admin, &a, "admin@a.io", &[&a_admins]).await;
        let (a_user_id, a_user) = user_in(&server, &admin, &a, "user@a.io", &[]).await;
        let (b_user_id, b_user) = user_in(&server, &admin, &b, "user@b.io", &[]).await;
        let (a1_user_id, a1_user) = user_in(&server, &admin, &a1, "user@a1.io", &[]).await;

        // B, in a group of the tenant's that A's plain users may read.
        let partners = id(&admin
            .post_ok(
                "/api/entityGroup",
                json!({"name": "Partners", "type": "CUSTOMER"}),
            )
            .await);
        admin
            .post_ok(
                &format!("/api/entityGroup/{partners}/addEntities"),
                json!([b]),
            )
            .await;
        let reader = admin
            .post_ok(
                "/api/role",
                json!({"name": "Partner reader", "type": "GROUP", "permissions": ["READ"]}),
            )
            .await;
        let a_users = user_group(&admin, &a, "Customer Users").await;
        admin
            .post_ok(
                "/api/groupPermission",
                json!({"userGroupId": group_ref(&a_users), "roleId": reader["id"],
                       "entityGroupId": group_ref(&partners)}),
            )
            .await;

        let other = made.client;
        let z_user_id = other.create_active_user(&server, &z, "user@z.io").await;
        let tenant_admin_id = id(&me);
        let ids = vec![
            ("admin@tenant-one.io", tenant_admin_id),
            ("admin@a.io", a_admin_id),
            ("user@a.io", a_user_id),
            ("user@b.io", b_user_id),
            ("user@a1.io", a1_user_id),
            ("admin@other.io", id(&made.admin)),
            ("user@z.io", z_user_id),
        ];
        World {
            _server: server,
            admin,
            sys,
            tenant,
            a,
            b,
            a1,
            partners,
            a_admin,
            a_user,
            b_user,
            a1_user,
            ids,
            other,
            other_tenant: id(&made.tenant),
            z,
        }
    }

    fn user(&self, email: &str) -> &str {
        &self.ids.iter().find(|(e, _)| *e == email).unwrap().1
    }
}

/// The values of `field` in a page's rows, as a set.
fn set_of(page: &Value, field: &str) -> BTreeSet<String> {
    page["data"]
        .as_array()
        .unwrap_or_else(|| panic!("not a page: {page}"))
        .iter()
        .map(|row| row[field].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// The values of `field` in a page's rows, in order.
fn list_of(page: &Value, field: &str) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap_or_else(|| panic!("not a page: {page}"))
        .iter()
        .map(|row| row[field].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Paging that ThingsBoard refuses: every one of them a 400 (code 31).
async fn refuses_bad_paging(client: &Client, path: &str) {
    let sep = if path.contains('?') { '&' } else { '?' };
    for bad in [
        "page=0",
        "pageSize=10",
        "pageSize=0&page=0",
        "pageSize=x&page=0",
        "pageSize=10&page=-1",
        "pageSize=1001&page=0",
        "pageSize=10&page=0&sortOrder=SIDEWAYS",
    ] {
        client.get_err(&format!("{path}{sep}{bad}"), 400, 31).await;
    }
}

#[tokio::test]
async fn each_caller_sees_the_customers_and_owners_it_may_read() {
    let w = World::build().await;
    let (a, b, a1) = (&w.a, &w.b, &w.a1);

    // One customer's info: its owner's name and its named groups.
    let info = w.admin.get_ok(&format!("/api/customer/info/{a1}")).await;
    assert_eq!(info["title"], "A1");
    assert_eq!(info["ownerName"], "A");
    assert_eq!(info["ownerId"], customer_ref(a));
    assert_eq!(info["groups"], json!([]));
    let info = w.admin.get_ok(&format!("/api/customer/info/{b}")).await;
    assert_eq!(info["ownerName"], "Tenant");
    assert_eq!(
        info["groups"],
        json!([{"id": group_ref(&w.partners), "name": "Partners"}])
    );
    // The same shape as the lists of infos.
    let listed = w
        .admin
        .get_ok(&format!("/api/customerInfos/all?{PAGE}&textSearch=b"))
        .await;
    assert_eq!(listed["data"][0], info);
    // Who may read which.
    for (who, client, readable, refused) in [
        ("A's administrator", &w.a_admin, vec![a, a1], vec![b]),
        ("A's user", &w.a_user, vec![a, a1, b], vec![]),
        ("B's user", &w.b_user, vec![b], vec![a, a1]),
        ("A1's user", &w.a1_user, vec![a1], vec![a, b]),
    ] {
        for c in readable {
            let (status, body) = client.get(&format!("/api/customer/info/{c}")).await;
            assert_eq!(status, StatusCode::OK, "{who} reading {c}: {body}");
        }
        for c in refused {
            client
                .get_err(&format!("/api/customer/info/{c}"), 403, 20)
                .await;
        }
    }
    w.other
        .get_err(&format!("/api/customer/info/{a}"), 404, 32)
        .await;
    let nowhere = uuid::Uuid::new_v4();
    w.admin
        .get_err(&format!("/api/customer/info/{nowhere}"), 404, 32)
        .await;
    w.admin
        .get_err("/api/customer/info/not-a-uuid", 400, 31)
        .await;

    // Every customer each caller may read: the tenant's administrator all
    // of them; a customer user those below its own (ThingsBoard lists the
    // customers owned inside the caller's subtree), and those shared.
    let customers = |client: &Client| {
        let client = client.clone();
        async move {
            set_of(
                &client.get_ok(&format!("/api/user/customers?{PAGE}")).await,
                "title",
            )
        }
    };
    assert_eq!(customers(&w.admin).await, set(&["A", "B", "A1"]));
    assert_eq!(customers(&w.a_admin).await, set(&["A1"]));
    assert_eq!(customers(&w.a_user).await, set(&["A1", "B"]));
    assert_eq!(customers(&w.b_user).await, set(&[]));
    assert_eq!(customers(&w.a1_user).await, set(&[]));
    assert_eq!(customers(&w.other).await, set(&["Z"]));
    w.sys
        .get_err(&format!("/api/user/customers?{PAGE}"), 403, 20)
        .await;
    // Paged, sorted and searched as the other customer lists.
    let second = w
        .admin
        .get_ok("/api/user/customers?pageSize=2&page=1&sortProperty=title&sortOrder=ASC")
        .await;
    assert_eq!(list_of(&second, "title"), ["B"]);
    assert_eq!(
        (
            &second["totalElements"],
            &second["totalPages"],
            &second["hasNext"]
        ),
        (&json!(3), &json!(2), &json!(false))
    );
    let searched = w
        .a_user
        .get_ok(&format!("/api/user/customers?{PAGE}&textSearch=b"))
        .await;
    assert_eq!(set_of(&searched, "title"), set(&["B"]));
    w.admin
        .get_err(
            &format!("/api/user/customers?{PAGE}&sortProperty=password"),
            400,
            31,
        )
        .await;
    refuses_bad_paging(&w.admin, "/api/user/customers").await;

    // The owners each caller may pick: the tenant itself for its
    // administrator, then customers, by name.
    let owners = |client: &Client, query: &'static str| {
        let client = client.clone();
        async move {
            let page = client.get_ok(&format!("/api/owners?{PAGE}{query}")).await;
            list_of(&page, "name")
        }
    };
    assert_eq!(owners(&w.admin, "").await, ["A", "A1", "B", "Tenant"]);
    assert_eq!(owners(&w.a_admin, "").await, ["A", "A1"]);
    assert_eq!(owners(&w.a_user, "").await, ["A", "A1"]);
    assert_eq!(owners(&w.b_user, "").await, ["B"]);
    assert_eq!(owners(&w.a1_user, "").await, ["A1"]);
    assert_eq!(owners(&w.other, "").await, ["Other", "Z"]);
    // The search matches the start of the name; the order stays by name.
    assert_eq!(owners(&w.admin, "&textSearch=a").await, ["A", "A1"]);
    assert_eq!(owners(&w.admin, "&textSearch=T").await, ["Tenant"]);
    assert_eq!(owners(&w.admin, "&sortOrder=DESC").await[0], "A");
    // Each sent as itself: the tenant as a tenant, a customer as a customer.
    let page = w.admin.get_ok(&format!("/api/owners?{PAGE}")).await;
    assert_eq!(page["data"][3]["id"]["entityType"], "TENANT");
    assert_eq!(page["data"][3]["id"]["id"], w.tenant);
    assert_eq!(page["data"][0]["id"], customer_ref(a));
    assert_eq!(page["data"][0]["ownerId"]["entityType"], "TENANT");
    let other_page = w.other.get_ok(&format!("/api/owners?{PAGE}")).await;
    assert_eq!(other_page["data"][0]["id"]["id"], w.other_tenant);
    assert_eq!(other_page["data"][1]["id"], customer_ref(&w.z));
    let second = w.admin.get_ok("/api/owners?pageSize=3&page=1").await;
    assert_eq!(list_of(&second, "name"), ["Tenant"]);
    assert_eq!(
        (&second["totalElements"], &second["hasNext"]),
        (&json!(4), &json!(false))
    );
    w.sys.get_err(&format!("/api/owners?{PAGE}"), 403, 20).await;
    refuses_bad_paging(&w.a_admin, "/api/owners").await;
}

#[tokio::test]
async fn each_caller_sees_the_users_it_may_read() {
    let w = World::build().await;

    // Every user each caller may read: a tenant administrator all of its
    // tenant's; a customer administrator those of its subtree; a plain
    // customer user, whose roles do not read users, none.
    let users = |client: &Client, path: &'static str| {
        let client = client.clone();
        async move { set_of(&client.get_ok(&format!("{path}?{PAGE}")).await, "email") }
    };
    let everyone = [
        "admin@tenant-one.io",
        "admin@a.io",
        "user@a.io",
        "user@b.io",
        "user@a1.io",
    ];
    assert_eq!(users(&w.admin, "/api/user/users").await, set(&everyone));
    assert_eq!(
        users(&w.a_admin, "/api/user/users").await,
        set(&["admin@a.io", "user@a.io", "user@a1.io"])
    );
    assert_eq!(users(&w.a_user, "/api/user/users").await, set(&[]));
    assert_eq!(users(&w.b_user, "/api/user/users").await, set(&[]));
    assert_eq!(users(&w.a1_user, "/api/user/users").await, set(&[]));
    assert_eq!(
        users(&w.other, "/api/user/users").await,
        set(&["admin@other.io", "user@z.io"])
    );
    w.sys
        .get_err(&format!("/api/user/users?{PAGE}"), 403, 20)
        .await;
    let sorted = w
        .admin
        .get_ok("/api/user/users?pageSize=2&page=0&sortProperty=email&sortOrder=DESC")
        .await;
    assert_eq!(list_of(&sorted, "email"), ["user@b.io", "user@a1.io"]);
    assert_eq!(
        (&sorted["totalElements"], &sorted["hasNext"]),
        (&json!(5), &json!(true))
    );
    let searched = w
        .a_admin
        .get_ok(&format!("/api/user/users?{PAGE}&textSearch=a1"))
        .await;
    assert_eq!(set_of(&searched, "email"), set(&["user@a1.io"]));
    w.admin
        .get_err(
            &format!("/api/user/users?{PAGE}&sortProperty=password"),
            400,
            31,
        )
        .await;
    refuses_bad_paging(&w.a_admin, "/api/user/users").await;

    // Every customer user of the tenant: the tenant administrator's list.
    assert_eq!(
        users(&w.admin, "/api/customer/users").await,
        set(&["admin@a.io", "user@a.io", "user@b.io", "user@a1.io"])
    );
    assert_eq!(
        users(&w.other, "/api/customer/users").await,
        set(&["user@z.io"])
    );
    for refused in [&w.a_admin, &w.a_user, &w.b_user, &w.a1_user, &w.sys] {
        refused
            .get_err(&format!("/api/customer/users?{PAGE}"), 403, 20)
            .await;
    }
    refuses_bad_paging(&w.admin, "/api/customer/users").await;

    // The users of the caller's owner, with the owner's name and groups;
    // `includeCustomers=true` adds the customers' below.
    let infos = |client: &Client, nested: bool| {
        let client = client.clone();
        async move {
            client
                .get_ok(&format!(
                    "/api/userInfos/all?{PAGE}&includeCustomers={nested}"
                ))
                .await
        }
    };
    let own = infos(&w.admin, false).await;
    assert_eq!(set_of(&own, "email"), set(&["admin@tenant-one.io"]));
    let me = &own["data"][0];
    assert_eq!(me["ownerName"], "Tenant");
    assert_eq!(
        me["ownerId"],
        json!({"entityType": "TENANT", "id": w.tenant})
    );
    assert_eq!(me["groups"][0]["name"], "Tenant Administrators");
    assert_eq!(me["groups"][0]["id"]["entityType"], "ENTITY_GROUP");
    let all = infos(&w.admin, true).await;
    assert_eq!(set_of(&all, "email"), set(&everyone));
    let row = |page: &Value, email: &str| {
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["email"] == email)
            .cloned()
            .unwrap_or_else(|| panic!("{email} not in {page}"))
    };
    let a_user = row(&all, "user@a.io");
    assert_eq!(a_user["id"]["id"], w.user("user@a.io"));
    assert_eq!(a_user["ownerName"], "A");
    assert_eq!(a_user["ownerId"], customer_ref(&w.a));
    assert_eq!(a_user["groups"][0]["name"], "Customer Users");
    assert_eq!(a_user["authority"], "CUSTOMER_USER");
    let a1_user = row(&all, "user@a1.io");
    assert_eq!(a1_user["ownerName"], "A1");
    assert_eq!(
        row(&all, "admin@a.io")["groups"],
        json!([{"id": group_ref(&user_group(&w.admin, &w.a, "Customer Administrators").await),
                "name": "Customer Administrators"}])
    );
    assert_eq!(
        set_of(&infos(&w.a_admin, false).await, "email"),
        set(&["admin@a.io", "user@a.io"])
    );
    assert_eq!(
        set_of(&infos(&w.a_admin, true).await, "email"),
        set(&["admin@a.io", "user@a.io", "user@a1.io"])
    );
    assert_eq!(
        set_of(&infos(&w.other, true).await, "email"),
        set(&["admin@other.io", "user@z.io"])
    );
    for refused in [&w.a_user, &w.b_user, &w.a1_user, &w.sys] {
        refused
            .get_err(&format!("/api/userInfos/all?{PAGE}"), 403, 20)
            .await;
    }
    w.admin
        .get_err(
            &format!("/api/userInfos/all?{PAGE}&includeCustomers=maybe"),
            400,
            31,
        )
        .await;
    refuses_bad_paging(&w.admin, "/api/userInfos/all").await;
}

#[tokio::test]
async fn the_permission_check_answers_what_the_rules_allow() {
    let w = World::build().await;
    let (a, b, a1) = (&w.a, &w.b, &w.a1);
    let a_user = w.user("user@a.io").to_owned();
    let b_user = w.user("user@b.io").to_owned();
    let asks = |client: &Client, entity: &str, op: &str| {
        let (client, path) = (client.clone(), format!("/api/permission/{entity}/{op}"));
        async move {
            let answer = client.get_ok(&path).await;
            answer
                .as_bool()
                .unwrap_or_else(|| panic!("{path}: not a boolean: {answer}"))
        }
    };
    let customer = |c: &str| format!("CUSTOMER/{c}");
    let user = |u: &str| format!("USER/{u}");
    let tenant = format!("TENANT/{}", w.tenant);
    let cases: Vec<(&str, &Client, String, &str, bool)> = vec![
        ("admin", &w.admin, customer(a1), "WRITE", true),
        ("admin", &w.admin, customer(a), "ALL", true),
        ("admin", &w.admin, user(&a_user), "WRITE_CREDENTIALS", true),
        ("admin", &w.admin, tenant.clone(), "READ", true),
        ("admin", &w.admin, tenant.clone(), "WRITE", false),
        ("admin", &w.admin, customer(a), "RPC_CALL", false),
        (
            "admin",
            &w.admin,
            format!("ENTITY_GROUP/{}", w.partners),
            "ADD_TO_GROUP",
            true,
        ),
        ("A's admin", &w.a_admin, customer(a1), "WRITE", true),
        ("A's admin", &w.a_admin, customer(a1), "CHANGE_OWNER", true),
        ("A's admin", &w.a_admin, customer(a), "READ", true),
        ("A's admin", &w.a_admin, customer(a), "WRITE", false),
        ("A's admin", &w.a_admin, customer(b), "READ", false),
        ("A's admin", &w.a_admin, user(&a_user), "DELETE", true),
        ("A's admin", &w.a_admin, user(&b_user), "READ", false),
        ("A's admin", &w.a_admin, tenant.clone(), "READ", false),
        ("A's user", &w.a_user, customer(a), "READ", true),
        ("A's user", &w.a_user, customer(a), "READ_TELEMETRY", true),
        ("A's user", &w.a_user, customer(a), "WRITE", false),
        ("A's user", &w.a_user, customer(b), "READ", true),
        ("A's user", &w.a_user, customer(b), "WRITE", false),
        ("A's user", &w.a_user, user(&a_user), "WRITE", true),
        ("A's user", &w.a_user, user(&b_user), "READ", false),
        ("B's user", &w.b_user, customer(a), "READ", false),
        ("B's user", &w.b_user, customer(b), "READ_ATTRIBUTES", true),
        ("other tenant", &w.other, customer(a), "READ", false),
        ("other tenant", &w.other, user(&a_user), "READ", false),
        ("other tenant", &w.other, customer(&w.z), "DELETE", true),
        ("sysadmin", &w.sys, tenant.clone(), "WRITE", true),
        ("sysadmin", &w.sys, customer(a), "READ", false),
        (
            "admin",
            &w.admin,
            customer(&uuid::Uuid::new_v4().to_string()),
            "READ",
            false,
        ),
    ];
    let mut wrong = Vec::new();
    for (who, client, entity, op, expected) in &cases {
        if asks(client, entity, op).await != *expected {
            wrong.push(format!("{who}: {op} on {entity} should be {expected}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // Unknown types and operations, and malformed ids, are bad requests.
    for bad in [
        format!("WIDGET/{a}/READ"),
        format!("CUSTOMER/{a}/FLY"),
        format!("CUSTOMER/{a}/read"),
        "CUSTOMER/not-a-uuid/READ".to_owned(),
    ] {
        w.admin
            .get_err(&format!("/api/permission/{bad}"), 400, 31)
            .await;
    }
    // Nothing was changed by asking.
    assert_eq!(
        w.admin.get_ok(&format!("/api/customer/{a}")).await["version"],
        1
    );
}
