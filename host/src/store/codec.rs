//! Record values are JSON (readable with any redb tool, tolerant of added
//! fields); keys are fixed-width big-endian ids and times so that ranges
//! scan in order.

use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::{KvRead, StoreError, Table};

pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising plain data structs to JSON cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

pub fn decode<T: DeserializeOwned>(table: Table, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::corrupt(table, e.to_string()))
}

/// Decodes every row of `table` whose key starts with `prefix`, in key order.
pub fn rows_with_prefix<T: DeserializeOwned>(
    r: &dyn KvRead,
    table: Table,
    prefix: &[u8],
) -> Result<Vec<T>, StoreError> {
    let mut out = Vec::new();
    r.scan(table, prefix, None, false, &mut |_, v| {
        out.push(decode(table, v)?);
        Ok(true)
    })?;
    Ok(out)
}

/// Every key under `prefix` in each of `tables`, with its table: what
/// deleting an entity or a tenant with all it owns removes.
pub fn keys_under(
    r: &dyn KvRead,
    tables: &[Table],
    prefix: &[u8],
) -> Result<Vec<(Table, Vec<u8>)>, StoreError> {
    let mut keys = Vec::new();
    for &table in tables {
        r.scan(table, prefix, None, false, &mut |k, _| {
            keys.push((table, k.to_vec()));
            Ok(true)
        })?;
    }
    Ok(keys)
}

/// The ids at `offset` of the index keys of `table` starting with `prefix`
/// (an index maps `prefix ‖ id` to nothing).
pub fn ids_in_index(
    r: &dyn KvRead,
    table: Table,
    prefix: &[u8],
    offset: usize,
) -> Result<Vec<Uuid>, StoreError> {
    let mut ids = Vec::new();
    r.scan(table, prefix, None, false, &mut |k, _| {
        ids.extend(uuid_at(k, offset));
        Ok(true)
    })?;
    Ok(ids)
}

/// Builds a composite key from parts.
#[derive(Debug, Default)]
pub struct Key(Vec<u8>);

impl Key {
    pub fn new() -> Self {
        Key(Vec::with_capacity(48))
    }
    pub fn id(mut self, id: Uuid) -> Self {
        self.0.extend_from_slice(id.as_bytes());
        self
    }
    /// Times are stored with the sign bit flipped so negative values sort first.
    pub fn time(mut self, ms: i64) -> Self {
        self.0
            .extend_from_slice(&((ms as u64) ^ (1 << 63)).to_be_bytes());
        self
    }
    /// A one-byte tag (a type code), fixed width like ids.
    pub fn tag(mut self, tag: u8) -> Self {
        self.0.push(tag);
        self
    }
    pub fn text(mut self, s: &str) -> Self {
        self.0.extend_from_slice(s.as_bytes());
        self
    }
    pub fn build(self) -> Vec<u8> {
        self.0
    }
}

/// Reads the uuid at `offset` of a key or value.
pub fn uuid_at(bytes: &[u8], offset: usize) -> Option<Uuid> {
    let raw: [u8; 16] = bytes.get(offset..offset + 16)?.try_into().ok()?;
    Some(Uuid::from_bytes(raw))
}

/// Reads the time written by [`Key::time`] at `offset`.
pub fn time_at(bytes: &[u8], offset: usize) -> Option<i64> {
    let raw: [u8; 8] = bytes.get(offset..offset + 8)?.try_into().ok()?;
    Some((u64::from_be_bytes(raw) ^ (1 << 63)) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_sort_in_key_order_including_negative() {
        let keys: Vec<Vec<u8>> = [-5i64, 0, 7, i64::MAX]
            .iter()
            .map(|t| Key::new().time(*t).build())
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert_eq!(time_at(&keys[0], 0), Some(-5));
    }
}
