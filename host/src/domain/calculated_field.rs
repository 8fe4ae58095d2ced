//! Calculated fields (ThingsBoard compat section 7): values derived from an
//! entity's data whenever one of their arguments changes.
//!
//! Two kinds run here: `SIMPLE`, a math expression over the arguments (as in
//! ThingsBoard), and `WASM`, a WebAssembly extension implementing the
//! `calculated-field` world, handed the arguments and a JSON settings object.
//! ThingsBoard's `SCRIPT` (TBEL) is refused: extensions take its place.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::customer::check_additional_info;
use super::expression::Expression;
use super::extension::check_optional_settings;
use super::ids::{CalculatedFieldId, EntityId, EntityType, ExtensionId, TenantId};
use super::telemetry::{Scope, check_key};
use super::validate::{ValidationError, check_required};

/// ThingsBoard's caps: fields per entity, arguments per field, points of a
/// rolling argument.
pub const MAX_FIELDS_PER_ENTITY: usize = 5;
pub const MAX_ARGUMENTS: usize = 10;
pub const MAX_ROLLING_POINTS: u32 = 1000;
/// Longest SIMPLE expression: a formula, not a program.
pub const MAX_EXPRESSION_LEN: usize = 1024;
/// Most decimals an output is rounded to (f64 holds about 15).
pub const MAX_DECIMALS: u32 = 15;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FieldKind {
    Simple,
    Script,
    Wasm,
}

impl FieldKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldKind::Simple => "SIMPLE",
            FieldKind::Script => "SCRIPT",
            FieldKind::Wasm => "WASM",
        }
    }
}

/// Where an argument's value comes from (`refEntityKey.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ArgumentKind {
    /// An attribute, in `scope`.
    Attribute,
    /// The latest telemetry value.
    TsLatest,
    /// A window of telemetry: the last `timeWindow` ms, up to `limit` points.
    TsRolling,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefEntityKey {
    pub key: String,
    #[serde(rename = "type")]
    pub kind: ArgumentKind,
    /// For attributes; server scope when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Argument {
    /// The entity the value is read from; the field's own entity when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_entity_id: Option<EntityId>,
    pub ref_entity_key: RefEntityKey,
    /// Used while the entity has no value for the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_value: Option<String>,
    /// Rolling arguments: most points (newest kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Rolling arguments: how far back, in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_window: Option<i64>,
}

impl Argument {
    /// The attribute scope this argument reads (server unless set).
    pub fn scope(&self) -> Scope {
        self.ref_entity_key.scope.unwrap_or(Scope::Server)
    }

    /// The entity the value comes from, given the field's own.
    pub fn source(&self, own: EntityId) -> EntityId {
        self.ref_entity_id.unwrap_or(own)
    }

    pub fn rolling_limit(&self) -> u32 {
        self.limit.unwrap_or(MAX_ROLLING_POINTS)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OutputKind {
    TimeSeries,
    Attributes,
}

/// Where a SIMPLE field's result goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    #[serde(rename = "type")]
    pub kind: OutputKind,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
    /// Round to this many decimals; 0 saves a whole number (LONG).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decimals_by_default: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Configuration {
    #[serde(rename = "type")]
    pub kind: FieldKind,
    /// By name, in the order given (a guest receives them in this order).
    #[serde(default, with = "ordered")]
    pub arguments: Vec<(String, Argument)>,
    /// SIMPLE: the formula over argument names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    /// SIMPLE: where the result goes (a guest names its own outputs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Output>,
    /// SIMPLE: stamp the result with the newest argument's time instead of
    /// the time it was computed.
    #[serde(default)]
    pub use_latest_ts: bool,
    /// WASM: the extension to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension_id: Option<ExtensionId>,
    /// WASM: handed to the guest as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<Value>,
}

/// Arguments are a JSON object on the wire; kept as pairs so their order
/// survives (serde_json's maps sort by key). A name given twice is refused.
pub mod ordered {
    use std::fmt;
    use std::marker::PhantomData;

