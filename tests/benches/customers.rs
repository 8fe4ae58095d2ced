//! Customer throughput and search latency, end to end over HTTP on loopback
//! against a real redb file:
//!
//! 1. 32 concurrent clients create 100,000 customers (every create is a
//!    durable commit, grouped with whatever else is queued): creates/s.
//! 2. Paged, sorted text searches over those 100,000: p50/p99 latency.
//!
//! Run: `cargo bench -p clientele-tests --bench customers`
//! (`CUSTOMERS=20000` for a shorter run).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clientele_tests::TestServer;
use reqwest::StatusCode;
use serde_json::json;

const CLIENTS: usize = 32;
const SEARCHES: usize = 2_000;
const WORDS: [&str; 8] = [
    "north", "south", "east", "west", "river", "hill", "lake", "forest",
];

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let total: usize = std::env::var("CUSTOMERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(total));
}

async fn run(total: usize) {
    let server = TestServer::start_with(|s| s.http.max_concurrent_requests = 4096).await;
    let admin = server.tenant_admin().await;
    println!(
        "customers benchmark: {total} customers, {CLIENTS} concurrent clients, {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let (commits_before, jobs_before) = server.writer_stats();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..CLIENTS {
        let (client, next) = (admin.clone(), Arc::clone(&next));
        workers.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    break;
                }
                let title = format!("Customer {n:06} {} {}", WORDS[n % 8], WORDS[(n / 8) % 8]);
                let body = json!({"title": title, "city": WORDS[(n / 64) % 8], "email": format!("c{n}@example.com")});
                let (status, reply) = client.post("/api/customer", body).await;
                assert_eq!(status, StatusCode::OK, "{reply}");
            }
        }));
    }
    for w in workers {
        w.await.expect("worker");
    }
    let elapsed = started.elapsed();
    println!(
        "create: {total} customers in {:.2} s = {:.0} creates/s (durable group commits)",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
    let (commits, jobs) = server.writer_stats();
    let (commits, jobs) = (commits - commits_before, jobs - jobs_before);
    println!(
        "create: {commits} durable commits (fsync each) held {jobs} writes: {:.1} writes per commit",
        jobs as f64 / commits.max(1) as f64
    );

    // Even searches: digits matching a handful of customers; odd ones: a
    // whole word matching about a quarter of them (the worst case: many hits
    // to count and order).
    let mut latencies = [
        Vec::with_capacity(SEARCHES / 2),
        Vec::with_capacity(SEARCHES / 2),
    ];
    let mut matched = [0u64; 2];
    for i in 0..SEARCHES {
        let kind = i % 2;
        let needle = if kind == 0 {
            format!("{:04}", (i * 37) % (total / 10).max(1))
        } else {
            WORDS[i % 8].to_owned()
        };
        let path = format!(
            "/api/customers?pageSize=20&page=0&sortProperty=title&sortOrder=ASC&textSearch={needle}"
        );
        let t = Instant::now();
        let (status, page) = admin.get(&path).await;
        latencies[kind].push(t.elapsed());
        assert_eq!(status, StatusCode::OK);
        matched[kind] += page["totalElements"].as_u64().unwrap_or(0);
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mut all: Vec<Duration> = latencies.concat();
    all.sort();
    for (kind, name) in [(0, "selective"), (1, "broad")] {
        let l = &mut latencies[kind];
        l.sort();
        println!(
            "search ({name}, mean {:.0} matches): p50 {:.2} ms, p99 {:.2} ms",
            matched[kind] as f64 / l.len() as f64,
            ms(percentile(l, 0.50)),
            ms(percentile(l, 0.99))
        );
    }
    println!(
        "search: {SEARCHES} paged text searches over {total} customers, sorted by title, over HTTP: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(percentile(&all, 0.50)),
        ms(percentile(&all, 0.99)),
        all.last().map_or(0.0, |d| ms(*d))
    );
}
