//! Attributes and telemetry: device HTTP API in, REST out, the four delete modes.

use clientele_tests::{PASSWORD, TestServer};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn values(series: &Value) -> Vec<String> {
    series
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["value"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn every_payload_form_lands_typed_and_reads_back() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let id = admin.create_device("Sensor", "SENSOR_TOKEN", false).await;
    let anon = server.anonymous();
    for body in [
        json!({"temperature": 21.5, "on": true, "count": 3, "label": "a", "cfg": {"x": 1}}),
        json!([{"ts": 1000, "values": {"pressure": 1}}, {"ts": 2000, "values": {"pressure": 2}}]),
        json!({"ts": 3000, "values": {"pressure": 3}}),
    ] {
        anon.post_ok("/api/v1/SENSOR_TOKEN/telemetry", body).await;
    }
    let base = format!("/api/plugins/telemetry/DEVICE/{id}");
    let latest = admin
        .get_ok(&format!(
            "{base}/values/timeseries?keys=temperature,on,count,cfg,pressure"
        ))
        .await;
    assert_eq!(latest["temperature"][0]["value"], "21.5");
    assert_eq!(latest["on"][0]["value"], "true");
    assert_eq!(latest["cfg"][0]["value"], "{\"x\":1}");
    assert_eq!(
        (
            latest["pressure"][0]["ts"].as_i64(),
            latest["pressure"][0]["value"].as_str()
        ),
        (Some(3000), Some("3"))
    );
    let strict = admin
        .get_ok(&format!(
            "{base}/values/timeseries?keys=temperature,on,count&useStrictDataTypes=true"
        ))
        .await;
    assert_eq!(
        (
            strict["temperature"][0]["value"].as_f64(),
            strict["on"][0]["value"].as_bool(),
            strict["count"][0]["value"].as_i64()
        ),
        (Some(21.5), Some(true), Some(3))
    );
    let keys = admin.get_ok(&format!("{base}/keys/timeseries")).await;
    assert_eq!(keys.as_array().unwrap().len(), 6);

    let history = admin
        .get_ok(&format!(
            "{base}/values/timeseries?keys=pressure&startTs=0&endTs=10000&orderBy=ASC"
        ))
        .await;
    assert_eq!(values(&history["pressure"]), ["1", "2", "3"]);
    let limited = admin
        .get_ok(&format!(
            "{base}/values/timeseries?keys=pressure&startTs=0&endTs=10000&limit=2"
        ))
        .await;
    assert_eq!(values(&limited["pressure"]), ["3", "2"]);
    let avg = admin
        .get_ok(&format!(
            "{base}/values/timeseries?keys=pressure&startTs=0&endTs=4000&interval=4000&agg=AVG"
        ))
        .await;
    assert_eq!(values(&avg["pressure"]), ["2.0"]);
    let sums = admin.get_ok(&format!("{base}/values/timeseries?keys=pressure&startTs=0&endTs=4000&interval=2000&agg=SUM&orderBy=ASC")).await;
    assert_eq!(values(&sums["pressure"]), ["1", "5"]);
    assert_eq!(
        sums["pressure"][0]["ts"], 1000,
        "an interval's point sits in its middle"
    );
    admin
        .get_err(
            &format!("{base}/values/timeseries?keys=pressure&startTs=0&endTs=4000&agg=MEDIAN"),
            400,
            31,
        )
        .await;
}

#[tokio::test]
async fn attributes_flow_between_device_and_rest_by_scope() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let id = admin.create_device("Valve", "VALVE_TOKEN", false).await;
    let anon = server.anonymous();
    assert_eq!(
        anon.post(
            "/api/v1/VALVE_TOKEN/attributes",
            json!({"firmware": "1.2", "model": "V"})
        )
        .await
        .0,
        StatusCode::OK
    );
    let base = format!("/api/plugins/telemetry/DEVICE/{id}");
    assert_eq!(
        admin
            .post(
                &format!("{base}/attributes/SHARED_SCOPE"),
                json!({"target": 40})
            )
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        admin
            .post(&format!("{base}/SERVER_SCOPE"), json!({"zone": "north"}))
            .await
            .0,
        StatusCode::OK
    );
    admin
        .post_err(
            &format!("{base}/attributes/CLIENT_SCOPE"),
            json!({"x": 1}),
            400,
            31,
        )
        .await;

    let client = admin
        .get_ok(&format!("{base}/values/attributes/CLIENT_SCOPE"))
        .await;
    let mut keys: Vec<&str> = client
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["key"].as_str().unwrap())
        .collect();
    keys.sort();
    assert_eq!(keys, ["firmware", "model"]);
    assert!(client[0]["lastUpdateTs"].as_i64().is_some());
    let seen = anon
        .get_ok("/api/v1/VALVE_TOKEN/attributes?clientKeys=firmware&sharedKeys=target")
        .await;
    assert_eq!(
        seen,
        json!({"client": {"firmware": "1.2"}, "shared": {"target": 40}})
    );

    assert_eq!(
        admin
            .delete(&format!("{base}/SHARED_SCOPE?keys=target"))
            .await
            .0,
        StatusCode::OK
    );
    let after = anon.get_ok("/api/v1/VALVE_TOKEN/attributes").await;
    assert_eq!(after["shared"], json!({}));
    let all_keys = admin.get_ok(&format!("{base}/keys/attributes")).await;
    assert_eq!(all_keys, json!(["firmware", "model", "zone"]));
}

