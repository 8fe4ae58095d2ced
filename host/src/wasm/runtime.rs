//! Loading components and calling guests under limits.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use wasmtime::component::{Component, Linker};
use wasmtime::{PoolConcurrencyLimitError, Store, Trap};

use super::bindings::WIT_PACKAGE;
use super::bindings::calculated_field::{
    ArgumentValue, CalculatedField, CalculatedFieldPre, Output,
};
use super::bindings::customer_logic::{CustomerLogic, CustomerLogicPre, LifecycleEvent};
use super::bindings::types::{AttributeScope, Error as GuestError, KeyValue, TsKv};
use super::cache::{self, ComponentCache};
use super::engine::WasmEngine;
use super::error::{LoadError, WasmError};
use super::host_api::{AccessScope, EntityRef, GuestHost, LimitReached};
use super::limits::Limits;
use super::state::{self, HostState, STDERR_BYTES};
use super::validate::{self, Refusal};
use super::warm::{Warm, WarmKey, WarmPool};

/// The two roles a guest can have: the worlds of `wit/worlds.wit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum World {
    CalculatedField,
    CustomerLogic,
}

impl fmt::Display for World {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            World::CalculatedField => "calculated-field",
            World::CustomerLogic => "customer-logic",
        })
    }
}

/// Times an instantiation that found the engine's pool full is tried again,
/// each time after throwing away the least recently used warm instance (if
/// any is left). More than once: between the failure and the eviction
/// another call may take that warm instance, and free a slot only a moment
/// later.
const POOL_FULL_RETRIES: u32 = 3;

/// Loads components into [`Extension`]s. One per process: it holds the
/// engine, the linkers of both worlds, the compiled-code cache and the warm
/// instances of every extension it loaded.
pub struct Runtime {
    engine: WasmEngine,
    cache: Option<ComponentCache>,
    calculated_field: Linker<HostState>,
    customer_logic: Linker<HostState>,
    warm: Arc<WarmPool>,
    /// Components prepared by this runtime, by content hash, for as long
    /// as an extension holds them: loading the same bytes again (under
    /// other limits, under another name) reuses the compiled code and its
    /// pre-instantiation instead of deserializing and linking it again.
    prepared: Mutex<HashMap<String, Weak<Prepared>>>,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("engine", &self.engine)
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// A runtime on `engine`, caching compiled code in `cache` if given.
    pub fn new(engine: WasmEngine, cache: Option<ComponentCache>) -> wasmtime::Result<Self> {
        use super::bindings::customer_logic::CustomerLogic as Cl;
        use wasmtime::component::HasSelf;

        let mut calculated_field = Linker::new(engine.engine());
        state::add_wasi_to_linker(&mut calculated_field)?;
        CalculatedField::add_to_linker::<_, HasSelf<_>>(&mut calculated_field, |s| s)?;

        let mut customer_logic = Linker::new(engine.engine());
        state::add_wasi_to_linker(&mut customer_logic)?;
        Cl::add_to_linker::<_, HasSelf<_>>(&mut customer_logic, |s| s)?;

        // Warm instances hold slots of the engine's pool: half of it is
        // left to calls that need a new instance.
        let warm = Arc::new(WarmPool::new(engine.config().max_instances as usize / 2));
        Ok(Runtime {
            engine,
            cache,
            calculated_field,
            customer_logic,
            warm,
            prepared: Mutex::new(HashMap::new()),
        })
    }

    /// The compiled-code cache, if any.
    pub fn cache(&self) -> Option<&ComponentCache> {
        self.cache.as_ref()
    }

    /// Validates and prepares a component: it must be a component (not a
    /// core module), implement one of the two worlds, and import nothing
    /// else; compiled code comes from the cache when it is there, and from
    /// an extension already loaded from the same bytes before that. `name`
    /// appears in the guest's log lines. `limits.memory_bytes` is capped by
    /// the engine's pool.
    pub fn load(&self, name: &str, bytes: &[u8], limits: Limits) -> Result<Extension, LoadError> {
        if bytes.len() > limits.max_component_bytes {
            return Err(LoadError::TooLarge {
                size: bytes.len(),
                max: limits.max_component_bytes,
            });
        }
        check_header(bytes)?;
        let hash = cache::content_hash(bytes);
        let prepared = match self.prepared_already(&hash) {
            Some(prepared) => prepared,
            None => {
                let prepared = Arc::new(self.prepare(bytes, hash.clone())?);
                if let Ok(mut map) = self.prepared.lock() {
                    map.retain(|_, p| p.strong_count() > 0);
                    map.insert(hash, Arc::downgrade(&prepared));
                }
                prepared
            }
        };
        let limits = Limits {
            memory_bytes: limits
                .memory_bytes
                .min(self.engine.config().max_memory_bytes),
            ..limits
        };
        Ok(Extension(Arc::new(Inner {
            name: name.to_owned(),
            prepared,
            limits,
            engine: self.engine.clone(),
            id: NEXT_EXTENSION_ID.fetch_add(1, Ordering::Relaxed),
            warm: self.warm.clone(),
        })))
    }

