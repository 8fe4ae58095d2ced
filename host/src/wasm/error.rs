//! What can go wrong loading a component and calling a guest.

use std::time::Duration;

use super::bindings::WIT_PACKAGE;
use super::bindings::types::Error as GuestError;
use super::runtime::World;

/// Why a component was refused. Each message says what to do about it,
/// since it goes back to whoever uploaded the component.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("the component is {size} bytes, more than the {max} allowed")]
    TooLarge { size: usize, max: usize },
    #[error("not a WebAssembly file")]
    NotWasm,
    #[error(
        "a core WebAssembly module, not a component: build for wasm32-wasip2 \
         (or wrap it with `wasm-tools component new`)"
    )]
    CoreModule,
    #[error("not a valid component: {0}")]
    Invalid(String),
    #[error(
        "implements neither Clientele world: a calculated-field exports `init` and \
         `compute`, customer-logic exports `init`, `on-telemetry`, `on-attributes-changed` and \
         `on-lifecycle`; this component exports [{exports}]"
    )]
    UnknownWorld { exports: String },
    #[error("does not match the {world} world of {package}: {reason}", package = WIT_PACKAGE)]
    WorldMismatch { world: World, reason: String },
    #[error(
        "is built against {found}; this host serves {package} only: rebuild the component \
         against it (wit/README.md lists what changed)",
        package = WIT_PACKAGE
    )]
    OtherPackageVersion { found: String },
    #[error(
        "imports something the {world} world does not offer (no files, sockets, clocks, \
         randomness or environment): {reason}"
    )]
    UnsupportedImport { world: World, reason: String },
}

/// Why a guest call failed. The guest's instance is thrown away after any
/// of these; the engine and every other guest carry on.
#[derive(Debug, thiserror::Error)]
pub enum WasmError {
    #[error("the guest ran past its deadline of {0:?} of CPU time")]
    Timeout(Duration),
    #[error("the guest ran out of memory (cap: {0} bytes)")]
    OutOfMemory(usize),
    #[error("the guest trapped: {0}")]
    Trap(String),
    #[error("the guest's output is too large: {0}")]
    OutputTooLarge(String),
    #[error("the guest's output is invalid: {0}")]
    InvalidOutput(String),
    #[error("the guest made more than {0} host calls")]
    HostCallLimit(u32),
    #[error("the guest failed: {0:?}")]
    Guest(GuestError),
    #[error("{values} argument values for {names} argument names")]
    Arguments { names: usize, values: usize },
    #[error("this extension is {actual}, not {called}")]
    WrongWorld { called: World, actual: World },
    #[error("could not instantiate the guest: {0}")]
    Instantiate(String),
}
