//! Use cases: each takes the authenticated caller, checks its rights, and
//! makes its change, with the audit record, in one transaction.

mod access;
pub(crate) mod alarms;
mod assets;
mod assignable;
pub mod audit;
mod bootstrap;
mod calculated_fields;
mod compaction;
mod customer_index;
mod customer_logic;
mod customers;
mod dashboards;
mod devices;
mod entity_groups;
mod entity_permission;
mod error;
mod events;
mod extension_registry;
mod extensions;
mod group_permissions;
mod guest_failures;
mod guest_host;
mod infos;
mod live_devices;
pub mod mail;
mod owners;
mod roles;
mod sessions;
mod telemetry;
mod tenants;
mod users;
mod visible;

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::auth::JwtKeys;
use crate::config::Settings;
use crate::store::{Store, StoreError, meta};

pub use access::OwnerChanged;
pub use bootstrap::FirstStart;
pub use calculated_fields::{FieldFilter, TestRequest, TestResult};
pub use customer_index::CustomerIndex;
pub use customers::{NameConflict, UniquifyStrategy};
pub use entity_groups::Member as GroupMember;
pub use error::{ServiceError, ServiceResult};
pub use group_permissions::GroupPermissionInfo;
pub use sessions::ClientInfo;
pub use telemetry::{
    Aggregation, DataChange, DataEvent, DeleteQuery, DeviceEvent, HistoryQuery, Scope,
};
pub use users::ActivationMail;

/// The application: store, indexes, keys and settings, shared by every request.
#[derive(Clone)]
pub struct App {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) settings: Arc<Settings>,
    pub(crate) jwt: JwtKeys,
    pub(crate) customer_index: Arc<CustomerIndex>,
    /// What the reach of roles is judged against: the customer index as
    /// the tree, and the store for group membership.
    reach: crate::auth::rights::Reach,
    pub(crate) series: Arc<crate::store::telemetry::Series>,
    live_devices: Arc<live_devices::LiveDevices>,
    pub(crate) device_events: tokio::sync::broadcast::Sender<DeviceEvent>,
    pub(crate) data_events: tokio::sync::broadcast::Sender<DataEvent>,
    owner_events: tokio::sync::broadcast::Sender<OwnerChanged>,
    field_registry: Arc<calculated_fields::Registry>,
    field_engine: Arc<calculated_fields::Engine>,
    logic_bindings: Arc<customer_logic::Bindings>,
    logic: Arc<customer_logic::Dispatcher>,
    hashing: Arc<Semaphore>,
    /// Writes queued for or inside the writer; a caller past the limit
    /// waits, so overload slows producers instead of growing a queue.
    write_slots: Arc<Semaphore>,
    pub(crate) mailer: Option<mail::Mailer>,
    /// The loaded extensions (and the wasm runtime, once one is loaded).
    extensions: Arc<extension_registry::ExtensionRegistry>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").finish_non_exhaustive()
    }
}

impl App {
    /// What the reach of roles is judged against: where customers sit in
    /// their tenants' trees, and which groups hold what.
    pub(crate) fn reach(&self) -> crate::auth::rights::Reach {
        self.reach.clone()
    }

    /// Opens the application over `store`. On an empty store this first
    /// creates the system administrator, a tenant and its administrator, and
    /// returns what was created (with any generated passwords) to print once.
    pub async fn open(
        settings: Settings,
        store: Arc<dyn Store>,
    ) -> Result<(App, Option<FirstStart>), ServiceError> {
        let first_start = bootstrap::ensure(&settings, &*store).await?;
        entity_groups::upgrade::ensure(&*store).await?;
        group_permissions::upgrade::ensure(&*store).await?;
        let snapshot = store.snapshot()?;
        let secret = meta::get(&*snapshot, meta::JWT_SECRET)?.ok_or_else(|| {
            ServiceError::Store(StoreError::Corrupt {
                table: "meta",
                reason: "the JWT secret is missing".into(),
            })
        })?;
        drop(snapshot);
        let jwt = JwtKeys::new(
            &secret,
            settings.jwt.access_ttl_s,
            settings.jwt.refresh_ttl_s,
        );
        let customer_index = CustomerIndex::attach(&*store)?;
        let series = crate::store::telemetry::Series::attach(&*store)?;
        let (device_events, _) = tokio::sync::broadcast::channel(1024);
        let (data_events, _) = tokio::sync::broadcast::channel(4096);
        let (owner_events, _) = tokio::sync::broadcast::channel(1024);
        let mailer = settings
            .smtp
            .as_ref()
            .map(mail::Mailer::new)
            .transpose()
            .map_err(ServiceError::Mail)?;
        let hashing = Arc::new(Semaphore::new(
            settings.security.max_concurrent_hashes.max(1),
        ));
        let write_slots = Arc::new(Semaphore::new(settings.max_queued_writes.max(1)));
        compaction::spawn(&store, &series);
        let extensions = Arc::new(extension_registry::ExtensionRegistry::new(
            settings.wasm.clone(),
            &settings.data_dir,
        ));
        let field_registry = calculated_fields::Registry::attach(&*store)?;
        let field_engine = calculated_fields::Engine::start(calculated_fields::EngineParts {
            store: &store,
            series: &series,
            registry: &field_registry,
            extensions: &extensions,
            data_events: &data_events,
            owner_changes: owner_events.subscribe(),
            event_cap: settings.events.cap(),
        })?;
        let logic_bindings = customer_logic::Bindings::attach(&*store)?;
        let logic = customer_logic::Dispatcher::start(customer_logic::DispatcherParts {
            store: &store,
            series: &series,
            bindings: &logic_bindings,
            extensions: &extensions,
            fields: (&field_registry, &field_engine),
            data_events: &data_events,
            owner_changes: owner_events.subscribe(),
            event_cap: settings.events.cap(),
        });
        let reach = crate::auth::rights::Reach {
            tree: customer_index.clone(),
            members: Arc::new(group_permissions::rights::StoredMembers(Arc::clone(&store))),
        };
        let app = App {
            store,
            settings: Arc::new(settings),
            jwt,
            customer_index,
            reach,
            series,
            live_devices: Arc::new(live_devices::LiveDevices::new()),
            device_events,
            data_events,
            owner_events,
            field_registry,
            field_engine,
            logic_bindings,
            logic,
            hashing,
            write_slots,
            mailer,
            extensions,
        };
        app.load_stored_extensions().await?;
        Ok((app, first_start))
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Runs `op` on the store's writer; see [`crate::store::write`].
    pub(crate) async fn write<T, F>(&self, op: F) -> ServiceResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn crate::store::KvRead) -> ServiceResult<(T, crate::store::Changes)>
            + Send
            + 'static,
    {
        let _slot = self
            .write_slots
            .acquire()
            .await
            .map_err(|_| ServiceError::Internal("shutting down".into()))?;
        crate::store::write(&*self.store, op).await
    }

    /// Runs blocking work (long scans) off the async executor.
    pub(crate) async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> ServiceResult<T> + Send + 'static,
    ) -> ServiceResult<T> {
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| ServiceError::Internal(format!("background task failed: {e}")))?
    }

    /// Argon2 work, bounded in concurrency so a login flood cannot exhaust memory.
    pub(crate) async fn hashing<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> ServiceResult<T> {
        let _permit = self
            .hashing
            .acquire()
            .await
            .map_err(|_| ServiceError::Internal("shutting down".into()))?;
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| ServiceError::Internal(format!("hashing failed: {e}")))
    }
}

#[cfg(test)]
mod extension_tests;
#[cfg(test)]
mod tests;
