//! Calculated field that reads the device named in its settings,
//! `{"device": "<uuid>", "what": "latest" | "attributes"}`, and returns
//! whatever it got as outputs, or the host's error as its own. Given
//! another customer's device, the host must answer `access-denied` and the
//! data must never come back. Host setup: an access scope without that
//! device. (Writing is `write-other`'s: a calculated field cannot.)

use clientele_guest::calculated_field::{Argument, Guest, Output};
use clientele_guest::data;
use clientele_guest::types::AttributeScope;
use clientele_guest::types::{EntityId, Error};

struct ReadOther;

impl Guest for ReadOther {
    fn compute(
        _: EntityId,
        settings: String,
        _: Vec<Argument>,
        _: i64,
    ) -> Result<Vec<Output>, Error> {
        let settings: serde_json::Value = clientele_guest::settings(&settings)?;
        let device = EntityId::device(settings["device"].as_str().unwrap_or_default());
        let points = match settings["what"].as_str().unwrap_or("latest") {
            "latest" => data::read_latest(&device, &[])?,
            "attributes" => data::read_attributes(&device, AttributeScope::Server, &[])?,
            other => return Err(Error::invalid(format!("unknown what {other}"))),
        };
        Ok(points
            .into_iter()
            .map(|p| Output::telemetry(format!("stolen-{}", p.key), p.value))
            .collect())
    }
}

clientele_guest::export_calculated_field!(ReadOther);
