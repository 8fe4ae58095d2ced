//! What a failed guest call leaves behind: an ERROR event on its
//! extension, and after `wasm.max_consecutive_failures` failures in a row a
//! suspension, said in an LC_EVENT. A suspended extension is no longer
//! handed out by [`App::extension`], so it stops costing calls; every
//! other extension carries on. Uploading it again (a new extension) or a
//! restart gives it a new start.

use crate::domain::event::NewEvent;
use crate::domain::ids::{ExtensionId, TenantId};
use crate::wasm::WasmError;

use super::extension_registry::ExtensionRegistry;

/// What a failed call of extension `id` leaves: an ERROR event on the
/// extension, and the SUSPENDED lifecycle event when this failure is the
/// one too many. Empty when the extension is gone. Shared by
/// the calculated-field and customer-logic workers, which stage the
/// events in the job that saves what the guests asked for.
pub(crate) fn failure_events(
    extensions: &ExtensionRegistry,
    tenant: TenantId,
    id: ExtensionId,
    method: &str,
    error: &WasmError,
    now: i64,
) -> Vec<NewEvent> {
    let Some(failed) = extensions.failed(tenant, id) else {
        return Vec::new(); // deleted meanwhile: nothing left to tell
    };
    let entity = id.entity_id();
    let message = error.to_string();
    let mut events = vec![NewEvent::error(tenant, entity, method, &message, now)];
    if failed.suspended_now {
        tracing::warn!(extension = %id, failures = failed.failures, "extension suspended: {message}");
        let why = format!(
            "suspended after {} failed calls in a row; the last: {message}",
            failed.failures
        );
        events.push(NewEvent::lifecycle(
            tenant,
            entity,
            "SUSPENDED",
            Some(&why),
            now,
        ));
    }
    events
}

/// What the workers do on a failed or successful call, as one job each,
/// for the tests of the counting and the events.
#[cfg(test)]
impl super::App {
    /// Records a failure of extension `id`; whether it is no longer handed
    /// out (suspended, or deleted meanwhile).
    pub(crate) async fn guest_failed(
        &self,
        tenant: TenantId,
        id: ExtensionId,
        method: &str,
        error: &WasmError,
    ) -> super::ServiceResult<bool> {
        let now = crate::domain::ids::now_ms();
        let events = failure_events(&self.extensions, tenant, id, method, error, now);
        self.record_events(events).await?;
        Ok(self.extensions.get(tenant, id).is_none())
    }

    pub(crate) fn guest_succeeded(&self, tenant: TenantId, id: ExtensionId) {
        self.extensions.succeeded(tenant, id);
    }
}
