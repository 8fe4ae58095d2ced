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
    /// CPU time one call (or one instantiation) may use before it is
    /// stopped; time spent waiting for a CPU does not count, and wall time
    /// is capped at ten times this. Checked at every tick of the engine's
    /// epoch: a call is stopped between one tick before and one tick after
    /// it has used this much (see `deadline.rs`).
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
