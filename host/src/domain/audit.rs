//! Audit records: who did what to which entity, and whether it worked.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::ids::{CustomerId, EntityId, TenantId, UserId};

/// ThingsBoard's audit action types (the ones Clientele records so far, and
/// the rest of the list so that filters naming them parse).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ActionType {
    Added,
    Deleted,
    Updated,
    AttributesUpdated,
    AttributesDeleted,
    AttributesRead,
    TimeseriesUpdated,
    TimeseriesDeleted,
    RpcCall,
    CredentialsUpdated,
    CredentialsRead,
    AssignedToCustomer,
    UnassignedFromCustomer,
    Activated,
    Suspended,
    RelationAddOrUpdate,
    RelationDeleted,
    RelationsDeleted,
    AlarmAck,
    AlarmClear,
    AlarmDelete,
    AlarmAssigned,
    AlarmUnassigned,
    Login,
    Logout,
    Lockout,
    AssignedFromTenant,
    AssignedToTenant,
    /// ThingsBoard PE: a customer, device or asset moved to another owner.
    ChangeOwner,
    /// ThingsBoard PE: entities put into or taken out of a named group.
    AddedToEntityGroup,
    RemovedFromEntityGroup,
    /// ThingsBoard PE: an entity group made public, or private again.
    MadePublic,
    MadePrivate,
}

impl std::str::FromStr for ActionType {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        serde_json::from_value(Value::String(s.trim().to_owned())).map_err(|_| ())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ActionStatus {
    Success,
    Failure,
}

/// The id of an audit record: ThingsBoard sends it without an entity type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditLogId {
    pub id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditLog {
    pub id: AuditLogId,
    pub created_time: i64,
    pub tenant_id: TenantId,
    pub customer_id: CustomerId,
    pub entity_id: Option<EntityId>,
    pub entity_name: Option<String>,
    pub user_id: UserId,
    pub user_name: String,
    pub action_type: ActionType,
    pub action_data: Value,
    pub action_status: ActionStatus,
    pub action_failure_details: Option<String>,
}
