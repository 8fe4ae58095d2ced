//! The device MQTT endpoint with real clients: rumqttc (3.1.1 and 5), raw
//! sockets, `mosquitto_pub` and ThingsBoard's Python device SDK, against a
//! real Clientele; what devices send is read back over REST.

use std::process::Command;
use std::time::{Duration, Instant};

use clientele_tests::smtp::{python, workspace};
use clientele_tests::{Client, TestServer};
use reqwest::StatusCode;
use rumqttc::v5;
use rumqttc::{AsyncClient, ConnectionError, Event, MqttOptions, Packet, QoS};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// The longest any test waits for something that should happen.
const WAIT: Duration = Duration::from_secs(10);

/// Latest values of `keys` as strict JSON, right now.
async fn latest(c: &Client, id: &str, keys: &str) -> Value {
    c.get_ok(&format!(
        "/api/plugins/telemetry/DEVICE/{id}/values/timeseries?keys={keys}&useStrictDataTypes=true"
    ))
    .await
}

/// Polls (bounded) until `key` has a latest value, and returns it.
async fn eventually_latest(c: &Client, id: &str, key: &str) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let body = latest(c, id, key).await;
        if body[key].is_array() {
            return body[key][0]["value"].clone();
        }
        assert!(Instant::now() < deadline, "no {key} for {id}: {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn client_attributes(c: &Client, id: &str) -> Value {
    c.get_ok(&format!(
        "/api/plugins/telemetry/DEVICE/{id}/values/attributes/CLIENT_SCOPE"
    ))
    .await
}

/// A 3.1.1 device on rumqttc; its event loop runs in a task and stops at
/// the first error (polling again would reconnect).
struct Device {
    client: AsyncClient,
    events: mpsc::UnboundedReceiver<Result<Packet, ConnectionError>>,
}

fn options(server: &TestServer, token: Option<&str>) -> MqttOptions {
    let mut o = MqttOptions::new("test-device", "127.0.0.1", server.mqtt_addr.port());
    if let Some(token) = token {
        o.set_credentials(token, "");
    }
    o.set_max_packet_size(1 << 20, 1 << 20);
    o
}

impl Device {
    fn start(options: MqttOptions) -> Device {
        let (client, mut eventloop) = AsyncClient::new(options, 1000);
        let (tx, events) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(p)) => {
                        if tx.send(Ok(p)).is_err() {
                            return;
                        }
                    }
                    Ok(Event::Outgoing(_)) => {}
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                }
            }
        });
        Device { client, events }
    }

    async fn connect(server: &TestServer, token: &str) -> Device {
        let mut d = Device::start(options(server, Some(token)));
        match d.next().await {
            Ok(Packet::ConnAck(ack)) => assert_eq!(ack.code, rumqttc::ConnectReturnCode::Success),
            other => panic!("no CONNACK: {other:?}"),
        }
        d
    }

    async fn next(&mut self) -> Result<Packet, ConnectionError> {
        tokio::time::timeout(WAIT, self.events.recv())
            .await
            .expect("an MQTT event in time")
            .expect("the event loop ended without an error")
    }

    /// The next packet of interest, skipping pings and acks of others.
    async fn next_where(&mut self, want: impl Fn(&Packet) -> bool) -> Packet {
        loop {
            match self.next().await {
                Ok(p) if want(&p) => return p,
                Ok(_) => {}
                Err(e) => panic!("connection ended: {e:?}"),
            }
        }
    }

    async fn publish(&mut self, topic: &str, payload: impl Into<Vec<u8>>) {
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload.into())
            .await
            .unwrap();
        self.next_where(|p| matches!(p, Packet::PubAck(_))).await;
    }

    async fn subscribe(&mut self, filter: &str) -> rumqttc::SubscribeReasonCode {
        self.client
            .subscribe(filter, QoS::AtLeastOnce)
            .await
            .unwrap();
        match self.next_where(|p| matches!(p, Packet::SubAck(_))).await {
            Packet::SubAck(ack) => ack.return_codes[0],
            _ => unreachable!(),
        }
    }

    async fn message(&mut self) -> (String, Value) {
        match self.next_where(|p| matches!(p, Packet::Publish(_))).await {
            Packet::Publish(p) => (p.topic, serde_json::from_slice(&p.payload).unwrap()),
            _ => unreachable!(),
        }
    }

    /// Waits for the server to end the connection; panics on a PUBACK first.
    async fn closed(&mut self) -> ConnectionError {
        loop {
            match self.next().await {
                Err(e) => return e,
                Ok(Packet::PubAck(ack)) => panic!("acknowledged instead of closed: {ack:?}"),
                Ok(_) => {}
            }
        }
    }
}

