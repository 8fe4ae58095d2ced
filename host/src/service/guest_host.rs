//! What WebAssembly guests get from the service (`wasm::GuestHost`): reads
//! from a fresh snapshot, and writes collected during one invocation and
//! committed after it returns, in one transaction, only if it succeeded.
//! A guest that fails half-way leaves nothing behind.
//!
//! The runtime has already checked every entity against the invocation's
//! scope and every value against the limits; this side maps types and
//! talks to the store.

use std::sync::{Arc, Mutex, PoisonError, Weak};

use crate::domain::ids::{EntityId, EntityType, TenantId};
use crate::domain::telemetry::{DataValue, KvEntry, TsKvEntry};
use crate::store::telemetry::{self as ts, Series};
use crate::store::{KvRead, Store, latest};
use crate::wasm::{
    AccessScope, AlarmSeverity, AttributeScope, EntityKind, EntityRef, GuestError, GuestHost,
    KeyValue, Owner, TsKv, TsValue, Value,
};

use super::telemetry::Scope;

/// A guest's value as stored data.
pub fn data_value(v: &Value) -> DataValue {
    match v {
        Value::Boolean(b) => DataValue::Boolean(*b),
        Value::Long(i) => DataValue::Long(*i),
        Value::Double(d) => DataValue::Double(*d),
        Value::String(s) => DataValue::String(s.clone()),
        // The runtime has checked that it parses.
        Value::Json(s) => serde_json::from_str(s)
            .map(DataValue::Json)
            .unwrap_or_else(|_| DataValue::String(s.clone())),
    }
}

/// Stored data as a guest's value.
pub fn guest_value(v: &DataValue) -> Value {
    match v {
        DataValue::Boolean(b) => Value::Boolean(*b),
        DataValue::Long(i) => Value::Long(*i),
        DataValue::Double(d) => Value::Double(*d),
        DataValue::String(s) => Value::String(s.clone()),
        DataValue::Json(j) => Value::Json(j.to_string()),
    }
}

/// A calculated field argument's point in the guest's form (its key is
/// the argument's name).
pub fn guest_ts_value(ts: i64, value: &DataValue) -> TsValue {
    TsValue {
        ts,
        value: guest_value(value),
    }
}

/// A point in the guest's form.
pub fn guest_point(ts: i64, key: &str, value: &DataValue) -> TsKv {
    TsKv {
        ts,
        key: key.to_owned(),
        value: guest_value(value),
    }
}

/// An entity as a guest names it; `None` for kinds guests never see.
pub fn entity_ref(e: EntityId) -> Option<EntityRef> {
    let kind = match e.entity_type {
        EntityType::Device => EntityKind::Device,
        EntityType::Asset => EntityKind::Asset,
        EntityType::Customer => EntityKind::Customer,
        EntityType::Tenant => EntityKind::Tenant,
        _ => return None,
    };
    Some(EntityRef { kind, id: e.id })
}

pub fn entity_id(e: &EntityRef) -> EntityId {
    EntityId {
        entity_type: match e.kind {
            EntityKind::Device => EntityType::Device,
            EntityKind::Asset => EntityType::Asset,
            EntityKind::Customer => EntityType::Customer,
            EntityKind::Tenant => EntityType::Tenant,
        },
        id: e.id,
    }
}

/// A guest's alarm severity as the alarm entity has it.
pub fn alarm_severity(s: AlarmSeverity) -> crate::domain::alarm::AlarmSeverity {
    use crate::domain::alarm::AlarmSeverity as Stored;
    match s {
        AlarmSeverity::Critical => Stored::Critical,
        AlarmSeverity::Major => Stored::Major,
        AlarmSeverity::Minor => Stored::Minor,
        AlarmSeverity::Warning => Stored::Warning,
        AlarmSeverity::Indeterminate => Stored::Indeterminate,
    }
}

pub fn scope_of(s: AttributeScope) -> Scope {
    match s {
        AttributeScope::Server => Scope::Server,
        AttributeScope::Shared => Scope::Shared,
        AttributeScope::Client => Scope::Client,
    }
}

pub fn guest_scope(s: Scope) -> AttributeScope {
    match s {
        Scope::Server => AttributeScope::Server,
        Scope::Shared => AttributeScope::Shared,
        Scope::Client => AttributeScope::Client,
    }
}

fn internal(e: impl std::fmt::Display) -> GuestError {
    GuestError::Internal(e.to_string())
}

/// An alarm change a guest asked for.
#[derive(Debug, Clone)]
pub enum AlarmOp {
    Raise {
        originator: EntityId,
        alarm_type: String,
        severity: AlarmSeverity,
        details: serde_json::Value,
    },
    Clear {
        originator: EntityId,
        alarm_type: String,
    },
}

/// What one invocation asked to write.
#[derive(Debug, Default)]
pub struct Pending {
    pub telemetry: Vec<(EntityId, Vec<TsKvEntry>)>,
    pub attributes: Vec<(EntityId, Scope, Vec<KvEntry>)>,
    pub alarms: Vec<AlarmOp>,
}

impl Pending {
    pub fn is_empty(&self) -> bool {
        self.telemetry.is_empty() && self.attributes.is_empty() && self.alarms.is_empty()
    }
}

/// The host of one invocation (or of a batch of read-only ones).
pub struct ServiceHost {
    store: Weak<dyn Store>,
    series: Arc<Series>,
    tenant: TenantId,
    pending: Mutex<Pending>,
}

impl ServiceHost {
    pub fn new(store: &Arc<dyn Store>, series: &Arc<Series>, tenant: TenantId) -> Arc<ServiceHost> {
        Arc::new(ServiceHost {
            store: Arc::downgrade(store),
            series: Arc::clone(series),
            tenant,
            pending: Mutex::default(),
        })
    }

