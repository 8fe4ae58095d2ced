//! Storage: named tables of byte keys and values, read through snapshots and
//! written by one writer that groups many callers' changes into one commit.
//!
//! Everything above this module talks to [`Store`]; [`RedbStore`] keeps the
//! data in one redb file, [`MemoryStore`] in a map for fast unit tests. The
//! typed tables (`customers`, `users`, ...) and their key layout are written
//! down in `docs/storage.md`.

pub mod alarms;
pub mod assignable;
pub mod audit_log;
pub mod calculated_fields;
mod codec;
pub mod customers;
pub mod dashboards;
pub mod devices;
pub mod entity_groups;
pub mod events;
pub mod extensions;
pub mod group_permissions;
pub mod latest;
pub mod logic_bindings;
mod memory;
pub mod meta;
mod recorded_view;
mod redb_store;
pub mod roles;
mod series_chunks;
mod staged_view;
mod table;
pub mod telemetry;
pub mod telemetry_log;
pub mod tenants;
pub mod users;
mod write;

pub use audit_log::{AuditQuery, Subject as AuditSubject};
pub use codec::{decode, encode};
pub use memory::MemoryStore;
use recorded_view::{Reads, Recorder, Row};
pub use redb_store::{DEFAULT_CACHE_BYTES, RedbStore};
pub use staged_view::WithStaged;
pub use table::Table;
pub use write::{Changes, Mutation};

use std::sync::Arc;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("storage error: {0}")]
    Backend(String),
    #[error("corrupt record in {table}: {reason}")]
    Corrupt { table: &'static str, reason: String },
    #[error("the store is shut down")]
    Closed,
    /// The job panicked (a bug in it): it would panic again, so its caller
    /// must not retry it as it would after `Closed`.
    #[error("the write failed: an internal error")]
    JobPanicked,
}

impl StoreError {
    pub fn corrupt(table: Table, reason: impl Into<String>) -> Self {
        StoreError::Corrupt {
            table: table.name(),
            reason: reason.into(),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Called with each key and value of a scan; returns false to stop.
pub type Visitor<'a> = dyn FnMut(&[u8], &[u8]) -> StoreResult<bool> + 'a;

/// Reads one consistent snapshot (or, inside a write, the batch so far).
pub trait KvRead {
    fn get(&self, table: Table, key: &[u8]) -> StoreResult<Option<Vec<u8>>>;

    /// Whether `key` is there, without copying its value.
    fn contains(&self, table: Table, key: &[u8]) -> StoreResult<bool> {
        Ok(self.get(table, key)?.is_some())
    }

    /// Visits the entries whose key starts with `prefix`, in key order (or
    /// reversed), from `start` on if given; stops when `visit` returns false.
    fn scan(
        &self,
        table: Table,
        prefix: &[u8],
        start: Option<&[u8]>,
        reverse: bool,
        visit: &mut Visitor<'_>,
    ) -> StoreResult<()>;
}

/// A unit of work for the writer: it reads what it needs and returns the
/// changes to apply, or nothing if it failed (and then it has already told
/// its caller). `on_commit` is called once the batch holding it is durable.
pub type WriteJob = Box<dyn FnOnce(&dyn KvRead) -> Option<Staged> + Send>;

pub struct Staged {
    pub mutations: Vec<Mutation>,
    pub on_commit: Box<dyn FnOnce(StoreResult<()>) + Send>,
}

/// Called by the writer, in commit order, with every mutation of a committed
/// batch; used to keep in-memory indexes in step with the tables.
pub type CommitListener = Arc<dyn Fn(&[Mutation]) + Send + Sync>;

/// A key-value store with snapshot reads and a single grouped writer.
pub trait Store: Send + Sync + 'static {
    /// A consistent read-only view of the latest commit.
    fn snapshot(&self) -> StoreResult<Box<dyn KvRead + Send>>;
    /// Queues a write; the job runs on the writer and reports through its callback.
    fn submit(&self, job: WriteJob);
    /// Registers a listener for committed mutations (before serving traffic).
    fn on_commit(&self, listener: CommitListener);
}

/// Runs `op` on the writer and waits until its changes are durable.
///
/// `op` sees the store as it is at that point of the batch and returns a value
/// and the changes to make; if it returns an error nothing of it is written.
pub async fn write<T, E, F>(store: &dyn Store, op: F) -> Result<T, E>
where
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
    F: FnOnce(&dyn KvRead) -> Result<(T, Changes), E> + Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel::<Result<T, E>>();
    store.submit(Box::new(move |view: &dyn KvRead| {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || op(view)));
        let Ok(outcome) = outcome else {
            tracing::error!("a write job panicked; nothing of it was written");
            let _ = tx.send(Err(E::from(StoreError::JobPanicked)));
            return None;
        };
        write_outcome(outcome, tx)
    }));
    rx.await
        .unwrap_or_else(|_| Err(E::from(StoreError::Closed)))
}

/// What a job's operation returned, as the writer takes it: nothing to
/// stage (the error goes back at once), or its changes with the reply to
/// send once they are durable.
fn write_outcome<T, E>(
    outcome: Result<(T, Changes), E>,
    tx: tokio::sync::oneshot::Sender<Result<T, E>>,
) -> Option<Staged>
where
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
{
    match outcome {
        Err(e) => {
            let _ = tx.send(Err(e));
            None
        }
        Ok((value, changes)) => {
            // Before any later write runs: see `assignable::device_deletions`.
            assignable::note_device_deletions(changes.mutations());
            Some(Staged {
                mutations: changes.into_mutations(),
                on_commit: Box::new(move |result| {
                    let _ = tx.send(result.map(|()| value).map_err(E::from));
                }),
            })
        }
    }
}

#[cfg(test)]
mod series_tests;
#[cfg(test)]
mod tests;
