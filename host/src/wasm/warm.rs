//! Instances kept warm between guest calls, and who may share them.

use std::sync::Mutex;

use wasmtime::Store;

use super::runtime::Instance;
use super::state::HostState;

/// Warm instances kept per extension and key (concurrent callers).
const MAX_WARM_PER_KEY: usize = 2;

/// Which callers may share a warm instance: the same tenant and customer
/// (a guest's globals must never carry one customer's data to another),
/// and what `init` was given: the settings, and for a calculated field the
/// names of its arguments. Borrowed, so that looking for a warm instance
/// allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct WarmKey<'a> {
    pub tenant: uuid::Uuid,
    pub customer: Option<uuid::Uuid>,
    pub settings: &'a str,
    pub argument_names: &'a [String],
}

/// A [`WarmKey`] kept with its instance.
pub(super) struct OwnedWarmKey {
    tenant: uuid::Uuid,
    customer: Option<uuid::Uuid>,
    settings: String,
    argument_names: Vec<String>,
}

impl WarmKey<'_> {
    pub fn to_owned(self) -> OwnedWarmKey {
        OwnedWarmKey {
            tenant: self.tenant,
            customer: self.customer,
            settings: self.settings.to_owned(),
            argument_names: self.argument_names.to_vec(),
        }
    }
}

impl OwnedWarmKey {
    fn borrow(&self) -> WarmKey<'_> {
        WarmKey {
            tenant: self.tenant,
            customer: self.customer,
            settings: &self.settings,
            argument_names: &self.argument_names,
        }
    }
}

/// An instance, its store, and the key it was started for.
pub(super) struct Warm {
    pub key: OwnedWarmKey,
    pub store: Store<HostState>,
    pub instance: Instance,
}

/// The instances kept warm between calls, for every extension of a
/// [`Runtime`](super::Runtime) together. Each holds a slot of the engine's instance pool,
/// so there are at most `budget` of them: keeping one more throws away the
/// least recently used, whichever extension it belongs to. An extension
/// that is no longer called thus gives its slots back to those that are.
pub(super) struct WarmPool {
    budget: usize,
    parked: Mutex<Parked>,
}

#[derive(Default)]
struct Parked {
    /// Counts puts, to order instances by last use.
    clock: u64,
    instances: Vec<ParkedInstance>,
}

struct ParkedInstance {
    extension: u64,
    last_used: u64,
    warm: Warm,
}

impl WarmPool {
    pub fn new(budget: usize) -> Self {
        WarmPool {
            budget,
            parked: Mutex::new(Parked::default()),
        }
    }

    /// A warm instance of `extension` for `key`, the most recently used.
    pub fn take(&self, extension: u64, key: WarmKey<'_>) -> Option<Warm> {
        let mut parked = self.parked.lock().ok()?;
        let i = parked
            .instances
            .iter()
            .enumerate()
            .filter(|(_, p)| p.extension == extension && p.warm.key.borrow() == key)
            .max_by_key(|(_, p)| p.last_used)?
            .0;
        Some(parked.instances.swap_remove(i).warm)
    }

    /// Keeps `warm` for later calls of `extension`, unless as many
    /// instances are kept for its key already; past the budget, throws
    /// away the least recently used instance.
    pub fn put(&self, extension: u64, warm: Warm) {
        let Ok(mut parked) = self.parked.lock() else {
            return;
        };
        let same_key = parked
            .instances
            .iter()
            .filter(|p| p.extension == extension && p.warm.key.borrow() == warm.key.borrow())
            .count();
        if same_key >= MAX_WARM_PER_KEY {
            drop(parked);
            return; // `warm` is dropped after the lock is released.
        }
        parked.clock += 1;
        let last_used = parked.clock;
        parked.instances.push(ParkedInstance {
            extension,
            last_used,
            warm,
        });
        let evicted = (parked.instances.len() > self.budget)
            .then(|| parked.remove_least_recently_used())
            .flatten();
        // Dropping a store returns its slot to the pool: not under the lock.
        drop(parked);
        drop(evicted);
    }

    /// Throws away the least recently used warm instance, of any extension,
    /// to free a slot of the pool.
    pub fn evict_one(&self) {
        let evicted = self
            .parked
            .lock()
            .ok()
            .and_then(|mut p| p.remove_least_recently_used());
        drop(evicted);
    }

    /// Throws away every warm instance of `extension`.
    pub fn remove(&self, extension: u64) {
        let Ok(mut parked) = self.parked.lock() else {
            return;
        };
        let (gone, kept) = std::mem::take(&mut parked.instances)
            .into_iter()
            .partition(|p| p.extension == extension);
        parked.instances = kept;
        drop(parked);
        drop::<Vec<ParkedInstance>>(gone);
    }

    pub fn count(&self, extension: u64) -> usize {
        self.parked.lock().map_or(0, |p| {
            p.instances
                .iter()
                .filter(|p| p.extension == extension)
                .count()
        })
    }
}

impl Parked {
    fn remove_least_recently_used(&mut self) -> Option<ParkedInstance> {
        let i = self
            .instances
            .iter()
            .enumerate()
            .min_by_key(|(_, p)| p.last_used)?
            .0;
        Some(self.instances.swap_remove(i))
    }
}
