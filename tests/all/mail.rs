//! Activation and reset mails through a real SMTP server on loopback.

use clientele_tests::smtp::{SmtpSink, link_in};
use clientele_tests::{PASSWORD, TestServer, assert_error, smtp_settings};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn the_mailed_activation_link_activates_the_user() {
    let sink = SmtpSink::start();
    let server = TestServer::start_with(|s| s.smtp = Some(smtp_settings(sink.port))).await;
    let admin = server.tenant_admin().await;
    let c = admin.create_customer("Mailed").await;
    admin.post_ok("/api/user", json!({"email": "mailed@acme.io", "authority": "CUSTOMER_USER", "customerId": {"id": c["id"]["id"]}})).await;
    let mails = sink.wait_for(1).await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("To: mailed@acme.io"), "{}", mails[0]);
    let link = link_in(&mails[0]);
    assert!(
        link.contains("/api/noauth/activate?activateToken="),
        "{link}"
    );

    // Following the link lands on the password page, which activates with the token.
    let page = reqwest::get(&link).await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let token = page
        .url()
        .query_pairs()
        .find(|(k, _)| k == "activateToken")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let (status, _) = server.activate(&token, PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    server.login("mailed@acme.io", PASSWORD).await;
}

#[tokio::test]
async fn a_mail_server_that_refuses_leaves_no_user_behind() {
    // Nothing listens on this port: the mail cannot be sent.
    let dead_port = clientele_tests::smtp::free_port();
    let server = TestServer::start_with(|s| s.smtp = Some(smtp_settings(dead_port))).await;
    let admin = server.tenant_admin().await;
    let c = admin.create_customer("Unlucky").await;
    let cid = c["id"]["id"].as_str().unwrap();
    let failed = admin
        .post("/api/user", json!({"email": "lost@acme.io", "authority": "CUSTOMER_USER", "customerId": {"id": cid}}))
        .await;
    assert_error(&failed, 500, 2);
    assert_eq!(failed.1["message"], "Couldn't send user activation email");
    let users = admin
        .get_ok(&format!("/api/customer/{cid}/users?pageSize=10&page=0"))
        .await;
    assert_eq!(users["totalElements"], 0);
    // The undo is on record, in the creator's name.
    let log = admin
        .get_ok("/api/audit/logs?pageSize=10&page=0&actionTypes=DELETED")
        .await;
    assert_eq!(log["data"][0]["entityName"], "lost@acme.io", "{log}");
    assert_eq!(log["data"][0]["userName"], clientele_tests::TENANT_ADMIN);
}

#[tokio::test]
async fn a_password_reset_by_mail_sets_a_new_password_and_revokes_old_tokens() {
    let sink = SmtpSink::start();
    let server = TestServer::start_with(|s| s.smtp = Some(smtp_settings(sink.port))).await;
    let admin = server.tenant_admin().await;
    let c = admin.create_customer("Forgetful").await;
    admin
        .create_active_user(&server, c["id"]["id"].as_str().unwrap(), "f@acme.io")
        .await;
    let session = server.login("f@acme.io", PASSWORD).await;

    let anon = server.anonymous();
    // Unknown addresses get the same answer and no mail.
    assert_eq!(
        anon.post(
            "/api/noauth/resetPasswordByEmail",
            json!({"email": "nobody@acme.io"})
        )
        .await
        .0,
        StatusCode::OK
    );
    assert_eq!(
        anon.post(
            "/api/noauth/resetPasswordByEmail",
            json!({"email": "F@acme.io"})
        )
        .await
        .0,
        StatusCode::OK
    );
    let mails = sink.wait_for(1).await;
    assert_eq!(mails.len(), 1, "exactly one mail, for the known address");
    assert!(mails[0].contains("To: f@acme.io"));
    let link = link_in(&mails[0]);
    let page = reqwest::get(&link).await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.url().path().ends_with("/login/resetPassword"),
        "{}",
        page.url()
    );
    let token = page
        .url()
        .query_pairs()
        .find(|(k, _)| k == "resetToken")
        .map(|(_, v)| v.into_owned())
        .unwrap();

    anon.post_ok(
        "/api/noauth/resetPassword",
        json!({"resetToken": token, "password": "Brand-new-1"}),
    )
    .await;
    session.get_err("/api/auth/user", 401, 10).await;
    server.login("f@acme.io", "Brand-new-1").await;
    let reused = anon
        .post(
            "/api/noauth/resetPassword",
            json!({"resetToken": token, "password": "Other-pass-2"}),
        )
        .await;
    assert_error(&reused, 404, 32);
}

#[tokio::test]
async fn a_reset_without_a_mail_server_says_so() {
    let server = TestServer::start().await;
    let refused = server
        .anonymous()
        .post(
            "/api/noauth/resetPasswordByEmail",
            json!({"email": "a@b.io"}),
        )
        .await;
    assert_error(&refused, 400, 31);
}