    /// The writes asked for so far, leaving none.
    pub fn take_pending(&self) -> Pending {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn snapshot(&self) -> Result<Box<dyn KvRead + Send>, GuestError> {
        let store = self
            .store
            .upgrade()
            .ok_or_else(|| GuestError::Internal("the service is shutting down".into()))?;
        store.snapshot().map_err(internal)
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl GuestHost for ServiceHost {
    fn owner_of(&self, entity: &EntityRef) -> Option<Owner> {
        let snapshot = self.snapshot().ok()?;
        let customer =
            super::access::data_owner(&*snapshot, self.tenant, entity_id(entity)).ok()?;
        Some(Owner {
            tenant_id: self.tenant.0,
            customer_id: customer.map(|c| c.0),
        })
    }

    fn read_attributes(
        &self,
        scope: &AccessScope,
        entity: &EntityRef,
        attribute_scope: AttributeScope,
        keys: &[String],
    ) -> Result<Vec<TsKv>, GuestError> {
        let snapshot = self.snapshot()?;
        let tenant = TenantId(scope.tenant_id);
        let all = ts::attributes(
            &*snapshot,
            tenant,
            entity.id,
            scope_of(attribute_scope) as u8,
        )
        .map_err(internal)?;
        Ok(all
            .into_iter()
            .filter(|(k, _, _)| keys.is_empty() || keys.contains(k))
            .map(|(key, ts, v)| guest_point(ts, &key, &v))
            .collect())
    }

    fn read_latest(
        &self,
        scope: &AccessScope,
        entity: &EntityRef,
        keys: &[String],
    ) -> Result<Vec<TsKv>, GuestError> {
        let snapshot = self.snapshot()?;
        let tenant = TenantId(scope.tenant_id);
        let mut out = Vec::new();
        if keys.is_empty() {
            for (id, t, v) in latest::all(&*snapshot, tenant, entity.id).map_err(internal)? {
                if let Some(key) = self.series.keys.name_in(&*snapshot, id).map_err(internal)? {
                    out.push(guest_point(t, &key, &v));
                }
            }
            return Ok(out);
        }
        let mut known = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(id) = self.series.keys.id_in(&*snapshot, key).map_err(internal)? {
                known.push((key, id));
            }
        }
        let ids: Vec<u32> = known.iter().map(|(_, id)| *id).collect();
        let values = latest::get_many(&*snapshot, tenant, entity.id, &ids).map_err(internal)?;
        for ((key, _), value) in known.into_iter().zip(values) {
            if let Some((t, v)) = value {
                out.push(guest_point(t, key, &v));
            }
        }
        Ok(out)
    }

    fn save_telemetry(
        &self,
        _scope: &AccessScope,
        entity: &EntityRef,
        values: Vec<TsKv>,
    ) -> Result<(), GuestError> {
        let entries = values
            .iter()
            .map(|v| TsKvEntry {
                ts: v.ts,
                key: v.key.clone(),
                value: data_value(&v.value),
            })
            .collect();
        self.pending().telemetry.push((entity_id(entity), entries));
        Ok(())
    }

    fn save_attributes(
        &self,
        _scope: &AccessScope,
        entity: &EntityRef,
        attribute_scope: AttributeScope,
        values: Vec<KeyValue>,
    ) -> Result<(), GuestError> {
        let scope = scope_of(attribute_scope);
        if scope == Scope::Client {
            return Err(GuestError::InvalidArgument(
                "client attributes are written by the device only".into(),
            ));
        }
        let entries = values
            .iter()
            .map(|v| KvEntry {
                key: v.key.clone(),
                value: data_value(&v.value),
            })
            .collect();
        self.pending()
            .attributes
            .push((entity_id(entity), scope, entries));
        Ok(())
    }

    fn raise_alarm(
        &self,
        _scope: &AccessScope,
        originator: &EntityRef,
        alarm_type: &str,
        severity: AlarmSeverity,
        details: serde_json::Value,
    ) -> Result<(), GuestError> {
        self.pending().alarms.push(AlarmOp::Raise {
            originator: entity_id(originator),
            alarm_type: alarm_type.to_owned(),
            severity,
            details,
        });
        Ok(())
    }

    fn clear_alarm(
        &self,
        _scope: &AccessScope,
        originator: &EntityRef,
        alarm_type: &str,
    ) -> Result<bool, GuestError> {
        let originator = entity_id(originator);
        // Raised earlier in this invocation: clearing undoes it.
        let mut pending = self.pending();
        let raised_here = pending.alarms.iter().rev().find_map(|op| match op {
            AlarmOp::Raise {
                originator: o,
                alarm_type: t,
                ..
            } if *o == originator && t == alarm_type => Some(true),
            AlarmOp::Clear {
                originator: o,
                alarm_type: t,
            } if *o == originator && t == alarm_type => Some(false),
            _ => None,
        });
        let active = match raised_here {
            Some(active) => active,
            None => {
                drop(pending);
                let snapshot = self.snapshot()?;
                let active = active_alarm(&*snapshot, self.tenant, originator, alarm_type)?;
                pending = self.pending();
                active
            }
        };
        pending.alarms.push(AlarmOp::Clear {
            originator,
            alarm_type: alarm_type.to_owned(),
        });
        Ok(active)
    }
}

/// Whether `originator` has an active alarm of `alarm_type`.
fn active_alarm(
    r: &dyn KvRead,
    tenant: TenantId,
    originator: EntityId,
    alarm_type: &str,
) -> Result<bool, GuestError> {
    Ok(
        crate::store::alarms::active(r, tenant, originator.id, alarm_type)
            .map_err(internal)?
            .is_some(),
    )
}
