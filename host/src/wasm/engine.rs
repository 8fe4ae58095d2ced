//! The one wasmtime engine: component model, epoch deadlines, pooling.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig};

use super::limits::Limits;

/// How the engine is sized. The defaults fit a small edge device: a few
/// dozen live instances, each with a small virtual-memory reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineConfig {
    /// Interval of the epoch ticker: the granularity of call deadlines.
    /// The ticker runs only while a call is in progress.
    pub tick: Duration,
    /// Instances alive at once (warm and running), across all components.
    /// Instantiating past it fails rather than taking more memory. Half of
    /// them at most are kept warm between calls, and a warm instance is
    /// thrown away when a call needs its slot.
    pub max_instances: u32,
    /// Linear memory per instance the pool is built for; every
    /// [`Limits::memory_bytes`] used with this engine must fit in it.
    pub max_memory_bytes: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            // Deadlines are tens of milliseconds: 10 ms is plenty fine, and
            // a fifth of the wake-ups of a 2 ms tick.
            tick: Duration::from_millis(10),
            max_instances: 64,
            max_memory_bytes: Limits::default().memory_bytes,
        }
    }
}

/// A wasmtime [`Engine`] configured for Clientele's guests, plus the thread
/// that advances its epoch so that a call's deadline can stop it (while
/// calls hold a [`Busy`] guard).
///
/// Cloning shares the engine and the ticker; the ticker stops when the last
/// clone is dropped.
#[derive(Clone)]
pub struct WasmEngine {
    engine: Engine,
    config: EngineConfig,
    ticker: Arc<Ticker>,
}

impl std::fmt::Debug for WasmEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmEngine")
            .field("config", &self.config)
            .finish()
    }
}

/// Core wasm instances of one component: the guest's module plus the
/// shims wit-component adds (typically 3 or 4; room for more).
const CORE_INSTANCES_PER_COMPONENT: u32 = 8;
/// Tables per component: the guest's and the shims' indirect tables.
const TABLES_PER_COMPONENT: u32 = 4;
/// Guard pages after each linear memory. Small, because the reservation is
/// small too: bounds are then checked in code instead of by a 4 GiB guard,
/// which an edge device's address space may not afford for 64 slots.
const MEMORY_GUARD_BYTES: u64 = 64 << 10;
const WASM_PAGE: usize = 64 << 10;

impl WasmEngine {
    /// Builds the engine and starts its epoch ticker.
    pub fn new(config: EngineConfig) -> wasmtime::Result<Self> {
        let memory = config.max_memory_bytes.div_ceil(WASM_PAGE) * WASM_PAGE;
        let n = config.max_instances.max(1);

        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(n)
            .total_core_instances(n * CORE_INSTANCES_PER_COMPONENT)
            .max_core_instances_per_component(CORE_INSTANCES_PER_COMPONENT)
            .total_memories(n)
            .max_memories_per_component(1)
            .total_tables(n * TABLES_PER_COMPONENT)
            .max_tables_per_component(TABLES_PER_COMPONENT)
            // Calls are synchronous: async fiber stacks are never used.
            .total_stacks(1)
            .max_memory_size(memory)
            // Decommitted slots are re-zeroed lazily; keep a few warm ones so
            // that instantiation mostly reuses already-mapped pages.
            .max_unused_warm_slots(n.min(16));

        let mut wasm = Config::new();
        wasm.wasm_component_model(true)
            .epoch_interruption(true)
            .cranelift_opt_level(OptLevel::Speed)
            .parallel_compilation(true)
            .memory_reservation(memory as u64)
            .memory_reservation_for_growth(0)
            .memory_guard_size(MEMORY_GUARD_BYTES)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&wasm)?;
        let ticker = Ticker::start(&engine, config.tick)?;
        Ok(WasmEngine {
            engine,
            config,
            ticker: Arc::new(ticker),
        })
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// How it was configured.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Keeps the epoch ticking until the guard is dropped. Anything that
    /// runs guest code under a deadline (instantiation, calls) must hold
    /// one, or the deadline never comes.
    pub(crate) fn busy(&self) -> Busy<'_> {
        let shared = &*self.ticker.shared;
        // Only a waiting ticker is woken: a notify is a system call, and a
        // warm call costs about two microseconds in all. The ticker sets
        // `waiting` before it looks at `busy`, and this looks at `waiting`
        // after raising `busy` (both SeqCst), so at least one of the two
        // sees the other: the ticker does not wait, or it is woken.
        if shared.busy.fetch_add(1, Ordering::SeqCst) == 0 && shared.waiting.load(Ordering::SeqCst)
        {
            // Under the lock, so that the wake-up cannot fall between the
            // ticker's look at `busy` and its wait.
            let _stop = shared.stop.lock().unwrap_or_else(PoisonError::into_inner);
            shared.wake.notify_one();
        }
        Busy(shared)
    }
}

/// A call in progress; see [`WasmEngine::busy`].
pub(crate) struct Busy<'a>(&'a TickerShared);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A thread that calls [`Engine::increment_epoch`] every tick while any
/// call is in progress, and sleeps otherwise: an idle service does not
/// wake up a hundred times a second for nothing. Stops when dropped.
struct Ticker {
    shared: Arc<TickerShared>,
    thread: Option<JoinHandle<()>>,
}

struct TickerShared {
    /// Calls in progress: [`Busy`] guards alive.
    busy: AtomicUsize,
    /// The ticker is (about to be) waiting for a call.
    waiting: AtomicBool,
    /// Set when the ticker must stop.
    stop: Mutex<bool>,
    /// Wakes the ticker: a first call began, or it must stop.
    wake: Condvar,
}

impl Ticker {
    fn start(engine: &Engine, tick: Duration) -> wasmtime::Result<Self> {
        let shared = Arc::new(TickerShared {
            busy: AtomicUsize::new(0),
            waiting: AtomicBool::new(false),
            stop: Mutex::new(false),
            wake: Condvar::new(),
        });
        // A weak handle: the ticker must not keep the engine alive.
        let weak = engine.weak();
        let ticker = shared.clone();
        let thread = thread::Builder::new()
            .name("wasm-epoch".into())
            .spawn(move || {
                loop {
                    let mut stop = ticker.stop.lock().unwrap_or_else(PoisonError::into_inner);
                    ticker.waiting.store(true, Ordering::SeqCst);
                    while !*stop && ticker.busy.load(Ordering::SeqCst) == 0 {
                        stop = ticker
                            .wake
                            .wait(stop)
                            .unwrap_or_else(PoisonError::into_inner);
                    }
                    ticker.waiting.store(false, Ordering::SeqCst);
                    if *stop {
                        break;
                    }
                    drop(stop);
                    thread::sleep(tick);
                    match weak.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })?;
        Ok(Ticker {
            shared,
            thread: Some(thread),
        })
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        *self
            .shared
            .stop
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
