//! Device ingest over MQTT, end to end: the `clientele` binary as a separate
//! process on a fresh redb file, 1,000 devices publishing 3-key JSON at QoS 1
//! with each PUBACK sent only after the durable commit, first saturated (the
//! most it sustains), then paced at 50,000 messages/s (the latency at that
//! rate); then, in the same run, Mosquitto passing the same two loads to one
//! subscriber; after each load, the CPU time per message of the server and
//! of the load generator; then memory with 10,000 connected idle devices.
//!
//! Run: `cargo bench -p clientele --bench ingest`
//! (`SECONDS=5 DEVICES=200 IDLE=2000` for a shorter run; `INFLIGHT`, `RATE`).

#[allow(dead_code)] // shared with the other benchmarks, which use other parts
mod common;
#[allow(dead_code)] // shared with tests/crash.rs, which uses other parts
mod load;
#[allow(dead_code)] // shared with the tests, which use other parts
#[path = "../tests/support/mod.rs"]
mod support;

use std::net::SocketAddr;
use std::process::{Command, Stdio};

use common::{
    connect_all, cpu_ms, cpu_ms_when_idle, create_devices, env_or, login, memory_mib, payload,
    start_clientele,
};
use std::sync::Arc;
use std::time::Duration;
use support::Killed;

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

/// Both loads against one endpoint (served by process `pid`): saturated (as
/// fast as acknowledgements come back), then paced at `rate`.
async fn both_loads(
    name: &str,
    (pid, addr): (u32, SocketAddr),
    broker: bool,
    topic: &str,
    run: &Run,
) -> (load::Outcome, load::Outcome) {
    let mut outcomes = Vec::new();
    for rate in [None, Some(run.rate)] {
        let conns = connect_all(addr, run.devices, broker).await;
        let cpu_before = (cpu_ms(pid), cpu_ms(std::process::id()));
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
        // The CPU each side spent per message: on two shared cores, the
        // server's and the generator's together set how close a load is
        // to the machine's ceiling, and so its latency. The server's
        // includes what the load left it to finish (compaction); the
        // generator's, for Mosquitto, its subscriber too.
        let server_ms = cpu_ms_when_idle(pid).await - cpu_before.0;
        let generator_ms = cpu_ms(std::process::id()) - cpu_before.1;
        let per_message = |ms: f64| ms * 1000.0 / outcome.acked.max(1) as f64;
        println!(
            "{name}, {how}: CPU per message {:.1} µs in the server, {:.1} µs in the load generator",
            per_message(server_ms),
            per_message(generator_ms),
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
        (pid, mqtt),
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
        Some(broker) => {
            let stop = Arc::new(tokio::sync::Notify::new());
            let subscriber = tokio::spawn(load::count_deliveries(
                broker_addr,
                "bench/#",
                Arc::clone(&stop),
            ));
            tokio::time::sleep(Duration::from_millis(300)).await;
            let (theirs, paced) = both_loads(
                "mosquitto (one subscriber)",
                (broker.0.id(), broker_addr),
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
