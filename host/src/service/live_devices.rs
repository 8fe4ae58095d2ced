//! The devices ingest has found in the store, so that a write per message
//! does not look its device up again each time.
//!
//! Ingest must not store data under a deleted device, so each of its writes
//! checks, on the writer, that the device is still there. That lookup was a
//! third of an ingest write's time on the writer, which every device's
//! PUBACK waits on. A device found once is taken as still there until a
//! write deletes a device row (any device: deletions are rare, and then
//! every device is looked up again once).

use std::sync::{Mutex, PoisonError};

use foldhash::{HashSet, HashSetExt};
use uuid::Uuid;

use crate::domain::device::Device;
use crate::domain::ids::TenantId;
use crate::store::{KvRead, StoreResult, assignable};

#[derive(Debug)]
pub(crate) struct LiveDevices {
    found: Mutex<Found>,
}

#[derive(Debug)]
struct Found {
    /// `assignable::device_deletions()` when `devices` was last emptied.
    deletions: u64,
    devices: HashSet<(TenantId, Uuid)>,
}

impl LiveDevices {
    pub fn new() -> Self {
        LiveDevices {
            found: Mutex::new(Found {
                deletions: assignable::device_deletions(),
                devices: HashSet::new(),
            }),
        }
    }

    /// Whether the device is in `view`. Only for writes (on the writer):
    /// the count of deletions it relies on is ordered with them there.
    pub fn exists(&self, view: &dyn KvRead, tenant: TenantId, device: Uuid) -> StoreResult<bool> {
        let deletions = assignable::device_deletions();
        let mut found = self.found.lock().unwrap_or_else(PoisonError::into_inner);
        if found.deletions != deletions {
            found.devices.clear();
            found.deletions = deletions;
        }
        if found.devices.contains(&(tenant, device)) {
            return Ok(true);
        }
        let exists = assignable::exists::<Device>(view, tenant, device)?;
        if exists {
            found.devices.insert((tenant, device));
        }
        Ok(exists)
    }
}
