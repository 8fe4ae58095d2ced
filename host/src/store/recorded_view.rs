//! Optimistic reads: work computed from a snapshot, outside the writer, and
//! staged by a job only if what it read still reads the same.
//!
//! The writer runs jobs one after another, so a job that reads a lot holds
//! up every other caller's commit. [`Recorder`] wraps a snapshot and
//! remembers every read (and what it returned); the job later checks the
//! [`Reads`] against its own view, which holds every commit since the
//! snapshot and the earlier jobs of its batch. If any read differs, the
//! result may be stale and the job computes it again, in the writer.

use std::cell::RefCell;

use super::{KvRead, StoreResult, Table, Visitor};

/// A key and its value, as read.
pub type Row = (Vec<u8>, Vec<u8>);

#[derive(Debug)]
enum Read {
    Get {
        table: Table,
        key: Vec<u8>,
        value: Option<Vec<u8>>,
    },
    Scan {
        table: Table,
        prefix: Vec<u8>,
        start: Option<Vec<u8>>,
        reverse: bool,
        /// The rows the visitor saw, in order.
        seen: Vec<Row>,
        /// Whether the visitor stopped the scan (at the last row seen)
        /// rather than running out of rows.
        stopped: bool,
    },
}

/// A view that remembers what was read through it.
pub struct Recorder<'a> {
    base: &'a dyn KvRead,
    reads: RefCell<Vec<Read>>,
}

/// What a [`Recorder`] saw.
#[derive(Debug, Default)]
pub struct Reads(Vec<Read>);

impl<'a> Recorder<'a> {
    pub fn new(base: &'a dyn KvRead) -> Self {
        Recorder {
            base,
            reads: RefCell::new(Vec::new()),
        }
    }

    /// Records `rows` (consecutive under `prefix`, in key order) as read
    /// by the caller itself, and the rows after them as not looked at: what
    /// a scan stopping at the last of them records. For work that depends
    /// on those rows only, not on rows added after them meanwhile.
    pub fn saw_run(&self, table: Table, prefix: &[u8], rows: Vec<Row>) {
        let Some((first, _)) = rows.first() else {
            return;
        };
        self.reads.borrow_mut().push(Read::Scan {
            table,
            prefix: prefix.to_vec(),
            start: Some(first.clone()),
            reverse: false,
            seen: rows,
            stopped: true,
        });
    }

    pub fn into_reads(self) -> Reads {
        Reads(self.reads.into_inner())
    }
}

impl KvRead for Recorder<'_> {
    fn get(&self, table: Table, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        let value = self.base.get(table, key)?;
        self.reads.borrow_mut().push(Read::Get {
            table,
            key: key.to_vec(),
            value: value.clone(),
        });
        Ok(value)
    }

    fn scan(
        &self,
        table: Table,
        prefix: &[u8],
        start: Option<&[u8]>,
        reverse: bool,
        visit: &mut Visitor<'_>,
    ) -> StoreResult<()> {
        let mut seen = Vec::new();
        let mut stopped = false;
        self.base.scan(table, prefix, start, reverse, &mut |k, v| {
            seen.push((k.to_vec(), v.to_vec()));
            let go_on = visit(k, v)?;
            stopped = !go_on;
            Ok(go_on)
        })?;
        self.reads.borrow_mut().push(Read::Scan {
            table,
            prefix: prefix.to_vec(),
            start: start.map(<[u8]>::to_vec),
            reverse,
            seen,
            stopped,
        });
        Ok(())
    }
}

