//! Shared by the wasm test binaries: an in-memory [`GuestHost`] that
//! records what guests asked for, and a runtime loaded once per binary.

#![allow(dead_code)] // each test binary uses a different part

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, LazyLock, Mutex};

use clientele::wasm::{
    AccessScope, AlarmSeverity, ArgumentValue, AttributeScope, ComponentCache, EngineConfig,
    EntityRef, Extension, FieldSetup, GuestError, GuestHost, KeyValue, Limits, Output, Owner,
    Runtime, TsKv, TsValue, Value, WasmEngine, WasmError,
};
use uuid::Uuid;

/// One runtime per test binary, with a compiled-code cache in a temporary
/// directory so that loading the same component under other limits does
/// not compile it again.
pub fn runtime() -> &'static Runtime {
    static RUNTIME: LazyLock<(Runtime, tempfile::TempDir)> = LazyLock::new(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let engine = WasmEngine::new(EngineConfig::default()).expect("engine");
        let cache = ComponentCache::open(dir.path(), engine.engine()).expect("cache");
        (Runtime::new(engine, Some(cache)).expect("runtime"), dir)
    });
    &RUNTIME.0
}

/// Loads the component at `path` under `limits`.
pub fn load(path: &str, limits: Limits) -> Extension {
    let bytes = std::fs::read(path).expect("read component");
    runtime()
        .load(path.rsplit('/').next().unwrap_or(path), &bytes, limits)
        .unwrap_or_else(|e| panic!("load {path}: {e}"))
}

/// A named argument, as a test writes one: the name goes to the guest's
/// `init`, the value to `compute` ([`field`]).
#[derive(Debug, Clone)]
pub struct Argument {
    pub name: String,
    pub value: ArgumentValue,
}

/// A field's setup from its `settings` and the names of `arguments`, and
/// the values of `arguments` in the same order: what
/// [`Extension::compute`] takes.
pub fn field(settings: &str, arguments: &[Argument]) -> (FieldSetup, Vec<ArgumentValue>) {
    let setup = FieldSetup {
        settings_json: settings.to_owned(),
        argument_names: arguments.iter().map(|a| a.name.clone()).collect(),
    };
    (setup, arguments.iter().map(|a| a.value.clone()).collect())
}

/// An argument with a single value, at ts 1.
pub fn single(name: &str, value: Value) -> Argument {
    Argument {
        name: name.to_owned(),
        value: ArgumentValue::Single(Some(TsValue { ts: 1, value })),
    }
}

/// Attribute scopes as map keys (the generated enum is not `Ord`).
fn scope_key(scope: AttributeScope) -> u8 {
    match scope {
        AttributeScope::Server => 0,
        AttributeScope::Shared => 1,
        AttributeScope::Client => 2,
    }
}

/// What a guest did through the host, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Raised(EntityRef, String, AlarmSeverity),
    Cleared(EntityRef, String, bool),
}

/// A tenant's data in memory: owners, latest telemetry, attributes,
/// active alarms. Every entity the host was asked about is recorded, so a
/// test can show that a refused entity never reached it.
#[derive(Default)]
pub struct MemoryHost {
    pub owners: Mutex<HashMap<EntityRef, Owner>>,
    pub latest: Mutex<BTreeMap<(EntityRef, String), TsKv>>,
    pub attributes: Mutex<BTreeMap<(EntityRef, u8, String), TsKv>>,
    pub active_alarms: Mutex<BTreeSet<(EntityRef, String)>>,
    pub events: Mutex<Vec<Event>>,
    pub touched: Mutex<Vec<EntityRef>>,
}

impl MemoryHost {
    pub fn touched(&self) -> Vec<EntityRef> {
        self.touched.lock().unwrap().clone()
    }

    pub fn events(&self) -> Vec<Event> {
        self.events.lock().unwrap().clone()
    }

    pub fn attribute(&self, entity: EntityRef, scope: AttributeScope, key: &str) -> Option<Value> {
        self.attributes
            .lock()
            .unwrap()
            .get(&(entity, scope_key(scope), key.to_owned()))
            .map(|kv| kv.value.clone())
    }

    pub fn set_latest(&self, entity: EntityRef, key: &str, ts: i64, value: Value) {
        let point = TsKv {
            ts,
            key: key.to_owned(),
            value,
        };
        self.latest
            .lock()
            .unwrap()
            .insert((entity, key.to_owned()), point);
    }

    fn touch(&self, entity: &EntityRef) {
        self.touched.lock().unwrap().push(*entity);
    }
}

impl GuestHost for MemoryHost {
    fn owner_of(&self, entity: &EntityRef) -> Option<Owner> {
        self.owners.lock().unwrap().get(entity).copied()
    }

    fn read_attributes(
        &self,
        _scope: &AccessScope,
        entity: &EntityRef,
        attribute_scope: AttributeScope,
        keys: &[String],
    ) -> Result<Vec<TsKv>, GuestError> {
        self.touch(entity);
        let s = scope_key(attribute_scope);
        Ok(self
            .attributes
            .lock()
            .unwrap()
            .iter()
            .filter(|((e, sc, k), _)| {
                e == entity && *sc == s && (keys.is_empty() || keys.contains(k))
            })
            .map(|(_, v)| v.clone())
            .collect())
    }

