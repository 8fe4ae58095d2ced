//! Calculated field: the dew point from temperature and relative humidity,
//! by the Magnus formula with Sonntag's (1990) constants, good to about
//! 0.35 °C between -45 °C and 60 °C.
//!
//! Arguments: `temperature` (°C) and `humidity` (% relative humidity).
//! Settings (all optional): `{"output": "dewPoint"}`, the telemetry key to
//! write.

use clientele_guest::Arguments;
use clientele_guest::calculated_field::{Argument, Guest, Output};
use clientele_guest::types::{EntityId, Error};
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

struct DewPoint;

impl Guest for DewPoint {
    fn compute(
        _entity: EntityId,
        settings: String,
        args: Vec<Argument>,
        _now_ms: i64,
    ) -> Result<Vec<Output>, Error> {
        let settings: Settings = clientele_guest::settings(&settings)?;
        let t = args.number("temperature")?;
        let rh = args.number("humidity")?;
        // ln(0) is -inf and the formula means nothing below -C: say so
        // instead of returning a NaN the host would refuse anyway.
        if !(rh > 0.0 && rh <= 100.0) {
            return Err(Error::invalid(format!("humidity {rh} is not in (0, 100]")));
        }
        if t.is_nan() || t <= -C {
            return Err(Error::invalid(format!("temperature {t} is out of range")));
        }
        Ok(vec![Output::telemetry(settings.output, dew_point(t, rh))])
    }
}

clientele_guest::export_calculated_field!(DewPoint);
