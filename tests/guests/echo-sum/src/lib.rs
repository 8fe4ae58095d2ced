//! Calculated field that behaves, for exact-value tests and the benchmark.
//!
//! Sums the newest value of every single argument and every point of every
//! rolling window. Outputs telemetry `sum` (double) and `count` (long, the
//! number of values summed), both at `now-ms`, and, when the settings are
//! not `{}`, the server attribute `settings` (json) echoing them.
//! A non-numeric value gives `invalid-argument`, naming the argument.
//! Host setup: none.

use clientele_guest::calculated_field::{ArgumentValue, Output};
use clientele_guest::types::Value;
use clientele_guest::types::{EntityId, Error};
use clientele_guest::{Arg, Field};

struct EchoSum {
    settings: Option<String>,
    arguments: Vec<Arg>,
}

impl Field for EchoSum {
    fn init(settings_json: &str, argument_names: Vec<String>) -> Result<Self, Error> {
        Ok(EchoSum {
            settings: (settings_json != "{}").then(|| settings_json.to_owned()),
            arguments: Arg::all(argument_names),
        })
    }

    fn compute(
        &self,
        _entity: EntityId,
        args: Vec<ArgumentValue>,
        now_ms: i64,
    ) -> Result<Vec<Output>, Error> {
        let mut sum = 0.0;
        let mut count = 0i64;
        for arg in &self.arguments {
            for point in arg.points(&args)? {
                sum += point
                    .value
                    .as_f64()
                    .ok_or_else(|| Error::invalid(format!("{} is not a number", arg.name())))?;
                count += 1;
            }
        }
        let mut out = vec![
            Output::telemetry("sum", sum).at(now_ms),
            Output::telemetry("count", count).at(now_ms),
        ];
        if let Some(settings) = &self.settings {
            out.push(Output::attribute("settings", Value::Json(settings.clone())));
        }
        Ok(out)
    }
}

clientele_guest::export_field!(EchoSum);
