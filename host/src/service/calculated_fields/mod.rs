//! Calculated fields: create, update, read, list, delete, test; and the
//! engine that runs them whenever an argument changes (`engine.rs`).
//!
//! Like ThingsBoard, only tenant administrators manage them; their outputs
//! are the entity's data, readable by whoever may read that.

mod compute;
mod compute_thread;
mod engine;
mod registry;
mod test_run;
mod wasm_run;

use serde_json::json;

use crate::auth::Caller;
use crate::auth::permissions::{Operation, Resource, Target, require};
use crate::domain::audit::ActionType;
use crate::domain::calculated_field::{
    CalculatedField, CalculatedFieldInput, FieldKind, MAX_FIELDS_PER_ENTITY,
};
use crate::domain::ids::{CalculatedFieldId, CustomerId, EntityId, EntityType, TenantId, now_ms};
use crate::domain::page::{PageData, PageLink};
use crate::store::{Changes, KvRead, calculated_fields, extensions};

use super::audit::{Actor, stage_record};
use super::extensions::{stage_unuse, stage_use};
use super::telemetry::DataChange;
use super::{App, ServiceError, ServiceResult};

pub use compute::Trigger;
pub(crate) use engine::{Engine, EngineParts};
pub(crate) use registry::Registry;
pub use test_run::{TestRequest, TestResult};

/// Sort keys a field list accepts.
const SORT_PROPERTIES: [&str; 3] = ["createdTime", "name", "type"];

/// Which fields a tenant-wide list shows.
#[derive(Debug, Clone, Default)]
pub struct FieldFilter {
    pub types: Option<Vec<FieldKind>>,
    pub entity_type: Option<EntityType>,
    pub entities: Option<Vec<uuid::Uuid>>,
}

pub(super) fn manage(caller: &Caller, op: Operation) -> ServiceResult<()> {
    Ok(require(
        caller,
        Resource::CalculatedField,
        op,
        &Target::tenant(caller.tenant_id),
    )?)
}

fn find(
    view: &dyn KvRead,
    caller: &Caller,
    id: CalculatedFieldId,
    op: Operation,
) -> ServiceResult<CalculatedField> {
    manage(caller, op)?;
    calculated_fields::get(view, caller.tenant_id, id)?.ok_or_else(ServiceError::not_found)
}

fn page_of(
    mut all: Vec<CalculatedField>,
    link: &PageLink,
) -> ServiceResult<PageData<CalculatedField>> {
    link.check_sort(&SORT_PROPERTIES)?;
    all.retain(|f| link.matches(&f.name.to_lowercase()));
    Ok(match link.sort_property.as_deref() {
        Some("name") => PageData::sorted_by_key(all, link, |f| (f.name.to_lowercase(), f.id)),
        Some("type") => PageData::sorted_by_key(all, link, |f| (f.kind.as_str(), f.id)),
        _ => PageData::sorted_by_key(all, link, |f| (f.created_time, f.id)),
    })
}

/// The checks that need the store: the entity and every referenced entity
/// exist in the tenant, at most [`MAX_FIELDS_PER_ENTITY`] fields per
/// entity, names unique per entity.
fn check_in_store(view: &dyn KvRead, field: &CalculatedField) -> ServiceResult<()> {
    let tenant = field.tenant_id;
    super::access::data_owner(view, tenant, field.entity_id)
        .map_err(|_| ServiceError::invalid("The calculated field's entity does not exist"))?;
    for (name, arg) in &field.configuration.arguments {
        if let Some(r) = arg.ref_entity_id {
            super::access::data_owner(view, tenant, r).map_err(|_| {
                ServiceError::invalid(format!(
                    "Argument '{name}': the referenced entity does not exist"
                ))
            })?;
        }
    }
    let siblings: Vec<CalculatedField> =
        calculated_fields::of_entity(view, tenant, field.entity_id.id)?
            .into_iter()
            .filter(|f| f.id != field.id)
            .collect();
    if siblings.len() >= MAX_FIELDS_PER_ENTITY {
        return Err(ServiceError::invalid(format!(
            "An entity has at most {MAX_FIELDS_PER_ENTITY} calculated fields"
        )));
    }
    if siblings.iter().any(|f| f.name == field.name) {
        return Err(ServiceError::invalid(
            "Calculated field with such name already exists for this entity!",
        ));
    }
    Ok(())
}

/// Stages the removal of a field with its events and its use of an
/// extension (the entity's deletion calls this for each of its fields).
pub(super) fn stage_delete(
    view: &dyn KvRead,
    changes: &mut Changes,
    field: &CalculatedField,
) -> ServiceResult<()> {
    calculated_fields::delete(changes, field);
    super::events::stage_delete_of(view, changes, field.tenant_id, field.id.0)?;
    if let Some(ext) = field.extension() {
        stage_unuse(changes, field.tenant_id, ext, field.id.entity_id());
    }
    Ok(())
}

