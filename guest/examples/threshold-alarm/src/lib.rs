//! Customer logic: a threshold alarm with hysteresis.
//!
//! When telemetry `key` of a device goes above `high`, the alarm
//! `alarmType` is raised on that device; it is cleared only once the value
//! falls below `low`, so a value hovering around one threshold does not
//! raise and clear over and over. The state is kept where it survives the
//! instance: in the server attribute `stateAttribute` (`"ACTIVE"` or
//! `"CLEARED"`), which dashboards can show too.
//!
//! Settings:
//! `{"key": "temperature", "high": 30, "low": 25, "alarmType": "High temperature",
//!   "severity": "major", "stateAttribute": "alarmState"}`
//! (`severity` and `stateAttribute` optional; `low` must not exceed `high`).

use std::cell::RefCell;

use clientele_guest::customer_logic::{Guest, LifecycleEvent};
use clientele_guest::types::{
    AlarmSeverity, AttributeScope, EntityId, Error, KeyValue, TsKv, Value,
};
use clientele_guest::{alarms, data, data_write};
use serde::Deserialize;

const ACTIVE: &str = "ACTIVE";
const CLEARED: &str = "CLEARED";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Settings {
    key: String,
    high: f64,
    low: f64,
    alarm_type: String,
    #[serde(default)]
    severity: Severity,
    #[serde(default = "default_state_attribute")]
    state_attribute: String,
}

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Severity {
    Critical,
    #[default]
    Major,
    Minor,
    Warning,
    Indeterminate,
}

impl From<Severity> for AlarmSeverity {
    fn from(s: Severity) -> Self {
        match s {
            Severity::Critical => AlarmSeverity::Critical,
            Severity::Major => AlarmSeverity::Major,
            Severity::Minor => AlarmSeverity::Minor,
            Severity::Warning => AlarmSeverity::Warning,
            Severity::Indeterminate => AlarmSeverity::Indeterminate,
        }
    }
}

fn default_state_attribute() -> String {
    "alarmState".to_owned()
}

thread_local! {
    /// Set by `init`, which the host calls before any handler.
    static SETTINGS: RefCell<Option<Settings>> = const { RefCell::new(None) };
}

struct ThresholdAlarm;

impl Guest for ThresholdAlarm {
    fn init(settings_json: String) -> Result<(), Error> {
        let settings: Settings = clientele_guest::settings(&settings_json)?;
        if settings.low > settings.high {
            return Err(Error::invalid("low must not be above high"));
        }
        SETTINGS.with(|s| *s.borrow_mut() = Some(settings));
        Ok(())
    }

    fn on_telemetry(entity: EntityId, values: Vec<TsKv>) -> Result<(), Error> {
        SETTINGS.with(|s| {
            let s = s.borrow();
            let settings = s
                .as_ref()
                .ok_or_else(|| Error::Internal("init was not called".into()))?;
            check(settings, &entity, &values)
        })
    }

    fn on_attributes_changed(
        _entity: EntityId,
        _scope: AttributeScope,
        _values: Vec<KeyValue>,
    ) -> Result<(), Error> {
        Ok(())
    }

    fn on_lifecycle(entity: EntityId, event: LifecycleEvent) -> Result<(), Error> {
        clientele_guest::log!(Debug, "{} {event:?}", entity.id);
        Ok(())
    }
}

fn check(settings: &Settings, entity: &EntityId, values: &[TsKv]) -> Result<(), Error> {
    // The newest point of our key in this batch decides.
    let Some(point) = values
        .iter()
        .filter(|p| p.key == settings.key)
        .max_by_key(|p| p.ts)
    else {
        return Ok(());
    };
    let Some(value) = point.value.as_f64() else {
        clientele_guest::log!(Warn, "{} is not a number", settings.key);
        return Ok(());
    };
    let active = is_active(settings, entity)?;
    if !active && value > settings.high {
        let details = serde_json::json!({
            "key": settings.key, "value": value, "high": settings.high, "ts": point.ts,
        });
        alarms::raise(
            entity,
            &settings.alarm_type,
            settings.severity.into(),
            &details.to_string(),
        )?;
        save_state(settings, entity, ACTIVE)?;
        clientele_guest::log!(
            Info,
            "{} raised: {value} > {}",
            settings.alarm_type,
            settings.high
        );
    } else if active && value < settings.low {
        alarms::clear(entity, &settings.alarm_type)?;
        save_state(settings, entity, CLEARED)?;
        clientele_guest::log!(
            Info,
            "{} cleared: {value} < {}",
            settings.alarm_type,
            settings.low
        );
    }
    Ok(())
}

fn is_active(settings: &Settings, entity: &EntityId) -> Result<bool, Error> {
    let attrs = data::read_attributes(
        entity,
        AttributeScope::Server,
        std::slice::from_ref(&settings.state_attribute),
    )?;
    Ok(attrs
        .iter()
        .any(|a| a.key == settings.state_attribute && a.value.as_str() == Some(ACTIVE)))
}

fn save_state(settings: &Settings, entity: &EntityId, state: &str) -> Result<(), Error> {
    data_write::save_attributes(
        entity,
        AttributeScope::Server,
        &[KeyValue {
            key: settings.state_attribute.clone(),
            value: Value::from(state),
        }],
    )
}

clientele_guest::export_customer_logic!(ThresholdAlarm);
