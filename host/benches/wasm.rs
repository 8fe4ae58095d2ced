//! The cost of a WebAssembly calculated field, against the same calculation
//! in native Rust and as a SIMPLE (exmex) expression: a warm guest call,
//! and instantiation from the pre-instantiated component. Ingest with and
//! without a field per message is `benches/fields.rs`.
//!
//! The calculation: the `echo-sum` test guest over three arguments (a double,
//! a long, a numeric string), returning `sum` and `count`. The native
//! version does the same work over the same types.
//!
//! `cargo bench -p clientele --bench wasm`. Plain timing with
//! `std::time::Instant`; on a shared machine compare runs made together.
//! The benchmark allocates with the service's allocator (mimalloc).
//! Targets (issue 5): warm call under 2 µs, instantiation under 50 µs.

// The tests' in-memory host and helpers: the benchmarked guest calls none
// of the host, so the host's speed does not matter.
#[path = "../tests/wasm_support/mod.rs"]
mod wasm_support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use clientele::domain::expression::Expression;
use clientele::wasm::{
    ArgumentValue, EngineConfig, GuestError, Limits, Output, OutputTarget, Runtime, TsValue, Value,
    WasmEngine,
};
use clientele_guest_artifacts as artifacts;
use wasm_support::{Argument, World as Tenant, field, single};

/// The service's allocator (see `src/main.rs`), so that the host side of
/// each call allocates here as it does in the service.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Double(d) => Some(*d),
        Value::Long(l) => Some(*l as f64),
        Value::Boolean(b) => Some(if *b { 1.0 } else { 0.0 }),
        Value::String(s) => s.trim().parse().ok(),
        Value::Json(_) => None,
    }
}

/// What the echo-sum guest computes, natively.
fn native(args: &[Argument], now_ms: i64) -> Result<Vec<Output>, GuestError> {
    let mut sum = 0.0;
    let mut count = 0i64;
    for arg in args {
        let points: &[TsValue] = match &arg.value {
            ArgumentValue::Single(v) => v.as_slice(),
            ArgumentValue::Rolling(p) => p,
        };
        for p in points {
            sum += as_f64(&p.value).ok_or_else(|| GuestError::InvalidArgument(arg.name.clone()))?;
            count += 1;
        }
    }
    let out = |key: &str, value| Output {
        key: key.to_owned(),
        value,
        target: OutputTarget::Telemetry,
        ts: Some(now_ms),
    };
    Ok(vec![
        out("sum", Value::Double(sum)),
        out("count", Value::Long(count)),
    ])
}

fn time(name: &str, iterations: u32, mut f: impl FnMut()) -> Duration {
    for _ in 0..iterations / 10 {
        f();
    }
    let start = Instant::now();
    for _ in 0..iterations {
        f();
    }
    let per_op = start.elapsed() / iterations;
    println!(
        "{name:<48} {:>10.3} µs/op  ({iterations} ops)",
        per_op.as_nanos() as f64 / 1000.0
    );
    per_op
}

fn main() -> anyhow::Result<()> {
    let args = [
        single("a", Value::Double(1.5)),
        single("b", Value::Long(2)),
        single("c", Value::String("3.25".into())),
    ];
    let expected = native(&args, 7).expect("native");
    assert_eq!(expected[0].value, Value::Double(6.75));

    let runtime = Runtime::new(WasmEngine::new(EngineConfig::default())?, None)?;
    let bytes = std::fs::read(artifacts::ECHO_SUM)?;
    let compile = Instant::now();
    let ext = runtime.load("echo-sum", &bytes, Limits::default())?;
    println!(
        "compile echo-sum ({} KiB): {:?}",
        bytes.len() >> 10,
        compile.elapsed()
    );

    let tenant = Tenant::new();
    // Host, scope and the field's setup made once, outside the timed loop,
    // as the service does; the values are what each call carries.
    let (host, scope, device) = (tenant.host(), tenant.field_scope(), tenant.device_a);
    let (setup, values) = field("{}", &args);
    assert_eq!(tenant.compute(&ext, "{}", &args, 7)?, expected);

    time("native Rust, same calculation", 1_000_000, || {
        black_box(native(black_box(&args), 7).unwrap());
    });
    // The SIMPLE calculated field's way: an exmex expression parsed once,
    // evaluated over the arguments as numbers (as the service converts them).
    let expression = Expression::compile("a + b + c", &["a", "b", "c"])?;
    let simple = |args: &[Argument]| -> f64 {
        let values: Vec<f64> = args
            .iter()
            .map(|a| match &a.value {
                ArgumentValue::Single(Some(p)) => as_f64(&p.value).unwrap_or(f64::NAN),
                _ => f64::NAN,
            })
            .collect();
        expression.eval(&values).unwrap()
    };
    assert_eq!(simple(&args), 6.75);
    time(
        "SIMPLE expression (exmex), same calculation",
        1_000_000,
        || {
            black_box(simple(black_box(&args)));
        },
    );
    time("wasm guest, warm instance (per call)", 200_000, || {
        black_box(
            ext.compute(&host, &scope, device, &setup, black_box(&values), 7)
                .unwrap(),
        );
    });
    time("instantiate from InstancePre (and drop)", 20_000, || {
        ext.instantiate_once().unwrap();
    });
    Ok(())
}
