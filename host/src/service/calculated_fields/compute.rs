//! One run of a calculated field: read its arguments (from the change that
//! triggered it, else from a snapshot), compute, and say what to save.

use foldhash::{HashMap, HashMapExt};
use uuid::Uuid;

use crate::domain::calculated_field::{
    Argument, ArgumentKind, CalculatedField, Output, OutputKind,
};
use crate::domain::expression::Expression;
use crate::domain::ids::TenantId;
use crate::domain::telemetry::DataValue;
use crate::store::KvRead;
use crate::store::latest;
use crate::store::telemetry::{self as ts, Series, Window};

use super::super::telemetry::{DataChange, Scope};
use super::super::{ServiceError, ServiceResult};

/// A change to an entity's data that may feed calculated fields.
#[derive(Debug, Clone)]
pub struct Trigger {
    pub tenant: TenantId,
    pub entity: Uuid,
    pub change: DataChange,
    /// The change's time (its newest point's, or when the attributes were
    /// saved): the time of the run it triggers (a guest's `now-ms`, outputs
    /// without a time of their own), so that each stored point has its
    /// own derived point, whichever batch computes it.
    pub at: i64,
}

/// An argument's value for one run.
#[derive(Debug, Clone, PartialEq)]
pub enum ArgValue {
    /// `None`: no value and no default.
    Single(Option<(i64, DataValue)>),
    /// Oldest point first.
    Rolling(Vec<(i64, DataValue)>),
}

/// Where an output is saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputTarget {
    Telemetry,
    Attribute(Scope),
}

/// One value to save on the field's entity.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputValue {
    pub target: OutputTarget,
    pub key: String,
    pub ts: i64,
    pub value: DataValue,
}

/// The newest value of `key` in `change`, if it carries one this argument reads.
fn from_change(arg: &Argument, change: &DataChange) -> Option<(i64, DataValue)> {
    let key = &arg.ref_entity_key.key;
    match (arg.ref_entity_key.kind, change) {
        (ArgumentKind::TsLatest, DataChange::Telemetry(points)) => points
            .iter()
            .filter(|p| p.key == *key)
            .max_by_key(|p| p.ts)
            .map(|p| (p.ts, p.value.clone())),
        (ArgumentKind::Attribute, DataChange::Attributes { scope, ts, values })
            if arg.scope() == *scope =>
        {
            values
                .iter()
                .rev()
                .find(|v| v.key == *key)
                .map(|v| (*ts, v.value.clone()))
        }
        _ => None,
    }
}

/// A default value as typed data: a number, a boolean, else the text.
fn default_of(arg: &Argument) -> Option<DataValue> {
    let raw = arg.default_value.as_deref()?;
    let t = raw.trim();
    Some(if let Ok(i) = t.parse::<i64>() {
        DataValue::Long(i)
    } else if let Ok(f) = t.parse::<f64>() {
        DataValue::Double(f)
    } else if let Ok(b) = t.parse::<bool>() {
        DataValue::Boolean(b)
    } else {
        DataValue::String(raw.to_owned())
    })
}

/// The points of a rolling argument up to time `now`, oldest first.
fn rolling(
    r: &dyn KvRead,
    series: &Series,
    tenant: TenantId,
    entity: Uuid,
    arg: &Argument,
    now: i64,
) -> ServiceResult<ArgValue> {
    let mut points = Vec::new();
    if let Some(id) = series.keys.id_in(r, &arg.ref_entity_key.key)? {
        let window = arg.time_window.unwrap_or(0);
        let limit = arg.rolling_limit() as usize;
        let start = now.saturating_sub(window);
        ts::scan_points(
            r,
            tenant,
            entity,
            id,
            Window::newest_first(start, now.saturating_add(1)),
            &mut |t, v| {
                points.push((t, v));
                points.len() < limit
            },
        )?;
        points.reverse();
    }
    Ok(ArgValue::Rolling(points))
}

/// Every argument of `field` for a run triggered by `trigger` (at its
/// time), in configuration order.
pub fn arguments(
    r: &dyn KvRead,
    series: &Series,
    field: &CalculatedField,
    trigger: &Trigger,
) -> ServiceResult<Vec<(String, ArgValue)>> {
    let now = trigger.at;
    let arguments = &field.configuration.arguments;
    let mut values: Vec<ArgValue> = Vec::with_capacity(arguments.len());
    // Latest values the change does not carry, per source entity: read
    // together, since each read of latest telemetry scans the entity's log.
    // Their slots hold "no value" until then.
    let mut latest_wanted: HashMap<Uuid, Vec<(usize, u32)>> = HashMap::new();
    for (at, (_, arg)) in arguments.iter().enumerate() {
        let source = arg.source(field.entity_id).id;
        let fresh = (trigger.entity == source)
            .then(|| from_change(arg, &trigger.change))
            .flatten();
        let key = &arg.ref_entity_key.key;
        values.push(match (fresh, arg.ref_entity_key.kind) {
            (Some(v), _) => ArgValue::Single(Some(v)),
            (None, ArgumentKind::Attribute) => ArgValue::Single(ts::attribute(
                r,
                field.tenant_id,
                source,
                arg.scope() as u8,
                key,
            )?),
            (None, ArgumentKind::TsRolling) => {
                rolling(r, series, field.tenant_id, source, arg, now)?
            }
            (None, ArgumentKind::TsLatest) => {
                if let Some(id) = series.keys.id_in(r, key)? {
                    latest_wanted.entry(source).or_default().push((at, id));
                }
                ArgValue::Single(None)
            }
        });
    }
    for (source, wanted) in latest_wanted {
        let keys: Vec<u32> = wanted.iter().map(|(_, id)| *id).collect();
        let read = latest::get_many(r, field.tenant_id, source, &keys)?;
        for ((at, _), value) in wanted.into_iter().zip(read) {
            values[at] = ArgValue::Single(value);
        }
    }
    Ok(arguments
        .iter()
        .zip(values)
        .map(|((name, arg), value)| {
            let value = match value {
                ArgValue::Single(None) => ArgValue::Single(default_of(arg).map(|d| (now, d))),
                value => value,
            };
            (name.clone(), value)
        })
        .collect())
}

