//! Device ingest over MQTT, end to end: the `clientele` binary as a separate
//! process on a fresh redb file, 1,000 devices publishing 3-key JSON at QoS 1
//! with each PUBACK sent only after the durable commit; then, in the same
//! run, Mosquitto passing the same load to one subscriber; then memory with
//! 10,000 connected idle devices.
//!
//! Run: `cargo bench -p clientele --bench ingest`
//! (`SECONDS=5 DEVICES=200 IDLE=2000` for a shorter run).

#[allow(dead_code)] // shared with tests/crash.rs, which uses other parts
mod load;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

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

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
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

async fn connect_all(
    addr: SocketAddr,
    from: u64,
    to: u64,
) -> Vec<(tokio::net::TcpStream, bytes::BytesMut)> {
    let mut out = Vec::with_capacity((to - from) as usize);
    for i in from..to {
        out.push(
            load::connect(addr, &format!("c{i}"), &format!("BENCH_{i}"))
                .await
                .expect("connect"),
        );
    }
    out
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
    load::wait_for(http);
    load::wait_for(mqtt);
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
    load::wait_for(addr);
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

#[tokio::main]
async fn main() {
    let devices = env_or("DEVICES", 1000);
    let seconds = env_or("SECONDS", 15);
    let idle = env_or("IDLE", 10_000);
    // In flight per device: a device that pipelines two messages is already
    // a busy one; the total in flight is what sets the ack latency.
    let inflight = env_or("INFLIGHT", 2) as usize;
    let dir = tempfile::tempdir().expect("temp dir");
    let (http, mqtt) = (load::free_addr(), load::free_addr());
    let server = start_clientele(dir.path(), http, mqtt);
    let pid = server.0.id();
    let token = login(http).await;
    create_devices(http, &token, 0, devices).await;
    println!(
        "ingest benchmark: {devices} devices, QoS 1, {inflight} in flight each, 3-key JSON, {seconds} s, {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let topic: Arc<str> = Arc::from("v1/devices/me/telemetry");
    let conns = connect_all(mqtt, 0, devices).await;
    let mut ours = load::publish_for(
        conns,
        Arc::clone(&topic),
        inflight,
        Duration::from_secs(seconds),
        Arc::new(payload),
    )
    .await;
    let (_, peak) = memory_mib(pid);
    println!(
        "clientele: {:.0} messages/s ({:.0} data points/s), PUBACK after durable commit: p50 {:.1} ms, p99 {:.1} ms; peak memory {peak:.0} MiB",
        ours.rate(),
        ours.rate() * 3.0,
        ours.percentile_ms(0.50),
        ours.percentile_ms(0.99),
    );

    let broker_addr = load::free_addr();
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
            let mut conns = Vec::new();
            for i in 0..devices {
                conns.push(
                    load::connect(broker_addr, &format!("m{i}"), "bench")
                        .await
                        .expect("connect"),
                );
            }
            let mut theirs = load::publish_for(
                conns,
                Arc::from("bench/telemetry"),
                inflight,
                Duration::from_secs(seconds),
                Arc::new(payload),
            )
            .await;
            tokio::time::sleep(Duration::from_secs(1)).await;
            stop.notify_one();
            let delivered = subscriber.await.ok().and_then(Result::ok).unwrap_or(0);
            println!(
                "mosquitto: {:.0} messages/s acknowledged (p50 {:.1} ms, p99 {:.1} ms), {:.0} messages/s delivered to the subscriber",
                theirs.rate(),
                theirs.percentile_ms(0.50),
                theirs.percentile_ms(0.99),
                delivered as f64 / theirs.elapsed.as_secs_f64()
            );
            println!(
                "ratio: clientele / mosquitto = {:.2}",
                ours.rate() / theirs.rate()
            );
        }
    }

    create_devices(http, &token, devices, idle.max(devices)).await;
    let (before, _) = memory_mib(pid);
    let idle_conns = connect_all(mqtt, 0, idle).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (with_idle, _) = memory_mib(pid);
    println!(
        "idle: {} connected devices: resident memory {with_idle:.0} MiB (was {before:.0} MiB before they connected)",
        idle_conns.len()
    );
}