    use serde::de::{DeserializeOwned, MapAccess, Visitor};
    use serde::ser::SerializeMap;
    use serde::{Deserializer, Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer>(
        pairs: &[(String, T)],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(pairs.len()))?;
        for (name, value) in pairs {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }

    pub fn deserialize<'de, T: DeserializeOwned, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<(String, T)>, D::Error> {
        struct Pairs<T>(PhantomData<T>);
        impl<'de, T: DeserializeOwned> Visitor<'de> for Pairs<T> {
            type Value = Vec<(String, T)>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of arguments by name")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out: Vec<(String, T)> = Vec::new();
                while let Some((name, value)) = map.next_entry::<String, T>()? {
                    if out.iter().any(|(n, _)| *n == name) {
                        return Err(serde::de::Error::custom(format!(
                            "argument '{name}' is given twice"
                        )));
                    }
                    out.push((name, value));
                }
                Ok(out)
            }
        }
        d.deserialize_map(Pairs(PhantomData))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DebugSettings {
    /// Record an ERROR event for each failure (on by default).
    #[serde(default = "yes")]
    pub failures_enabled: bool,
    /// Record a DEBUG event for every run.
    #[serde(default)]
    pub all_enabled: bool,
    /// Every run is recorded until this time (ms), when set.
    #[serde(default)]
    pub all_enabled_until: i64,
}

fn yes() -> bool {
    true
}

impl DebugSettings {
    pub fn debug_all(&self, now: i64) -> bool {
        self.all_enabled || self.all_enabled_until > now
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CalculatedField {
    pub id: CalculatedFieldId,
    pub created_time: i64,
    pub tenant_id: TenantId,
    pub entity_id: EntityId,
    #[serde(rename = "type")]
    pub kind: FieldKind,
    pub name: String,
    pub debug_settings: DebugSettings,
    pub configuration_version: i32,
    pub configuration: Configuration,
    pub version: i64,
    pub additional_info: Option<Value>,
}

/// What a client sends to create or update a field.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CalculatedFieldInput {
    #[serde(default)]
    pub id: Option<CalculatedFieldId>,
    pub entity_id: EntityId,
    #[serde(rename = "type")]
    pub kind: FieldKind,
    pub name: String,
    #[serde(default)]
    pub debug_settings: Option<DebugSettings>,
    #[serde(default)]
    pub configuration_version: i32,
    pub configuration: Configuration,
    #[serde(default)]
    pub version: Option<i64>,
    #[serde(default)]
    pub additional_info: Option<Value>,
}

fn invalid(msg: impl Into<String>) -> ValidationError {
    ValidationError::new(msg)
}

/// Argument names are the variables of an expression: a letter or `_`,
/// then letters, digits or `_`.
fn check_argument_name(name: &str) -> Result<(), ValidationError> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !first_ok || name.len() > 64 || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(invalid(format!(
            "Argument name '{}' must start with a letter or '_' and hold only letters, digits and '_' (at most 64)",
            name.escape_debug()
        )));
    }
    if name == "ctx" {
        return Err(invalid("Argument name 'ctx' is reserved"));
    }
    Ok(())
}

fn check_argument(kind: FieldKind, name: &str, arg: &Argument) -> Result<(), ValidationError> {
    check_argument_name(name)?;
    check_key(&arg.ref_entity_key.key).map_err(|e| invalid(format!("Argument '{name}': {e}")))?;
    if let Some(r) = arg.ref_entity_id
        && !matches!(
            r.entity_type,
            EntityType::Device | EntityType::Asset | EntityType::Customer
        )
    {
        return Err(invalid(format!(
            "Argument '{name}': refEntityId must be a device, an asset or a customer"
        )));
    }
    match arg.ref_entity_key.kind {
        ArgumentKind::TsRolling => {
            if kind == FieldKind::Simple {
                return Err(invalid(format!(
                    "Argument '{name}': SIMPLE fields take single values; TS_ROLLING needs a WASM field"
                )));
            }
            if arg.time_window.is_none_or(|w| w <= 0) {
                return Err(invalid(format!(
                    "Argument '{name}': TS_ROLLING needs a positive timeWindow (ms)"
                )));
            }
            if arg.limit.is_some_and(|l| l == 0 || l > MAX_ROLLING_POINTS) {
                return Err(invalid(format!(
                    "Argument '{name}': limit must be 1 to {MAX_ROLLING_POINTS}"
                )));
            }
        }
        ArgumentKind::Attribute | ArgumentKind::TsLatest => {}
    }
    if let Some(default) = &arg.default_value {
        if default.len() > 1024 {
            return Err(invalid(format!(
                "Argument '{name}': defaultValue is longer than 1024 bytes"
            )));
        }
        if kind == FieldKind::Simple && default.trim().parse::<f64>().is_err() {
            return Err(invalid(format!(
                "Argument '{name}': defaultValue must be a number in a SIMPLE field"
            )));
        }
    }
    Ok(())
}

fn check_output(output: Option<&Output>) -> Result<(), ValidationError> {
    let output = output.ok_or_else(|| invalid("A SIMPLE field needs an output"))?;
    let name = output.name.as_deref().unwrap_or("");
    check_key(name).map_err(|_| invalid("Output name must be 1 to 255 bytes"))?;
    if output.decimals_by_default.is_some_and(|d| d > MAX_DECIMALS) {
        return Err(invalid(format!(
            "Output decimalsByDefault must be 0 to {MAX_DECIMALS}"
        )));
    }
    if output.kind == OutputKind::Attributes && output.scope == Some(Scope::Client) {
        return Err(invalid(
            "Output attributes go to SERVER_SCOPE or SHARED_SCOPE; CLIENT_SCOPE is the device's",
        ));
    }
    Ok(())
}

impl CalculatedFieldInput {
    /// Everything that can be checked without the store or the expression
    /// parser (the service parses SIMPLE expressions and looks up
    /// extensions and referenced entities).
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_required(
            "name",
            &self.name,
            "Calculated field name should be specified!",
        )?;
        if !matches!(
            self.entity_id.entity_type,
            EntityType::Device | EntityType::Asset
        ) {
            return Err(invalid("Calculated fields belong to a device or an asset"));
        }
        let config = &self.configuration;
        if config.kind != self.kind {
            return Err(invalid(format!(
                "configuration.type {} does not match the field's type {}",
                config.kind.as_str(),
                self.kind.as_str()
            )));
        }
        match self.kind {
            FieldKind::Script => {
                return Err(invalid(
                    "SCRIPT (TBEL) calculated fields are not supported: use SIMPLE, or WASM with an extension",
                ));
            }
            FieldKind::Simple => {
                let expression = config.expression.as_deref().unwrap_or("");
                if expression.trim().is_empty() {
                    return Err(invalid("A SIMPLE field needs an expression"));
                }
                if expression.len() > MAX_EXPRESSION_LEN {
                    return Err(invalid(format!(
                        "The expression is longer than {MAX_EXPRESSION_LEN} bytes"
                    )));
                }
                check_output(config.output.as_ref())?;
            }
            FieldKind::Wasm => {
                if config.extension_id.is_none() {
                    return Err(invalid("A WASM field needs an extensionId"));
                }
                check_optional_settings(config.settings.as_ref())?;
            }
        }
        if config.arguments.is_empty() || config.arguments.len() > MAX_ARGUMENTS {
            return Err(invalid(format!(
                "A calculated field takes 1 to {MAX_ARGUMENTS} arguments"
            )));
        }
        for (name, arg) in &config.arguments {
            check_argument(self.kind, name, arg)?;
        }
        if self.kind == FieldKind::Simple {
            // Compiled here so that a bad expression is the caller's 400,
            // not a field that silently never runs.
            let names: Vec<&str> = config.arguments.iter().map(|(n, _)| n.as_str()).collect();
            Expression::compile(config.expression.as_deref().unwrap_or(""), &names)?;
        }
        check_additional_info(self.additional_info.as_ref())
    }
}

