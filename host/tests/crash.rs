//! Crash safety: the service is killed with SIGKILL in the middle of a QoS 1
//! burst from many devices, restarted on the same data directory, and every
//! message whose PUBACK reached a device must be there, once; then again,
//! over several kills.

#[allow(dead_code)]
#[path = "../benches/load.rs"]
mod load;
#[allow(dead_code)]
mod support;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use serde_json::json;

const DEVICES: u64 = 40;
const KILLS: u64 = 3;
const PASSWORD: &str = "Crash-pass-1";

fn start(dir: &std::path::Path, http: SocketAddr, mqtt: SocketAddr) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_clientele"))
        .current_dir(dir)
        .env_clear()
        .env("CLIENTELE_HTTP_ADDR", http.to_string())
        .env("CLIENTELE_MQTT_ADDR", mqtt.to_string())
        .env("CLIENTELE_TENANT_ADMIN_PASSWORD", PASSWORD)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .spawn()
        .expect("start clientele");
    support::wait_for(http);
    support::wait_for(mqtt);
    child
}

async fn rest(http: SocketAddr) -> (reqwest::Client, String) {
    let client = reqwest::Client::new();
    let login: serde_json::Value = client
        .post(format!("http://{http}/api/auth/login"))
        .json(&json!({"username": "tenant@clientele.local", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (client, login["token"].as_str().unwrap().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_message_survives_sigkill_once() {
    let dir = tempfile::tempdir().unwrap();
    let (http, mqtt) = (support::free_addr(), support::free_addr());
    let mut server = start(dir.path(), http, mqtt);
    let (client, token) = rest(http).await;
    let mut ids = Vec::new();
    for i in 0..DEVICES {
        let d: serde_json::Value = client
            .post(format!("http://{http}/api/device?accessToken=CRASH_{i}"))
            .header("X-Authorization", format!("Bearer {token}"))
            .json(&json!({"name": format!("crash-{i}")}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ids.push(d["id"]["id"].as_str().unwrap().to_owned());
    }

    let mut acked: Vec<BTreeSet<u64>> = vec![BTreeSet::new(); DEVICES as usize];
    let mut sent: Vec<Vec<std::ops::Range<u64>>> = vec![Vec::new(); DEVICES as usize];
    for round in 0..KILLS {
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        for i in 0..DEVICES {
            // Each round numbers its messages from a fresh range, so a
            // replay from an earlier round would show as a stray number.
            let first = round * 1_000_000 + 1;
            let conn = load::connect(mqtt, &format!("crash{i}"), &format!("CRASH_{i}"))
                .await
                .expect("connect");
            let stop = Arc::clone(&stop);
            tasks.push(tokio::spawn(async move {
                let (mut acked, mut count) = (Vec::new(), 0);
                let plan = load::Plan {
                    inflight: 4,
                    interval: None,
                    first_due: std::time::Instant::now(),
                };
                let _ = load::publish(
                    conn.0,
                    conn.1,
                    "v1/devices/me/telemetry",
                    &plan,
                    |n| {
                        count = n + 1;
                        let n = first + n;
                        format!("{{\"ts\":{n},\"values\":{{\"seq\":{n}}}}}").into_bytes()
                    },
                    || stop.load(std::sync::atomic::Ordering::Relaxed),
                    |n, _| acked.push(first + n),
                )
                .await;
                (first, (acked, count))
            }));
        }
        // Let the burst run, then pull the plug at a different moment each round.
        tokio::time::sleep(Duration::from_millis(400 + round * 230)).await;
        server.kill().expect("SIGKILL");
        server.wait().expect("reap");
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for (i, t) in tasks.into_iter().enumerate() {
            let (first, (got, count)) = t.await.unwrap();
            acked[i].extend(got);
            sent[i].push(first..first + count);
        }
        server = start(dir.path(), http, mqtt);
    }
    let total_acked: usize = acked.iter().map(BTreeSet::len).sum();
    let total_sent: u64 = sent.iter().flatten().map(|r| r.end - r.start).sum();
    eprintln!("{KILLS} kills: {total_acked} messages acknowledged of {total_sent} sent");
    assert!(
        total_acked > 100,
        "the burst acknowledged too little to prove anything: {total_acked}"
    );

    let (client, token) = rest(http).await;
    for (i, id) in ids.iter().enumerate() {
        let history: serde_json::Value = client
            .get(format!(
                "http://{http}/api/plugins/telemetry/DEVICE/{id}/values/timeseries?keys=seq&startTs=0&endTs=100000000&limit=100000&orderBy=ASC"
            ))
            .header("X-Authorization", format!("Bearer {token}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let points = history["seq"].as_array().cloned().unwrap_or_default();
        let stored: Vec<u64> = points.iter().map(|p| p["ts"].as_u64().unwrap()).collect();
        let unique: BTreeSet<u64> = stored.iter().copied().collect();
        assert_eq!(
            unique.len(),
            stored.len(),
            "device {i}: a message stored twice"
        );
        for p in &points {
            assert_eq!(
                p["value"].as_str().unwrap(),
                p["ts"].to_string(),
                "device {i}: value and number disagree"
            );
        }
        let missing: Vec<&u64> = acked[i].difference(&unique).collect();
        assert!(
            missing.is_empty(),
            "device {i}: acknowledged but lost: {missing:?}"
        );
        let stray: Vec<&u64> = unique
            .iter()
            .filter(|n| !sent[i].iter().any(|r| r.contains(n)))
            .collect();
        assert!(
            stray.is_empty(),
            "device {i}: numbers nobody sent: {stray:?}"
        );
    }
    let _ = server.kill();
    let _ = server.wait();
}
