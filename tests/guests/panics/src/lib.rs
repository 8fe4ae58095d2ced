//! Calculated field that panics with the message "guest gave up on
//! purpose": in `compute`, or in `init` with settings `{"in": "init"}`.
//! The host sees a trap; the message reaches the host through the guest's
//! stderr. Host setup: none.

use clientele_guest::calculated_field::{ArgumentValue, Guest, Output};
use clientele_guest::types::{EntityId, Error};

struct Panics;

impl Guest for Panics {
    fn init(settings_json: String, _: Vec<String>) -> Result<(), Error> {
        // The settings are a test's literal: no JSON parser for one match.
        if settings_json.replace(' ', "") == r#"{"in":"init"}"# {
            panic!("guest gave up on purpose");
        }
        Ok(())
    }

    fn compute(_: EntityId, _: Vec<ArgumentValue>, _: i64) -> Result<Vec<Output>, Error> {
        panic!("guest gave up on purpose");
    }
}

clientele_guest::export_calculated_field!(Panics);
