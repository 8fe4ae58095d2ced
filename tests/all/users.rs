//! Customer users: creation, activation links, rights, enabling, deletion.

use clientele_tests::{PASSWORD, TENANT_ADMIN, TestServer, activation_token, assert_error};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn customer_ref(c: &Value) -> Value {
    json!({"entityType": "CUSTOMER", "id": c["id"]["id"]})
}

#[tokio::test]
async fn an_activated_customer_user_reads_its_customer_and_nothing_more() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let acme = admin.create_customer("Acme").await;
    let other = admin.create_customer("Other").await;
    let acme_id = acme["id"]["id"].as_str().unwrap();
    let jane = admin
        .create_active_user(&server, acme_id, "Jane@Acme.io")
        .await;
    let bob = admin
        .create_active_user(&server, acme_id, "bob@acme.io")
        .await;

    // E-mails are stored lower-case, and login is case-insensitive.
    let user = server.login("JANE@acme.io", PASSWORD).await;
    let me = user.get_ok("/api/auth/user").await;
    assert_eq!(
        (me["email"].as_str(), me["authority"].as_str()),
        (Some("jane@acme.io"), Some("CUSTOMER_USER"))
    );
    assert_eq!(me["customerId"]["id"], acme["id"]["id"]);
    assert_eq!(me["id"]["id"], json!(jane));

    assert_eq!(
        user.get(&format!("/api/customer/{acme_id}")).await.0,
        StatusCode::OK
    );
    user.get_err(
        &format!("/api/customer/{}", other["id"]["id"].as_str().unwrap()),
        403,
        20,
    )
    .await;
    user.post_err("/api/customer", json!({"title": "Mine"}), 403, 20)
        .await;
    let mut edit = acme.clone();
    edit["title"] = json!("Hijacked");
    user.post_err("/api/customer", edit, 403, 20).await;
    user.delete_err(&format!("/api/customer/{acme_id}"), 403, 20)
        .await;
    // Its list of customers: those below its own, none.
    let page = user.get_ok("/api/customers?pageSize=10&page=0").await;
    assert_eq!(page["data"], json!([]), "{page}");

    // Colleagues are readable but not editable; the profile is its own.
    let (status, colleague) = user.get(&format!("/api/user/{bob}")).await;
    assert_eq!(status, StatusCode::OK);
    let mut hijack = colleague.clone();
    hijack["firstName"] = json!("Mallory");
    user.post_err("/api/user", hijack, 403, 20).await;
    let mut mine = me.clone();
    mine["firstName"] = json!("Jane");
    let (status, saved) = user.post("/api/user", mine).await;
    assert_eq!(
        (status, saved["firstName"].as_str()),
        (StatusCode::OK, Some("Jane"))
    );
    assert_eq!(saved["authority"], "CUSTOMER_USER");
    // As ThingsBoard PE sends it: the owner, derived from the customer.
    assert_eq!(saved["ownerId"], customer_ref(&acme));
    let listed = user.get_ok("/api/users?pageSize=10&page=0").await;
    assert_eq!(listed["totalElements"], 2);
    user.post_err("/api/user?sendActivationMail=false",
        json!({"email": "new@acme.io", "authority": "CUSTOMER_USER", "customerId": customer_ref(&acme)}), 403, 20).await;
    user.delete_err(&format!("/api/user/{bob}"), 403, 20).await;
}

#[tokio::test]
async fn activation_links_are_single_use_and_replaced_when_asked_again() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let c = admin.create_customer("Acme").await;
    let user = admin.post_ok("/api/user?sendActivationMail=false", json!({"email": "u@acme.io", "authority": "CUSTOMER_USER", "customerId": customer_ref(&c)})).await;
    let id = user["id"]["id"].as_str().unwrap();
    // Not activated: cannot log in yet.
    let refused = server.try_login("u@acme.io", PASSWORD).await;
    assert_error(&refused, 401, 10);
    assert_eq!(refused.1["message"], "User account is not active");

    let first = admin
        .get_ok(&format!("/api/user/{id}/activationLink"))
        .await;
    let first = first.as_str().unwrap().to_owned();
    assert!(
        first.starts_with(&format!(
            "http://{}/api/noauth/activate?activateToken=",
            server.addr
        )),
        "{first}"
    );
    let info = admin
        .get_ok(&format!("/api/user/{id}/activationLinkInfo"))
        .await;
    assert!(
        info["ttlMs"].as_i64().is_some_and(|t| t > 23 * 3_600_000),
        "{info}"
    );
    let second = info["value"].as_str().unwrap().to_owned();
    assert_ne!(first, second);

    let anon = server.anonymous();
    let stale = server.activate(&activation_token(&first), PASSWORD).await;
    assert_error(&stale, 404, 32);
    let weak = server.activate(&activation_token(&second), "123").await;
    assert_error(&weak, 400, 31);
    let pair = anon
        .post_ok(
            "/api/noauth/activate",
            json!({"activateToken": activation_token(&second), "password": PASSWORD}),
        )
        .await;
    assert!(pair["token"].is_string() && pair["refreshToken"].is_string());
    let again = server.activate(&activation_token(&second), PASSWORD).await;
    assert_error(&again, 400, 31);
    admin
        .get_err(&format!("/api/user/{id}/activationLink"), 400, 31)
        .await;
    server.login("u@acme.io", PASSWORD).await;
}

