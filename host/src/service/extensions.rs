//! Extensions: upload a component, list, read, download, delete; load
//! every stored one at start-up; refuse to delete one that is in use.

use std::time::Instant;

use serde_json::json;

use crate::auth::Caller;
use crate::auth::permissions::{Operation, Resource, Target, require};
use crate::domain::audit::ActionType;
use crate::domain::event::NewEvent;
use crate::domain::extension::{Extension, ExtensionWorld, check_name};
use crate::domain::ids::{CustomerId, EntityId, ExtensionId, TenantId, now_ms};
use crate::domain::page::{PageData, PageLink};
use crate::store::{Changes, KvRead, extensions};
use crate::wasm;

use super::audit::{Actor, stage_record};
use super::events::{stage_delete_of, stage_event};
use super::{App, ServiceError, ServiceResult};

/// `user` (a calculated field, a customer logic binding) now uses
/// `extension`: staged in the job that saves the user, so that deleting
/// the extension is refused from that commit on.
pub(crate) fn stage_use(
    changes: &mut Changes,
    tenant: TenantId,
    extension: ExtensionId,
    user: EntityId,
) {
    extensions::put_use(changes, tenant, extension, user);
}

/// `user` no longer uses `extension` (changed to another, or deleted).
pub(crate) fn stage_unuse(
    changes: &mut Changes,
    tenant: TenantId,
    extension: ExtensionId,
    user: EntityId,
) {
    extensions::delete_use(changes, tenant, extension, user);
}

fn world_of(loaded: &wasm::Extension) -> ExtensionWorld {
    match loaded.world() {
        wasm::World::CalculatedField => ExtensionWorld::CalculatedField,
        wasm::World::CustomerLogic => ExtensionWorld::CustomerLogic,
    }
}

/// The caller's tenant's extension `id`. Rights are checked first: only
/// tenant administrators have extensions, so anyone else is refused (403)
/// whatever the id, and an administrator finds only its own tenant's.
pub(super) fn find(
    view: &dyn KvRead,
    caller: &Caller,
    id: ExtensionId,
    op: Operation,
) -> ServiceResult<Extension> {
    require(
        caller,
        Resource::Extension,
        op,
        &Target::tenant(caller.tenant_id),
    )?;
    extensions::get(view, caller.tenant_id, id)?.ok_or_else(ServiceError::not_found)
}

fn check_name_free(view: &dyn KvRead, tenant: TenantId, name: &str) -> ServiceResult<()> {
    if extensions::id_by_name(view, tenant, name)?.is_some() {
        return Err(ServiceError::invalid(
            "Extension with such name already exists!",
        ));
    }
    Ok(())
}

/// "calculated field" for CALCULATED_FIELD: how a refusal names a user.
fn label(user: EntityId) -> String {
    user.entity_type.as_str().to_lowercase().replace('_', " ")
}

fn page_of(mut all: Vec<Extension>, link: &PageLink) -> PageData<Extension> {
    all.retain(|e| link.matches(&e.name.to_lowercase()));
    match link.sort_property.as_deref() {
        Some("name") => PageData::sorted_by_key(all, link, |e| (e.name.to_lowercase(), e.id)),
        Some("size") => PageData::sorted_by_key(all, link, |e| (e.size, e.id)),
        _ => PageData::sorted_by_key(all, link, |e| (e.created_time, e.id)),
    }
}

impl App {
    /// The loaded extension `id` of `tenant`, ready to call; `None` if it
    /// does not exist (or not yet: it is in memory before its upload
    /// commits) or is suspended after failing too often.
    pub(crate) fn extension(&self, tenant: TenantId, id: ExtensionId) -> Option<wasm::Extension> {
        self.extensions.get(tenant, id)
    }

    /// [`App::extension`] if it implements `world`; else the caller's 400.
    pub(crate) fn extension_of_world(
        &self,
        tenant: TenantId,
        id: ExtensionId,
        world: wasm::World,
    ) -> ServiceResult<wasm::Extension> {
        match self.extension(tenant, id) {
            Some(loaded) if loaded.world() == world => Ok(loaded),
            Some(_) => Err(ServiceError::invalid(format!(
                "The extension does not implement the {world} world"
            ))),
            None => Err(ServiceError::invalid(
                "The extension does not exist or is suspended",
            )),
        }
    }

    /// The wasm runtime, once an extension has been loaded (it is built
    /// then): its compiled-code cache counts compilations and cache hits.
    pub fn wasm_runtime(&self) -> Option<std::sync::Arc<wasm::Runtime>> {
        self.extensions.runtime_if_built()
    }

