//! `POST /api/calculatedField/testScript`: a SIMPLE expression, or a WASM
//! extension with its settings, run on sample arguments. A bad expression,
//! argument or guest failure is the run's `error`, as in ThingsBoard, not
//! an HTTP error.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use crate::auth::Caller;
use crate::auth::permissions::Operation;
use crate::domain::calculated_field::{MAX_ARGUMENTS, MAX_EXPRESSION_LEN, ordered};
use crate::domain::expression::Expression;
use crate::domain::extension::{check_optional_settings, guest_settings};
use crate::domain::ids::{ExtensionId, now_ms};
use crate::domain::telemetry::DataValue;
use crate::wasm::{self, AccessScope, ArgumentValue, EntityRef, FieldSetup, GuestHost, World};

use super::super::guest_host::{ServiceHost, data_value};
use super::super::{App, ServiceError, ServiceResult};
use super::compute::ArgValue;
use super::manage;
use super::wasm_run::guest_arguments;

/// An argument of a test run, as ThingsBoard's `testScript` takes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TestArgument {
    SingleValue {
        #[serde(default)]
        ts: Option<i64>,
        value: Value,
    },
    TsRolling {
        #[serde(default)]
        values: Vec<TestPoint>,
    },
}

#[derive(Debug, Clone, Deserialize)]
pub struct TestPoint {
    pub ts: i64,
    pub value: Value,
}

/// What to run: `expression` (SIMPLE), or `extensionId` with `settings`
/// (WASM); the arguments in the order given.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestRequest {
    #[serde(default)]
    pub expression: Option<String>,
    #[serde(default)]
    pub extension_id: Option<ExtensionId>,
    #[serde(default)]
    pub settings: Option<Value>,
    #[serde(default, with = "ordered")]
    pub arguments: Vec<(String, TestArgument)>,
}

/// `{"output": "...", "error": "..."}`, as ThingsBoard answers a test:
/// the output is JSON text (a number, or `{"key": value}` for a guest).
#[derive(Debug, Clone, serde::Serialize)]
pub struct TestResult {
    pub output: String,
    pub error: String,
}

impl TestResult {
    fn of(outcome: Result<Value, String>) -> TestResult {
        match outcome {
            Ok(v) => TestResult {
                output: v.to_string(),
                error: String::new(),
            },
            Err(error) => TestResult {
                output: String::new(),
                error,
            },
        }
    }
}

fn simple(expression: &str, arguments: &[(String, TestArgument)]) -> Result<Value, String> {
    let names: Vec<&str> = arguments.iter().map(|(n, _)| n.as_str()).collect();
    let expression = Expression::compile(expression, &names).map_err(|e| e.0)?;
    let mut values = Vec::with_capacity(arguments.len());
    for (name, arg) in arguments {
        let TestArgument::SingleValue { value, .. } = arg else {
            return Err(format!("argument '{name}': SIMPLE takes single values"));
        };
        let number = DataValue::from_json(value)
            .and_then(|v| v.as_f64())
            .ok_or_else(|| format!("argument '{name}' is not a number"))?;
        values.push(number);
    }
    Ok(DataValue::Double(expression.eval(&values)?).to_json())
}

/// The sample arguments as a field's run reads them from the store, so
/// that they reach the guest the way stored ones do ([`guest_arguments`]).
/// A null is no value, as in the store.
fn arg_values(arguments: &[(String, TestArgument)], now: i64) -> Vec<(String, ArgValue)> {
    arguments
        .iter()
        .map(|(name, arg)| {
            let value = match arg {
                TestArgument::SingleValue { ts, value } => {
                    ArgValue::Single(DataValue::from_json(value).map(|v| (ts.unwrap_or(now), v)))
                }
                TestArgument::TsRolling { values } => ArgValue::Rolling(
                    values
                        .iter()
                        .filter_map(|p| Some((p.ts, DataValue::from_json(&p.value)?)))
                        .collect(),
                ),
            };
            (name.clone(), value)
        })
        .collect()
}

impl App {
    pub async fn test_calculated_field(
        &self,
        caller: &Caller,
        request: TestRequest,
    ) -> ServiceResult<TestResult> {
        manage(caller, Operation::Read)?;
        if request.arguments.len() > MAX_ARGUMENTS {
            return Err(ServiceError::invalid("Too many arguments"));
        }
        match (&request.expression, request.extension_id) {
            (Some(expression), None) => {
                if expression.len() > MAX_EXPRESSION_LEN {
                    return Err(ServiceError::invalid("The expression is too long"));
                }
                Ok(TestResult::of(simple(expression, &request.arguments)))
            }
            (None, Some(id)) => {
                let extension =
                    self.extension_of_world(caller.tenant_id, id, World::CalculatedField)?;
                check_optional_settings(request.settings.as_ref())?;
                let setup = FieldSetup {
                    settings_json: guest_settings(request.settings.as_ref()),
                    argument_names: request.arguments.iter().map(|(n, _)| n.clone()).collect(),
                };
                let now = now_ms();
                let args = guest_arguments(&arg_values(&request.arguments, now));
                let host: Arc<dyn GuestHost> =
                    ServiceHost::new(&self.store, &self.series, caller.tenant_id);
                let tenant = caller.tenant_id.0;
                let outcome = self
                    .blocking(move || {
                        // No entity: the guest's reads of "its" entity find nothing.
                        let entity = EntityRef::device(Uuid::nil());
                        let scope = AccessScope::for_entity(tenant, None, entity);
                        Ok(run_guest(
                            &extension, &host, &scope, entity, &setup, &args, now,
                        ))
                    })
                    .await?;
                Ok(TestResult::of(outcome))
            }
            _ => Err(ServiceError::invalid(
                "Give either an expression or an extensionId",
            )),
        }
    }
}

fn run_guest(
    extension: &wasm::Extension,
    host: &Arc<dyn GuestHost>,
    scope: &AccessScope,
    entity: EntityRef,
    setup: &FieldSetup,
    args: &[ArgumentValue],
    now: i64,
) -> Result<Value, String> {
    let outputs = extension
        .compute(host, scope, entity, setup, args, now)
        .map_err(|e| e.to_string())?;
    Ok(Value::Object(
        outputs
            .into_iter()
            .map(|o| (o.key, data_value(&o.value).to_json()))
            .collect(),
    ))
}
