//! Customer logic that, on every telemetry event, saves to the device named
//! in its settings: `{"device": "<uuid>", "what": "telemetry" |
//! "attributes", "bytes": n}`. It saves the key `planted`, a boolean, or a
//! string of `n` bytes when `bytes` is given, and returns the host's error
//! as its own. Given another customer's device, the host must answer
//! `access-denied` and write nothing; given more bytes than the output
//! budget, the host must end the invocation. Host setup: a customer scope.

use std::cell::RefCell;

use clientele_guest::customer_logic::{Guest, LifecycleEvent};
use clientele_guest::data_write;
use clientele_guest::types::{AttributeScope, EntityId, Error, KeyValue, TsKv, Value};

thread_local! {
    /// The settings, kept by `init` for the handlers.
    static SETTINGS: RefCell<serde_json::Value> = const { RefCell::new(serde_json::Value::Null) };
}

struct WriteOther;

impl Guest for WriteOther {
    fn init(settings_json: String) -> Result<(), Error> {
        let settings: serde_json::Value = clientele_guest::settings(&settings_json)?;
        SETTINGS.with(|s| *s.borrow_mut() = settings);
        Ok(())
    }

    fn on_telemetry(_: EntityId, values: Vec<TsKv>) -> Result<(), Error> {
        let settings = SETTINGS.with(|s| s.borrow().clone());
        let device = EntityId::device(settings["device"].as_str().unwrap_or_default());
        let value = match settings["bytes"].as_u64() {
            Some(n) => Value::String("x".repeat(n as usize)),
            None => Value::Boolean(true),
        };
        let ts = values.first().map_or(0, |p| p.ts);
        match settings["what"].as_str().unwrap_or("telemetry") {
            "telemetry" => data_write::save_telemetry(
                &device,
                &[TsKv {
                    ts,
                    key: "planted".into(),
                    value,
                }],
            ),
            "attributes" => data_write::save_attributes(
                &device,
                AttributeScope::Server,
                &[KeyValue {
                    key: "planted".into(),
                    value,
                }],
            ),
            other => Err(Error::invalid(format!("unknown what {other}"))),
        }
    }

    fn on_attributes_changed(
        _: EntityId,
        _: AttributeScope,
        _: Vec<KeyValue>,
    ) -> Result<(), Error> {
        Ok(())
    }

    fn on_lifecycle(_: EntityId, _: LifecycleEvent) -> Result<(), Error> {
        Ok(())
    }
}

clientele_guest::export_customer_logic!(WriteOther);
