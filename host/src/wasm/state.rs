//! What a guest's store holds: the per-call context the host functions
//! use, the memory limiter, and the minimal WASI that Rust's std needs.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::{HasData, Linker, ResourceTable};
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::deadline::CallDeadline;
use super::host_api::{AccessScope, GuestHost};
use super::limits::Limits;
use super::validate::Budget;

/// Bytes of a guest's stderr kept, for the message of a panic. A guest
/// writing more traps; a warm instance that wrote much is not reused.
pub(crate) const STDERR_BYTES: usize = 8 << 10;

/// The data of one guest's `Store`.
pub struct HostState {
    pub(crate) call: CallState,
    /// The deadline of the call in progress (or of the instantiation).
    pub(crate) deadline: CallDeadline,
    /// The limits of the extension the store belongs to.
    pub(crate) limits: Limits,
    /// Name of the extension, for log lines.
    pub(crate) extension: String,
    pub(crate) limiter: MemoryLimiter,
    pub(crate) stderr: MemoryOutputPipe,
    wasi: WasiCtx,
    table: ResourceTable,
}

/// The context of the invocation in progress, set by [`HostState::begin_call`].
pub(crate) struct CallState {
    /// The service, during a call only (see [`HostState::end_call`]).
    /// Host calls outside one, from a start function while the instance
    /// is being created, are refused.
    pub(crate) host: Option<Arc<dyn GuestHost>>,
    pub(crate) scope: AccessScope,
    pub(crate) host_calls: u32,
    pub(crate) budget: Budget,
}

impl HostState {
    /// `tick`: the engine's epoch tick, the granularity of the deadline.
    pub(crate) fn new(limits: &Limits, extension: &str, tick: Duration) -> Self {
        let stderr = MemoryOutputPipe::new(STDERR_BYTES);
        // Nothing beyond what std needs to start: no preopened directories,
        // no environment, no arguments, closed stdin, stdout discarded,
        // no network. Clocks and randomness are not even linked (see
        // `add_wasi_to_linker`).
        let wasi = WasiCtx::builder()
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        HostState {
            // No call yet: no host, a scope that allows nothing, no budget.
            call: CallState {
                host: None,
                scope: AccessScope {
                    tenant_id: uuid::Uuid::nil(),
                    customer_id: None,
                    entities: Vec::new(),
                    customer_entities: false,
                },
                host_calls: 0,
                budget: Budget::new(0),
            },
            deadline: CallDeadline::new(limits.deadline, tick),
            limits: *limits,
            extension: extension.to_owned(),
            limiter: MemoryLimiter::new(limits.memory_bytes),
            stderr,
            wasi,
            table: ResourceTable::new(),
        }
    }

    /// Prepares for a call on behalf of `host` within `scope`.
    pub(crate) fn begin_call(&mut self, host: Arc<dyn GuestHost>, scope: &AccessScope) {
        let call = &mut self.call;
        call.host = Some(host);
        // A warm instance mostly serves the scope of its last call again:
        // compared, not copied, on every call.
        if call.scope != *scope {
            call.scope = scope.clone();
        }
        call.host_calls = 0;
        call.budget = Budget::new(self.limits.max_output_bytes);
        self.deadline.reset();
    }

    /// Lets go of the host, so a warm instance does not keep the service's
    /// handles alive between calls.
    pub(crate) fn end_call(&mut self) {
        self.call.host = None;
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// The store's memory cap: wasmtime's [`StoreLimits`], remembering whether
/// it refused a growth so that the trap that follows reads as
/// out-of-memory rather than as a crash.
pub(crate) struct MemoryLimiter {
    limits: StoreLimits,
    pub(crate) cap: usize,
    pub(crate) hit: bool,
}

impl MemoryLimiter {
    fn new(cap: usize) -> Self {
        MemoryLimiter {
            // How many instances, tables and memories a component may have
            // is the engine's pool's to say (`engine.rs`), not repeated here.
            limits: StoreLimitsBuilder::new()
                .memory_size(cap)
                .table_elements(100_000)
                // Trap at the failed memory.grow instead of letting the
                // guest's allocator abort somewhere less clear.
                .trap_on_grow_failure(true)
                .build(),
            cap,
            hit: false,
        }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let answer = self.limits.memory_growing(current, desired, maximum);
        if !matches!(answer, Ok(true)) {
            self.hit = true;
        }
        answer
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

/// `HasData` for the WASI interfaces that only need the resource table.
struct HasTable;

impl HasData for HasTable {
    type Data<'a> = &'a mut ResourceTable;
}

/// Links the WASI 0.2 interfaces that Rust's std for wasm32-wasip2 imports
/// even when unused (streams for stderr, environment, exit, stdio and
/// terminals), all over the empty context of [`HostState::new`].
///
/// Deliberately not linked: clocks, random, filesystem, sockets. A
/// component importing them fails to instantiate with the import's name,
/// so a guest has no ambient clock or randomness at all: time comes from
/// the event.
pub(crate) fn add_wasi_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    use wasmtime_wasi::cli::{WasiCli, WasiCliView};
    use wasmtime_wasi::p2::bindings::cli;
    use wasmtime_wasi::p2::bindings::sync::io;

    let l = linker;
    io::error::add_to_linker::<HostState, HasTable>(l, |s| &mut s.table)?;
    io::poll::add_to_linker::<HostState, HasTable>(l, |s| &mut s.table)?;
    io::streams::add_to_linker::<HostState, HasTable>(l, |s| &mut s.table)?;
    cli::environment::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::exit::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::stdin::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::stdout::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::stderr::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::terminal_input::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::terminal_output::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::terminal_stdin::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::terminal_stdout::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::terminal_stderr::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    Ok(())
}
