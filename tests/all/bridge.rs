//! The broker bridge against a real Mosquitto: gateway messages published
//! to the broker land in Clientele, and a Clientele restarted mid-stream
//! loses none of them.

use std::time::{Duration, Instant};

use clientele::config::BridgeSettings;
use clientele_tests::mosquitto::Mosquitto;
use clientele_tests::{Client, TestServer};
use reqwest::StatusCode;
use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, Packet, QoS};
use serde_json::{Value, json};

fn bridge_to(broker: &Mosquitto) -> BridgeSettings {
    BridgeSettings {
        host: broker.addr.ip().to_string(),
        port: broker.addr.port(),
        client_id: "clientele-under-test".into(),
        gateway_token: "BRIDGE_GATEWAY".into(),
        reconnect_min_ms: 50,
        reconnect_max_ms: 200,
        ..BridgeSettings::example()
    }
}

/// A publisher on the broker that sends `count` gateway telemetry messages
/// at QoS 1 and returns once the broker has acknowledged them all.
async fn publish(broker: &Mosquitto, device: &str, from: u64, count: u64) {
    let bodies = (from..from + count)
        .map(|n| json!({ device: [{"ts": n, "values": {"n": n}}] }).to_string())
        .collect();
    publish_all(
        broker,
        &format!("publisher-{device}-{from}"),
        "v1/gateway/telemetry",
        bodies,
    )
    .await;
}

/// Publishes `bodies` to `topic` at QoS 1, in order, and returns once the
/// broker has acknowledged them all.
async fn publish_all(broker: &Mosquitto, client_id: &str, topic: &str, bodies: Vec<String>) {
    let mut opts = MqttOptions::new(client_id, broker.addr.ip().to_string(), broker.addr.port());
    opts.set_keep_alive(Duration::from_secs(30));
    let (client, mut events) = AsyncClient::new(opts, 100);
    let count = bodies.len();
    let topic = topic.to_owned();
    let sender = tokio::spawn(async move {
        for body in bodies {
            client
                .publish(topic.as_str(), QoS::AtLeastOnce, false, body)
                .await
                .expect("queue");
        }
        client
    });
    let mut acked = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    while acked < count {
        assert!(
            Instant::now() < deadline,
            "the broker acknowledged only {acked} of {count}"
        );
        match tokio::time::timeout(Duration::from_secs(5), events.poll()).await {
            Ok(Ok(Event::Incoming(Packet::PubAck(_)))) => acked += 1,
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!("publisher: {e}"),
            Err(_) => panic!("publisher stalled"),
        }
    }
    let client = sender.await.unwrap();
    let _ = client.disconnect().await;
    while let Ok(Ok(ev)) = tokio::time::timeout(Duration::from_millis(200), events.poll()).await {
        if matches!(ev, Event::Outgoing(Outgoing::Disconnect)) {
            break;
        }
    }
}

