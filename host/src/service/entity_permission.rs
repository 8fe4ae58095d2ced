//! Whether the caller may do an operation on one entity (ThingsBoard PE's
//! `GET /api/permission/{entityType}/{entityId}/{operation}`): the same
//! finding and checking each entity's own use cases do, answered as yes or
//! no. As in ThingsBoard, an entity that is missing, another tenant's or
//! not the caller's to act on is a plain `false`.

use crate::auth::Caller;
use crate::auth::permissions::{DataKind, Operation};
use crate::domain::asset::Asset;
use crate::domain::device::Device;
use crate::domain::ids::{
    AlarmId, CalculatedFieldId, CustomerId, DashboardId, EntityGroupId, EntityId, EntityType,
    ExtensionId, GroupPermissionId, RoleId, TenantId, UserId,
};
use crate::domain::role::OPERATIONS;
use crate::store::{KvRead, calculated_fields as stored_fields, customers, tenants};

use super::{App, ServiceError, ServiceResult};

/// What an operation, as roles name it, asks of Clientele's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asked {
    /// READ, CREATE, WRITE, DELETE on the entity itself.
    Plain(Operation),
    /// ALL: reading, changing and deleting it.
    All,
    /// READ_/WRITE_ATTRIBUTES, READ_/WRITE_TELEMETRY.
    Data(DataKind, Operation),
    /// READ_/WRITE_CREDENTIALS: a user's login, a device's access token.
    Credentials(Operation),
    /// CHANGE_OWNER: what a move asks of the entity itself (the new owner
    /// is checked when it is named).
    ChangeOwner,
    /// ADD_TO_GROUP, REMOVE_FROM_GROUP, SHARE_GROUP: changing a group.
    GroupChange,
    /// READ_/WRITE_CALCULATED_FIELD: an entity's calculated fields.
    Fields(Operation),
    /// RPC_CALL, IMPERSONATE, CLAIM_DEVICES, ASSIGN_TO_TENANT: nothing
    /// Clientele does, so nobody may.
    Unsupported,
}

/// Reads an operation's name (exactly as roles spell it): 400 for one that
/// is not an operation.
fn asked(name: &str) -> ServiceResult<Asked> {
    use Operation::{Create, Delete, Read, Write};
    Ok(match name {
        "ALL" => Asked::All,
        "READ" => Asked::Plain(Read),
        "CREATE" => Asked::Plain(Create),
        "WRITE" => Asked::Plain(Write),
        "DELETE" => Asked::Plain(Delete),
        "READ_ATTRIBUTES" => Asked::Data(DataKind::Attributes, Read),
        "WRITE_ATTRIBUTES" => Asked::Data(DataKind::Attributes, Write),
        "READ_TELEMETRY" => Asked::Data(DataKind::Telemetry, Read),
        "WRITE_TELEMETRY" => Asked::Data(DataKind::Telemetry, Write),
        "READ_CREDENTIALS" => Asked::Credentials(Read),
        "WRITE_CREDENTIALS" => Asked::Credentials(Write),
        "CHANGE_OWNER" => Asked::ChangeOwner,
        "ADD_TO_GROUP" | "REMOVE_FROM_GROUP" | "SHARE_GROUP" => Asked::GroupChange,
        "READ_CALCULATED_FIELD" => Asked::Fields(Read),
        "WRITE_CALCULATED_FIELD" => Asked::Fields(Write),
        other if OPERATIONS.contains(&other) => Asked::Unsupported,
        other => {
            return Err(ServiceError::invalid(format!(
                "Invalid operation: '{other}'. Supported: {}",
                OPERATIONS.join(", ")
            )));
        }
    })
}

