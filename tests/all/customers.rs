//! Customers over the REST API: create, read, search, page, sort, update, delete.

use clientele_tests::TestServer;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_customer_round_trips_in_thingsboards_shape() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let created = admin
        .post_ok(
            "/api/customer",
            json!({"title": "Acme", "email": "ops@acme.io", "country": "UA", "city": "Kyiv",
                   "address": "1 Main St", "zip": "01001",
                   "additionalInfo": {"description": "first", "homeDashboardHideToolbar": true}}),
        )
        .await;
    assert_eq!(created["id"]["entityType"], "CUSTOMER");
    assert_eq!(created["tenantId"]["entityType"], "TENANT");
    assert_eq!(
        (created["title"].as_str(), created["name"].as_str()),
        (Some("Acme"), Some("Acme"))
    );
    assert_eq!(created["version"], 1);
    assert!(
        created["createdTime"]
            .as_i64()
            .is_some_and(|t| t > 1_600_000_000_000)
    );
    assert_eq!(created["additionalInfo"]["description"], "first");
    let id = created["id"]["id"].as_str().unwrap();

    let (status, read) = admin.get(&format!("/api/customer/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read, created);
    let short = admin.get_ok(&format!("/api/customer/{id}/shortInfo")).await;
    assert_eq!(short, json!({"title": "Acme", "isPublic": false}));
    let title = admin.get_ok(&format!("/api/customer/{id}/title")).await;
    assert_eq!(title, json!("Acme"));
    let (status, by_title) = admin.get("/api/tenant/customers?customerTitle=Acme").await;
    assert_eq!((status, &by_title["id"]), (StatusCode::OK, &created["id"]));
    admin
        .get_err("/api/tenant/customers?customerTitle=Nope", 404, 32)
        .await;
}

#[tokio::test]
async fn updates_bump_the_version_and_stale_versions_conflict() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let c = admin.create_customer("Globex").await;
    let mut edit = c.clone();
    edit["city"] = json!("Lviv");
    let v2 = admin.post_ok("/api/customer", edit.clone()).await;
    assert_eq!(
        (v2["version"].as_i64(), v2["city"].as_str()),
        (Some(2), Some("Lviv"))
    );
    assert_eq!(v2["createdTime"], c["createdTime"]);

    // The same stale copy again: someone else changed it meanwhile.
    edit["city"] = json!("Odesa");
    admin.post_err("/api/customer", edit.clone(), 409, 35).await;
    // A null version forces the write, as in ThingsBoard.
    edit["version"] = json!(null);
    let (status, v3) = admin.post("/api/customer", edit).await;
    assert_eq!((status, v3["version"].as_i64()), (StatusCode::OK, Some(3)));

    // Renaming frees the old title and takes the new one.
    let mut renamed = v3.clone();
    renamed["title"] = json!("Globex 2");
    assert_eq!(admin.post("/api/customer", renamed).await.0, StatusCode::OK);
    admin.create_customer("Globex").await;
    admin
        .post_err("/api/customer", json!({"title": "Globex 2"}), 400, 31)
        .await;
}

#[tokio::test]
async fn paging_search_and_sorting_follow_thingsboard() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    for (title, city) in [
        ("Delta", "Berlin"),
        ("alpha", "Paris"),
        ("Charlie", "Athens"),
        ("Bravo Alpha", "Rome"),
        ("Echo", "Oslo"),
    ] {
        let (status, _) = admin
            .post("/api/customer", json!({"title": title, "city": city}))
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let titles = |page: &serde_json::Value| -> Vec<String> {
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["title"].as_str().unwrap().to_owned())
            .collect()
    };
    let p0 = admin
        .get_ok("/api/customers?pageSize=2&page=0&sortProperty=title&sortOrder=ASC")
        .await;
    assert_eq!(titles(&p0), ["alpha", "Bravo Alpha"]);
    assert_eq!(
        (
            p0["totalElements"].as_u64(),
            p0["totalPages"].as_u64(),
            p0["hasNext"].as_bool()
        ),
        (Some(5), Some(3), Some(true))
    );
    let p2 = admin
        .get_ok("/api/customers?pageSize=2&page=2&sortProperty=title&sortOrder=ASC")
        .await;
    assert_eq!(
        (titles(&p2), p2["hasNext"].as_bool()),
        (vec!["Echo".to_owned()], Some(false))
    );

    let desc = admin
        .get_ok("/api/customers?pageSize=10&page=0&sortProperty=title&sortOrder=DESC")
        .await;
    assert_eq!(titles(&desc)[0], "Echo");
    let by_city = admin
        .get_ok("/api/customers?pageSize=10&page=0&sortProperty=city")
        .await;
    assert_eq!(titles(&by_city)[0], "Charlie");
    let newest = admin
        .get_ok("/api/customers?pageSize=1&page=0&sortProperty=createdTime&sortOrder=DESC")
        .await;
    assert_eq!(titles(&newest), ["Echo"]);

    // Case-insensitive substring on the title.
    let found = admin
        .get_ok("/api/customers?pageSize=10&page=0&textSearch=ALPHA&sortProperty=title")
        .await;
    assert_eq!(titles(&found), ["alpha", "Bravo Alpha"]);
    assert_eq!(found["totalElements"], 2);
    let none = admin
        .get_ok("/api/customers?pageSize=10&page=0&textSearch=zulu")
        .await;
    assert_eq!(
        (
            none["totalElements"].as_u64(),
            none["data"].as_array().map(Vec::len)
        ),
        (Some(0), Some(0))
    );
    let beyond = admin.get_ok("/api/customers?pageSize=10&page=7").await;
    assert_eq!(
        (
            beyond["data"].as_array().map(Vec::len),
            beyond["hasNext"].as_bool()
        ),
        (Some(0), Some(false))
    );
}