impl CalculatedField {
    pub fn create(tenant_id: TenantId, input: CalculatedFieldInput, now: i64) -> Self {
        CalculatedField {
            id: CalculatedFieldId::new(),
            created_time: now,
            tenant_id,
            entity_id: input.entity_id,
            kind: input.kind,
            name: input.name,
            debug_settings: input.debug_settings.unwrap_or(DebugSettings {
                failures_enabled: true,
                ..DebugSettings::default()
            }),
            configuration_version: input.configuration_version,
            configuration: input.configuration,
            version: 1,
            additional_info: input.additional_info,
        }
    }

    /// This field changed as `input` says; id, owner entity and creation stay.
    pub fn updated(&self, input: CalculatedFieldInput) -> Self {
        CalculatedField {
            kind: input.kind,
            name: input.name,
            debug_settings: input
                .debug_settings
                .unwrap_or_else(|| self.debug_settings.clone()),
            configuration_version: input.configuration_version,
            configuration: input.configuration,
            additional_info: input.additional_info,
            version: self.version + 1,
            ..self.clone()
        }
    }

    /// The extension a WASM field runs.
    pub fn extension(&self) -> Option<ExtensionId> {
        self.configuration.extension_id
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use uuid::Uuid;

    use super::*;

    fn input(config: Value) -> Result<CalculatedFieldInput, serde_json::Error> {
        serde_json::from_value(json!({
            "entityId": {"entityType": "DEVICE", "id": Uuid::new_v4()},
            "type": config["type"],
            "name": "dew point",
            "configuration": config,
        }))
    }

    fn simple() -> Value {
        json!({
            "type": "SIMPLE",
            "arguments": {
                "t": {"refEntityKey": {"key": "temperature", "type": "TS_LATEST"}},
                "h": {"refEntityKey": {"key": "humidity", "type": "ATTRIBUTE", "scope": "CLIENT_SCOPE"}, "defaultValue": "50"}
            },
            "expression": "t - (100 - h) / 5",
            "output": {"type": "TIME_SERIES", "name": "dewPoint", "decimalsByDefault": 2}
        })
    }

    #[test]
    fn arguments_keep_their_order_through_a_round_trip() {
        // From text: a `serde_json::Value` would have sorted them already.
        let raw = r#"{"entityId":{"entityType":"DEVICE","id":"13814000-1dd2-11b2-8080-808080808080"},
            "type":"SIMPLE","name":"x","configuration":{"type":"SIMPLE","expression":"t - h",
            "output":{"type":"TIME_SERIES","name":"x"},
            "arguments":{"t":{"refEntityKey":{"key":"a","type":"TS_LATEST"}},"h":{"refEntityKey":{"key":"b","type":"TS_LATEST"}}}}}"#;
        let i: CalculatedFieldInput = serde_json::from_str(raw).unwrap();
        i.validate().unwrap();
        let names: Vec<&str> = i
            .configuration
            .arguments
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(names, ["t", "h"]);
        let field = CalculatedField::create(TenantId::new(), i, 1);
        let back: CalculatedField =
            serde_json::from_slice(&serde_json::to_vec(&field).unwrap()).unwrap();
        assert_eq!(back, field);
        assert_eq!(back.configuration.arguments[0].0, "t");
    }