#[tokio::test]
async fn every_telemetry_form_is_durable_once_acknowledged() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let id = admin.create_device("Thermo", "THERMO_TOKEN", false).await;
    let mut dev = Device::connect(&server, "THERMO_TOKEN").await;
    // No polling below: a QoS 1 PUBACK comes only after the commit.
    dev.publish(
        "v1/devices/me/telemetry",
        r#"{"temperature":21.5,"on":true}"#,
    )
    .await;
    let now = latest(&admin, &id, "temperature,on").await;
    assert_eq!(
        (&now["temperature"][0]["value"], &now["on"][0]["value"]),
        (&json!(21.5), &json!(true))
    );
    dev.publish("v1/devices/me/telemetry", r#"[{"count":1},{"label":"a"}]"#)
        .await;
    dev.publish(
        "v1/devices/me/telemetry",
        r#"{"ts":1000,"values":{"pressure":1}}"#,
    )
    .await;
    dev.publish(
        "v1/devices/me/telemetry",
        r#"[{"ts":2000,"values":{"pressure":2}},{"ts":3000,"values":{"pressure":3,"cfg":{"x":1}}}]"#,
    )
    .await;
    let now = latest(&admin, &id, "count,label,pressure,cfg").await;
    assert_eq!(now["count"][0]["value"], 1);
    assert_eq!(now["label"][0]["value"], "a");
    assert_eq!(
        (&now["pressure"][0]["ts"], &now["pressure"][0]["value"]),
        (&json!(3000), &json!(3))
    );
    assert_eq!(now["cfg"][0]["value"], json!({"x": 1}));
    let history = admin.get_ok(&format!(
            "/api/plugins/telemetry/DEVICE/{id}/values/timeseries?keys=pressure&startTs=0&endTs=5000&orderBy=ASC"
        )).await;
    let points: Vec<&str> = history["pressure"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["value"].as_str().unwrap())
        .collect();
    assert_eq!(points, ["1", "2", "3"]);

    // QoS 0 has no PUBACK to wait for: poll.
    dev.client
        .publish(
            "v1/devices/me/telemetry",
            QoS::AtMostOnce,
            false,
            r#"{"q0":7}"#,
        )
        .await
        .unwrap();
    assert_eq!(eventually_latest(&admin, &id, "q0").await, 7);
}

