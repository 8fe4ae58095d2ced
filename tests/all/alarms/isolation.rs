//! Who may touch whose alarms: tenant A with customers 1 and 2 (a user
//! each), tenant B. Another tenant's alarm is not found (404, code 32);
//! another customer's is forbidden (403, code 20); refused requests change
//! nothing; rights follow the originator's owner as it is now.

use clientele_tests::{Client, PASSWORD, TestServer, id};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{alarm_on, raise, total};

struct World {
    _server: TestServer,
    sys: Client,
    admin_a: Client,
    admin_b: Client,
    user_1: Client,
    user_1_id: String,
    user_2: Client,
    user_2_id: String,
    customer_2: String,
    /// Customer 1's device, with alarm `alarm_1`.
    device_1: String,
    alarm_1: Value,
    /// Tenant A's own device, with alarm `tenant_alarm`.
    tenant_device: String,
    tenant_alarm: Value,
}

async fn world() -> World {
    let server = TestServer::start().await;
    let sys = server.sysadmin().await;
    let admin_a = server.tenant_admin().await;
    let admin_b = server
        .new_tenant(&sys, "Tenant B", "admin@tenant-b.io")
        .await
        .client;
    let customer_1 = id(&admin_a.create_customer("Customer One").await);
    let customer_2 = id(&admin_a.create_customer("Customer Two").await);
    let user_1_id = admin_a
        .create_active_user(&server, &customer_1, "one@customer.io")
        .await;
    let user_2_id = admin_a
        .create_active_user(&server, &customer_2, "two@customer.io")
        .await;
    let user_1 = server.login("one@customer.io", PASSWORD).await;
    let user_2 = server.login("two@customer.io", PASSWORD).await;
    let device_1 = admin_a
        .create_device("Device One", "DEVICE_ONE", false)
        .await;
    admin_a
        .post_ok(
            &format!("/api/customer/{customer_1}/device/{device_1}"),
            json!({}),
        )
        .await;
    let alarm_1 = raise(&admin_a, &device_1, "Overheat", "MAJOR").await;
    assert_eq!(
        alarm_1["customerId"]["id"],
        customer_1.as_str(),
        "{alarm_1}"
    );
    let tenant_device = admin_a
        .create_device("Tenant Device", "TENANT_DEVICE", false)
        .await;
    let tenant_alarm = raise(&admin_a, &tenant_device, "Offline", "MINOR").await;
    World {
        _server: server,
        sys,
        admin_a,
        admin_b,
        user_1,
        user_1_id,
        user_2,
        user_2_id,
        customer_2,
        device_1,
        alarm_1,
        tenant_device,
        tenant_alarm,
    }
}

/// Every alarm endpoint aimed at `alarm` (on `device`), with `assignee` for
/// the assign request: method, path, body.
fn requests(alarm: &Value, device: &str, assignee: &str) -> Vec<(Method, String, Option<Value>)> {
    let a = id(alarm);
    let mut update = alarm_on(device, alarm["type"].as_str().unwrap(), "CRITICAL");
    update["id"] = alarm["id"].clone();
    vec![
        (Method::GET, format!("/api/alarm/{a}"), None),
        (Method::GET, format!("/api/alarm/info/{a}"), None),
        (Method::POST, format!("/api/alarm/{a}/ack"), Some(json!({}))),
        (
            Method::POST,
            format!("/api/alarm/{a}/clear"),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("/api/alarm/{a}/assign/{assignee}"),
            Some(json!({})),
        ),
        (Method::DELETE, format!("/api/alarm/{a}/assign"), None),
        (Method::DELETE, format!("/api/alarm/{a}"), None),
        (
            Method::GET,
            format!("/api/alarm/DEVICE/{device}?pageSize=10&page=0"),
            None,
        ),
        (
            Method::GET,
            format!("/api/v2/alarm/DEVICE/{device}?pageSize=10&page=0"),
            None,
        ),
        (
            Method::GET,
            format!("/api/alarm/highestSeverity/DEVICE/{device}"),
            None,
        ),
        (
            Method::POST,
            "/api/alarm".to_owned(),
            Some(alarm_on(device, "Intruder", "MAJOR")),
        ),
        (Method::POST, "/api/alarm".to_owned(), Some(update)),
    ]
}

/// Sends every request as `client` and expects each refused with this
/// status and code; then the alarm reads as before.
async fn assert_all_refused(
    client: &Client,
    owner: &Client,
    alarm: &Value,
    device: &str,
    assignee: &str,
    status: u16,
    code: u64,
) {
    let before = owner
        .get_ok(&format!("/api/alarm/info/{}", id(alarm)))
        .await;
    for (method, path, body) in requests(alarm, device, assignee) {
        let result = client.call(method.clone(), &path, body).await;
        assert_eq!(result.0.as_u16(), status, "{method} {path}: {}", result.1);
        clientele_tests::assert_error(&result, status, code);
    }
    let after = owner
        .get_ok(&format!("/api/alarm/info/{}", id(alarm)))
        .await;
    assert_eq!(after, before, "a refused request changed the alarm");
    let list = owner
        .get_ok(&format!("/api/alarm/DEVICE/{device}?pageSize=10&page=0"))
        .await;
    assert_eq!(total(&list), 1, "a refused request added an alarm: {list}");
}

