//! What the benchmarks that drive the `clientele` binary share: starting
//! it, logging in, creating devices, connecting them, a payload, memory
//! and CPU time.

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

/// CPU time (user and system) a process has used so far, in ms.
pub fn cpu_ms(pid: u32) -> f64 {
    stat_cpu_ms(&std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default())
}

/// CPU time (ms) of each thread of a process, by thread name (threads of
/// one name, such as the runtime's workers, added up).
pub fn thread_cpu_ms(pid: u32) -> std::collections::BTreeMap<String, f64> {
    let mut out = std::collections::BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in tasks.flatten() {
        let dir = task.path();
        let name = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        let stat = std::fs::read_to_string(dir.join("stat")).unwrap_or_default();
        *out.entry(name.trim().to_owned()).or_default() += stat_cpu_ms(&stat);
    }
    out
}

/// User and system time in a `stat` file of /proc, in ms.
fn stat_cpu_ms(stat: &str) -> f64 {
    // The command name, in parentheses, may hold spaces: count fields
    // after it. utime and stime are fields 14 and 15 of proc_pid_stat(5);
    // the first after the name is field 3.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: f64 = after_name
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|t| t.parse::<f64>().ok())
        .sum();
    ticks * 1000.0 / rustix::param::clock_ticks_per_second() as f64
}

/// Waits until `pid` has all but stopped using the CPU (under 5% of a core
/// over half a second: what a load left behind, such as calculated fields
/// and compaction, is done), at most 30 s; its CPU time then, in ms.
pub async fn cpu_ms_when_idle(pid: u32) -> f64 {
    let mut last = cpu_ms(pid);
    for _ in 0..60 {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let now = cpu_ms(pid);
        if now - last < 25.0 {
            return now;
        }
        last = now;
    }
    last
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