/// Finds `entity` in the caller's tenant and checks `op` on it as the
/// entity's own use cases do.
fn check_plain(
    view: &dyn KvRead,
    caller: &Caller,
    entity: EntityId,
    op: Operation,
) -> ServiceResult<()> {
    let (tenant, id) = (caller.tenant_id, entity.id);
    match entity.entity_type {
        EntityType::Tenant => {
            tenants::get(view, TenantId(id))?.ok_or_else(ServiceError::not_found)?;
            super::tenants::check(caller, op, TenantId(id))
        }
        EntityType::Customer => {
            let c = customers::get(view, tenant, CustomerId(id))?
                .ok_or_else(ServiceError::not_found)?;
            super::customers::check(caller, op, &c)
        }
        EntityType::User => {
            let u = super::users::find(view, caller, UserId(id))?;
            super::users::check(caller, op, &u)
        }
        EntityType::Device => super::assignable::find::<Device>(view, caller, id, op).map(drop),
        EntityType::Asset => super::assignable::find::<Asset>(view, caller, id, op).map(drop),
        EntityType::Dashboard => {
            super::dashboards::find(view, caller, DashboardId(id), op).map(drop)
        }
        EntityType::EntityGroup => {
            super::entity_groups::find(view, caller, EntityGroupId(id), op).map(drop)
        }
        EntityType::Role => super::roles::find(view, caller, RoleId(id), op).map(drop),
        EntityType::GroupPermission => {
            super::group_permissions::find(view, caller, GroupPermissionId(id), op).map(drop)
        }
        EntityType::Alarm => super::alarms::find(view, caller, AlarmId(id), op).map(drop),
        EntityType::Extension => {
            super::extensions::find(view, caller, ExtensionId(id), op).map(drop)
        }
        EntityType::CalculatedField => {
            super::calculated_fields::manage(caller, op)?;
            if stored_fields::exists(view, tenant, CalculatedFieldId(id))? {
                Ok(())
            } else {
                Err(ServiceError::not_found())
            }
        }
    }
}

fn check(view: &dyn KvRead, caller: &Caller, entity: EntityId, asked: Asked) -> ServiceResult<()> {
    use Operation::{Delete, Read, Write};
    match asked {
        Asked::Plain(op) => check_plain(view, caller, entity, op),
        Asked::All => [Read, Write, Delete]
            .into_iter()
            .try_for_each(|op| check_plain(view, caller, entity, op)),
        Asked::Data(kind, op) => {
            super::access::require_data(view, caller, entity, kind, op).map(drop)
        }
        Asked::Credentials(op) => match entity.entity_type {
            EntityType::User => {
                let u = super::users::find(view, caller, UserId(entity.id))?;
                super::users::check_credentials(caller, op, &u)
            }
            // A device's token, read or replaced, takes the right to change it.
            EntityType::Device => check_plain(view, caller, entity, Write),
            _ => Err(ServiceError::Forbidden),
        },
        Asked::ChangeOwner => match entity.entity_type {
            EntityType::Customer
            | EntityType::User
            | EntityType::Device
            | EntityType::Asset
            | EntityType::Dashboard => check_plain(view, caller, entity, Write),
            _ => Err(ServiceError::Forbidden),
        },
        Asked::GroupChange => match entity.entity_type {
            EntityType::EntityGroup => check_plain(view, caller, entity, Write),
            _ => Err(ServiceError::Forbidden),
        },
        Asked::Fields(op) => {
            check_plain(view, caller, entity, Read)?;
            super::calculated_fields::manage(caller, op)
        }
        Asked::Unsupported => Err(ServiceError::Forbidden),
    }
}

impl App {
    /// Whether `caller` may do `operation` (a role operation's name, e.g.
    /// `READ`, `WRITE_TELEMETRY`) on `entity`. An unknown operation is
    /// invalid (400); a missing entity, or one the caller may not act on,
    /// is `false`.
    pub async fn has_entity_permission(
        &self,
        caller: &Caller,
        entity: EntityId,
        operation: &str,
    ) -> ServiceResult<bool> {
        let asked = asked(operation)?;
        let snapshot = self.store.snapshot()?;
        match check(&*snapshot, caller, entity, asked) {
            Ok(()) => Ok(true),
            Err(ServiceError::Forbidden | ServiceError::NotFound(_) | ServiceError::Invalid(_)) => {
                Ok(false)
            }
            Err(other) => Err(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_roles_name_is_understood_and_nothing_else() {
        for name in OPERATIONS {
            assert!(asked(name).is_ok(), "{name}");
        }
        assert_eq!(asked("READ").unwrap(), Asked::Plain(Operation::Read));
        assert_eq!(asked("RPC_CALL").unwrap(), Asked::Unsupported);
        for bad in ["read", "FLY", ""] {
            assert!(matches!(asked(bad), Err(ServiceError::Invalid(_))), "{bad}");
        }
    }
}
