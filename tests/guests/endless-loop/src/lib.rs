//! Calculated field that never returns. The host's epoch deadline must end
//! the call with a timeout. Host setup: a deadline.

use clientele_guest::calculated_field::{ArgumentValue, Guest, Output};
use clientele_guest::types::{EntityId, Error};

struct EndlessLoop;

impl Guest for EndlessLoop {
    fn init(_: String, _: Vec<String>) -> Result<(), Error> {
        Ok(())
    }

    fn compute(_: EntityId, _: Vec<ArgumentValue>, _: i64) -> Result<Vec<Output>, Error> {
        loop {
            // black_box keeps the optimizer from reasoning the loop away.
            std::hint::black_box(());
        }
    }
}

clientele_guest::export_calculated_field!(EndlessLoop);
