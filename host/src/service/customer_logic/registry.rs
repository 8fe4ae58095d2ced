//! Every customer logic binding, by customer, in memory: the ingest path
//! asks "does this tenant have any?" on every change, so the answer costs
//! one atomic load when no binding exists at all. Kept in step with the
//! `logic_bindings` table by a commit listener.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use crate::domain::extension::guest_settings;
use crate::domain::ids::{CustomerId, ExtensionId, TenantId};
use crate::domain::logic_binding::LogicBinding;
use crate::store::{KvRead, Mutation, Store, StoreResult, Table, logic_bindings};

/// A binding as the dispatcher uses it: the settings serialised once, not
/// for every event.
#[derive(Debug)]
pub struct Bound {
    pub extension_id: ExtensionId,
    pub settings: String,
}

#[derive(Default)]
struct Index {
    by_customer: HashMap<(TenantId, CustomerId), Vec<Arc<Bound>>>,
    /// Tenants with at least one binding, with how many.
    tenants: HashMap<TenantId, usize>,
}

impl Index {
    fn remove(&mut self, tenant: TenantId, customer: CustomerId, ext: ExtensionId) {
        let k = (tenant, customer);
        if let Some(list) = self.by_customer.get_mut(&k) {
            let before = list.len();
            list.retain(|b| b.extension_id != ext);
            let removed = before - list.len();
            if list.is_empty() {
                self.by_customer.remove(&k);
            }
            if removed > 0
                && let Some(n) = self.tenants.get_mut(&tenant)
            {
                *n -= removed;
                if *n == 0 {
                    self.tenants.remove(&tenant);
                }
            }
        }
    }

    fn upsert(&mut self, b: LogicBinding) {
        self.remove(b.tenant_id, b.customer_id, b.extension_id);
        *self.tenants.entry(b.tenant_id).or_default() += 1;
        self.by_customer
            .entry((b.tenant_id, b.customer_id))
            .or_default()
            .push(Arc::new(Bound {
                extension_id: b.extension_id,
                settings: guest_settings(Some(&b.settings)),
            }));
    }
}

#[derive(Default)]
pub struct Bindings {
    index: RwLock<Index>,
    armed: AtomicBool,
}

impl Bindings {
    pub fn attach(store: &dyn Store) -> StoreResult<Arc<Bindings>> {
        let bindings = Arc::new(Bindings::default());
        bindings.load(&*store.snapshot()?)?;
        let listener = Arc::clone(&bindings);
        store.on_commit(Arc::new(move |mutations: &[Mutation]| {
            listener.apply(mutations);
        }));
        Ok(bindings)
    }

    fn load(&self, r: &dyn KvRead) -> StoreResult<()> {
        let mut index = self.index.write().unwrap_or_else(PoisonError::into_inner);
        for b in logic_bindings::all(r)? {
            index.upsert(b);
        }
        self.armed
            .store(!index.tenants.is_empty(), Ordering::Release);
        Ok(())
    }

    fn apply(&self, mutations: &[Mutation]) {
        let mut relevant = mutations
            .iter()
            .filter(|m| m.table == Table::LogicBindings)
            .peekable();
        if relevant.peek().is_none() {
            return;
        }
        let mut index = self.index.write().unwrap_or_else(PoisonError::into_inner);
        for m in relevant {
            let Some((tenant, customer, ext)) = logic_bindings::split_key(&m.key) else {
                continue;
            };
            match &m.value {
                Some(v) => match logic_bindings::decode_row(v) {
                    Ok(b) => index.upsert(b),
                    Err(e) => tracing::error!(error = %e, "customer logic binding skipped"),
                },
                None => index.remove(tenant, customer, ext),
            }
        }
        self.armed
            .store(!index.tenants.is_empty(), Ordering::Release);
    }

    /// Whether any customer of `tenant` has logic bound: the hot path's
    /// question (which customer owns an entity is read later, off it).
    pub fn tenant_has_any(&self, tenant: TenantId) -> bool {
        if !self.armed.load(Ordering::Acquire) {
            return false;
        }
        let index = self.index.read().unwrap_or_else(PoisonError::into_inner);
        index.tenants.contains_key(&tenant)
    }

    pub fn of_customer(&self, tenant: TenantId, customer: CustomerId) -> Vec<Arc<Bound>> {
        let index = self.index.read().unwrap_or_else(PoisonError::into_inner);
        index
            .by_customer
            .get(&(tenant, customer))
            .cloned()
            .unwrap_or_default()
    }
}