    fn read_latest(
        &self,
        _scope: &AccessScope,
        entity: &EntityRef,
        keys: &[String],
    ) -> Result<Vec<TsKv>, GuestError> {
        self.touch(entity);
        Ok(self
            .latest
            .lock()
            .unwrap()
            .iter()
            .filter(|((e, k), _)| e == entity && (keys.is_empty() || keys.contains(k)))
            .map(|(_, v)| v.clone())
            .collect())
    }

    fn save_telemetry(
        &self,
        _scope: &AccessScope,
        entity: &EntityRef,
        values: Vec<TsKv>,
    ) -> Result<(), GuestError> {
        self.touch(entity);
        for v in values {
            self.latest
                .lock()
                .unwrap()
                .insert((*entity, v.key.clone()), v);
        }
        Ok(())
    }

    fn save_attributes(
        &self,
        _scope: &AccessScope,
        entity: &EntityRef,
        attribute_scope: AttributeScope,
        values: Vec<KeyValue>,
    ) -> Result<(), GuestError> {
        self.touch(entity);
        let s = scope_key(attribute_scope);
        for v in values {
            let point = TsKv {
                ts: 0,
                key: v.key.clone(),
                value: v.value,
            };
            self.attributes
                .lock()
                .unwrap()
                .insert((*entity, s, v.key), point);
        }
        Ok(())
    }

    fn raise_alarm(
        &self,
        _scope: &AccessScope,
        originator: &EntityRef,
        alarm_type: &str,
        severity: AlarmSeverity,
        _details: serde_json::Value,
    ) -> Result<(), GuestError> {
        self.touch(originator);
        self.active_alarms
            .lock()
            .unwrap()
            .insert((*originator, alarm_type.to_owned()));
        self.events.lock().unwrap().push(Event::Raised(
            *originator,
            alarm_type.to_owned(),
            severity,
        ));
        Ok(())
    }

    fn clear_alarm(
        &self,
        _scope: &AccessScope,
        originator: &EntityRef,
        alarm_type: &str,
    ) -> Result<bool, GuestError> {
        self.touch(originator);
        let was = self
            .active_alarms
            .lock()
            .unwrap()
            .remove(&(*originator, alarm_type.to_owned()));
        self.events
            .lock()
            .unwrap()
            .push(Event::Cleared(*originator, alarm_type.to_owned(), was));
        Ok(was)
    }
}

/// A tenant with two customers, each with a device.
pub struct World {
    pub tenant: Uuid,
    pub customer_a: Uuid,
    pub customer_b: Uuid,
    pub device_a: EntityRef,
    pub device_b: EntityRef,
    pub host: Arc<MemoryHost>,
}

impl World {
    pub fn new() -> Self {
        let world = World {
            tenant: Uuid::new_v4(),
            customer_a: Uuid::new_v4(),
            customer_b: Uuid::new_v4(),
            device_a: EntityRef::device(Uuid::new_v4()),
            device_b: EntityRef::device(Uuid::new_v4()),
            host: Arc::new(MemoryHost::default()),
        };
        let mut owners = world.host.owners.lock().unwrap();
        owners.insert(
            world.device_a,
            Owner {
                tenant_id: world.tenant,
                customer_id: Some(world.customer_a),
            },
        );
        owners.insert(
            world.device_b,
            Owner {
                tenant_id: world.tenant,
                customer_id: Some(world.customer_b),
            },
        );
        drop(owners);
        world
    }

    /// The host as the runtime takes it.
    pub fn host(&self) -> Arc<dyn GuestHost> {
        self.host.clone()
    }

    /// Scope of a calculated field on customer A's device.
    pub fn field_scope(&self) -> AccessScope {
        AccessScope::for_entity(self.tenant, Some(self.customer_a), self.device_a)
    }

    /// Scope of customer A's customer logic.
    pub fn customer_scope(&self) -> AccessScope {
        AccessScope::for_customer(self.tenant, self.customer_a)
    }

    /// Runs the calculated field `ext` as customer A's field of device A.
    pub fn compute(
        &self,
        ext: &Extension,
        settings: &str,
        arguments: &[Argument],
        now_ms: i64,
    ) -> Result<Vec<Output>, WasmError> {
        let (setup, values) = field(settings, arguments);
        ext.compute(
            &self.host(),
            &self.field_scope(),
            self.device_a,
            &setup,
            &values,
            now_ms,
        )
    }

    /// Runs the customer logic `ext` as customer A's, on one telemetry
    /// point of `device`: `key` = `value` at `ts`.
    pub fn telemetry(
        &self,
        ext: &Extension,
        settings: &str,
        device: EntityRef,
        (ts, key, value): (i64, &str, f64),
    ) -> Result<(), WasmError> {
        let values = [TsKv {
            ts,
            key: key.to_owned(),
            value: Value::Double(value),
        }];
        ext.on_telemetry(
            &self.host(),
            &self.customer_scope(),
            settings,
            device,
            &values,
        )
    }
}
