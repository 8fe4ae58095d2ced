//! The changes one operation makes, applied atomically by the writer.

use super::Table;

/// Set (`Some`) or remove (`None`) one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mutation {
    pub table: Table,
    pub key: Vec<u8>,
    pub value: Option<Vec<u8>>,
}

/// The mutations of one operation, in order.
#[derive(Debug, Default)]
pub struct Changes {
    mutations: Vec<Mutation>,
}

impl Changes {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn put(&mut self, table: Table, key: Vec<u8>, value: Vec<u8>) {
        self.mutations.push(Mutation {
            table,
            key,
            value: Some(value),
        });
    }

    pub fn delete(&mut self, table: Table, key: Vec<u8>) {
        self.mutations.push(Mutation {
            table,
            key,
            value: None,
        });
    }

    /// What is staged so far, in order.
    pub fn mutations(&self) -> &[Mutation] {
        &self.mutations
    }

    pub fn is_empty(&self) -> bool {
        self.mutations.is_empty()
    }

    pub fn into_mutations(self) -> Vec<Mutation> {
        self.mutations
    }
}