#[tokio::test]
async fn the_activation_link_opens_the_password_page() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let c = admin.create_customer("Acme").await;
    let user = admin.post_ok("/api/user?sendActivationMail=false", json!({"email": "p@acme.io", "authority": "CUSTOMER_USER", "customerId": customer_ref(&c)})).await;
    let link = admin
        .get_ok(&format!(
            "/api/user/{}/activationLink",
            user["id"]["id"].as_str().unwrap()
        ))
        .await;
    let link = link.as_str().unwrap();
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = no_redirects.get(link).send().await.unwrap();
    assert!(resp.status().is_redirection(), "{}", resp.status());
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(
        location,
        format!(
            "/login/createPassword?activateToken={}",
            activation_token(link)
        )
    );
    let page = reqwest::get(server.url(&location)).await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("/api/noauth/activate"));
    let unknown = no_redirects
        .get(server.url("/api/noauth/activate?activateToken=nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn asking_to_mail_the_link_without_a_mail_server_creates_nothing() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let c = admin.create_customer("Acme").await;
    let cid = c["id"]["id"].as_str().unwrap();
    let refused = admin
        .post("/api/user?sendActivationMail=true", json!({"email": "m@acme.io", "authority": "CUSTOMER_USER", "customerId": customer_ref(&c)}))
        .await;
    assert_error(&refused, 400, 31);
    assert!(
        refused.1["message"]
            .as_str()
            .unwrap()
            .contains("Mail server is not configured")
    );
    let users = admin
        .get_ok(&format!("/api/customer/{cid}/users?pageSize=10&page=0"))
        .await;
    assert_eq!(users["totalElements"], 0);
    // The address is still free.
    admin.create_active_user(&server, cid, "m@acme.io").await;
}

#[tokio::test]
async fn disabling_a_user_revokes_its_tokens_until_enabled_again() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let c = admin.create_customer("Acme").await;
    let id = admin
        .create_active_user(&server, c["id"]["id"].as_str().unwrap(), "d@acme.io")
        .await;
    let user = server.login("d@acme.io", PASSWORD).await;
    let off = admin
        .post(
            &format!("/api/user/{id}/userCredentialsEnabled?userCredentialsEnabled=False"),
            json!({}),
        )
        .await;
    assert_eq!(off.0, StatusCode::OK, "{}", off.1);
    user.get_err("/api/auth/user", 401, 10).await;
    let login = server.try_login("d@acme.io", PASSWORD).await;
    assert_error(&login, 401, 10);
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
    let again = server.login("d@acme.io", PASSWORD).await;
    assert_eq!(again.get("/api/auth/user").await.0, StatusCode::OK);
}

#[tokio::test]
async fn users_are_listed_per_customer_searched_and_deleted() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let a = admin.create_customer("A").await;
    let b = admin.create_customer("B").await;
    let (aid, bid) = (
        a["id"]["id"].as_str().unwrap(),
        b["id"]["id"].as_str().unwrap(),
    );
    for email in ["zed@a.io", "amy@a.io", "max@a.io"] {
        admin.create_active_user(&server, aid, email).await;
    }
    let only_b = admin.create_active_user(&server, bid, "bea@b.io").await;
    let page = admin
        .get_ok(&format!(
            "/api/customer/{aid}/users?pageSize=2&page=0&sortProperty=email"
        ))
        .await;
    let emails: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["amy@a.io", "max@a.io"]);
    assert_eq!(
        (page["totalElements"].as_u64(), page["hasNext"].as_bool()),
        (Some(3), Some(true))
    );
    let all = admin
        .get_ok("/api/users?pageSize=50&page=0&textSearch=B.IO")
        .await;
    assert_eq!(all["totalElements"], 1);
    assert_eq!(
        admin.delete(&format!("/api/user/{only_b}")).await.0,
        StatusCode::OK
    );
    admin.get_err(&format!("/api/user/{only_b}"), 404, 32).await;
    let b_users = admin
        .get_ok(&format!("/api/customer/{bid}/users?pageSize=10&page=0"))
        .await;
    assert_eq!(b_users["totalElements"], 0);
}

#[tokio::test]
async fn the_last_tenant_administrator_cannot_be_deleted() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let me = admin.get_ok("/api/auth/user").await;
    let my_id = me["id"]["id"].as_str().unwrap();
    let refused = admin.delete(&format!("/api/user/{my_id}")).await;
    assert_error(&refused, 400, 31);
    assert_eq!(
        refused.1["message"],
        "At least one tenant administrator must remain!"
    );
    let second = admin
        .post_ok(
            "/api/user?sendActivationMail=false",
            json!({"email": "second@tenant-one.io", "authority": "TENANT_ADMIN"}),
        )
        .await;
    assert_eq!(second["tenantId"], me["tenantId"]);
    // Not the last one now, but no one deletes itself.
    let refused = admin.delete(&format!("/api/user/{my_id}")).await;
    assert_error(&refused, 400, 31);
    assert_eq!(refused.1["message"], "A user can't delete itself!");
    assert_eq!(
        admin
            .delete(&format!(
                "/api/user/{}",
                second["id"]["id"].as_str().unwrap()
            ))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        server
            .login(TENANT_ADMIN, PASSWORD)
            .await
            .get("/api/auth/user")
            .await
            .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn nobody_creates_a_system_administrator() {
    let server = TestServer::start().await;
    let sys = server.sysadmin().await;
    let admin = server.tenant_admin().await;
    for client in [&sys, &admin] {
        let result = client
            .post(
                "/api/user?sendActivationMail=false",
                json!({"email": "root2@test.io", "authority": "SYS_ADMIN"}),
            )
            .await;
        assert_error(&result, 403, 20);
    }
    // Nothing was created: the address is still free for a tenant administrator.
    let me = admin.get_ok("/api/auth/user").await;
    sys.post_ok(
        "/api/user?sendActivationMail=false",
        json!({"email": "root2@test.io", "authority": "TENANT_ADMIN", "tenantId": me["tenantId"]}),
    )
    .await;
}
