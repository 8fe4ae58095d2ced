//! Calculated field that reads the device named in its settings,
//! `{"device": "<uuid>", "what": "latest" | "attributes"}`, and returns
//! whatever it got as outputs, or the host's error as its own. Given
//! another customer's device, the host must answer `access-denied` and the
//! data must never come back. Host setup: an access scope without that
//! device. (Writing is `write-other`'s: a calculated field cannot.)

use clientele_guest::Field;
use clientele_guest::calculated_field::{ArgumentValue, Output};
use clientele_guest::data;
use clientele_guest::types::AttributeScope;
use clientele_guest::types::{EntityId, Error};

struct ReadOther {
    device: EntityId,
    what: String,
}

impl Field for ReadOther {
    fn init(settings_json: &str, _: Vec<String>) -> Result<Self, Error> {
        let settings: serde_json::Value = clientele_guest::settings(settings_json)?;
        Ok(ReadOther {
            device: EntityId::device(settings["device"].as_str().unwrap_or_default()),
            what: settings["what"].as_str().unwrap_or("latest").to_owned(),
        })
    }

    fn compute(&self, _: EntityId, _: Vec<ArgumentValue>, _: i64) -> Result<Vec<Output>, Error> {
        let points = match self.what.as_str() {
            "latest" => data::read_latest(&self.device, &[])?,
            "attributes" => data::read_attributes(&self.device, AttributeScope::Server, &[])?,
            other => return Err(Error::invalid(format!("unknown what {other}"))),
        };
        Ok(points
            .into_iter()
            .map(|p| Output::telemetry(format!("stolen-{}", p.key), p.value))
            .collect())
    }
}

clientele_guest::export_field!(ReadOther);
