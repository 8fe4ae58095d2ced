//! Bad alarm input is refused with ThingsBoard's error JSON, and nothing
//! is stored.

use clientele_tests::{Client, TestServer, reply};
use reqwest::header;
use serde_json::{Value, json};

use super::{alarm_on, raise, total};

/// Everything the tenant administrator can see of alarms.
async fn state(admin: &Client) -> Value {
    admin.get_ok("/api/alarms?pageSize=100&page=0").await
}

#[tokio::test]
async fn bad_alarm_bodies_are_refused_and_nothing_is_stored() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let device = admin.create_device("Probe", "PROBE_TOKEN", false).await;
    let existing = raise(&admin, &device, "Existing", "MINOR").await;
    let before = state(&admin).await;

    let with = |field: &str, value: Value| {
        let mut body = alarm_on(&device, "Fresh", "MAJOR");
        body[field] = value;
        body
    };
    let unknown = uuid::Uuid::new_v4().to_string();
    let cases: Vec<(Value, u16, u64, &str)> = vec![
        (with("severity", json!("HUGE")), 400, 31, "HUGE"),
        (with("severity", json!(3)), 400, 31, ""),
        (with("severity", Value::Null), 400, 31, "severity"),
        (with("details", json!([1, 2])), 400, 31, "details"),
        (with("details", json!("hot")), 400, 31, "details"),
        (with("type", json!("x".repeat(256))), 400, 31, "255"),
        (with("type", json!("  ")), 400, 31, "type"),
        (with("type", Value::Null), 400, 31, "type"),
        (with("originator", Value::Null), 400, 31, "originator"),
        (
            with("originator", json!({"entityType": "DEVICE", "id": "nope"})),
            400,
            31,
            "",
        ),
        (
            with("originator", json!({"entityType": "GADGET", "id": unknown})),
            400,
            31,
            "",
        ),
        (
            with(
                "originator",
                json!({"entityType": "DASHBOARD", "id": unknown}),
            ),
            400,
            31,
            "DASHBOARD",
        ),
        (
            with("originator", json!({"entityType": "DEVICE", "id": unknown})),
            404,
            32,
            "",
        ),
        (
            with("originator", json!({"entityType": "ASSET", "id": device})),
            404,
            32,
            "",
        ),
        (
            with("propagateRelationTypes", json!(["<script>x</script>"])),
            400,
            31,
            "",
        ),
        (with("startTs", json!(-5)), 400, 31, "startTs"),
        (
            with("id", json!({"entityType": "ALARM", "id": unknown})),
            404,
            32,
            "",
        ),
        (with("id", existing["id"].clone()), 400, 31, "changed"),
        (
            with("assigneeId", json!({"entityType": "USER", "id": unknown})),
            404,
            32,
            "",
        ),
    ];
    for (body, status, code, needle) in cases {
        let result = admin.post("/api/alarm", body.clone()).await;
        clientele_tests::assert_error(&result, status, code);
        let message = result.1["message"].as_str().unwrap_or("");
        assert!(message.contains(needle), "{body}: {message}");
    }

    for raw in ["{", "{\"type\": \"t\",}", "[]", "null", ""] {
        let req = admin
            .request(reqwest::Method::POST, "/api/alarm")
            .header(header::CONTENT_TYPE, "application/json")
            .body(raw.to_owned());
        clientele_tests::assert_error(&reply(req).await, 400, 31);
    }
    assert_eq!(
        state(&admin).await,
        before,
        "a refused request stored something"
    );
}

#[tokio::test]
async fn an_originator_of_another_tenant_is_not_found() {
    let server = TestServer::start().await;
    let sys = server.sysadmin().await;
    let admin = server.tenant_admin().await;
    let other = server.new_tenant(&sys, "Other", "admin@other.io").await;
    let foreign = other
        .client
        .create_device("Theirs", "THEIRS_TOKEN", false)
        .await;
    let tenant = other.tenant["id"]["id"].as_str().unwrap().to_owned();
    admin
        .post_err("/api/alarm", alarm_on(&foreign, "Steal", "MAJOR"), 404, 32)
        .await;
    let on_tenant = json!({"type": "t", "originator": {"entityType": "TENANT", "id": tenant}, "severity": "MAJOR"});
    admin.post_err("/api/alarm", on_tenant, 404, 32).await;
    assert_eq!(total(&state(&admin).await), 0);
    assert_eq!(total(&state(&other.client).await), 0);
}

#[tokio::test]
async fn bad_ids_in_paths_are_refused() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let unknown = uuid::Uuid::new_v4();
    admin.get_err("/api/alarm/not-a-uuid", 400, 31).await;
    admin.get_err("/api/alarm/info/not-a-uuid", 400, 31).await;
    admin
        .get_err(&format!("/api/alarm/{unknown}"), 404, 32)
        .await;
    admin
        .get_err(&format!("/api/alarm/info/{unknown}"), 404, 32)
        .await;
    admin
        .delete_err(&format!("/api/alarm/{unknown}"), 404, 32)
        .await;
    admin
        .post_err(&format!("/api/alarm/{unknown}/ack"), json!({}), 404, 32)
        .await;
    admin
        .post_err(
            &format!("/api/alarm/{unknown}/assign/not-a-uuid"),
            json!({}),
            400,
            31,
        )
        .await;
    admin
        .get_err(
            &format!("/api/alarm/GADGET/{unknown}?pageSize=10&page=0"),
            400,
            31,
        )
        .await;
    admin
        .get_err(
            &format!("/api/alarm/DEVICE/{unknown}?pageSize=10&page=0"),
            404,
            32,
        )
        .await;
    admin
        .get_err(
            &format!("/api/v2/alarm/DEVICE/{unknown}?pageSize=10&page=0"),
            404,
            32,
        )
        .await;
    admin
        .get_err(
            &format!("/api/alarm/highestSeverity/DEVICE/{unknown}"),
            404,
            32,
        )
        .await;
}
