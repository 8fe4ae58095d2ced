//! An in-memory store with the same semantics as the redb one, for fast unit
//! tests of the services: snapshots are cheap clones of a shared map.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use super::{CommitListener, KvRead, Store, StoreResult, Table, Visitor, WriteJob};

type Map = BTreeMap<(Table, Vec<u8>), Vec<u8>>;

#[derive(Default)]
pub struct MemoryStore {
    data: RwLock<Arc<Map>>,
    writer: Mutex<()>,
    listeners: RwLock<Vec<CommitListener>>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn current(&self) -> Arc<Map> {
        Arc::clone(&self.data.read().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Store for MemoryStore {
    fn snapshot(&self) -> StoreResult<Box<dyn KvRead + Send>> {
        Ok(Box::new(Snapshot(self.current())))
    }

    fn submit(&self, job: WriteJob) {
        // One job at a time, like one batch of the redb writer.
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(staged) = job(&Snapshot(self.current())) else {
            return;
        };
        {
            let mut data = self.data.write().unwrap_or_else(PoisonError::into_inner);
            let map = Arc::make_mut(&mut data);
            for m in &staged.mutations {
                match &m.value {
                    Some(v) => map.insert((m.table, m.key.clone()), v.clone()),
                    None => map.remove(&(m.table, m.key.clone())),
                };
            }
        }
        for listener in self
            .listeners
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            listener(&staged.mutations);
        }
        (staged.on_commit)(Ok(()));
    }

    fn on_commit(&self, listener: CommitListener) {
        self.listeners
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(listener);
    }
}

struct Snapshot(Arc<Map>);

impl KvRead for Snapshot {
    fn get(&self, table: Table, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        Ok(self.0.get(&(table, key.to_vec())).cloned())
    }

    fn scan(
        &self,
        table: Table,
        prefix: &[u8],
        start: Option<&[u8]>,
        reverse: bool,
        visit: &mut Visitor<'_>,
    ) -> StoreResult<()> {
        let from = (table, prefix.to_vec());
        let in_table = self
            .0
            .range(from..)
            .take_while(|((t, k), _)| *t == table && k.starts_with(prefix));
        let keep_forward = |k: &Vec<u8>| start.is_none_or(|s| k.as_slice() >= s);
        let keep_reverse = |k: &Vec<u8>| start.is_none_or(|s| k.as_slice() <= s);
        if reverse {
            let items: Vec<_> = in_table.filter(|((_, k), _)| keep_reverse(k)).collect();
            for ((_, k), v) in items.into_iter().rev() {
                if !visit(k, v)? {
                    break;
                }
            }
        } else {
            for ((_, k), v) in in_table.filter(|((_, k), _)| keep_forward(k)) {
                if !visit(k, v)? {
                    break;
                }
            }
        }
        Ok(())
    }
}
