//! Calculated field that recurses without end. Whichever runs out first,
//! the wasm stack or Rust's shadow stack in linear memory, the call must
//! end in a trap and the host must carry on. Host setup: none.

use clientele_guest::calculated_field::{ArgumentValue, Guest, Output};
use clientele_guest::types::{EntityId, Error};

/// Not a tail call and with an address-taken local, so LLVM can neither
/// turn it into a loop nor keep the frame out of memory.
#[inline(never)]
fn down(depth: u64) -> u64 {
    let mut frame = [depth; 8];
    std::hint::black_box(&mut frame);
    if depth == u64::MAX {
        return 0;
    }
    down(depth + 1) ^ frame[3]
}

struct DeepRecursion;

impl Guest for DeepRecursion {
    fn init(_: String, _: Vec<String>) -> Result<(), Error> {
        Ok(())
    }

    fn compute(_: EntityId, _: Vec<ArgumentValue>, _: i64) -> Result<Vec<Output>, Error> {
        let n = down(std::hint::black_box(0));
        Ok(vec![Output::telemetry("depth", n as i64)])
    }
}

clientele_guest::export_calculated_field!(DeepRecursion);
