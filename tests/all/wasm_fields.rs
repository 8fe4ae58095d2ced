//! WASM calculated fields end to end: the example dew-point component is
//! uploaded over REST, attached to a device, fed over MQTT, and its output
//! read back; failing guests leave events, get suspended, and harm no one
//! else.

use clientele_guest_artifacts as artifacts;
use clientele_tests::{Client, TestServer, eventually as until, id, mqtt_publish};
use serde_json::{Value, json};

/// Dew point by the Magnus formula, written apart from the guest's code.
fn magnus(t: f64, rh: f64) -> f64 {
    let (b, c) = (17.62, 243.12);
    let g = (rh / 100.0).ln() + b * t / (c + t);
    c * g / (b - g)
}

fn wasm_field(device: &str, extension: &str, settings: Value, debug: bool) -> Value {
    json!({
        "entityId": {"entityType": "DEVICE", "id": device},
        "type": "WASM",
        "name": "Dew point",
        "debugSettings": {"failuresEnabled": true, "allEnabled": debug},
        "configuration": {
            "type": "WASM",
            "extensionId": {"entityType": "EXTENSION", "id": extension},
            "settings": settings,
            "arguments": {
                "temperature": {"refEntityKey": {"key": "temperature", "type": "TS_LATEST"}},
                "humidity": {"refEntityKey": {"key": "humidity", "type": "TS_LATEST"}}
            }
        }
    })
}

async fn latest(c: &Client, device: &str, key: &str) -> Option<Value> {
    c.latest_point(device, key).await.map(|(_, v)| v)
}

#[tokio::test]
async fn the_dew_point_extension_computes_from_mqtt_telemetry() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let device = admin.create_device("sensor", "sensor-token", false).await;
    let customer = id(&admin.create_customer("Acme").await);
    admin
        .post_ok(
            &format!("/api/customer/{customer}/device/{device}"),
            json!({}),
        )
        .await;
    let ext = admin
        .upload_artifact("dew point", artifacts::DEW_POINT)
        .await;
    let field = admin
        .post_ok(
            "/api/calculatedField",
            wasm_field(&device, &ext, json!({"output": "dew"}), true),
        )
        .await;
    let fid = id(&field);

    mqtt_publish(
        &server,
        "sensor-token",
        "v1/devices/me/telemetry",
        br#"{"temperature": 20.0, "humidity": 50}"#.to_vec(),
    )
    .await;
    until("the dew point", || async {
        latest(&admin, &device, "dew").await.is_some()
    })
    .await;
    let dew = latest(&admin, &device, "dew")
        .await
        .unwrap()
        .as_f64()
        .unwrap();
    assert!((dew - magnus(20.0, 50.0)).abs() < 1e-9, "dew point {dew}");
    // The customer's user reads it like any of its device's data.
    admin
        .create_active_user(&server, &customer, "user@acme.io")
        .await;
    let user = server
        .login("user@acme.io", clientele_tests::PASSWORD)
        .await;
    assert_eq!(latest(&user, &device, "dew").await, Some(json!(dew)));

    // Debugging is on: the run is an event with its arguments and result.
    let debug = admin
        .events("CALCULATED_FIELD", &fid, "DEBUG_CALCULATED_FIELD")
        .await;
    assert_eq!(debug.len(), 1, "{debug:?}");
    assert_eq!(debug[0]["body"]["arguments"]["humidity"]["value"], 50);
    assert!(
        debug[0]["body"]["result"]["dew"].is_number(),
        "{}",
        debug[0]
    );

    // The extension is in use: it cannot be deleted before its field.
    admin
        .delete_err(&format!("/api/extension/{ext}"), 400, 31)
        .await;
    admin
        .delete_ok(&format!("/api/calculatedField/{fid}"))
        .await;
    admin.delete_ok(&format!("/api/extension/{ext}")).await;
}

#[tokio::test]
async fn a_guest_error_is_an_event_and_the_field_keeps_working_after() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let device = admin.create_device("sensor", "s-token", false).await;
    let ext = admin
        .upload_artifact("dew point", artifacts::DEW_POINT)
        .await;
    let field = admin
        .post_ok(
            "/api/calculatedField",
            wasm_field(&device, &ext, json!({}), false),
        )
        .await;
    let fid = id(&field);
    // Humidity 0 is out of the formula's range: the guest says so.
    mqtt_publish(
        &server,
        "s-token",
        "v1/devices/me/telemetry",
        br#"{"temperature": 20, "humidity": 0}"#.to_vec(),
    )
    .await;
    until("an ERROR event", || async {
        !admin
            .events("CALCULATED_FIELD", &fid, "ERROR")
            .await
            .is_empty()
    })
    .await;
    let errors = admin.events("CALCULATED_FIELD", &fid, "ERROR").await;
    assert!(
        errors[0]["body"]["error"]
            .as_str()
            .unwrap()
            .contains("humidity"),
        "{errors:?}"
    );
    assert!(latest(&admin, &device, "dewPoint").await.is_none());
    let on_extension = admin.events("EXTENSION", &ext, "ERROR").await;
    assert_eq!(on_extension.len(), 1, "{on_extension:?}");

    mqtt_publish(
        &server,
        "s-token",
        "v1/devices/me/telemetry",
        br#"{"humidity": 80}"#.to_vec(),
    )
    .await;
    until("a dew point", || async {
        latest(&admin, &device, "dewPoint").await.is_some()
    })
    .await;
    let dew = latest(&admin, &device, "dewPoint")
        .await
        .unwrap()
        .as_f64()
        .unwrap();
    assert!(
        (dew - magnus(20.0, 80.0)).abs() < 1e-9,
        "temperature read from the store: {dew}"
    );
}

