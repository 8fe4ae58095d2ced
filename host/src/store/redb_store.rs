//! The redb store: one file, snapshot reads, and one writer thread that
//! commits whatever is queued as one durable transaction (group commit).

use std::ops::Bound;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::thread::JoinHandle;

use redb::{
    Database, Durability, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition,
    WriteTransaction,
};

use super::{
    CommitListener, KvRead, Mutation, Staged, Store, StoreError, StoreResult, Table, Visitor,
    WriteJob,
};

/// Page cache used unless configured otherwise. Ingest appends to a few hot
/// pages, which fit; a bigger cache only speeds up reads of long histories,
/// and it stays full once filled: 32 MiB kept the idle footprint with
/// 10,000 connected devices at about 150 MB, 16 MiB keeps it near 130 MB
/// at the same ingest rate (`cargo bench --bench ingest`).
pub const DEFAULT_CACHE_BYTES: usize = 16 * 1024 * 1024;

/// Most jobs committed together; bounds the latency one commit adds.
const MAX_BATCH: usize = 8192;

fn definition(table: Table) -> TableDefinition<'static, &'static [u8], &'static [u8]> {
    TableDefinition::new(table.name())
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

type Listeners = Arc<RwLock<Vec<CommitListener>>>;

/// How the writer has grouped work so far.
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Durable commits made.
    pub commits: AtomicU64,
    /// Write jobs that were part of a successful commit.
    pub jobs: AtomicU64,
}

pub struct RedbStore {
    db: Arc<Database>,
    jobs: Mutex<Option<Sender<WriteJob>>>,
    listeners: Listeners,
    writer: Mutex<Option<JoinHandle<()>>>,
    stats: Arc<WriterStats>,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbStore").finish_non_exhaustive()
    }
}

impl RedbStore {
    /// Opens (or creates) the database file and starts the writer thread.
    pub fn open(path: &Path) -> StoreResult<Self> {
        Self::open_with_cache(path, DEFAULT_CACHE_BYTES)
    }

    /// Opens with a page cache of `cache_bytes` (redb's own default is 1 GiB,
    /// too much for an edge gateway).
    pub fn open_with_cache(path: &Path, cache_bytes: usize) -> StoreResult<Self> {
        let db = Database::builder()
            .set_cache_size(cache_bytes)
            .create(path)
            .map_err(backend)?;
        let mut txn = db.begin_write().map_err(backend)?;
        txn.set_quick_repair(true);
        for table in Table::ALL {
            txn.open_table(definition(table)).map_err(backend)?;
        }
        txn.commit().map_err(backend)?;

        let db = Arc::new(db);
        let listeners: Listeners = Arc::default();
        let (tx, rx) = channel();
        let stats = Arc::new(WriterStats::default());
        let writer = {
            let db = Arc::clone(&db);
            let listeners = Arc::clone(&listeners);
            let stats = Arc::clone(&stats);
            std::thread::Builder::new()
                .name("clientele-store-writer".into())
                .spawn(move || run_writer(&db, &rx, &listeners, &stats))
                .map_err(backend)?
        };
        Ok(RedbStore {
            db,
            jobs: Mutex::new(Some(tx)),
            listeners,
            writer: Mutex::new(Some(writer)),
            stats,
        })
    }

    /// Commits and jobs so far: jobs per commit is the grouping achieved.
    pub fn stats(&self) -> (u64, u64) {
        (
            self.stats.commits.load(Ordering::Relaxed),
            self.stats.jobs.load(Ordering::Relaxed),
        )
    }

    /// Stops the writer after it has committed everything already queued.
    pub fn close(&self) {
        self.jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let handle = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }
}

impl Drop for RedbStore {
    fn drop(&mut self) {
        self.close();
    }
}

impl Store for RedbStore {
    fn snapshot(&self) -> StoreResult<Box<dyn KvRead + Send>> {
        let txn = self.db.begin_read().map_err(backend)?;
        Ok(Box::new(ReadView(txn)))
    }

    fn submit(&self, job: WriteJob) {
        let jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        // With the writer gone the job is dropped, and its caller sees `Closed`.
        if let Some(tx) = jobs.as_ref() {
            let _ = tx.send(job);
        }
    }

    fn on_commit(&self, listener: CommitListener) {
        self.listeners
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(listener);
    }
}

fn run_writer(
    db: &Database,
    jobs: &Receiver<WriteJob>,
    listeners: &Listeners,
    stats: &WriterStats,
) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        commit_batch(db, batch, listeners, stats);
    }
}