impl Reads {
    /// Whether every read gives the same answer through `view`.
    pub fn still_hold(&self, view: &dyn KvRead) -> StoreResult<bool> {
        for read in &self.0 {
            let same = match read {
                Read::Get { table, key, value } => view.get(*table, key)? == *value,
                Read::Scan {
                    table,
                    prefix,
                    start,
                    reverse,
                    seen,
                    stopped,
                } => {
                    let (mut at, mut same) = (0, true);
                    view.scan(*table, prefix, start.as_deref(), *reverse, &mut |k, v| {
                        match seen.get(at) {
                            Some((sk, sv)) if sk.as_slice() == k && sv.as_slice() == v => {
                                at += 1;
                                // Past the row the visitor stopped at, the
                                // work never looked.
                                Ok(!(*stopped && at == seen.len()))
                            }
                            // A row changed, or appeared in the scanned range.
                            _ => {
                                same = false;
                                Ok(false)
                            }
                        }
                    })?;
                    same && at == seen.len()
                }
            };
            if !same {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Changes, MemoryStore, Staged, Store, WithStaged};

    fn seeded() -> MemoryStore {
        let store = MemoryStore::new();
        let mut changes = Changes::new();
        for k in [b"a1", b"a2", b"a3", b"b1"] {
            changes.put(Table::Meta, k.to_vec(), k.to_vec());
        }
        let mutations = changes.into_mutations();
        store.submit(Box::new(move |_| {
            Some(Staged {
                mutations,
                on_commit: Box::new(|_| {}),
            })
        }));
        store
    }

    /// Reads a key, the first row under "a" and every row under "b".
    fn work(r: &dyn KvRead) {
        r.get(Table::Meta, b"a2").unwrap();
        r.scan(Table::Meta, b"a", None, false, &mut |_, _| Ok(false))
            .unwrap();
        r.scan(Table::Meta, b"b", None, false, &mut |_, _| Ok(true))
            .unwrap();
    }

    fn holds_after(change: impl FnOnce(&mut Changes)) -> bool {
        let store = seeded();
        let snapshot = store.snapshot().unwrap();
        let recorder = Recorder::new(&*snapshot);
        work(&recorder);
        let reads = recorder.into_reads();
        let mut changes = Changes::new();
        change(&mut changes);
        let now = store.snapshot().unwrap();
        reads.still_hold(&WithStaged::new(&*now, &changes)).unwrap()
    }

    #[test]
    fn a_run_holds_past_rows_added_after_it() {
        let run_holds_after = |change: fn(&mut Changes)| {
            let store = seeded();
            let snapshot = store.snapshot().unwrap();
            let recorder = Recorder::new(&*snapshot);
            let rows = vec![
                (b"a1".to_vec(), b"a1".to_vec()),
                (b"a2".to_vec(), b"a2".to_vec()),
            ];
            recorder.saw_run(Table::Meta, b"a", rows);
            let reads = recorder.into_reads();
            let mut changes = Changes::new();
            change(&mut changes);
            let now = store.snapshot().unwrap();
            reads.still_hold(&WithStaged::new(&*now, &changes)).unwrap()
        };
        assert!(run_holds_after(|c| c.put(
            Table::Meta,
            b"a4".to_vec(),
            b"x".to_vec()
        )));
        assert!(run_holds_after(|c| c.delete(Table::Meta, b"a3".to_vec())));
        assert!(!run_holds_after(|c| c.put(
            Table::Meta,
            b"a2".to_vec(),
            b"x".to_vec()
        )));
        assert!(!run_holds_after(|c| c.delete(Table::Meta, b"a1".to_vec())));
    }

    #[test]
    fn reads_hold_until_something_read_changes() {
        assert!(holds_after(|_| {}));
        // Past where the first scan stopped, or outside every read.
        assert!(holds_after(|c| c.put(
            Table::Meta,
            b"a3".to_vec(),
            b"x".to_vec()
        )));
        assert!(holds_after(|c| c.put(
            Table::Meta,
            b"c".to_vec(),
            b"x".to_vec()
        )));
        // A key read, a row a scan saw, a row added to a range scanned to
        // its end, a row gone from it.
        assert!(!holds_after(|c| c.delete(Table::Meta, b"a2".to_vec())));
        assert!(!holds_after(|c| c.put(
            Table::Meta,
            b"a1".to_vec(),
            b"x".to_vec()
        )));
        assert!(!holds_after(|c| c.put(
            Table::Meta,
            b"b2".to_vec(),
            b"x".to_vec()
        )));
        assert!(!holds_after(|c| c.delete(Table::Meta, b"b1".to_vec())));
    }
}
