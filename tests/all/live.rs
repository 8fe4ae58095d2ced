//! Live values over WebSocket, as ThingsBoard's web UI subscribes to them.

use std::time::Duration;

use clientele_tests::{PASSWORD, TestServer};
use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(server: &TestServer, query: &str) -> Socket {
    let url = format!("ws://{}/api/ws{query}", server.addr);
    tokio_tungstenite::connect_async(url)
        .await
        .expect("websocket")
        .0
}

/// The next text message as JSON, waiting at most five seconds.
async fn next(socket: &mut Socket) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a message within 5 s")
            .expect("socket open")
            .expect("message");
        if let Message::Text(t) = msg {
            return serde_json::from_str(&t).expect("json");
        }
    }
}

async fn send(socket: &mut Socket, v: Value) {
    socket
        .send(Message::Text(v.to_string().into()))
        .await
        .expect("send");
}

#[tokio::test]
async fn a_subscription_gets_current_values_then_each_change() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let d = admin
        .post_ok(
            "/api/device?accessToken=LIVE_TOKEN",
            json!({"name": "Live"}),
        )
        .await;
    let did = d["id"]["id"].as_str().unwrap().to_owned();
    let anon = server.anonymous();
    anon.post_ok(
        "/api/v1/LIVE_TOKEN/telemetry",
        json!({"ts": 1000, "values": {"t": 20, "h": 50}}),
    )
    .await;

    let mut ws = connect(&server, "").await;
    let token = admin.token.clone().unwrap();
    send(&mut ws, json!({"authCmd": {"cmdId": 0, "token": token},
        "cmds": [{"type": "TIMESERIES", "entityType": "DEVICE", "entityId": did, "cmdId": 7, "keys": "t"}]})).await;
    let initial = next(&mut ws).await;
    assert_eq!(initial["subscriptionId"], 7);
    assert_eq!(initial["data"], json!({"t": [[1000, "20"]]}));

    anon.post_ok(
        "/api/v1/LIVE_TOKEN/telemetry",
        json!({"ts": 2000, "values": {"t": 21, "h": 51}}),
    )
    .await;
    let update = next(&mut ws).await;
    assert_eq!(
        update["data"],
        json!({"t": [[2000, "21"]]}),
        "only the subscribed key"
    );

    send(&mut ws, json!({"attrSubCmds": [{"entityType": "DEVICE", "entityId": did, "scope": "SHARED_SCOPE", "cmdId": 8}]})).await;
    assert_eq!(next(&mut ws).await["subscriptionId"], 8);
    let path = format!("/api/plugins/telemetry/DEVICE/{did}/attributes/SHARED_SCOPE");
    assert_eq!(
        admin.post(&path, json!({"target": 22})).await.0,
        StatusCode::OK
    );
    let attr = next(&mut ws).await;
    assert_eq!(
        (
            attr["subscriptionId"].as_i64(),
            attr["data"]["target"][0][1].as_str()
        ),
        (Some(8), Some("22"))
    );

    // Unsubscribed: the next telemetry brings nothing for 7; the attribute stream still works.
    send(&mut ws, json!({"tsSubCmds": [{"cmdId": 7, "entityType": "DEVICE", "entityId": did, "unsubscribe": true}]})).await;
    anon.post_ok("/api/v1/LIVE_TOKEN/telemetry", json!({"t": 99}))
        .await;
    admin.post_ok(&path, json!({"target": 23})).await;
    let after = next(&mut ws).await;
    assert_eq!(
        (
            after["subscriptionId"].as_i64(),
            after["data"]["target"][0][1].as_str()
        ),
        (Some(8), Some("23"))
    );
}