impl App {
    pub async fn save_calculated_field(
        &self,
        caller: &Caller,
        input: CalculatedFieldInput,
    ) -> ServiceResult<CalculatedField> {
        input.validate()?;
        // The component must implement the calculated-field world; the
        // loaded registry knows its world without reading its bytes.
        if let Some(ext) = input.configuration.extension_id {
            self.extension_of_world(caller.tenant_id, ext, crate::wasm::World::CalculatedField)?;
        }
        let caller = caller.clone();
        self.write(move |view| {
            let (old, new, action) = match input.id {
                None => {
                    manage(&caller, Operation::Create)?;
                    let new = CalculatedField::create(caller.tenant_id, input, now_ms());
                    (None, new, ActionType::Added)
                }
                Some(id) => {
                    let old = find(view, &caller, id, Operation::Write).map_err(|e| match e {
                        ServiceError::NotFound(_) => {
                            ServiceError::invalid("Can't update non existing calculated field!")
                        }
                        other => other,
                    })?;
                    if input.entity_id != old.entity_id {
                        return Err(ServiceError::invalid(
                            "The entity of a calculated field can't be changed",
                        ));
                    }
                    if input.version.is_some_and(|v| v != old.version) {
                        return Err(ServiceError::VersionConflict(
                            "Calculated field was already changed by someone else".into(),
                        ));
                    }
                    let new = old.updated(input);
                    (Some(old), new, ActionType::Updated)
                }
            };
            check_in_store(view, &new)?;
            let mut changes = Changes::new();
            if let Some(ext) = new.extension() {
                if !extensions::exists(view, new.tenant_id, ext)? {
                    return Err(ServiceError::invalid("The extension does not exist"));
                }
                stage_use(&mut changes, new.tenant_id, ext, new.id.entity_id());
            }
            if let Some(old_ext) = old.as_ref().and_then(CalculatedField::extension)
                && Some(old_ext) != new.extension()
            {
                stage_unuse(&mut changes, new.tenant_id, old_ext, new.id.entity_id());
            }
            calculated_fields::put(&mut changes, &new);
            stage_record(
                &mut changes,
                &Actor::from(&caller),
                CustomerId::NULL,
                Some((new.id.entity_id(), &new.name)),
                action,
                json!({ "entity": new }),
            );
            Ok((new, changes))
        })
        .await
    }

    pub async fn calculated_field(
        &self,
        caller: &Caller,
        id: CalculatedFieldId,
    ) -> ServiceResult<CalculatedField> {
        let snapshot = self.store.snapshot()?;
        find(&*snapshot, caller, id, Operation::Read)
    }

    pub async fn delete_calculated_field(
        &self,
        caller: &Caller,
        id: CalculatedFieldId,
    ) -> ServiceResult<()> {
        let caller = caller.clone();
        self.write(move |view| {
            let old = find(view, &caller, id, Operation::Delete)?;
            let mut changes = Changes::new();
            stage_delete(view, &mut changes, &old)?;
            stage_record(
                &mut changes,
                &Actor::from(&caller),
                CustomerId::NULL,
                Some((old.id.entity_id(), &old.name)),
                ActionType::Deleted,
                json!({ "entityId": old.id.entity_id() }),
            );
            Ok(((), changes))
        })
        .await
    }

    /// The fields of one entity (`GET /api/calculatedField/{type}/{id}`).
    pub async fn calculated_fields_of(
        &self,
        caller: &Caller,
        entity: EntityId,
        kind: Option<FieldKind>,
        link: PageLink,
    ) -> ServiceResult<PageData<CalculatedField>> {
        manage(caller, Operation::Read)?;
        let snapshot = self.store.snapshot()?;
        super::access::data_owner(&*snapshot, caller.tenant_id, entity)?;
        let mut all = calculated_fields::of_entity(&*snapshot, caller.tenant_id, entity.id)?;
        all.retain(|f| kind.is_none_or(|k| f.kind == k));
        page_of(all, &link)
    }

    /// The tenant's fields, filtered (`GET /api/calculatedFields`).
    pub async fn calculated_fields(
        &self,
        caller: &Caller,
        filter: FieldFilter,
        link: PageLink,
    ) -> ServiceResult<PageData<CalculatedField>> {
        manage(caller, Operation::Read)?;
        let snapshot = self.store.snapshot()?;
        let mut all = calculated_fields::of_tenant(&*snapshot, caller.tenant_id)?;
        all.retain(|f| {
            filter.types.as_ref().is_none_or(|t| t.contains(&f.kind))
                && filter
                    .entity_type
                    .is_none_or(|t| f.entity_id.entity_type == t)
                && filter
                    .entities
                    .as_ref()
                    .is_none_or(|ids| ids.contains(&f.entity_id.id))
        });
        page_of(all, &link)
    }

    /// Distinct names of the tenant's fields (`/api/calculatedFields/names`).
    pub async fn calculated_field_names(
        &self,
        caller: &Caller,
        kind: Option<FieldKind>,
        link: PageLink,
    ) -> ServiceResult<PageData<String>> {
        manage(caller, Operation::Read)?;
        let snapshot = self.store.snapshot()?;
        let mut names: Vec<String> = calculated_fields::of_tenant(&*snapshot, caller.tenant_id)?
            .into_iter()
            .filter(|f| kind.is_none_or(|k| f.kind == k))
            .map(|f| f.name)
            .filter(|n| link.matches(&n.to_lowercase()))
            .collect();
        names.sort();
        names.dedup();
        if link.sort_order == crate::domain::page::SortOrder::Desc {
            names.reverse();
        }
        Ok(PageData::from_sorted(names, &link))
    }

    /// Hands a committed change to the calculated fields that read it
    /// (free when no field reads `entity`).
    pub(super) fn offer_to_fields(&self, tenant: TenantId, entity: EntityId, change: &DataChange) {
        offer(
            &self.field_registry,
            &self.field_engine,
            tenant,
            entity,
            change,
        );
    }
}

/// Hands a committed change of `entity` to `engine` if a field reads it.
pub(super) fn offer(
    registry: &Registry,
    engine: &Engine,
    tenant: TenantId,
    entity: EntityId,
    change: &DataChange,
) {
    if registry.is_read(tenant, entity.id, change) {
        engine.offer(Trigger {
            tenant,
            entity: entity.id,
            change: change.clone(),
            at: change.time().unwrap_or_else(now_ms),
        });
    }
}