#[tokio::test]
async fn customers_are_listed_by_ids_and_deleted_one_or_many_at_a_time() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let mut ids = Vec::new();
    for t in ["One", "Two", "Three", "Four"] {
        ids.push(
            admin.create_customer(t).await["id"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let listed = admin
        .get_ok(&format!("/api/customers?customerIds={},{}", ids[0], ids[2]))
        .await;
    let mut got: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap())
        .collect();
    got.sort();
    assert_eq!(got, ["One", "Three"]);

    assert_eq!(
        admin.delete(&format!("/api/customer/{}", ids[0])).await.0,
        StatusCode::OK
    );
    admin
        .get_err(&format!("/api/customer/{}", ids[0]), 404, 32)
        .await;
    admin
        .delete_err(&format!("/api/customer/{}", ids[0]), 404, 32)
        .await;

    let deleted = admin
        .delete_ok(&format!("/api/customers?customerIds={},{}", ids[1], ids[2]))
        .await;
    assert_eq!(deleted.as_array().map(Vec::len), Some(2));
    let left = admin.get_ok("/api/customers?pageSize=10&page=0").await;
    assert_eq!(left["totalElements"], 1);
    assert_eq!(left["data"][0]["title"], "Four");
    // The title is free again once its customer is gone.
    admin.create_customer("One").await;
}

#[tokio::test]
async fn name_conflicts_can_be_uniquified() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    admin.create_customer("Initech").await;
    let (status, second) = admin
        .post(
            "/api/customer?nameConflictPolicy=UNIQUIFY&uniquifyStrategy=INCREMENTAL",
            json!({"title": "Initech"}),
        )
        .await;
    assert_eq!(
        (status, second["title"].as_str()),
        (StatusCode::OK, Some("Initech_1"))
    );
    let (status, third) = admin
        .post(
            "/api/customer?nameConflictPolicy=UNIQUIFY&uniquifySeparator=-",
            json!({"title": "Initech"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let title = third["title"].as_str().unwrap();
    assert!(
        title.starts_with("Initech-") && title.len() > "Initech-".len(),
        "{title}"
    );
    admin
        .post_err(
            "/api/customer?nameConflictPolicy=MAYBE",
            json!({"title": "X"}),
            400,
            31,
        )
        .await;
}

#[tokio::test]
async fn a_bulk_delete_with_one_bad_id_deletes_nothing() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let keep = admin.create_customer("Keep").await;
    let keep_id = keep["id"]["id"].as_str().unwrap();
    let missing = "784f394c-42b6-435a-983c-b7beff2784f9";
    admin
        .delete_err(
            &format!("/api/customers?customerIds={keep_id},{missing}"),
            404,
            32,
        )
        .await;
    assert_eq!(
        admin.get(&format!("/api/customer/{keep_id}")).await.0,
        StatusCode::OK
    );
    // The same id twice is one deletion.
    let (status, _) = admin
        .delete(&format!("/api/customers?customerIds={keep_id},{keep_id}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    admin
        .get_err(&format!("/api/customer/{keep_id}"), 404, 32)
        .await;
}
