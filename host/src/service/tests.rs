//! Use cases over the in-memory store: the rules, without sockets or files.

use std::sync::Arc;

use crate::auth::Caller;
use crate::config::Settings;
use crate::domain::customer::CustomerInput;
use crate::domain::ids::CustomerId;
use crate::domain::page::PageLink;
use crate::domain::user::{Authority, UserInput};
use crate::store::MemoryStore;

use super::{ActivationMail, App, NameConflict, ServiceError};

async fn app() -> (App, Caller) {
    app_with(|_| {}).await
}

/// An app over a fresh in-memory store, and its tenant administrator
/// (shared by the service's other test modules).
pub(super) async fn app_with(tweak: impl FnOnce(&mut Settings)) -> (App, Caller) {
    let mut settings = Settings {
        sysadmin_password: Some("Sys-pass-1".into()),
        tenant_admin_password: Some("Admin-pass-1".into()),
        ..Settings::default()
    };
    tweak(&mut settings);
    let (app, first) = App::open(settings, Arc::new(MemoryStore::new()))
        .await
        .unwrap();
    let first = first.expect("first start on an empty store");
    assert!(first.generated_sysadmin_password.is_none());
    let pair = app
        .login(
            &first.tenant_admin_email,
            "Admin-pass-1",
            Default::default(),
        )
        .await
        .unwrap();
    let admin = app.authenticate(&pair.token).unwrap();
    (app, admin)
}

/// A new device named `name` of the administrator's tenant (shared by the
/// service's other test modules).
pub(super) async fn new_device(
    app: &App,
    admin: &Caller,
    name: &str,
) -> crate::domain::device::Device {
    let input = crate::domain::device::DeviceInput {
        name: Some(name.into()),
        ..Default::default()
    };
    app.save_device(admin, input, None).await.unwrap()
}

fn titled(title: &str) -> CustomerInput {
    CustomerInput {
        title: Some(title.into()),
        ..Default::default()
    }
}

fn page(size: &str, search: Option<&str>) -> PageLink {
    PageLink::parse(Some(size), Some("0"), search, Some("title"), None).unwrap()
}

#[tokio::test]
async fn a_first_start_without_passwords_generates_strong_ones() {
    let (app, first) = App::open(Settings::default(), Arc::new(MemoryStore::new()))
        .await
        .unwrap();
    let first = first.unwrap();
    let generated = first.generated_tenant_admin_password.unwrap();
    assert!(generated.len() >= 32);
    assert_ne!(Some(&generated), first.generated_sysadmin_password.as_ref());
    assert!(
        app.login(&first.tenant_admin_email, &generated, Default::default())
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn the_search_index_follows_creates_renames_and_deletes() {
    let (app, admin) = app().await;
    let a = app
        .save_customer(&admin, titled("Alpha One"), NameConflict::Fail)
        .await
        .unwrap();
    app.save_customer(&admin, titled("Beta"), NameConflict::Fail)
        .await
        .unwrap();
    let found = app
        .customers(&admin, page("10", Some("one")))
        .await
        .unwrap();
    assert_eq!(found.total_elements, 1);

    let mut rename = titled("Gamma");
    rename.id = Some(a.id);
    app.save_customer(&admin, rename, NameConflict::Fail)
        .await
        .unwrap();
    assert_eq!(
        app.customers(&admin, page("10", Some("one")))
            .await
            .unwrap()
            .total_elements,
        0
    );
    assert_eq!(
        app.customers(&admin, page("10", Some("gam")))
            .await
            .unwrap()
            .total_elements,
        1
    );

    app.delete_customer(&admin, a.id).await.unwrap();
    let all = app.customers(&admin, page("10", None)).await.unwrap();
    assert_eq!(
        all.data
            .iter()
            .map(|c| c.title.as_str())
            .collect::<Vec<_>>(),
        ["Beta"]
    );
}

#[tokio::test]
async fn a_refused_change_leaves_no_trace() {
    let (app, admin) = app().await;
    app.save_customer(&admin, titled("Taken"), NameConflict::Fail)
        .await
        .unwrap();
    let err = app
        .save_customer(&admin, titled("Taken"), NameConflict::Fail)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ServiceError::Invalid(ref m) if m.contains("already exists")),
        "{err}"
    );
    let page = app.customers(&admin, page("10", None)).await.unwrap();
    assert_eq!(page.total_elements, 1);
    let log = app
        .audit_logs(
            &admin,
            super::audit::AuditScope::Tenant,
            None,
            None,
            Some(vec![crate::domain::audit::ActionType::Added]),
            PageLink::parse(Some("50"), Some("0"), None, None, None).unwrap(),
        )
        .await
        .unwrap();
    // The tenant's own creation and the one customer: the refused one wrote nothing.
    assert_eq!(log.total_elements, 2);
}

