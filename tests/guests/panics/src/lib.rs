//! Calculated field that panics with the message "guest gave up on
//! purpose". The host sees a trap; the message reaches the host through
//! the guest's stderr. Host setup: none.

use clientele_guest::calculated_field::{Argument, Guest, Output};
use clientele_guest::types::{EntityId, Error};

struct Panics;

impl Guest for Panics {
    fn compute(_: EntityId, _: String, _: Vec<Argument>, _: i64) -> Result<Vec<Output>, Error> {
        panic!("guest gave up on purpose");
    }
}

clientele_guest::export_calculated_field!(Panics);
