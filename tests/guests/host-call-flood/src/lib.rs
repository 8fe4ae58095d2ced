//! Calculated field that calls the host `times` times (default a million),
//! ignoring every error, chosen by settings `{"call": ..., "times": n}`:
//! `"log"` (default) or `"read"` (the latest telemetry of its own entity).
//! The host's cap on host calls per invocation must stop it at the first
//! call past the cap, and let it finish within the cap. Host setup: the
//! entity the field runs for is in scope.

use clientele_guest::Field;
use clientele_guest::calculated_field::{ArgumentValue, Output};
use clientele_guest::data;
use clientele_guest::types::{EntityId, Error};

struct HostCallFlood {
    read: bool,
    times: u64,
}

impl Field for HostCallFlood {
    fn init(settings_json: &str, _: Vec<String>) -> Result<Self, Error> {
        let settings: serde_json::Value = clientele_guest::settings(settings_json)?;
        Ok(HostCallFlood {
            read: settings["call"].as_str() == Some("read"),
            times: settings["times"].as_u64().unwrap_or(1_000_000),
        })
    }

    fn compute(
        &self,
        entity: EntityId,
        _: Vec<ArgumentValue>,
        _: i64,
    ) -> Result<Vec<Output>, Error> {
        for i in 0..self.times {
            if self.read {
                let _ = data::read_latest(&entity, &[]);
            } else {
                clientele_guest::log!(Info, "call {i}");
            }
        }
        Ok(vec![])
    }
}

clientele_guest::export_field!(HostCallFlood);
