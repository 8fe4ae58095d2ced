//! The cost of a WebAssembly calculated field, against the same calculation
//! in native Rust: a warm guest call, and instantiation from the
//! pre-instantiated component.
//!
//! The calculation: the `echo-sum` test guest over three arguments (a double,
//! a long, a numeric string), returning `sum` and `count`. The native
//! version does the same work over the same types.
//!
//! `cargo bench -p clientele --bench wasm`. Plain timing with
//! `std::time::Instant`; on a shared machine compare runs made together.
//! Targets (issue 5): warm call under 2 µs, instantiation under 50 µs.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clientele::wasm::{
    AccessScope, AlarmSeverity, Argument, ArgumentValue, AttributeScope, EngineConfig, EntityRef,
    GuestError, GuestHost, KeyValue, Limits, Output, OutputTarget, Runtime, TsKv, Value,
    WasmEngine,
};
use clientele_guest_artifacts as artifacts;
use uuid::Uuid;

/// A host with no data: the benchmarked guest calls none of it.
struct NoHost;

impl GuestHost for NoHost {
    fn read_attributes(
        &self,
        _: &AccessScope,
        _: &EntityRef,
        _: AttributeScope,
        _: &[String],
    ) -> Result<Vec<TsKv>, GuestError> {
        Ok(vec![])
    }
    fn read_latest(
        &self,
        _: &AccessScope,
        _: &EntityRef,
        _: &[String],
    ) -> Result<Vec<TsKv>, GuestError> {
        Ok(vec![])
    }
    fn save_telemetry(
        &self,
        _: &AccessScope,
        _: &EntityRef,
        _: Vec<TsKv>,
    ) -> Result<(), GuestError> {
        Ok(())
    }
    fn save_attributes(
        &self,
        _: &AccessScope,
        _: &EntityRef,
        _: AttributeScope,
        _: Vec<KeyValue>,
    ) -> Result<(), GuestError> {
        Ok(())
    }
    fn raise_alarm(
        &self,
        _: &AccessScope,
        _: &EntityRef,
        _: &str,
        _: AlarmSeverity,
        _: serde_json::Value,
    ) -> Result<(), GuestError> {
        Ok(())
    }
    fn clear_alarm(&self, _: &AccessScope, _: &EntityRef, _: &str) -> Result<bool, GuestError> {
        Ok(false)
    }
}

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
        let points: &[TsKv] = match &arg.value {
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
    let arg = |name: &str, value| Argument {
        name: name.to_owned(),
        value: ArgumentValue::Single(Some(TsKv {
            ts: 1,
            key: name.to_owned(),
            value,
        })),
    };
    let args = [
        arg("a", Value::Double(1.5)),
        arg("b", Value::Long(2)),
        arg("c", Value::String("3.25".into())),
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

    let host: Arc<dyn GuestHost> = Arc::new(NoHost);
    let device = EntityRef::device(Uuid::new_v4());
    let scope = AccessScope::for_entity(Uuid::new_v4(), Some(Uuid::new_v4()), device);
    assert_eq!(
        ext.compute(&host, &scope, device, "{}", &args, 7)?,
        expected
    );

    time("native Rust, same calculation", 1_000_000, || {
        black_box(native(black_box(&args), 7).unwrap());
    });
    time("wasm guest, warm instance (per call)", 200_000, || {
        black_box(
            ext.compute(&host, &scope, device, "{}", black_box(&args), 7)
                .unwrap(),
        );
    });
    time("instantiate from InstancePre (and drop)", 20_000, || {
        ext.instantiate_once().unwrap();
    });
    Ok(())
}