#[tokio::test]
async fn subscribers_see_only_what_they_may_read() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let d = admin
        .post_ok(
            "/api/device?accessToken=HIDDEN_TOKEN",
            json!({"name": "Hidden"}),
        )
        .await;
    let did = d["id"]["id"].as_str().unwrap().to_owned();
    let c = admin.create_customer("Outsider").await;
    admin
        .create_active_user(&server, c["id"]["id"].as_str().unwrap(), "o@out.io")
        .await;
    let outsider = server.login("o@out.io", PASSWORD).await;

    let mut ws = connect(&server, &format!("?token={}", outsider.token.unwrap())).await;
    send(
        &mut ws,
        json!({"tsSubCmds": [{"entityType": "DEVICE", "entityId": did, "cmdId": 1}]}),
    )
    .await;
    let refused = next(&mut ws).await;
    assert_eq!(refused["subscriptionId"], 1);
    assert_ne!(refused["errorCode"], 0, "{refused}");
    assert!(
        refused["errorMsg"].as_str().unwrap().contains("permission"),
        "{refused}"
    );

    // An unauthenticated socket is closed at its first command.
    let mut anon = connect(&server, "").await;
    send(
        &mut anon,
        json!({"tsSubCmds": [{"entityType": "DEVICE", "entityId": did, "cmdId": 1}]}),
    )
    .await;
    let closed = tokio::time::timeout(Duration::from_secs(5), anon.next())
        .await
        .expect("answer");
    assert!(
        matches!(closed, Some(Ok(Message::Close(_))) | None),
        "{closed:?}"
    );
    let mut forged = connect(&server, "?token=not.a.jwt").await;
    let closed = tokio::time::timeout(Duration::from_secs(5), forged.next())
        .await
        .expect("answer");
    assert!(
        matches!(closed, Some(Ok(Message::Close(_))) | None | Some(Err(_))),
        "{closed:?}"
    );
}

#[tokio::test]
async fn a_disabled_users_socket_is_closed_at_the_next_token_check() {
    let server = TestServer::start_with(|s| s.http.ws_token_recheck_s = 1).await;
    let admin = server.tenant_admin().await;
    let c = admin.create_customer("Watcher").await;
    let uid = admin
        .create_active_user(&server, c["id"]["id"].as_str().unwrap(), "w@w.io")
        .await;
    let user = server.login("w@w.io", PASSWORD).await;
    let mut ws = connect(&server, &format!("?token={}", user.token.unwrap())).await;
    send(
        &mut ws,
        json!({"attrSubCmds": [{"entityType": "CUSTOMER", "entityId": c["id"]["id"], "cmdId": 1}]}),
    )
    .await;
    assert_eq!(next(&mut ws).await["errorCode"], 0);
    let off = format!("/api/user/{uid}/userCredentialsEnabled?userCredentialsEnabled=false");
    assert_eq!(admin.post(&off, json!({})).await.0, StatusCode::OK);
    let closed = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .expect("closed within 5 s");
    assert!(
        matches!(closed, Some(Ok(Message::Close(_))) | None | Some(Err(_))),
        "{closed:?}"
    );
}

#[tokio::test]
async fn garbage_commands_close_the_socket_and_subscriptions_are_capped() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let d = admin
        .post_ok("/api/device", json!({"name": "Capped"}))
        .await;
    let did = d["id"]["id"].as_str().unwrap().to_owned();
    let token = admin.token.clone().unwrap();

    let mut ws = connect(&server, &format!("?token={token}")).await;
    ws.send(Message::Text("{not json".into())).await.unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .expect("answer");
    assert!(
        matches!(closed, Some(Ok(Message::Close(_))) | None),
        "{closed:?}"
    );

    // Bad ids and types are answered per subscription; the socket stays.
    let mut ws = connect(&server, &format!("?token={token}")).await;
    send(
        &mut ws,
        json!({"tsSubCmds": [{"entityType": "DEVICE", "entityId": "not-a-uuid", "cmdId": 1},
                                       {"entityType": "PLANET", "entityId": did, "cmdId": 2}]}),
    )
    .await;
    let (a, b) = (next(&mut ws).await, next(&mut ws).await);
    assert_ne!(a["errorCode"], 0, "{a}");
    assert_ne!(b["errorCode"], 0, "{b}");

    let many: Vec<Value> = (0..300)
        .map(|i| json!({"entityType": "DEVICE", "entityId": did, "cmdId": 100 + i}))
        .collect();
    send(&mut ws, json!({ "tsSubCmds": many })).await;
    let mut refused = 0;
    for _ in 0..300 {
        if next(&mut ws).await["errorCode"] != 0 {
            refused += 1;
        }
    }
    assert_eq!(refused, 300 - 256, "only 256 subscriptions per socket");
}