    /// Validates and stores a component as a new extension of the
    /// caller's tenant, and loads it.
    pub async fn upload_extension(
        &self,
        caller: &Caller,
        name: String,
        bytes: bytes::Bytes,
    ) -> ServiceResult<Extension> {
        // Rights and name first: compiling is the expensive part.
        let tenant = caller.tenant_id;
        require(
            caller,
            Resource::Extension,
            Operation::Create,
            &Target::tenant(tenant),
        )?;
        let name = name.trim().to_owned();
        check_name(&name)?;
        check_name_free(&*self.store.snapshot()?, tenant, &name)?;

        let registry = self.extensions.clone();
        let (loaded, bytes, name) = self
            .blocking(move || {
                let loaded = registry.load(&name, &bytes)?;
                Ok((loaded, bytes, name))
            })
            .await?;
        let ext = Extension::create(
            tenant,
            &name,
            world_of(&loaded),
            loaded.hash().to_owned(),
            bytes.len() as u64,
            now_ms(),
        );
        // In the registry before the commit: once the caller has the id,
        // the extension is there to call. Taken out again if the write fails.
        self.extensions.insert(tenant, ext.id, loaded);
        let (caller, saved, cap) = (caller.clone(), ext.clone(), self.event_cap());
        let written = self
            .write(move |view| {
                check_name_free(view, tenant, &saved.name)?;
                let mut changes = Changes::new();
                extensions::insert(&mut changes, &saved, bytes.to_vec());
                stage_record(
                    &mut changes,
                    &Actor::from(&caller),
                    CustomerId::NULL,
                    Some((saved.id.entity_id(), &saved.name)),
                    ActionType::Added,
                    json!({ "entity": saved }),
                );
                let started = NewEvent::lifecycle(
                    tenant,
                    saved.id.entity_id(),
                    "STARTED",
                    None,
                    saved.created_time,
                );
                stage_event(view, &mut changes, cap, started)?;
                Ok(((), changes))
            })
            .await;
        if let Err(e) = written {
            self.extensions.remove(tenant, ext.id);
            return Err(e);
        }
        Ok(ext)
    }

    pub async fn extension_info(
        &self,
        caller: &Caller,
        id: ExtensionId,
    ) -> ServiceResult<Extension> {
        let snapshot = self.store.snapshot()?;
        find(&*snapshot, caller, id, Operation::Read)
    }

    /// The component's bytes, as uploaded.
    pub async fn extension_content(
        &self,
        caller: &Caller,
        id: ExtensionId,
    ) -> ServiceResult<Vec<u8>> {
        let snapshot = self.store.snapshot()?;
        let e = find(&*snapshot, caller, id, Operation::Read)?;
        extensions::content(&*snapshot, e.tenant_id, e.id)?
            .ok_or_else(|| ServiceError::Internal(format!("extension {id} has no stored content")))
    }

    pub async fn tenant_extensions(
        &self,
        caller: &Caller,
        link: PageLink,
    ) -> ServiceResult<PageData<Extension>> {
        let tenant = caller.tenant_id;
        require(
            caller,
            Resource::Extension,
            Operation::Read,
            &Target::tenant(tenant),
        )?;
        link.check_sort(&["createdTime", "name", "size"])?;
        let snapshot = self.store.snapshot()?;
        self.blocking(move || Ok(page_of(extensions::of_tenant(&*snapshot, tenant)?, &link)))
            .await
    }

    /// Deletes an extension and its events, unless something uses it.
    pub async fn delete_extension(&self, caller: &Caller, id: ExtensionId) -> ServiceResult<()> {
        let caller = caller.clone();
        let tenant = caller.tenant_id;
        self.write(move |view| {
            let e = find(view, &caller, id, Operation::Delete)?;
            if let Some(user) = extensions::first_user(view, tenant, id)? {
                return Err(ServiceError::invalid(format!(
                    "The extension '{}' is used by {} {} and can't be deleted!",
                    e.name,
                    label(user),
                    user.id
                )));
            }
            let mut changes = Changes::new();
            extensions::delete(&mut changes, &e);
            stage_delete_of(view, &mut changes, tenant, id.0)?;
            stage_record(
                &mut changes,
                &Actor::from(&caller),
                CustomerId::NULL,
                Some((id.entity_id(), &e.name)),
                ActionType::Deleted,
                json!({ "entityId": id.entity_id() }),
            );
            Ok(((), changes))
        })
        .await?;
        self.extensions.remove(tenant, id);
        Ok(())
    }

    /// Loads every stored extension (start-up), each recording a STARTED
    /// lifecycle event, or a failed one with why: a component that no
    /// longer loads does not stop the service. Compiled code comes from the
    /// disk cache, so nothing is compiled again after a restart.
    pub(super) async fn load_stored_extensions(&self) -> ServiceResult<()> {
        let snapshot = self.store.snapshot()?;
        let registry = self.extensions.clone();
        let events = self
            .blocking(move || {
                let stored = extensions::all(&*snapshot)?;
                if stored.is_empty() {
                    return Ok(Vec::new());
                }
                let started = Instant::now();
                let mut events = Vec::with_capacity(stored.len());
                let mut failed = 0;
                for e in &stored {
                    let loaded = match extensions::content(&*snapshot, e.tenant_id, e.id)? {
                        Some(bytes) => registry.load(&e.name, &bytes).map_err(|f| f.to_string()),
                        None => Err("its content is missing from the store".to_owned()),
                    };
                    let error = match loaded {
                        Ok(loaded) => {
                            registry.insert(e.tenant_id, e.id, loaded);
                            None
                        }
                        Err(why) => {
                            failed += 1;
                            tracing::warn!(extension = %e.id, name = %e.name, "not loaded: {why}");
                            Some(why)
                        }
                    };
                    let entity = e.id.entity_id();
                    let event = NewEvent::lifecycle(
                        e.tenant_id,
                        entity,
                        "STARTED",
                        error.as_deref(),
                        now_ms(),
                    );
                    events.push(event);
                }
                let cache = registry.runtime_if_built();
                let cache = cache.as_ref().and_then(|r| r.cache());
                tracing::info!(
                    loaded = stored.len() - failed,
                    failed,
                    compiled = cache.map_or(0, |c| c.compilations()),
                    from_cache = cache.map_or(0, |c| c.hits()),
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "extensions loaded"
                );
                Ok(events)
            })
            .await?;
        self.record_events(events).await
    }

    /// Forgets the loaded extensions of a deleted tenant (after the commit).
    pub(super) fn tenant_extensions_deleted(&self, tenant: TenantId) {
        self.extensions.remove_tenant(tenant);
    }
}