    fn prepared_already(&self, hash: &str) -> Option<Arc<Prepared>> {
        self.prepared.lock().ok()?.get(hash)?.upgrade()
    }

    /// Compiles (or loads from the cache), checks the world and links.
    fn prepare(&self, bytes: &[u8], hash: String) -> Result<Prepared, LoadError> {
        let engine = self.engine.engine();
        let component = match &self.cache {
            Some(cache) => cache.load_or_compile(engine, bytes, &hash)?,
            None => cache::compile(engine, bytes)?,
        };
        check_package_version(engine, &component)?;
        let world = detect_world(engine, &component)?;
        let linker = match world {
            World::CalculatedField => &self.calculated_field,
            World::CustomerLogic => &self.customer_logic,
        };
        let pre = linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::UnsupportedImport {
                world,
                reason: format!("{e:#}"),
            })?;
        let mismatch = |e: wasmtime::Error| LoadError::WorldMismatch {
            world,
            reason: format!("{e:#}"),
        };
        let pre = match world {
            World::CalculatedField => {
                Pre::CalculatedField(CalculatedFieldPre::new(pre).map_err(mismatch)?)
            }
            World::CustomerLogic => {
                Pre::CustomerLogic(CustomerLogicPre::new(pre).map_err(mismatch)?)
            }
        };
        Ok(Prepared { hash, pre })
    }
}

/// Tells a core module and garbage from a component by the header, for a
/// clearer refusal than the parser's.
fn check_header(bytes: &[u8]) -> Result<(), LoadError> {
    match bytes.get(..8) {
        Some([0, b'a', b's', b'm', 1, 0, 0, 0]) => Err(LoadError::CoreModule),
        Some([0, b'a', b's', b'm', ..]) => Ok(()),
        _ => Err(LoadError::NotWasm),
    }
}

/// Refuses a component that imports the Clientele interfaces of another
/// package version, saying so (the linker would only say that an import
/// is missing).
fn check_package_version(
    engine: &wasmtime::Engine,
    component: &Component,
) -> Result<(), LoadError> {
    let (ours, our_version) = WIT_PACKAGE.split_once('@').unwrap_or((WIT_PACKAGE, ""));
    let ty = component.component_type();
    for (name, _) in ty.imports(engine) {
        let Some((interface, version)) = name.split_once('@') else {
            continue;
        };
        let package = interface.split_once('/').map_or(interface, |(p, _)| p);
        if package == ours && version != our_version {
            return Err(LoadError::OtherPackageVersion {
                found: format!("{package}@{version}"),
            });
        }
    }
    Ok(())
}

/// Which world a component implements, by its exports; the exact types are
/// checked by the generated `*Pre::new`.
fn detect_world(engine: &wasmtime::Engine, component: &Component) -> Result<World, LoadError> {
    let ty = component.component_type();
    let exports: Vec<&str> = ty.exports(engine).map(|(name, _)| name).collect();
    if exports.contains(&"compute") {
        Ok(World::CalculatedField)
    } else if exports.contains(&"on-telemetry") || exports.contains(&"init") {
        Ok(World::CustomerLogic)
    } else {
        Err(LoadError::UnknownWorld {
            exports: exports.join(", "),
        })
    }
}

enum Pre {
    CalculatedField(CalculatedFieldPre<HostState>),
    CustomerLogic(CustomerLogicPre<HostState>),
}

impl Pre {
    fn world(&self) -> World {
        match self {
            Pre::CalculatedField(_) => World::CalculatedField,
            Pre::CustomerLogic(_) => World::CustomerLogic,
        }
    }
}

/// An instance of either world.
pub(super) enum Instance {
    CalculatedField(CalculatedField),
    CustomerLogic(CustomerLogic),
}

/// Identifies an [`Extension`] (all its clones) in the [`WarmPool`].
static NEXT_EXTENSION_ID: AtomicU64 = AtomicU64::new(0);

