//! What survives a restart on the same data directory.

use clientele_tests::{PASSWORD, TENANT_ADMIN, TestServer};
use reqwest::StatusCode;

#[tokio::test]
async fn data_and_tokens_survive_a_restart_and_first_start_runs_once() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let c = admin.create_customer("Durable").await;
    let token = admin.token.clone();
    let mut settings = server.app.settings().clone();
    let dir = server.stop().await;

    // Changed first-start settings do nothing on a store that has started before.
    settings.tenant_admin_password = Some("Different-1".into());
    let server = TestServer::start_in(dir, settings).await;
    let mut same = server.anonymous();
    same.token = token;
    let (status, read) = same
        .get(&format!(
            "/api/customer/{}",
            c["id"]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        (status, &read),
        (StatusCode::OK, &c),
        "the old token and the customer are still good"
    );
    let page = same
        .get_ok("/api/customers?pageSize=10&page=0&textSearch=dura")
        .await;
    assert_eq!(
        page["totalElements"], 1,
        "the search index is rebuilt from the store"
    );
    server.login(TENANT_ADMIN, PASSWORD).await;
}
