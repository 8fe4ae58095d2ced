//! WebAssembly extensions: guests that run next to the data, under limits.
//!
//! A guest is a WebAssembly component implementing one of the worlds of the
//! WIT package `clientele:platform@0.3.0` (`wit/`): a calculated field or
//! customer logic. This module is the host side:
//!
//! - [`WasmEngine`] (`engine`): one wasmtime engine, component model,
//!   epoch deadlines, pooling allocator.
//! - [`ComponentCache`] (`cache`): compiled code on disk, keyed by content
//!   hash and engine.
//! - [`Limits`] (`limits`): deadline, memory, output size, host calls;
//!   the deadline counts CPU time, not time spent waiting for a CPU
//!   (`deadline`).
//! - [`GuestHost`] and [`AccessScope`] (`host_api`): what the service gives
//!   guests, and who may see what.
//! - [`Runtime`] and [`Extension`] (`runtime`): load and validate a
//!   component, call it, turn every failure into a [`WasmError`].
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use clientele::wasm::*;
//! # fn demo(host: Arc<dyn GuestHost>, bytes: &[u8], tenant: uuid::Uuid, customer: uuid::Uuid, device: uuid::Uuid) -> anyhow::Result<()> {
//! let runtime = Runtime::new(WasmEngine::new(EngineConfig::default())?, None)?;
//! let field = runtime.load("dew-point", bytes, Limits::default())?;
//! let scope = AccessScope::for_entity(tenant, Some(customer), EntityRef::device(device));
//! let setup = FieldSetup { settings_json: "{}".into(), argument_names: vec![] };
//! let outputs = field.compute(&host, &scope, EntityRef::device(device), &setup, &[], 0)?;
//! # Ok(()) }
//! ```

mod bindings;
mod cache;
mod deadline;
mod engine;
mod error;
mod host_api;
mod limits;
mod runtime;
mod state;
mod validate;
mod warm;

pub use bindings::WIT_PACKAGE;
pub use bindings::calculated_field::{ArgumentValue, Output, OutputTarget};
pub use bindings::customer_logic::LifecycleEvent;
pub use bindings::types::{
    AlarmSeverity, AttributeScope, Error as GuestError, KeyValue, TsKv, TsValue, Value,
};
pub use cache::ComponentCache;
pub use engine::{EngineConfig, WasmEngine};
pub use error::{LoadError, WasmError};
pub use host_api::{AccessScope, EntityKind, EntityRef, GuestHost, LogLevel, Owner};
pub use limits::Limits;
pub use runtime::{Extension, FieldSetup, Runtime, World};
