//! The guests' alarm API over the in-memory store: raising, raising again
//! and clearing, alone and several in one writer job.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::auth::Caller;
use crate::config::Settings;
use crate::domain::alarm::{AlarmSeverity, AlarmStatus};
use crate::domain::alarm_query::AlarmFilter;
use crate::domain::device::DeviceInput;
use crate::domain::ids::{DeviceId, EntityId, now_ms};
use crate::domain::page::PageLink;
use crate::service::{App, ServiceError};
use crate::store::{Changes, MemoryStore, Table, alarms, tenants};

use super::{stage_clear, stage_raise};

async fn app_with_device() -> (App, Caller, EntityId) {
    let (app, admin, device, _) = app_with_device_and_sysadmin().await;
    (app, admin, device)
}

/// The app, its tenant administrator, a device of that tenant, and the
/// system administrator.
async fn app_with_device_and_sysadmin() -> (App, Caller, EntityId, Caller) {
    let settings = Settings {
        sysadmin_password: Some("Sys-pass-1".into()),
        tenant_admin_password: Some("Admin-pass-1".into()),
        ..Settings::default()
    };
    let (app, first) = App::open(settings, Arc::new(MemoryStore::new()))
        .await
        .unwrap();
    let first = first.unwrap();
    let login = |email: String, password: &'static str| {
        let app = app.clone();
        async move {
            let pair = app
                .login(&email, password, Default::default())
                .await
                .unwrap();
            app.authenticate(&pair.token).unwrap()
        }
    };
    let admin = login(first.tenant_admin_email, "Admin-pass-1").await;
    let sys = login(first.sysadmin_email, "Sys-pass-1").await;
    let input = DeviceInput {
        name: Some("Boiler".into()),
        ..Default::default()
    };
    let device = app.save_device(&admin, input, None).await.unwrap();
    (app, admin, device.id.entity_id(), sys)
}

async fn alarms_of(
    app: &App,
    admin: &Caller,
    device: EntityId,
) -> Vec<crate::domain::alarm::AlarmInfo> {
    let link = PageLink::parse(Some("100"), Some("0"), None, None, None).unwrap();
    app.entity_alarms(admin, device, AlarmFilter::default(), link)
        .await
        .unwrap()
        .data
}

#[tokio::test]
async fn raising_twice_then_clearing_leaves_one_cleared_alarm() {
    let (app, admin, device) = app_with_device().await;
    let tenant = admin.tenant_id;
    let (first, created) = app
        .raise_alarm_internal(
            tenant,
            device,
            "Overheat".into(),
            AlarmSeverity::Minor,
            json!({"t": 80}),
        )
        .await
        .unwrap();
    assert!(created);
    assert_eq!(first.status(), AlarmStatus::ActiveUnack);
    let (second, created) = app
        .raise_alarm_internal(
            tenant,
            device,
            "Overheat".into(),
            AlarmSeverity::Critical,
            json!({"t": 95}),
        )
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(second.id, first.id);
    assert_eq!(second.severity, AlarmSeverity::Critical);
    assert_eq!(second.details, Some(json!({"t": 95})));
    assert!(second.end_ts >= first.end_ts);

    let cleared = app
        .clear_alarm_internal(tenant, device, "Overheat".into())
        .await
        .unwrap()
        .expect("an active alarm to clear");
    assert_eq!(cleared.id, first.id);
    assert_eq!(cleared.status(), AlarmStatus::ClearedUnack);
    assert!(cleared.clear_ts > 0);
    let again = app
        .clear_alarm_internal(tenant, device, "Overheat".into())
        .await
        .unwrap();
    assert!(again.is_none(), "nothing active is left to clear");

    let listed = alarms_of(&app, &admin, device).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].status, AlarmStatus::ClearedUnack);
    assert_eq!(listed[0].originator_name.as_deref(), Some("Boiler"));

    let (third, created) = app
        .raise_alarm_internal(
            tenant,
            device,
            "Overheat".into(),
            AlarmSeverity::Major,
            Value::Null,
        )
        .await
        .unwrap();
    assert!(created, "after a clear, raising makes a new alarm");
    assert_ne!(third.id, first.id);
}

