//! Calculated field that behaves, for exact-value tests and the benchmark.
//!
//! Sums the newest value of every single argument and every point of every
//! rolling window. Outputs telemetry `sum` (double) and `count` (long, the
//! number of values summed), both at `now-ms`, and, when the settings are
//! not `{}`, the server attribute `settings` (json) echoing them.
//! A non-numeric value gives `invalid-argument`. Host setup: none.

use clientele_guest::calculated_field::{Argument, Guest, Output};
use clientele_guest::types::Value;
use clientele_guest::types::{EntityId, Error};

struct EchoSum;

impl Guest for EchoSum {
    fn compute(
        _entity: EntityId,
        settings: String,
        args: Vec<Argument>,
        now_ms: i64,
    ) -> Result<Vec<Output>, Error> {
        let mut sum = 0.0;
        let mut count = 0i64;
        for arg in &args {
            for point in arg.value.points() {
                sum += point
                    .value
                    .as_f64()
                    .ok_or_else(|| Error::invalid(format!("{} is not a number", arg.name)))?;
                count += 1;
            }
        }
        let mut out = vec![
            Output::telemetry("sum", sum).at(now_ms),
            Output::telemetry("count", count).at(now_ms),
        ];
        if settings != "{}" {
            out.push(Output::attribute("settings", Value::Json(settings)));
        }
        Ok(out)
    }
}

clientele_guest::export_calculated_field!(EchoSum);
