//! Reading alarms: one by id, an entity's, all those the caller may see,
//! the types in use, and an entity's highest severity.

use std::collections::BTreeSet;

use serde_json::Value;
use uuid::Uuid;

use crate::auth::Caller;
use crate::auth::permissions::{Operation, Resource, Target, require};
use crate::domain::alarm::{Alarm, AlarmInfo, AlarmJson, AlarmType};
use crate::domain::alarm_query::{
    AlarmFilter, SORT_PROPERTIES, highest_severity, page_of, text_matches,
};
use crate::domain::asset::Asset;
use crate::domain::device::Device;
use crate::domain::ids::{AlarmId, CustomerId, EntityId, EntityType, TenantId};
use crate::domain::page::{PageData, PageLink};
use crate::store::{KvRead, alarms, assignable};

use super::info::InfoBuilder;
use super::{check, find};
use crate::service::{App, ServiceResult};

/// Every alarm the caller may see: the tenant's for its administrators;
/// for a customer user, those of its customer and of the devices and
/// assets assigned to it now. Created in the filter's window.
fn visible(view: &dyn KvRead, caller: &Caller, filter: &AlarmFilter) -> ServiceResult<Vec<Alarm>> {
    let tenant = caller.tenant_id;
    if caller.customer_id.is_null() {
        require(
            caller,
            Resource::Alarm,
            Operation::Read,
            &Target::tenant(tenant),
        )?;
        return Ok(alarms::of_tenant(view, tenant)?);
    }
    let customer = caller.customer_id;
    require(
        caller,
        Resource::Alarm,
        Operation::Read,
        &Target::customer(tenant, customer),
    )?;
    let mut out = Vec::new();
    for originator in originators_of(view, tenant, customer)? {
        out.extend(alarms::of_originator(
            view,
            tenant,
            originator,
            filter.start_time,
            filter.end_time,
        )?);
    }
    Ok(out)
}

/// May the caller read the alarms of `originator` (an entity of its tenant)?
fn check_read_of(view: &dyn KvRead, caller: &Caller, originator: EntityId) -> ServiceResult<()> {
    check(view, caller, originator, Operation::Read).map(drop)
}

/// A customer and the devices and assets assigned to it.
fn originators_of(
    view: &dyn KvRead,
    tenant: TenantId,
    customer: CustomerId,
) -> ServiceResult<Vec<Uuid>> {
    let mut ids = vec![customer.0];
    ids.extend(
        assignable::of_customer::<Device>(view, tenant, customer)?
            .iter()
            .map(|d| d.id.0),
    );
    ids.extend(
        assignable::of_customer::<Asset>(view, tenant, customer)?
            .iter()
            .map(|a| a.id.0),
    );
    Ok(ids)
}

/// The filtered alarms, sorted and paged, with their names.
fn page_of_infos(
    view: &dyn KvRead,
    tenant: TenantId,
    mut all: Vec<Alarm>,
    filter: &AlarmFilter,
    link: &PageLink,
) -> ServiceResult<PageData<AlarmInfo>> {
    all.retain(|a| filter.matches(a) && text_matches(a, link));
    let PageData {
        data,
        total_elements,
        ..
    } = page_of(all, link);
    let data = InfoBuilder::new(view, tenant).all(data)?;
    Ok(PageData::new(data, total_elements, link))
}

impl App {
    /// `GET /api/alarm/{id}`.
    pub async fn alarm(&self, caller: &Caller, id: AlarmId) -> ServiceResult<AlarmJson> {
        let snapshot = self.store.snapshot()?;
        let (alarm, _) = find(&*snapshot, caller, id, Operation::Read)?;
        Ok(alarm.json())
    }

    /// `GET /api/alarm/info/{id}`.
    pub async fn alarm_info(&self, caller: &Caller, id: AlarmId) -> ServiceResult<AlarmInfo> {
        let snapshot = self.store.snapshot()?;
        let (alarm, _) = find(&*snapshot, caller, id, Operation::Read)?;
        InfoBuilder::new(&*snapshot, caller.tenant_id).info(alarm)
    }

    /// `GET /api/alarm/{entityType}/{entityId}` and its v2.
    pub async fn entity_alarms(
        &self,
        caller: &Caller,
        originator: EntityId,
        filter: AlarmFilter,
        link: PageLink,
    ) -> ServiceResult<PageData<AlarmInfo>> {
        link.check_sort(&SORT_PROPERTIES)?;
        let snapshot = self.store.snapshot()?;
        let tenant = caller.tenant_id;
        check_read_of(&*snapshot, caller, originator)?;
        self.blocking(move || {
            let all = alarms::of_originator(
                &*snapshot,
                tenant,
                originator.id,
                filter.start_time,
                filter.end_time,
            )?;
            page_of_infos(&*snapshot, tenant, all, &filter, &link)
        })
        .await
    }

    /// `GET /api/alarms` and `/api/v2/alarms`: every alarm the caller may see.
    pub async fn all_alarms(
        &self,
        caller: &Caller,
        filter: AlarmFilter,
        link: PageLink,
    ) -> ServiceResult<PageData<AlarmInfo>> {
        link.check_sort(&SORT_PROPERTIES)?;
        let snapshot = self.store.snapshot()?;
        let caller = caller.clone();
        self.blocking(move || {
            let all = visible(&*snapshot, &caller, &filter)?;
            page_of_infos(&*snapshot, caller.tenant_id, all, &filter, &link)
        })
        .await
    }

    /// `GET /api/alarm/types`: the types of the alarms the caller may see
    /// (ThingsBoard gives customer users the whole tenant's; here they
    /// learn nothing of other customers), sorted by type.
    pub async fn alarm_types(
        &self,
        caller: &Caller,
        link: PageLink,
    ) -> ServiceResult<PageData<AlarmType>> {
        let snapshot = self.store.snapshot()?;
        let caller = caller.clone();
        self.blocking(move || {
            let types: BTreeSet<String> = visible(&*snapshot, &caller, &AlarmFilter::default())?
                .into_iter()
                .map(|a| a.alarm_type)
                .filter(|t| link.matches(&t.to_lowercase()))
                .collect();
            let page =
                PageData::sorted_by_key(types.into_iter().collect(), &link, |t: &String| t.clone());
            Ok(page.map(|alarm_type| AlarmType {
                tenant_id: caller.tenant_id,
                entity_type: EntityType::Alarm,
                alarm_type,
            }))
        })
        .await
    }

    /// `GET /api/alarm/highestSeverity/{entityType}/{entityId}`: the most
    /// severe of the entity's alarms that pass `filter`, or `null`.
    pub async fn highest_alarm_severity(
        &self,
        caller: &Caller,
        originator: EntityId,
        filter: AlarmFilter,
    ) -> ServiceResult<Value> {
        let snapshot = self.store.snapshot()?;
        let tenant = caller.tenant_id;
        check_read_of(&*snapshot, caller, originator)?;
        self.blocking(move || {
            let (from, to) = (filter.start_time, filter.end_time);
            let all = alarms::of_originator(&*snapshot, tenant, originator.id, from, to)?;
            Ok(highest_severity(all.iter().filter(|a| filter.matches(a))))
        })
        .await
    }
}
