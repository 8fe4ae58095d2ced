//! A gateway publishing for the devices behind it (`v1/gateway/*`): the
//! payloads name devices, which are found or created on first sight and
//! then remembered for the rest of the connection.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::domain::device::Device;
use crate::domain::telemetry::{
    KvEntry, PayloadError, TsKvEntry, parse_kv_object, parse_object, parse_telemetry, shape,
};
use crate::service::{App, ServiceResult};

/// What the gateway payloads are called in their errors.
const PAYLOAD: &str = "a gateway payload";

/// `{"device":"A","type":"t"}` of `v1/gateway/connect` and `disconnect`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub device: String,
    pub device_type: Option<String>,
}

pub fn parse_named(payload: &[u8]) -> Result<Named, PayloadError> {
    let obj = parse_object(payload, PAYLOAD)?;
    let device = obj
        .get("device")
        .and_then(Value::as_str)
        .filter(|d| !d.trim().is_empty())
        .ok_or_else(|| shape("'device' must name a device"))?;
    let device_type = match obj.get("type") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) => Some(t.clone()),
        Some(_) => return Err(shape("'type' must be a string")),
    };
    Ok(Named {
        device: device.to_owned(),
        device_type,
    })
}

/// `{"A":[{"ts":ms,"values":{..}}, {"k":v}],"B":[..]}`: an array per device;
/// items without `ts` take the server's time.
pub fn parse_telemetry_by_device(
    payload: &[u8],
    server_ts: i64,
) -> Result<Vec<(String, Vec<TsKvEntry>)>, PayloadError> {
    parse_object(payload, PAYLOAD)?
        .into_iter()
        .map(|(device, items)| {
            if !items.is_array() {
                return Err(shape(format!("telemetry of '{device}' must be an array")));
            }
            Ok((device, parse_telemetry(&items, server_ts)?))
        })
        .collect()
}

/// `{"A":{"k":v},"B":{..}}`.
pub fn parse_attributes_by_device(
    payload: &[u8],
) -> Result<Vec<(String, Vec<KvEntry>)>, PayloadError> {
    parse_object(payload, PAYLOAD)?
        .into_iter()
        .map(|(device, attrs)| match attrs {
            Value::Object(map) => Ok((device, parse_kv_object(&map)?)),
            _ => Err(shape(format!("attributes of '{device}' must be an object"))),
        })
        .collect()
}

/// The devices a gateway connection has named, by name. Shared, so that a
/// message costs a reference count per device rather than a copy of it.
#[derive(Debug, Default)]
pub struct Devices {
    known: Mutex<HashMap<String, Arc<Device>>>,
}

impl Devices {
    pub fn new() -> Devices {
        Devices::default()
    }

    fn cached(&self, name: &str) -> Option<Arc<Device>> {
        self.known.lock().ok()?.get(name).cloned()
    }

    /// The device behind `gateway` with this name, created if new.
    pub async fn resolve(
        &self,
        app: &App,
        gateway: &Device,
        name: &str,
        device_type: Option<&str>,
    ) -> ServiceResult<Arc<Device>> {
        if let Some(d) = self.cached(name) {
            return Ok(d);
        }
        let d = Arc::new(app.gateway_device(gateway, name, device_type).await?);
        if let Ok(mut known) = self.known.lock() {
            known.insert(name.to_owned(), Arc::clone(&d));
        }
        Ok(d)
    }

    /// The name this gateway knows a device by, if it has named it.
    pub fn name_of(&self, id: uuid::Uuid) -> Option<String> {
        let known = self.known.lock().ok()?;
        known
            .iter()
            .find(|(_, d)| d.id.0 == id)
            .map(|(name, _)| name.clone())
    }

    /// Forgets a device the gateway reports disconnected.
    pub fn forget(&self, name: &str) {
        if let Ok(mut known) = self.known.lock() {
            known.remove(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::telemetry::DataValue;

    #[test]
    fn connect_names_a_device_with_an_optional_type() {
        assert_eq!(
            parse_named(br#"{"device":"A","type":"thermostat"}"#).unwrap(),
            Named {
                device: "A".into(),
                device_type: Some("thermostat".into())
            }
        );
        assert_eq!(parse_named(br#"{"device":"B"}"#).unwrap().device_type, None);
        for bad in [
            &br#"{"device":""}"#[..],
            br#"{"type":"t"}"#,
            br#"{"device":1}"#,
            b"[]",
            b"{",
        ] {
            assert!(
                parse_named(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn telemetry_is_an_array_per_device() {
        let parsed = parse_telemetry_by_device(
            br#"{"A":[{"ts":1000,"values":{"t":1}},{"h":2}],"B":[{"ts":2000,"values":{"t":3}}]}"#,
            5,
        )
        .unwrap();
        let a = &parsed.iter().find(|(d, _)| d == "A").unwrap().1;
        assert_eq!(
            a.iter().map(|e| (e.ts, e.key.as_str())).collect::<Vec<_>>(),
            [(1000, "t"), (5, "h")]
        );
        assert_eq!(parsed.len(), 2);
        assert!(parse_telemetry_by_device(br#"{"A":{"t":1}}"#, 5).is_err());
        assert!(parse_telemetry_by_device(br#"{"A":[1]}"#, 5).is_err());
        assert!(parse_telemetry_by_device(br#"[{"A":[]}]"#, 5).is_err());
    }

    #[test]
    fn attributes_are_an_object_per_device() {
        let parsed = parse_attributes_by_device(br#"{"A":{"fw":"1.0","n":null}}"#).unwrap();
        assert_eq!(
            parsed,
            vec![(
                "A".to_owned(),
                vec![KvEntry {
                    key: "fw".into(),
                    value: DataValue::String("1.0".into())
                }]
            )]
        );
        assert!(parse_attributes_by_device(br#"{"A":[1]}"#).is_err());
    }
}
