//! Calculated fields over REST, run by real data: telemetry sent through
//! the HTTP device API and attributes saved over REST feed SIMPLE fields,
//! whose outputs are read back as the device's own data.

use clientele_tests::{Client, TestServer, id};
use serde_json::{Value, json};

fn fahrenheit(device: &str) -> Value {
    json!({
        "entityId": {"entityType": "DEVICE", "id": device},
        "type": "SIMPLE",
        "name": "Fahrenheit",
        "configuration": {
            "type": "SIMPLE",
            "arguments": {"t": {"refEntityKey": {"key": "temperature", "type": "TS_LATEST"}}},
            "expression": "t * 9 / 5 + 32",
            "output": {"type": "TIME_SERIES", "name": "fahrenheit", "decimalsByDefault": 1},
            "useLatestTs": true
        }
    })
}

async fn send(server: &TestServer, token: &str, body: Value) {
    let (status, reply) = server
        .anonymous()
        .post(&format!("/api/v1/{token}/telemetry"), body)
        .await;
    assert_eq!(status, 200, "{reply}");
}

/// Latest `key` of a device as `(ts, value)` once it satisfies `want`.
async fn eventually(
    c: &Client,
    device: &str,
    key: &str,
    want: impl Fn(&Value) -> bool,
) -> (i64, Value) {
    let matches = || async {
        c.latest_point(device, key)
            .await
            .is_some_and(|(_, v)| want(&v))
    };
    clientele_tests::eventually(key, matches).await;
    // Nothing more is sent meanwhile: the point found is still the latest.
    c.latest_point(device, key).await.expect("a matching point")
}

async fn server_attribute(c: &Client, device: &str, key: &str) -> Option<Value> {
    c.server_attribute("DEVICE", device, key).await
}

#[tokio::test]
async fn a_simple_field_computes_from_each_message_with_its_timestamp() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let device = admin.create_device("thermo", "thermo-token", false).await;
    let field = admin
        .post_ok("/api/calculatedField", fahrenheit(&device))
        .await;
    assert_eq!(field["id"]["entityType"], "CALCULATED_FIELD");
    assert_eq!(field["version"], 1);

    send(
        &server,
        "thermo-token",
        json!({"ts": 1_000, "values": {"temperature": 21.5}}),
    )
    .await;
    let (ts, value) = eventually(&admin, &device, "fahrenheit", |v| v.is_number()).await;
    assert_eq!(value, json!(70.7));
    assert_eq!(
        ts, 1_000,
        "useLatestTs stamps the output with the argument's time"
    );

    send(
        &server,
        "thermo-token",
        json!({"ts": 2_000, "values": {"temperature": -40}}),
    )
    .await;
    let (ts, _) = eventually(&admin, &device, "fahrenheit", |v| *v == json!(-40.0)).await;
    assert_eq!(ts, 2_000);
    // Every message was computed, not only the last one.
    let history = admin
        .get_ok(&format!(
            "/api/plugins/telemetry/DEVICE/{device}/values/timeseries?keys=fahrenheit&startTs=0&endTs=10000&useStrictDataTypes=true"
        ))
        .await;
    assert_eq!(
        history["fahrenheit"].as_array().unwrap().len(),
        2,
        "{history}"
    );
}

#[tokio::test]
async fn attribute_arguments_defaults_and_attribute_outputs() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let device = admin.create_device("tank", "tank-token", false).await;
    admin
        .post_ok(
            "/api/calculatedField",
            json!({
                "entityId": {"entityType": "DEVICE", "id": device},
                "type": "SIMPLE",
                "name": "Fill",
                "configuration": {
                    "type": "SIMPLE",
                    "arguments": {
                        "level": {"refEntityKey": {"key": "level", "type": "TS_LATEST"}},
                        "capacity": {"refEntityKey": {"key": "capacity", "type": "ATTRIBUTE", "scope": "SERVER_SCOPE"}, "defaultValue": "200"}
                    },
                    "expression": "100 * level / capacity",
                    "output": {"type": "ATTRIBUTES", "name": "fillPercent", "scope": "SERVER_SCOPE", "decimalsByDefault": 0}
                }
            }),
        )
        .await;
    // No capacity attribute yet: the default (200) is used.
    send(&server, "tank-token", json!({"level": 50})).await;
    clientele_tests::eventually("fillPercent 25", || async {
        server_attribute(&admin, &device, "fillPercent").await == Some(json!(25))
    })
    .await;
    // Saving the attribute over REST runs the field again, with the level
    // read back from the store.
    admin
        .post_ok(
            &format!("/api/plugins/telemetry/DEVICE/{device}/attributes/SERVER_SCOPE"),
            json!({"capacity": 400}),
        )
        .await;
    clientele_tests::eventually("fillPercent 13 (12.5 rounded)", || async {
        server_attribute(&admin, &device, "fillPercent").await == Some(json!(13))
    })
    .await;
}

