//! Device ingest over MQTT, end to end: the `clientele` binary as a separate
//! process on a fresh redb file, 1,000 devices publishing 3-key JSON at QoS 1
//! with each PUBACK sent only after the durable commit, first saturated (the
//! most it sustains), then paced at 50,000 messages/s (the latency at that
//! rate); then, in the same run, Mosquitto passing the same two loads to one
//! subscriber; then memory with 10,000 connected idle devices.
//!
//! Run: `cargo bench -p clientele --bench ingest`
//! (`SECONDS=5 DEVICES=200 IDLE=2000` for a shorter run; `INFLIGHT`, `RATE`).

#[allow(dead_code)] // shared with tests/crash.rs, which uses other parts
mod load;
#[allow(dead_code)] // shared with the tests, which use other parts
#[path = "../tests/support/mod.rs"]
mod support;

use std::net::SocketAddr;
use std::process::{Command, Stdio};

use std::sync::Arc;
use std::time::Duration;
use support::Killed;

use bytes::BytesMut;
use tokio::net::TcpStream;

use serde_json::json;

const PASSWORD: &str = "Bench-pass-1";

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Resident and peak resident memory of a process, in MiB.
fn memory_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn payload(n: u64) -> Vec<u8> {
    format!(
        "{{\"temperature\":{}.{},\"humidity\":{},\"pressure\":{}}}",
        20 + n % 10,
        n % 10,
        40 + n % 30,
        1000 + n % 50
    )
    .into_bytes()
}

async fn create_devices(http: SocketAddr, token: &str, from: u64, to: u64) {
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for chunk in (from..to)
        .collect::<Vec<_>>()
        .chunks(((to - from) as usize).div_ceil(16).max(1))
    {
        let (client, token, chunk) = (client.clone(), token.to_owned(), chunk.to_vec());
        tasks.push(tokio::spawn(async move {
            for i in chunk {
                let resp = client
                    .post(format!("http://{http}/api/device?accessToken=BENCH_{i}"))
                    .header("X-Authorization", format!("Bearer {token}"))
                    .json(&json!({"name": format!("bench-{i}")}))
                    .send()
                    .await
                    .expect("create device");
                assert!(resp.status().is_success(), "device {i}: {}", resp.status());
            }
        }));
    }
    for t in tasks {
        t.await.expect("creator");
    }
}

fn start_clientele(dir: &std::path::Path, http: SocketAddr, mqtt: SocketAddr) -> Killed {
    let child = Command::new(env!("CARGO_BIN_EXE_clientele"))
        .current_dir(dir)
        .env("CLIENTELE_HTTP_ADDR", http.to_string())
        .env("CLIENTELE_MQTT_ADDR", mqtt.to_string())
        .env("CLIENTELE_TENANT_ADMIN_PASSWORD", PASSWORD)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("start clientele");
    support::wait_for(http);
    support::wait_for(mqtt);
    Killed(child)
}

fn start_mosquitto(dir: &std::path::Path, addr: SocketAddr) -> Option<Killed> {
    let conf = dir.join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!(
            "listener {} 127.0.0.1\nallow_anonymous true\npersistence false\nuser root\n\
             max_queued_messages 0\nmax_inflight_messages 1000\nlog_dest none\n",
            addr.port()
        ),
    )
    .ok()?;
    let child = Command::new("mosquitto")
        .arg("-c")
        .arg(&conf)
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    support::wait_for(addr);
    Some(Killed(child))
}