#[tokio::test]
async fn one_job_sees_what_it_staged_before() {
    let (app, admin, device) = app_with_device().await;
    let tenant = admin.tenant_id;
    let (ids, cleared) = app
        .write(move |view| {
            let mut changes = Changes::new();
            let now = now_ms();
            let raise = |changes: &mut Changes, severity| {
                stage_raise(
                    view,
                    changes,
                    tenant,
                    device,
                    "Leak",
                    severity,
                    json!({}),
                    now,
                )
            };
            let (a, created_a) = raise(&mut changes, AlarmSeverity::Warning)?;
            let (b, created_b) = raise(&mut changes, AlarmSeverity::Major)?;
            assert!(created_a && !created_b);
            let cleared = stage_clear(view, &mut changes, tenant, device, "Leak", now)?;
            let (c, created_c) = raise(&mut changes, AlarmSeverity::Minor)?;
            assert!(created_c, "the cleared alarm is no longer the active one");
            Ok((([a.id, b.id, c.id], cleared), changes))
        })
        .await
        .unwrap();
    assert_eq!(ids[0], ids[1]);
    assert_ne!(ids[0], ids[2]);
    assert_eq!(cleared.map(|a| a.id), Some(ids[0]));

    let listed = alarms_of(&app, &admin, device).await;
    let mut statuses: Vec<_> = listed.iter().map(|a| (a.alarm.id, a.status)).collect();
    statuses.sort_by_key(|(id, _)| *id == ids[2]);
    assert_eq!(
        statuses,
        [
            (ids[0], AlarmStatus::ClearedUnack),
            (ids[2], AlarmStatus::ActiveUnack)
        ]
    );
    let snapshot = app.store.snapshot().unwrap();
    let active = alarms::active(&*snapshot, tenant, device.id, "Leak").unwrap();
    assert_eq!(active.map(|a| a.id), Some(ids[2]));
}

#[tokio::test]
async fn guests_get_the_same_checks_as_users() {
    let (app, admin, device) = app_with_device().await;
    let tenant = admin.tenant_id;
    let raise = |originator, alarm_type: &str, details| {
        app.raise_alarm_internal(
            tenant,
            originator,
            alarm_type.into(),
            AlarmSeverity::Major,
            details,
        )
    };
    let unknown = DeviceId::new().entity_id();
    assert!(matches!(
        raise(unknown, "t", json!({})).await,
        Err(ServiceError::NotFound(_))
    ));
    assert!(matches!(
        raise(device, "t", json!([1])).await,
        Err(ServiceError::Invalid(_))
    ));
    assert!(matches!(
        raise(device, "", json!({})).await,
        Err(ServiceError::Invalid(_))
    ));
    assert!(alarms_of(&app, &admin, device).await.is_empty());
}

#[tokio::test]
async fn deleting_a_tenant_deletes_its_alarms_and_their_indexes() {
    let (app, admin, device, sys) = app_with_device_and_sysadmin().await;
    let tenant = admin.tenant_id;
    let raise = |alarm_type: &str| {
        app.raise_alarm_internal(
            tenant,
            device,
            alarm_type.into(),
            AlarmSeverity::Major,
            json!({}),
        )
    };
    let (assigned, _) = raise("Assigned").await.unwrap();
    app.assign_alarm(&admin, assigned.id, admin.user_id)
        .await
        .unwrap();
    raise("Cleared").await.unwrap();
    app.clear_alarm_internal(tenant, device, "Cleared".into())
        .await
        .unwrap();
    raise("Active").await.unwrap();
    let keys = |app: &App| {
        let snapshot = app.store.snapshot().unwrap();
        let alarm_tables = [
            Table::Alarms,
            Table::ActiveAlarms,
            Table::AlarmsByOriginator,
            Table::AlarmsByAssignee,
        ];
        let mut keys = tenants::keyed_rows(&*snapshot, tenant).unwrap();
        keys.retain(|(t, _)| alarm_tables.contains(t));
        keys
    };
    let tables: std::collections::BTreeSet<_> = keys(&app).into_iter().map(|(t, _)| t).collect();
    assert_eq!(
        tables.len(),
        4,
        "every alarm table holds something: {tables:?}"
    );

    app.delete_tenant(&sys, tenant).await.unwrap();
    assert!(keys(&app).is_empty(), "{:?}", keys(&app));
}