/// Nothing arrives on the socket for `quiet`.
async fn assert_silent(socket: &mut Socket, quiet: Duration) {
    if let Ok(msg) = tokio::time::timeout(quiet, socket.next()).await {
        panic!("expected nothing, got {msg:?}");
    }
}

#[tokio::test]
async fn a_subscription_ends_when_its_device_leaves_the_customer() {
    let server = TestServer::start_with(|s| s.http.ws_token_recheck_s = 1).await;
    let admin = server.tenant_admin().await;
    let d = admin
        .post_ok(
            "/api/device?accessToken=MOVED_TOKEN",
            json!({"name": "Moved"}),
        )
        .await;
    let did = d["id"]["id"].as_str().unwrap().to_owned();
    let c = admin.create_customer("Leaving").await;
    let cid = c["id"]["id"].as_str().unwrap().to_owned();
    admin
        .post_ok(&format!("/api/customer/{cid}/device/{did}"), json!({}))
        .await;
    admin.create_active_user(&server, &cid, "l@l.io").await;
    let user = server.login("l@l.io", PASSWORD).await;

    let mut ws = connect(&server, &format!("?token={}", user.token.unwrap())).await;
    send(
        &mut ws,
        json!({"tsSubCmds": [{"entityType": "DEVICE", "entityId": did, "cmdId": 5}]}),
    )
    .await;
    assert_eq!(next(&mut ws).await["errorCode"], 0);
    let anon = server.anonymous();
    anon.post_ok("/api/v1/MOVED_TOKEN/telemetry", json!({"t": 1}))
        .await;
    assert_eq!(next(&mut ws).await["data"]["t"][0][1], "1");

    admin
        .delete_ok(&format!("/api/customer/device/{did}"))
        .await;
    let ended = next(&mut ws).await;
    assert_eq!(ended["subscriptionId"], 5, "{ended}");
    assert_ne!(ended["errorCode"], 0, "{ended}");
    // Past the next periodic check too, the device's data stays away.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    anon.post_ok("/api/v1/MOVED_TOKEN/telemetry", json!({"t": 2}))
        .await;
    assert_silent(&mut ws, Duration::from_millis(1500)).await;
}

#[tokio::test]
async fn another_users_token_keeps_only_what_that_user_may_read() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let d = admin
        .post_ok(
            "/api/device?accessToken=SWITCH_TOKEN",
            json!({"name": "Switched"}),
        )
        .await;
    let did = d["id"]["id"].as_str().unwrap().to_owned();
    let c = admin.create_customer("Switcher").await;
    admin
        .create_active_user(&server, c["id"]["id"].as_str().unwrap(), "s@s.io")
        .await;
    let user = server.login("s@s.io", PASSWORD).await;

    let mut ws = connect(&server, &format!("?token={}", admin.token.unwrap())).await;
    send(
        &mut ws,
        json!({"tsSubCmds": [{"entityType": "DEVICE", "entityId": did, "cmdId": 9}]}),
    )
    .await;
    assert_eq!(next(&mut ws).await["errorCode"], 0);
    send(
        &mut ws,
        json!({"authCmd": {"cmdId": 0, "token": user.token.unwrap()}}),
    )
    .await;
    let ended = next(&mut ws).await;
    assert_eq!(ended["subscriptionId"], 9, "{ended}");
    assert_ne!(ended["errorCode"], 0, "{ended}");
    server
        .anonymous()
        .post_ok("/api/v1/SWITCH_TOKEN/telemetry", json!({"t": 3}))
        .await;
    assert_silent(&mut ws, Duration::from_millis(1500)).await;
}
