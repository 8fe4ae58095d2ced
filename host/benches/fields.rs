//! Device ingest over MQTT with and without one WASM calculated field per
//! message, in one run against the `clientele` binary: 1,000 devices
//! publish 3-key JSON at QoS 1 (PUBACK after the durable commit) as fast as
//! acknowledgements come back, first with no field, then with the example
//! dew-point component attached to every device (it reads `temperature`
//! and `humidity` of each message and saves `dewPoint`). Prints both rates,
//! their ratio, and how many dew points were computed for the temperature
//! points stored by the second run (fields run after the commit, off the
//! ingest path; under overload a field computes on the newest values and
//! skips the rest). Beside the rates, each load's server CPU time per
//! 1,000 acknowledged messages (from the load's start until the work it
//! left behind is done, read from `/proc`): it varies less than the rates
//! on a shared machine, and its ratio says what a field costs the server
//! alone, without the load generator's share of the cores.
//!
//! Run: `cargo bench -p clientele --bench fields`
//! (`SECONDS=5 DEVICES=200 ROUNDS=1` for a shorter run; `INFLIGHT`). The
//! two loads alternate for `ROUNDS` rounds (3), each round gives a ratio,
//! and the median is the figure: on a shared machine one load's rate
//! swings by a tenth from run to run.
//! Then, isolation: the same saturated load while one more device feeds a
//! field whose guest never returns. Each load runs on a fresh server and
//! an empty data directory.
//! Target (issue 5): ingest with the field at least 80% of ingest without.

#[allow(dead_code)] // shared with the other benchmarks, which use other parts
mod common;
#[allow(dead_code)] // shared with tests/crash.rs, which uses other parts
mod load;
#[allow(dead_code)] // shared with the tests, which use other parts
#[path = "../tests/support/mod.rs"]
mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clientele::domain::ids::now_ms;
use clientele_guest_artifacts as artifacts;
use common::{
    connect_all, cpu_ms, cpu_ms_when_idle, create_devices, env_or, login, payload, start_clientele,
    thread_cpu_ms,
};
use serde_json::{Value, json};

struct Api {
    http: SocketAddr,
    token: String,
    client: reqwest::Client,
}

impl Api {
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("http://{}{path}", self.http))
            .header("X-Authorization", format!("Bearer {}", self.token))
    }

    async fn json(&self, req: reqwest::RequestBuilder) -> Value {
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{status}: {body}");
        body
    }

    /// A page of an extension's events of one kind (`ERROR`, `LC_EVENT`).
    async fn extension_events(&self, extension: &Value, kind: &str) -> Value {
        let id = extension["id"].as_str().unwrap_or_default();
        let path = format!("/api/events/EXTENSION/{id}/{kind}?pageSize=100&page=0");
        self.json(self.request(reqwest::Method::GET, &path)).await
    }

    async fn device_ids(&self) -> Vec<String> {
        let page = self
            .json(self.request(
                reqwest::Method::GET,
                "/api/tenant/devices?pageSize=1000&page=0",
            ))
            .await;
        page["data"]
            .as_array()
            .expect("devices")
            .iter()
            .map(|d| d["id"]["id"].as_str().expect("id").to_owned())
            .collect()
    }

    /// Points of `key` saved for `devices` with times in `[start, end)`.
    async fn points(&self, key: &str, devices: &[String], start: i64, end: i64) -> u64 {
        let mut total = 0;
        for id in devices {
            let path = format!(
                "/api/plugins/telemetry/DEVICE/{id}/values/timeseries?keys={key}&startTs={start}&endTs={end}&agg=COUNT&interval={}&limit=1&useStrictDataTypes=true",
                end - start
            );
            let body = self.json(self.request(reqwest::Method::GET, &path)).await;
            total += body[key][0]["value"].as_u64().unwrap_or(0);
        }
        total
    }
}

/// The server's CPU time (ms) per 1,000 acknowledged messages: in all,
/// in the store's writer thread, and in the calculated-field thread.
struct Cpu {
    total: f64,
    writer: f64,
    fields: f64,
}

impl Cpu {
    fn describe(&self) -> String {
        format!(
            "{:.1} ms (store writer {:.1}, calculated fields {:.1}, the rest {:.1})",
            self.total,
            self.writer,
            self.fields,
            self.total - self.writer - self.fields
        )
    }
}

