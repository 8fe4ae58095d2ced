//! Building audit records (written in the same transaction as the change they
//! describe) and reading them back.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::Caller;
use crate::auth::permissions::{Operation, Resource, Target, require};
use crate::domain::audit::{ActionStatus, ActionType, AuditLog, AuditLogId};
use crate::domain::ids::{
    CustomerId, EntityId, NULL_UUID, TenantId, UserId, new_time_uuid, now_ms,
};
use crate::domain::page::{PageData, PageLink};
use crate::domain::user::Authority;
use crate::store::Changes;
use crate::store::audit_log::{self, AuditQuery, Subject};

use super::{App, ServiceError, ServiceResult};

/// Who acted: a caller, or (for logins) the user trying to log in.
#[derive(Debug, Clone)]
pub struct Actor {
    pub tenant: TenantId,
    pub customer: CustomerId,
    pub user: UserId,
    pub name: String,
}

impl Actor {
    /// The service acting on its own, for no user (a guest raising an
    /// alarm): the null user id, named "System".
    pub fn system(tenant: TenantId) -> Self {
        Actor {
            tenant,
            customer: CustomerId::NULL,
            user: UserId(NULL_UUID),
            name: "System".to_owned(),
        }
    }
}

impl From<&Caller> for Actor {
    fn from(c: &Caller) -> Self {
        Actor {
            tenant: c.tenant_id,
            customer: c.customer_id,
            user: c.user_id,
            name: c.email.clone(),
        }
    }
}

/// A successful action on `entity` (named `name`), under `customer`.
pub fn record(
    actor: &Actor,
    customer: CustomerId,
    entity: Option<(EntityId, &str)>,
    action: ActionType,
    data: Value,
) -> AuditLog {
    AuditLog {
        id: AuditLogId {
            id: new_time_uuid(),
        },
        created_time: now_ms(),
        tenant_id: actor.tenant,
        customer_id: customer,
        entity_id: entity.map(|(id, _)| id),
        entity_name: entity.map(|(_, n)| n.to_owned()),
        user_id: actor.user,
        user_name: actor.name.clone(),
        action_type: action,
        action_data: data,
        action_status: ActionStatus::Success,
        action_failure_details: None,
    }
}

/// Records a successful action in the same job as the change it describes.
pub fn stage_record(
    changes: &mut Changes,
    actor: &Actor,
    customer: CustomerId,
    entity: Option<(EntityId, &str)>,
    action: ActionType,
    data: Value,
) {
    audit_log::append(changes, &record(actor, customer, entity, action, data));
}

/// A failed action, with why.
pub fn failure(
    actor: &Actor,
    entity: Option<(EntityId, &str)>,
    action: ActionType,
    why: &str,
) -> AuditLog {
    AuditLog {
        action_status: ActionStatus::Failure,
        action_failure_details: Some(why.to_owned()),
        ..record(actor, actor.customer, entity, action, json!({}))
    }
}

/// Which records a listing asks for.
#[derive(Debug, Clone)]
pub enum AuditScope {
    Tenant,
    Customer(CustomerId),
    User(UserId),
    Entity(EntityId),
}

impl App {
    /// Audit records: for a tenant administrator, its tenant's, whole or
    /// by subject; for a customer user, see [`App::customer_audit_subject`].
    pub async fn audit_logs(
        &self,
        caller: &Caller,
        scope: AuditScope,
        start_time: Option<i64>,
        end_time: Option<i64>,
        action_types: Option<Vec<ActionType>>,
        page: PageLink,
    ) -> ServiceResult<PageData<AuditLog>> {
        page.check_sort(&["createdTime"])?;
        let subject: Option<(Subject, Uuid)> = if caller.authority == Authority::CustomerUser {
            Some(self.customer_audit_subject(caller, scope).await?)
        } else {
            let tenant = Target::tenant(caller.tenant_id);
            require(caller, Resource::AuditLog, Operation::Read, &tenant)?;
            match scope {
                AuditScope::Tenant => None,
                AuditScope::Customer(c) => Some((Subject::Customer, c.0)),
                AuditScope::User(u) => Some((Subject::User, u.0)),
                AuditScope::Entity(e) => Some((Subject::Entity, e.id)),
            }
        };
        let query = AuditQuery {
            tenant: caller.tenant_id,
            subject,
            start_time,
            end_time,
            action_types,
            page,
        };
        let snapshot = self.store.snapshot()?;
        self.blocking(move || audit_log::query(&*snapshot, &query).map_err(ServiceError::from))
            .await
    }

    /// What a customer user may read of the audit log, as ThingsBoard
    /// Professional Edition lets a customer administrator: the records
    /// under its own customer (`/api/audit/logs`), under a customer of its
    /// subtree, of a user it may read, or of an entity it may read. Each
    /// takes the right to read audit logs where the records are: the
    /// "Customer Administrator" role has it, "Customer User" does not.
    async fn customer_audit_subject(
        &self,
        caller: &Caller,
        scope: AuditScope,
    ) -> ServiceResult<(Subject, Uuid)> {
        let (under, subject) = match scope {
            AuditScope::Tenant => (
                caller.customer_id,
                (Subject::Customer, caller.customer_id.0),
            ),
            AuditScope::Customer(c) => (c, (Subject::Customer, c.0)),
            AuditScope::User(u) => {
                let snapshot = self.store.snapshot()?;
                let user = super::users::find(&*snapshot, caller, u)?;
                super::users::check(caller, Operation::Read, &user)?;
                (user.customer_id, (Subject::User, u.0))
            }
            AuditScope::Entity(e) => {
                if !self.has_entity_permission(caller, e, "READ").await? {
                    return Err(ServiceError::Forbidden);
                }
                (caller.customer_id, (Subject::Entity, e.id))
            }
        };
        let target = Target::customer(caller.tenant_id, under);
        require(caller, Resource::AuditLog, Operation::Read, &target)?;
        Ok(subject)
    }
}
