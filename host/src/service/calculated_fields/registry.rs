//! Every calculated field of the installation, compiled, indexed by the
//! entities it reads: the ingest path asks it on every change "does anyone
//! read this?", so the answer must come from memory, and costs one atomic
//! load when no field exists at all.
//!
//! Kept in step with the `calculated_fields` table by a commit listener, so
//! it holds exactly what is committed, whoever wrote it.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use foldhash::HashMap;
use uuid::Uuid;

use crate::domain::calculated_field::{ArgumentKind, CalculatedField, FieldKind};
use crate::domain::expression::Expression;
use crate::domain::extension::guest_settings;
use crate::domain::ids::{CalculatedFieldId, ExtensionId, TenantId};
use crate::domain::telemetry::Scope;
use crate::domain::validate::ValidationError;
use crate::store::{KvRead, Mutation, Store, StoreResult, Table, calculated_fields};
use crate::wasm::FieldSetup;

use super::super::telemetry::DataChange;

/// How a field computes.
#[derive(Debug)]
pub enum Program {
    /// Boxed: a parsed expression is ~19 KB inline (exmex keeps small
    /// vectors on the stack).
    Simple(Box<Expression>),
    /// The extension's id (the extension itself is looked up per run, so
    /// a field never runs a deleted or replaced component) and what the
    /// guest's `init` takes: the settings, serialised once, and the
    /// arguments' names.
    Wasm {
        extension: ExtensionId,
        setup: FieldSetup,
    },
}

/// One key a field's argument reads: of an entity's telemetry (`scope`
/// `None`) or of its attributes in one scope. Flattened out of the
/// arguments when the field is compiled, so that matching a change, which
/// the ingest path does on every message, touches little memory.
#[derive(Debug, Clone, PartialEq)]
struct Watch {
    source: Uuid,
    scope: Option<Scope>,
    key: Box<str>,
}

impl Watch {
    fn all_of(field: &CalculatedField) -> Box<[Watch]> {
        field
            .configuration
            .arguments
            .iter()
            .map(|(_, arg)| Watch {
                source: arg.source(field.entity_id).id,
                scope: match arg.ref_entity_key.kind {
                    ArgumentKind::TsLatest | ArgumentKind::TsRolling => None,
                    ArgumentKind::Attribute => Some(arg.scope()),
                },
                key: arg.ref_entity_key.key.as_str().into(),
            })
            .collect()
    }

    /// Whether `change` (of this watch's source) holds the key.
    fn seen_in(&self, change: &DataChange) -> bool {
        let key = &*self.key;
        match (self.scope, change) {
            (None, DataChange::Telemetry(points)) => points.iter().any(|p| p.key == key),
            (Some(wanted), DataChange::Attributes { scope, values, .. }) => {
                wanted == *scope && values.iter().any(|v| v.key == key)
            }
            _ => false,
        }
    }
}

/// A field ready to run.
#[derive(Debug)]
pub struct Compiled {
    pub field: CalculatedField,
    pub program: Program,
    watches: Box<[Watch]>,
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
                setup: FieldSetup {
                    settings_json: guest_settings(field.configuration.settings.as_ref()),
                    argument_names: field
                        .configuration
                        .arguments
                        .iter()
                        .map(|(name, _)| name.clone())
                        .collect(),
                },
            },
            FieldKind::Script => {
                return Err(ValidationError::new(
                    "SCRIPT calculated fields are not supported",
                ));
            }
        };
        Ok(Compiled {
            watches: Watch::all_of(&field),
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
        self.watches
            .iter()
            .any(|w| w.source == entity && w.seen_in(change))
    }
}

/// The fields that read one entity, and every key they read of it: the
/// ingest path's question is answered from `watches` alone.
#[derive(Default)]
struct Readers {
    watches: Vec<Watch>,
    fields: Vec<Arc<Compiled>>,
}

impl Readers {
    fn add(&mut self, source: Uuid, field: Arc<Compiled>) {
        for w in field.watches.iter().filter(|w| w.source == source) {
            if !self.watches.contains(w) {
                self.watches.push(w.clone());
            }
        }
        self.fields.push(field);
    }

    fn remove(&mut self, source: Uuid, id: CalculatedFieldId) {
        self.fields.retain(|c| c.field.id != id);
        let fields = std::mem::take(&mut self.fields);
        self.watches.clear();
        for field in fields {
            self.add(source, field);
        }
    }
}

#[derive(Default)]
struct Index {
    by_id: HashMap<CalculatedFieldId, Arc<Compiled>>,
    /// (tenant, entity an argument reads) -> its readers.
    by_source: HashMap<(TenantId, Uuid), Readers>,
}

