//! Extensions over REST: uploading the example guests, refusing what is not
//! a Clientele component, rights and isolation, deletion refused while in
//! use, deletion with the tenant, and a restart that compiles nothing.

use std::time::Instant;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use sha2::{Digest, Sha256};

use clientele::domain::ids::{CalculatedFieldId, ExtensionId, TenantId};
use clientele::service::ServiceError;
use clientele::store::{self, Changes, Store};
use clientele_guest_artifacts as artifacts;
use clientele_tests::{Client, PASSWORD, TestServer, assert_error, id, reply};

fn read(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn upload_ok(client: &Client, name: &str, bytes: Vec<u8>) -> Value {
    let (status, body) = client.upload_extension(name, bytes).await;
    assert_eq!(status, StatusCode::OK, "uploading {name}: {body}");
    body
}

/// The stored component's bytes, as served.
async fn content(client: &Client, ext: &str) -> (StatusCode, Vec<u8>) {
    let resp = client
        .request(Method::GET, &format!("/api/extension/{ext}/content"))
        .send()
        .await
        .expect("request");
    let status = resp.status();
    (status, resp.bytes().await.expect("body").to_vec())
}

/// `component` with a custom section appended (id 0, size, name, payload):
/// other bytes, the same component. Custom sections may stand anywhere in
/// a component, as in a module.
fn with_custom_section(component: &[u8], name: &str, payload: &[u8]) -> Vec<u8> {
    fn leb128(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    let mut section = Vec::new();
    leb128(name.len(), &mut section);
    section.extend_from_slice(name.as_bytes());
    section.extend_from_slice(payload);
    let mut out = component.to_vec();
    out.push(0);
    leb128(section.len(), &mut out);
    out.extend(section);
    out
}

async fn total(client: &Client) -> u64 {
    let page = client.get_ok("/api/extensions?pageSize=100&page=0").await;
    page["totalElements"].as_u64().expect("totalElements")
}

#[tokio::test]
async fn the_example_guests_upload_with_their_world_hash_and_size_and_come_back_byte_for_byte() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let me = admin.get_ok("/api/auth/user").await;
    let cases = [
        ("dew point", artifacts::DEW_POINT, "CALCULATED_FIELD"),
        (
            "threshold alarm",
            artifacts::THRESHOLD_ALARM,
            "CUSTOMER_LOGIC",
        ),
    ];
    let mut uploaded = Vec::new();
    for (name, path, world) in cases {
        let bytes = read(path);
        let ext = upload_ok(&admin, name, bytes.clone()).await;
        assert_eq!(ext["id"]["entityType"], "EXTENSION", "{ext}");
        assert_eq!(ext["tenantId"], me["tenantId"], "{ext}");
        assert_eq!(ext["name"], name);
        assert_eq!(ext["world"], world);
        assert_eq!(ext["sha256"], sha256_hex(&bytes));
        assert_eq!(ext["size"], bytes.len() as u64);
        assert_eq!(ext["version"], 1);
        assert!(ext["createdTime"].as_i64().is_some_and(|t| t > 0), "{ext}");

        let ext_id = id(&ext);
        assert_eq!(admin.get_ok(&format!("/api/extension/{ext_id}")).await, ext);
        let (status, back) = content(&admin, &ext_id).await;
        assert_eq!(status, StatusCode::OK);
        assert!(back == bytes, "the content differs from the upload");
        uploaded.push(ext);
    }

    // The same bytes under another name are another extension.
    let again = upload_ok(&admin, "dew again", read(artifacts::DEW_POINT)).await;
    assert_eq!(again["sha256"], uploaded[0]["sha256"]);
    assert_ne!(id(&again), id(&uploaded[0]));
    // A name is taken once per tenant.
    let dup = admin
        .upload_extension("dew point", read(artifacts::DEW_POINT))
        .await;
    assert_error(&dup, 400, 31);
    assert_eq!(dup.1["message"], "Extension with such name already exists!");

    // Lists page, search and sort like ThingsBoard's.
    let page = admin
        .get_ok("/api/extensions?pageSize=2&page=0&sortProperty=name&sortOrder=ASC")
        .await;
    let names: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["dew again", "dew point"]);
    assert_eq!(
        (
            &page["totalElements"],
            &page["totalPages"],
            &page["hasNext"]
        ),
        (&Value::from(3), &Value::from(2), &Value::from(true))
    );
    let found = admin
        .get_ok("/api/extensions?pageSize=10&page=0&textSearch=ALARM")
        .await;
    assert_eq!(found["totalElements"], 1, "{found}");
    assert_eq!(found["data"][0], uploaded[1]);
    admin
        .get_err(
            "/api/extensions?pageSize=10&page=0&sortProperty=bogus",
            400,
            31,
        )
        .await;

    // Each upload started its extension (a lifecycle event) and was audited.
    let dew = id(&uploaded[0]);
    let events = admin
        .get_ok(&format!(
            "/api/events/EXTENSION/{dew}/LC_EVENT?pageSize=10&page=0"
        ))
        .await;
    assert_eq!(events["totalElements"], 1, "{events}");
    assert_eq!(events["data"][0]["body"]["event"], "STARTED");
    assert_eq!(events["data"][0]["body"]["success"], true);
    let audit = admin
        .get_ok(&format!(
            "/api/audit/logs/entity/EXTENSION/{dew}?pageSize=10&page=0"
        ))
        .await;
    assert_eq!(audit["data"][0]["actionType"], "ADDED", "{audit}");
    assert_eq!(audit["data"][0]["entityName"], "dew point");

    // Deleted: gone from reads, lists, its content and its events.
    admin.delete_ok(&format!("/api/extension/{dew}")).await;
    admin
        .get_err(&format!("/api/extension/{dew}"), 404, 32)
        .await;
    assert_eq!(content(&admin, &dew).await.0, StatusCode::NOT_FOUND);
    admin
        .get_err(
            &format!("/api/events/EXTENSION/{dew}/LC_EVENT?pageSize=10&page=0"),
            404,
            32,
        )
        .await;
    assert_eq!(total(&admin).await, 2);
    let audit = admin
        .get_ok(&format!(
            "/api/audit/logs/entity/EXTENSION/{dew}?pageSize=10&page=0"
        ))
        .await;
    assert_eq!(audit["data"][0]["actionType"], "DELETED", "{audit}");
}

