//! Calculated field: the dew point from temperature and relative humidity,
//! by the Magnus formula with Sonntag's (1990) constants, good to about
//! 0.35 °C between -45 °C and 60 °C.
//!
//! Arguments: `temperature` (°C) and `humidity` (% relative humidity).
//! Settings (all optional): `{"output": "dewPoint"}`, the telemetry key to
//! write.

use clientele_guest::calculated_field::{ArgumentValue, Output};
use clientele_guest::types::{EntityId, Error};
use clientele_guest::{Arg, Field};
use serde::Deserialize;

/// Magnus coefficients over water (Sonntag 1990).
const B: f64 = 17.62;
const C: f64 = 243.12;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    #[serde(default = "default_output")]
    output: String,
}

fn default_output() -> String {
    "dewPoint".to_owned()
}

/// The dew point in °C for `t` °C and `rh` % relative humidity.
pub fn dew_point(t: f64, rh: f64) -> f64 {
    let gamma = (rh / 100.0).ln() + B * t / (C + t);
    C * gamma / (B - gamma)
}

/// The field as `init` sets it up: the output key and where the two
/// arguments are, so that `compute` neither parses nor searches.
struct DewPoint {
    output: String,
    temperature: Arg,
    humidity: Arg,
}

impl Field for DewPoint {
    fn init(settings_json: &str, argument_names: Vec<String>) -> Result<Self, Error> {
        let settings: Settings = clientele_guest::settings(settings_json)?;
        Ok(DewPoint {
            output: settings.output,
            temperature: Arg::find(&argument_names, "temperature")?,
            humidity: Arg::find(&argument_names, "humidity")?,
        })
    }

    fn compute(
        &self,
        _entity: EntityId,
        args: Vec<ArgumentValue>,
        _now_ms: i64,
    ) -> Result<Vec<Output>, Error> {
        let t = self.temperature.number(&args)?;
        let rh = self.humidity.number(&args)?;
        // ln(0) is -inf and the formula means nothing below -C: say so
        // instead of returning a NaN the host would refuse anyway.
        if !(rh > 0.0 && rh <= 100.0) {
            return Err(Error::invalid(format!("humidity {rh} is not in (0, 100]")));
        }
        if t.is_nan() || t <= -C {
            return Err(Error::invalid(format!("temperature {t} is out of range")));
        }
        Ok(vec![Output::telemetry(
            self.output.clone(),
            dew_point(t, rh),
        )])
    }
}

clientele_guest::export_field!(DewPoint);
