//! Tenant and customer isolation: two tenants, several customers and their
//! users in one installation; nobody reads or changes anything outside its
//! rights, whichever way it asks (by id, title, search, paging, id list,
//! users, audit log).

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use clientele_tests::{Client, PASSWORD, TestServer, assert_error, id};

const SHARED: &str = "Acme Shared";
const BRAVO: &str = "Bravo Works";
const DELTA: &str = "Delta Shared";
const TWO_ADMIN: &str = "admin@tenant-two.io";
const UA: &str = "user.a@one.test";
const UB: &str = "user.b@one.test";
const UC: &str = "user.c@two.test";

/// The ids of a page's `data` (or of a plain array).
fn ids(list: &Value) -> BTreeSet<String> {
    let rows = list["data"].as_array().or_else(|| list.as_array());
    rows.unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(id)
        .collect()
}

fn set<S: AsRef<str>>(items: &[S]) -> BTreeSet<String> {
    items.iter().map(|s| s.as_ref().to_owned()).collect()
}

/// Two tenants: tenant one with customers A and B and a user in each;
/// tenant two with customer C (titled like A), customer D and a user of C.
struct World {
    server: TestServer,
    sys: Client,
    one: Client,
    one_id: String,
    one_admin_id: String,
    two: Client,
    two_id: String,
    two_admin_id: String,
    a: Value,
    b: Value,
    c: Value,
    d: Value,
    ua: Client,
    ua_id: String,
    ub: Client,
    ub_id: String,
    uc: Client,
    uc_id: String,
}

impl World {
    async fn build() -> World {
        let server = TestServer::start().await;
        let sys = server.sysadmin().await;
        let one = server.tenant_admin().await;
        let me = one.get_ok("/api/auth/user").await;
        let one_id = me["tenantId"]["id"].as_str().expect("tenant id").to_owned();
        let one_admin_id = id(&me);

        let second = server.new_tenant(&sys, "Tenant Two", TWO_ADMIN).await;
        let two_id = id(&second.tenant);
        assert_ne!(two_id, one_id);
        assert_eq!(
            second.admin["tenantId"]["id"],
            two_id.as_str(),
            "{}",
            second.admin
        );
        let two_admin_id = id(&second.admin);
        let two = second.client;

        let a = one.create_customer(SHARED).await;
        let b = one.create_customer(BRAVO).await;
        // Titles are unique per tenant only: tenant two may reuse A's title.
        let c = two.create_customer(SHARED).await;
        let d = two.create_customer(DELTA).await;
        assert_eq!(c["title"], SHARED, "{c}");
        assert_eq!(c["tenantId"]["id"], two_id.as_str(), "{c}");
        assert_eq!(a["tenantId"]["id"], one_id.as_str(), "{a}");

        let ua_id = one.create_active_user(&server, &id(&a), UA).await;
        let ub_id = one.create_active_user(&server, &id(&b), UB).await;
        let uc_id = two.create_active_user(&server, &id(&c), UC).await;
        let ua = server.login(UA, PASSWORD).await;
        let ub = server.login(UB, PASSWORD).await;
        let uc = server.login(UC, PASSWORD).await;
        World {
            server,
            sys,
            one,
            one_id,
            one_admin_id,
            two,
            two_id,
            two_admin_id,
            a,
            b,
            c,
            d,
            ua,
            ua_id,
            ub,
            ub_id,
            uc,
            uc_id,
        }
    }
}

/// Re-reads `path` as `owner` and expects exactly `before`.
async fn assert_unchanged(owner: &Client, path: &str, before: &Value) {
    let (status, now) = owner.get(path).await;
    assert_eq!(status, StatusCode::OK, "re-reading {path}: {now}");
    assert_eq!(&now, before, "{path} was changed by a refused request");
}

/// The caller is still logged in (its user was not deleted or revoked).
async fn assert_works(client: &Client) {
    client.get_ok("/api/auth/user").await;
}