#[tokio::test]
async fn what_is_not_a_clientele_component_is_refused_and_nothing_is_stored() {
    let server = TestServer::start_with(|s| s.wasm.max_component_bytes = 4 << 20).await;
    let admin = server.tenant_admin().await;
    let core_module = b"\0asm\x01\0\0\0".to_vec();
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("empty", Vec::new(), "not a WebAssembly file"),
        (
            "random",
            (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect(),
            "not a WebAssembly file",
        ),
        ("core", core_module, "core WebAssembly module"),
        (
            "unrelated",
            read(artifacts::UNRELATED_WORLD),
            "implements neither",
        ),
    ];
    for (name, bytes, says) in cases {
        let result = admin.upload_extension(name, bytes).await;
        assert_error(&result, 400, 31);
        let message = result.1["message"].as_str().unwrap();
        assert!(message.contains(says), "{name}: {message}");
    }
    // A component with a custom section is still a component, even one
    // larger than other requests may be (`http.max_body_bytes`, 1 MiB).
    let padding = vec![7; 2 << 20];
    let tagged = with_custom_section(&read(artifacts::DEW_POINT), "clientele-test", &padding);
    let ext = upload_ok(&admin, "tagged", tagged.clone()).await;
    assert_eq!(ext["size"], tagged.len() as u64);

    let over = admin.upload_extension("huge", vec![0; (4 << 20) + 1]).await;
    assert_error(&over, 413, 31);
    let no_name = reply(
        admin
            .request(Method::POST, "/api/extension")
            .header("Content-Type", "application/wasm")
            .body(read(artifacts::DEW_POINT)),
    )
    .await;
    assert_error(&no_name, 400, 31);
    let as_json = reply(
        admin
            .request(Method::POST, "/api/extension?name=json")
            .header("Content-Type", "application/json")
            .body(read(artifacts::DEW_POINT)),
    )
    .await;
    assert_error(&as_json, 400, 31);
    let markup = admin
        .upload_extension("<b>x</b>", read(artifacts::DEW_POINT))
        .await;
    assert_error(&markup, 400, 31);

    let page = admin.get_ok("/api/extensions?pageSize=100&page=0").await;
    assert_eq!(page["totalElements"], 1, "only the tagged one: {page}");
    assert_eq!(page["data"][0]["name"], "tagged");
}