/// What a calculated field's `init` is given: its settings and the names
/// of its arguments, in the order `compute` gets their values. Built once
/// per field, not per call; a warm instance serves only the fields of one
/// customer with an equal setup.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSetup {
    /// The field's JSON settings, `"{}"` when none.
    pub settings_json: String,
    /// The arguments' names in configuration order.
    pub argument_names: Vec<String>,
}

/// A validated component, compiled and linked: what every extension
/// loaded from the same bytes shares.
struct Prepared {
    /// The sha256 of the component, in hex.
    hash: String,
    pre: Pre,
}

/// An extension: a prepared component, and how it is called.
struct Inner {
    name: String,
    prepared: Arc<Prepared>,
    limits: Limits,
    engine: WasmEngine,
    id: u64,
    warm: Arc<WarmPool>,
}

impl Drop for Inner {
    /// The last clone of an extension is gone: so are its warm instances,
    /// and their slots of the pool.
    fn drop(&mut self) {
        self.warm.remove(self.id);
    }
}

/// A loaded, validated component, ready to call. Cheap to clone; safe to
/// call from several threads at once (each call gets its own instance).
///
/// Calls are synchronous and CPU-bound up to the deadline: make them from
/// a blocking thread (`spawn_blocking` or a worker), not from an async
/// task. (WASI's stdio, which a panicking guest writes to, blocks on
/// tokio internally and must not run on a runtime worker thread.)
#[derive(Clone)]
pub struct Extension(Arc<Inner>);

impl fmt::Debug for Extension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Extension")
            .field("name", &self.0.name)
            .field("world", &self.world())
            .field("hash", &self.0.prepared.hash)
            .finish_non_exhaustive()
    }
}

impl Extension {
    /// The world it implements.
    pub fn world(&self) -> World {
        self.0.prepared.pre.world()
    }

    /// The sha256 of the component, in hex.
    pub fn hash(&self) -> &str {
        &self.0.prepared.hash
    }

    /// Warm instances kept for reuse.
    pub fn warm_instances(&self) -> usize {
        self.0.warm.count(self.0.id)
    }

    /// Runs a calculated field: `compute` for `entity`, with the values of
    /// its arguments (in the order of `field.argument_names`) and the event
    /// time, on an instance that `init` set up with `field`. The outputs
    /// are checked (size, keys, finite numbers, JSON) before they are
    /// returned.
    pub fn compute(
        &self,
        host: &Arc<dyn GuestHost>,
        scope: &AccessScope,
        entity: EntityRef,
        field: &FieldSetup,
        arguments: &[ArgumentValue],
        now_ms: i64,
    ) -> Result<Vec<Output>, WasmError> {
        self.expect(World::CalculatedField)?;
        if arguments.len() != field.argument_names.len() {
            return Err(WasmError::Arguments {
                names: field.argument_names.len(),
                values: arguments.len(),
            });
        }
        let entity = entity.to_wit();
        let init = Init {
            settings: &field.settings_json,
            argument_names: &field.argument_names,
        };
        self.call(
            host,
            scope,
            init,
            |store, instance| match instance {
                Instance::CalculatedField(cf) => cf.call_compute(store, &entity, arguments, now_ms),
                Instance::CustomerLogic(_) => unreachable_world(),
            },
            |state, outputs: &Vec<Output>| {
                validate::check_outputs(outputs, &mut state.call.budget).map_err(|r| match r {
                    Refusal::TooLarge(m) => WasmError::OutputTooLarge(m),
                    Refusal::Invalid(m) => WasmError::InvalidOutput(m),
                })
            },
        )
    }

    /// Customer logic: new telemetry of `entity`. `settings_json` is the
    /// binding's settings, given to `init` when a new instance starts.
    pub fn on_telemetry(
        &self,
        host: &Arc<dyn GuestHost>,
        scope: &AccessScope,
        settings_json: &str,
        entity: EntityRef,
        values: &[TsKv],
    ) -> Result<(), WasmError> {
        let entity = entity.to_wit();
        self.handle(host, scope, settings_json, |store, cl| {
            cl.call_on_telemetry(store, &entity, values)
        })
    }

    /// Customer logic: attributes of `entity` changed.
    pub fn on_attributes_changed(
        &self,
        host: &Arc<dyn GuestHost>,
        scope: &AccessScope,
        settings_json: &str,
        entity: EntityRef,
        attribute_scope: AttributeScope,
        values: &[KeyValue],
    ) -> Result<(), WasmError> {
        let entity = entity.to_wit();
        self.handle(host, scope, settings_json, |store, cl| {
            cl.call_on_attributes_changed(store, &entity, attribute_scope, values)
        })
    }