/// Refused without data: 403 (code 20) or 404 (code 32), a bare error body,
/// and no customer's title in it beyond what the request itself said.
fn assert_no_customer_data(result: &(StatusCode, Value), asked: Option<&str>) {
    let (status, body) = result;
    match status.as_u16() {
        403 => assert_error(result, 403, 20),
        404 => assert_error(result, 404, 32),
        other => panic!("expected 403 or 404, got {other}: {body}"),
    }
    let keys: BTreeSet<&str> = body
        .as_object()
        .expect("error object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from(["errorCode", "message", "status", "timestamp"]),
        "{body}"
    );
    let mut text = body["message"].as_str().unwrap_or("").to_owned();
    if let Some(asked) = asked {
        text = text.replace(asked, "");
    }
    for title in [SHARED, BRAVO, DELTA] {
        assert!(!text.contains(title), "{title} leaked: {body}");
    }
}

async fn audit(client: &Client) -> Value {
    client.get_ok("/api/audit/logs?pageSize=100&page=0").await
}

/// Every customer id a caller can page through with `pageSize` rows a page,
/// checking the totals on the way.
async fn page_through(client: &Client, query: &str, page_size: usize) -> (BTreeSet<String>, u64) {
    let mut seen = BTreeSet::new();
    let mut total = None;
    for page in 0..10 {
        let body = client
            .get_ok(&format!("{query}pageSize={page_size}&page={page}"))
            .await;
        let elements = body["totalElements"].as_u64().expect("totalElements");
        assert_eq!(*total.get_or_insert(elements), elements, "{body}");
        let rows = ids(&body);
        assert!(rows.len() <= page_size, "{body}");
        assert!(rows.is_disjoint(&seen), "page {page} repeats rows: {body}");
        seen.extend(rows);
        let pages = body["totalPages"].as_u64().expect("totalPages");
        assert_eq!(pages, elements.div_ceil(page_size as u64), "{body}");
        if !body["hasNext"].as_bool().expect("hasNext") {
            break;
        }
    }
    let total = total.expect("at least one page");
    assert_eq!(
        seen.len() as u64,
        total,
        "pages do not add up to totalElements"
    );
    (seen, total)
}

#[tokio::test]
async fn tenant_admins_can_neither_read_nor_change_nor_delete_another_tenants_customers_by_id() {
    let w = World::build().await;
    let one_audit = audit(&w.one).await;
    let two_audit = audit(&w.two).await;

    let cases = [
        (&w.two, &w.a, &w.one),
        (&w.two, &w.b, &w.one),
        (&w.one, &w.c, &w.two),
        (&w.one, &w.d, &w.two),
    ];
    let unknown = uuid::Uuid::new_v4().to_string();
    let (_, not_existing) = w
        .one
        .post(
            "/api/customer",
            json!({"id": {"entityType": "CUSTOMER", "id": unknown}, "title": "Hijacked"}),
        )
        .await;
    for (caller, foreign, owner) in cases {
        let cid = id(foreign);
        for suffix in ["", "/shortInfo", "/title"] {
            let result = caller.get(&format!("/api/customer/{cid}{suffix}")).await;
            assert_error(&result, 404, 32);
            assert!(
                !result
                    .1
                    .to_string()
                    .contains(foreign["title"].as_str().unwrap())
            );
        }

        // An update of a foreign id answers exactly like an unknown id.
        let result = caller
            .post(
                "/api/customer",
                json!({
                    "id": {"entityType": "CUSTOMER", "id": cid},
                    "title": "Hijacked",
                    "city": "Nowhere",
                    "version": foreign["version"],
                }),
            )
            .await;
        assert_error(&result, 400, 31);
        assert_eq!(result.1["message"], "Can't update non existing customer!");
        assert_eq!(result.1["message"], not_existing["message"]);
        assert_unchanged(owner, &format!("/api/customer/{cid}"), foreign).await;

        caller
            .delete_err(&format!("/api/customer/{cid}"), 404, 32)
            .await;
        assert_unchanged(owner, &format!("/api/customer/{cid}"), foreign).await;
        caller
            .delete_err(&format!("/api/customers?customerIds={cid}"), 404, 32)
            .await;
        assert_unchanged(owner, &format!("/api/customer/{cid}"), foreign).await;
    }

    // Tenants themselves: each administrator reads only its own.
    w.two.get_ok(&format!("/api/tenant/{}", w.two_id)).await;
    for (client, other) in [(&w.two, &w.one_id), (&w.one, &w.two_id), (&w.ua, &w.two_id)] {
        let result = client.get(&format!("/api/tenant/{other}")).await;
        assert_error(&result, 403, 20);
        let result = client
            .get(&format!("/api/tenant/{other}/users?pageSize=10&page=0"))
            .await;
        assert_error(&result, 403, 20);
    }

    // Nothing was created on either side by the refused updates.
    for client in [&w.one, &w.two] {
        let result = client
            .get("/api/tenant/customers?customerTitle=Hijacked")
            .await;
        assert_error(&result, 404, 32);
        let page = client.get_ok("/api/customers?pageSize=100&page=0").await;
        assert_eq!(page["totalElements"], 2, "{page}");
    }
    // The victims' users were not deleted with a refused customer delete.
    for client in [&w.ua, &w.ub, &w.uc] {
        assert_works(client).await;
    }
    // Refused requests leave no trace in the owners' audit logs.
    assert_eq!(audit(&w.one).await, one_audit);
    assert_eq!(audit(&w.two).await, two_audit);
}