/// Waits until the bridge has subscribed: the broker drops what is
/// published before that, so a probe is published until one lands (as a
/// device named "Probe", apart from the devices the tests count).
async fn await_subscription(broker: &Mosquitto, admin: &Client) {
    let deadline = Instant::now() + Duration::from_secs(20);
    for n in 1.. {
        publish(broker, "Probe", n, 1).await;
        let (status, _) = admin.get("/api/tenant/devices?deviceName=Probe").await;
        if status == StatusCode::OK {
            return;
        }
        assert!(Instant::now() < deadline, "the bridge never subscribed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The numbers stored under `device`, waiting (up to 20 s) for `expected` of them.
async fn stored(admin: &Client, device: &str, expected: usize) -> Vec<u64> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, d) = admin
            .get(&format!("/api/tenant/devices?deviceName={device}"))
            .await;
        if status == StatusCode::OK {
            let id = d["id"]["id"].as_str().unwrap();
            let h = admin.get_ok(&format!("/api/plugins/telemetry/DEVICE/{id}/values/timeseries?keys=n&startTs=0&endTs=1000000&limit=100000&orderBy=ASC")).await;
            let got: Vec<u64> = h["n"]
                .as_array()
                .map(|a| a.iter().map(|p| p["ts"].as_u64().unwrap()).collect())
                .unwrap_or_default();
            if got.len() >= expected || Instant::now() > deadline {
                return got;
            }
        } else if Instant::now() > deadline {
            return Vec::new();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_published_to_the_broker_land_under_the_gateways_devices() {
    let broker = Mosquitto::start();
    let server = TestServer::start_with(|s| s.bridge = Some(bridge_to(&broker))).await;
    let admin = server.tenant_admin().await;
    // The bridge waits for its gateway device to exist, then subscribes.
    admin
        .create_device("Edge gateway", "BRIDGE_GATEWAY", true)
        .await;
    await_subscription(&broker, &admin).await;
    publish(&broker, "Boiler", 1, 20).await;
    publish(&broker, "Pump", 1, 5).await;
    assert_eq!(
        stored(&admin, "Boiler", 20).await,
        (1..=20).collect::<Vec<_>>()
    );
    assert_eq!(stored(&admin, "Pump", 5).await.len(), 5);
    let pump = admin.get_ok("/api/tenant/devices?deviceName=Pump").await;
    assert!(
        pump["additionalInfo"]["lastConnectedGateway"].is_string(),
        "{pump}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_mid_stream_loses_nothing() {
    let broker = Mosquitto::start();
    let server = TestServer::start_with(|s| s.bridge = Some(bridge_to(&broker))).await;
    let admin = server.tenant_admin().await;
    admin
        .create_device("Edge gateway", "BRIDGE_GATEWAY", true)
        .await;
    await_subscription(&broker, &admin).await;
    publish(&broker, "Meter", 1, 300).await;
    let settings = server.app.settings().clone();
    // Stop while the bridge is still working through the stream.
    let dir = server.stop().await;
    // While Clientele is down the broker keeps queueing for its persistent session.
    publish(&broker, "Meter", 301, 300).await;
    let server = TestServer::start_in(dir, settings).await;
    let admin = server.tenant_admin().await;
    let got = stored(&admin, "Meter", 600).await;
    assert_eq!(
        got,
        (1..=600).collect::<Vec<_>>(),
        "every message, once, in order of its number"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attribute_messages_apply_in_the_order_they_were_published() {
    let broker = Mosquitto::start();
    let server = TestServer::start_with(|s| s.bridge = Some(bridge_to(&broker))).await;
    let admin = server.tenant_admin().await;
    admin
        .create_device("Edge gateway", "BRIDGE_GATEWAY", true)
        .await;
    await_subscription(&broker, &admin).await;
    // The first message creates the device and takes longer than the rest:
    // messages handled side by side finish out of order unless something
    // holds the ones that need order in line.
    const LAST: u64 = 60;
    let bodies = (1..=LAST)
        .map(|n| json!({ "Valve": { "position": n } }).to_string())
        .collect();
    publish_all(
        &broker,
        "attribute-publisher",
        "v1/gateway/attributes",
        bodies,
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut position = Value::Null;
    while Instant::now() < deadline {
        let (status, d) = admin.get("/api/tenant/devices?deviceName=Valve").await;
        if status == StatusCode::OK {
            let id = d["id"]["id"].as_str().unwrap();
            let (_, attrs) = admin
                .get(&format!(
                    "/api/plugins/telemetry/DEVICE/{id}/values/attributes/CLIENT_SCOPE?keys=position"
                ))
                .await;
            position = attrs[0]["value"].clone();
            if position == json!(LAST) {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        position,
        json!(LAST),
        "the last message published is the one that stays"
    );
    // Nothing applies after it either.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, d) = admin.get("/api/tenant/devices?deviceName=Valve").await;
    let id = d["id"]["id"].as_str().unwrap();
    let (_, attrs) = admin
        .get(&format!(
            "/api/plugins/telemetry/DEVICE/{id}/values/attributes/CLIENT_SCOPE?keys=position"
        ))
        .await;
    assert_eq!(attrs[0]["value"], json!(LAST));
}