    /// Customer logic: a lifecycle event of `entity`.
    pub fn on_lifecycle(
        &self,
        host: &Arc<dyn GuestHost>,
        scope: &AccessScope,
        settings_json: &str,
        entity: EntityRef,
        event: LifecycleEvent,
    ) -> Result<(), WasmError> {
        let entity = entity.to_wit();
        self.handle(host, scope, settings_json, |store, cl| {
            cl.call_on_lifecycle(store, &entity, event)
        })
    }

    /// Instantiates the component from its pre-instantiated form and throws
    /// the instance away: checks that it starts, and lets a benchmark time
    /// instantiation alone.
    pub fn instantiate_once(&self) -> Result<(), WasmError> {
        let _busy = self.0.engine.busy();
        let key = WarmKey {
            tenant: uuid::Uuid::nil(),
            customer: None,
            settings: "",
            argument_names: &[],
        };
        self.instantiate(key).map(drop)
    }

    fn expect(&self, called: World) -> Result<(), WasmError> {
        let actual = self.world();
        if actual != called {
            return Err(WasmError::WrongWorld { called, actual });
        }
        Ok(())
    }

    fn handle(
        &self,
        host: &Arc<dyn GuestHost>,
        scope: &AccessScope,
        settings_json: &str,
        f: impl FnOnce(
            &mut Store<HostState>,
            &CustomerLogic,
        ) -> wasmtime::Result<Result<(), GuestError>>,
    ) -> Result<(), WasmError> {
        self.expect(World::CustomerLogic)?;
        let init = Init {
            settings: settings_json,
            argument_names: &[],
        };
        self.call(
            host,
            scope,
            init,
            |store, instance| match instance {
                Instance::CustomerLogic(cl) => f(store, cl),
                Instance::CalculatedField(_) => unreachable_world(),
            },
            |_, _| Ok(()),
        )
    }

    /// One guest call: take a warm instance of this scope and `init` or
    /// start one and call its `init`, run `f` under the deadline, classify
    /// what went wrong, `check` the result, and keep the instance only if
    /// all went well.
    fn call<R>(
        &self,
        host: &Arc<dyn GuestHost>,
        scope: &AccessScope,
        init: Init<'_>,
        f: impl FnOnce(&mut Store<HostState>, &Instance) -> wasmtime::Result<Result<R, GuestError>>,
        check: impl FnOnce(&mut HostState, &R) -> Result<(), WasmError>,
    ) -> Result<R, WasmError> {
        let inner = &*self.0;
        let _busy = inner.engine.busy();
        let key = WarmKey {
            tenant: scope.tenant_id,
            customer: scope.customer_id,
            settings: init.settings,
            argument_names: init.argument_names,
        };
        let (mut warm, fresh) = match self.take_warm(key) {
            Some(warm) => (warm, false),
            None => (self.instantiate(key)?, true),
        };
        let store = &mut warm.store;
        store.data_mut().begin_call(host.clone(), scope);
        store.set_epoch_deadline(1);

        let initialised = match (&warm.instance, fresh) {
            (_, false) => Ok(Ok(())),
            (Instance::CustomerLogic(cl), true) => cl.call_init(&mut *store, init.settings),
            (Instance::CalculatedField(cf), true) => {
                cf.call_init(&mut *store, init.settings, init.argument_names)
            }
        };
        let result = match initialised {
            Ok(Ok(())) => f(store, &warm.instance),
            Ok(Err(e)) => Ok(Err(e)),
            Err(e) => Err(e),
        };
        let outcome = self.classify(result, store.data()).and_then(|r| {
            check(store.data_mut(), &r)?;
            Ok(r)
        });
        store.data_mut().end_call();
        if outcome.is_ok() {
            self.put_warm(warm);
        }
        outcome
    }

    /// A new store and instance. When the engine's pool is full, warm
    /// instances (of any extension) make room, least recently used first.
    fn instantiate(&self, key: WarmKey<'_>) -> Result<Warm, WasmError> {
        let mut retries = 0;
        loop {
            match self.try_instantiate(key) {
                Err(Instantiation::PoolFull(_)) if retries < POOL_FULL_RETRIES => {
                    retries += 1;
                    self.0.warm.evict_one();
                }
                Err(Instantiation::PoolFull(e)) => {
                    return Err(WasmError::Instantiate(format!("{e:#}")));
                }
                Err(Instantiation::Failed(e)) => return Err(e),
                Ok(warm) => return Ok(warm),
            }
        }
    }

