//! The host side of the WIT imports (`data`, `data-write`, `alarms`, `log`):
//! every entity a guest names is checked against the invocation's
//! [`AccessScope`], every call is counted, every value is validated, and
//! only then is the service's [`GuestHost`] asked.

use std::fmt;
use std::sync::Arc;

use uuid::Uuid;

use super::bindings::types::{
    AlarmSeverity, AttributeScope, EntityId, EntityType, Error as GuestError, KeyValue, TsKv,
};
use super::bindings::{alarms, data, data_write, log, types};
use super::limits::MAX_LOG_MESSAGE_BYTES;
use super::state::HostState;
use super::validate::{self, Refusal};

pub use super::bindings::log::Level as LogLevel;

/// The kinds of entity a guest can name (WIT `entity-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntityKind {
    Device,
    Asset,
    Customer,
    Tenant,
}

/// An entity id a guest named, parsed and typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntityRef {
    pub kind: EntityKind,
    pub id: Uuid,
}

impl EntityRef {
    pub fn device(id: Uuid) -> Self {
        EntityRef {
            kind: EntityKind::Device,
            id,
        }
    }

    /// The WIT form, to hand to a guest.
    pub(crate) fn to_wit(self) -> EntityId {
        EntityId {
            entity_type: match self.kind {
                EntityKind::Device => EntityType::Device,
                EntityKind::Asset => EntityType::Asset,
                EntityKind::Customer => EntityType::Customer,
                EntityKind::Tenant => EntityType::Tenant,
            },
            id: self.id.hyphenated().to_string(),
        }
    }

    /// Parses what a guest sent; a malformed UUID is `invalid-argument`.
    pub(crate) fn from_wit(id: &EntityId) -> Result<Self, GuestError> {
        let kind = match id.entity_type {
            EntityType::Device => EntityKind::Device,
            EntityType::Asset => EntityKind::Asset,
            EntityType::Customer => EntityKind::Customer,
            EntityType::Tenant => EntityKind::Tenant,
        };
        let uuid = Uuid::parse_str(&id.id)
            .map_err(|_| GuestError::InvalidArgument(format!("not a UUID: {:.64}", id.id)))?;
        Ok(EntityRef { kind, id: uuid })
    }
}

/// Who owns an entity, as the service knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub tenant_id: Uuid,
    /// `None` when the tenant itself owns it.
    pub customer_id: Option<Uuid>,
}

/// What one invocation may see and change. Anything else is answered with
/// `access-denied` before the [`GuestHost`] is asked, so a guest cannot
/// even learn whether another customer's entity exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessScope {
    /// The tenant the guest runs for; every entity must be this tenant's.
    pub tenant_id: Uuid,
    /// The customer the guest runs for: its own customer entity is in
    /// scope (never the tenant entity).
    pub customer_id: Option<Uuid>,
    /// Entities always in scope: the entity a calculated field belongs to.
    pub entities: Vec<EntityRef>,
    /// Also every device and asset of `customer_id` (customer logic): asked
    /// per entity through [`GuestHost::owner_of`].
    pub customer_entities: bool,
}

impl AccessScope {
    /// Scope of a calculated field of `entity`: that entity and its
    /// customer, if it has one.
    pub fn for_entity(tenant_id: Uuid, customer_id: Option<Uuid>, entity: EntityRef) -> Self {
        AccessScope {
            tenant_id,
            customer_id,
            entities: vec![entity],
            customer_entities: false,
        }
    }

    /// Scope of customer logic bound to `customer_id`: the customer and
    /// every device and asset it owns.
    pub fn for_customer(tenant_id: Uuid, customer_id: Uuid) -> Self {
        AccessScope {
            tenant_id,
            customer_id: Some(customer_id),
            entities: Vec::new(),
            customer_entities: true,
        }
    }

    /// Whether `entity` is in scope. `host` answers ownership questions
    /// for `customer_entities` scopes.
    pub fn allows(&self, entity: &EntityRef, host: &dyn GuestHost) -> bool {
        if self.entities.contains(entity) {
            return true;
        }
        match entity.kind {
            EntityKind::Tenant => false,
            EntityKind::Customer => self.customer_id == Some(entity.id),
            EntityKind::Device | EntityKind::Asset => {
                self.customer_entities
                    && self.customer_id.is_some()
                    && host.owner_of(entity)
                        == Some(Owner {
                            tenant_id: self.tenant_id,
                            customer_id: self.customer_id,
                        })
            }
        }
    }
}

/// What the service gives guests: reads and writes of its store, alarms,
/// logging. Called only with entities that passed the [`AccessScope`] and
/// with validated values; `scope` says for whom (tenant, customer).
///
/// Calls are synchronous and happen on the thread running the guest,
/// within its deadline: keep them short (redb reads, a queued write).
pub trait GuestHost: Send + Sync {
    /// The owner of a device or asset, for [`AccessScope::customer_entities`].
    /// `None` (the default) when unknown: access is then denied.
    fn owner_of(&self, entity: &EntityRef) -> Option<Owner> {
        let _ = entity;
        None
    }