#[tokio::test]
async fn deleting_a_customer_deletes_its_users_and_their_sessions() {
    let (app, admin) = app().await;
    let c = app
        .save_customer(&admin, titled("Doomed"), NameConflict::Fail)
        .await
        .unwrap();
    let input = UserInput {
        email: Some("u@doomed.io".into()),
        authority: Some(Authority::CustomerUser),
        customer_id: Some(c.id),
        ..Default::default()
    };
    let user = app
        .save_user(&admin, input, ActivationMail::DontSend)
        .await
        .unwrap();
    let (link, _) = app
        .activation_link(&admin, user.id, "http://x")
        .await
        .unwrap();
    let token = link.rsplit_once('=').unwrap().1;
    let pair = app.activate(token, "User-pass-1").await.unwrap();
    assert!(app.authenticate(&pair.token).is_ok());

    app.delete_customer(&admin, c.id).await.unwrap();
    assert!(matches!(
        app.authenticate(&pair.token),
        Err(ServiceError::Unauthorized { .. })
    ));
    assert!(matches!(
        app.user(&admin, user.id).await,
        Err(ServiceError::NotFound(_))
    ));
    // The address is free for a new user.
    let c2 = app
        .save_customer(&admin, titled("Next"), NameConflict::Fail)
        .await
        .unwrap();
    let again = UserInput {
        email: Some("u@doomed.io".into()),
        authority: Some(Authority::CustomerUser),
        customer_id: Some(c2.id),
        ..Default::default()
    };
    assert!(
        app.save_user(&admin, again, ActivationMail::DontSend)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_customer_user_cannot_be_created_for_a_missing_customer() {
    let (app, admin) = app().await;
    let input = UserInput {
        email: Some("ghost@x.io".into()),
        authority: Some(Authority::CustomerUser),
        customer_id: Some(CustomerId::new()),
        ..Default::default()
    };
    let err = app
        .save_user(&admin, input, ActivationMail::DontSend)
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::Invalid(_)), "{err}");
}

#[tokio::test]
async fn one_commit_for_several_devices_interns_each_new_key_once() {
    // Regression: the key dictionary's "fresh" names were kept per device,
    // so two new keys in one gateway message got the same id.
    let (app, admin) = app().await;
    let devices = [
        new_device(&app, &admin, "gw-a").await,
        new_device(&app, &admin, "gw-b").await,
    ];
    let point = |key: &str, v: i64| crate::domain::telemetry::TsKvEntry {
        ts: 1000,
        key: key.into(),
        value: crate::domain::telemetry::DataValue::Long(v),
    };
    app.ingest_telemetry_of(vec![
        (&devices[0], vec![point("temp", 80)]),
        (&devices[1], vec![point("rpm", 1200)]),
    ])
    .await
    .unwrap();
    let a = app
        .latest_telemetry(&admin, devices[0].id.entity_id(), None)
        .await
        .unwrap();
    let b = app
        .latest_telemetry(&admin, devices[1].id.entity_id(), None)
        .await
        .unwrap();
    assert_eq!(a.keys().collect::<Vec<_>>(), ["temp"]);
    assert_eq!(b.keys().collect::<Vec<_>>(), ["rpm"]);
    assert_eq!(b["rpm"].1, crate::domain::telemetry::DataValue::Long(1200));
}

#[tokio::test]
async fn data_arriving_after_its_device_was_deleted_is_not_stored() {
    // A message in flight when its device is deleted reaches the writer
    // after the deletion: it must not leave orphan rows under the old id.
    let (app, admin) = app().await;
    let device = new_device(&app, &admin, "doomed").await;
    app.delete_device(&admin, device.id).await.unwrap();
    let point = crate::domain::telemetry::TsKvEntry {
        ts: 1000,
        key: "temp".into(),
        value: crate::domain::telemetry::DataValue::Long(1),
    };
    app.ingest_telemetry(&device, vec![point]).await.unwrap();
    let attribute = crate::domain::telemetry::KvEntry {
        key: "fw".into(),
        value: crate::domain::telemetry::DataValue::String("1.0".into()),
    };
    app.ingest_client_attributes(&device, vec![attribute])
        .await
        .unwrap();
    let snapshot = app.store.snapshot().unwrap();
    let left =
        crate::store::telemetry::all_keys_of(&*snapshot, device.tenant_id, device.id.0).unwrap();
    assert!(left.is_empty(), "orphan rows: {left:?}");
}

#[tokio::test]
async fn a_device_that_sent_data_stores_nothing_once_deleted() {
    // Ingest remembers the devices it found (`live_devices.rs`): deleting
    // one must make it look them up again, and the one still there keeps
    // storing.
    let (app, admin) = app().await;
    let devices = [
        new_device(&app, &admin, "talker").await,
        new_device(&app, &admin, "bystander").await,
    ];
    let point = |ts| crate::domain::telemetry::TsKvEntry {
        ts,
        key: "temp".into(),
        value: crate::domain::telemetry::DataValue::Long(ts),
    };
    for device in &devices {
        app.ingest_telemetry(device, vec![point(1)]).await.unwrap();
    }
    app.delete_device(&admin, devices[0].id).await.unwrap();
    for device in &devices {
        app.ingest_telemetry(device, vec![point(2)]).await.unwrap();
    }
    let snapshot = app.store.snapshot().unwrap();
    let (gone, kept) = (&devices[0], &devices[1]);
    let left = crate::store::telemetry::all_keys_of(&*snapshot, gone.tenant_id, gone.id.0).unwrap();
    assert!(left.is_empty(), "orphan rows: {left:?}");
    let latest = app
        .latest_telemetry(&admin, kept.id.entity_id(), None)
        .await
        .unwrap();
    assert_eq!(latest["temp"].0, 2, "the other device's data is stored");
}

#[tokio::test]
async fn writers_past_the_queue_limit_wait_instead_of_failing() {
    let (app, admin) = app_with(|s| s.max_queued_writes = 1).await;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let (app, admin) = (app.clone(), admin.clone());
        tasks.push(tokio::spawn(async move {
            app.save_customer(&admin, titled(&format!("c{i}")), NameConflict::Fail)
                .await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(
        app.customers(&admin, page("100", None))
            .await
            .unwrap()
            .total_elements,
        50
    );
}