/// Runs each job against the open transaction, applies what it staged, and
/// commits once; every staged job then hears the one outcome.
fn commit_batch(db: &Database, batch: Vec<WriteJob>, listeners: &Listeners, stats: &WriterStats) {
    let mut txn = match db.begin_write() {
        Ok(txn) => txn,
        Err(e) => {
            tracing::error!(error = %e, "cannot begin a write transaction");
            // Dropping the jobs drops their reply channels: each caller sees
            // `Closed`, the same "Database error" answer as a failed commit.
            drop(batch);
            return;
        }
    };
    txn.set_quick_repair(true);
    if let Err(e) = txn.set_durability(Durability::Immediate) {
        tracing::error!(error = %e, "cannot make the transaction durable");
    }
    let mut staged_jobs: Vec<Staged> = Vec::with_capacity(batch.len());
    let mut applied: Vec<Mutation> = Vec::new();
    let failure = {
        // Tables stay open for the whole batch: opening one per read or
        // write costs more than the read or write itself.
        let tables = OpenTables::new(&txn);
        let mut failure = None;
        for job in batch {
            // A panicking job is a bug in that job: the batch goes on without it
            // (`write` catches it first and tells its caller `JobPanicked`).
            let Ok(staged) = catch_unwind(AssertUnwindSafe(|| job(&tables))) else {
                tracing::error!("a write job panicked; it was skipped");
                continue;
            };
            let Some(staged) = staged else { continue };
            if let Err(e) = tables.apply(&staged.mutations) {
                failure = Some((e, staged));
                break;
            }
            staged_jobs.push(staged);
        }
        failure
    };
    if let Some((e, staged)) = failure {
        tracing::error!(error = %e, "applying a write failed; the batch is rolled back");
        let _ = txn.abort();
        (staged.on_commit)(Err(backend(&e)));
        for other in staged_jobs {
            (other.on_commit)(Err(backend(&e)));
        }
        return;
    }
    for staged in &mut staged_jobs {
        applied.append(&mut staged.mutations);
    }
    match txn.commit() {
        Ok(()) => {
            stats.commits.fetch_add(1, Ordering::Relaxed);
            stats
                .jobs
                .fetch_add(staged_jobs.len() as u64, Ordering::Relaxed);
            let listeners = listeners.read().unwrap_or_else(PoisonError::into_inner);
            for listener in listeners.iter() {
                listener(&applied);
            }
            for staged in staged_jobs {
                (staged.on_commit)(Ok(()));
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "commit failed");
            for staged in staged_jobs {
                (staged.on_commit)(Err(backend(&e)));
            }
        }
    }
}

/// The smallest key greater than every key starting with `prefix`.
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

fn scan_table<T: ReadableTable<&'static [u8], &'static [u8]>>(
    table: &T,
    prefix: &[u8],
    start: Option<&[u8]>,
    reverse: bool,
    visit: &mut Visitor<'_>,
) -> StoreResult<()> {
    let end = prefix_end(prefix);
    let (lower, upper): (Bound<&[u8]>, Bound<&[u8]>) = match (reverse, start) {
        (false, Some(s)) => (
            Bound::Included(s),
            end.as_deref().map_or(Bound::Unbounded, Bound::Excluded),
        ),
        (false, None) => (
            Bound::Included(prefix),
            end.as_deref().map_or(Bound::Unbounded, Bound::Excluded),
        ),
        (true, Some(s)) => (Bound::Included(prefix), Bound::Included(s)),
        (true, None) => (
            Bound::Included(prefix),
            end.as_deref().map_or(Bound::Unbounded, Bound::Excluded),
        ),
    };
    let range = table.range::<&[u8]>((lower, upper)).map_err(backend)?;
    let items: Box<dyn Iterator<Item = _>> = if reverse {
        Box::new(range.rev())
    } else {
        Box::new(range)
    };
    for item in items {
        let (k, v) = item.map_err(backend)?;
        if !visit(k.value(), v.value())? {
            break;
        }
    }
    Ok(())
}

struct ReadView(ReadTransaction);

impl KvRead for ReadView {
    fn get(&self, table: Table, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        let t = self.0.open_table(definition(table)).map_err(backend)?;
        let value = t.get(key).map_err(backend)?;
        Ok(value.map(|v| v.value().to_vec()))
    }

    fn scan(
        &self,
        table: Table,
        prefix: &[u8],
        start: Option<&[u8]>,
        reverse: bool,
        visit: &mut Visitor<'_>,
    ) -> StoreResult<()> {
        let t = self.0.open_table(definition(table)).map_err(backend)?;
        scan_table(&t, prefix, start, reverse, visit)
    }
}