impl Index {
    fn sources(field: &Compiled) -> Vec<Uuid> {
        let mut out: Vec<Uuid> = field.watches.iter().map(|w| w.source).collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    fn remove(&mut self, id: CalculatedFieldId) {
        let Some(old) = self.by_id.remove(&id) else {
            return;
        };
        for source in Self::sources(&old) {
            let k = (old.field.tenant_id, source);
            if let Some(readers) = self.by_source.get_mut(&k) {
                readers.remove(source, id);
                if readers.fields.is_empty() {
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
        for source in Self::sources(&compiled) {
            self.by_source
                .entry((compiled.field.tenant_id, source))
                .or_default()
                .add(source, Arc::clone(&compiled));
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
            .map(|readers| {
                readers
                    .fields
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
            .is_some_and(|readers| readers.watches.iter().any(|w| w.seen_in(change)))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::calculated_field::CalculatedFieldInput;

    /// A SIMPLE field of device `entity` doubling its telemetry `key`.
    fn doubling(tenant: TenantId, entity: Uuid, key: &str) -> CalculatedField {
        let input: CalculatedFieldInput = serde_json::from_value(json!({
            "entityId": {"entityType": "DEVICE", "id": entity},
            "type": "SIMPLE",
            "name": "double",
            "configuration": {
                "type": "SIMPLE",
                "arguments": {key: {"refEntityKey": {"key": key, "type": "TS_LATEST"}}},
                "expression": format!("{key} * 2"),
                "output": {"type": "TIME_SERIES", "name": "d"}
            }
        }))
        .unwrap();
        CalculatedField::create(tenant, input, 1)
    }

    fn compiled() -> Compiled {
        Compiled::compile(doubling(TenantId::new(), Uuid::new_v4(), "t")).unwrap()
    }

    fn telemetry(key: &str) -> DataChange {
        DataChange::Telemetry(Arc::new(vec![crate::domain::telemetry::TsKvEntry {
            ts: 1,
            key: key.into(),
            value: crate::domain::telemetry::DataValue::Double(1.0),
        }]))
    }

    /// Saves (`Some`) or deletes a field, as the service's writes do.
    async fn write(store: &Arc<dyn Store>, field: &CalculatedField, save: bool) {
        let field = field.clone();
        crate::store::write::<_, crate::store::StoreError, _>(&**store, move |_| {
            let mut changes = crate::store::Changes::new();
            if save {
                calculated_fields::put(&mut changes, &field);
            } else {
                calculated_fields::delete(&mut changes, &field);
            }
            Ok(((), changes))
        })
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn the_ingest_question_follows_the_keys_of_the_fields_left() {
        let store: Arc<dyn Store> = Arc::new(crate::store::MemoryStore::new());
        let registry = Registry::attach(&*store).unwrap();
        let (tenant, device) = (TenantId::new(), Uuid::new_v4());
        let (on_t, on_h) = (doubling(tenant, device, "t"), doubling(tenant, device, "h"));
        write(&store, &on_t, true).await;
        write(&store, &on_h, true).await;
        let read = |key: &str| registry.is_read(tenant, device, &telemetry(key));
        assert!(read("t") && read("h"));
        assert!(!read("x"), "a key no field reads");
        assert!(
            !registry.is_read(TenantId::new(), device, &telemetry("t")),
            "the same id in another tenant"
        );
        let triggered = registry.triggered(tenant, device, &telemetry("h"));
        assert_eq!(triggered.len(), 1);
        assert_eq!(triggered[0].field.id, on_h.id);

        write(&store, &on_t, false).await;
        assert!(!read("t"), "the deleted field's key is no longer read");
        assert!(
            read("h"),
            "the other field of the device still reads its key"
        );
        write(&store, &on_h, false).await;
        assert!(!read("h"));
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
        registry.triggered(field.tenant_id, field.entity_id.id, &telemetry("t"))
    }

    #[tokio::test]
    async fn saving_a_suspended_field_again_resumes_it() {
        let store: Arc<dyn Store> = Arc::new(crate::store::MemoryStore::new());
        let registry = Registry::attach(&*store).unwrap();
        let field = compiled().field;
        write(&store, &field, true).await;
        let live = triggered_by(&registry, &field);
        assert_eq!(live.len(), 1);
        while !live[0].record(true, 2) {}
        assert!(triggered_by(&registry, &field)[0].is_suspended());
        write(&store, &field, true).await;
        let resumed = triggered_by(&registry, &field);
        assert_eq!(resumed.len(), 1);
        assert!(!resumed[0].is_suspended());
    }
}
