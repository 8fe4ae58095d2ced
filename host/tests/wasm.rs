//! The WebAssembly runtime with real compiled guests (built from `guest/`
//! and `tests/guests/` by `clientele-guest-artifacts`): exact results, the
//! sandbox's limits, access control, validation and the code cache.
//!
//! Plain `#[test]`s, not tokio ones: guest calls are synchronous and are
//! made from blocking threads in the service too.

mod wasm_support;

use std::time::Duration;

use clientele::wasm::{
    AccessScope, ArgumentValue, AttributeScope, ComponentCache, EngineConfig, EntityRef, Extension,
    FieldSetup, GuestError, LifecycleEvent, Limits, LoadError, Output, OutputTarget, Runtime,
    TsValue, Value, WasmEngine, WasmError, World,
};
use clientele_guest_artifacts as artifacts;
use wasm_support::{Argument, Event, World as Tenant, field, load, runtime, single};

/// A deadline no busy test machine reaches.
const LONG: Duration = Duration::from_secs(10);

/// The default limits with a [`LONG`] deadline: these tests are about
/// results, not time.
fn relaxed() -> Limits {
    Limits {
        deadline: LONG,
        ..Limits::default()
    }
}

/// Dew point by the Magnus formula (Sonntag 1990), written independently
/// of the guest's code.
fn magnus(t: f64, rh: f64) -> f64 {
    let (b, c) = (17.62, 243.12);
    let g = (rh / 100.0).ln() + b * t / (c + t);
    c * g / (b - g)
}

fn dew_point(tenant: &Tenant, ext: &Extension, t: f64, rh: f64) -> Result<f64, WasmError> {
    let args = [
        single("temperature", Value::Double(t)),
        single("humidity", Value::Long(rh as i64)),
    ];
    let out = tenant.compute(ext, "{}", &args, 1_000)?;
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].key, "dewPoint");
    assert_eq!(out[0].target, OutputTarget::Telemetry);
    match out[0].value {
        Value::Double(d) => Ok(d),
        ref other => panic!("not a double: {other:?}"),
    }
}

#[test]
fn dew_point_guest_computes_the_magnus_formula() {
    let tenant = Tenant::new();
    let ext = load(artifacts::DEW_POINT, relaxed());
    assert_eq!(ext.world(), World::CalculatedField);
    for (t, rh) in [(20.0, 50.0), (-10.0, 80.0), (35.0, 100.0)] {
        let d = dew_point(&tenant, &ext, t, rh).unwrap();
        assert!(
            (d - magnus(t, rh)).abs() < 1e-9,
            "{t} °C {rh} %: {d} vs {}",
            magnus(t, rh)
        );
    }
    // A textbook value: 20 °C at 50 % gives a dew point of about 9.3 °C.
    assert!((dew_point(&tenant, &ext, 20.0, 50.0).unwrap() - 9.3).abs() < 0.05);
}

#[test]
fn dew_point_guest_refuses_a_missing_or_impossible_argument() {
    let tenant = Tenant::new();
    let ext = load(artifacts::DEW_POINT, relaxed());
    let args = [single("temperature", Value::Double(20.0))];
    let err = tenant.compute(&ext, "{}", &args, 0).unwrap_err();
    assert!(
        matches!(&err, WasmError::Guest(GuestError::InvalidArgument(m)) if m.contains("humidity")),
        "{err:?}"
    );
    // Configured, but no value yet: found by `init`, refused by `compute`.
    let args = [
        single("temperature", Value::Double(20.0)),
        Argument {
            name: "humidity".into(),
            value: ArgumentValue::Single(None),
        },
    ];
    let err = tenant.compute(&ext, "{}", &args, 0).unwrap_err();
    assert!(
        matches!(&err, WasmError::Guest(GuestError::InvalidArgument(m)) if m == "argument humidity has no value"),
        "{err:?}"
    );
    let err = dew_point(&tenant, &ext, 20.0, 0.0).unwrap_err();
    assert!(
        matches!(err, WasmError::Guest(GuestError::InvalidArgument(_))),
        "{err:?}"
    );
    // A guest's error is not a crash: the instance keeps serving.
    assert!(dew_point(&tenant, &ext, 20.0, 50.0).is_ok());
}

