//! Calculated field that allocates 1 MiB after 1 MiB, touching every page,
//! and never lets go. The host's memory cap must stop it with
//! out-of-memory. Host setup: a memory cap.

use clientele_guest::calculated_field::{ArgumentValue, Guest, Output};
use clientele_guest::types::{EntityId, Error};

struct UnboundedAlloc;

impl Guest for UnboundedAlloc {
    fn init(_: String, _: Vec<String>) -> Result<(), Error> {
        Ok(())
    }

    fn compute(_: EntityId, _: Vec<ArgumentValue>, _: i64) -> Result<Vec<Output>, Error> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            let chunk = vec![1u8; 1 << 20];
            hoard.push(std::hint::black_box(chunk));
        }
    }
}

clientele_guest::export_calculated_field!(UnboundedAlloc);