/// The ids of the alarms a caller's tenant-wide lists show.
async fn visible(client: &Client) -> Vec<Value> {
    let v1 = client.get_ok("/api/alarms?pageSize=100&page=0").await;
    let v2 = client.get_ok("/api/v2/alarms?pageSize=100&page=0").await;
    assert_eq!(v1, v2);
    v1["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].clone())
        .collect()
}

#[tokio::test]
async fn another_tenants_admin_finds_none_of_the_alarms() {
    let w = world().await;
    let me = w.admin_b.get_ok("/api/auth/user").await;
    for (alarm, device) in [
        (&w.alarm_1, &w.device_1),
        (&w.tenant_alarm, &w.tenant_device),
    ] {
        assert_all_refused(&w.admin_b, &w.admin_a, alarm, device, &id(&me), 404, 32).await;
    }
    assert!(visible(&w.admin_b).await.is_empty());
    let types = w
        .admin_b
        .get_ok("/api/alarm/types?pageSize=10&page=0")
        .await;
    assert_eq!(total(&types), 0, "{types}");
    // Its own alarm on tenant A's device id is not found either.
    w.admin_b
        .post_err(
            "/api/alarm",
            alarm_on(&w.device_1, "Mine", "MAJOR"),
            404,
            32,
        )
        .await;
}

#[tokio::test]
async fn another_customers_user_is_forbidden_every_alarm_request() {
    let w = world().await;
    assert_all_refused(
        &w.user_2,
        &w.admin_a,
        &w.alarm_1,
        &w.device_1,
        &w.user_2_id,
        403,
        20,
    )
    .await;
    // Nor the tenant's own alarms, for either customer's user.
    for user in [&w.user_1, &w.user_2] {
        assert_all_refused(
            user,
            &w.admin_a,
            &w.tenant_alarm,
            &w.tenant_device,
            &w.user_1_id,
            403,
            20,
        )
        .await;
    }
    assert!(visible(&w.user_2).await.is_empty());
    let types = w.user_2.get_ok("/api/alarm/types?pageSize=10&page=0").await;
    assert_eq!(
        total(&types),
        0,
        "other customers' types stay hidden: {types}"
    );
}

#[tokio::test]
async fn the_system_administrator_gets_no_alarms() {
    let w = world().await;
    let a = id(&w.alarm_1);
    let (status, body) = w.sys.get(&format!("/api/alarm/{a}")).await;
    assert!(matches!(status.as_u16(), 403 | 404), "{status}: {body}");
    w.sys
        .get_err("/api/alarms?pageSize=10&page=0", 403, 20)
        .await;
    w.sys
        .get_err("/api/alarm/types?pageSize=10&page=0", 403, 20)
        .await;
    let (status, _) = w
        .sys
        .post("/api/alarm", alarm_on(&w.device_1, "Sys", "MAJOR"))
        .await;
    assert_ne!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_customer_user_handles_the_alarms_of_its_customers_entities() {
    let w = world().await;
    let a = id(&w.alarm_1);
    assert_eq!(visible(&w.user_1).await, vec![w.alarm_1["id"].clone()]);
    let info = w.user_1.get_ok(&format!("/api/alarm/info/{a}")).await;
    assert_eq!(info["originatorName"], "Device One");
    let types = w.user_1.get_ok("/api/alarm/types?pageSize=10&page=0").await;
    assert_eq!(types["data"][0]["type"], "Overheat");
    assert_eq!(
        total(&types),
        1,
        "not the tenant's own alarm types: {types}"
    );

    let raised = raise(&w.user_1, &w.device_1, "Leak", "CRITICAL").await;
    assert_eq!(raised["status"], "ACTIVE_UNACK");
    let acked = w
        .user_1
        .post_ok(&format!("/api/alarm/{a}/ack"), json!({}))
        .await;
    assert_eq!(acked["status"], "ACTIVE_ACK");
    let assigned = w
        .user_1
        .post_ok(&format!("/api/alarm/{a}/assign/{}", w.user_1_id), json!({}))
        .await;
    assert_eq!(assigned["assignee"]["email"], "one@customer.io");
    // A colleague of another customer: the caller may not even read it.
    w.user_1
        .post_err(
            &format!("/api/alarm/{a}/assign/{}", w.user_2_id),
            json!({}),
            403,
            20,
        )
        .await;
    let cleared = w
        .user_1
        .post_ok(&format!("/api/alarm/{a}/clear"), json!({}))
        .await;
    assert_eq!(cleared["status"], "CLEARED_ACK");
    assert_eq!(
        w.user_1
            .delete_ok(&format!("/api/alarm/{}", id(&raised)))
            .await,
        json!(true)
    );

    // The device moves to customer 2: its alarms go with it.
    w.admin_a
        .post_ok(
            &format!("/api/customer/{}/device/{}", w.customer_2, w.device_1),
            json!({}),
        )
        .await;
    w.user_1.get_err(&format!("/api/alarm/{a}"), 403, 20).await;
    assert!(visible(&w.user_1).await.is_empty());
    assert_eq!(visible(&w.user_2).await, vec![w.alarm_1["id"].clone()]);
    w.user_2.get_ok(&format!("/api/alarm/info/{a}")).await;
}
