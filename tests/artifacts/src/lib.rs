//! Paths of the compiled example and test guests, for the host's tests and
//! benchmarks.
//!
//! The build script compiles `guest/` and `tests/guests/` for
//! wasm32-wasip2, so a plain `cargo test` builds them: there is no `.wasm`
//! in the repository. Each constant is the absolute path of one component,
//! named after its crate (`dew-point` → [`DEW_POINT`]).

include!(concat!(env!("OUT_DIR"), "/artifacts.rs"));