#[tokio::test]
async fn telemetry_lands_under_the_device_and_its_customer() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let id = admin.create_device("Meter", "METER_TOKEN", false).await;
    let other = admin.create_device("Other", "OTHER_TOKEN", false).await;
    let customer = admin.create_customer("Acme").await;
    let cid = customer["id"]["id"].as_str().unwrap();
    admin
        .post_ok(&format!("/api/customer/{cid}/device/{id}"), json!({}))
        .await;
    admin.create_active_user(&server, cid, "user@acme.io").await;
    let user = server
        .login("user@acme.io", clientele_tests::PASSWORD)
        .await;

    let mut dev = Device::connect(&server, "METER_TOKEN").await;
    dev.publish("v1/devices/me/telemetry", r#"{"kwh":12}"#)
        .await;
    assert_eq!(latest(&user, &id, "kwh").await["kwh"][0]["value"], 12);
    let untouched = latest(&admin, &other, "kwh").await;
    assert!(untouched.get("kwh").is_none(), "{untouched}");
    let (status, _) = user
        .get(&format!(
            "/api/plugins/telemetry/DEVICE/{other}/values/timeseries?keys=kwh"
        ))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn client_attributes_and_attribute_requests_round_trip() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let id = admin.create_device("Valve", "VALVE_TOKEN", false).await;
    let (status, _) = admin
        .post(
            &format!("/api/plugins/telemetry/DEVICE/{id}/attributes/SHARED_SCOPE"),
            json!({"target": 40, "mode": "eco"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let mut dev = Device::connect(&server, "VALVE_TOKEN").await;
    dev.publish(
        "v1/devices/me/attributes",
        r#"{"firmware":"1.2","model":"V"}"#,
    )
    .await;
    let attrs = client_attributes(&admin, &id).await;
    let keys: Vec<&str> = attrs
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["firmware", "model"]);

    assert_eq!(
        dev.subscribe("v1/devices/me/attributes/response/+").await,
        rumqttc::SubscribeReasonCode::Success(QoS::AtLeastOnce)
    );
    dev.publish(
        "v1/devices/me/attributes/request/1",
        r#"{"clientKeys":"firmware","sharedKeys":"target,missing"}"#,
    )
    .await;
    let (topic, body) = dev.message().await;
    assert_eq!(topic, "v1/devices/me/attributes/response/1");
    assert_eq!(
        body,
        json!({"client": {"firmware": "1.2"}, "shared": {"target": 40}})
    );
    dev.publish("v1/devices/me/attributes/request/2", "{}")
        .await;
    let (topic, body) = dev.message().await;
    assert_eq!(topic, "v1/devices/me/attributes/response/2");
    assert_eq!(
        body,
        json!({"client": {"firmware": "1.2", "model": "V"}, "shared": {"target": 40, "mode": "eco"}})
    );
}

#[tokio::test]
async fn shared_attribute_changes_reach_the_subscribed_device_only() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let a = admin.create_device("A", "A_TOKEN", false).await;
    let b = admin.create_device("B", "B_TOKEN", false).await;
    let mut dev_a = Device::connect(&server, "A_TOKEN").await;
    let mut dev_b = Device::connect(&server, "B_TOKEN").await;
    for d in [&mut dev_a, &mut dev_b] {
        assert_eq!(
            d.subscribe("v1/devices/me/attributes").await,
            rumqttc::SubscribeReasonCode::Success(QoS::AtLeastOnce)
        );
        // Accepted although nothing is sent on them yet.
        assert_eq!(
            d.subscribe("v1/devices/me/rpc/request/+").await,
            rumqttc::SubscribeReasonCode::Success(QoS::AtLeastOnce)
        );
    }
    assert_eq!(
        dev_a.subscribe("v1/devices/+/attributes").await,
        rumqttc::SubscribeReasonCode::Failure
    );

    let shared = |id: &str| format!("/api/plugins/telemetry/DEVICE/{id}/attributes/SHARED_SCOPE");
    let (status, _) = admin.post(&shared(&a), json!({"target": 21.5})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        dev_a.message().await,
        (
            "v1/devices/me/attributes".to_owned(),
            json!({"target": 21.5})
        )
    );
    let (status, _) = admin.post(&shared(&b), json!({"b_only": 1})).await;
    assert_eq!(status, StatusCode::OK);
    // B's first message is its own change: A's never reached it.
    assert_eq!(dev_b.message().await.1, json!({"b_only": 1}));

    let (status, _) = admin
        .delete(&format!(
            "/api/plugins/telemetry/DEVICE/{a}/SHARED_SCOPE?keys=target"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(dev_a.message().await.1, json!({"deleted": ["target"]}));
}

#[tokio::test]
async fn a_gateway_creates_and_feeds_the_devices_behind_it() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    admin.create_device("Gateway", "GW_TOKEN", true).await;
    let mut gw = Device::connect(&server, "GW_TOKEN").await;
    gw.publish(
        "v1/gateway/connect",
        r#"{"device":"Boiler","type":"heater"}"#,
    )
    .await;
    gw.publish(
        "v1/gateway/telemetry",
        r#"{"Boiler":[{"ts":1000,"values":{"temp":80}}],"Pump":[{"rpm":1200}]}"#,
    )
    .await;
    gw.publish("v1/gateway/attributes", r#"{"Pump":{"serial":"P-1"}}"#)
        .await;
    gw.publish("v1/gateway/disconnect", r#"{"device":"Boiler"}"#)
        .await;

    let page = admin
        .get_ok("/api/tenant/devices?pageSize=10&page=0&sortProperty=name")
        .await;
    let by_name = |name: &str| {
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == name)
            .unwrap_or_else(|| panic!("{name} not in {page}"))
            .clone()
    };
    let (boiler, pump) = (by_name("Boiler"), by_name("Pump"));
    assert_eq!(boiler["type"], "heater");
    let (boiler, pump) = (
        boiler["id"]["id"].as_str().unwrap().to_owned(),
        pump["id"]["id"].as_str().unwrap().to_owned(),
    );
    let temp = latest(&admin, &boiler, "temp").await;
    assert_eq!(
        (&temp["temp"][0]["ts"], &temp["temp"][0]["value"]),
        (&json!(1000), &json!(80))
    );
    assert_eq!(latest(&admin, &pump, "rpm").await["rpm"][0]["value"], 1200);
    assert_eq!(client_attributes(&admin, &pump).await[0]["value"], "P-1");
    assert!(latest(&admin, &pump, "temp").await.get("temp").is_none());
}

#[tokio::test]
async fn a_device_deleted_behind_a_gateway_is_created_anew_when_named_again() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    admin.create_device("Gateway", "GW_AGAIN_TOKEN", true).await;
    let mut gw = Device::connect(&server, "GW_AGAIN_TOKEN").await;
    let by_name = |admin: Client| async move {
        let (status, d) = admin.get("/api/tenant/devices?deviceName=Sensor").await;
        assert_eq!(status, StatusCode::OK, "{d}");
        d["id"]["id"].as_str().unwrap().to_owned()
    };
    gw.publish(
        "v1/gateway/telemetry",
        r#"{"Sensor":[{"ts":1000,"values":{"t":1}}]}"#,
    )
    .await;
    let first = by_name(admin.clone()).await;
    assert_eq!(latest(&admin, &first, "t").await["t"][0]["value"], 1);

    assert_eq!(
        admin.delete(&format!("/api/device/{first}")).await.0,
        StatusCode::OK
    );
    // The same name again, on the same connection: not the deleted device
    // the connection had looked up, but a new one, which gets the data.
    gw.publish(
        "v1/gateway/telemetry",
        r#"{"Sensor":[{"ts":2000,"values":{"t":2}}]}"#,
    )
    .await;
    let second = by_name(admin.clone()).await;
    assert_ne!(second, first, "a new device under the old name");
    let t = latest(&admin, &second, "t").await;
    assert_eq!(
        (&t["t"][0]["ts"], &t["t"][0]["value"]),
        (&json!(2000), &json!(2))
    );
}

#[tokio::test]
async fn gateway_topics_are_refused_to_ordinary_devices() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    admin.create_device("Plain", "PLAIN_TOKEN", false).await;
    let mut dev = Device::connect(&server, "PLAIN_TOKEN").await;
    dev.client
        .publish(
            "v1/gateway/telemetry",
            QoS::AtLeastOnce,
            false,
            r#"{"Sneaky":[{"t":1}]}"#,
        )
        .await
        .unwrap();
    // 3.1.1 has no negative PUBACK: the connection is closed instead.
    dev.closed().await;
    let page = admin.get_ok("/api/tenant/devices?pageSize=10&page=0").await;
    let names: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Plain"]);
}

#[tokio::test]
async fn bad_tokens_and_missing_user_names_get_their_connack_codes() {
    let server = TestServer::start().await;
    let mut anonymous = Device::start(options(&server, None));
    assert!(matches!(
        anonymous.next().await,
        Err(ConnectionError::ConnectionRefused(
            rumqttc::ConnectReturnCode::BadUserNamePassword
        ))
    ));
    let mut unknown = Device::start(options(&server, Some("NO_SUCH_TOKEN")));
    assert!(matches!(
        unknown.next().await,
        Err(ConnectionError::ConnectionRefused(
            rumqttc::ConnectReturnCode::NotAuthorized
        ))
    ));

    let v5_code = |token: Option<&str>| {
        let mut o = v5::MqttOptions::new("v5", "127.0.0.1", server.mqtt_addr.port());
        if let Some(t) = token {
            o.set_credentials(t, "");
        }
        async move {
            let (_client, mut eventloop) = v5::AsyncClient::new(o, 10);
            match tokio::time::timeout(WAIT, eventloop.poll()).await.unwrap() {
                Err(v5::ConnectionError::ConnectionRefused(code)) => code,
                other => panic!("not refused: {other:?}"),
            }
        }
    };
    use v5::mqttbytes::v5::ConnectReturnCode as Code5;
    assert_eq!(v5_code(None).await, Code5::BadUserNamePassword);
    assert_eq!(v5_code(Some("NO_SUCH_TOKEN")).await, Code5::NotAuthorized);
}

fn put_len(out: &mut Vec<u8>, mut len: usize) {
    loop {
        let byte = (len % 128) as u8;
        len /= 128;
        out.push(if len > 0 { byte | 0x80 } else { byte });
        if len == 0 {
            return;
        }
    }
}

/// A CONNECT as bytes: any protocol name and level, a user name, a keep-alive.
fn raw_connect(name: &str, level: u8, user: &str, keep_alive: u16) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&(name.len() as u16).to_be_bytes());
    body.extend_from_slice(name.as_bytes());
    body.push(level);
    body.push(0x82);
    body.extend_from_slice(&keep_alive.to_be_bytes());
    if level == 5 {
        body.push(0); // no properties
    }
    body.extend_from_slice(b"\x00\x03raw");
    body.extend_from_slice(&(user.len() as u16).to_be_bytes());
    body.extend_from_slice(user.as_bytes());
    let mut out = vec![0x10];
    put_len(&mut out, body.len());
    out.extend_from_slice(&body);
    out
}

