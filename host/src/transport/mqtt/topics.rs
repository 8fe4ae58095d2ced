//! ThingsBoard's device topics and the JSON they carry (spec section 5):
//! which topic a PUBLISH goes to, which filters a device may subscribe to,
//! and the payloads the endpoint sends back. Pure: no I/O.

use serde_json::{Map, Value, json};

use crate::domain::telemetry::{
    DataValue, KvEntry, PayloadError, device_attributes_json, parse_object, shape, values_object,
};
use crate::service::DeviceEvent;

pub const TELEMETRY: &str = "v1/devices/me/telemetry";
pub const ATTRIBUTES: &str = "v1/devices/me/attributes";
const ATTRIBUTE_REQUEST: &str = "v1/devices/me/attributes/request/";
const ATTRIBUTE_RESPONSE: &str = "v1/devices/me/attributes/response/";
const RPC_REQUEST: &str = "v1/devices/me/rpc/request/";
const RPC_RESPONSE: &str = "v1/devices/me/rpc/response/";
pub const GATEWAY_ATTRIBUTES: &str = "v1/gateway/attributes";
const GATEWAY_ATTRIBUTE_REQUEST: &str = "v1/gateway/attributes/request";
pub const GATEWAY_ATTRIBUTE_RESPONSE: &str = "v1/gateway/attributes/response";

/// Where a device's PUBLISH goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Telemetry,
    Attributes,
    /// Answered on `v1/devices/me/attributes/response/{id}`.
    AttributeRequest(String),
    /// A client-side RPC, answered on `v1/devices/me/rpc/response/{id}`.
    RpcRequest(String),
    GatewayConnect,
    GatewayDisconnect,
    GatewayTelemetry,
    GatewayAttributes,
    /// Answered on `v1/gateway/attributes/response`.
    GatewayAttributeRequest,
}

impl Route {
    pub fn is_gateway(&self) -> bool {
        matches!(
            self,
            Route::GatewayConnect
                | Route::GatewayDisconnect
                | Route::GatewayTelemetry
                | Route::GatewayAttributes
                | Route::GatewayAttributeRequest
        )
    }

    /// Telemetry carries its own timestamps, so its messages may be stored
    /// in any order; everything else is applied in the order received.
    pub fn needs_order(&self) -> bool {
        !matches!(self, Route::Telemetry | Route::GatewayTelemetry)
    }
}

/// One topic level: non-empty, no separator, no wildcard.
fn request_id(rest: &str) -> Option<String> {
    (!rest.is_empty() && !rest.contains(['/', '+', '#'])).then(|| rest.to_owned())
}

pub fn route(topic: &str) -> Option<Route> {
    Some(match topic {
        TELEMETRY => Route::Telemetry,
        ATTRIBUTES => Route::Attributes,
        "v1/gateway/connect" => Route::GatewayConnect,
        "v1/gateway/disconnect" => Route::GatewayDisconnect,
        "v1/gateway/telemetry" => Route::GatewayTelemetry,
        GATEWAY_ATTRIBUTES => Route::GatewayAttributes,
        GATEWAY_ATTRIBUTE_REQUEST => Route::GatewayAttributeRequest,
        _ => {
            if let Some(rest) = topic.strip_prefix(ATTRIBUTE_REQUEST) {
                Route::AttributeRequest(request_id(rest)?)
            } else if let Some(rest) = topic.strip_prefix(RPC_REQUEST) {
                Route::RpcRequest(request_id(rest)?)
            } else {
                return None;
            }
        }
    })
}

/// What a device may subscribe to. Filters are matched as written, as
/// ThingsBoard does: these are fixed topics, not a broker's tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Filter {
    /// Shared attribute updates and deletions.
    Attributes,
    AttributeResponses,
    /// Server-side RPC; accepted, but nothing is sent on it yet.
    RpcRequests,
    RpcResponses,
    /// Shared attribute changes of the devices behind a gateway.
    GatewayAttributes,
    GatewayAttributeResponses,
    /// Server-side RPC to the devices behind a gateway; nothing is sent yet.
    GatewayRpc,
}

pub fn filter(f: &str, gateway: bool) -> Option<Filter> {
    Some(match f {
        ATTRIBUTES => Filter::Attributes,
        "v1/devices/me/attributes/response/+" => Filter::AttributeResponses,
        "v1/devices/me/rpc/request/+" => Filter::RpcRequests,
        "v1/devices/me/rpc/response/+" => Filter::RpcResponses,
        GATEWAY_ATTRIBUTES if gateway => Filter::GatewayAttributes,
        GATEWAY_ATTRIBUTE_RESPONSE if gateway => Filter::GatewayAttributeResponses,
        "v1/gateway/rpc" if gateway => Filter::GatewayRpc,
        _ => return None,
    })
}

pub fn attribute_response_topic(id: &str) -> String {
    format!("{ATTRIBUTE_RESPONSE}{id}")
}

pub fn rpc_response_topic(id: &str) -> String {
    format!("{RPC_RESPONSE}{id}")
}

/// The keys asked for per scope; `None` asks for all of that scope.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttributeRequest {
    pub client: Option<Vec<String>>,
    pub shared: Option<Vec<String>>,
}

