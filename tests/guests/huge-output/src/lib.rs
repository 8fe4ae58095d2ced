//! Calculated field that returns output the host must refuse, chosen by
//! settings `{"mode": ...}`:
//! - `"string"` (default): one 10 MiB string value;
//! - `"many"`: 100,000 outputs;
//! - `"nan"`: a NaN double;
//! - `"long-key"`: a 300-byte key;
//! - `"nul-key"`: a key with a NUL byte in it.
//!
//! Host setup: a memory cap of at least 16 MiB (the string must fit).

use clientele_guest::Field;
use clientele_guest::calculated_field::{ArgumentValue, Output};
use clientele_guest::types::{EntityId, Error};

struct HugeOutput {
    mode: String,
}

impl Field for HugeOutput {
    fn init(settings_json: &str, _: Vec<String>) -> Result<Self, Error> {
        let settings: serde_json::Value = clientele_guest::settings(settings_json)?;
        let mode = settings["mode"].as_str().unwrap_or("string").to_owned();
        Ok(HugeOutput { mode })
    }

    fn compute(&self, _: EntityId, _: Vec<ArgumentValue>, _: i64) -> Result<Vec<Output>, Error> {
        Ok(match self.mode.as_str() {
            "string" => vec![Output::telemetry("big", "x".repeat(10 << 20))],
            "many" => (0..100_000i64).map(|i| Output::telemetry("k", i)).collect(),
            "nan" => vec![Output::telemetry("bad", f64::NAN)],
            "long-key" => vec![Output::telemetry("k".repeat(300), 1.0)],
            "nul-key" => vec![Output::telemetry("k\0", 1.0)],
            other => return Err(Error::invalid(format!("unknown mode {other}"))),
        })
    }
}

clientele_guest::export_field!(HugeOutput);
