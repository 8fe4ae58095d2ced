//! A gateway publishing for the devices behind it (`v1/gateway/*`): the
//! payloads name devices, which are found or created on first sight and
//! then remembered for the rest of the connection.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::domain::device::Device;
use crate::domain::telemetry::{
    KvEntry, PayloadError, TsKvEntry, parse_kv_object, parse_object, parse_raw_object,
    parse_telemetry_bytes, shape,
};
use crate::service::{App, DeviceEvent, ServiceResult};

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
    parse_raw_object(payload, PAYLOAD)?
        .into_iter()
        .map(|(device, items)| {
            if !items.get().starts_with('[') {
                return Err(shape(format!("telemetry of '{device}' must be an array")));
            }
            Ok((
                device,
                parse_telemetry_bytes(items.get().as_bytes(), server_ts)?,
            ))
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
/// A device deleted (or given a new token) is forgotten when its event
/// comes ([`Devices::forget_id`]), so that its name, used again, finds or
/// creates the device that has it now.
#[derive(Debug, Default)]
pub struct Devices {
    known: Mutex<Known>,
}

#[derive(Debug, Default)]
struct Known {
    by_name: HashMap<String, Arc<Device>>,
    /// The other way round, for device events.
    names: HashMap<Uuid, String>,
    /// Counts forgetting by id: a lookup that raced with one may have found
    /// the forgotten device, so it is not kept.
    forgotten: u64,
}

impl Known {
    fn remove_name(&mut self, name: &str) {
        if let Some(d) = self.by_name.remove(name) {
            self.names.remove(&d.id.0);
        }
    }
}

impl Devices {
    pub fn new() -> Devices {
        Devices::default()
    }

    fn known(&self) -> std::sync::MutexGuard<'_, Known> {
        // The map is consistent after every statement: a panic elsewhere
        // while it was locked leaves nothing half done.
        self.known.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The device behind `gateway` with this name, created if new.
    pub async fn resolve(
        &self,
        app: &App,
        gateway: &Device,
        name: &str,
        device_type: Option<&str>,
    ) -> ServiceResult<Arc<Device>> {
        let forgotten = {
            let known = self.known();
            if let Some(d) = known.by_name.get(name) {
                return Ok(Arc::clone(d));
            }
            known.forgotten
        };
        let d = Arc::new(app.gateway_device(gateway, name, device_type).await?);
        let mut known = self.known();
        if known.forgotten == forgotten {
            known.remove_name(name);
            known.names.insert(d.id.0, name.to_owned());
            known.by_name.insert(name.to_owned(), Arc::clone(&d));
        }
        Ok(d)
    }

    /// The name this gateway knows a device by, if it has named it.
    pub fn name_of(&self, id: Uuid) -> Option<String> {
        self.known().names.get(&id).cloned()
    }

    /// Keeps the names in step with what the service announces: a device
    /// deleted or given a new token is forgotten (named again, it is looked
    /// up again), and after missed announcements every name is.
    pub fn heard(&self, event: &Result<DeviceEvent, broadcast::error::RecvError>) {
        match event {
            Ok(DeviceEvent::Revoked { device }) => self.forget_id(device.0),
            Ok(_) | Err(broadcast::error::RecvError::Closed) => {}
            Err(broadcast::error::RecvError::Lagged(_)) => self.forget_all(),
        }
    }

    /// Forgets a device the gateway reports disconnected.
    pub fn forget(&self, name: &str) {
        self.known().remove_name(name);
    }

    /// Forgets a device that was deleted or given a new token.
    fn forget_id(&self, id: Uuid) {
        let mut known = self.known();
        known.forgotten += 1;
        if let Some(name) = known.names.remove(&id) {
            known.by_name.remove(&name);
        }
    }

    /// Forgets every device: for when device events were missed.
    fn forget_all(&self) {
        let mut known = self.known();
        known.forgotten += 1;
        known.by_name.clear();
        known.names.clear();
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
        let refusal = |payload: &[u8]| {
            parse_telemetry_by_device(payload, 5)
                .unwrap_err()
                .to_string()
        };
        assert!(refusal(br#"{"A":{"t":1}}"#).contains("telemetry of 'A' must be an array"));
        assert!(refusal(b"42").contains("a gateway payload must be a JSON object"));
        assert!(
            refusal(br#"{"A":[{"ts":"x","values":{"t":1}}]}"#).contains("'ts' must be a number")
        );
        let syntax = parse_telemetry_by_device(br#"{"A":[{"t":1}"#, 5).unwrap_err();
        assert!(matches!(syntax, PayloadError::Json(_)), "{syntax}");
        // A device named twice: its last array wins, as in a JSON object.
        let twice = parse_telemetry_by_device(br#"{"A":[{"t":1}],"A":[{"t":2}]}"#, 5).unwrap();
        assert_eq!(twice.len(), 1);
        assert_eq!(twice[0].1[0].value, DataValue::Long(2));
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