/// Everything the server sends until it closes (bounded by `WAIT`).
async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut got))
        .await
        .expect("the server closes the connection")
        .ok();
    got
}

#[tokio::test]
async fn protocol_levels_other_than_3_1_3_1_1_and_5_are_refused() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    admin.create_device("Raw", "RAW_TOKEN", false).await;
    for (name, level, answer) in [
        ("MQTT", 2, &[0x20, 0x02, 0x00, 0x01][..]),
        ("MQTT", 6, &[0x20, 0x03, 0x00, 0x84, 0x00][..]),
    ] {
        let mut s = TcpStream::connect(server.mqtt_addr).await.unwrap();
        s.write_all(&raw_connect(name, level, "RAW_TOKEN", 60))
            .await
            .unwrap();
        assert_eq!(read_to_close(&mut s).await, answer, "level {level}");
    }
    // MQTT 3.1 is accepted, and spoken as 3.1.1 from there on.
    let mut s = TcpStream::connect(server.mqtt_addr).await.unwrap();
    s.write_all(&raw_connect("MQIsdp", 3, "RAW_TOKEN", 60))
        .await
        .unwrap();
    s.write_all(&[0xC0, 0x00, 0xE0, 0x00]).await.unwrap(); // PINGREQ, DISCONNECT
    assert_eq!(
        read_to_close(&mut s).await,
        [0x20, 0x02, 0x00, 0x00, 0xD0, 0x00]
    );
}