/// A saturated load on `instance`, and the server's CPU time per 1,000
/// acknowledged messages, until the work the load left is done.
async fn measured(
    instance: &Instance,
    devices: u64,
    inflight: usize,
    seconds: u64,
) -> (load::Outcome, Cpu) {
    let (before, threads_before) = (cpu_ms(instance.pid), thread_cpu_ms(instance.pid));
    let outcome = saturated(instance.mqtt, devices, inflight, seconds).await;
    let after = cpu_ms_when_idle(instance.pid).await;
    let threads_after = thread_cpu_ms(instance.pid);
    let per_1k = 1000.0 / outcome.acked.max(1) as f64;
    let thread = |name: &str| {
        let used = threads_after.get(name).copied().unwrap_or(0.0)
            - threads_before.get(name).copied().unwrap_or(0.0);
        used * per_1k
    };
    let cpu = Cpu {
        total: (after - before) * per_1k,
        // Thread names as /proc shows them: cut to 15 bytes.
        writer: thread("clientele-store"),
        fields: thread("calculated-fiel"),
    };
    (outcome, cpu)
}

async fn saturated(mqtt: SocketAddr, devices: u64, inflight: usize, seconds: u64) -> load::Outcome {
    let conns = connect_all(mqtt, devices, false).await;
    let pacing = load::Pacing {
        inflight,
        rate: None,
    };
    load::publish_for(
        conns,
        Arc::from("v1/devices/me/telemetry"),
        pacing,
        Duration::from_secs(seconds),
        Arc::new(payload),
    )
    .await
}

fn report(name: &str, o: &mut load::Outcome) {
    println!(
        "{name}: {:.0} messages/s acknowledged, PUBACK p50 {:.1} ms, p99 {:.1} ms",
        o.rate(),
        o.percentile_ms(0.50),
        o.percentile_ms(0.99)
    );
}

/// A fresh `clientele` on an empty data directory with `devices` devices:
/// every load starts from the same state, so that no run pays for the data
/// or the compaction backlog of the one before.
struct Instance {
    _server: support::Killed,
    pid: u32,
    _dir: tempfile::TempDir,
    mqtt: SocketAddr,
    api: Api,
    ids: Vec<String>,
}

async fn fresh(devices: u64) -> Instance {
    let dir = tempfile::tempdir().expect("temp dir");
    let (http, mqtt) = (support::free_addr(), support::free_addr());
    let server = start_clientele(dir.path(), http, mqtt);
    let token = login(http).await;
    create_devices(http, &token, 0, devices).await;
    let api = Api {
        http,
        token,
        client: reqwest::Client::new(),
    };
    let ids = api.device_ids().await;
    Instance {
        pid: server.0.id(),
        _server: server,
        _dir: dir,
        mqtt,
        api,
        ids,
    }
}

/// Uploads the component at `path`; its id (`{"entityType","id"}`).
async fn upload(api: &Api, name: &str, path: &str) -> Value {
    let bytes = std::fs::read(path).expect("a compiled component");
    let ext = api
        .json(
            api.request(
                reqwest::Method::POST,
                &format!("/api/extension?name={name}"),
            )
            .header("Content-Type", "application/wasm")
            .body(bytes),
        )
        .await;
    ext["id"].clone()
}

/// A WASM field of `device` running `extension` on its telemetry.
async fn attach(api: &Api, device: &Value, extension: &Value, keys: &[&str]) {
    let arguments: serde_json::Map<String, Value> = keys
        .iter()
        .map(|k| {
            (
                k.to_string(),
                json!({"refEntityKey": {"key": k, "type": "TS_LATEST"}}),
            )
        })
        .collect();
    let field = json!({
        "entityId": device,
        "type": "WASM",
        "name": "Field",
        "configuration": {"type": "WASM", "extensionId": extension, "arguments": arguments}
    });
    api.json(
        api.request(reqwest::Method::POST, "/api/calculatedField")
            .json(&field),
    )
    .await;
}

/// What one load with a WASM field on every device gave.
struct WithFields {
    outcome: load::Outcome,
    cpu: Cpu,
    /// Dew points computed, for how many stored temperature points.
    computed: u64,
    stored: u64,
}

async fn with_fields(devices: u64, inflight: usize, seconds: u64) -> WithFields {
    let instance = fresh(devices).await;
    let api = &instance.api;
    let dew = upload(api, "dew", artifacts::DEW_POINT).await;
    for id in &instance.ids {
        let device = json!({"entityType": "DEVICE", "id": id});
        attach(api, &device, &dew, &["temperature", "humidity"]).await;
    }
    let start = now_ms();
    let (outcome, cpu) = measured(&instance, devices, inflight, seconds).await;
    // Fields run after the commit; `measured` returned once the server was
    // idle again, so the worker has saved what it computed for this run.
    let ids = &instance.ids;
    let computed = api.points("dewPoint", ids, start, now_ms() + 1).await;
    // Two messages of a device stamped in the same millisecond are one
    // stored point (the later wins), so points are what fields can match.
    let stored = api.points("temperature", ids, start, now_ms() + 1).await;
    let errors = api.extension_events(&dew, "ERROR").await;
    println!(
        "dew-point guest: {} ERROR events (a call that missed its deadline while waiting for the CPU would be one)",
        errors["totalElements"]
    );
    WithFields {
        outcome,
        cpu,
        computed,
        stored,
    }
}