type RawTable<'txn> = redb::Table<'txn, &'static [u8], &'static [u8]>;

/// The tables of one write transaction, opened once and reused by every job
/// of the batch. A table is taken out of the map while in use, so a read
/// nested inside a scan of the same table fails cleanly (redb refuses to
/// open a table twice) instead of aliasing it.
struct OpenTables<'txn> {
    txn: &'txn WriteTransaction,
    open: std::cell::RefCell<foldhash::HashMap<Table, RawTable<'txn>>>,
}

impl<'txn> OpenTables<'txn> {
    fn new(txn: &'txn WriteTransaction) -> Self {
        OpenTables {
            txn,
            open: std::cell::RefCell::default(),
        }
    }

    fn with<T>(
        &self,
        table: Table,
        f: impl FnOnce(&mut RawTable<'txn>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let cached = self.open.borrow_mut().remove(&table);
        let mut t = match cached {
            Some(t) => t,
            None => self.txn.open_table(definition(table)).map_err(backend)?,
        };
        let result = f(&mut t);
        self.open.borrow_mut().insert(table, t);
        result
    }

    fn apply(&self, mutations: &[Mutation]) -> StoreResult<()> {
        let mut rest = mutations;
        while let Some(first) = rest.first() {
            // A run of one table's mutations takes the table out once.
            let run = rest.iter().take_while(|m| m.table == first.table).count();
            let (now, later) = rest.split_at(run);
            self.with(first.table, |t| apply_to(t, now))?;
            rest = later;
        }
        Ok(())
    }
}

/// Deletes of this many ascending keys or more are swept in one pass over
/// their range instead of one descent each: a compaction removes thousands
/// of consecutive ingest-log entries, and removing them one by one was most
/// of its time in the writer.
const SWEEP_AT_LEAST: usize = 32;

fn apply_to(t: &mut RawTable<'_>, mutations: &[Mutation]) -> StoreResult<()> {
    let mut at = 0;
    while let Some(m) = mutations.get(at) {
        if let Some(v) = &m.value {
            t.insert(m.key.as_slice(), v.as_slice()).map_err(backend)?;
            at += 1;
            continue;
        }
        let run = ascending_deletes(&mutations[at..]);
        let deletes = &mutations[at..at + run];
        if run >= SWEEP_AT_LEAST {
            sweep(t, deletes)?;
        } else {
            for d in deletes {
                t.remove(d.key.as_slice()).map_err(backend)?;
            }
        }
        at += run;
    }
    Ok(())
}

/// How many deletes lead `mutations`, each key greater than the one before.
fn ascending_deletes(mutations: &[Mutation]) -> usize {
    let mut previous: Option<&[u8]> = None;
    mutations
        .iter()
        .take_while(|m| {
            let ascending = m.value.is_none() && previous.is_none_or(|p| p < m.key.as_slice());
            previous = Some(m.key.as_slice());
            ascending
        })
        .count()
}

/// Removes exactly the keys of `deletes` (ascending) in one pass over the
/// range they span; other keys in that range stay.
fn sweep(t: &mut RawTable<'_>, deletes: &[Mutation]) -> StoreResult<()> {
    let (Some(first), Some(last)) = (deletes.first(), deletes.last()) else {
        return Ok(());
    };
    let mut next = 0;
    t.retain_in::<&[u8], _>(first.key.as_slice()..=last.key.as_slice(), |k, _| {
        while deletes.get(next).is_some_and(|d| d.key.as_slice() < k) {
            next += 1;
        }
        let doomed = deletes.get(next).is_some_and(|d| d.key.as_slice() == k);
        !doomed
    })
    .map_err(backend)
}

impl KvRead for OpenTables<'_> {
    fn get(&self, table: Table, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        self.with(table, |t| {
            let value = t.get(key).map_err(backend)?;
            Ok(value.map(|v| v.value().to_vec()))
        })
    }

    fn contains(&self, table: Table, key: &[u8]) -> StoreResult<bool> {
        self.with(table, |t| Ok(t.get(key).map_err(backend)?.is_some()))
    }

    fn scan(
        &self,
        table: Table,
        prefix: &[u8],
        start: Option<&[u8]>,
        reverse: bool,
        visit: &mut Visitor<'_>,
    ) -> StoreResult<()> {
        self.with(table, |t| scan_table(t, prefix, start, reverse, visit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_carries_over_ff_bytes() {
        assert_eq!(prefix_end(&[1, 2]), Some(vec![1, 3]));
        assert_eq!(prefix_end(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xff, 0xff]), None);
    }
}
