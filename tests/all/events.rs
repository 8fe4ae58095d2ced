//! Events over REST (ThingsBoard's section "Events"): recorded through the
//! service's internal interface, as background work does, then listed by
//! type, window, page and filter, cleared, bounded in number, and kept
//! inside their tenant.

use serde_json::{Value, json};

use clientele::domain::event::NewEvent;
use clientele::domain::ids::{DeviceId, TenantId};
use clientele::store::{self, Store};
use clientele_tests::{Client, PASSWORD, TestServer, assert_error, id};

/// The caller's tenant, from its own user record.
async fn tenant_of(client: &Client) -> TenantId {
    let me = client.get_ok("/api/auth/user").await;
    TenantId(me["tenantId"]["id"].as_str().unwrap().parse().unwrap())
}

async fn device(client: &Client, name: &str) -> DeviceId {
    DeviceId(
        client
            .create_device(name, &format!("{name}-token"), false)
            .await
            .parse()
            .unwrap(),
    )
}

/// ERROR events of `device` at the times given, error "e<ts>".
fn errors(
    tenant: TenantId,
    device: DeviceId,
    times: impl IntoIterator<Item = i64>,
) -> Vec<NewEvent> {
    times
        .into_iter()
        .map(|ts| NewEvent::error(tenant, device.entity_id(), "compute", &format!("e{ts}"), ts))
        .collect()
}

