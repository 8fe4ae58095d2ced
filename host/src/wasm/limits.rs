//! What one guest invocation may use.

use std::time::Duration;

/// Caps on one guest invocation (and on the component it runs).
///
/// The defaults suit calculated fields and customer logic on an edge
/// device: a fraction of a second, a few MiB, outputs the size of a
/// telemetry message. They are checked by the engine (deadline, memory),
/// by the host side of the imports (host calls), and on the guest's output
/// (output bytes) before anything is saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall time one call may run before it is stopped (epoch deadline).
    /// The engine's tick is the granularity: the deadline is rounded up to
    /// whole ticks, and since a call starts part-way through a tick it is
    /// stopped up to one tick earlier than that (see
    /// [`WasmEngine::deadline_ticks`](super::WasmEngine::deadline_ticks)).
    pub deadline: Duration,
    /// Linear memory one instance may grow to, in bytes.
    pub memory_bytes: usize,
    /// Size of what one call returns or saves, in bytes: keys and values,
    /// plus 16 bytes per entry so that a million empty outputs count too.
    pub max_output_bytes: usize,
    /// Host calls (reads, writes, alarms, log lines) one call may make.
    pub max_host_calls: u32,
    /// Size of a component file, in bytes.
    pub max_component_bytes: usize,
}

/// Bytes one output counts for on top of its key and value (see
/// [`Limits::max_output_bytes`]).
pub(crate) const OUTPUT_ENTRY_OVERHEAD: usize = 16;

/// Longest log message kept; longer ones are cut.
pub(crate) const MAX_LOG_MESSAGE_BYTES: usize = 1024;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            deadline: Duration::from_millis(100),
            memory_bytes: 32 << 20,
            max_output_bytes: 1 << 20,
            max_host_calls: 1_000,
            max_component_bytes: 8 << 20,
        }
    }
}
