//! Installation-wide values: the JWT secret, first-start marker.

use super::{Changes, KvRead, StoreResult, Table};

pub const JWT_SECRET: &str = "jwt_secret";
pub const BOOTSTRAPPED: &str = "bootstrapped";

pub fn get(r: &dyn KvRead, name: &str) -> StoreResult<Option<Vec<u8>>> {
    r.get(Table::Meta, name.as_bytes())
}

pub fn put(changes: &mut Changes, name: &str, value: Vec<u8>) {
    changes.put(Table::Meta, name.as_bytes().to_vec(), value);
}
