//! A job's view with its own staged changes on top.
//!
//! The writer applies a job's changes only after the job returns, so the
//! view a job is given holds earlier jobs' changes but not its own. A job
//! that stages a change and then reads the same key (raising an alarm, then
//! clearing it; deleting a customer's alarms, then unassigning one of them)
//! reads through [`WithStaged`] to see what it already staged.

use std::collections::BTreeMap;

use super::{Changes, KvRead, StoreResult, Table, Visitor};

pub struct WithStaged<'a> {
    base: &'a dyn KvRead,
    changes: &'a Changes,
}

impl<'a> WithStaged<'a> {
    pub fn new(base: &'a dyn KvRead, changes: &'a Changes) -> Self {
        WithStaged { base, changes }
    }

    /// The last staged value of a key: `Some(None)` when staged for deletion.
    fn staged(&self, table: Table, key: &[u8]) -> Option<Option<&'a [u8]>> {
        self.changes
            .mutations()
            .iter()
            .rev()
            .find(|m| m.table == table && m.key == key)
            .map(|m| m.value.as_deref())
    }
}

impl KvRead for WithStaged<'_> {
    fn get(&self, table: Table, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        match self.staged(table, key) {
            Some(value) => Ok(value.map(<[u8]>::to_vec)),
            None => self.base.get(table, key),
        }
    }

    fn scan(
        &self,
        table: Table,
        prefix: &[u8],
        start: Option<&[u8]>,
        reverse: bool,
        visit: &mut Visitor<'_>,
    ) -> StoreResult<()> {
        let mut staged: BTreeMap<&[u8], Option<&[u8]>> = BTreeMap::new();
        for m in self.changes.mutations() {
            if m.table == table && m.key.starts_with(prefix) {
                staged.insert(m.key.as_slice(), m.value.as_deref());
            }
        }
        if staged.is_empty() {
            return self.base.scan(table, prefix, start, reverse, visit);
        }
        // Rare (a job scanning what it changed) and small: merge in memory.
        let mut merged: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        self.base.scan(table, prefix, None, false, &mut |k, v| {
            merged.insert(k.to_vec(), v.to_vec());
            Ok(true)
        })?;
        for (k, v) in staged {
            match v {
                Some(v) => merged.insert(k.to_vec(), v.to_vec()),
                None => merged.remove(k),
            };
        }
        let in_range = |k: &[u8]| start.is_none_or(|s| if reverse { k <= s } else { k >= s });
        let entries: Box<dyn Iterator<Item = (&Vec<u8>, &Vec<u8>)>> = if reverse {
            Box::new(merged.iter().rev())
        } else {
            Box::new(merged.iter())
        };
        for (k, v) in entries.filter(|(k, _)| in_range(k.as_slice())) {
            if !visit(k.as_slice(), v.as_slice())? {
                break;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{MemoryStore, Store};

    #[test]
    fn staged_puts_and_deletes_show_in_gets_and_scans() {
        let store = MemoryStore::new();
        let mut seed = Changes::new();
        for k in [b"a1", b"a2", b"a3"] {
            seed.put(Table::Meta, k.to_vec(), b"old".to_vec());
        }
        let mutations = seed.into_mutations();
        store.submit(Box::new(move |_| {
            Some(crate::store::Staged {
                mutations,
                on_commit: Box::new(|_| {}),
            })
        }));
        let base = store.snapshot().unwrap();
        let mut changes = Changes::new();
        changes.delete(Table::Meta, b"a2".to_vec());
        changes.put(Table::Meta, b"a4".to_vec(), b"new".to_vec());
        changes.put(Table::Meta, b"a1".to_vec(), b"new".to_vec());
        let view = WithStaged::new(&*base, &changes);
        assert_eq!(view.get(Table::Meta, b"a1").unwrap(), Some(b"new".to_vec()));
        assert_eq!(view.get(Table::Meta, b"a2").unwrap(), None);
        assert_eq!(view.get(Table::Meta, b"a3").unwrap(), Some(b"old".to_vec()));
        let scan = |start: Option<&[u8]>, reverse: bool| {
            let mut keys = Vec::new();
            view.scan(Table::Meta, b"a", start, reverse, &mut |k, _| {
                keys.push(String::from_utf8(k.to_vec()).unwrap());
                Ok(true)
            })
            .unwrap();
            keys
        };
        assert_eq!(scan(None, false), ["a1", "a3", "a4"]);
        assert_eq!(scan(Some(b"a3"), true), ["a3", "a1"]);
        assert_eq!(scan(Some(b"a2"), false), ["a3", "a4"]);
    }
}