#[tokio::test]
async fn fields_are_listed_updated_and_deleted_with_their_entity() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let device = admin.create_device("d1", "d1-token", false).await;
    let field = admin
        .post_ok("/api/calculatedField", fahrenheit(&device))
        .await;
    let fid = id(&field);

    let one = admin.get_ok(&format!("/api/calculatedField/{fid}")).await;
    assert_eq!(one, field);
    let page = admin
        .get_ok(&format!(
            "/api/calculatedField/DEVICE/{device}?pageSize=10&page=0"
        ))
        .await;
    assert_eq!(page["totalElements"], 1);
    assert_eq!(page["data"][0]["name"], "Fahrenheit");
    let page = admin
        .get_ok("/api/calculatedFields?pageSize=10&page=0&types=SIMPLE&entityType=DEVICE")
        .await;
    assert_eq!(page["totalElements"], 1);
    let none = admin
        .get_ok("/api/calculatedFields?pageSize=10&page=0&entityType=ASSET")
        .await;
    assert_eq!(none["totalElements"], 0);
    let names = admin
        .get_ok("/api/calculatedFields/names?pageSize=10&page=0")
        .await;
    assert_eq!(names["data"], json!(["Fahrenheit"]));

    // Update with the current version, then a stale one.
    let mut changed = field.clone();
    changed["configuration"]["expression"] = json!("t + 1");
    let updated = admin.post_ok("/api/calculatedField", changed.clone()).await;
    assert_eq!(updated["version"], 2);
    admin
        .post_err("/api/calculatedField", changed, 409, 35)
        .await;

    // The updated expression is the one that runs.
    send(&server, "d1-token", json!({"temperature": 5})).await;
    eventually(&admin, &device, "fahrenheit", |v| *v == json!(6.0)).await;

    admin.delete_ok(&format!("/api/device/{device}")).await;
    admin
        .get_err(&format!("/api/calculatedField/{fid}"), 404, 32)
        .await;
}

#[tokio::test]
async fn bad_fields_are_refused_and_nothing_is_stored() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let device = admin.create_device("d", "d-token", false).await;
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = fahrenheit(&device);
        f(&mut v);
        v
    };
    let cases = [
        with(&|v| v["configuration"]["expression"] = json!("t + humidity")),
        with(&|v| v["configuration"]["expression"] = json!("t +")),
        with(&|v| {
            v["type"] = json!("SCRIPT");
            v["configuration"]["type"] = json!("SCRIPT");
        }),
        with(&|v| v["configuration"]["type"] = json!("WASM")),
        with(&|v| v["entityId"]["id"] = json!(uuid::Uuid::new_v4())),
        with(&|v| v["entityId"] = json!({"entityType": "USER", "id": uuid::Uuid::new_v4()})),
        with(&|v| v["configuration"]["arguments"]["t"]["refEntityKey"]["type"] = json!("BOGUS")),
        with(&|v| v["configuration"]["output"]["name"] = json!("x".repeat(300))),
        with(&|v| {
            v["configuration"]["arguments"]["t"]["refEntityId"] =
                json!({"entityType": "DEVICE", "id": uuid::Uuid::new_v4()})
        }),
        with(&|v| v["name"] = json!("")),
    ];
    for body in cases {
        admin.post_err("/api/calculatedField", body, 400, 31).await;
    }
    // Five per entity, names unique per entity.
    for i in 0..5 {
        admin
            .post_ok(
                "/api/calculatedField",
                with(&|v| v["name"] = json!(format!("f{i}"))),
            )
            .await;
    }
    admin
        .post_err(
            "/api/calculatedField",
            with(&|v| v["name"] = json!("f5")),
            400,
            31,
        )
        .await;
    let other = admin.create_device("e", "e-token", false).await;
    let mut dup = fahrenheit(&other);
    dup["name"] = json!("same");
    admin.post_ok("/api/calculatedField", dup.clone()).await;
    admin.post_err("/api/calculatedField", dup, 400, 31).await;

    let all = admin
        .get_ok("/api/calculatedFields?pageSize=100&page=0")
        .await;
    assert_eq!(all["totalElements"], 6, "only the accepted fields exist");
    admin
        .get_err(
            "/api/calculatedFields?pageSize=10&page=0&types=NOPE",
            400,
            31,
        )
        .await;
}

