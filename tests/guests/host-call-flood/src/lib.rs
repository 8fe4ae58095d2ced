//! Calculated field that calls the host a million times, ignoring every
//! error, chosen by settings `{"call": ...}`: `"log"` (default) or
//! `"read"` (the latest telemetry of its own entity). The host's cap on
//! host calls per invocation must stop it. Host setup: the entity the
//! field runs for is in scope.

use clientele_guest::calculated_field::{Argument, Guest, Output};
use clientele_guest::data;
use clientele_guest::types::{EntityId, Error};

struct HostCallFlood;

impl Guest for HostCallFlood {
    fn compute(
        entity: EntityId,
        settings: String,
        _: Vec<Argument>,
        _: i64,
    ) -> Result<Vec<Output>, Error> {
        let settings: serde_json::Value =
            serde_json::from_str(&settings).map_err(|e| Error::invalid(e.to_string()))?;
        let read = settings["call"].as_str() == Some("read");
        for i in 0..1_000_000 {
            if read {
                let _ = data::read_latest(&entity, &[]);
            } else {
                clientele_guest::log!(Info, "call {i}");
            }
        }
        Ok(vec![])
    }
}

clientele_guest::export_calculated_field!(HostCallFlood);
