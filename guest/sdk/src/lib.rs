//! Write Clientele extensions in Rust.
//!
//! Bindings for the two worlds of the `clientele:platform@0.3.0` WIT package
//! (`wit/` at the root of the repository), plus a few helpers so that guest
//! code reads like the problem it solves.
//!
//! A calculated field sets itself up once per instance, from its settings
//! and its arguments' names, and then computes from the values alone:
//!
//! ```ignore
//! use clientele_guest::calculated_field::{ArgumentValue, Output};
//! use clientele_guest::types::{EntityId, Error};
//! use clientele_guest::{Arg, Field};
//!
//! struct Celsius {
//!     fahrenheit: Arg,
//! }
//!
//! impl Field for Celsius {
//!     fn init(_settings: &str, names: Vec<String>) -> Result<Self, Error> {
//!         Ok(Celsius { fahrenheit: Arg::find(&names, "fahrenheit")? })
//!     }
//!
//!     fn compute(&self, _entity: EntityId, args: Vec<ArgumentValue>, _now: i64)
//!         -> Result<Vec<Output>, Error>
//!     {
//!         let f = self.fahrenheit.number(&args)?;
//!         Ok(vec![Output::telemetry("celsius", (f - 32.0) / 1.8)])
//!     }
//! }
//!
//! clientele_guest::export_field!(Celsius);
//! ```
//!
//! (Implementing [`calculated_field::Guest`] and exporting it with
//! [`export_calculated_field!`] works too: [`Field`] is that, with the
//! state `init` builds kept for you.)
//!
//! Build with `cargo build --release --target wasm32-wasip2`: the `.wasm`
//! in `target/wasm32-wasip2/release/` is the component to upload.

mod field;
mod helpers;

/// Bindings of the `calculated-field` world: implement [`Field`] and
/// export it with [`export_field!`], or implement
/// [`calculated_field::Guest`] and export it with
/// [`export_calculated_field!`].
pub mod calculated_field {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "calculated-field",
        default_bindings_module: "clientele_guest::calculated_field",
        pub_export_macro: true,
        export_macro_name: "export_calculated_field",
        additional_derives: [PartialEq],
    });
}

/// Bindings of the `customer-logic` world: implement
/// [`customer_logic::Guest`] and export it with [`export_customer_logic!`].
///
/// The interfaces it shares with `calculated-field` are the same Rust types
/// (re-exported at the crate root), so helpers work for both. It also
/// imports [`data_write`] and [`alarms`], which a calculated field cannot.
pub mod customer_logic {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "customer-logic",
        default_bindings_module: "clientele_guest::customer_logic",
        pub_export_macro: true,
        export_macro_name: "export_customer_logic",
        additional_derives: [PartialEq],
        with: {
            "clientele:platform/types@0.3.0": crate::types,
            "clientele:platform/data@0.3.0": crate::data,
            "clientele:platform/log@0.3.0": crate::log,
        },
    });
}

/// Entity ids, values, the error type: `clientele:platform/types`.
pub use calculated_field::clientele::platform::types;

/// Read attributes and telemetry: `clientele:platform/data`.
pub use calculated_field::clientele::platform::data;

/// Save attributes and telemetry (customer logic only):
/// `clientele:platform/data-write`.
pub use customer_logic::clientele::platform::data_write;

/// Write to the host's log: `clientele:platform/log`. See also [`log!`].
pub use calculated_field::clientele::platform::log;

/// Raise and clear alarms (customer logic only): `clientele:platform/alarms`.
pub use customer_logic::clientele::platform::alarms;

pub use calculated_field::export_calculated_field;
pub use customer_logic::export_customer_logic;
pub use field::{Arg, Field};
#[cfg(feature = "serde")]
pub use helpers::settings;