#[tokio::test]
async fn an_endless_guest_is_suspended_while_another_customers_device_flows() {
    let server = TestServer::start_with(|s| {
        s.wasm.deadline_ms = 50;
        s.wasm.max_consecutive_failures = 3;
    })
    .await;
    let admin = server.tenant_admin().await;
    let looping = admin.create_device("looping", "loop-token", false).await;
    let healthy = admin.create_device("healthy", "ok-token", false).await;
    for (device, customer) in [(&looping, "Customer A"), (&healthy, "Customer B")] {
        let c = admin.create_customer(customer).await;
        admin
            .post_ok(
                &format!("/api/customer/{}/device/{device}", id(&c)),
                json!({}),
            )
            .await;
    }
    let bad = admin
        .upload_artifact("endless", artifacts::ENDLESS_LOOP)
        .await;
    let field = admin
        .post_ok(
            "/api/calculatedField",
            wasm_field(&looping, &bad, json!({}), false),
        )
        .await;

    for i in 0..5 {
        let body = format!(r#"{{"temperature": {i}, "humidity": 50}}"#);
        mqtt_publish(
            &server,
            "loop-token",
            "v1/devices/me/telemetry",
            body.into_bytes(),
        )
        .await;
        // The other customer's device is acknowledged and stored meanwhile.
        let ok = format!(r#"{{"n": {i}}}"#);
        mqtt_publish(
            &server,
            "ok-token",
            "v1/devices/me/telemetry",
            ok.into_bytes(),
        )
        .await;
        assert_eq!(latest(&admin, &healthy, "n").await, Some(json!(i)));
    }
    until("the suspension", || async {
        admin
            .events("EXTENSION", &bad, "LC_EVENT")
            .await
            .iter()
            .any(|e| e["body"]["event"] == "SUSPENDED")
    })
    .await;
    let errors = admin.events("EXTENSION", &bad, "ERROR").await;
    assert_eq!(errors.len(), 3, "calls stop once suspended: {errors:?}");
    assert!(
        errors[0]["body"]["error"]
            .as_str()
            .unwrap()
            .contains("deadline"),
        "{errors:?}"
    );
    let field_errors = admin.events("CALCULATED_FIELD", &id(&field), "ERROR").await;
    assert_eq!(field_errors.len(), 3);
}

#[tokio::test]
async fn a_wasm_field_needs_a_calculated_field_extension_of_its_tenant() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let device = admin.create_device("d", "d-token", false).await;
    let logic = admin
        .upload_artifact("alarm logic", artifacts::THRESHOLD_ALARM)
        .await;
    admin
        .post_err(
            "/api/calculatedField",
            wasm_field(&device, &logic, json!({}), false),
            400,
            31,
        )
        .await;
    admin
        .post_err(
            "/api/calculatedField",
            wasm_field(&device, &uuid::Uuid::new_v4().to_string(), json!({}), false),
            400,
            31,
        )
        .await;
    // Another tenant's extension is as good as unknown.
    let sys = server.sysadmin().await;
    let other = server.new_tenant(&sys, "Two", "admin@two.io").await;
    let theirs = other
        .client
        .upload_artifact("dew", artifacts::DEW_POINT)
        .await;
    admin
        .post_err(
            "/api/calculatedField",
            wasm_field(&device, &theirs, json!({}), false),
            400,
            31,
        )
        .await;
    let page = admin
        .get_ok("/api/calculatedFields?pageSize=10&page=0")
        .await;
    assert_eq!(page["totalElements"], 0);
}

#[tokio::test]
async fn every_misbehaving_guest_fails_alone_with_an_error_event() {
    let server = TestServer::start_with(|s| s.wasm.deadline_ms = 200).await;
    let admin = server.tenant_admin().await;
    let guests = [
        ("endless loop", artifacts::ENDLESS_LOOP, "deadline"),
        ("unbounded allocation", artifacts::UNBOUNDED_ALLOC, "memory"),
        ("deep recursion", artifacts::DEEP_RECURSION, "trap"),
        ("panic", artifacts::PANICS, "gave up"),
        ("huge output", artifacts::HUGE_OUTPUT, "output"),
        ("host call flood", artifacts::HOST_CALL_FLOOD, "host calls"),
    ];
    let mut fields = Vec::new();
    for (i, (name, path, _)) in guests.iter().enumerate() {
        let token = format!("bad-{i}");
        let device = admin.create_device(name, &token, false).await;
        let ext = admin.upload_artifact(name, path).await;
        let mut field = wasm_field(&device, &ext, json!({}), false);
        field["name"] = json!(name);
        fields.push((
            token,
            id(&admin.post_ok("/api/calculatedField", field).await),
        ));
    }
    let healthy = admin.create_device("healthy", "ok-token", false).await;
    for (token, _) in &fields {
        mqtt_publish(
            &server,
            token,
            "v1/devices/me/telemetry",
            br#"{"temperature": 1, "humidity": 50}"#.to_vec(),
        )
        .await;
    }
    // Meanwhile a device without fields is stored as usual.
    for n in 0..20 {
        let body = format!(r#"{{"n": {n}}}"#).into_bytes();
        mqtt_publish(&server, "ok-token", "v1/devices/me/telemetry", body).await;
        assert_eq!(latest(&admin, &healthy, "n").await, Some(json!(n)));
    }
    for ((name, _, why), (_, field)) in guests.iter().zip(&fields) {
        until(&format!("the error of {name}"), || async {
            !admin
                .events("CALCULATED_FIELD", field, "ERROR")
                .await
                .is_empty()
        })
        .await;
        let errors = admin.events("CALCULATED_FIELD", field, "ERROR").await;
        let message = errors[0]["body"]["error"].as_str().unwrap().to_lowercase();
        assert!(message.contains(why), "{name}: {message}");
    }
}

#[tokio::test]
async fn rolling_arguments_hand_the_guest_a_window_of_points() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let device = admin.create_device("meter", "meter-token", false).await;
    let ext = admin.upload_artifact("echo sum", artifacts::ECHO_SUM).await;
    let field = json!({
        "entityId": {"entityType": "DEVICE", "id": device},
        "type": "WASM",
        "name": "Window",
        "configuration": {
            "type": "WASM",
            "extensionId": {"id": ext},
            "arguments": {
                "t": {"refEntityKey": {"key": "t", "type": "TS_ROLLING"}, "timeWindow": 60000, "limit": 3}
            }
        }
    });
    admin.post_ok("/api/calculatedField", field).await;
    let base = 1_700_000_000_000i64;
    // Out of the window of the last point (two minutes before it), then
    // four points in it: the limit keeps the newest three.
    for (dt, t) in [
        (-120_000, 100),
        (-4_000, 8),
        (-3_000, 1),
        (-2_000, 2),
        (0, 4),
    ] {
        let body = json!({"ts": base + dt, "values": {"t": t}});
        mqtt_publish(
            &server,
            "meter-token",
            "v1/devices/me/telemetry",
            body.to_string().into_bytes(),
        )
        .await;
    }
    until("the window's sum", || async {
        admin.latest_point(&device, "sum").await.map(|(ts, _)| ts) == Some(base)
    })
    .await;
    assert_eq!(
        admin.latest_point(&device, "sum").await.unwrap().1,
        json!(7.0)
    );
    assert_eq!(
        admin.latest_point(&device, "count").await.unwrap().1,
        json!(3)
    );
}

#[tokio::test]
async fn test_script_runs_an_extension_on_sample_arguments() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let ext = admin.upload_artifact("echo sum", artifacts::ECHO_SUM).await;
    let ok = admin
        .post_ok(
            "/api/calculatedField/testScript",
            json!({"extensionId": {"id": ext}, "arguments": {
                "a": {"type": "SINGLE_VALUE", "ts": 5, "value": 1.5},
                "w": {"type": "TS_ROLLING", "values": [{"ts": 1, "value": 2}, {"ts": 2, "value": "3"}]}
            }}),
        )
        .await;
    assert_eq!(ok["error"], "", "{ok}");
    let output: Value = serde_json::from_str(ok["output"].as_str().unwrap()).unwrap();
    assert_eq!(output, json!({"sum": 6.5, "count": 3}));

    // A failing guest is the run's error, not the request's.
    let bad = admin.upload_artifact("panics", artifacts::PANICS).await;
    let failed = admin
        .post_ok(
            "/api/calculatedField/testScript",
            json!({"extensionId": {"id": bad}, "arguments": {}}),
        )
        .await;
    assert_eq!(failed["output"], "");
    assert!(
        failed["error"].as_str().unwrap().contains("gave up"),
        "{failed}"
    );
    // Customer logic is not a calculated field; neither or both kinds is a bad request.
    let logic = admin
        .upload_artifact("logic", artifacts::THRESHOLD_ALARM)
        .await;
    admin
        .post_err(
            "/api/calculatedField/testScript",
            json!({"extensionId": {"id": logic}}),
            400,
            31,
        )
        .await;
    admin
        .post_err(
            "/api/calculatedField/testScript",
            json!({"arguments": {}}),
            400,
            31,
        )
        .await;
    admin
        .post_err(
            "/api/calculatedField/testScript",
            json!({"expression": "1", "extensionId": {"id": ext}}),
            400,
            31,
        )
        .await;
}