#[test]
fn dew_point_guest_refuses_settings_it_does_not_know_in_init() {
    let tenant = Tenant::new();
    let ext = load(artifacts::DEW_POINT, relaxed());
    let args = [
        single("temperature", Value::Double(20.0)),
        single("humidity", Value::Long(50)),
    ];
    let err = tenant
        .compute(&ext, r#"{"ouptut":"dp"}"#, &args, 0)
        .unwrap_err();
    assert!(
        matches!(&err, WasmError::Guest(GuestError::InvalidArgument(m)) if m.contains("ouptut")),
        "{err:?}"
    );
    assert_eq!(
        ext.warm_instances(),
        0,
        "an instance whose init failed is not kept"
    );
    let out = tenant
        .compute(&ext, r#"{"output":"dp"}"#, &args, 0)
        .unwrap();
    assert_eq!(out[0].key, "dp", "the settings reached init");
}

#[test]
fn a_warm_instance_serves_only_fields_with_the_same_settings_and_argument_names() {
    let tenant = Tenant::new();
    let ext = load(artifacts::ECHO_SUM, relaxed());
    let settings_of = |out: &[Output]| -> Option<Value> {
        out.iter()
            .find(|o| o.key == "settings")
            .map(|o| o.value.clone())
    };
    let one = [single("a", Value::Long(1))];
    let two = [single("a", Value::Long(1)), single("b", Value::Long(2))];
    for _ in 0..3 {
        assert_eq!(
            settings_of(&tenant.compute(&ext, "{}", &one, 0).unwrap()),
            None
        );
    }
    assert_eq!(ext.warm_instances(), 1, "one setup, one instance");

    // Other settings: another instance, whose init saw them.
    let out = tenant.compute(&ext, r#"{"x":1}"#, &one, 0).unwrap();
    assert_eq!(settings_of(&out), Some(Value::Json(r#"{"x":1}"#.into())));
    assert_eq!(ext.warm_instances(), 2);

    // Other argument names: another instance, which reads both values.
    let out = tenant.compute(&ext, "{}", &two, 0).unwrap();
    assert_eq!(out[0].value, Value::Double(3.0));
    assert_eq!(ext.warm_instances(), 3);

    // The first setup still finds its own instance, not one of the others.
    let out = tenant.compute(&ext, "{}", &one, 0).unwrap();
    assert_eq!(
        (&out[0].value, settings_of(&out)),
        (&Value::Double(1.0), None)
    );
    assert_eq!(ext.warm_instances(), 3);
}

#[test]
fn values_that_do_not_match_the_argument_names_are_refused_before_the_guest_runs() {
    let tenant = Tenant::new();
    let ext = load(artifacts::ECHO_SUM, relaxed());
    let setup = FieldSetup {
        settings_json: "{}".into(),
        argument_names: vec!["a".into(), "b".into()],
    };
    let err = ext
        .compute(
            &tenant.host(),
            &tenant.field_scope(),
            tenant.device_a,
            &setup,
            &[ArgumentValue::Single(None)],
            0,
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            WasmError::Arguments {
                names: 2,
                values: 1
            }
        ),
        "{err:?}"
    );
    assert_eq!(ext.warm_instances(), 0, "no instance was started");
}

#[test]
fn echo_sum_adds_every_kind_of_argument_exactly() {
    let tenant = Tenant::new();
    let ext = load(artifacts::ECHO_SUM, relaxed());
    let rolling = Argument {
        name: "window".into(),
        value: ArgumentValue::Rolling(
            (1..=3)
                .map(|i| TsValue {
                    ts: i,
                    value: Value::Long(i),
                })
                .collect(),
        ),
    };
    let args = [
        single("a", Value::Double(1.5)),
        single("b", Value::Long(2)),
        single("c", Value::String("3.25".into())),
        single("d", Value::Boolean(true)),
        Argument {
            name: "missing".into(),
            value: ArgumentValue::Single(None),
        },
        rolling,
    ];
    let out = tenant.compute(&ext, r#"{"echo":1}"#, &args, 42).unwrap();
    assert_eq!(out.len(), 3, "{out:?}");
    assert_eq!(
        (out[0].key.as_str(), &out[0].value, out[0].ts),
        ("sum", &Value::Double(13.75), Some(42))
    );
    assert_eq!(
        (out[1].key.as_str(), &out[1].value),
        ("count", &Value::Long(7))
    );
    assert_eq!(out[2].target, OutputTarget::ServerAttribute);
    assert_eq!(out[2].value, Value::Json(r#"{"echo":1}"#.into()));
}

#[test]
fn a_warm_instance_serves_one_customer_and_is_not_shared_with_another() {
    let tenant = Tenant::new();
    let ext = load(artifacts::ECHO_SUM, relaxed());
    let args = [single("a", Value::Long(1))];
    for _ in 0..3 {
        tenant.compute(&ext, "{}", &args, 0).unwrap();
    }
    assert_eq!(
        ext.warm_instances(),
        1,
        "one instance reused for customer A"
    );
    let scope_b = AccessScope::for_entity(tenant.tenant, Some(tenant.customer_b), tenant.device_b);
    let (setup, values) = field("{}", &args);
    ext.compute(
        &tenant.host(),
        &scope_b,
        tenant.device_b,
        &setup,
        &values,
        0,
    )
    .unwrap();
    assert_eq!(ext.warm_instances(), 2, "customer B got its own instance");
}

#[test]
fn warm_instances_of_many_extensions_share_one_budget_and_all_keep_answering() {
    let tenant = Tenant::new();
    // A runtime of its own, with a pool of 4 instances: 2 may be warm.
    let engine = WasmEngine::new(EngineConfig {
        max_instances: 4,
        ..EngineConfig::default()
    })
    .unwrap();
    let runtime = Runtime::new(engine, None).unwrap();
    let bytes = std::fs::read(artifacts::ECHO_SUM).unwrap();
    let extensions: Vec<Extension> = (0..6)
        .map(|i| {
            runtime
                .load(&format!("echo-sum-{i}"), &bytes, relaxed())
                .unwrap()
        })
        .collect();
    let args = [single("a", Value::Long(1))];
    let call = |ext: &Extension| {
        let out = tenant
            .compute(ext, "{}", &args, 0)
            .unwrap_or_else(|e| panic!("{ext:?}: {e}"));
        assert_eq!(out[0].value, Value::Double(1.0));
    };

    // More extensions than warm slots, called in turn: each call is
    // answered, the one just called is kept warm, and the least recently
    // used make way for it.
    for _ in 0..3 {
        for (i, ext) in extensions.iter().enumerate() {
            call(ext);
            let warm: Vec<usize> = extensions.iter().map(Extension::warm_instances).collect();
            assert!(warm.iter().sum::<usize>() <= 2, "{warm:?}");
            assert_eq!(warm[i], 1, "{warm:?}");
        }
    }

    // As many threads as the pool has slots, while two of them are held by
    // warm instances: a call that finds the pool full takes a warm slot.
    std::thread::scope(|s| {
        for t in 0..4 {
            let (extensions, call) = (&extensions, &call);
            s.spawn(move || {
                for j in 0..30 {
                    call(&extensions[(t + j) % extensions.len()]);
                }
            });
        }
    });
}

#[test]
fn threshold_alarm_raises_above_high_and_clears_only_below_low() {
    let tenant = Tenant::new();
    let ext = load(artifacts::THRESHOLD_ALARM, relaxed());
    assert_eq!(ext.world(), World::CustomerLogic);
    let settings = r#"{"key":"temperature","high":30,"low":25,"alarmType":"High temperature"}"#;
    let device = tenant.device_a;
    let send = |ts: i64, t: f64| {
        tenant
            .telemetry(&ext, settings, device, (ts, "temperature", t))
            .unwrap();
    };
    let state = || {
        tenant
            .host
            .attribute(device, AttributeScope::Server, "alarmState")
    };
    let alarm = "High temperature".to_owned();

    send(1, 20.0);
    assert!(tenant.host.events().is_empty());
    assert_eq!(state(), None);

    send(2, 31.0);
    assert_eq!(
        tenant.host.events(),
        [Event::Raised(
            device,
            alarm.clone(),
            clientele::wasm::AlarmSeverity::Major
        )]
    );
    assert_eq!(state(), Some(Value::String("ACTIVE".into())));

    // Between low and high: still active, nothing happens.
    send(3, 28.0);
    send(4, 32.0);
    assert_eq!(tenant.host.events().len(), 1, "{:?}", tenant.host.events());

    send(5, 24.0);
    assert_eq!(
        tenant.host.events()[1],
        Event::Cleared(device, alarm.clone(), true)
    );
    assert_eq!(state(), Some(Value::String("CLEARED".into())));

    // Between low and high again: not raised again until above high.
    send(6, 29.0);
    assert_eq!(tenant.host.events().len(), 2);
    send(7, 30.5);
    assert_eq!(
        tenant.host.events()[2],
        Event::Raised(device, alarm, clientele::wasm::AlarmSeverity::Major)
    );

    // Lifecycle and attribute handlers answer too.
    let scope = tenant.customer_scope();
    ext.on_lifecycle(
        &tenant.host(),
        &scope,
        settings,
        device,
        LifecycleEvent::Updated,
    )
    .unwrap();
}

#[test]
fn threshold_alarm_refuses_unusable_settings_in_init() {
    let tenant = Tenant::new();
    let ext = load(artifacts::THRESHOLD_ALARM, relaxed());
    let bad = r#"{"key":"t","high":10,"low":20,"alarmType":"x"}"#;
    let err = tenant
        .telemetry(&ext, bad, tenant.device_a, (1, "t", 50.0))
        .unwrap_err();
    assert!(
        matches!(&err, WasmError::Guest(GuestError::InvalidArgument(m)) if m.contains("low")),
        "{err:?}"
    );
    assert!(tenant.host.events().is_empty());
}

#[test]
fn customer_logic_cannot_touch_another_customers_device() {
    let tenant = Tenant::new();
    let ext = load(artifacts::THRESHOLD_ALARM, relaxed());
    let settings = r#"{"key":"t","high":30,"low":25,"alarmType":"Hot"}"#;
    // Customer A's logic, handed an event of customer B's device (a service
    // bug, or a guest making up ids): the first read is refused.
    let err = tenant
        .telemetry(&ext, settings, tenant.device_b, (1, "t", 50.0))
        .unwrap_err();
    assert!(
        matches!(err, WasmError::Guest(GuestError::AccessDenied)),
        "{err:?}"
    );
    assert!(
        tenant.host.touched().is_empty(),
        "{:?}",
        tenant.host.touched()
    );
    assert!(tenant.host.events().is_empty());
}

/// Runs `settings` through the read-other guest for customer A's field.
fn read_other(
    tenant: &Tenant,
    ext: &Extension,
    device: EntityRef,
    what: &str,
) -> Result<Vec<clientele::wasm::Output>, WasmError> {
    let settings = format!(r#"{{"device":"{}","what":"{what}"}}"#, device.id);
    tenant.compute(ext, &settings, &[], 7)
}

#[test]
fn a_guest_asking_for_another_customers_device_gets_access_denied_never_the_data() {
    let tenant = Tenant::new();
    tenant
        .host
        .set_latest(tenant.device_a, "secret", 1, Value::Long(1));
    tenant
        .host
        .set_latest(tenant.device_b, "secret", 1, Value::Long(2));
    let ext = load(artifacts::READ_OTHER, relaxed());

    // Its own device: allowed (the check is not refusing everything).
    let out = read_other(&tenant, &ext, tenant.device_a, "latest").unwrap();
    assert_eq!(out[0].key, "stolen-secret");
    assert_eq!(tenant.host.touched(), [tenant.device_a]);

    for what in ["latest", "attributes"] {
        let err = read_other(&tenant, &ext, tenant.device_b, what).unwrap_err();
        assert!(
            matches!(err, WasmError::Guest(GuestError::AccessDenied)),
            "{what}: {err:?}"
        );
    }
    // Saving is customer logic's (a calculated field cannot import
    // `data-write`): customer A's logic saving to customer B's device.
    let writer = load(artifacts::WRITE_OTHER, relaxed());
    for what in ["telemetry", "attributes"] {
        let err = write_other(&tenant, &writer, tenant.device_b, what).unwrap_err();
        assert!(
            matches!(err, WasmError::Guest(GuestError::AccessDenied)),
            "save {what}: {err:?}"
        );
    }
    // A device that does not exist reads the same: no probing for ids.
    let err = read_other(
        &tenant,
        &ext,
        EntityRef::device(uuid::Uuid::new_v4()),
        "latest",
    )
    .unwrap_err();
    assert!(
        matches!(err, WasmError::Guest(GuestError::AccessDenied)),
        "{err:?}"
    );

    assert_eq!(
        tenant.host.touched(),
        [tenant.device_a],
        "customer B's device never reached the host"
    );
    let planted = tenant
        .host
        .latest
        .lock()
        .unwrap()
        .keys()
        .any(|(_, k)| k == "planted");
    assert!(!planted, "nothing was written");
    let planted = tenant
        .host
        .attributes
        .lock()
        .unwrap()
        .keys()
        .any(|(_, _, k)| k == "planted");
    assert!(!planted, "no attribute was written");
}

/// Runs the write-other guest as customer A's logic, on a telemetry event
/// of customer A's device, saving `what` to `device`.
fn write_other(
    tenant: &Tenant,
    ext: &Extension,
    device: EntityRef,
    what: &str,
) -> Result<(), WasmError> {
    let settings = format!(r#"{{"device":"{}","what":"{what}"}}"#, device.id);
    tenant.telemetry(ext, &settings, tenant.device_a, (1, "t", 20.0))
}

#[test]
fn customer_logic_saves_to_its_own_customers_device() {
    let tenant = Tenant::new();
    let ext = load(artifacts::WRITE_OTHER, relaxed());
    write_other(&tenant, &ext, tenant.device_a, "telemetry").unwrap();
    write_other(&tenant, &ext, tenant.device_a, "attributes").unwrap();
    assert_eq!(tenant.host.touched(), [tenant.device_a, tenant.device_a]);
    assert!(
        tenant
            .host
            .latest
            .lock()
            .unwrap()
            .contains_key(&(tenant.device_a, "planted".to_owned()))
    );
    assert_eq!(
        tenant
            .host
            .attribute(tenant.device_a, AttributeScope::Server, "planted"),
        Some(Value::Boolean(true))
    );
}

/// The deadline of the guest that is meant to hit it.
const SHORT: Duration = Duration::from_millis(50);

/// Limits for the misbehaving guests: small caps, and `deadline`: [`SHORT`]
/// only for the guest that is meant to hit it. The others get a [`LONG`]
/// one, so that a loaded machine cannot turn their error into a timeout.
fn small(deadline: Duration) -> Limits {
    Limits {
        deadline,
        memory_bytes: 16 << 20,
        max_host_calls: 100,
        ..Limits::default()
    }
}

/// Runs the guest at `path` with `settings` under [`small`] limits with
/// a [`LONG`] deadline; it must fail.
fn run(path: &str, settings: &str) -> WasmError {
    run_until(path, settings, LONG)
}

fn run_until(path: &str, settings: &str, deadline: Duration) -> WasmError {
    let tenant = Tenant::new();
    let ext = load(path, small(deadline));
    let args = [single("a", Value::Long(1))];
    let err = tenant
        .compute(&ext, settings, &args, 0)
        .expect_err("the guest must fail");
    assert_eq!(ext.warm_instances(), 0, "a failed instance is thrown away");
    err
}

#[test]
fn an_endless_loop_is_stopped_by_the_deadline() {
    let err = run_until(artifacts::ENDLESS_LOOP, "{}", SHORT);
    assert!(
        matches!(err, WasmError::Timeout(d) if d == Duration::from_millis(50)),
        "{err:?}"
    );
}

#[test]
fn unbounded_allocation_is_stopped_by_the_memory_cap() {
    let err = run(artifacts::UNBOUNDED_ALLOC, "{}");
    assert!(
        matches!(err, WasmError::OutOfMemory(cap) if cap == 16 << 20),
        "{err:?}"
    );
}

#[test]
fn deep_recursion_traps() {
    let err = run(artifacts::DEEP_RECURSION, "{}");
    assert!(matches!(err, WasmError::Trap(_)), "{err:?}");
}

#[test]
fn a_panic_traps_with_the_guests_message() {
    let err = run(artifacts::PANICS, "{}");
    assert!(
        matches!(&err, WasmError::Trap(m) if m.contains("guest gave up on purpose")),
        "{err:?}"
    );
}

#[test]
fn a_panic_in_init_fails_the_call_and_leaves_no_instance() {
    let tenant = Tenant::new();
    let ext = load(artifacts::PANICS, small(LONG));
    for _ in 0..2 {
        let err = tenant
            .compute(&ext, r#"{"in":"init"}"#, &[], 0)
            .unwrap_err();
        assert!(
            matches!(&err, WasmError::Trap(m) if m.contains("guest gave up on purpose")),
            "{err:?}"
        );
        assert_eq!(ext.warm_instances(), 0);
    }
}

#[test]
fn huge_and_invalid_outputs_are_refused() {
    for mode in ["string", "many"] {
        let err = run(artifacts::HUGE_OUTPUT, &format!(r#"{{"mode":"{mode}"}}"#));
        assert!(
            matches!(err, WasmError::OutputTooLarge(_)),
            "{mode}: {err:?}"
        );
    }
    let err = run(artifacts::HUGE_OUTPUT, r#"{"mode":"nan"}"#);
    assert!(
        matches!(&err, WasmError::InvalidOutput(m) if m.contains("NaN")),
        "{err:?}"
    );
    let err = run(artifacts::HUGE_OUTPUT, r#"{"mode":"long-key"}"#);
    assert!(
        matches!(&err, WasmError::InvalidOutput(m) if m.contains("300 bytes")),
        "{err:?}"
    );
    // The rule for keys from devices: no NUL either.
    let err = run(artifacts::HUGE_OUTPUT, r#"{"mode":"nul-key"}"#);
    assert!(
        matches!(&err, WasmError::InvalidOutput(m) if m.contains("NUL")),
        "{err:?}"
    );
}

#[test]
fn a_flood_of_host_calls_is_cut_off() {
    for call in ["log", "read"] {
        let err = run(
            artifacts::HOST_CALL_FLOOD,
            &format!(r#"{{"call":"{call}"}}"#),
        );
        assert!(
            matches!(err, WasmError::HostCallLimit(100)),
            "{call}: {err:?}"
        );
    }
}

#[test]
fn the_first_host_call_past_the_budget_ends_the_invocation() {
    let tenant = Tenant::new();
    let ext = load(artifacts::HOST_CALL_FLOOD, small(LONG));
    let flood = |call: &str, times: u32| {
        let settings = format!(r#"{{"call":"{call}","times":{times}}}"#);
        tenant.compute(&ext, &settings, &[], 0)
    };
    for call in ["log", "read"] {
        // Exactly the budget: the guest finishes, and its instance is kept.
        let warm = ext.warm_instances();
        assert_eq!(flood(call, 100).unwrap(), []);
        assert_eq!(ext.warm_instances(), warm + 1, "{call}");
        // One more (other settings, so another instance): the invocation
        // ends at that call, though the guest ignores errors and would
        // return normally, and its instance is not kept.
        let err = flood(call, 101).unwrap_err();
        assert!(
            matches!(err, WasmError::HostCallLimit(100)),
            "{call}: {err:?}"
        );
        assert_eq!(ext.warm_instances(), warm + 1, "{call}");
    }
}

#[test]
fn a_save_past_the_output_budget_ends_the_invocation_and_saves_nothing() {
    let tenant = Tenant::new();
    let limits = Limits {
        max_output_bytes: 1_000,
        ..relaxed()
    };
    let ext = load(artifacts::WRITE_OTHER, limits);
    let save = |bytes: usize| {
        let settings = format!(
            r#"{{"device":"{}","what":"attributes","bytes":{bytes}}}"#,
            tenant.device_a.id
        );
        tenant.telemetry(&ext, &settings, tenant.device_a, (1, "t", 20.0))
    };
    let err = save(2_000).unwrap_err();
    assert!(matches!(err, WasmError::OutputTooLarge(_)), "{err:?}");
    assert!(tenant.host.touched().is_empty(), "nothing reached the host");
    // Within the budget, the same save goes through.
    save(500).unwrap();
    assert_eq!(
        tenant
            .host
            .attribute(tenant.device_a, AttributeScope::Server, "planted"),
        Some(Value::String("x".repeat(500)))
    );
}

#[test]
fn every_misbehaving_guest_fails_alone_and_the_engine_keeps_serving() {
    let tenant = Tenant::new();
    let good = load(artifacts::DEW_POINT, relaxed());
    assert!(dew_point(&tenant, &good, 20.0, 50.0).is_ok());
    // All of them at once, from threads, as workers would.
    let bad = [
        (artifacts::ENDLESS_LOOP, SHORT),
        (artifacts::UNBOUNDED_ALLOC, LONG),
        (artifacts::DEEP_RECURSION, LONG),
        (artifacts::PANICS, LONG),
        (artifacts::HUGE_OUTPUT, LONG),
        (artifacts::HOST_CALL_FLOOD, LONG),
    ];
    std::thread::scope(|s| {
        for (path, deadline) in bad {
            s.spawn(move || run_until(path, "{}", deadline));
        }
        s.spawn(|| {
            for _ in 0..50 {
                let d = dew_point(&tenant, &good, 20.0, 50.0).unwrap();
                assert!((d - magnus(20.0, 50.0)).abs() < 1e-9);
            }
        });
    });
    assert!((dew_point(&tenant, &good, 20.0, 50.0).unwrap() - magnus(20.0, 50.0)).abs() < 1e-9);
}

fn load_err(bytes: &[u8]) -> LoadError {
    runtime()
        .load("bad", bytes, relaxed())
        .expect_err("must be refused")
}

#[test]
fn files_that_are_not_clientele_components_are_refused_with_clear_errors() {
    assert!(matches!(load_err(b"hello, world"), LoadError::NotWasm));
    // The smallest core module: header only.
    let err = load_err(b"\0asm\x01\0\0\0");
    assert!(matches!(err, LoadError::CoreModule));
    assert!(err.to_string().contains("wasm32-wasip2"), "{err}");

    let dew = std::fs::read(artifacts::DEW_POINT).unwrap();
    assert!(matches!(
        load_err(&dew[..dew.len() / 2]),
        LoadError::Invalid(_)
    ));

    let err = load_err(&std::fs::read(artifacts::UNRELATED_WORLD).unwrap());
    assert!(
        matches!(&err, LoadError::UnknownWorld { exports } if exports == "greet"),
        "{err:?}"
    );
    assert!(err.to_string().contains("neither Clientele world"), "{err}");

    // Built against another version of the package: refused, saying which.
    let err = load_err(&std::fs::read(artifacts::OLD_PACKAGE).unwrap());
    assert!(
        matches!(&err, LoadError::OtherPackageVersion { found } if found == "clientele:platform@0.2.0"),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(clientele::wasm::WIT_PACKAGE),
        "{err}"
    );

    let err = load_err(&std::fs::read(artifacts::READS_CLOCK).unwrap());
    assert!(
        matches!(&err, LoadError::UnsupportedImport { world: World::CalculatedField, reason } if reason.contains("wasi:clocks")),
        "{err:?}"
    );

    // A calculated field is read-only: one that imports `data-write`
    // (through a world of its own) does not load.
    let err = load_err(&std::fs::read(artifacts::FIELD_WRITES).unwrap());
    assert!(
        matches!(&err, LoadError::UnsupportedImport { world: World::CalculatedField, reason } if reason.contains("data-write")),
        "{err:?}"
    );

    let small = Limits {
        max_component_bytes: 1024,
        ..Limits::default()
    };
    let err = runtime().load("big", &dew, small).unwrap_err();
    assert!(
        matches!(err, LoadError::TooLarge { max: 1024, .. }),
        "{err:?}"
    );
}

#[test]
fn calling_the_wrong_world_is_an_error_not_a_trap() {
    let tenant = Tenant::new();
    let ext = load(artifacts::THRESHOLD_ALARM, relaxed());
    let err = tenant.compute(&ext, "{}", &[], 0).unwrap_err();
    assert!(matches!(
        err,
        WasmError::WrongWorld {
            called: World::CalculatedField,
            actual: World::CustomerLogic
        }
    ));
}

#[test]
fn a_restart_loads_compiled_code_from_the_cache_without_compiling() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(artifacts::DEW_POINT).unwrap();
    let tenant = Tenant::new();

    let start = |expect_compiled: u64, expect_hits: u64| {
        // A new engine and runtime each time, as after a restart.
        let engine = WasmEngine::new(EngineConfig::default()).unwrap();
        let cache = ComponentCache::open(dir.path(), engine.engine()).unwrap();
        let runtime = Runtime::new(engine, Some(cache)).unwrap();
        let ext = runtime.load("dew-point", &bytes, relaxed()).unwrap();
        let cache = runtime.cache().unwrap();
        assert_eq!(
            (cache.compilations(), cache.hits()),
            (expect_compiled, expect_hits)
        );
        assert!(dew_point(&tenant, &ext, 20.0, 50.0).is_ok());
        ext.hash().to_owned()
    };
    let hash = start(1, 0);
    assert_eq!(start(0, 1), hash);

    // A damaged entry is compiled again, not trusted.
    let cache_dir = std::fs::read_dir(dir.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::write(cache_dir.join(format!("{hash}.cwasm")), b"garbage").unwrap();
    start(1, 0);
    start(0, 1);
}

#[test]
fn loading_the_same_component_again_reuses_it_while_an_extension_holds_it() {
    let dir = tempfile::tempdir().unwrap();
    let engine = WasmEngine::new(EngineConfig::default()).unwrap();
    let cache = ComponentCache::open(dir.path(), engine.engine()).unwrap();
    let runtime = Runtime::new(engine, Some(cache)).unwrap();
    let bytes = std::fs::read(artifacts::ECHO_SUM).unwrap();
    let counts = || {
        let cache = runtime.cache().unwrap();
        (cache.compilations(), cache.hits())
    };

    let first = runtime.load("first", &bytes, relaxed()).unwrap();
    let few_calls = Limits {
        max_host_calls: 5,
        ..relaxed()
    };
    let second = runtime.load("second", &bytes, few_calls).unwrap();
    assert_eq!(counts(), (1, 0), "loaded again without the cache");
    assert_eq!(first.hash(), second.hash());

    // Each is an extension of its own: its own limits, its own instances.
    let tenant = Tenant::new();
    let args = [single("a", Value::Long(3))];
    for ext in [&first, &second] {
        let out = tenant.compute(ext, "{}", &args, 0).unwrap();
        assert_eq!(out[0].value, Value::Double(3.0));
        assert_eq!(ext.warm_instances(), 1);
    }

    // Once no extension holds it, the next load reads the cache.
    drop((first, second));
    runtime.load("third", &bytes, relaxed()).unwrap();
    assert_eq!(counts(), (1, 1));
}

#[test]
fn opening_the_cache_deletes_other_engines_entries_and_temporary_files() {
    let root = tempfile::tempdir().unwrap();
    let engine = WasmEngine::new(EngineConfig::default()).unwrap();
    let dir = ComponentCache::open(root.path(), engine.engine())
        .unwrap()
        .dir()
        .to_owned();
    // The directory is named by a sha256, stable across Rust releases.
    let name = dir.file_name().unwrap().to_str().unwrap();
    assert!(
        name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()),
        "{name}"
    );

    // Left behind by an older wasmtime (one with the former 16-digit
    // keys), by a crash mid-write, and something that is not the cache's.
    let other_engine = root.path().join("0123456789abcdef");
    std::fs::create_dir(&other_engine).unwrap();
    std::fs::write(other_engine.join("x.cwasm"), b"old code").unwrap();
    let tmp = dir.join("abc.cwasm.1-0.tmp");
    std::fs::write(&tmp, b"half").unwrap();
    let kept = dir.join("abc.cwasm");
    std::fs::write(&kept, b"entry").unwrap();
    let foreign = root.path().join("notes");
    std::fs::create_dir(&foreign).unwrap();

    let reopened = ComponentCache::open(root.path(), engine.engine()).unwrap();
    assert_eq!(reopened.dir(), dir, "the same engine, the same directory");
    assert!(!other_engine.exists());
    assert!(!tmp.exists());
    assert!(kept.exists() && foreign.exists());
}

/// Regression: two threads loading the same component into an empty cache
/// wrote the same temporary file (named by process id only), and the one
/// whose rename lost failed to load a perfectly good component.
#[test]
fn loading_one_component_from_many_threads_at_once_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let engine = WasmEngine::new(EngineConfig::default()).unwrap();
    let cache = ComponentCache::open(dir.path(), engine.engine()).unwrap();
    let runtime = Runtime::new(engine, Some(cache)).unwrap();
    let bytes = std::fs::read(artifacts::ECHO_SUM).unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| runtime.load("echo-sum", &bytes, relaxed()).unwrap());
        }
    });
    let left: Vec<_> = std::fs::read_dir(runtime.cache().unwrap().dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        left.len(),
        1,
        "one entry, no temporary files left: {left:?}"
    );
    assert!(left[0].ends_with(".cwasm"));
}