    /// Attributes of `entity` in `attribute_scope`, with their last update
    /// time; all of them when `keys` is empty; missing keys left out.
    fn read_attributes(
        &self,
        scope: &AccessScope,
        entity: &EntityRef,
        attribute_scope: AttributeScope,
        keys: &[String],
    ) -> Result<Vec<TsKv>, GuestError>;

    /// Latest telemetry of `entity`; all keys when `keys` is empty.
    fn read_latest(
        &self,
        scope: &AccessScope,
        entity: &EntityRef,
        keys: &[String],
    ) -> Result<Vec<TsKv>, GuestError>;

    /// Saves telemetry of `entity` (keys, values and timestamps checked).
    fn save_telemetry(
        &self,
        scope: &AccessScope,
        entity: &EntityRef,
        values: Vec<TsKv>,
    ) -> Result<(), GuestError>;

    /// Saves attributes of `entity`; `attribute_scope` is server or shared.
    fn save_attributes(
        &self,
        scope: &AccessScope,
        entity: &EntityRef,
        attribute_scope: AttributeScope,
        values: Vec<KeyValue>,
    ) -> Result<(), GuestError>;

    /// Raises or updates the active alarm of `alarm_type` on `originator`;
    /// `details` is a JSON object.
    fn raise_alarm(
        &self,
        scope: &AccessScope,
        originator: &EntityRef,
        alarm_type: &str,
        severity: AlarmSeverity,
        details: serde_json::Value,
    ) -> Result<(), GuestError>;

    /// Clears the active alarm of `alarm_type` on `originator`; whether
    /// there was one.
    fn clear_alarm(
        &self,
        scope: &AccessScope,
        originator: &EntityRef,
        alarm_type: &str,
    ) -> Result<bool, GuestError>;

    /// A log line from the guest (at most 1 KiB), after the runtime has
    /// traced it. For DEBUG events; the default ignores it.
    fn log(&self, scope: &AccessScope, level: LogLevel, message: &str) {
        let _ = (scope, level, message);
    }
}

/// `?` for the inner (guest-visible) error inside a trappable host function.
macro_rules! guest_try {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return Ok(Err(e)),
        }
    };
}

/// A per-invocation limit crossed by a host call. It is returned as a trap,
/// so the invocation ends at that call: a guest is never left to carry on
/// with part of what it asked for (the WIT docs promise exactly this).
#[derive(Debug)]
pub(crate) enum LimitReached {
    /// One host call more than [`Limits::max_host_calls`](super::Limits).
    HostCalls,
    /// Data to save or alarm details past the invocation's byte budget
    /// (shared with the outputs): what was too large.
    Bytes(String),
}

impl fmt::Display for LimitReached {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitReached::HostCalls => f.write_str("host call limit reached"),
            LimitReached::Bytes(m) => write!(f, "output byte limit reached: {m}"),
        }
    }
}

impl std::error::Error for LimitReached {}

/// A host call allowed to go ahead: the host to ask, about this entity.
type Admitted = (Arc<dyn GuestHost>, EntityRef);

impl HostState {
    /// Counts a host call. Within the budget it goes ahead (with the host
    /// of the call in progress); the first call past it ends the invocation.
    fn admit(&mut self) -> wasmtime::Result<Result<Arc<dyn GuestHost>, GuestError>> {
        let call = &mut self.call;
        call.host_calls = call.host_calls.saturating_add(1);
        if call.host_calls > self.limits.max_host_calls {
            return Err(wasmtime::Error::new(LimitReached::HostCalls));
        }
        // No host outside a call: a guest calling in from its start
        // function, while it is being instantiated.
        Ok(call
            .host
            .clone()
            .ok_or_else(|| GuestError::Internal("no host outside a call".into())))
    }

    /// Admits the call and checks that `entity` is in scope.
    fn admit_entity(
        &mut self,
        entity: &EntityId,
    ) -> wasmtime::Result<Result<Admitted, GuestError>> {
        let host = guest_try!(self.admit()?);
        let entity = guest_try!(EntityRef::from_wit(entity));
        if !self.call.scope.allows(&entity, host.as_ref()) {
            return Ok(Err(GuestError::AccessDenied));
        }
        Ok(Ok((host, entity)))
    }
}

/// What a refused batch means: too large ends the invocation (like too
/// many host calls), invalid is an error the guest can handle.
fn refused(r: Refusal) -> wasmtime::Result<GuestError> {
    match r {
        Refusal::TooLarge(m) => Err(wasmtime::Error::new(LimitReached::Bytes(format!(
            "data to save: {m}"
        )))),
        Refusal::Invalid(m) => Ok(GuestError::InvalidArgument(m)),
    }
}

impl types::Host for HostState {}

