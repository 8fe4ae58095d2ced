//! Bad input of every kind: each gets ThingsBoard's status and error code,
//! and the store is left as it was.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use clientele::config::Settings;
use clientele_tests::{
    Client, PASSWORD, SYSADMIN, TENANT_ADMIN, TestServer, activation_token, assert_error, id,
};

fn unknown_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Sends a raw body with the given Content-Type (or none), with the
/// client's token, and reads the answer as [`Client::call`] does.
async fn send(
    client: &Client,
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> (StatusCode, Value) {
    let mut req = client.request(method, path).body(body);
    if let Some(ct) = content_type {
        req = req.header(header::CONTENT_TYPE, ct);
    }
    clientele_tests::reply(req).await
}

async fn post_json_text(client: &Client, path: &str, body: &str) -> (StatusCode, Value) {
    send(
        client,
        Method::POST,
        path,
        Some("application/json"),
        body.to_owned(),
    )
    .await
}

/// Every customer and user the tenant administrator can see.
async fn state(admin: &Client) -> Value {
    let customers = admin.get_ok("/api/customers?pageSize=1000&page=0").await;
    let users = admin.get_ok("/api/users?pageSize=1000&page=0").await;
    json!({"customers": customers, "users": users})
}

fn assert_message(result: &(StatusCode, Value), message: &str) {
    assert_eq!(result.1["message"], message, "{}", result.1);
}

fn assert_message_contains(result: &(StatusCode, Value), part: &str) {
    let message = result.1["message"].as_str().unwrap_or("");
    assert!(message.contains(part), "{part:?} not in {}", result.1);
}

/// A customer with one user, so that lists are not trivially empty.
async fn seeded(server: &TestServer) -> (Client, Value, String) {
    let admin = server.tenant_admin().await;
    let customer = admin.create_customer("Seed Co").await;
    let user = admin
        .create_active_user(server, &id(&customer), "seed@user.test")
        .await;
    (admin, customer, user)
}

fn b64_json(part: &str) -> Value {
    let bytes = URL_SAFE_NO_PAD.decode(part).expect("base64url");
    serde_json::from_slice(&bytes).expect("json")
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

#[tokio::test]
async fn malformed_json_is_refused_with_code_31_and_nothing_is_stored() {
    let server = TestServer::start().await;
    let (admin, _, _) = seeded(&server).await;
    let before = state(&admin).await;
    for body in [
        r#"{"title": "Half"#,
        r#"{title: "Unquoted"}"#,
        r#"{"title": "Trailing",}"#,
        "",
        "not json at all",
    ] {
        let result = post_json_text(&admin, "/api/customer", body).await;
        assert_error(&result, 400, 31);
        let result = post_json_text(&admin, "/api/user?sendActivationMail=false", body).await;
        assert_error(&result, 400, 31);
    }
    let result = post_json_text(&server.anonymous(), "/api/auth/login", r#"{"username":"#).await;
    assert_error(&result, 400, 31);
    assert_eq!(state(&admin).await, before);
}

#[tokio::test]
async fn json_of_the_wrong_shape_or_types_is_refused() {
    let server = TestServer::start().await;
    let (admin, customer, user) = seeded(&server).await;
    let before = state(&admin).await;
    let cid = id(&customer);
    for body in [
        json!({"title": 42}),
        json!({"title": ["Listed"]}),
        json!({"title": {"text": "Nested"}}),
        json!({"title": "Bad id", "id": "not-a-uuid"}),
        json!({"title": "Bad id", "id": {"entityType": "CUSTOMER", "id": "not-a-uuid"}}),
        json!({"title": "Bad id", "id": {"entityType": "CUSTOMER", "id": 7}}),
        json!({"title": "Wrong type", "id": {"entityType": "DEVICE", "id": cid}}),
        json!({"title": "Bad version", "version": "one"}),
        json!({"title": "Bad city", "city": 12}),
        json!({"title": "Bad info", "additionalInfo": "text"}),
        json!([{"title": "In a list"}]),
        json!("Just a string"),
        json!(null),
    ] {
        let result = admin.post("/api/customer", body.clone()).await;
        assert_error(&result, 400, 31);
    }
    for body in [
        json!({"email": 5, "authority": "CUSTOMER_USER",
               "customerId": {"entityType": "CUSTOMER", "id": cid}}),
        json!({"email": "king@user.test", "authority": "KING",
               "customerId": {"entityType": "CUSTOMER", "id": cid}}),
        json!({"email": "bad.customer@user.test", "authority": "CUSTOMER_USER",
               "customerId": {"entityType": "CUSTOMER", "id": "nope"}}),
        json!({"email": "bad.id@user.test", "authority": "CUSTOMER_USER",
               "customerId": {"entityType": "CUSTOMER", "id": cid}, "id": {"id": "nope"}}),
        json!({"id": {"entityType": "USER", "id": user}, "email": "seed@user.test",
               "firstName": 3}),
    ] {
        let result = admin
            .post("/api/user?sendActivationMail=false", body.clone())
            .await;
        assert_error(&result, 400, 31);
    }
    let result = admin
        .post(
            "/api/auth/login",
            json!({"username": TENANT_ADMIN, "password": 123456}),
        )
        .await;
    assert_error(&result, 400, 31);
    assert_eq!(state(&admin).await, before);
}

#[tokio::test]
async fn rest_telemetry_that_is_not_json_or_of_the_wrong_shape_is_refused_and_stores_nothing() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let device = admin.create_device("Meter", "METER_TOKEN", false).await;
    let base = format!("/api/plugins/telemetry/DEVICE/{device}");
    let save = format!("{base}/timeseries/ANY");
    for body in [
        r#"{"kwh":"#,
        "42",
        r#"[{"kwh":1},3]"#,
        r#"{"ts":"yesterday","values":{"kwh":1}}"#,
        r#"{"kwh":1,"":2}"#,
    ] {
        let result = post_json_text(&admin, &save, body).await;
        assert_error(&result, 400, 31);
    }
    assert_eq!(
        admin.get_ok(&format!("{base}/keys/timeseries")).await,
        json!([])
    );
    // The timed form keeps its own times.
    admin
        .post_ok(
            &save,
            json!([{"ts": 1000, "values": {"kwh": 1}}, {"ts": 2000, "values": {"kwh": 2}}]),
        )
        .await;
    let read = admin
        .get_ok(&format!(
            "{base}/values/timeseries?keys=kwh&startTs=0&endTs=3000&orderBy=ASC"
        ))
        .await;
    let times: Vec<i64> = read["kwh"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["ts"].as_i64().unwrap())
        .collect();
    assert_eq!(times, [1000, 2000]);
}

#[tokio::test]
async fn a_body_without_a_json_content_type_is_refused() {
    let server = TestServer::start().await;
    let (admin, _, _) = seeded(&server).await;
    let before = state(&admin).await;
    let body = json!({"title": "No Content Type"}).to_string();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let result = send(
            &admin,
            Method::POST,
            "/api/customer",
            content_type,
            body.clone(),
        )
        .await;
        assert_error(&result, 400, 31);
    }
    assert_eq!(state(&admin).await, before);
    let result = admin
        .get("/api/tenant/customers?customerTitle=No%20Content%20Type")
        .await;
    assert_error(&result, 404, 32);
}

#[tokio::test]
async fn an_oversized_body_gets_413_with_code_31() {
    let server = TestServer::start_with(|settings| settings.http.max_body_bytes = 4096).await;
    let (admin, _, _) = seeded(&server).await;
    let before = state(&admin).await;
    let big = json!({"title": "Big Co", "additionalInfo": {"description": "x".repeat(10 * 1024)}});
    assert!(big.to_string().len() > 10_000);
    let result = admin.post("/api/customer", big).await;
    assert_error(&result, 413, 31);
    let result = admin
        .post(
            "/api/user?sendActivationMail=false",
            json!({"email": "big@user.test", "authority": "TENANT_ADMIN",
                   "additionalInfo": {"description": "y".repeat(10 * 1024)}}),
        )
        .await;
    assert_error(&result, 413, 31);
    assert_eq!(state(&admin).await, before);
    // The limit is the only reason: the same request under it is accepted.
    let small = json!({"title": "Big Co", "additionalInfo": {"description": "x".repeat(3 * 1024)}});
    admin.post_ok("/api/customer", small).await;
}

#[tokio::test]
async fn unknown_ids_get_404_with_code_32() {
    let server = TestServer::start().await;
    let (admin, _, _) = seeded(&server).await;
    let before = state(&admin).await;
    let unknown = unknown_id();
    for path in [
        format!("/api/customer/{unknown}"),
        format!("/api/customer/{unknown}/shortInfo"),
        format!("/api/customer/{unknown}/title"),
        format!("/api/customer/{unknown}/users?pageSize=10&page=0"),
        format!("/api/user/{unknown}"),
        format!("/api/user/{unknown}/activationLink"),
    ] {
        let result = admin.get(&path).await;
        assert_error(&result, 404, 32);
        assert_message(&result, "Requested item wasn't found!");
    }
    for path in [
        format!("/api/customer/{unknown}"),
        format!("/api/user/{unknown}"),
    ] {
        admin.delete_err(&path, 404, 32).await;
    }
    assert_eq!(state(&admin).await, before);
}

#[tokio::test]
async fn invalid_uuids_in_the_path_or_in_customer_ids_get_400_with_code_31() {
    let server = TestServer::start().await;
    let (admin, customer, _) = seeded(&server).await;
    let before = state(&admin).await;
    let cid = id(&customer);
    for bad in ["not-a-uuid", "1234", "13814000-1dd2-11b2-8080-80808080808Z"] {
        for path in [
            format!("/api/customer/{bad}"),
            format!("/api/customer/{bad}/shortInfo"),
            format!("/api/customer/{bad}/title"),
            format!("/api/customer/{bad}/users?pageSize=10&page=0"),
            format!("/api/user/{bad}"),
            format!("/api/customers?customerIds={bad}"),
            format!("/api/customers?customerIds={cid},{bad}"),
        ] {
            let result = admin.get(&path).await;
            assert_error(&result, 400, 31);
            assert_message_contains(&result, bad);
        }
        admin
            .delete_err(&format!("/api/customer/{bad}"), 400, 31)
            .await;
        admin.delete_err(&format!("/api/user/{bad}"), 400, 31).await;
        admin
            .delete_err(&format!("/api/customers?customerIds={cid},{bad}"), 400, 31)
            .await;
    }
    assert_eq!(state(&admin).await, before);
}

#[tokio::test]
async fn duplicate_customer_titles_and_user_emails_are_refused() {
    let server = TestServer::start().await;
    let (admin, customer, user) = seeded(&server).await;
    let other = admin.create_customer("Other Co").await;
    let before = state(&admin).await;

    let result = admin
        .post("/api/customer", json!({"title": "Seed Co"}))
        .await;
    assert_error(&result, 400, 31);
    assert_message(&result, "Customer with such title already exists!");
    // Renaming onto a taken title is refused as well.
    let mut renamed = other.clone();
    renamed["title"] = json!("Seed Co");
    let result = admin.post("/api/customer", renamed).await;
    assert_error(&result, 400, 31);
    assert_message(&result, "Customer with such title already exists!");

    let cid = id(&customer);
    for email in ["seed@user.test", "SEED@User.Test", TENANT_ADMIN, SYSADMIN] {
        let result = admin
            .post(
                "/api/user?sendActivationMail=false",
                json!({"email": email, "authority": "CUSTOMER_USER",
                       "customerId": {"entityType": "CUSTOMER", "id": cid}}),
            )
            .await;
        assert_error(&result, 400, 31);
        assert_message_contains(&result, "already present in database!");
    }
    // Nor can an existing user take another's e-mail.
    let seed = admin.get_ok(&format!("/api/user/{user}")).await;
    let mut taken = seed.clone();
    taken["email"] = json!(TENANT_ADMIN);
    let result = admin.post("/api/user", taken).await;
    assert_error(&result, 400, 31);
    assert_message(
        &result,
        &format!("User with email '{TENANT_ADMIN}' already present in database!"),
    );
    assert_eq!(state(&admin).await, before);
}

#[tokio::test]
async fn blank_reserved_overlong_and_markup_fields_are_refused() {
    let server = TestServer::start().await;
    let (admin, _, _) = seeded(&server).await;
    let before = state(&admin).await;
    let long = "t".repeat(256);
    let cases = [
        (json!({"title": ""}), "Customer title should be specified!"),
        (
            json!({"title": "   "}),
            "Customer title should be specified!",
        ),
        (json!({}), "Customer title should be specified!"),
        (
            json!({"title": "Public"}),
            "'Public' title for customer is system reserved!",
        ),
        (
            json!({"title": long}),
            "Validation error: title length must be equal or less than 255",
        ),
        (
            json!({"title": "Long City", "city": "c".repeat(256)}),
            "Validation error: city length must be equal or less than 255",
        ),
        (
            json!({"title": "<script>alert(1)</script>"}),
            "Validation error: title is malformed",
        ),
        (
            json!({"title": "Markup Address", "address": "<img src=x onerror=alert(1)>"}),
            "Validation error: address is malformed",
        ),
        (
            json!({"title": "Nul\u{0}Co"}),
            "Validation error: title should not contain 0x00 symbol",
        ),
    ];
    for (body, message) in cases {
        let result = admin.post("/api/customer", body.clone()).await;
        assert_error(&result, 400, 31);
        assert_message(&result, message);
    }
    let result = admin
        .post(
            "/api/user?sendActivationMail=false",
            json!({"email": "long.name@user.test", "authority": "TENANT_ADMIN",
                   "firstName": "f".repeat(256)}),
        )
        .await;
    assert_error(&result, 400, 31);
    assert_eq!(state(&admin).await, before);

    // The limits are exact: 255 characters are accepted.
    admin
        .post_ok(
            "/api/customer",
            json!({"title": "t".repeat(255), "city": "c".repeat(255)}),
        )
        .await;
}

#[tokio::test]
async fn invalid_emails_are_refused_on_customers_and_users() {
    let server = TestServer::start().await;
    let (admin, customer, _) = seeded(&server).await;
    let before = state(&admin).await;
    let cid = id(&customer);
    for email in [
        "not-an-email",
        "a@b",
        "a@@b.io",
        "a b@c.io",
        "@b.io",
        "a@b.c",
    ] {
        let result = admin
            .post("/api/customer", json!({"title": "Mail Co", "email": email}))
            .await;
        assert_error(&result, 400, 31);
        assert_message(&result, &format!("Invalid email address format '{email}'!"));
        let result = admin
            .post(
                "/api/user?sendActivationMail=false",
                json!({"email": email, "authority": "CUSTOMER_USER",
                       "customerId": {"entityType": "CUSTOMER", "id": cid}}),
            )
            .await;
        assert_error(&result, 400, 31);
        assert_message(&result, &format!("Invalid email address format '{email}'!"));
    }
    let result = admin
        .post(
            "/api/user?sendActivationMail=false",
            json!({"authority": "CUSTOMER_USER",
                   "customerId": {"entityType": "CUSTOMER", "id": cid}}),
        )
        .await;
    assert_error(&result, 400, 31);
    assert_message(&result, "User email should be specified!");
    assert_eq!(state(&admin).await, before);
}

#[tokio::test]
async fn bad_paging_parameters_are_refused() {
    let server = TestServer::start().await;
    let (admin, customer, _) = seeded(&server).await;
    let cid = id(&customer);
    let before = state(&admin).await;
    let lists = [
        "/api/customers".to_owned(),
        "/api/users".to_owned(),
        format!("/api/customer/{cid}/users"),
        "/api/audit/logs".to_owned(),
    ];
    for list in &lists {
        for query in [
            "pageSize=0&page=0",
            "pageSize=-1&page=0",
            "pageSize=-10&page=0",
            "pageSize=ten&page=0",
            "pageSize=1.5&page=0",
            "pageSize=1001&page=0",
            "pageSize=99999999999999999999999&page=0",
            "page=0",
            "pageSize=&page=0",
            "pageSize=10",
            "pageSize=10&page=-1",
            "pageSize=10&page=x",
            "pageSize=10&page=0&sortProperty=password",
            "pageSize=10&page=0&sortProperty=title%3Bdrop",
            "pageSize=10&page=0&sortOrder=SIDEWAYS",
        ] {
            let result = admin.get(&format!("{list}?{query}")).await;
            assert_error(&result, 400, 31);
        }
        // The cap itself is allowed.
        let (status, body) = admin.get(&format!("{list}?pageSize=1000&page=0")).await;
        assert_eq!(status, StatusCode::OK, "{list}: {body}");
    }
    let result = admin.get("/api/customers?page=0").await;
    assert_message_contains(&result, "pageSize");
    let result = admin.get("/api/customers?pageSize=1001&page=0").await;
    assert_message_contains(&result, "1000");
    assert_eq!(state(&admin).await, before);
}

#[tokio::test]
async fn a_stale_version_conflicts_while_a_null_version_overwrites() {
    let server = TestServer::start().await;
    let (admin, customer, user) = seeded(&server).await;
    let cid = id(&customer);
    assert_eq!(customer["version"], 1);

    let mut update = customer.clone();
    update["city"] = json!("Lviv");
    let v2 = admin.post_ok("/api/customer", update).await;
    assert_eq!(v2["version"], 2);

    // A second writer still holding version 1.
    let before = state(&admin).await;
    let mut stale = customer.clone();
    stale["city"] = json!("Odesa");
    let result = admin.post("/api/customer", stale.clone()).await;
    assert_error(&result, 409, 35);
    assert_message(&result, "Customer was already changed by someone else");
    stale["version"] = json!(99);
    admin
        .post_err("/api/customer", stale.clone(), 409, 35)
        .await;
    assert_eq!(state(&admin).await, before);
    let now = admin.get_ok(&format!("/api/customer/{cid}")).await;
    assert_eq!(now, v2);

    // A null (or absent) version means "overwrite whatever is there".
    stale["version"] = Value::Null;
    let v3 = admin.post_ok("/api/customer", stale.clone()).await;
    assert_eq!(
        (v3["city"].clone(), v3["version"].clone()),
        (json!("Odesa"), json!(3))
    );
    stale.as_object_mut().expect("object").remove("version");
    stale["city"] = json!("Kharkiv");
    let v4 = admin.post_ok("/api/customer", stale).await;
    assert_eq!(
        (v4["city"].clone(), v4["version"].clone()),
        (json!("Kharkiv"), json!(4))
    );

    // Users follow the same rule.
    let seed = admin.get_ok(&format!("/api/user/{user}")).await;
    let mut renamed = seed.clone();
    renamed["firstName"] = json!("Fresh");
    let fresh = admin.post_ok("/api/user", renamed).await;
    let mut stale_user = seed.clone();
    stale_user["firstName"] = json!("Stale");
    let result = admin.post("/api/user", stale_user.clone()).await;
    assert_error(&result, 409, 35);
    assert_message(&result, "User was already changed by someone else");
    let now = admin.get_ok(&format!("/api/user/{user}")).await;
    assert_eq!(now, fresh);
    stale_user["version"] = Value::Null;
    let forced = admin.post_ok("/api/user", stale_user).await;
    assert_eq!(forced["firstName"], "Stale");
}

#[tokio::test]
async fn updating_a_customer_that_does_not_exist_is_refused_without_creating_it() {
    let server = TestServer::start().await;
    let (admin, _, _) = seeded(&server).await;
    let before = state(&admin).await;
    let ghost = unknown_id();
    let result = admin
        .post(
            "/api/customer",
            json!({"id": {"entityType": "CUSTOMER", "id": ghost}, "title": "Ghost Co"}),
        )
        .await;
    assert_error(&result, 400, 31);
    assert_message(&result, "Can't update non existing customer!");
    assert_eq!(state(&admin).await, before);
    admin
        .get_err(&format!("/api/customer/{ghost}"), 404, 32)
        .await;
    let result = admin
        .get("/api/tenant/customers?customerTitle=Ghost%20Co")
        .await;
    assert_error(&result, 404, 32);
    // Updating an unknown user is refused too, and creates nobody.
    let result = admin
        .post(
            "/api/user",
            json!({"id": {"entityType": "USER", "id": ghost}, "email": "ghost@user.test",
                   "authority": "TENANT_ADMIN"}),
        )
        .await;
    assert_error(&result, 404, 32);
    assert_eq!(state(&admin).await, before);
}

#[tokio::test]
async fn requests_without_a_token_or_with_a_garbage_token_are_unauthorized() {
    let server = TestServer::start().await;
    let (admin, _, _) = seeded(&server).await;
    let before = state(&admin).await;
    let anonymous = server.anonymous();
    let create = json!({"title": "Anonymous Co"});

    let result = anonymous.get("/api/customers?pageSize=10&page=0").await;
    assert_error(&result, 401, 10);
    anonymous
        .post_err("/api/customer", create.clone(), 401, 10)
        .await;
    anonymous.get_err("/api/auth/user", 401, 10).await;
    for token in [
        "garbage",
        "a.b.c",
        "eyJhbGciOiJIUzUxMiJ9.e30.AAAA",
        "Bearer",
        "null",
    ] {
        let client = server.with_token(token);
        client.get_err("/api/auth/user", 401, 10).await;
        client
            .post_err("/api/customer", create.clone(), 401, 10)
            .await;
    }
    // Other schemes and empty values are no token at all.
    for value in ["Basic YWRtaW46YWRtaW4=", "Bearer ", "", "Token abc"] {
        let resp = admin
            .http
            .get(server.url("/api/auth/user"))
            .header("X-Authorization", value)
            .send()
            .await
            .expect("request");
        let status = resp.status();
        let body: Value = resp.json().await.expect("json");
        assert_error(&(status, body), 401, 10);
    }
    assert_eq!(state(&admin).await, before);
}

#[tokio::test]
async fn tokens_with_a_tampered_payload_or_from_another_installation_are_refused() {
    let server = TestServer::start().await;
    let (admin, _, _) = seeded(&server).await;
    let sys = server.sysadmin().await;
    let sys_me = sys.get_ok("/api/auth/user").await;
    let before = state(&admin).await;

    let token = admin.token.clone().expect("token");
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "{token}");
    let me = admin.get_ok("/api/auth/user").await;

    // Edit the payload's text in place, so that only the edited claim differs.
    let payload =
        String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).expect("base64url")).expect("utf-8");
    assert_eq!(URL_SAFE_NO_PAD.encode(&payload), parts[1]);
    let claims: Value = serde_json::from_str(&payload).expect("claims");
    let user_id = claims["userId"].as_str().expect("userId");
    let tenant_id = claims["tenantId"].as_str().expect("tenantId");
    assert_eq!(user_id, id(&me));
    let exp = claims["exp"].as_i64().expect("exp");
    let as_sysadmin = payload
        .replace(user_id, sys_me["id"]["id"].as_str().expect("sysadmin id"))
        .replace(tenant_id, "13814000-1dd2-11b2-8080-808080808080")
        .replace("\"TENANT_ADMIN\"", "\"SYS_ADMIN\"")
        .replace(TENANT_ADMIN, SYSADMIN);
    let other_user = payload.replace(user_id, &unknown_id());
    let other_tenant = payload.replace(tenant_id, &unknown_id());
    let longer = payload.replace(
        &format!("\"exp\":{exp}"),
        &format!("\"exp\":{}", exp + 3600),
    );
    for forged in [as_sysadmin, other_user, other_tenant, longer] {
        assert_ne!(forged, payload, "the edit changed nothing");
        let tampered = format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(&forged),
            parts[2]
        );
        let client = server.with_token(&tampered);
        client.get_err("/api/auth/user", 401, 10).await;
        client
            .get_err("/api/tenants?pageSize=10&page=0", 401, 10)
            .await;
        let result = client
            .post("/api/customer", json!({"title": "Forged Co"}))
            .await;
        assert_error(&result, 401, 10);
    }
    // A flipped signature byte.
    let mut sig = parts[2].to_owned();
    let flip = if &sig[10..11] == "A" { "B" } else { "A" };
    sig.replace_range(10..11, flip);
    let flipped = format!("{}.{}.{sig}", parts[0], parts[1]);
    server
        .with_token(&flipped)
        .get_err("/api/auth/user", 401, 10)
        .await;

    // A valid token of another installation (its own secret).
    let elsewhere = TestServer::start().await;
    let foreign = elsewhere.tenant_admin().await;
    let client = server.with_token(foreign.token.as_deref().expect("token"));
    client.get_err("/api/auth/user", 401, 10).await;
    assert_eq!(state(&admin).await, before);
}