#[tokio::test]
async fn the_four_delete_modes_do_what_the_ui_says() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let id = admin.create_device("Meter", "METER_TOKEN", false).await;
    let base = format!("/api/plugins/telemetry/DEVICE/{id}");
    let anon = server.anonymous();
    let load = || async {
        let pts: Vec<Value> = (1..=4)
            .map(|i| json!({"ts": i * 1000, "values": {"a": i, "b": i, "c": i, "d": i}}))
            .collect();
        assert_eq!(
            anon.post("/api/v1/METER_TOKEN/telemetry", Value::Array(pts))
                .await
                .0,
            StatusCode::OK
        );
    };
    load().await;
    let history = |key: &'static str| {
        let admin = admin.clone();
        let base = base.clone();
        async move {
            let h = admin
                .get_ok(&format!(
                    "{base}/values/timeseries?keys={key}&startTs=0&endTs=10000&orderBy=ASC"
                ))
                .await;
            h.get(key).map(values).unwrap_or_default()
        }
    };
    let latest = |key: &'static str| {
        let admin = admin.clone();
        let base = base.clone();
        async move {
            admin
                .get(&format!("{base}/values/timeseries?keys={key}"))
                .await
                .1[key][0]["value"]
                .as_str()
                .map(str::to_owned)
        }
    };
    // All data.
    assert_eq!(
        admin
            .delete(&format!(
                "{base}/timeseries/delete?keys=a&deleteAllDataForKeys=true&deleteLatest=true"
            ))
            .await
            .0,
        StatusCode::OK
    );
    assert!(history("a").await.is_empty());
    assert_eq!(latest("a").await, None);
    // All except latest.
    admin
        .delete_ok(&format!(
            "{base}/timeseries/delete?keys=b&deleteAllDataForKeys=true&deleteLatest=false"
        ))
        .await;
    assert!(history("b").await.is_empty());
    assert_eq!(latest("b").await.as_deref(), Some("4"));
    // Latest value only, with rewrite: the newest older point becomes latest.
    admin.delete_ok(&format!("{base}/timeseries/delete?keys=c&startTs=4000&endTs=4001&deleteLatest=true&rewriteLatestIfDeleted=true")).await;
    assert_eq!(history("c").await, ["1", "2", "3"]);
    assert_eq!(latest("c").await.as_deref(), Some("3"));
    // A time range that does not hold the latest value leaves it.
    admin
        .delete_ok(&format!(
            "{base}/timeseries/delete?keys=d&startTs=1500&endTs=3500&deleteLatest=true"
        ))
        .await;
    assert_eq!(history("d").await, ["1", "4"]);
    assert_eq!(latest("d").await.as_deref(), Some("4"));
    admin
        .delete_err(&format!("{base}/timeseries/delete?keys=d"), 400, 31)
        .await;
    admin
        .delete_err(
            &format!("{base}/timeseries/delete?deleteAllDataForKeys=true"),
            400,
            31,
        )
        .await;
}

#[tokio::test]
async fn data_is_readable_only_by_its_tenant_and_customer() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let id = admin.create_device("Private", "PRIVATE_TOKEN", false).await;
    let (a, b) = (
        admin.create_customer("A").await,
        admin.create_customer("B").await,
    );
    let (aid, bid) = (
        a["id"]["id"].as_str().unwrap(),
        b["id"]["id"].as_str().unwrap(),
    );
    admin
        .post_ok(&format!("/api/customer/{aid}/device/{id}"), json!({}))
        .await;
    admin.create_active_user(&server, aid, "a@a.io").await;
    admin.create_active_user(&server, bid, "b@b.io").await;
    server
        .anonymous()
        .post_ok("/api/v1/PRIVATE_TOKEN/telemetry", json!({"t": 5}))
        .await;
    let (ua, ub) = (
        server.login("a@a.io", PASSWORD).await,
        server.login("b@b.io", PASSWORD).await,
    );
    let path = format!("/api/plugins/telemetry/DEVICE/{id}/values/timeseries?keys=t");
    assert_eq!(ua.get(&path).await.1["t"][0]["value"], "5");
    ub.get_err(&path, 403, 20).await;
    ub.post_err(
        &format!("/api/plugins/telemetry/DEVICE/{id}/timeseries/ANY"),
        json!({"t": 6}),
        403,
        20,
    )
    .await;
    assert_eq!(
        ua.post(
            &format!("/api/plugins/telemetry/CUSTOMER/{aid}/timeseries/ANY"),
            json!({"kpi": 1})
        )
        .await
        .0,
        StatusCode::OK
    );
    ub.get_err(
        &format!("/api/plugins/telemetry/CUSTOMER/{aid}/values/timeseries"),
        403,
        20,
    )
    .await;
    // Bad tokens and bad payloads change nothing.
    server
        .anonymous()
        .post_err("/api/v1/NOPE/telemetry", json!({"t": 9}), 401, 10)
        .await;
    server
        .anonymous()
        .post_err(
            "/api/v1/PRIVATE_TOKEN/telemetry",
            json!({"ts": "soon", "values": {"t": 9}}),
            400,
            31,
        )
        .await;
    assert_eq!(ua.get(&path).await.1["t"][0]["value"], "5");
}