    #[test]
    fn the_wire_shape_is_thingsboards() {
        let field = CalculatedField::create(TenantId::new(), input(simple()).unwrap(), 7);
        let json = serde_json::to_value(&field).unwrap();
        assert_eq!(json["id"]["entityType"], "CALCULATED_FIELD");
        assert_eq!(json["type"], "SIMPLE");
        assert_eq!(
            json["configuration"]["arguments"]["h"]["refEntityKey"]["scope"],
            "CLIENT_SCOPE"
        );
        assert_eq!(json["configuration"]["output"]["decimalsByDefault"], 2);
        assert_eq!(json["debugSettings"]["failuresEnabled"], true);
    }

    #[test]
    fn bad_configurations_are_refused_with_a_reason() {
        let cases: Vec<(Value, &str)> = vec![
            (
                json!({"type": "SCRIPT", "arguments": {}, "expression": "return 1;"}),
                "not supported",
            ),
            (
                json!({"type": "SIMPLE", "arguments": {}, "expression": "1", "output": {"type": "TIME_SERIES", "name": "x"}}),
                "1 to 10",
            ),
            (
                json!({"type": "SIMPLE", "arguments": {"t": {"refEntityKey": {"key": "a", "type": "TS_LATEST"}}}, "output": {"type": "TIME_SERIES", "name": "x"}}),
                "needs an expression",
            ),
            (
                json!({"type": "SIMPLE", "arguments": {"t": {"refEntityKey": {"key": "a", "type": "TS_LATEST"}}}, "expression": "t"}),
                "needs an output",
            ),
            (
                json!({"type": "SIMPLE", "arguments": {"1t": {"refEntityKey": {"key": "a", "type": "TS_LATEST"}}}, "expression": "1", "output": {"type": "TIME_SERIES", "name": "x"}}),
                "must start with",
            ),
            (
                json!({"type": "SIMPLE", "arguments": {"t": {"refEntityKey": {"key": "a", "type": "TS_ROLLING"}, "timeWindow": 5}}, "expression": "t", "output": {"type": "TIME_SERIES", "name": "x"}}),
                "single values",
            ),
            (
                json!({"type": "SIMPLE", "arguments": {"t": {"refEntityKey": {"key": "a", "type": "TS_LATEST"}, "defaultValue": "warm"}}, "expression": "t", "output": {"type": "TIME_SERIES", "name": "x"}}),
                "must be a number",
            ),
            (
                json!({"type": "SIMPLE", "arguments": {"t": {"refEntityKey": {"key": "", "type": "TS_LATEST"}}}, "expression": "t", "output": {"type": "TIME_SERIES", "name": "x"}}),
                "invalid key",
            ),
            (
                json!({"type": "SIMPLE", "arguments": {"t": {"refEntityKey": {"key": "a", "type": "TS_LATEST"}}}, "expression": "t", "output": {"type": "TIME_SERIES", "name": "x", "decimalsByDefault": 40}}),
                "decimalsByDefault",
            ),
            (
                json!({"type": "WASM", "arguments": {"t": {"refEntityKey": {"key": "a", "type": "TS_LATEST"}}}}),
                "extensionId",
            ),
            (
                json!({"type": "WASM", "extensionId": {"id": Uuid::new_v4()}, "settings": [1], "arguments": {"t": {"refEntityKey": {"key": "a", "type": "TS_LATEST"}}}}),
                "JSON object",
            ),
            (
                json!({"type": "WASM", "extensionId": {"id": Uuid::new_v4()}, "arguments": {"t": {"refEntityKey": {"key": "a", "type": "TS_ROLLING"}}}}),
                "timeWindow",
            ),
            (
                json!({"type": "WASM", "extensionId": {"id": Uuid::new_v4()}, "arguments": {"t": {"refEntityKey": {"key": "a", "type": "TS_ROLLING"}, "timeWindow": 10, "limit": 5000}}}),
                "limit",
            ),
        ];
        for (config, reason) in cases {
            let err = input(config.clone()).unwrap().validate().unwrap_err();
            assert!(err.0.contains(reason), "{config}: {err}");
        }
    }

    #[test]
    fn a_repeated_argument_name_is_a_parse_error() {
        let raw = r#"{"entityId":{"entityType":"DEVICE","id":"13814000-1dd2-11b2-8080-808080808080"},
            "type":"SIMPLE","name":"x","configuration":{"type":"SIMPLE","expression":"t",
            "output":{"type":"TIME_SERIES","name":"x"},
            "arguments":{"t":{"refEntityKey":{"key":"a","type":"TS_LATEST"}},"t":{"refEntityKey":{"key":"b","type":"TS_LATEST"}}}}}"#;
        let err = serde_json::from_str::<CalculatedFieldInput>(raw).unwrap_err();
        assert!(err.to_string().contains("given twice"), "{err}");
    }

    #[test]
    fn fields_belong_to_devices_and_assets_only() {
        let mut i = input(simple()).unwrap();
        i.entity_id.entity_type = EntityType::Customer;
        assert!(i.validate().unwrap_err().0.contains("device or an asset"));
    }
}
