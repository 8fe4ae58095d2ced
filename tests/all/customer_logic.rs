//! Customer logic end to end: the threshold-alarm example bound to a
//! customer raises and clears an alarm on its device from MQTT telemetry,
//! with hysteresis, and writes its state attribute; a guest reaching for
//! another customer's device is refused and writes nothing.

use clientele_guest_artifacts as artifacts;
use clientele_tests::{Client, TestServer, eventually as until, id, mqtt_publish};
use serde_json::{Value, json};

/// A customer with one device (token `token`) assigned to it: (customer, device).
async fn customer_with_device(admin: &Client, title: &str, token: &str) -> (String, String) {
    let customer = id(&admin.create_customer(title).await);
    let device = admin
        .create_device(&format!("{title} sensor"), token, false)
        .await;
    admin
        .post_ok(
            &format!("/api/customer/{customer}/device/{device}"),
            json!({}),
        )
        .await;
    (customer, device)
}

async fn send(server: &TestServer, token: &str, body: Value) {
    mqtt_publish(
        server,
        token,
        "v1/devices/me/telemetry",
        body.to_string().into_bytes(),
    )
    .await;
}

async fn alarms(c: &Client, device: &str, status: &str) -> Vec<Value> {
    let page = c
        .get_ok(&format!(
            "/api/alarm/DEVICE/{device}?searchStatus={status}&pageSize=10&page=0"
        ))
        .await;
    page["data"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn the_threshold_alarm_is_raised_and_cleared_with_hysteresis() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let (customer, device) = customer_with_device(&admin, "Acme", "acme-token").await;
    let (_, other_device) = customer_with_device(&admin, "Other", "other-token").await;
    let ext = admin
        .upload_artifact("threshold", artifacts::THRESHOLD_ALARM)
        .await;
    let settings = json!({"key": "temperature", "high": 30, "low": 25, "alarmType": "Overheat", "severity": "critical"});
    let binding = admin
        .post_ok(&format!("/api/customer/{customer}/logic/{ext}"), settings)
        .await;
    assert_eq!(binding["settings"]["high"], 30);
    let listed = admin
        .get_ok(&format!("/api/customer/{customer}/logic"))
        .await;
    assert_eq!(listed.as_array().unwrap().len(), 1);

    send(&server, "acme-token", json!({"temperature": 35})).await;
    until("the alarm", || async {
        !alarms(&admin, &device, "ACTIVE").await.is_empty()
    })
    .await;
    let active = alarms(&admin, &device, "ACTIVE").await;
    assert_eq!(active[0]["type"], "Overheat");
    assert_eq!(active[0]["severity"], "CRITICAL");
    until("the state attribute", || async {
        admin
            .server_attribute("DEVICE", &device, "alarmState")
            .await
            == Some(json!("ACTIVE"))
    })
    .await;

    // Between the thresholds: still active. Then the same value on the
    // other customer's device: its logic is not this one.
    send(&server, "acme-token", json!({"temperature": 28})).await;
    send(&server, "other-token", json!({"temperature": 99})).await;
    send(&server, "acme-token", json!({"temperature": 20})).await;
    until("the clear", || async {
        !alarms(&admin, &device, "CLEARED").await.is_empty()
    })
    .await;
    assert!(alarms(&admin, &device, "ACTIVE").await.is_empty());
    assert_eq!(
        alarms(&admin, &device, "ANY").await.len(),
        1,
        "one alarm, raised once"
    );
    until("the cleared state", || async {
        admin
            .server_attribute("DEVICE", &device, "alarmState")
            .await
            == Some(json!("CLEARED"))
    })
    .await;
    assert!(alarms(&admin, &other_device, "ANY").await.is_empty());
    assert!(admin.events("EXTENSION", &ext, "ERROR").await.is_empty());

    // A bound extension cannot be deleted; unbound, it can.
    admin
        .delete_err(&format!("/api/extension/{ext}"), 400, 31)
        .await;
    admin
        .delete_ok(&format!("/api/customer/{customer}/logic/{ext}"))
        .await;
    admin.delete_ok(&format!("/api/extension/{ext}")).await;
}

#[tokio::test]
async fn logic_may_write_its_own_customers_devices_only() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let (customer, _device) = customer_with_device(&admin, "Acme", "acme-token").await;
    let (_, foreign) = customer_with_device(&admin, "Other", "other-token").await;
    let own = admin.create_device("Acme second", "acme-2", false).await;
    admin
        .post_ok(&format!("/api/customer/{customer}/device/{own}"), json!({}))
        .await;
    let ext = admin
        .upload_artifact("writer", artifacts::WRITE_OTHER)
        .await;

    // Aimed at another customer's device: access-denied, nothing written.
    admin
        .post_ok(
            &format!("/api/customer/{customer}/logic/{ext}"),
            json!({"device": foreign, "what": "attributes"}),
        )
        .await;
    send(&server, "acme-token", json!({"x": 1})).await;
    until("the refusal", || async {
        !admin.events("EXTENSION", &ext, "ERROR").await.is_empty()
    })
    .await;
    let errors = admin.events("EXTENSION", &ext, "ERROR").await;
    assert!(
        errors[0]["body"]["error"]
            .as_str()
            .unwrap()
            .contains("AccessDenied"),
        "{errors:?}"
    );
    assert_eq!(
        admin.server_attribute("DEVICE", &foreign, "planted").await,
        None
    );

    // Aimed at its own customer's other device: written.
    admin
        .post_ok(
            &format!("/api/customer/{customer}/logic/{ext}"),
            json!({"device": own, "what": "attributes"}),
        )
        .await;
    send(&server, "acme-token", json!({"x": 2})).await;
    until("the write", || async {
        admin.server_attribute("DEVICE", &own, "planted").await == Some(json!(true))
    })
    .await;
    assert_eq!(
        admin.server_attribute("DEVICE", &foreign, "planted").await,
        None
    );
}

