//! Every calculated field of the installation, compiled, indexed by the
//! entities it reads: the ingest path asks it on every change "does anyone
//! read this?", so the answer must come from memory, and costs one atomic
//! load when no field exists at all.
//!
//! Kept in step with the `calculated_fields` table by a commit listener, so
//! it holds exactly what is committed, whoever wrote it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use uuid::Uuid;

use crate::domain::calculated_field::{ArgumentKind, CalculatedField, FieldKind};
use crate::domain::expression::Expression;
use crate::domain::extension::guest_settings;
use crate::domain::ids::{CalculatedFieldId, ExtensionId, TenantId};
use crate::domain::validate::ValidationError;
use crate::store::{KvRead, Mutation, Store, StoreResult, Table, calculated_fields};

use super::super::telemetry::DataChange;

/// How a field computes.
#[derive(Debug)]
pub enum Program {
    /// Boxed: a parsed expression is ~19 KB inline (exmex keeps small
    /// vectors on the stack).
    Simple(Box<Expression>),
    /// The extension's id (the extension itself is looked up per run, so
    /// a field never runs a deleted or replaced component) and the settings
    /// as the guest takes them, serialised once.
    Wasm {
        extension: ExtensionId,
        settings: String,
    },
}

/// A field ready to run.
#[derive(Debug)]
pub struct Compiled {
    pub field: CalculatedField,
    pub program: Program,
    /// SIMPLE runs failed in a row, and whether that suspended the field:
    /// kept with this version of the field, so saving it starts afresh.
    failures_in_a_row: AtomicU32,
    suspended: AtomicBool,
}

impl Compiled {
    pub fn compile(field: CalculatedField) -> Result<Compiled, ValidationError> {
        let program = match field.kind {
            FieldKind::Simple => {
                let names: Vec<&str> = field
                    .configuration
                    .arguments
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect();
                let src = field.configuration.expression.as_deref().unwrap_or("");
                Program::Simple(Box::new(Expression::compile(src, &names)?))
            }
            FieldKind::Wasm => Program::Wasm {
                extension: field
                    .extension()
                    .ok_or_else(|| ValidationError::new("A WASM field needs an extensionId"))?,
                settings: guest_settings(field.configuration.settings.as_ref()),
            },
            FieldKind::Script => {
                return Err(ValidationError::new(
                    "SCRIPT calculated fields are not supported",
                ));
            }
        };
        Ok(Compiled {
            field,
            program,
            failures_in_a_row: AtomicU32::new(0),
            suspended: AtomicBool::new(false),
        })
    }

    pub fn is_suspended(&self) -> bool {
        self.suspended.load(Ordering::Relaxed)
    }

    /// Counts a run's outcome; true when this failure, the
    /// `suspend_after`-th in a row, suspended the field.
    pub fn record(&self, failed: bool, suspend_after: u32) -> bool {
        if !failed {
            self.failures_in_a_row.store(0, Ordering::Relaxed);
            return false;
        }
        let failures = self.failures_in_a_row.fetch_add(1, Ordering::Relaxed) + 1;
        failures >= suspend_after && !self.suspended.swap(true, Ordering::Relaxed)
    }

    /// Whether `change` of `entity` touches one of this field's arguments.
    fn reads(&self, entity: Uuid, change: &DataChange) -> bool {
        let own = self.field.entity_id;
        self.field.configuration.arguments.iter().any(|(_, arg)| {
            if arg.source(own).id != entity {
                return false;
            }
            let key = &arg.ref_entity_key.key;
            match (arg.ref_entity_key.kind, change) {
                (
                    ArgumentKind::TsLatest | ArgumentKind::TsRolling,
                    DataChange::Telemetry(points),
                ) => points.iter().any(|p| p.key == *key),
                (ArgumentKind::Attribute, DataChange::Attributes { scope, values, .. }) => {
                    arg.scope() == *scope && values.iter().any(|v| v.key == *key)
                }
                _ => false,
            }
        })
    }
}

#[derive(Default)]
struct Index {
    by_id: HashMap<CalculatedFieldId, Arc<Compiled>>,
    /// (tenant, entity an argument reads) -> fields.
    by_source: HashMap<(TenantId, Uuid), Vec<Arc<Compiled>>>,
}

impl Index {
    fn sources(field: &CalculatedField) -> Vec<Uuid> {
        let mut out: Vec<Uuid> = field
            .configuration
            .arguments
            .iter()
            .map(|(_, a)| a.source(field.entity_id).id)
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    fn remove(&mut self, id: CalculatedFieldId) {
        let Some(old) = self.by_id.remove(&id) else {
            return;
        };
        for source in Self::sources(&old.field) {
            let k = (old.field.tenant_id, source);
            if let Some(list) = self.by_source.get_mut(&k) {
                list.retain(|c| c.field.id != id);
                if list.is_empty() {
                    self.by_source.remove(&k);
                }
            }
        }
    }

    fn upsert(&mut self, field: CalculatedField) {
        self.remove(field.id);
        let id = field.id;
        let compiled = match Compiled::compile(field) {
            Ok(c) => Arc::new(c),
            // Stored fields were validated when saved; one that no longer
            // compiles is skipped, loudly, rather than stopping the others.
            Err(e) => {
                tracing::error!(field = %id, error = %e, "calculated field does not compile; skipped");
                return;
            }
        };
        for source in Self::sources(&compiled.field) {
            self.by_source
                .entry((compiled.field.tenant_id, source))
                .or_default()
                .push(Arc::clone(&compiled));
        }
        self.by_id.insert(id, compiled);
    }
}

#[derive(Default)]
pub struct Registry {
    index: RwLock<Index>,
    /// Any field at all: the ingest path's fast way out.
    armed: AtomicBool,
}

impl Registry {
    pub fn attach(store: &dyn Store) -> StoreResult<Arc<Registry>> {
        let registry = Arc::new(Registry::default());
        registry.load(&*store.snapshot()?)?;
        let listener = Arc::clone(&registry);
        store.on_commit(Arc::new(move |mutations: &[Mutation]| {
            listener.apply(mutations);
        }));
        Ok(registry)
    }