#[tokio::test]
async fn customer_users_read_only_their_own_customer_and_change_no_customer() {
    let w = World::build().await;
    let (a, b, c) = (id(&w.a), id(&w.b), id(&w.c));
    let (a, b, c) = (a.as_str(), b.as_str(), c.as_str());

    let own = w.ua.get_ok(&format!("/api/customer/{a}")).await;
    assert_eq!(own, w.a);
    let info = w.ua.get_ok(&format!("/api/customer/{a}/shortInfo")).await;
    assert_eq!(info["title"], SHARED);

    // A sibling customer of the same tenant: forbidden; another tenant's: not found.
    for (reader, sibling, foreign) in [(&w.ua, b, c), (&w.ub, a, c)] {
        for suffix in ["", "/shortInfo", "/title"] {
            reader
                .get_err(&format!("/api/customer/{sibling}{suffix}"), 403, 20)
                .await;
            reader
                .get_err(&format!("/api/customer/{foreign}{suffix}"), 404, 32)
                .await;
        }
    }
    for suffix in ["", "/shortInfo", "/title"] {
        w.uc.get_err(&format!("/api/customer/{a}{suffix}"), 404, 32)
            .await;
    }

    // No customer can be changed, created or deleted by a customer user.
    for (target, before, owner) in [(a, &w.a, &w.one), (b, &w.b, &w.one)] {
        let result =
            w.ua.post(
                "/api/customer",
                json!({"id": {"entityType": "CUSTOMER", "id": target}, "title": "Renamed by user"}),
            )
            .await;
        assert_error(&result, 403, 20);
        assert_unchanged(owner, &format!("/api/customer/{target}"), before).await;
        w.ua.delete_err(&format!("/api/customer/{target}"), 403, 20)
            .await;
        assert_unchanged(owner, &format!("/api/customer/{target}"), before).await;
    }
    let result =
        w.ua.post(
            "/api/customer",
            json!({"id": {"entityType": "CUSTOMER", "id": c}, "title": "Renamed by user"}),
        )
        .await;
    assert_error(&result, 400, 31);
    assert_unchanged(&w.two, &format!("/api/customer/{c}"), &w.c).await;
    w.ua.delete_err(&format!("/api/customer/{c}"), 404, 32)
        .await;
    assert_unchanged(&w.two, &format!("/api/customer/{c}"), &w.c).await;
    let result =
        w.ua.post("/api/customer", json!({"title": "Made by user"}))
            .await;
    assert_error(&result, 403, 20);

    // Lists: its page holds the customers below its own (Professional
    // Edition), none here; an id list yields only its own customer.
    let page = w.ua.get_ok("/api/customers?pageSize=10&page=0").await;
    assert_eq!(page["totalElements"], 0, "{page}");
    let (status, listed) =
        w.ua.get(&format!("/api/customers?customerIds={a},{b},{c}"))
            .await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(ids(&listed), set(&[a]), "{listed}");
    let (status, listed) =
        w.ub.get(&format!("/api/customers?customerIds={a},{c}"))
            .await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert!(ids(&listed).is_empty(), "{listed}");

    // By title: a sibling's title is refused, another tenant's is not found there.
    let result =
        w.ua.get(&format!("/api/tenant/customers?customerTitle={BRAVO}"))
            .await;
    assert_error(&result, 403, 20);
    let result =
        w.ua.get(&format!("/api/tenant/customers?customerTitle={DELTA}"))
            .await;
    assert_no_customer_data(&result, Some(DELTA));

    let page = w.one.get_ok("/api/customers?pageSize=100&page=0").await;
    assert_eq!(ids(&page), set(&[a, b]), "{page}");
}

