//! Checks on everything a guest hands the host: returned outputs and the
//! values it asks the host to save. Guest data is input like any other.

use super::bindings::calculated_field::Output;
use super::bindings::types::{KeyValue, TsKv, Value};
use super::limits::OUTPUT_ENTRY_OVERHEAD;
use crate::domain::telemetry::{self, MAX_KEY_LEN};

/// Why a value or key is refused, for `invalid-argument` or
/// [`WasmError::InvalidOutput`](super::WasmError::InvalidOutput).
pub(crate) type Invalid = String;

/// Bytes a guest may still hand over in this invocation (outputs and
/// saved data together).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    pub(crate) used: usize,
    pub(crate) max: usize,
}

impl Budget {
    pub(crate) fn new(max: usize) -> Self {
        Budget { used: 0, max }
    }

    /// Takes `bytes` from the budget, or says by how much it is exceeded.
    pub(crate) fn take(&mut self, bytes: usize) -> Result<(), String> {
        let used = self.used.saturating_add(bytes);
        if used > self.max {
            return Err(format!(
                "{used} bytes or more, more than the {} allowed",
                self.max
            ));
        }
        self.used = used;
        Ok(())
    }
}

/// A key a guest reads, saves or returns (or an alarm type): the rule for
/// keys from devices, so a guest cannot save a key no device could send.
/// The message gives the size, not the key, which may be megabytes long.
pub(crate) fn check_key(key: &str) -> Result<(), Invalid> {
    telemetry::check_key(key).map_err(|_| {
        format!(
            "key of {} bytes: keys are 1 to {MAX_KEY_LEN} bytes, without NUL",
            key.len()
        )
    })
}

pub(crate) fn check_value(key: &str, value: &Value) -> Result<(), Invalid> {
    match value {
        Value::Double(d) if !d.is_finite() => Err(format!("{key}: {d} is not a finite number")),
        Value::Json(text) => serde_json::from_str::<serde::de::IgnoredAny>(text)
            .map(|_| ())
            .map_err(|e| format!("{key}: not JSON: {e}")),
        _ => Ok(()),
    }
}

pub(crate) fn check_ts(key: &str, ts: i64) -> Result<(), Invalid> {
    if ts < 0 {
        return Err(format!("{key}: timestamp {ts} is before 1970"));
    }
    Ok(())
}

/// Bytes a value counts for in the output budget.
pub(crate) fn value_size(value: &Value) -> usize {
    match value {
        Value::Boolean(_) => 1,
        Value::Long(_) | Value::Double(_) => 8,
        Value::String(s) | Value::Json(s) => s.len(),
    }
}

fn entry_size(key: &str, value: &Value) -> usize {
    OUTPUT_ENTRY_OVERHEAD + key.len() + value_size(value)
}

/// Error from checking a batch: too large, or invalid.
#[derive(Debug)]
pub(crate) enum Refusal {
    TooLarge(String),
    Invalid(Invalid),
}

/// Checks the outputs of `compute`, charging them to `budget`. The size is
/// charged first, so a huge output is refused as too large before its
/// values are looked at.
pub(crate) fn check_outputs(outputs: &[Output], budget: &mut Budget) -> Result<(), Refusal> {
    let size = outputs.iter().map(|o| entry_size(&o.key, &o.value)).sum();
    budget.take(size).map_err(Refusal::TooLarge)?;
    for o in outputs {
        check_key(&o.key).map_err(Refusal::Invalid)?;
        check_value(&o.key, &o.value).map_err(Refusal::Invalid)?;
        if let Some(ts) = o.ts {
            check_ts(&o.key, ts).map_err(Refusal::Invalid)?;
        }
    }
    Ok(())
}

/// Checks telemetry a guest asks to save, charging it to `budget`.
pub(crate) fn check_ts_kvs(values: &[TsKv], budget: &mut Budget) -> Result<(), Refusal> {
    let size = values.iter().map(|v| entry_size(&v.key, &v.value)).sum();
    budget.take(size).map_err(Refusal::TooLarge)?;
    for v in values {
        check_key(&v.key).map_err(Refusal::Invalid)?;
        check_value(&v.key, &v.value).map_err(Refusal::Invalid)?;
        check_ts(&v.key, v.ts).map_err(Refusal::Invalid)?;
    }
    Ok(())
}

/// Checks attributes a guest asks to save, charging them to `budget`.
pub(crate) fn check_key_values(values: &[KeyValue], budget: &mut Budget) -> Result<(), Refusal> {
    let size = values.iter().map(|v| entry_size(&v.key, &v.value)).sum();
    budget.take(size).map_err(Refusal::TooLarge)?;
    for v in values {
        check_key(&v.key).map_err(Refusal::Invalid)?;
        check_value(&v.key, &v.value).map_err(Refusal::Invalid)?;
    }
    Ok(())
}