/// The `createdTime`s of a page.
fn times(page: &Value) -> Vec<i64> {
    page["data"]
        .as_array()
        .unwrap_or_else(|| panic!("not a page: {page}"))
        .iter()
        .map(|e| e["createdTime"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn recorded_events_list_by_type_window_page_and_filter_and_clear() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let tenant = tenant_of(&admin).await;
    let dev = device(&admin, "pump").await;
    let mut batch = errors(tenant, dev, (1..=10).map(|i| i * 100));
    batch.push(NewEvent::lifecycle(
        tenant,
        dev.entity_id(),
        "STARTED",
        None,
        150,
    ));
    server.app.record_events(batch).await.unwrap();

    let base = format!("/api/events/DEVICE/{dev}");
    let page = admin
        .get_ok(&format!("{base}/ERROR?tenantId={tenant}&pageSize=3&page=0"))
        .await;
    assert_eq!(times(&page), [1000, 900, 800], "newest first: {page}");
    assert_eq!(
        (&page["totalElements"], &page["hasNext"]),
        (&json!(10), &json!(true))
    );
    let e = &page["data"][0];
    assert_eq!(e["type"], "ERROR");
    assert_eq!(e["entityId"], json!({"entityType": "DEVICE", "id": dev.0}));
    assert_eq!(e["tenantId"]["id"], tenant.0.to_string());
    assert_eq!(e["uid"], e["id"]["id"]);
    assert_eq!(e["body"]["method"], "compute");
    assert_eq!(e["body"]["error"], "e1000");
    assert!(
        e["body"]["server"].as_str().is_some_and(|s| !s.is_empty()),
        "{e}"
    );

    // A window, oldest first, second page.
    let window = admin
        .get_ok(&format!(
            "{base}/error?pageSize=2&page=1&startTime=200&endTime=700&sortProperty=createdTime&sortOrder=ASC"
        ))
        .await;
    assert_eq!(times(&window), [400, 500]);
    assert_eq!(window["totalElements"], 6);
    // The type-less form is ThingsBoard's deprecated one: lifecycle only.
    let lifecycle = admin.get_ok(&format!("{base}?pageSize=10&page=0")).await;
    assert_eq!(times(&lifecycle), [150]);
    assert_eq!(lifecycle["data"][0]["body"]["event"], "STARTED");
    // Types ThingsBoard has and Clientele does not record: empty pages.
    let none = admin
        .get_ok(&format!("{base}/DEBUG_RULE_NODE?pageSize=10&page=0"))
        .await;
    assert_eq!(none["totalElements"], 0);
    admin
        .get_err(&format!("{base}/NOPE?pageSize=10&page=0"), 400, 31)
        .await;
    admin
        .get_err(&format!("{base}/ERROR?pageSize=10"), 400, 31)
        .await;

    // A filter body.
    let filtered = admin
        .post_ok(
            &format!("{base}?pageSize=10&page=0"),
            json!({"eventType": "ERROR", "errorStr": "E9", "method": "comp"}),
        )
        .await;
    assert_eq!(times(&filtered), [900]);
    admin
        .post_err(
            &format!("{base}?pageSize=10&page=0"),
            json!({"errorStr": "x"}),
            400,
            31,
        )
        .await;

    // Clearing a window with a filter, then the rest of the type.
    admin
        .post_ok(
            &format!("{base}/clear?startTime=100&endTime=500"),
            json!({"eventType": "ERROR"}),
        )
        .await;
    let left = admin
        .get_ok(&format!("{base}/ERROR?pageSize=100&page=0"))
        .await;
    assert_eq!(times(&left), [1000, 900, 800, 700, 600]);
    admin
        .post_ok(
            &format!("{base}/clear"),
            json!({"eventType": "ERROR", "errorStr": "e6"}),
        )
        .await;
    let left = admin
        .get_ok(&format!("{base}/ERROR?pageSize=100&page=0"))
        .await;
    assert_eq!(times(&left), [1000, 900, 800, 700]);
    admin
        .post_ok(&format!("{base}/clear"), json!({"eventType": "ERROR"}))
        .await;
    let left = admin
        .get_ok(&format!("{base}/ERROR?pageSize=100&page=0"))
        .await;
    assert_eq!(left["totalElements"], 0);
    let lifecycle = admin
        .get_ok(&format!("{base}/LC_EVENT?pageSize=10&page=0"))
        .await;
    assert_eq!(lifecycle["totalElements"], 1, "other types are untouched");
}

#[tokio::test]
async fn an_entity_keeps_at_most_the_configured_number_of_events_per_type() {
    let server = TestServer::start_with(|s| s.events.max_per_entity_and_type = 10).await;
    let admin = server.tenant_admin().await;
    let tenant = tenant_of(&admin).await;
    let dev = device(&admin, "noisy").await;
    // Ten, then five more one at a time, as failing calls would add them.
    server
        .app
        .record_events(errors(tenant, dev, 1..=10))
        .await
        .unwrap();
    for ts in 11..=15 {
        server
            .app
            .record_events(errors(tenant, dev, [ts]))
            .await
            .unwrap();
    }
    let page = admin
        .get_ok(&format!(
            "/api/events/DEVICE/{dev}/ERROR?pageSize=100&page=0"
        ))
        .await;
    assert_eq!(
        times(&page),
        (6..=15).rev().collect::<Vec<_>>(),
        "the 5 oldest are gone"
    );
    // And in the store, not just in the listing.
    let snapshot = server.store().snapshot().unwrap();
    assert_eq!(
        store::events::keys_of(&*snapshot, tenant, dev.0)
            .unwrap()
            .len(),
        10
    );

    // A batch larger than the cap keeps its newest.
    server
        .app
        .record_events(errors(tenant, dev, 100..=120))
        .await
        .unwrap();
    let page = admin
        .get_ok(&format!(
            "/api/events/DEVICE/{dev}/ERROR?pageSize=100&page=0"
        ))
        .await;
    assert_eq!(times(&page), (111..=120).rev().collect::<Vec<_>>());
}

#[tokio::test]
async fn events_stay_in_their_tenant_and_go_with_their_entity() {
    let server = TestServer::start().await;
    let one = server.tenant_admin().await;
    let sys = server.sysadmin().await;
    let two = server
        .new_tenant(&sys, "Tenant Two", "admin@tenant-two.io")
        .await
        .client;
    let (t1, t2) = (tenant_of(&one).await, tenant_of(&two).await);
    let d1 = device(&one, "one-dev").await;
    let d2 = device(&two, "two-dev").await;
    let customer = one.create_customer("Customer A").await;
    let cid = id(&customer);
    one.post_ok(&format!("/api/customer/{cid}/device/{d1}"), json!({}))
        .await;
    one.create_active_user(&server, &cid, "user@a.io").await;
    let user = server.login("user@a.io", PASSWORD).await;

    let mut batch = errors(t1, d1, [1, 2]);
    batch.extend(errors(t2, d2, [3]));
    // An event naming another tenant's device under this tenant is dropped:
    // the device is not there.
    batch.extend(errors(t1, d2, [4]));
    server.app.record_events(batch).await.unwrap();

    let path = format!("/api/events/DEVICE/{d1}/ERROR?pageSize=10&page=0");
    assert_eq!(one.get_ok(&path).await["totalElements"], 2);
    // Another tenant's administrator: not found; a customer user, even of
    // the device's customer, and the system administrator: forbidden.
    two.get_err(&path, 404, 32).await;
    two.post_err(
        &format!("/api/events/DEVICE/{d1}/clear"),
        json!({"eventType": "ERROR"}),
        404,
        32,
    )
    .await;
    for client in [&user, &sys] {
        client.get_err(&path, 403, 20).await;
        client
            .post_err(
                &format!("/api/events/DEVICE/{d1}/clear"),
                json!({"eventType": "ERROR"}),
                403,
                20,
            )
            .await;
    }
    // ThingsBoard's `tenantId` must be the caller's own.
    one.get_err(&format!("{path}&tenantId={t2}"), 403, 20).await;
    one.get_err(&format!("{path}&tenantId=nope"), 400, 31).await;
    // The refused clears cleared nothing; tenant two sees its own only.
    assert_eq!(one.get_ok(&path).await["totalElements"], 2);
    let theirs = two
        .get_ok(&format!("/api/events/DEVICE/{d2}/ERROR?pageSize=10&page=0"))
        .await;
    assert_eq!(times(&theirs), [3]);
    // Entity types without events are refused.
    let result = one
        .get(&format!(
            "/api/events/DASHBOARD/{d1}/ERROR?pageSize=10&page=0"
        ))
        .await;
    assert_error(&result, 400, 31);

    // Deleting the device deletes its events; deleting tenant two, all of its.
    one.delete_ok(&format!("/api/device/{d1}")).await;
    let snapshot = server.store().snapshot().unwrap();
    assert!(
        store::events::keys_of(&*snapshot, t1, d1.0)
            .unwrap()
            .is_empty()
    );
    let events_of = |snapshot: &dyn store::KvRead, tenant| {
        let keys = store::tenants::keyed_rows(snapshot, tenant).unwrap();
        keys.into_iter()
            .filter(|(t, _)| *t == store::Table::Events)
            .count()
    };
    assert_eq!(events_of(&*snapshot, t2), 1);
    drop(snapshot);
    sys.delete_ok(&format!("/api/tenant/{t2}")).await;
    let snapshot = server.store().snapshot().unwrap();
    assert_eq!(events_of(&*snapshot, t2), 0);
}