#[tokio::test]
async fn customers_other_tenants_and_the_system_administrator_cannot_touch_a_tenants_extensions() {
    let server = TestServer::start().await;
    let one = server.tenant_admin().await;
    let sys = server.sysadmin().await;
    let two = server
        .new_tenant(&sys, "Tenant Two", "admin@tenant-two.io")
        .await
        .client;
    let customer = one.create_customer("Customer A").await;
    one.create_active_user(&server, &id(&customer), "user@a.io")
        .await;
    let user = server.login("user@a.io", PASSWORD).await;

    let ext = upload_ok(&one, "mine", read(artifacts::DEW_POINT)).await;
    let ext_id = id(&ext);
    let theirs = upload_ok(&two, "theirs", read(artifacts::THRESHOLD_ALARM)).await;

    // Customer users and the system administrator: 403 on everything.
    for client in [&user, &sys] {
        assert_error(
            &client
                .upload_extension("x", read(artifacts::DEW_POINT))
                .await,
            403,
            20,
        );
        client
            .get_err("/api/extensions?pageSize=10&page=0", 403, 20)
            .await;
        client
            .get_err(&format!("/api/extension/{ext_id}"), 403, 20)
            .await;
        assert_eq!(content(client, &ext_id).await.0, StatusCode::FORBIDDEN);
        client
            .delete_err(&format!("/api/extension/{ext_id}"), 403, 20)
            .await;
    }
    // Another tenant's administrator: as if it did not exist.
    two.get_err(&format!("/api/extension/{ext_id}"), 404, 32)
        .await;
    assert_eq!(content(&two, &ext_id).await.0, StatusCode::NOT_FOUND);
    two.delete_err(&format!("/api/extension/{ext_id}"), 404, 32)
        .await;
    let listed = two.get_ok("/api/extensions?pageSize=10&page=0").await;
    assert_eq!(listed["totalElements"], 1);
    assert_eq!(listed["data"][0], theirs);
    // The same name is free in another tenant.
    upload_ok(&two, "mine", read(artifacts::DEW_POINT)).await;

    // Nothing was changed or deleted by the refusals.
    assert_eq!(one.get_ok(&format!("/api/extension/{ext_id}")).await, ext);
    assert_eq!(total(&one).await, 1);
}

#[tokio::test]
async fn an_extension_in_use_is_not_deleted_until_its_user_lets_go() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let ext = upload_ok(&admin, "used", read(artifacts::DEW_POINT)).await;
    let tenant = TenantId(ext["tenantId"]["id"].as_str().unwrap().parse().unwrap());
    let extension = ExtensionId(id(&ext).parse().unwrap());
    // A calculated field using it, staged as the calculated fields'
    // service will: no route makes one yet.
    let field = CalculatedFieldId::new().entity_id();
    let stage = |used: bool| {
        let store = server.store();
        async move {
            store::write::<_, ServiceError, _>(&*store as &dyn Store, move |_| {
                let mut changes = Changes::new();
                if used {
                    store::extensions::put_use(&mut changes, tenant, extension, field);
                } else {
                    store::extensions::delete_use(&mut changes, tenant, extension, field);
                }
                Ok(((), changes))
            })
            .await
            .expect("staged");
        }
    };
    stage(true).await;

    let refused = admin
        .delete_err(&format!("/api/extension/{}", extension), 400, 31)
        .await;
    let message = refused["message"].as_str().unwrap();
    assert!(
        message.contains("calculated field") && message.contains(&field.id.to_string()),
        "{message}"
    );
    assert_eq!(
        admin.get_ok(&format!("/api/extension/{extension}")).await,
        ext
    );

    stage(false).await;
    admin
        .delete_ok(&format!("/api/extension/{extension}"))
        .await;
    admin
        .get_err(&format!("/api/extension/{extension}"), 404, 32)
        .await;
}

#[tokio::test]
async fn deleting_a_tenant_deletes_its_extensions_with_their_bytes_events_and_bindings() {
    let server = TestServer::start().await;
    let sys = server.sysadmin().await;
    let two = server.new_tenant(&sys, "Doomed", "admin@doomed.io").await;
    let tenant = TenantId(id(&two.tenant).parse().unwrap());
    upload_ok(&two.client, "a", read(artifacts::DEW_POINT)).await;
    let logic = upload_ok(&two.client, "b", read(artifacts::THRESHOLD_ALARM)).await;
    // Bound to one of its customers: the binding goes with the tenant too.
    let customer = id(&two.client.create_customer("Acme").await);
    let settings = serde_json::json!({"key": "t", "high": 2, "low": 1, "alarmType": "Hot"});
    two.client
        .post_ok(
            &format!("/api/customer/{customer}/logic/{}", id(&logic)),
            settings,
        )
        .await;
    let one = server.tenant_admin().await;
    upload_ok(&one, "kept", read(artifacts::DEW_POINT)).await;
    let counts = || {
        let snapshot = server.store().snapshot().expect("snapshot");
        let keyed = store::tenants::keyed_rows(&*snapshot, tenant).unwrap();
        let rows_in =
            |tables: &[store::Table]| keyed.iter().filter(|(t, _)| tables.contains(t)).count();
        (
            store::extensions::of_tenant(&*snapshot, tenant)
                .unwrap()
                .len(),
            rows_in(&[
                store::Table::Extensions,
                store::Table::ExtensionContent,
                store::Table::ExtensionNames,
                store::Table::ExtensionUses,
            ]),
            rows_in(&[store::Table::Events]),
            store::logic_bindings::all(&*snapshot)
                .unwrap()
                .iter()
                .filter(|b| b.tenant_id == tenant)
                .count(),
        )
    };
    // Two rows, two contents, two names, one use (the binding); two
    // lifecycle events; one binding.
    assert_eq!(counts(), (2, 7, 2, 1));

    sys.delete_ok(&format!("/api/tenant/{tenant}")).await;
    assert_eq!(counts(), (0, 0, 0, 0));
    assert_eq!(total(&one).await, 1, "another tenant's extension stays");
}