#[tokio::test]
async fn only_the_owning_tenants_administrator_manages_fields() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let sys = server.sysadmin().await;
    let device = admin.create_device("mine", "mine-token", false).await;
    let field = admin
        .post_ok("/api/calculatedField", fahrenheit(&device))
        .await;
    let fid = id(&field);

    let other = server.new_tenant(&sys, "Tenant two", "admin@two.io").await;
    let stranger = other.client;
    stranger
        .get_err(&format!("/api/calculatedField/{fid}"), 404, 32)
        .await;
    stranger
        .delete_err(&format!("/api/calculatedField/{fid}"), 404, 32)
        .await;
    let mut hijack = field.clone();
    hijack["name"] = json!("hijacked");
    stranger
        .post_err("/api/calculatedField", hijack, 400, 31)
        .await;
    // Its own field on the first tenant's device: the device is not its.
    stranger
        .post_err("/api/calculatedField", fahrenheit(&device), 400, 31)
        .await;
    let page = stranger
        .get_ok("/api/calculatedFields?pageSize=10&page=0")
        .await;
    assert_eq!(page["totalElements"], 0);
    stranger
        .get_err(
            &format!("/api/calculatedField/DEVICE/{device}?pageSize=10&page=0"),
            404,
            32,
        )
        .await;

    // A customer user of the owning tenant, even with the device assigned.
    let customer = admin.create_customer("Customer one").await;
    let cid = id(&customer);
    admin
        .post_ok(&format!("/api/customer/{cid}/device/{device}"), json!({}))
        .await;
    admin.create_active_user(&server, &cid, "user@one.io").await;
    let user = server.login("user@one.io", clientele_tests::PASSWORD).await;
    user.get_err(&format!("/api/calculatedField/{fid}"), 403, 20)
        .await;
    user.post_err("/api/calculatedField", fahrenheit(&device), 403, 20)
        .await;
    user.delete_err(&format!("/api/calculatedField/{fid}"), 403, 20)
        .await;
    sys.get_err(&format!("/api/calculatedField/{fid}"), 403, 20)
        .await;

    assert_eq!(
        admin.get_ok(&format!("/api/calculatedField/{fid}")).await,
        field
    );
}

#[tokio::test]
async fn test_script_evaluates_or_reports_the_error() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let ok = admin
        .post_ok(
            "/api/calculatedField/testScript",
            json!({"expression": "(a + b) / 2", "arguments": {
                "a": {"type": "SINGLE_VALUE", "ts": 1, "value": 3},
                "b": {"type": "SINGLE_VALUE", "ts": 1, "value": "4"}
            }}),
        )
        .await;
    assert_eq!(ok, json!({"output": "3.5", "error": ""}));
    let bad = admin
        .post_ok(
            "/api/calculatedField/testScript",
            json!({"expression": "a / 0", "arguments": {"a": {"type": "SINGLE_VALUE", "value": 1}}}),
        )
        .await;
    assert_eq!(bad["output"], "");
    assert!(bad["error"].as_str().unwrap().contains("finite"), "{bad}");
    let unknown = admin
        .post_ok(
            "/api/calculatedField/testScript",
            json!({"expression": "x", "arguments": {}}),
        )
        .await;
    assert!(
        unknown["error"].as_str().unwrap().contains("'x'"),
        "{unknown}"
    );
}
