//! The loaded extensions, in memory: tenant + extension id -> the
//! validated, compiled component, ready to call. Kept in step with the
//! `extensions` table: filled from it at start-up, changed by upload and
//! delete.
//!
//! The wasm runtime (engine, pooling allocator, epoch ticker, on-disk code
//! cache under `<data_dir>/wasm-cache`) is built when the first extension
//! is loaded: an installation without extensions, and every test that
//! does not upload one, neither reserves the engine's memory pool nor
//! writes a cache directory.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use foldhash::{HashMap, HashMapExt};

use crate::config::WasmSettings;
use crate::domain::ids::{ExtensionId, TenantId};
use crate::wasm::{self, ComponentCache, LoadError, Runtime, WasmEngine};

use super::ServiceError;

/// Why a component could not be loaded.
#[derive(Debug)]
pub(crate) enum LoadFailure {
    /// The component's fault: refused, with a message for the uploader.
    Refused(LoadError),
    /// The runtime could not be built (engine or cache directory).
    Runtime(String),
}

impl From<LoadFailure> for ServiceError {
    fn from(f: LoadFailure) -> Self {
        match f {
            LoadFailure::Refused(e @ LoadError::TooLarge { .. }) => {
                ServiceError::TooLarge(e.to_string())
            }
            LoadFailure::Refused(e) => ServiceError::Invalid(e.to_string()),
            LoadFailure::Runtime(e) => ServiceError::Internal(e),
        }
    }
}

impl std::fmt::Display for LoadFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadFailure::Refused(e) => e.fmt(f),
            LoadFailure::Runtime(e) => write!(f, "the wasm runtime is unavailable: {e}"),
        }
    }
}

/// One loaded extension and how its calls have been going.
struct Entry {
    extension: wasm::Extension,
    /// Failed calls since the last success.
    failures: AtomicU32,
    /// Set once `failures` reached the threshold: no longer handed out.
    suspended: AtomicBool,
}

/// What a failed call did to its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Failed {
    /// Failed calls in a row, this one included.
    pub failures: u32,
    /// This failure suspended the extension (it was not before).
    pub suspended_now: bool,
}

pub(crate) struct ExtensionRegistry {
    settings: WasmSettings,
    cache_root: PathBuf,
    runtime: Mutex<Option<Arc<Runtime>>>,
    loaded: RwLock<HashMap<(TenantId, ExtensionId), Arc<Entry>>>,
}

impl ExtensionRegistry {
    pub(crate) fn new(settings: WasmSettings, data_dir: &std::path::Path) -> Self {
        ExtensionRegistry {
            settings,
            cache_root: data_dir.join("wasm-cache"),
            runtime: Mutex::new(None),
            loaded: RwLock::new(HashMap::new()),
        }
    }

    /// The runtime, built on first use. Blocking: building the engine maps
    /// its instance pool, and opening the cache touches the disk.
    pub(crate) fn runtime(&self) -> Result<Arc<Runtime>, LoadFailure> {
        let mut slot = self.runtime.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(runtime) = &*slot {
            return Ok(runtime.clone());
        }
        let fail = |e: &dyn std::fmt::Display| LoadFailure::Runtime(e.to_string());
        let engine = WasmEngine::new(self.settings.engine()).map_err(|e| fail(&e))?;
        let cache =
            ComponentCache::open(&self.cache_root, engine.engine()).map_err(|e| fail(&e))?;
        let runtime = Arc::new(Runtime::new(engine, Some(cache)).map_err(|e| fail(&e))?);
        *slot = Some(runtime.clone());
        Ok(runtime)
    }

    /// The runtime if an extension was loaded since the start.
    pub(crate) fn runtime_if_built(&self) -> Option<Arc<Runtime>> {
        self.runtime
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Validates and compiles (or takes from the cache) a component under
    /// the configured limits. CPU work: call it from a blocking thread.
    pub(crate) fn load(&self, name: &str, bytes: &[u8]) -> Result<wasm::Extension, LoadFailure> {
        let limits = self.settings.limits();
        // Checked before the runtime is built: a refused upload should not
        // be what starts the engine.
        if bytes.len() > limits.max_component_bytes {
            return Err(LoadFailure::Refused(LoadError::TooLarge {
                size: bytes.len(),
                max: limits.max_component_bytes,
            }));
        }
        self.runtime()?
            .load(name, bytes, limits)
            .map_err(LoadFailure::Refused)
    }

    pub(crate) fn insert(&self, tenant: TenantId, id: ExtensionId, extension: wasm::Extension) {
        let entry = Arc::new(Entry {
            extension,
            failures: AtomicU32::new(0),
            suspended: AtomicBool::new(false),
        });
        self.write().insert((tenant, id), entry);
    }

    pub(crate) fn remove(&self, tenant: TenantId, id: ExtensionId) {
        // Dropped outside the lock: the last clone of an extension frees
        // its warm instances.
        let gone = self.write().remove(&(tenant, id));
        drop(gone);
    }

    pub(crate) fn remove_tenant(&self, tenant: TenantId) {
        let mut gone = Vec::new();
        self.write().retain(|(t, _), entry| {
            if *t == tenant {
                gone.push(entry.clone());
            }
            *t != tenant
        });
        drop(gone);
    }

    /// The extension, unless it is unknown or suspended.
    pub(crate) fn get(&self, tenant: TenantId, id: ExtensionId) -> Option<wasm::Extension> {
        let loaded = self.loaded.read().unwrap_or_else(PoisonError::into_inner);
        let entry = loaded.get(&(tenant, id))?;
        (!entry.suspended.load(Ordering::Relaxed)).then(|| entry.extension.clone())
    }

    /// Counts a failed call; the `max_consecutive_failures`-th in a row
    /// suspends the extension. `None` if it is not loaded (deleted since).
    pub(crate) fn failed(&self, tenant: TenantId, id: ExtensionId) -> Option<Failed> {
        let entry = self.entry(tenant, id)?;
        let failures = entry
            .failures
            .fetch_add(1, Ordering::Relaxed)
            .saturating_add(1);
        let threshold = self.settings.max_consecutive_failures;
        let suspended_now = threshold > 0
            && failures >= threshold
            && !entry.suspended.swap(true, Ordering::Relaxed);
        Some(Failed {
            failures,
            suspended_now,
        })
    }

    /// A call went well: the count of failures in a row starts again.
    pub(crate) fn succeeded(&self, tenant: TenantId, id: ExtensionId) {
        if let Some(entry) = self.entry(tenant, id) {
            entry.failures.store(0, Ordering::Relaxed);
        }
    }

    fn entry(&self, tenant: TenantId, id: ExtensionId) -> Option<Arc<Entry>> {
        self.loaded
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(tenant, id))
            .cloned()
    }

    fn write(
        &self,
    ) -> std::sync::RwLockWriteGuard<'_, HashMap<(TenantId, ExtensionId), Arc<Entry>>> {
        self.loaded.write().unwrap_or_else(PoisonError::into_inner)
    }
}
