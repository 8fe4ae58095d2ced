//! Use cases over the in-memory store.
