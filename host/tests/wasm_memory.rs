//! After a thousand failing guest calls the host's memory is flat: failed
//! instances go back to the pool and nothing of theirs stays behind.
//!
//! Its own test binary, so that no other test allocates in the process
//! while resident memory is being compared.

mod wasm_support;

use std::time::Duration;

use clientele::wasm::{Limits, Value, WasmError};
use clientele_guest_artifacts as artifacts;
use wasm_support::{World as Tenant, load, single};

/// Resident set size of this process, in bytes (Linux).
fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS");
    kib * 1024
}

#[test]
fn a_thousand_failing_calls_leave_resident_memory_flat() {
    let tenant = Tenant::new();
    let limits = Limits {
        deadline: Duration::from_millis(5),
        memory_bytes: 4 << 20,
        max_host_calls: 50,
        ..Limits::default()
    };
    let guests = [
        (load(artifacts::PANICS, limits), "{}"),
        (load(artifacts::UNBOUNDED_ALLOC, limits), "{}"),
        (load(artifacts::DEEP_RECURSION, limits), "{}"),
        (
            load(artifacts::HOST_CALL_FLOOD, limits),
            r#"{"call":"read"}"#,
        ),
        (load(artifacts::HUGE_OUTPUT, limits), r#"{"mode":"nan"}"#),
    ];
    let endless = load(artifacts::ENDLESS_LOOP, limits);
    let good = load(artifacts::ECHO_SUM, Limits::default());
    let args = [single("a", Value::Long(2))];
    let fail = |i: usize| {
        // One in fifty is a timeout: they are slow (5 ms, rounded up to a
        // tick of the epoch) but must not leak either.
        let (ext, settings) = if i.is_multiple_of(50) {
            (&endless, "{}")
        } else {
            (&guests[i % guests.len()].0, guests[i % guests.len()].1)
        };
        let err = tenant.compute(ext, settings, &args, 0).unwrap_err();
        assert!(
            !matches!(err, WasmError::Instantiate(_)),
            "the pool must not run dry: {err}"
        );
    };

    // Warm up: the pool's slots, the allocator's arenas, lazy statics.
    for i in 0..200 {
        fail(i);
    }
    let before = resident_bytes();
    for i in 0..1_000 {
        fail(i);
    }
    let after = resident_bytes();

    eprintln!("resident memory: {before} -> {after} bytes");
    // Generous slack: a leak of one 4 MiB memory per failure would be 4 GB.
    let growth = after.saturating_sub(before);
    assert!(
        growth < 32 << 20,
        "resident memory grew by {} KiB ({before} -> {after})",
        growth >> 10
    );

    let out = tenant.compute(&good, "{}", &args, 0).unwrap();
    assert_eq!(out[0].value, Value::Double(2.0));
}