#[tokio::test]
async fn lookups_by_title_search_paging_and_id_lists_return_only_the_callers_tenants_customers() {
    let w = World::build().await;
    let (a, b, c, d) = (id(&w.a), id(&w.b), id(&w.c), id(&w.d));
    let (a, b, c, d) = (a.as_str(), b.as_str(), c.as_str(), d.as_str());

    // By title: the same title finds each tenant's own customer.
    let query = "/api/tenant/customers?customerTitle=Acme%20Shared";
    let found = w.one.get_ok(query).await;
    assert_eq!(found, w.a);
    let found = w.two.get_ok(query).await;
    assert_eq!(found, w.c);
    let result = w
        .one
        .get("/api/tenant/customers?customerTitle=Delta%20Shared")
        .await;
    assert_error(&result, 404, 32);
    assert_eq!(
        result.1["message"],
        "Customer with title [Delta Shared] is not found"
    );
    let result = w
        .two
        .get("/api/tenant/customers?customerTitle=Bravo%20Works")
        .await;
    assert_error(&result, 404, 32);

    // Paging, one row at a time and all at once.
    for size in [1, 2, 100] {
        let (seen, total) = page_through(&w.one, "/api/customers?", size).await;
        assert_eq!((seen, total), (set(&[a, b]), 2));
        let (seen, total) = page_through(&w.two, "/api/customers?", size).await;
        assert_eq!((seen, total), (set(&[c, d]), 2));
    }
    let beyond = w.one.get_ok("/api/customers?pageSize=2&page=3").await;
    assert!(ids(&beyond).is_empty(), "{beyond}");
    assert_eq!(beyond["totalElements"], 2);
    assert_eq!(beyond["hasNext"], false);

    // Sorted pages stay inside the tenant too.
    let sorted = w
        .two
        .get_ok("/api/customers?pageSize=10&page=0&sortProperty=title&sortOrder=DESC")
        .await;
    let titles: Vec<&str> = sorted["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|c| c["title"].as_str().expect("title"))
        .collect();
    assert_eq!(titles, [DELTA, SHARED]);
    assert_eq!(ids(&sorted), set(&[c, d]));

    // Text search.
    let searches: [(&Client, &str, &[&str]); 7] = [
        (&w.one, "shared", &[a]),
        (&w.two, "shared", &[c, d]),
        (&w.one, "ACME", &[a]),
        (&w.two, "acme", &[c]),
        (&w.two, "bravo", &[]),
        (&w.one, "delta", &[]),
        (&w.one, "works", &[b]),
    ];
    for (client, text, expected) in searches {
        let (seen, total) =
            page_through(client, &format!("/api/customers?textSearch={text}&"), 1).await;
        assert_eq!(seen, set(expected), "textSearch={text}");
        assert_eq!(total, expected.len() as u64, "textSearch={text}");
    }

    // By ids: foreign ids are left out, whatever the order.
    let (one_id, two_id) = (w.one_id.as_str(), w.two_id.as_str());
    let lists: [(&Client, &str, String, &[&str]); 5] = [
        (&w.one, one_id, format!("{a},{c}"), &[a]),
        (&w.two, two_id, format!("{a},{c}"), &[c]),
        (&w.one, one_id, format!("{c},{d}"), &[]),
        (&w.two, two_id, format!("{b},{a}"), &[]),
        (&w.one, one_id, format!("{d},{b},{a},{c}"), &[a, b]),
    ];
    for (client, tenant, list, expected) in lists {
        let found = client
            .get_ok(&format!("/api/customers?customerIds={list}"))
            .await;
        assert_eq!(ids(&found), set(expected), "customerIds={list}: {found}");
        for customer in found.as_array().expect("array") {
            assert_eq!(customer["tenantId"]["id"], tenant, "{customer}");
        }
    }
}

#[tokio::test]
async fn users_are_visible_and_changeable_only_inside_their_tenant_and_customer() {
    let w = World::build().await;
    let (a, b, c) = (id(&w.a), id(&w.b), id(&w.c));
    let (a, b, c) = (a.as_str(), b.as_str(), c.as_str());
    let (ua, ub, uc) = (w.ua_id.as_str(), w.ub_id.as_str(), w.uc_id.as_str());
    let (one_admin, two_admin) = (w.one_admin_id.as_str(), w.two_admin_id.as_str());

    // By id.
    for (reader, foreign) in [
        (&w.one, uc),
        (&w.one, two_admin),
        (&w.two, ua),
        (&w.two, ub),
        (&w.two, one_admin),
        (&w.ua, uc),
        (&w.uc, ua),
    ] {
        reader
            .get_err(&format!("/api/user/{foreign}"), 404, 32)
            .await;
    }
    for (reader, sibling) in [(&w.ua, ub), (&w.ua, one_admin), (&w.ub, ua)] {
        reader
            .get_err(&format!("/api/user/{sibling}"), 403, 20)
            .await;
    }
    let me = w.ua.get_ok(&format!("/api/user/{ua}")).await;
    assert_eq!(me["email"], UA);

    // Paged: every user of the tenant for its administrator, only itself
    // (its customer's users) for a customer user.
    let (one_id, two_id) = (w.one_id.as_str(), w.two_id.as_str());
    let expected: [(&Client, &str, &[&str]); 5] = [
        (&w.one, one_id, &[one_admin, ua, ub]),
        (&w.two, two_id, &[two_admin, uc]),
        (&w.ua, one_id, &[ua]),
        (&w.ub, one_id, &[ub]),
        (&w.uc, two_id, &[uc]),
    ];
    for (client, tenant, users) in expected {
        for size in [1, 2, 100] {
            let (seen, total) = page_through(client, "/api/users?", size).await;
            assert_eq!(seen, set(users));
            assert_eq!(total, users.len() as u64);
        }
        let page = client.get_ok("/api/users?pageSize=100&page=0").await;
        for user in page["data"].as_array().expect("data") {
            assert_eq!(user["tenantId"]["id"], tenant, "{user}");
        }
    }
    let (seen, _) = page_through(&w.one, "/api/users?textSearch=user.&", 1).await;
    assert_eq!(seen, set(&[ua, ub]));
    let (seen, _) = page_through(&w.two, "/api/users?textSearch=user.&", 1).await;
    assert_eq!(seen, set(&[uc]));
    let (seen, _) = page_through(&w.two, "/api/users?textSearch=one&", 1).await;
    assert!(seen.is_empty());

    // A customer's users.
    let (seen, _) = page_through(&w.one, &format!("/api/customer/{a}/users?"), 1).await;
    assert_eq!(seen, set(&[ua]));
    let (seen, _) = page_through(&w.two, &format!("/api/customer/{c}/users?"), 1).await;
    assert_eq!(seen, set(&[uc]));
    let paging = "users?pageSize=10&page=0";
    w.two
        .get_err(&format!("/api/customer/{a}/{paging}"), 404, 32)
        .await;
    w.one
        .get_err(&format!("/api/customer/{c}/{paging}"), 404, 32)
        .await;
    w.ua.get_err(&format!("/api/customer/{a}/{paging}"), 403, 20)
        .await;
    w.ua.get_err(&format!("/api/customer/{b}/{paging}"), 403, 20)
        .await;
    w.ua.get_err(&format!("/api/customer/{c}/{paging}"), 404, 32)
        .await;

    // Refused changes leave the users as they were.
    let ua_before = w.one.get_ok(&format!("/api/user/{ua}")).await;
    let ub_before = w.one.get_ok(&format!("/api/user/{ub}")).await;
    let result = w
        .two
        .post(
            "/api/user",
            json!({"id": {"entityType": "USER", "id": ua}, "email": "stolen@two.test",
                   "authority": "CUSTOMER_USER", "firstName": "Stolen"}),
        )
        .await;
    assert_error(&result, 404, 32);
    assert_unchanged(&w.one, &format!("/api/user/{ua}"), &ua_before).await;
    let result =
        w.ua.post(
            "/api/user",
            json!({"id": {"entityType": "USER", "id": ub}, "email": UB, "authority": "CUSTOMER_USER",
                   "firstName": "Renamed"}),
        )
        .await;
    assert_error(&result, 403, 20);
    assert_unchanged(&w.one, &format!("/api/user/{ub}"), &ub_before).await;
    w.two.delete_err(&format!("/api/user/{ua}"), 404, 32).await;
    w.ua.delete_err(&format!("/api/user/{ub}"), 403, 20).await;
    w.ua.delete_err(&format!("/api/user/{ua}"), 403, 20).await;
    assert_unchanged(&w.one, &format!("/api/user/{ua}"), &ua_before).await;
    assert_unchanged(&w.one, &format!("/api/user/{ub}"), &ub_before).await;
    assert_works(&w.ua).await;
    assert_works(&w.ub).await;
    w.server
        .anonymous()
        .post_ok(
            "/api/auth/login",
            json!({"username": UA, "password": PASSWORD}),
        )
        .await;

    // Creating users: never into another tenant's customer, and a tenant
    // administrator's new administrator lands in its own tenant.
    let result = w
        .two
        .post(
            "/api/user?sendActivationMail=false",
            json!({"email": "intruder@two.test", "authority": "CUSTOMER_USER",
                   "customerId": {"entityType": "CUSTOMER", "id": a}}),
        )
        .await;
    assert_error(&result, 400, 31);
    let (seen, _) = page_through(&w.one, &format!("/api/customer/{a}/users?"), 10).await;
    assert_eq!(seen, set(&[ua]));
    let created = w
        .two
        .post_ok(
            "/api/user?sendActivationMail=false",
            json!({"email": "second.admin@two.test", "authority": "TENANT_ADMIN",
                   "tenantId": {"entityType": "TENANT", "id": w.one_id}}),
        )
        .await;
    assert_eq!(created["tenantId"]["id"], w.two_id.as_str(), "{created}");
    let (seen, _) = page_through(&w.one, "/api/users?", 10).await;
    assert_eq!(seen, set(&[one_admin, ua, ub]));
    let result =
        w.ua.post(
            "/api/user?sendActivationMail=false",
            json!({"email": "friend@one.test", "authority": "CUSTOMER_USER",
                   "customerId": {"entityType": "CUSTOMER", "id": a}}),
        )
        .await;
    assert_error(&result, 403, 20);

    // A customer user may edit itself, but not move to another customer or
    // raise its authority.
    let (status, me) =
        w.ua.post(
            "/api/user",
            json!({"id": {"entityType": "USER", "id": ua}, "email": UA, "firstName": "Ann",
                   "authority": "TENANT_ADMIN",
                   "customerId": {"entityType": "CUSTOMER", "id": b},
                   "tenantId": {"entityType": "TENANT", "id": w.two_id}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["firstName"], "Ann");
    assert_eq!(me["authority"], "CUSTOMER_USER", "{me}");
    assert_eq!(me["customerId"]["id"], a, "{me}");
    assert_eq!(me["tenantId"]["id"], w.one_id.as_str(), "{me}");
    w.ua.get_err(&format!("/api/customer/{b}"), 403, 20).await;
    // Its list of customers: those below its own, none.
    let page = w.ua.get_ok("/api/customers?pageSize=10&page=0").await;
    assert_eq!(page["totalElements"], 0, "{page}");
}

#[tokio::test]
async fn the_audit_log_holds_only_the_callers_tenants_records() {
    let w = World::build().await;
    let one_ids = [
        id(&w.a),
        id(&w.b),
        w.ua_id.clone(),
        w.ub_id.clone(),
        w.one_admin_id.clone(),
    ];
    let two_ids = [id(&w.c), id(&w.d), w.uc_id.clone(), w.two_admin_id.clone()];

    for (client, tenant, own, foreign) in [
        (&w.one, &w.one_id, &one_ids[..], &two_ids[..]),
        (&w.two, &w.two_id, &two_ids[..], &one_ids[..]),
    ] {
        let page = audit(client).await;
        let records = page["data"].as_array().expect("data");
        assert_eq!(page["totalElements"], records.len(), "{page}");
        // The log is not empty: its own customers' creation is in it.
        let added: BTreeSet<String> = records
            .iter()
            .filter(|r| r["actionType"] == "ADDED" && r["entityId"]["entityType"] == "CUSTOMER")
            .map(|r| r["entityId"]["id"].as_str().expect("entity id").to_owned())
            .collect();
        assert_eq!(added, set(&[&own[0], &own[1]]), "{page}");
        for record in records {
            assert_eq!(record["tenantId"]["id"], tenant.as_str(), "{record}");
            for other in foreign {
                assert_ne!(record["entityId"]["id"], other.as_str(), "{record}");
                assert_ne!(record["userId"]["id"], other.as_str(), "{record}");
                assert_ne!(record["customerId"]["id"], other.as_str(), "{record}");
            }
        }
        // Asking by a foreign subject yields nothing.
        for path in [
            format!("customer/{}", foreign[0]),
            format!("entity/CUSTOMER/{}", foreign[0]),
            format!("user/{}", foreign[2]),
        ] {
            let (status, body) = client
                .get(&format!("/api/audit/logs/{path}?pageSize=100&page=0"))
                .await;
            if status == StatusCode::OK {
                assert_eq!(body["totalElements"], 0, "{path}: {body}");
                assert_eq!(body["data"], json!([]), "{path}: {body}");
            } else {
                assert_error(&(status, body), 404, 32);
            }
        }
    }

    // Customer users and the system administrator get no audit log at all.
    let a = id(&w.a);
    for client in [&w.ua, &w.ub, &w.uc, &w.sys] {
        client
            .get_err("/api/audit/logs?pageSize=100&page=0", 403, 20)
            .await;
        client
            .get_err(
                &format!("/api/audit/logs/customer/{a}?pageSize=100&page=0"),
                403,
                20,
            )
            .await;
    }
}

#[tokio::test]
async fn the_system_administrator_gets_no_customer_data() {
    let w = World::build().await;
    let (a, b, c) = (id(&w.a), id(&w.b), id(&w.c));
    let (a, b, c) = (a.as_str(), b.as_str(), c.as_str());

    for cid in [a, c] {
        for suffix in ["", "/shortInfo", "/title", "/users?pageSize=10&page=0"] {
            assert_no_customer_data(
                &w.sys.get(&format!("/api/customer/{cid}{suffix}")).await,
                None,
            );
        }
    }
    assert_no_customer_data(&w.sys.get("/api/customers?pageSize=100&page=0").await, None);
    assert_no_customer_data(
        &w.sys
            .get("/api/tenant/customers?customerTitle=Acme%20Shared")
            .await,
        Some(SHARED),
    );
    let (status, listed) = w
        .sys
        .get(&format!("/api/customers?customerIds={a},{b},{c}"))
        .await;
    if status == StatusCode::OK {
        assert_eq!(listed, json!([]), "{listed}");
    } else {
        assert_no_customer_data(&(status, listed), None);
    }
    assert_no_customer_data(&w.sys.get("/api/users?pageSize=100&page=0").await, None);
    for user in [&w.ua_id, &w.uc_id] {
        assert_no_customer_data(&w.sys.get(&format!("/api/user/{user}")).await, None);
    }

    // Nor can it create, change or delete customers or their users.
    w.sys
        .post_err(
            "/api/customer",
            json!({"title": "Made by sysadmin"}),
            403,
            20,
        )
        .await;
    let (status, body) = w
        .sys
        .post(
            "/api/customer",
            json!({"id": {"entityType": "CUSTOMER", "id": a}, "title": "Renamed by sysadmin"}),
        )
        .await;
    assert!(
        matches!(status.as_u16(), 400 | 403 | 404),
        "{status}: {body}"
    );
    assert!(!body.to_string().contains(SHARED), "{body}");
    assert_unchanged(&w.one, &format!("/api/customer/{a}"), &w.a).await;
    assert_no_customer_data(&w.sys.delete(&format!("/api/customer/{a}")).await, None);
    assert_unchanged(&w.one, &format!("/api/customer/{a}"), &w.a).await;
    let result = w
        .sys
        .post(
            "/api/user?sendActivationMail=false",
            json!({"email": "planted@one.test", "authority": "CUSTOMER_USER",
                   "tenantId": {"entityType": "TENANT", "id": w.one_id},
                   "customerId": {"entityType": "CUSTOMER", "id": a}}),
        )
        .await;
    assert_error(&result, 403, 20);
    assert_no_customer_data(&w.sys.delete(&format!("/api/user/{}", w.ua_id)).await, None);
    assert_works(&w.ua).await;
    let users = w
        .one
        .get_ok(&format!("/api/customer/{a}/users?pageSize=10&page=0"))
        .await;
    assert_eq!(ids(&users), set(&[&w.ua_id]));
    let page = w.one.get_ok("/api/customers?pageSize=100&page=0").await;
    assert_eq!(ids(&page), set(&[a, b]));

    // Its own business still works: tenants' administrators are visible to it.
    let admin = w.sys.get_ok(&format!("/api/user/{}", w.two_admin_id)).await;
    assert_eq!(admin["email"], TWO_ADMIN);
}

#[tokio::test]
async fn deleting_a_customer_deletes_its_users_and_their_tokens_stop_working_at_once() {
    let w = World::build().await;
    let (a, b, c) = (id(&w.a), id(&w.b), id(&w.c));
    let (a, b, c) = (a.as_str(), b.as_str(), c.as_str());
    assert_works(&w.ua).await;
    let pair = w
        .server
        .anonymous()
        .post_ok(
            "/api/auth/login",
            json!({"username": UA, "password": PASSWORD}),
        )
        .await;
    let refresh = json!({"refreshToken": pair["refreshToken"]});

    w.one.delete_ok(&format!("/api/customer/{a}")).await;

    // A's user: its token is refused at once, it can no longer log in, it is gone.
    w.ua.get_err("/api/auth/user", 401, 10).await;
    w.ua.get_err(&format!("/api/customer/{a}"), 401, 10).await;
    let login = w.server.try_login(UA, PASSWORD).await;
    assert_error(&login, 401, 10);
    let renewed = w.server.anonymous().post("/api/auth/token", refresh).await;
    assert_error(&renewed, 401, 10);
    w.one
        .get_err(&format!("/api/user/{}", w.ua_id), 404, 32)
        .await;
    w.one.get_err(&format!("/api/customer/{a}"), 404, 32).await;
    w.one
        .get_err(
            &format!("/api/customer/{a}/users?pageSize=10&page=0"),
            404,
            32,
        )
        .await;
    let (seen, total) = page_through(&w.one, "/api/users?", 10).await;
    assert_eq!((seen, total), (set(&[&w.one_admin_id, &w.ub_id]), 2));

    // B's user and everything in tenant two are untouched.
    assert_works(&w.ub).await;
    assert_unchanged(&w.ub, &format!("/api/customer/{b}"), &w.b).await;
    assert_works(&w.uc).await;
    assert_unchanged(&w.two, &format!("/api/customer/{c}"), &w.c).await;
    let found = w
        .two
        .get_ok("/api/tenant/customers?customerTitle=Acme%20Shared")
        .await;
    assert_eq!(found, w.c);
    let (seen, _) = page_through(&w.two, "/api/users?", 10).await;
    assert_eq!(seen, set(&[&w.two_admin_id, &w.uc_id]));

    // The title and the e-mail are free again in tenant one.
    let again = w.one.create_customer(SHARED).await;
    assert_ne!(id(&again), a);
    let user = w.one.create_active_user(&w.server, &id(&again), UA).await;
    assert_ne!(&user, &w.ua_id);
    // The old token does not come back to life with a new user of the same e-mail.
    w.ua.get_err("/api/auth/user", 401, 10).await;
}