/// `"a,b"` (ThingsBoard's form) or `["a","b"]`.
fn keys(v: Option<&Value>, name: &str) -> Result<Option<Vec<String>>, PayloadError> {
    let list = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.split(',').map(str::trim).map(str::to_owned).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map(|s| s.trim().to_owned()))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| shape(format!("'{name}' must hold strings")))?,
        Some(_) => return Err(shape(format!("'{name}' must be a comma-separated string"))),
    };
    Ok(Some(list.into_iter().filter(|k| !k.is_empty()).collect()))
}

/// A gateway asking for attributes of a device behind it:
/// `{"id":1,"device":"A","client":false,"key":"k"}` or `"keys":["a","b"]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayAttributeRequest {
    pub id: Value,
    pub device: String,
    pub client: bool,
    /// One `key` (answered as `value`) or several `keys` (answered as `values`).
    pub keys: Vec<String>,
    pub single: bool,
}

pub fn parse_gateway_attribute_request(
    payload: &[u8],
) -> Result<GatewayAttributeRequest, PayloadError> {
    let obj = parse_object(payload, "an attribute request")?;
    let device = obj
        .get("device")
        .and_then(Value::as_str)
        .filter(|d| !d.trim().is_empty())
        .ok_or_else(|| shape("'device' must name a device"))?;
    let id = obj.get("id").cloned().unwrap_or(Value::Null);
    let client = obj.get("client").and_then(Value::as_bool).unwrap_or(false);
    let (keys, single) = match (obj.get("key"), keys(obj.get("keys"), "keys")?) {
        (Some(Value::String(k)), _) => (vec![k.clone()], true),
        (_, Some(list)) => (list, false),
        _ => return Err(shape("a 'key' or 'keys' is required")),
    };
    Ok(GatewayAttributeRequest {
        id,
        device: device.to_owned(),
        client,
        keys,
        single,
    })
}

/// `{"id":..,"device":"A","value":v}` for one key, `"values":{..}` for several.
pub fn gateway_attribute_response(
    request: &GatewayAttributeRequest,
    values: Vec<(String, DataValue)>,
) -> Vec<u8> {
    let mut out = Map::new();
    out.insert("id".into(), request.id.clone());
    out.insert("device".into(), Value::String(request.device.clone()));
    if request.single {
        let value = values
            .into_iter()
            .next()
            .map_or(Value::Null, |(_, v)| v.to_json());
        out.insert("value".into(), value);
    } else {
        out.insert("values".into(), values_object(values));
    }
    Value::Object(out).to_string().into_bytes()
}

/// `{"device":"A","data":{..}}`: a shared attribute change pushed to the gateway.
pub fn gateway_shared_update(device: &str, event: &DeviceEvent) -> Vec<u8> {
    json!({ "device": device, "data": shared_change(event) })
        .to_string()
        .into_bytes()
}

/// `{"clientKeys":"a,b","sharedKeys":"c"}`; an empty payload asks for all.
pub fn parse_attribute_request(payload: &[u8]) -> Result<AttributeRequest, PayloadError> {
    if payload.iter().all(u8::is_ascii_whitespace) {
        return Ok(AttributeRequest::default());
    }
    let obj = parse_object(payload, "an attribute request")?;
    Ok(AttributeRequest {
        client: keys(obj.get("clientKeys"), "clientKeys")?,
        shared: keys(obj.get("sharedKeys"), "sharedKeys")?,
    })
}

/// `{"client":{..},"shared":{..}}`.
pub fn attribute_response(
    client: Vec<(String, DataValue)>,
    shared: Vec<(String, DataValue)>,
) -> Vec<u8> {
    device_attributes_json(client, shared)
        .to_string()
        .into_bytes()
}

/// What a device subscribed to `v1/devices/me/attributes` is sent:
/// `{"k":v}` for updates, `{"deleted":["k"]}` for deletions.
pub fn shared_update(event: &DeviceEvent) -> Vec<u8> {
    shared_change(event).to_string().into_bytes()
}

/// `{"k":v}` for set attributes, `{"deleted":["k"]}` for deleted ones.
fn shared_change(event: &DeviceEvent) -> Value {
    match event {
        DeviceEvent::SharedUpdated { values, .. } => values_object(
            values
                .iter()
                .map(|KvEntry { key, value }| (key.clone(), value.clone())),
        ),
        DeviceEvent::SharedDeleted { keys, .. } => json!({ "deleted": keys }),
        DeviceEvent::Revoked { .. } => json!({}),
    }
}

/// The method of a client-side RPC `{"method":..,"params":..}`.
pub fn rpc_method(payload: &[u8]) -> Result<String, PayloadError> {
    serde_json::from_slice::<Value>(payload)?
        .get("method")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| shape("an RPC request needs a 'method'"))
}

