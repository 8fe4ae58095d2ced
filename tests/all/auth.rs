//! Login, lockout, refresh, password change and logout.

use clientele_tests::{PASSWORD, TENANT_ADMIN, TestServer, assert_error};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn wrong_passwords_and_unknown_users_get_the_same_answer() {
    let server = TestServer::start().await;
    let wrong = server.try_login(TENANT_ADMIN, "nope-nope").await;
    let unknown = server.try_login("ghost@x.io", "nope-nope").await;
    assert_error(&wrong, 401, 10);
    assert_error(&unknown, 401, 10);
    assert_eq!(wrong.1["message"], unknown.1["message"]);
    assert_eq!(wrong.1["message"], "Invalid username or password");
}

#[tokio::test]
async fn repeated_failures_lock_the_account_until_an_administrator_enables_it() {
    let server = TestServer::start_with(|s| {
        s.security.max_failed_login_attempts = 3;
        s.security.lockout_minutes = 0;
    })
    .await;
    let admin = server.tenant_admin().await;
    let c = admin.create_customer("Acme").await;
    let id = admin
        .create_active_user(&server, c["id"]["id"].as_str().unwrap(), "l@acme.io")
        .await;
    let anon = server.anonymous();
    for _ in 0..3 {
        anon.post_err(
            "/api/auth/login",
            json!({"username": "l@acme.io", "password": "wrong-one"}),
            401,
            10,
        )
        .await;
    }
    let locked = server.try_login("l@acme.io", PASSWORD).await;
    assert_error(&locked, 401, 10);
    assert_eq!(
        locked.1["message"],
        "User account is locked due to security policy"
    );
    let log = admin
        .get_ok("/api/audit/logs?pageSize=50&page=0&actionTypes=LOCKOUT")
        .await;
    assert_eq!(log["totalElements"], 1, "{log}");
    assert_eq!(
        admin
            .post(
                &format!("/api/user/{id}/userCredentialsEnabled?userCredentialsEnabled=true"),
                json!({})
            )
            .await
            .0,
        StatusCode::OK
    );
    server.login("l@acme.io", PASSWORD).await;
}

#[tokio::test]
async fn a_refresh_token_buys_a_new_pair_and_only_that() {
    let server = TestServer::start().await;
    let anon = server.anonymous();
    let (_, pair) = server.try_login(TENANT_ADMIN, PASSWORD).await;
    let fresh = anon
        .post_ok(
            "/api/auth/token",
            json!({"refreshToken": pair["refreshToken"]}),
        )
        .await;
    let mut client = server.anonymous();
    client.token = Some(fresh["token"].as_str().unwrap().to_owned());
    assert_eq!(client.get("/api/auth/user").await.1["email"], TENANT_ADMIN);
    // An access token is no refresh token, and garbage is nothing.
    anon.post_err(
        "/api/auth/token",
        json!({"refreshToken": pair["token"]}),
        401,
        10,
    )
    .await;
    anon.post_err("/api/auth/token", json!({"refreshToken": "x.y.z"}), 401, 10)
        .await;
}

#[tokio::test]
async fn changing_the_password_revokes_older_tokens() {
    let server = TestServer::start().await;
    let old = server.tenant_admin().await;
    let second_session = server.tenant_admin().await;
    let wrong = old
        .post(
            "/api/auth/changePassword",
            json!({"currentPassword": "bad-guess", "newPassword": "N3w-password"}),
        )
        .await;
    assert_error(&wrong, 400, 31);
    let weak = old
        .post(
            "/api/auth/changePassword",
            json!({"currentPassword": PASSWORD, "newPassword": "abc"}),
        )
        .await;
    assert_error(&weak, 400, 31);
    let pair = old
        .post_ok(
            "/api/auth/changePassword",
            json!({"currentPassword": PASSWORD, "newPassword": "N3w-password"}),
        )
        .await;
    old.get_err("/api/auth/user", 401, 10).await;
    second_session.get_err("/api/auth/user", 401, 10).await;
    let mut fresh = server.anonymous();
    fresh.token = Some(pair["token"].as_str().unwrap().to_owned());
    assert_eq!(fresh.get("/api/auth/user").await.0, StatusCode::OK);
    server
        .anonymous()
        .post_err(
            "/api/auth/login",
            json!({"username": TENANT_ADMIN, "password": PASSWORD}),
            401,
            10,
        )
        .await;
    server.login(TENANT_ADMIN, "N3w-password").await;
}

#[tokio::test]
async fn the_password_policy_is_served_and_enforced() {
    let server = TestServer::start_with(|s| {
        // The harness's own password, "Pa55word!", meets exactly this.
        s.security.password_policy.minimum_length = 9;
        s.security.password_policy.minimum_digits = 2;
    })
    .await;
    let (status, policy) = server
        .anonymous()
        .get("/api/noauth/userPasswordPolicy")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            policy["minimumLength"].as_u64(),
            policy["minimumDigits"].as_u64()
        ),
        (Some(9), Some(2))
    );
    let admin = server.tenant_admin().await;
    let short = admin
        .post(
            "/api/auth/changePassword",
            json!({"currentPassword": PASSWORD, "newPassword": "abcdef12"}),
        )
        .await;
    assert_error(&short, 400, 31);
    let few_digits = admin
        .post(
            "/api/auth/changePassword",
            json!({"currentPassword": PASSWORD, "newPassword": "abcdefghi1"}),
        )
        .await;
    assert_error(&few_digits, 400, 31);
    assert!(few_digits.1["message"].as_str().unwrap().contains("digit"));
}

#[tokio::test]
async fn logout_is_recorded() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    assert_eq!(
        admin.post("/api/auth/logout", json!({})).await.0,
        StatusCode::OK
    );
    let log = admin
        .get_ok("/api/audit/logs?pageSize=10&page=0&actionTypes=LOGOUT,LOGIN")
        .await;
    let actions: Vec<&str> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["actionType"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["LOGOUT", "LOGIN"]);
}
