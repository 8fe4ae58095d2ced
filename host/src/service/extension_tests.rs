//! Extensions and their events over the in-memory store, with real
//! compiled guests: the registry, the internal interface for calculated
//! fields (uses, failures, suspension), without sockets.

use clientele_guest_artifacts as artifacts;

use crate::auth::Caller;
use crate::domain::event::{EventFilter, EventType};
use crate::domain::extension::{Extension, ExtensionWorld};
use crate::domain::ids::{CalculatedFieldId, EntityId};
use crate::domain::page::PageLink;
use crate::store::Changes;
use crate::wasm::WasmError;

use super::extensions::{stage_unuse, stage_use};
use super::{App, ServiceError};

/// An app over a fresh in-memory store whose wasm cache lives in `dir`,
/// suspending an extension after 3 failures in a row.
async fn app(dir: &tempfile::TempDir) -> (App, Caller) {
    super::tests::app_with(|settings| {
        settings.data_dir = dir.path().to_path_buf();
        settings.wasm.max_consecutive_failures = 3;
    })
    .await
}

async fn upload(app: &App, admin: &Caller, name: &str, path: &str) -> Extension {
    let bytes = std::fs::read(path).unwrap();
    app.upload_extension(admin, name.into(), bytes.into())
        .await
        .unwrap()
}

/// The bodies of an entity's events of one type, newest first.
async fn events(
    app: &App,
    admin: &Caller,
    entity: EntityId,
    t: EventType,
) -> Vec<serde_json::Value> {
    let page = PageLink::parse(Some("100"), Some("0"), None, None, None).unwrap();
    app.events(admin, entity, EventFilter::of_type(t), None, None, page)
        .await
        .unwrap()
        .data
        .into_iter()
        .map(|e| e.body)
        .collect()
}

#[tokio::test]
async fn the_runtime_is_built_by_the_first_extension_and_serves_it_by_id() {
    let dir = tempfile::tempdir().unwrap();
    let (app, admin) = app(&dir).await;
    assert!(app.wasm_runtime().is_none(), "no extension, no engine");
    assert!(!dir.path().join("wasm-cache").exists());

    let dew = upload(&app, &admin, "dew", artifacts::DEW_POINT).await;
    assert_eq!(dew.world, ExtensionWorld::CalculatedField);
    let loaded = app.extension(admin.tenant_id, dew.id).expect("loaded");
    assert_eq!(loaded.hash(), dew.sha256);
    assert!(dir.path().join("wasm-cache").is_dir());
    assert_eq!(
        app.wasm_runtime().unwrap().cache().unwrap().compilations(),
        1
    );
    // Another tenant's key finds nothing.
    assert!(
        app.extension(crate::domain::ids::TenantId::new(), dew.id)
            .is_none()
    );

    let started = events(&app, &admin, dew.id.entity_id(), EventType::LcEvent).await;
    assert_eq!(started.len(), 1);
    assert_eq!(started[0]["event"], "STARTED");
    assert_eq!(started[0]["success"], true);

    app.delete_extension(&admin, dew.id).await.unwrap();
    assert!(app.extension(admin.tenant_id, dew.id).is_none());
}

#[tokio::test]
async fn a_guest_failing_again_and_again_is_suspended_alone_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let (app, admin) = app(&dir).await;
    let tenant = admin.tenant_id;
    let bad = upload(&app, &admin, "bad", artifacts::DEW_POINT).await;
    let good = upload(&app, &admin, "good", artifacts::THRESHOLD_ALARM).await;
    let boom = WasmError::Trap("boom".into());

    // A success in between starts the count again.
    for _ in 0..2 {
        assert!(
            !app.guest_failed(tenant, bad.id, "compute", &boom)
                .await
                .unwrap()
        );
    }
    app.guest_succeeded(tenant, bad.id);
    for _ in 0..2 {
        assert!(
            !app.guest_failed(tenant, bad.id, "compute", &boom)
                .await
                .unwrap()
        );
    }
    assert!(app.extension(tenant, bad.id).is_some());
    assert!(
        app.guest_failed(tenant, bad.id, "compute", &boom)
            .await
            .unwrap()
    );
    assert!(app.extension(tenant, bad.id).is_none(), "suspended");
    assert!(
        app.extension(tenant, good.id).is_some(),
        "the other one carries on"
    );

    let errors = events(&app, &admin, bad.id.entity_id(), EventType::Error).await;
    assert_eq!(errors.len(), 5);
    assert_eq!(errors[0]["method"], "compute");
    assert!(
        errors[0]["error"].as_str().unwrap().contains("boom"),
        "{}",
        errors[0]
    );
    let lifecycle = events(&app, &admin, bad.id.entity_id(), EventType::LcEvent).await;
    assert_eq!(lifecycle.len(), 2, "{lifecycle:?}");
    assert_eq!(lifecycle[0]["event"], "SUSPENDED");
    assert_eq!(lifecycle[0]["success"], false);
    assert!(
        lifecycle[0]["error"]
            .as_str()
            .unwrap()
            .contains("3 failed calls")
    );
    assert!(
        events(&app, &admin, good.id.entity_id(), EventType::Error)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn an_extension_in_use_cannot_be_deleted_until_it_is_released() {
    let dir = tempfile::tempdir().unwrap();
    let (app, admin) = app(&dir).await;
    let tenant = admin.tenant_id;
    let ext = upload(&app, &admin, "used", artifacts::DEW_POINT).await;
    let field = CalculatedFieldId::new().entity_id();
    app.write(move |_| {
        let mut changes = Changes::new();
        stage_use(&mut changes, tenant, ext.id, field);
        Ok(((), changes))
    })
    .await
    .unwrap();
    match app.delete_extension(&admin, ext.id).await {
        Err(ServiceError::Invalid(m)) => {
            assert!(
                m.contains("calculated field") && m.contains(&field.id.to_string()),
                "{m}"
            )
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(app.extension(tenant, ext.id).is_some(), "still loaded");

    app.write(move |_| {
        let mut changes = Changes::new();
        stage_unuse(&mut changes, tenant, ext.id, field);
        Ok(((), changes))
    })
    .await
    .unwrap();
    app.delete_extension(&admin, ext.id).await.unwrap();
    assert!(matches!(
        app.extension_info(&admin, ext.id).await,
        Err(ServiceError::NotFound(_))
    ));
}