async fn login(http: SocketAddr) -> String {
    let resp: serde_json::Value = reqwest::Client::new()
        .post(format!("http://{http}/api/auth/login"))
        .json(&json!({"username": "tenant@clientele.local", "password": PASSWORD}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("token");
    resp["token"].as_str().expect("token").to_owned()
}

/// Connections to Clientele (one device token each) or to Mosquitto (anonymous).
async fn connect_all(addr: SocketAddr, devices: u64, broker: bool) -> Vec<(TcpStream, BytesMut)> {
    let mut out = Vec::with_capacity(devices as usize);
    for i in 0..devices {
        let (id, user) = if broker {
            (format!("m{i}"), "bench".to_owned())
        } else {
            (format!("c{i}"), format!("BENCH_{i}"))
        };
        out.push(load::connect(addr, &id, &user).await.expect("connect"));
    }
    out
}

/// Both loads against one endpoint: saturated (as fast as acknowledgements
/// come back), then paced at `rate`.
async fn both_loads(
    name: &str,
    addr: SocketAddr,
    broker: bool,
    topic: &str,
    run: &Run,
) -> (load::Outcome, load::Outcome) {
    let mut outcomes = Vec::new();
    for rate in [None, Some(run.rate)] {
        let conns = connect_all(addr, run.devices, broker).await;
        let pacing = load::Pacing {
            inflight: run.inflight,
            rate,
        };
        let mut outcome = load::publish_for(
            conns,
            Arc::from(topic),
            pacing,
            Duration::from_secs(run.seconds),
            Arc::new(payload),
        )
        .await;
        let how = rate.map_or("saturated".to_owned(), |r| format!("paced at {r:.0}/s"));
        println!(
            "{name}, {how}: {:.0} messages/s ({:.0} data points/s) acknowledged, PUBACK p50 {:.1} ms, p99 {:.1} ms",
            outcome.rate(),
            outcome.rate() * 3.0,
            outcome.percentile_ms(0.50),
            outcome.percentile_ms(0.99),
        );
        outcomes.push(outcome);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let paced = outcomes.pop().unwrap_or_default();
    (outcomes.pop().unwrap_or_default(), paced)
}

struct Run {
    devices: u64,
    seconds: u64,
    inflight: usize,
    rate: f64,
}

#[tokio::main]
async fn main() {
    let run = Run {
        devices: env_or("DEVICES", 1000),
        seconds: env_or("SECONDS", 15),
        // In flight per device: a device that pipelines two messages is
        // already a busy one; the total in flight is what sets the ack
        // latency of the saturated run (Little's law).
        inflight: env_or("INFLIGHT", 2) as usize,
        // The paced run's offered load: the target rate.
        rate: env_or("RATE", 50_000) as f64,
    };
    let idle = env_or("IDLE", 10_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let (http, mqtt) = (support::free_addr(), support::free_addr());
    let server = start_clientele(dir.path(), http, mqtt);
    let pid = server.0.id();
    let token = login(http).await;
    create_devices(http, &token, 0, run.devices).await;
    println!(
        "ingest benchmark: {} devices, QoS 1, up to {} in flight each, 3-key JSON, {} s per load, {} cores",
        run.devices,
        run.inflight,
        run.seconds,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let (ours, _) = both_loads(
        "clientele (PUBACK after the durable commit)",
        mqtt,
        false,
        "v1/devices/me/telemetry",
        &run,
    )
    .await;
    let (_, peak) = memory_mib(pid);
    println!("clientele: peak memory {peak:.0} MiB");

    let broker_addr = support::free_addr();
    match start_mosquitto(dir.path(), broker_addr) {
        None => println!("mosquitto: not installed (apt-get install mosquitto); no comparison"),
        Some(_broker) => {
            let stop = Arc::new(tokio::sync::Notify::new());
            let subscriber = tokio::spawn(load::count_deliveries(
                broker_addr,
                "bench/#",
                Arc::clone(&stop),
            ));
            tokio::time::sleep(Duration::from_millis(300)).await;
            let (theirs, paced) = both_loads(
                "mosquitto (one subscriber)",
                broker_addr,
                true,
                "bench/telemetry",
                &run,
            )
            .await;
            stop.notify_one();
            let delivered = subscriber.await.ok().and_then(Result::ok).unwrap_or(0);
            println!(
                "mosquitto: {delivered} messages delivered to the subscriber of {} acknowledged",
                theirs.acked + paced.acked
            );
            println!(
                "ratio (saturated): clientele / mosquitto = {:.2}",
                ours.rate() / theirs.rate()
            );
        }
    }

    create_devices(http, &token, run.devices, idle.max(run.devices)).await;
    let (before, _) = memory_mib(pid);
    let idle_conns = connect_all(mqtt, idle, false).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (with_idle, _) = memory_mib(pid);
    println!(
        "idle: {} connected devices: resident memory {with_idle:.0} MiB (was {before:.0} MiB before they connected)",
        idle_conns.len()
    );
}