#[tokio::test]
async fn an_unsigned_alg_none_token_is_refused() {
    let server = TestServer::start().await;
    let (admin, _, _) = seeded(&server).await;
    let before = state(&admin).await;
    let token = admin.token.clone().expect("token");
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(b64_json(parts[0])["alg"], "HS512");
    for alg in ["none", "None", "NONE"] {
        let header = b64(&json!({"alg": alg, "typ": "JWT"}));
        for unsigned in [
            format!("{header}.{}.", parts[1]),
            format!("{header}.{}", parts[1]),
            format!("{header}.{}.{}", parts[1], parts[2]),
        ] {
            let client = server.with_token(&unsigned);
            client.get_err("/api/auth/user", 401, 10).await;
            let result = client
                .post("/api/customer", json!({"title": "Unsigned Co"}))
                .await;
            assert_error(&result, 401, 10);
        }
    }
    assert_eq!(state(&admin).await, before);
}

#[tokio::test]
async fn a_refresh_token_is_not_an_access_token() {
    let server = TestServer::start().await;
    let (admin, _, _) = seeded(&server).await;
    let before = state(&admin).await;
    let (status, pair) = server.try_login(TENANT_ADMIN, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{pair}");
    let refresh = pair["refreshToken"].as_str().expect("refresh token");
    let client = server.with_token(refresh);
    client.get_err("/api/auth/user", 401, 10).await;
    client
        .post_err("/api/customer", json!({"title": "Refresh Co"}), 401, 10)
        .await;
    // And the other way round: an access token does not refresh.
    let result = server
        .anonymous()
        .post("/api/auth/token", json!({"refreshToken": pair["token"]}))
        .await;
    assert_error(&result, 401, 10);
    // The refresh token itself is fine where it belongs.
    server
        .anonymous()
        .post_ok("/api/auth/token", json!({"refreshToken": refresh}))
        .await;
    assert_eq!(state(&admin).await, before);
}

#[tokio::test]
async fn an_expired_access_token_gets_code_11() {
    let server = TestServer::start_with(|settings| settings.jwt.access_ttl_s = -10).await;
    let admin = server.tenant_admin().await;
    let result = admin.get("/api/auth/user").await;
    assert_error(&result, 401, 11);
    assert_message(&result, "Token has expired");
    admin
        .get_err("/api/customers?pageSize=10&page=0", 401, 11)
        .await;
    let result = admin
        .post("/api/customer", json!({"title": "Expired Co"}))
        .await;
    assert_error(&result, 401, 11);

    // Restarted with ordinary lifetimes, the store shows nothing was created.
    let dir = server.stop().await;
    let settings = Settings {
        data_dir: dir.path().to_path_buf(),
        http_addr: "127.0.0.1:0".parse().expect("addr"),
        sysadmin_email: SYSADMIN.into(),
        sysadmin_password: Some(PASSWORD.into()),
        tenant_admin_email: TENANT_ADMIN.into(),
        tenant_admin_password: Some(PASSWORD.into()),
        ..Settings::default()
    };
    let server = TestServer::start_in(dir, settings).await;
    let admin = server.tenant_admin().await;
    let page = admin.get_ok("/api/customers?pageSize=10&page=0").await;
    assert_eq!(page["totalElements"], 0, "{page}");
}

/// A customer user created without mail, and its activation token.
async fn pending_user(admin: &Client, customer: &str, email: &str) -> (String, String) {
    let user = admin
        .post_ok(
            "/api/user?sendActivationMail=false",
            json!({"email": email, "authority": "CUSTOMER_USER",
                   "customerId": {"entityType": "CUSTOMER", "id": customer}}),
        )
        .await;
    let uid = id(&user);
    let link = admin
        .get_ok(&format!("/api/user/{uid}/activationLink"))
        .await;
    (uid, activation_token(link.as_str().expect("link text")))
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// GETs the activation link without following it: status and Location.
async fn open_link(server: &TestServer, token: &str) -> (StatusCode, String) {
    let resp = no_redirects()
        .get(server.url(&format!("/api/noauth/activate?activateToken={token}")))
        .send()
        .await
        .expect("request");
    let location = resp
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (resp.status(), location)
}

fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 303 | 307 | 308)
}