#[tokio::test]
async fn a_restart_loads_twenty_extensions_from_the_compiled_cache_without_compiling() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let dew = read(artifacts::DEW_POINT);
    let mut hashes = std::collections::BTreeSet::new();
    for i in 0..20 {
        // Distinct bytes, so that each is compiled and cached on its own.
        let bytes = with_custom_section(&dew, "clientele-copy", format!("{i}").as_bytes());
        let ext = upload_ok(&admin, &format!("copy {i}"), bytes).await;
        hashes.insert(ext["sha256"].as_str().unwrap().to_owned());
    }
    assert_eq!(hashes.len(), 20);
    let first = server.app.wasm_runtime().expect("runtime");
    let cache = first.cache().expect("cache");
    assert_eq!(cache.compilations(), 20, "each upload compiled once");
    let settings = server.app.settings().clone();
    drop(first);
    let dir = server.stop().await;

    let started = Instant::now();
    let server = TestServer::start_in(dir, settings).await;
    let elapsed = started.elapsed();
    let runtime = server.app.wasm_runtime().expect("extensions were loaded");
    let cache = runtime.cache().expect("cache");
    eprintln!(
        "restart with 20 extensions: {elapsed:?} (compiled {}, from the cache {})",
        cache.compilations(),
        cache.hits()
    );
    assert_eq!(cache.compilations(), 0, "nothing compiled again");
    assert_eq!(cache.hits(), 20);

    // Each was started again, and says so.
    let admin = server.tenant_admin().await;
    let page = admin.get_ok("/api/extensions?pageSize=100&page=0").await;
    assert_eq!(page["totalElements"], 20);
    let some = id(&page["data"][7]);
    let events = admin
        .get_ok(&format!(
            "/api/events/EXTENSION/{some}/LC_EVENT?pageSize=10&page=0"
        ))
        .await;
    assert_eq!(events["totalElements"], 2, "one per start: {events}");
    assert!(
        events["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["body"]["event"] == "STARTED" && e["body"]["success"] == true),
        "{events}"
    );
}

#[tokio::test]
async fn a_stored_extension_that_no_longer_loads_is_reported_and_the_service_starts_anyway() {
    use clientele::domain::extension::{Extension, ExtensionWorld};

    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let good = upload_ok(&admin, "good", read(artifacts::DEW_POINT)).await;
    let tenant = TenantId(good["tenantId"]["id"].as_str().unwrap().parse().unwrap());
    // A row whose bytes are not a component (as if written by a version
    // that accepted it, or damaged on disk).
    let broken = Extension::create(
        tenant,
        "broken",
        ExtensionWorld::CalculatedField,
        "00".repeat(32),
        4,
        1,
    );
    let broken_id = broken.id;
    store::write::<_, ServiceError, _>(&*server.store() as &dyn Store, move |_| {
        let mut changes = Changes::new();
        store::extensions::insert(&mut changes, &broken, b"junk".to_vec());
        Ok(((), changes))
    })
    .await
    .expect("staged");
    let settings = server.app.settings().clone();
    let dir = server.stop().await;

    let server = TestServer::start_in(dir, settings).await;
    let admin = server.tenant_admin().await;
    let events = admin
        .get_ok(&format!(
            "/api/events/EXTENSION/{broken_id}/LC_EVENT?pageSize=10&page=0"
        ))
        .await;
    assert_eq!(events["totalElements"], 1, "{events}");
    let body = &events["data"][0]["body"];
    assert_eq!(body["event"], "STARTED");
    assert_eq!(body["success"], false);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("not a WebAssembly file"),
        "{body}"
    );
    // The good one started, and the broken one can still be deleted.
    let good_id = id(&good);
    let events = admin
        .get_ok(&format!(
            "/api/events/EXTENSION/{good_id}/LC_EVENT?pageSize=10&page=0"
        ))
        .await;
    assert_eq!(events["data"][0]["body"]["success"], true, "{events}");
    admin
        .delete_ok(&format!("/api/extension/{broken_id}"))
        .await;
    assert_eq!(total(&admin).await, 1);
}
