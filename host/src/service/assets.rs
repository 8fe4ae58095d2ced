//! Assets: create, update, delete; reading, listing and assignment are
//! shared with devices (`assignable.rs`).

use serde_json::json;

use crate::auth::Caller;
use crate::auth::permissions::Operation;
use crate::domain::asset::{Asset, AssetInput};
use crate::domain::assignable::Assignable;
use crate::domain::audit::ActionType;
use crate::domain::ids::{AssetId, now_ms};
use crate::store::{self, Changes, assignable as rows};

use super::assignable::{
    audit, check_name_free, find, new_owner, stage_delete_data, stage_join_groups, stage_update,
};
use super::customer_logic::lifecycle_of;
use super::{App, ServiceResult};
use crate::wasm::LifecycleEvent;

impl App {
    /// Creates (no `id`) or updates an asset.
    pub async fn save_asset(&self, caller: &Caller, mut input: AssetInput) -> ServiceResult<Asset> {
        input.validate(Asset::LABEL)?;
        let caller = caller.clone();
        let (asset, action) = self
            .write(move |view| {
                let mut changes = Changes::new();
                let (asset, action) = match input.id {
                    None => {
                        let groups = std::mem::take(&mut input.entity_groups);
                        let customer = new_owner::<Asset>(view, &caller, &groups)?;
                        let name = input.name.as_deref().unwrap_or("");
                        check_name_free::<Asset>(view, caller.tenant_id, name)?;
                        let a = Asset::create(caller.tenant_id, customer, input, now_ms());
                        rows::put(&mut changes, None, &a);
                        stage_join_groups(view, &mut changes, &caller, &groups, &a)?;
                        (a, ActionType::Added)
                    }
                    Some(id) => (
                        stage_update(view, &mut changes, &caller, id, input)?,
                        ActionType::Updated,
                    ),
                };
                let log = audit(&caller, &asset, action, json!({ "entity": asset }));
                store::audit_log::append(&mut changes, &log);
                Ok(((asset, action), changes))
            })
            .await?;
        self.logic_lifecycle(
            asset.tenant_id,
            asset.customer_id,
            asset.id.entity_id(),
            lifecycle_of(action),
        )
        .await;
        Ok(asset)
    }

    /// Deletes an asset with its attributes and telemetry.
    pub async fn delete_asset(&self, caller: &Caller, id: AssetId) -> ServiceResult<()> {
        let caller = caller.clone();
        let gone = self
            .write(move |view| {
                let a: Asset = find(view, &caller, id.0, Operation::Delete)?;
                let mut changes = Changes::new();
                rows::delete(&mut changes, &a);
                stage_delete_data(view, &mut changes, a.tenant_id, a.id.0)?;
                let log = audit(
                    &caller,
                    &a,
                    ActionType::Deleted,
                    json!({ "entityId": id.entity_id() }),
                );
                store::audit_log::append(&mut changes, &log);
                Ok((a, changes))
            })
            .await?;
        self.logic_lifecycle(
            gone.tenant_id,
            gone.customer_id,
            id.entity_id(),
            LifecycleEvent::Deleted,
        )
        .await;
        Ok(())
    }
}