#[tokio::test]
async fn bindings_are_checked_and_isolated() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let (customer, _) = customer_with_device(&admin, "Acme", "acme-token").await;
    let logic = admin
        .upload_artifact("threshold", artifacts::THRESHOLD_ALARM)
        .await;
    let field = admin.upload_artifact("dew", artifacts::DEW_POINT).await;
    let path = |ext: &str| format!("/api/customer/{customer}/logic/{ext}");
    let ok = json!({"key": "t", "high": 1, "low": 0, "alarmType": "x"});
    // A calculated field is not customer logic; settings must be an object.
    admin.post_err(&path(&field), ok.clone(), 400, 31).await;
    admin.post_err(&path(&logic), json!([1, 2]), 400, 31).await;
    admin
        .post_err(
            &path(&uuid::Uuid::new_v4().to_string()),
            ok.clone(),
            400,
            31,
        )
        .await;
    admin
        .post_err(
            &format!("/api/customer/{}/logic/{logic}", uuid::Uuid::new_v4()),
            ok.clone(),
            404,
            32,
        )
        .await;

    // Another tenant's administrator and the customer's own user cannot
    // see or change the binding.
    admin.post_ok(&path(&logic), ok.clone()).await;
    let sys = server.sysadmin().await;
    let other = server.new_tenant(&sys, "Two", "admin@two.io").await;
    other
        .client
        .get_err(&format!("/api/customer/{customer}/logic"), 404, 32)
        .await;
    other.client.delete_err(&path(&logic), 404, 32).await;
    admin
        .create_active_user(&server, &customer, "user@acme.io")
        .await;
    let user = server
        .login("user@acme.io", clientele_tests::PASSWORD)
        .await;
    user.get_err(&format!("/api/customer/{customer}/logic"), 403, 20)
        .await;
    user.post_err(&path(&logic), ok, 403, 20).await;
    let listed = admin
        .get_ok(&format!("/api/customer/{customer}/logic"))
        .await;
    assert_eq!(listed.as_array().unwrap().len(), 1);

    // Deleting the customer removes its bindings, so the extension can go.
    admin.delete_ok(&format!("/api/customer/{customer}")).await;
    admin.delete_ok(&format!("/api/extension/{logic}")).await;
}

/// The last lifecycle event the `lifecycle-log` guest recorded on the customer.
async fn recorded(c: &Client, customer: &str) -> Option<Value> {
    c.server_attribute("CUSTOMER", customer, "lifecycle").await
}