/// The answer to the `getSessionLimits` RPC that ThingsBoard's device SDKs
/// send after connecting; no rate limits apply here.
pub fn session_limits(max_payload: usize, max_inflight: usize) -> Vec<u8> {
    json!({
        "maxPayloadSize": max_payload,
        "maxInflightMessages": max_inflight,
        "rateLimits": { "messages": "", "telemetryMessages": "", "telemetryDataPoints": "" },
    })
    .to_string()
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::DeviceId;

    #[test]
    fn topics_route_to_their_handlers() {
        assert_eq!(route("v1/devices/me/telemetry"), Some(Route::Telemetry));
        assert_eq!(route("v1/devices/me/attributes"), Some(Route::Attributes));
        assert_eq!(
            route("v1/devices/me/attributes/request/17"),
            Some(Route::AttributeRequest("17".into()))
        );
        assert_eq!(
            route("v1/devices/me/rpc/request/3"),
            Some(Route::RpcRequest("3".into()))
        );
        assert_eq!(route("v1/gateway/telemetry"), Some(Route::GatewayTelemetry));
        for bad in [
            "",
            "v1/devices/me/telemetry/",
            "v1/devices/me/attributes/request/",
            "v1/devices/me/attributes/request/1/2",
            "v1/devices/me/attributes/request/+",
            "v1/devices/other/telemetry",
            "V1/devices/me/telemetry",
        ] {
            assert_eq!(route(bad), None, "{bad}");
        }
        assert!(Route::GatewayAttributes.is_gateway() && !Route::Attributes.is_gateway());
        assert!(!Route::Telemetry.needs_order() && Route::Attributes.needs_order());
    }

    #[test]
    fn only_the_device_topics_can_be_subscribed() {
        assert_eq!(
            filter("v1/devices/me/attributes", false),
            Some(Filter::Attributes)
        );
        assert_eq!(
            filter("v1/devices/me/attributes/response/+", false),
            Some(Filter::AttributeResponses)
        );
        assert_eq!(
            filter("v1/devices/me/rpc/request/+", false),
            Some(Filter::RpcRequests)
        );
        assert_eq!(filter("v1/gateway/rpc", false), None);
        assert_eq!(filter("v1/gateway/rpc", true), Some(Filter::GatewayRpc));
        assert_eq!(
            filter("v1/gateway/attributes", true),
            Some(Filter::GatewayAttributes)
        );
        assert_eq!(filter("#", false), None);
        assert_eq!(filter("v1/devices/+/attributes", false), None);
    }

    #[test]
    fn attribute_requests_take_comma_lists_and_default_to_all() {
        let r = parse_attribute_request(br#"{"clientKeys":"a, b,","sharedKeys":"c"}"#).unwrap();
        assert_eq!(r.client, Some(vec!["a".to_owned(), "b".to_owned()]));
        assert_eq!(r.shared, Some(vec!["c".to_owned()]));
        let only_shared = parse_attribute_request(br#"{"sharedKeys":["x"]}"#).unwrap();
        assert_eq!(
            (only_shared.client, only_shared.shared),
            (None, Some(vec!["x".into()]))
        );
        assert_eq!(
            parse_attribute_request(b"").unwrap(),
            AttributeRequest::default()
        );
        assert_eq!(
            parse_attribute_request(b"{}").unwrap(),
            AttributeRequest::default()
        );
        assert!(parse_attribute_request(b"{oops").is_err());
        assert!(parse_attribute_request(b"[1]").is_err());
        assert!(parse_attribute_request(br#"{"clientKeys":5}"#).is_err());
        assert!(parse_attribute_request(br#"{"clientKeys":[1]}"#).is_err());
    }

    #[test]
    fn payloads_to_devices_have_thingsboards_shape() {
        let body = attribute_response(
            vec![("fw".into(), DataValue::String("1.0".into()))],
            vec![("target".into(), DataValue::Long(40))],
        );
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            v,
            json!({"client": {"fw": "1.0"}, "shared": {"target": 40}})
        );

        let device = DeviceId(uuid::Uuid::nil());
        let updated = shared_update(&DeviceEvent::SharedUpdated {
            device,
            values: vec![KvEntry {
                key: "target".into(),
                value: DataValue::Double(21.5),
            }],
        });
        assert_eq!(
            serde_json::from_slice::<Value>(&updated).unwrap(),
            json!({"target": 21.5})
        );
        let deleted = shared_update(&DeviceEvent::SharedDeleted {
            device,
            keys: vec!["target".into()],
        });
        assert_eq!(
            serde_json::from_slice::<Value>(&deleted).unwrap(),
            json!({"deleted": ["target"]})
        );
        assert_eq!(
            attribute_response_topic("7"),
            "v1/devices/me/attributes/response/7"
        );
        assert_eq!(rpc_response_topic("7"), "v1/devices/me/rpc/response/7");
    }

    #[test]
    fn rpc_requests_need_a_method() {
        assert_eq!(
            rpc_method(br#"{"method":"getSessionLimits","params":{}}"#).unwrap(),
            "getSessionLimits"
        );
        assert!(rpc_method(br#"{"params":{}}"#).is_err());
        assert!(rpc_method(b"nope").is_err());
        let limits: Value = serde_json::from_slice(&session_limits(100, 5)).unwrap();
        assert_eq!(limits["maxInflightMessages"], 5);
    }
}
