//! What the benchmarks that drive the `clientele` binary share: starting
//! it, logging in, creating devices, connecting them, a payload, memory.

use std::net::SocketAddr;
use std::process::{Command, Stdio};

use bytes::BytesMut;
use serde_json::json;
use tokio::net::TcpStream;

use super::load;
use super::support::{self, Killed};

pub const PASSWORD: &str = "Bench-pass-1";

pub fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Resident and peak resident memory of a process, in MiB.
pub fn memory_mib(pid: u32) -> (f64, f64) {
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

pub fn payload(n: u64) -> Vec<u8> {
    format!(
        "{{\"temperature\":{}.{},\"humidity\":{},\"pressure\":{}}}",
        20 + n % 10,
        n % 10,
        40 + n % 30,
        1000 + n % 50
    )
    .into_bytes()
}

pub async fn create_devices(http: SocketAddr, token: &str, from: u64, to: u64) {
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

pub fn start_clientele(dir: &std::path::Path, http: SocketAddr, mqtt: SocketAddr) -> Killed {
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

pub async fn login(http: SocketAddr) -> String {
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
pub async fn connect_all(
    addr: SocketAddr,
    devices: u64,
    broker: bool,
) -> Vec<(TcpStream, BytesMut)> {
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
