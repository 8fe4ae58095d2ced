//! The audit log: every change and login, filtered by subject, type and time.

use clientele_tests::TestServer;
use serde_json::{Value, json};

fn actions(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["actionType"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn customer_changes_are_audited_newest_first_with_the_actor() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let c = admin.create_customer("Audited").await;
    let id = c["id"]["id"].as_str().unwrap();
    let mut edit = c.clone();
    edit["city"] = json!("Rome");
    admin.post_ok("/api/customer", edit).await;
    admin.delete_ok(&format!("/api/customer/{id}")).await;

    let log = admin
        .get_ok(&format!(
            "/api/audit/logs/entity/CUSTOMER/{id}?pageSize=10&page=0"
        ))
        .await;
    assert_eq!(actions(&log), ["DELETED", "UPDATED", "ADDED"]);
    let added = &log["data"][2];
    assert_eq!(added["entityName"], "Audited");
    assert_eq!(added["userName"], clientele_tests::TENANT_ADMIN);
    assert_eq!(added["actionStatus"], "SUCCESS");
    assert_eq!(added["actionData"]["entity"]["title"], "Audited");
    assert_eq!(log["data"][1]["actionData"]["entity"]["city"], "Rome");

    let by_customer = admin
        .get_ok(&format!("/api/audit/logs/customer/{id}?pageSize=10&page=0"))
        .await;
    assert_eq!(by_customer["totalElements"], 3);
    let only_added = admin
        .get_ok("/api/audit/logs?pageSize=10&page=0&actionTypes=ADDED")
        .await;
    // Not vacuous: the customer's ADDED record is among them.
    assert!(!actions(&only_added).is_empty(), "{only_added}");
    assert!(actions(&only_added).iter().all(|a| a == "ADDED"));
    let me = admin.get_ok("/api/auth/user").await;
    let mine = admin
        .get_ok(&format!(
            "/api/audit/logs/user/{}?pageSize=100&page=0",
            me["id"]["id"].as_str().unwrap()
        ))
        .await;
    assert!(mine["totalElements"].as_u64().unwrap() >= 4, "{mine}");
}

#[tokio::test]
async fn the_time_window_and_paging_narrow_the_log() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    for t in ["A", "B", "C"] {
        admin.create_customer(t).await;
    }
    let all = admin
        .get_ok("/api/audit/logs?pageSize=100&page=0&actionTypes=ADDED")
        .await;
    let times: Vec<i64> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["createdTime"].as_i64().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );
    let newest = times[0];
    let future = admin
        .get_ok(&format!(
            "/api/audit/logs?pageSize=10&page=0&startTime={}",
            newest + 1
        ))
        .await;
    assert_eq!(future["totalElements"], 0);
    let past = admin
        .get_ok(&format!(
            "/api/audit/logs?pageSize=10&page=0&actionTypes=ADDED&endTime={}",
            newest - 1_000_000
        ))
        .await;
    assert_eq!(past["totalElements"], 0);
    let paged = admin
        .get_ok("/api/audit/logs?pageSize=1&page=1&actionTypes=ADDED")
        .await;
    assert_eq!(paged["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(paged["hasNext"], true);
    let asc = admin.get_ok("/api/audit/logs?pageSize=1&page=0&actionTypes=ADDED&sortProperty=createdTime&sortOrder=ASC").await;
    assert!(asc["data"][0]["createdTime"].as_i64().unwrap() <= newest);
    // Ascending is the newest-first order turned around, starting at the oldest.
    assert_eq!(
        asc["data"][0]["createdTime"],
        times[times.len() - 1],
        "{asc}"
    );
    let ascending = admin.get_ok("/api/audit/logs?pageSize=100&page=0&actionTypes=ADDED&sortProperty=createdTime&sortOrder=ASC").await;
    let ascending: Vec<i64> = ascending["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["createdTime"].as_i64().unwrap())
        .collect();
    assert_eq!(
        ascending,
        times.iter().rev().copied().collect::<Vec<_>>(),
        "oldest first"
    );
    admin
        .get_err(
            "/api/audit/logs?pageSize=10&page=0&actionTypes=EXPLODED",
            400,
            31,
        )
        .await;
    admin
        .get_err(
            "/api/audit/logs?pageSize=10&page=0&startTime=yesterday",
            400,
            31,
        )
        .await;
}

#[tokio::test]
async fn failed_logins_are_audited_as_failures() {
    let server = TestServer::start().await;
    server
        .try_login(clientele_tests::TENANT_ADMIN, "wrong-pass")
        .await;
    let admin = server.tenant_admin().await;
    let log = admin
        .get_ok("/api/audit/logs?pageSize=10&page=0&actionTypes=LOGIN")
        .await;
    let statuses: Vec<&str> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["actionStatus"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["SUCCESS", "FAILURE"]);
    // No proxy header: the connection's own address is recorded.
    assert_eq!(log["data"][0]["actionData"]["clientAddress"], "127.0.0.1");
    assert_eq!(
        log["data"][1]["actionFailureDetails"],
        "Invalid username or password"
    );
}