impl data::Host for HostState {
    fn read_attributes(
        &mut self,
        entity: EntityId,
        scope: AttributeScope,
        keys: Vec<String>,
    ) -> wasmtime::Result<Result<Vec<TsKv>, GuestError>> {
        let (host, entity) = guest_try!(self.admit_entity(&entity)?);
        guest_try!(check_keys(&keys));
        Ok(host.read_attributes(&self.call.scope, &entity, scope, &keys))
    }

    fn read_latest(
        &mut self,
        entity: EntityId,
        keys: Vec<String>,
    ) -> wasmtime::Result<Result<Vec<TsKv>, GuestError>> {
        let (host, entity) = guest_try!(self.admit_entity(&entity)?);
        guest_try!(check_keys(&keys));
        Ok(host.read_latest(&self.call.scope, &entity, &keys))
    }
}

impl data_write::Host for HostState {
    fn save_telemetry(
        &mut self,
        entity: EntityId,
        values: Vec<TsKv>,
    ) -> wasmtime::Result<Result<(), GuestError>> {
        let (host, entity) = guest_try!(self.admit_entity(&entity)?);
        if let Err(r) = validate::check_ts_kvs(&values, &mut self.call.budget) {
            return Ok(Err(refused(r)?));
        }
        Ok(host.save_telemetry(&self.call.scope, &entity, values))
    }

    fn save_attributes(
        &mut self,
        entity: EntityId,
        scope: AttributeScope,
        values: Vec<KeyValue>,
    ) -> wasmtime::Result<Result<(), GuestError>> {
        let (host, entity) = guest_try!(self.admit_entity(&entity)?);
        if scope == AttributeScope::Client {
            return Ok(Err(GuestError::InvalidArgument(
                "client attributes belong to the device".into(),
            )));
        }
        if let Err(r) = validate::check_key_values(&values, &mut self.call.budget) {
            return Ok(Err(refused(r)?));
        }
        Ok(host.save_attributes(&self.call.scope, &entity, scope, values))
    }
}

impl alarms::Host for HostState {
    fn raise(
        &mut self,
        originator: EntityId,
        alarm_type: String,
        severity: AlarmSeverity,
        details_json: String,
    ) -> wasmtime::Result<Result<(), GuestError>> {
        let (host, originator) = guest_try!(self.admit_entity(&originator)?);
        guest_try!(check_alarm_type(&alarm_type));
        if let Err(m) = self.call.budget.take(alarm_type.len() + details_json.len()) {
            let m = format!("alarm details: {m}");
            return Err(wasmtime::Error::new(LimitReached::Bytes(m)));
        }
        let details: serde_json::Value = guest_try!(
            serde_json::from_str(&details_json)
                .map_err(|e| GuestError::InvalidArgument(format!("details-json: {e}")))
        );
        if !details.is_object() {
            return Ok(Err(GuestError::InvalidArgument(
                "details-json must be a JSON object".into(),
            )));
        }
        Ok(host.raise_alarm(
            &self.call.scope,
            &originator,
            &alarm_type,
            severity,
            details,
        ))
    }

    fn clear(
        &mut self,
        originator: EntityId,
        alarm_type: String,
    ) -> wasmtime::Result<Result<bool, GuestError>> {
        let (host, originator) = guest_try!(self.admit_entity(&originator)?);
        guest_try!(check_alarm_type(&alarm_type));
        Ok(host.clear_alarm(&self.call.scope, &originator, &alarm_type))
    }
}

impl log::Host for HostState {
    fn log(&mut self, level: LogLevel, mut message: String) -> wasmtime::Result<()> {
        let host = self.admit()?;
        if message.len() > MAX_LOG_MESSAGE_BYTES {
            let mut end = MAX_LOG_MESSAGE_BYTES;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
        }
        let extension = &self.extension;
        match level {
            LogLevel::Trace => tracing::trace!(target: "clientele::guest", %extension, "{message}"),
            LogLevel::Debug => tracing::debug!(target: "clientele::guest", %extension, "{message}"),
            LogLevel::Info => tracing::info!(target: "clientele::guest", %extension, "{message}"),
            LogLevel::Warn => tracing::warn!(target: "clientele::guest", %extension, "{message}"),
            LogLevel::Error => tracing::error!(target: "clientele::guest", %extension, "{message}"),
        }
        if let Ok(host) = host {
            host.log(&self.call.scope, level, &message);
        }
        Ok(())
    }
}

fn check_keys(keys: &[String]) -> Result<(), GuestError> {
    if keys.len() > 1_000 {
        return Err(GuestError::InvalidArgument("more than 1000 keys".into()));
    }
    keys.iter()
        .try_for_each(|k| validate::check_key(k))
        .map_err(GuestError::InvalidArgument)
}

/// Alarm types follow the rule for keys.
fn check_alarm_type(alarm_type: &str) -> Result<(), GuestError> {
    validate::check_key(alarm_type)
        .map_err(|m| GuestError::InvalidArgument(format!("alarm type: {m}")))
}