/// Rounds as `decimalsByDefault` asks: none keeps the double, 0 makes a LONG.
fn rounded(value: f64, decimals: Option<u32>) -> DataValue {
    match decimals {
        None => DataValue::Double(value),
        Some(0) => DataValue::Long(value.round() as i64),
        Some(d) => {
            let scale = 10f64.powi(d as i32);
            DataValue::Double((value * scale).round() / scale)
        }
    }
}

fn output_target(output: &Output) -> OutputTarget {
    match output.kind {
        OutputKind::TimeSeries => OutputTarget::Telemetry,
        OutputKind::Attributes => OutputTarget::Attribute(output.scope.unwrap_or(Scope::Server)),
    }
}

/// Runs a SIMPLE field. `Ok(None)`: an argument has no value yet (nothing
/// to compute, as in ThingsBoard, which waits for every argument).
pub fn simple(
    field: &CalculatedField,
    expression: &Expression,
    args: &[(String, ArgValue)],
    now: i64,
) -> Result<Option<Vec<OutputValue>>, String> {
    let mut values = Vec::with_capacity(args.len());
    let mut newest = i64::MIN;
    for (name, value) in args {
        let ArgValue::Single(single) = value else {
            return Err(format!("argument '{name}' is not a single value"));
        };
        let Some((t, v)) = single else {
            return Ok(None);
        };
        let number = v
            .as_f64()
            .ok_or_else(|| format!("argument '{name}' is not a number: {}", v.to_wire_string()))?;
        values.push(number);
        newest = newest.max(*t);
    }
    let result = expression.eval(&values)?;
    let Some(output) = field.configuration.output.as_ref() else {
        return Err("the field has no output".into());
    };
    let ts = if field.configuration.use_latest_ts && newest != i64::MIN {
        newest
    } else {
        now
    };
    Ok(Some(vec![OutputValue {
        target: output_target(output),
        key: output.name.clone().unwrap_or_default(),
        ts,
        value: rounded(result, output.decimals_by_default),
    }]))
}

/// An argument as a DEBUG event shows it.
pub fn arg_json(v: &ArgValue) -> serde_json::Value {
    let point = |(ts, v): &(i64, DataValue)| serde_json::json!({ "ts": ts, "value": v.to_json() });
    match v {
        ArgValue::Single(None) => serde_json::Value::Null,
        ArgValue::Single(Some(p)) => point(p),
        ArgValue::Rolling(points) => points.iter().map(point).collect(),
    }
}

/// Outputs as a DEBUG event shows them: `{"key": value}`.
pub fn outputs_json(values: &[OutputValue]) -> serde_json::Value {
    serde_json::Value::Object(
        values
            .iter()
            .map(|o| (o.key.clone(), o.value.to_json()))
            .collect(),
    )
}

/// A failed store read inside a run is the run's failure, reported like
/// any other (the field is not at fault, but its output is missing).
pub fn read_failure(e: ServiceError) -> String {
    format!("could not read the arguments: {e}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_follows_decimals_by_default() {
        assert_eq!(rounded(2.345_67, Some(2)), DataValue::Double(2.35));
        assert_eq!(rounded(2.5, Some(0)), DataValue::Long(3));
        assert_eq!(rounded(1.0 / 3.0, None), DataValue::Double(1.0 / 3.0));
    }

    #[test]
    fn defaults_are_typed() {
        let arg = |d: &str| -> Argument {
            serde_json::from_value(serde_json::json!({
                "refEntityKey": {"key": "k", "type": "TS_LATEST"}, "defaultValue": d
            }))
            .unwrap()
        };
        assert_eq!(default_of(&arg("12")), Some(DataValue::Long(12)));
        assert_eq!(default_of(&arg("1.5")), Some(DataValue::Double(1.5)));
        assert_eq!(default_of(&arg("true")), Some(DataValue::Boolean(true)));
        assert_eq!(
            default_of(&arg("warm")),
            Some(DataValue::String("warm".into()))
        );
    }
}