#[tokio::test]
async fn an_activation_token_works_only_once() {
    let server = TestServer::start().await;
    let (admin, customer, _) = seeded(&server).await;
    let (_, token) = pending_user(&admin, &id(&customer), "once@user.test").await;

    let (status, location) = open_link(&server, &token).await;
    assert!(is_redirect(status), "{status}");
    assert!(location.contains("/login/createPassword"), "{location}");
    assert!(location.contains(&token), "{location}");

    let anonymous = server.anonymous();
    let pair = anonymous
        .post_ok(
            "/api/noauth/activate",
            json!({"activateToken": token, "password": PASSWORD}),
        )
        .await;
    assert!(pair["token"].is_string(), "{pair}");
    let before = state(&admin).await;

    let result = server.activate(&token, "An0ther-password").await;
    assert_error(&result, 400, 31);
    assert_message(&result, "User credentials already activated");
    // The first password still holds; the second was not set.
    server.login("once@user.test", PASSWORD).await;
    let result = server.try_login("once@user.test", "An0ther-password").await;
    assert_error(&result, 401, 10);
    let (status, _) = open_link(&server, &token).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(state(&admin).await, before);
}

#[tokio::test]
async fn an_expired_activation_token_is_refused_and_its_link_leads_to_the_expired_page() {
    let server =
        TestServer::start_with(|settings| settings.security.activation_ttl_hours = 0).await;
    let admin = server.tenant_admin().await;
    let customer = admin.create_customer("Late Co").await;
    let (uid, token) = pending_user(&admin, &id(&customer), "late@user.test").await;
    let before = state(&admin).await;

    let result = server.activate(&token, PASSWORD).await;
    assert_error(&result, 400, 31);
    assert_message(&result, "Activation token expired");
    let (status, location) = open_link(&server, &token).await;
    assert!(is_redirect(status), "{status}");
    assert!(location.contains("activationLinkExpired"), "{location}");

    // The user is still inactive: no password was set.
    let result = server.try_login("late@user.test", PASSWORD).await;
    assert_error(&result, 401, 10);
    assert_eq!(state(&admin).await, before);
    admin
        .get_ok(&format!("/api/user/{uid}/activationLink"))
        .await;
}

#[tokio::test]
async fn an_unknown_activation_token_is_not_found_on_post_and_a_conflict_on_get() {
    let server = TestServer::start().await;
    let (admin, customer, _) = seeded(&server).await;
    let (_, real) = pending_user(&admin, &id(&customer), "pending@user.test").await;
    let before = state(&admin).await;
    let unknown = URL_SAFE_NO_PAD.encode([7u8; 32]);
    assert_ne!(unknown, real);
    for token in [unknown.as_str(), "x", &"y".repeat(500)] {
        let result = server.activate(token, PASSWORD).await;
        assert_error(&result, 404, 32);
        let (status, location) = open_link(&server, token).await;
        assert_eq!(status, StatusCode::CONFLICT, "{location}");
    }
    // A missing token is a bad request, not a lookup.
    let result = server
        .anonymous()
        .post("/api/noauth/activate", json!({"password": PASSWORD}))
        .await;
    assert_error(&result, 400, 31);
    assert_eq!(state(&admin).await, before);
    // The real token was not disturbed by the guesses.
    let (status, location) = open_link(&server, &real).await;
    assert!(is_redirect(status), "{status}");
    assert!(location.contains("/login/createPassword"), "{location}");
}