#[tokio::main]
async fn main() {
    let devices = env_or("DEVICES", 1000);
    let seconds = env_or("SECONDS", 15);
    let inflight = env_or("INFLIGHT", 2) as usize;
    let rounds = env_or("ROUNDS", 3).max(1);
    println!(
        "calculated-field benchmark: {devices} devices, QoS 1, up to {inflight} in flight each, {seconds} s per load, {rounds} rounds of (without, with), a fresh server for each load, {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    // Loads alternate, so that a machine slower in one stretch of the run
    // weighs on both sides of a round's ratio alike.
    let mut ratios = Vec::new();
    let mut cpu_ratios = Vec::new();
    let mut without_rates = Vec::new();
    for round in 1..=rounds {
        let (mut without, without_cpu) = {
            let plain = fresh(devices).await;
            measured(&plain, devices, inflight, seconds).await
        };
        report(&format!("round {round}, without fields"), &mut without);
        let mut with = with_fields(devices, inflight, seconds).await;
        report(
            &format!("round {round}, with one WASM field per message"),
            &mut with.outcome,
        );
        let ratio = with.outcome.rate() / without.rate();
        println!(
            "round {round}: ratio with / without = {ratio:.2}; dew points computed: {} for {} stored temperature points ({:.1}%) of {} messages acknowledged",
            with.computed,
            with.stored,
            100.0 * with.computed as f64 / with.stored.max(1) as f64,
            with.outcome.acked,
        );
        let cpu_ratio = without_cpu.total / with.cpu.total;
        println!(
            "round {round}: server CPU per 1,000 messages: without {}; with a field {}; without / with = {cpu_ratio:.2}",
            without_cpu.describe(),
            with.cpu.describe()
        );
        ratios.push(ratio);
        cpu_ratios.push(cpu_ratio);
        without_rates.push(without.rate());
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[0], v[v.len() - 1])
    };
    let (mid, low, high) = median(&mut ratios);
    println!(
        "ratio: with / without, median of {rounds} rounds = {mid:.2} (lowest {low:.2}, highest {high:.2})"
    );
    let (mid, low, high) = median(&mut cpu_ratios);
    println!(
        "server CPU per message, without / with, median of {rounds} rounds = {mid:.2} (lowest {low:.2}, highest {high:.2})"
    );
    let (without, _, _) = median(&mut without_rates);

    // Isolation: one more device has a field whose guest never returns and
    // publishes 100 messages/s while the others run saturated.
    let isolated = fresh(devices).await;
    let api = &isolated.api;
    let bad_device = api
        .json(
            api.request(reqwest::Method::POST, "/api/device?accessToken=BENCH_BAD")
                .json(&json!({"name": "misbehaving"})),
        )
        .await;
    let endless = upload(api, "endless", artifacts::ENDLESS_LOOP).await;
    attach(api, &bad_device["id"], &endless, &["temperature"]).await;
    let bad_conn = load::connect(isolated.mqtt, "bad", "BENCH_BAD")
        .await
        .expect("connect");
    let bad = load::publish_for(
        vec![bad_conn],
        Arc::from("v1/devices/me/telemetry"),
        load::Pacing {
            inflight: 1,
            rate: Some(100.0),
        },
        Duration::from_secs(seconds),
        Arc::new(payload),
    );
    let (mut others, bad) = tokio::join!(saturated(isolated.mqtt, devices, inflight, seconds), bad);
    report(
        "others, with a never-returning guest on one more device",
        &mut others,
    );
    let errors = api.extension_events(&endless, "ERROR").await;
    let lifecycle = api.extension_events(&endless, "LC_EVENT").await;
    let suspended = lifecycle["data"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|e| e["body"]["event"] == "SUSPENDED");
    println!(
        "ratio: others with the misbehaving guest / without fields (median) = {:.2} ({} messages of the misbehaving device acknowledged; {} ERROR events; suspended: {suspended})",
        others.rate() / without,
        bad.acked,
        errors["totalElements"],
    );
}
