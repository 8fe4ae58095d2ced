//! Customer logic bindings: a `customer-logic` extension bound to a
//! customer, with the settings its `init` receives. The extension then
//! hears of that customer's events (telemetry, attribute changes, and the
//! lifecycle of its devices and assets) and may act on that customer's
//! entities only. Clientele's own entity, in ThingsBoard's JSON style.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ids::{CustomerId, ExtensionId, TenantId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogicBinding {
    pub tenant_id: TenantId,
    pub customer_id: CustomerId,
    pub extension_id: ExtensionId,
    /// Handed to the guest's `init` as JSON.
    pub settings: Value,
    pub created_time: i64,
    pub version: i64,
}