    fn load(&self, r: &dyn KvRead) -> StoreResult<()> {
        let mut index = self.index.write().unwrap_or_else(PoisonError::into_inner);
        for field in calculated_fields::all(r)? {
            index.upsert(field);
        }
        self.armed.store(!index.by_id.is_empty(), Ordering::Release);
        Ok(())
    }

    fn apply(&self, mutations: &[Mutation]) {
        let mut relevant = mutations
            .iter()
            .filter(|m| m.table == Table::CalculatedFields)
            .peekable();
        if relevant.peek().is_none() {
            return;
        }
        let mut index = self.index.write().unwrap_or_else(PoisonError::into_inner);
        for m in relevant {
            let Some((_, id)) = calculated_fields::id_of_key(&m.key) else {
                continue;
            };
            match &m.value {
                Some(v) => match calculated_fields::decode_row(v) {
                    Ok(field) => index.upsert(field),
                    Err(e) => tracing::error!(error = %e, "calculated field row skipped"),
                },
                None => index.remove(id),
            }
        }
        self.armed.store(!index.by_id.is_empty(), Ordering::Release);
    }

    /// The fields that read something `change` of `entity` changed.
    pub fn triggered(
        &self,
        tenant: TenantId,
        entity: Uuid,
        change: &DataChange,
    ) -> Vec<Arc<Compiled>> {
        if !self.armed.load(Ordering::Acquire) {
            return Vec::new();
        }
        let index = self.index.read().unwrap_or_else(PoisonError::into_inner);
        index
            .by_source
            .get(&(tenant, entity))
            .map(|fields| {
                fields
                    .iter()
                    .filter(|c| c.reads(entity, change))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether some field reads what `change` of `entity` changed: the
    /// ingest path's question, answered without allocating.
    pub fn is_read(&self, tenant: TenantId, entity: Uuid, change: &DataChange) -> bool {
        if !self.armed.load(Ordering::Acquire) {
            return false;
        }
        let index = self.index.read().unwrap_or_else(PoisonError::into_inner);
        index
            .by_source
            .get(&(tenant, entity))
            .is_some_and(|fields| fields.iter().any(|c| c.reads(entity, change)))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::calculated_field::CalculatedFieldInput;

    fn compiled() -> Compiled {
        let input: CalculatedFieldInput = serde_json::from_value(json!({
            "entityId": {"entityType": "DEVICE", "id": uuid::Uuid::new_v4()},
            "type": "SIMPLE",
            "name": "double",
            "configuration": {
                "type": "SIMPLE",
                "arguments": {"t": {"refEntityKey": {"key": "t", "type": "TS_LATEST"}}},
                "expression": "t * 2",
                "output": {"type": "TIME_SERIES", "name": "d"}
            }
        }))
        .unwrap();
        Compiled::compile(CalculatedField::create(TenantId::new(), input, 1)).unwrap()
    }

    #[test]
    fn failures_in_a_row_suspend_a_field_once() {
        let field = compiled();
        assert!(!field.record(true, 3));
        assert!(!field.record(true, 3));
        assert!(!field.record(false, 3), "a success starts the count again");
        assert!(!field.record(true, 3));
        assert!(!field.record(true, 3));
        assert!(!field.is_suspended());
        assert!(field.record(true, 3), "the third in a row suspends");
        assert!(field.is_suspended());
        assert!(!field.record(true, 3), "suspended once, not again");
    }

    /// What the engine gets for a telemetry change of the field's entity.
    fn triggered_by(registry: &Registry, field: &CalculatedField) -> Vec<Arc<Compiled>> {
        let change = DataChange::Telemetry(Arc::new(vec![crate::domain::telemetry::TsKvEntry {
            ts: 1,
            key: "t".into(),
            value: crate::domain::telemetry::DataValue::Double(1.0),
        }]));
        registry.triggered(field.tenant_id, field.entity_id.id, &change)
    }

    #[tokio::test]
    async fn saving_a_suspended_field_again_resumes_it() {
        let store: Arc<dyn Store> = Arc::new(crate::store::MemoryStore::new());
        let registry = Registry::attach(&*store).unwrap();
        let field = compiled().field;
        let save = |field: CalculatedField| {
            crate::store::write::<_, crate::store::StoreError, _>(&*store, move |_| {
                let mut changes = crate::store::Changes::new();
                calculated_fields::put(&mut changes, &field);
                Ok(((), changes))
            })
        };
        save(field.clone()).await.unwrap();
        let live = triggered_by(&registry, &field);
        assert_eq!(live.len(), 1);
        while !live[0].record(true, 2) {}
        assert!(triggered_by(&registry, &field)[0].is_suspended());
        save(field.clone()).await.unwrap();
        let resumed = triggered_by(&registry, &field);
        assert_eq!(resumed.len(), 1);
        assert!(!resumed[0].is_suspended());
    }
}
