//! The one `bindgen!` of the WIT package (`wit/` at the repository root):
//! host-side Rust types, host traits to implement and typed calls into
//! guests, for both worlds.
//!
//! Every import is `trappable`: a host function returns
//! `wasmtime::Result<Result<T, Error>>`, where the inner `Err` is what the
//! guest sees (`access-denied`, `invalid-argument`, ...) and the outer one
//! ends the invocation (a per-invocation limit crossed, a host bug).

/// The package these bindings are built from: the only one whose
/// components load.
pub const WIT_PACKAGE: &str = "clientele:platform@0.3.0";

/// The `calculated-field` world, and the interfaces it shares with
/// `customer-logic` (`types`, `data`, `log`).
pub mod calculated_field {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "calculated-field",
        imports: { default: trappable },
        additional_derives: [PartialEq],
    });
}

/// The `customer-logic` world: the interfaces of [`calculated_field`] (the
/// same Rust types, so one host implementation serves both) plus
/// `data-write` and `alarms`.
pub mod customer_logic {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "customer-logic",
        imports: { default: trappable },
        additional_derives: [PartialEq],
        with: {
            "clientele:platform/types": super::calculated_field::clientele::platform::types,
            "clientele:platform/data": super::calculated_field::clientele::platform::data,
            "clientele:platform/log": super::calculated_field::clientele::platform::log,
        },
    });
}

pub use calculated_field::clientele::platform::{data, log, types};
pub use customer_logic::clientele::platform::{alarms, data_write};