#[tokio::test]
async fn lifecycle_events_reach_the_customers_logic() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let customer = id(&admin.create_customer("Acme").await);
    let ext = admin
        .upload_artifact("lifecycle", artifacts::LIFECYCLE_LOG)
        .await;
    admin
        .post_ok(
            &format!("/api/customer/{customer}/logic/{ext}"),
            json!({"customer": customer}),
        )
        .await;
    let device = admin.create_device("d", "d-token", false).await;
    let expect = |event: &str, kind: &str, id: &str| json!(format!("{event} {kind} {id}"));

    admin
        .post_ok(
            &format!("/api/customer/{customer}/device/{device}"),
            json!({}),
        )
        .await;
    let want = expect("assigned", "device", &device);
    until("assigned", || async {
        recorded(&admin, &customer).await == Some(want.clone())
    })
    .await;

    let mut d = admin.get_ok(&format!("/api/device/{device}")).await;
    d["label"] = json!("renamed");
    admin.post_ok("/api/device", d).await;
    let want = expect("updated", "device", &device);
    until("updated", || async {
        recorded(&admin, &customer).await == Some(want.clone())
    })
    .await;

    admin
        .delete_ok(&format!("/api/customer/device/{device}"))
        .await;
    let want = expect("unassigned", "device", &device);
    until("unassigned", || async {
        recorded(&admin, &customer).await == Some(want.clone())
    })
    .await;

    let mut c = admin.get_ok(&format!("/api/customer/{customer}")).await;
    c["city"] = json!("Lyon");
    admin.post_ok("/api/customer", c).await;
    let want = expect("updated", "customer", &customer);
    until("customer updated", || async {
        recorded(&admin, &customer).await == Some(want.clone())
    })
    .await;

    // A device of the tenant (no customer) is nobody's logic's business.
    let loose = admin.create_device("loose", "loose-token", false).await;
    admin.delete_ok(&format!("/api/device/{loose}")).await;
    // Assigned then deleted: the customer hears of the deletion.
    admin
        .post_ok(
            &format!("/api/customer/{customer}/device/{device}"),
            json!({}),
        )
        .await;
    admin.delete_ok(&format!("/api/device/{device}")).await;
    let want = expect("deleted", "device", &device);
    until("deleted", || async {
        recorded(&admin, &customer).await == Some(want.clone())
    })
    .await;
}

#[tokio::test]
async fn a_device_moved_to_another_customer_reaches_the_new_customers_logic_only() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let (acme, device) = customer_with_device(&admin, "Acme", "acme-token").await;
    let other = id(&admin.create_customer("Other").await);
    let ext = admin
        .upload_artifact("threshold", artifacts::THRESHOLD_ALARM)
        .await;
    // Each customer's logic keeps its own alarm and state attribute, so
    // what one of them heard is told apart from the other.
    for (customer, alarm) in [(&acme, "AcmeHeat"), (&other, "OtherHeat")] {
        let settings = json!({"key": "temperature", "high": 30, "low": 25,
            "alarmType": alarm, "stateAttribute": format!("{alarm}State")});
        admin
            .post_ok(&format!("/api/customer/{customer}/logic/{ext}"), settings)
            .await;
    }
    let assign = |customer: String| {
        let admin = &admin;
        let device = &device;
        async move {
            admin
                .post_ok(
                    &format!("/api/customer/{customer}/device/{device}"),
                    json!({}),
                )
                .await
        }
    };
    let active = |alarm: &'static str| {
        let admin = &admin;
        let device = &device;
        async move {
            alarms(admin, device, "ACTIVE")
                .await
                .iter()
                .any(|a| a["type"] == alarm)
        }
    };
    // Heard by Acme's logic while the device is Acme's (the dispatcher now
    // remembers Acme as its owner) ...
    send(&server, "acme-token", json!({"temperature": 35})).await;
    until("Acme's alarm", || active("AcmeHeat")).await;
    // ... by Other's alone once it is Other's ...
    assign(other).await;
    send(&server, "acme-token", json!({"temperature": 36})).await;
    until("Other's alarm", || active("OtherHeat")).await;
    // ... and by Acme's again, not Other's, once it is back.
    assign(acme).await;
    send(&server, "acme-token", json!({"temperature": 20})).await;
    until("Acme's alarm cleared", || async {
        !active("AcmeHeat").await
    })
    .await;
    assert!(
        active("OtherHeat").await,
        "Other's logic heard 20 after the device left it"
    );
}
