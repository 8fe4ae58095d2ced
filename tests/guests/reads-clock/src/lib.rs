//! Calculated field that reads the wall clock. The host links no clock, so
//! this component must be refused when it is loaded, naming the missing
//! import. Host setup: none.

use clientele_guest::calculated_field::{ArgumentValue, Guest, Output};
use clientele_guest::types::{EntityId, Error};

struct ReadsClock;

impl Guest for ReadsClock {
    fn init(_: String, _: Vec<String>) -> Result<(), Error> {
        Ok(())
    }

    fn compute(_: EntityId, _: Vec<ArgumentValue>, _: i64) -> Result<Vec<Output>, Error> {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|e| Error::Internal(e.to_string()))?;
        Ok(vec![Output::telemetry(
            "now",
            since_epoch.as_millis() as i64,
        )])
    }
}

clientele_guest::export_calculated_field!(ReadsClock);
