//! Assets: create, update, delete; reading, listing and assignment are
//! shared with devices (`assignable.rs`).

use serde_json::json;

use crate::auth::Caller;
use crate::auth::permissions::Operation;
use crate::domain::asset::{Asset, AssetInput};
use crate::domain::audit::ActionType;
use crate::domain::ids::{AssetId, now_ms};
use crate::store::{self, Changes, assignable as rows};

use super::assignable::{audit, check, duplicate_name, find, may_create, stage_delete_data};
use super::{App, ServiceError, ServiceResult};

impl App {
    /// Creates (no `id`) or updates an asset.
    pub async fn save_asset(&self, caller: &Caller, input: AssetInput) -> ServiceResult<Asset> {
        input.validate()?;
        let caller = caller.clone();
        self.write(move |view| {
            let name = input.name.clone().unwrap_or_default();
            let taken = rows::id_by_name::<Asset>(view, caller.tenant_id, &name)?;
            let (asset, old, action) = match input.id {
                None => {
                    may_create::<Asset>(&caller)?;
                    if taken.is_some() {
                        return Err(duplicate_name::<Asset>());
                    }
                    (
                        Asset::create(caller.tenant_id, input, now_ms()),
                        None,
                        ActionType::Added,
                    )
                }
                Some(id) => {
                    let old: Asset = rows::get(view, caller.tenant_id, id.0)?
                        .ok_or_else(|| ServiceError::invalid("Can't update non existing asset!"))?;
                    check(&caller, Operation::Write, &old)?;
                    if input.version.is_some_and(|v| v != old.version) {
                        return Err(ServiceError::VersionConflict(
                            "Asset was already changed by someone else".into(),
                        ));
                    }
                    if taken.is_some_and(|t| t != id.0) {
                        return Err(duplicate_name::<Asset>());
                    }
                    (old.updated(input), Some(old), ActionType::Updated)
                }
            };
            let mut changes = Changes::new();
            rows::put(&mut changes, old.as_ref(), &asset);
            let log = audit(&caller, &asset, action, json!({ "entity": asset }));
            store::audit_log::append(&mut changes, &log);
            Ok((asset, changes))
        })
        .await
    }

    /// Deletes an asset with its attributes and telemetry.
    pub async fn delete_asset(&self, caller: &Caller, id: AssetId) -> ServiceResult<()> {
        let caller = caller.clone();
        self.write(move |view| {
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
            Ok(((), changes))
        })
        .await
    }
}