    /// A new store and instance, under the deadline (instantiation runs
    /// guest code: start functions, data initialisation).
    fn try_instantiate(&self, key: WarmKey<'_>) -> Result<Warm, Instantiation> {
        let inner = &*self.0;
        let mut store = Store::new(
            inner.engine.engine(),
            HostState::new(&inner.limits, &inner.name, inner.engine.config().tick),
        );
        store.limiter(|s| &mut s.limiter);
        store.epoch_deadline_callback(|mut s| Ok(s.data_mut().deadline.on_tick()));
        store.set_epoch_deadline(1);
        let instance = match &inner.prepared.pre {
            Pre::CalculatedField(pre) => pre.instantiate(&mut store).map(Instance::CalculatedField),
            Pre::CustomerLogic(pre) => pre.instantiate(&mut store).map(Instance::CustomerLogic),
        };
        match instance {
            Ok(instance) => Ok(Warm {
                key: key.to_owned(),
                store,
                instance,
            }),
            // A trap while starting is the guest's; anything else (the
            // instance pool is full) is the host's.
            Err(e) if e.downcast_ref::<Trap>().is_some() || store.data().limiter.hit => {
                Err(Instantiation::Failed(self.trap_error(e, store.data())))
            }
            Err(e) if e.is::<PoolConcurrencyLimitError>() => Err(Instantiation::PoolFull(e)),
            Err(e) => Err(Instantiation::Failed(WasmError::Instantiate(format!(
                "{e:#}"
            )))),
        }
    }

    fn classify<R>(
        &self,
        result: wasmtime::Result<Result<R, GuestError>>,
        state: &HostState,
    ) -> Result<R, WasmError> {
        match result {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => Err(WasmError::Guest(e)),
            Err(e) => Err(self.trap_error(e, state)),
        }
    }

    fn trap_error(&self, err: wasmtime::Error, state: &HostState) -> WasmError {
        match err.downcast_ref::<LimitReached>() {
            Some(LimitReached::HostCalls) => {
                return WasmError::HostCallLimit(self.0.limits.max_host_calls);
            }
            Some(LimitReached::Bytes(m)) => return WasmError::OutputTooLarge(m.clone()),
            None => {}
        }
        if state.limiter.hit {
            return WasmError::OutOfMemory(state.limiter.cap);
        }
        if let Some(exit) = err.downcast_ref::<wasmtime_wasi::I32Exit>() {
            return WasmError::Trap(format!("the guest exited with status {}", exit.0));
        }
        let message = match err.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => return WasmError::Timeout(self.0.limits.deadline),
            Some(trap) => trap.to_string(),
            None => format!("{err:#}"),
        };
        // A Rust guest's panic message is on its stderr.
        let stderr = state.stderr.contents();
        let stderr = String::from_utf8_lossy(&stderr[stderr.len().saturating_sub(1024)..]);
        let stderr = stderr.trim();
        if stderr.is_empty() {
            WasmError::Trap(message)
        } else {
            WasmError::Trap(format!("{message}; guest stderr: {stderr}"))
        }
    }

    fn take_warm(&self, key: WarmKey<'_>) -> Option<Warm> {
        self.0.warm.take(self.0.id, key)
    }

    fn put_warm(&self, instance: Warm) {
        // An instance whose stderr is filling up would trap once it is
        // full; start afresh instead.
        if instance.store.data().stderr.contents().len() > STDERR_BYTES / 2 {
            return;
        }
        self.0.warm.put(self.0.id, instance);
    }
}

/// What a new instance's `init` is given (customer logic: no argument
/// names); with the caller's tenant and customer, the key of the warm
/// instances that may serve the call.
#[derive(Clone, Copy)]
struct Init<'a> {
    settings: &'a str,
    argument_names: &'a [String],
}

/// Why an instantiation failed: the pool was full (worth a retry once a
/// warm instance is gone), or anything else.
enum Instantiation {
    PoolFull(wasmtime::Error),
    Failed(WasmError),
}

fn unreachable_world<R>() -> wasmtime::Result<R> {
    // `expect` checked the world before the call; an instance of the other
    // world cannot be in this extension's pool.
    Err(wasmtime::Error::msg("instance of the wrong world"))
}