#[tokio::test]
async fn garbage_and_silence_close_only_their_own_connection() {
    let server = TestServer::start_with(|s| s.mqtt.connect_timeout_s = 1).await;
    let admin = server.tenant_admin().await;
    let id = admin.create_device("Steady", "STEADY_TOKEN", false).await;
    let mut steady = Device::connect(&server, "STEADY_TOKEN").await;

    // Garbage instead of CONNECT.
    let mut s = TcpStream::connect(server.mqtt_addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    assert_eq!(read_to_close(&mut s).await, b"");
    // Garbage after a good CONNECT: a remaining length over four bytes.
    let mut s = TcpStream::connect(server.mqtt_addr).await.unwrap();
    s.write_all(&raw_connect("MQTT", 4, "STEADY_TOKEN", 60))
        .await
        .unwrap();
    s.write_all(&[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F])
        .await
        .unwrap();
    assert_eq!(read_to_close(&mut s).await, [0x20, 0x02, 0x00, 0x00]);
    // A PUBLISH whose topic runs past its packet.
    let mut s = TcpStream::connect(server.mqtt_addr).await.unwrap();
    s.write_all(&raw_connect("MQTT", 4, "STEADY_TOKEN", 60))
        .await
        .unwrap();
    s.write_all(&[0x32, 0x04, 0x00, 0x09, b'a', b'b'])
        .await
        .unwrap();
    assert_eq!(read_to_close(&mut s).await, [0x20, 0x02, 0x00, 0x00]);
    // No CONNECT at all within the connect timeout.
    let mut s = TcpStream::connect(server.mqtt_addr).await.unwrap();
    assert_eq!(read_to_close(&mut s).await, b"");
    // Silent for 1.5 x a keep-alive of 1 s.
    let mut s = TcpStream::connect(server.mqtt_addr).await.unwrap();
    s.write_all(&raw_connect("MQTT", 4, "STEADY_TOKEN", 1))
        .await
        .unwrap();
    let started = Instant::now();
    assert_eq!(read_to_close(&mut s).await, [0x20, 0x02, 0x00, 0x00]);
    assert!(
        started.elapsed() >= Duration::from_millis(1400),
        "closed too early"
    );

    steady
        .publish("v1/devices/me/telemetry", r#"{"still":"here"}"#)
        .await;
    assert_eq!(
        latest(&admin, &id, "still").await["still"][0]["value"],
        "here"
    );
}

/// A client that keeps talking is not silent, however long it talks: the
/// keep-alive counts from the last packet heard, not from the first.
#[tokio::test]
async fn a_client_that_keeps_talking_outlives_its_keep_alive_and_is_closed_once_silent() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    admin.create_device("Chatty", "CHATTY_TOKEN", false).await;
    let mut s = TcpStream::connect(server.mqtt_addr).await.unwrap();
    s.write_all(&raw_connect("MQTT", 4, "CHATTY_TOKEN", 1))
        .await
        .unwrap();
    let mut connack = [0u8; 4];
    s.read_exact(&mut connack).await.unwrap();
    assert_eq!(connack, [0x20, 0x02, 0x00, 0x00]);
    // A PINGREQ every 0.4 s for 4 s: over 2.5 times the 1.5 s allowed silence.
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(4) {
        s.write_all(&[0xC0, 0x00]).await.unwrap();
        let mut pong = [0u8; 2];
        tokio::time::timeout(WAIT, s.read_exact(&mut pong))
            .await
            .expect("answered")
            .expect("still open");
        assert_eq!(pong, [0xD0, 0x00], "PINGRESP");
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    // Then silent: closed after 1.5 s, with nothing more said.
    let quiet = Instant::now();
    assert_eq!(read_to_close(&mut s).await, b"");
    assert!(
        quiet.elapsed() >= Duration::from_millis(1000),
        "closed too early"
    );
}

#[tokio::test]
async fn an_oversized_packet_closes_only_its_connection() {
    let server = TestServer::start_with(|s| s.mqtt.max_packet_bytes = 2048).await;
    let admin = server.tenant_admin().await;
    admin.create_device("Big", "BIG_TOKEN", false).await;
    let id = admin.create_device("Small", "SMALL_TOKEN", false).await;
    let mut big = Device::connect(&server, "BIG_TOKEN").await;
    let mut small = Device::connect(&server, "SMALL_TOKEN").await;
    let huge = format!(r#"{{"blob":"{}"}}"#, "x".repeat(4096));
    big.client
        .publish("v1/devices/me/telemetry", QoS::AtLeastOnce, false, huge)
        .await
        .unwrap();
    big.closed().await;
    for i in 0..5 {
        small
            .publish("v1/devices/me/telemetry", format!(r#"{{"n":{i}}}"#))
            .await;
    }
    assert_eq!(latest(&admin, &id, "n").await["n"][0]["value"], 4);

    // MQTT 5 is told why first. Raw bytes: rumqttc would not send a packet
    // over the maximum our CONNACK announced.
    let mut s = TcpStream::connect(server.mqtt_addr).await.unwrap();
    s.write_all(&raw_connect("MQTT", 5, "BIG_TOKEN", 60))
        .await
        .unwrap();
    let mut raw_big = vec![0x30];
    put_len(&mut raw_big, 3000);
    raw_big.resize(raw_big.len() + 3000, b'x');
    s.write_all(&raw_big).await.unwrap();
    let got = read_to_close(&mut s).await;
    // After the CONNACK: DISCONNECT (0xE0) with reason 0x95, packet too large.
    let connack_len = 2 + usize::from(got[1]);
    assert_eq!(got[connack_len], 0xE0, "{got:?}");
    assert_eq!(got[connack_len + 2], 0x95, "{got:?}");
}

#[tokio::test]
async fn invalid_payloads_close_3_1_1_and_get_a_negative_puback_in_5() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let id = admin.create_device("Five", "FIVE_TOKEN", false).await;
    admin.create_device("Four", "FOUR_TOKEN", false).await;

    let mut four = Device::connect(&server, "FOUR_TOKEN").await;
    four.client
        .publish(
            "v1/devices/me/telemetry",
            QoS::AtLeastOnce,
            false,
            "{not json",
        )
        .await
        .unwrap();
    four.closed().await;

    let mut o = v5::MqttOptions::new("v5", "127.0.0.1", server.mqtt_addr.port());
    o.set_credentials("FIVE_TOKEN", "");
    let (client, mut eventloop) = v5::AsyncClient::new(o, 10);
    let (tx, mut events) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(event) = eventloop.poll().await {
            if let v5::Event::Incoming(p) = event
                && tx.send(p).is_err()
            {
                return;
            }
        }
    });
    let mut next_ack = async || loop {
        match tokio::time::timeout(WAIT, events.recv()).await.unwrap() {
            Some(v5::Incoming::PubAck(ack)) => return ack.reason,
            Some(_) => {}
            None => panic!("connection ended"),
        }
    };
    use v5::mqttbytes::v5::PubAckReason;
    let publish = |topic: &'static str, body: &'static str| {
        let client = client.clone();
        async move {
            client
                .publish(topic, v5::mqttbytes::QoS::AtLeastOnce, false, body)
                .await
                .unwrap()
        }
    };
    publish("v1/devices/me/telemetry", "{not json").await;
    assert_eq!(next_ack().await, PubAckReason::PayloadFormatInvalid);
    publish("v1/gateway/telemetry", r#"{"X":[{"t":1}]}"#).await;
    assert_eq!(next_ack().await, PubAckReason::NotAuthorized);
    publish("v1/devices/me/nowhere", "{}").await;
    assert_eq!(next_ack().await, PubAckReason::TopicNameInvalid);
    // The connection stays: the next message is stored and acknowledged.
    publish("v1/devices/me/telemetry", r#"{"v5":true}"#).await;
    assert_eq!(next_ack().await, PubAckReason::Success);
    assert_eq!(latest(&admin, &id, "v5").await["v5"][0]["value"], true);

    // Shared attributes reach MQTT 5 subscribers as well.
    client
        .subscribe("v1/devices/me/attributes", v5::mqttbytes::QoS::AtLeastOnce)
        .await
        .unwrap();
    loop {
        match tokio::time::timeout(WAIT, events.recv()).await.unwrap() {
            Some(v5::Incoming::SubAck(_)) => break,
            Some(_) => {}
            None => panic!("connection ended"),
        }
    }
    admin
        .post_ok(
            &format!("/api/plugins/telemetry/DEVICE/{id}/attributes/SHARED_SCOPE"),
            json!({"setpoint": 5}),
        )
        .await;
    loop {
        match tokio::time::timeout(WAIT, events.recv()).await.unwrap() {
            Some(v5::Incoming::Publish(p)) => {
                assert_eq!(&p.topic[..], b"v1/devices/me/attributes");
                assert_eq!(
                    serde_json::from_slice::<Value>(&p.payload).unwrap(),
                    json!({"setpoint": 5})
                );
                break;
            }
            Some(_) => {}
            None => panic!("connection ended"),
        }
    }
}

#[tokio::test]
async fn many_messages_are_acknowledged_in_order_through_a_small_window() {
    let server = TestServer::start_with(|s| s.mqtt.max_inflight = 4).await;
    let admin = server.tenant_admin().await;
    let id = admin.create_device("Busy", "BUSY_TOKEN", false).await;
    let mut o = options(&server, Some("BUSY_TOKEN"));
    // Packet ids then stay unique: the order of PUBACKs shows in them.
    o.set_inflight(250);
    let mut dev = Device::start(o);
    assert!(matches!(dev.next().await, Ok(Packet::ConnAck(_))));
    let n = 200;
    for i in 0..n {
        dev.client
            .publish(
                "v1/devices/me/telemetry",
                QoS::AtLeastOnce,
                false,
                format!(r#"{{"ts":{},"values":{{"seq":{i}}}}}"#, 1000 + i),
            )
            .await
            .unwrap();
    }
    let mut acked = Vec::new();
    while acked.len() < n {
        if let Packet::PubAck(ack) = dev.next_where(|p| matches!(p, Packet::PubAck(_))).await {
            acked.push(ack.pkid);
        }
    }
    let mut sorted = acked.clone();
    sorted.sort_unstable();
    assert_eq!(acked, sorted, "PUBACKs out of order");
    let history = admin.get_ok(&format!(
            "/api/plugins/telemetry/DEVICE/{id}/values/timeseries?keys=seq&startTs=0&endTs=100000&limit=1000"
        )).await;
    assert_eq!(history["seq"].as_array().unwrap().len(), n);
}

/// `mosquitto_pub`, or a failure naming the package when it is missing.
fn mosquitto_pub(server: &TestServer, args: &[&str]) -> std::process::Output {
    Command::new("mosquitto_pub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &server.mqtt_addr.port().to_string(),
        ])
        .args(args)
        .output()
        .expect("mosquitto_pub (Debian package mosquitto-clients; scripts/test installs it)")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_pub_publishes_at_qos_1_in_every_protocol_version() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let id = admin.create_device("Mosq", "MOSQ_TOKEN", false).await;
    for (version, value) in [("mqttv311", 1), ("mqttv5", 2), ("mqttv31", 3)] {
        let body = format!(r#"{{"mosq_{version}":{value}}}"#);
        let args = [
            "-V",
            version,
            "-q",
            "1",
            "-u",
            "MOSQ_TOKEN",
            "-t",
            "v1/devices/me/telemetry",
            "-m",
            &body,
        ];
        let out = tokio::task::block_in_place(|| mosquitto_pub(&server, &args));
        assert!(
            out.status.success(),
            "{version}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // mosquitto_pub exits after its PUBACK, so the value is there already.
        let key = format!("mosq_{version}");
        assert_eq!(latest(&admin, &id, &key).await[&key][0]["value"], value);
    }
    let refused = tokio::task::block_in_place(|| {
        mosquitto_pub(
            &server,
            &[
                "-q",
                "1",
                "-u",
                "WRONG",
                "-t",
                "v1/devices/me/telemetry",
                "-m",
                "{}",
            ],
        )
    });
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("not authori"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thingsboards_python_device_sdk_works_unmodified() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let id = admin.create_device("SdkDevice", "SDK_TOKEN", false).await;
    let port = server.mqtt_addr.port().to_string();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python())
            .arg(workspace().join("tests/python/tb_device_publish.py"))
            .args(["127.0.0.1", &port, "SDK_TOKEN"])
            .output()
            .expect("run the SDK script")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "SDK script failed:\n{stdout}\n{stderr}"
    );
    let answer: Value = stdout
        .lines()
        .find_map(|l| l.strip_prefix("ATTRIBUTES "))
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_else(|| panic!("no attribute answer:\n{stdout}\n{stderr}"));
    assert_eq!(answer["client"], json!({"sdk_firmware": "1.2.3"}));
    let now = latest(&admin, &id, "sdk_temperature,sdk_ok").await;
    assert_eq!(
        (
            &now["sdk_temperature"][0]["value"],
            &now["sdk_ok"][0]["value"]
        ),
        (&json!(42.5), &json!(true))
    );
    assert_eq!(client_attributes(&admin, &id).await[0]["value"], "1.2.3");
}

#[tokio::test]
async fn deleting_a_device_or_replacing_its_token_ends_its_sessions() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let doomed = admin.create_device("Doomed", "DOOMED_TOKEN", false).await;
    let rotated = admin.create_device("Rotated", "ROTATED_TOKEN", false).await;
    let bystander = admin
        .create_device("Bystander", "BYSTANDER_TOKEN", false)
        .await;
    let mut d = Device::connect(&server, "DOOMED_TOKEN").await;
    let mut r = Device::connect(&server, "ROTATED_TOKEN").await;
    let mut b = Device::connect(&server, "BYSTANDER_TOKEN").await;
    d.publish("v1/devices/me/telemetry", r#"{"t":1}"#).await;

    assert_eq!(
        admin.delete(&format!("/api/device/{doomed}")).await.0,
        StatusCode::OK
    );
    d.closed().await;
    let mut creds = admin
        .get_ok(&format!("/api/device/{rotated}/credentials"))
        .await;
    creds["credentialsId"] = json!("ROTATED_TOKEN_2");
    assert_eq!(
        admin.post("/api/device/credentials", creds).await.0,
        StatusCode::OK
    );
    r.closed().await;

    // The others go on; the new token works.
    b.publish("v1/devices/me/telemetry", r#"{"t":2}"#).await;
    assert_eq!(latest(&admin, &bystander, "t").await["t"][0]["value"], 2);
    let mut again = Device::connect(&server, "ROTATED_TOKEN_2").await;
    again.publish("v1/devices/me/telemetry", r#"{"t":3}"#).await;
}

#[tokio::test]
async fn a_gateway_hears_and_asks_for_its_devices_attributes() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    admin.create_device("Gateway", "GW_ATTR_TOKEN", true).await;
    let mut gw = Device::connect(&server, "GW_ATTR_TOKEN").await;
    for filter in ["v1/gateway/attributes", "v1/gateway/attributes/response"] {
        assert_eq!(
            gw.subscribe(filter).await,
            rumqttc::SubscribeReasonCode::Success(QoS::AtLeastOnce),
            "{filter}"
        );
    }
    gw.publish("v1/gateway/connect", r#"{"device":"Valve"}"#)
        .await;
    let valve = admin.get_ok("/api/tenant/devices?deviceName=Valve").await;
    let valve_id = valve["id"]["id"].as_str().unwrap().to_owned();

    let path = format!("/api/plugins/telemetry/DEVICE/{valve_id}/attributes/SHARED_SCOPE");
    assert_eq!(
        admin.post(&path, json!({"target": 40})).await.0,
        StatusCode::OK
    );
    let (topic, pushed) = gw.message().await;
    assert_eq!(topic, "v1/gateway/attributes");
    assert_eq!(pushed, json!({"device": "Valve", "data": {"target": 40}}));

    gw.publish(
        "v1/gateway/attributes/request",
        r#"{"id":7,"device":"Valve","client":false,"key":"target"}"#,
    )
    .await;
    let (topic, answer) = gw.message().await;
    assert_eq!(topic, "v1/gateway/attributes/response");
    assert_eq!(answer, json!({"id": 7, "device": "Valve", "value": 40}));

    gw.publish("v1/gateway/attributes", r#"{"Valve":{"firmware":"2.1"}}"#)
        .await;
    gw.publish(
        "v1/gateway/attributes/request",
        r#"{"id":8,"device":"Valve","client":true,"keys":["firmware","missing"]}"#,
    )
    .await;
    let (_, answer) = gw.message().await;
    assert_eq!(
        answer,
        json!({"id": 8, "device": "Valve", "values": {"firmware": "2.1"}})
    );
}

/// A QoS 0 PUBLISH of `payload` to the telemetry topic, as bytes.
fn raw_publish_qos0(payload: &[u8]) -> Vec<u8> {
    let topic = b"v1/devices/me/telemetry";
    let mut body = Vec::new();
    body.extend_from_slice(&(topic.len() as u16).to_be_bytes());
    body.extend_from_slice(topic);
    body.extend_from_slice(payload);
    let mut out = vec![0x30];
    put_len(&mut out, body.len());
    out.extend_from_slice(&body);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_device_does_not_starve_the_others() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    admin.create_device("Flood", "FLOOD_TOKEN", false).await;
    let calm = admin.create_device("Calm", "CALM_TOKEN", false).await;

    let mut flood = TcpStream::connect(server.mqtt_addr).await.unwrap();
    flood
        .write_all(&raw_connect("MQTT", 4, "FLOOD_TOKEN", 60))
        .await
        .unwrap();
    let mut ack = [0u8; 4];
    flood.read_exact(&mut ack).await.unwrap();
    assert_eq!(ack, [0x20, 2, 0, 0], "flooder accepted");
    // Writes as fast as the socket takes them, never reading: the server
    // stops reading this socket while its window is full.
    let burst: Vec<u8> = (0..500)
        .flat_map(|i| raw_publish_qos0(format!("{{\"n\":{i}}}").as_bytes()))
        .collect();
    let flooder = tokio::spawn(async move {
        for _ in 0..40 {
            if flood.write_all(&burst).await.is_err() {
                break;
            }
        }
        flood
    });

    // Meanwhile another device is served as usual.
    let mut c = Device::connect(&server, "CALM_TOKEN").await;
    for i in 0..20 {
        c.publish("v1/devices/me/telemetry", format!("{{\"calm\":{i}}}"))
            .await;
    }
    assert_eq!(latest(&admin, &calm, "calm").await["calm"][0]["value"], 19);
    let _flood = flooder.await.unwrap();
}
