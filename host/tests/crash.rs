//! Crash safety: the service is killed with SIGKILL in the middle of a QoS 1
//! burst from many devices, restarted on the same data directory, and every
//! message whose PUBACK reached a device must be there, and no message
//! stored more often than it was sent; then again, over several kills.
//!
//! The devices behave as QoS 1 clients do: after a reconnect they send
//! again, with the same number, every message whose PUBACK they did not
//! get. That is where at-least-once delivery allows a duplicate: the server
//! may have committed a message and died before its PUBACK left. Each
//! sending of a message is stored under its own timestamp (the number
//! times [`SENDS`] plus the attempt), so such a duplicate shows as a second
//! point with the same number rather than overwriting the first. "No
//! duplicates" then means: every point is one sending (no timestamp twice,
//! none that was never sent), so a message is stored at most once per time
//! it was sent, and a message acknowledged on its first sending, never
//! sent again, is stored exactly once.

#[allow(dead_code)]
#[path = "../benches/load.rs"]
mod load;
#[allow(dead_code)]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use support::Killed;

const DEVICES: u64 = 40;
const KILLS: u64 = 3;
const PASSWORD: &str = "Crash-pass-1";
/// More than the times a message can be sent: once per round at most.
const SENDS: u64 = 8;

fn start(dir: &std::path::Path, http: SocketAddr, mqtt: SocketAddr) -> Killed {
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
    // Guarded before waiting: a server that never opens is still killed.
    let server = Killed(child);
    support::wait_for(http);
    support::wait_for(mqtt);
    server
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

/// One sending of a message: its number and which time it is sent (0 first).
type Sending = (u64, u64);

fn timestamp((seq, attempt): Sending) -> u64 {
    seq * SENDS + attempt
}

/// One device's connection for one round: first the messages it had no
/// PUBACK for, again, then new ones numbered from `first`, until `stop`.
/// Returns what it sent and what was acknowledged.
async fn device_round(
    mqtt: SocketAddr,
    i: u64,
    resend: Vec<Sending>,
    first: u64,
    stop: Arc<AtomicBool>,
) -> (Vec<Sending>, Vec<Sending>) {
    let (stream, buf) = load::connect(mqtt, &format!("crash{i}"), &format!("CRASH_{i}"))
        .await
        .expect("connect");
    let sending = |n: u64| -> Sending {
        match resend.get(n as usize) {
            Some(&(seq, attempt)) => (seq, attempt + 1),
            None => (first + n - resend.len() as u64, 0),
        }
    };
    let (mut sent, mut acked) = (Vec::new(), Vec::new());
    let plan = load::Plan {
        inflight: 4,
        interval: None,
        first_due: Instant::now(),
    };
    // Ends when the server is killed; what was sent and acknowledged by
    // then is all that counts.
    let _ = load::publish(
        stream,
        buf,
        "v1/devices/me/telemetry",
        &plan,
        |n| {
            let s = sending(n);
            sent.push(s);
            let (ts, seq) = (timestamp(s), s.0);
            format!("{{\"ts\":{ts},\"values\":{{\"seq\":{seq}}}}}").into_bytes()
        },
        || stop.load(Ordering::Relaxed),
        |n, _| acked.push(sending(n)),
    )
    .await;
    (sent, acked)
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

    // Per device: every sending, the numbers acknowledged, and the
    // sendings still without a PUBACK (sent again next round).
    let mut sent: Vec<BTreeSet<Sending>> = vec![BTreeSet::new(); DEVICES as usize];
    let mut acked: Vec<BTreeSet<u64>> = vec![BTreeSet::new(); DEVICES as usize];
    let mut unacked: Vec<Vec<Sending>> = vec![Vec::new(); DEVICES as usize];
    for round in 0..KILLS {
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        for i in 0..DEVICES {
            // Each round numbers its new messages from a fresh range, so a
            // replay from an earlier round would show as a stray number.
            let first = round * 1_000_000 + 1;
            let resend = std::mem::take(&mut unacked[i as usize]);
            tasks.push(tokio::spawn(device_round(
                mqtt,
                i,
                resend,
                first,
                Arc::clone(&stop),
            )));
        }
        // Let the burst run, then pull the plug at a different moment each round.
        tokio::time::sleep(Duration::from_millis(400 + round * 230)).await;
        server.0.kill().expect("SIGKILL");
        server.0.wait().expect("reap");
        stop.store(true, Ordering::Relaxed);
        for (i, t) in tasks.into_iter().enumerate() {
            let (round_sent, round_acked) = t.await.unwrap();
            let round_acked: BTreeSet<Sending> = round_acked.into_iter().collect();
            acked[i].extend(round_acked.iter().map(|&(seq, _)| seq));
            unacked[i] = round_sent
                .iter()
                .filter(|s| !round_acked.contains(s))
                .copied()
                .collect();
            sent[i].extend(round_sent);
        }
        server = start(dir.path(), http, mqtt);
    }
    let total_acked: usize = acked.iter().map(BTreeSet::len).sum();
    let total_sent: usize = sent.iter().map(BTreeSet::len).sum();
    eprintln!("{KILLS} kills: {total_acked} messages acknowledged of {total_sent} sendings");
    assert!(
        total_acked > 100,
        "the burst acknowledged too little to prove anything: {total_acked}"
    );

    let (client, token) = rest(http).await;
    let mut resent_and_stored_twice = 0;
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
                (p["ts"].as_u64().unwrap() / SENDS).to_string(),
                "device {i}: value and number disagree"
            );
        }
        let stored: Vec<Sending> = unique.iter().map(|ts| (ts / SENDS, ts % SENDS)).collect();
        let mut times_stored: BTreeMap<u64, u64> = BTreeMap::new();
        for &(seq, _) in &stored {
            *times_stored.entry(seq).or_default() += 1;
        }
        let missing: Vec<&u64> = acked[i]
            .iter()
            .filter(|seq| !times_stored.contains_key(seq))
            .collect();
        assert!(
            missing.is_empty(),
            "device {i}: acknowledged but lost: {missing:?}"
        );
        let stray: Vec<&Sending> = stored.iter().filter(|s| !sent[i].contains(s)).collect();
        assert!(
            stray.is_empty(),
            "device {i}: numbers nobody sent: {stray:?}"
        );
        // At most once per sending; a message stored twice must have been
        // sent twice, its first PUBACK lost to the kill.
        for (&seq, &times) in &times_stored {
            let sendings = sent[i].iter().filter(|(s, _)| *s == seq).count() as u64;
            assert!(
                times <= sendings,
                "device {i}: message {seq} stored {times} times, sent {sendings}"
            );
            if times > 1 {
                resent_and_stored_twice += 1;
            }
        }
    }
    eprintln!(
        "{resent_and_stored_twice} messages stored once per sending after a lost PUBACK (at-least-once)"
    );
}
