//! Devices: tokens, assignment to customers, what customer users see.

use clientele_tests::{PASSWORD, TestServer, id};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_device_gets_a_unique_token_and_can_be_assigned_and_unassigned() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let device = admin
        .post_ok(
            "/api/device",
            json!({"name": "Thermo-1", "type": "thermometer"}),
        )
        .await;
    assert_eq!(device["id"]["entityType"], "DEVICE");
    assert_eq!(
        device["customerId"]["id"],
        "13814000-1dd2-11b2-8080-808080808080"
    );
    let id = device["id"]["id"].as_str().unwrap();
    let creds = admin.get_ok(&format!("/api/device/{id}/credentials")).await;
    assert_eq!(creds["credentialsType"], "ACCESS_TOKEN");
    assert_eq!(creds["credentialsId"].as_str().map(str::len), Some(20));

    let chosen = admin
        .post_ok(
            "/api/device?accessToken=MY_TOKEN_1",
            json!({"name": "Thermo-2"}),
        )
        .await;
    let c2 = admin
        .get_ok(&format!(
            "/api/device/{}/credentials",
            chosen["id"]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(c2["credentialsId"], "MY_TOKEN_1");
    admin
        .post_err(
            "/api/device?accessToken=MY_TOKEN_1",
            json!({"name": "Thermo-3"}),
            400,
            31,
        )
        .await;
    admin
        .post_err("/api/device", json!({"name": "Thermo-1"}), 400, 31)
        .await;

    let acme = admin.create_customer("Acme").await;
    let acme_id = acme["id"]["id"].as_str().unwrap();
    let (status, assigned) = admin
        .post(&format!("/api/customer/{acme_id}/device/{id}"), json!({}))
        .await;
    assert_eq!(
        (status, &assigned["customerId"]["id"]),
        (StatusCode::OK, &acme["id"]["id"])
    );
    let listed = admin
        .get_ok(&format!(
            "/api/customer/{acme_id}/devices?pageSize=10&page=0"
        ))
        .await;
    assert_eq!(listed["totalElements"], 1);

    admin
        .create_active_user(&server, acme_id, "u@acme.io")
        .await;
    let user = server.login("u@acme.io", PASSWORD).await;
    assert_eq!(
        user.get(&format!("/api/device/{id}")).await.0,
        StatusCode::OK
    );
    user.get_err(
        &format!("/api/device/{}", chosen["id"]["id"].as_str().unwrap()),
        403,
        20,
    )
    .await;
    user.get_err(&format!("/api/device/{id}/credentials"), 403, 20)
        .await;
    user.delete_err(&format!("/api/device/{id}"), 403, 20).await;

    let (status, back) = admin.delete(&format!("/api/customer/device/{id}")).await;
    assert_eq!(
        (status, back["customerId"]["id"].as_str()),
        (StatusCode::OK, Some("13814000-1dd2-11b2-8080-808080808080"))
    );
    user.get_err(&format!("/api/device/{id}"), 403, 20).await;
    let log = admin.get_ok(&format!(
            "/api/audit/logs/entity/DEVICE/{id}?pageSize=10&page=0&actionTypes=UNASSIGNED_FROM_CUSTOMER"
        )).await;
    let data = &log["data"][0]["actionData"];
    assert_eq!(data["unassignedCustomerId"]["id"], acme_id, "{log}");
    assert_eq!(data["unassignedCustomerName"], "Acme", "{log}");
}

#[tokio::test]
async fn deleting_a_customer_unassigns_its_devices_and_keeps_them() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let c = admin.create_customer("Leaving").await;
    let cid = c["id"]["id"].as_str().unwrap();
    let d = admin.post_ok("/api/device", json!({"name": "Kept"})).await;
    let did = d["id"]["id"].as_str().unwrap();
    admin
        .post_ok(&format!("/api/customer/{cid}/device/{did}"), json!({}))
        .await;
    assert_eq!(
        admin.delete(&format!("/api/customer/{cid}")).await.0,
        StatusCode::OK
    );
    let (status, kept) = admin.get(&format!("/api/device/{did}")).await;
    assert_eq!(
        (status, kept["customerId"]["id"].as_str()),
        (StatusCode::OK, Some("13814000-1dd2-11b2-8080-808080808080"))
    );
    let log = admin.get_ok(&format!("/api/audit/logs/entity/DEVICE/{did}?pageSize=10&page=0&actionTypes=UNASSIGNED_FROM_CUSTOMER")).await;
    assert_eq!(log["totalElements"], 1);
    let data = &log["data"][0]["actionData"];
    assert_eq!(data["unassignedCustomerId"]["id"], cid, "{log}");
    assert_eq!(data["unassignedCustomerName"], "Leaving", "{log}");
}

#[tokio::test]
async fn a_replaced_token_stops_working_and_the_new_one_works() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let d = admin
        .post_ok(
            "/api/device?accessToken=OLD_TOKEN",
            json!({"name": "Rotated"}),
        )
        .await;
    let did = d["id"]["id"].as_str().unwrap();
    let anon = server.anonymous();
    assert_eq!(
        anon.post("/api/v1/OLD_TOKEN/telemetry", json!({"t": 1}))
            .await
            .0,
        StatusCode::OK
    );
    let mut creds = admin
        .get_ok(&format!("/api/device/{did}/credentials"))
        .await;
    creds["credentialsId"] = json!("NEW_TOKEN");
    assert_eq!(
        admin.post("/api/device/credentials", creds).await.0,
        StatusCode::OK
    );
    anon.post_err("/api/v1/OLD_TOKEN/telemetry", json!({"t": 2}), 401, 10)
        .await;
    assert_eq!(
        anon.post("/api/v1/NEW_TOKEN/telemetry", json!({"t": 3}))
            .await
            .0,
        StatusCode::OK
    );
    let latest = admin
        .get_ok(&format!(
            "/api/plugins/telemetry/DEVICE/{did}/values/timeseries?keys=t"
        ))
        .await;
    assert_eq!(latest["t"][0]["value"], "3");
}

#[tokio::test]
async fn assets_are_assigned_listed_and_kept_when_their_customer_goes() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let asset = admin
        .post_ok(
            "/api/asset",
            json!({"name": "Building A", "type": "building"}),
        )
        .await;
    assert_eq!(asset["id"]["entityType"], "ASSET");
    let aid = asset["id"]["id"].as_str().unwrap();
    admin
        .post_err("/api/asset", json!({"name": "Building A"}), 400, 31)
        .await;
    let c = admin.create_customer("Owner").await;
    let cid = c["id"]["id"].as_str().unwrap();
    assert_eq!(
        admin
            .post(&format!("/api/customer/{cid}/asset/{aid}"), json!({}))
            .await
            .0,
        StatusCode::OK
    );
    let listed = admin
        .get_ok(&format!(
            "/api/customer/{cid}/assets?pageSize=10&page=0&type=building"
        ))
        .await;
    assert_eq!(listed["totalElements"], 1);
    let by_name = admin
        .get_ok("/api/tenant/assets?assetName=Building%20A")
        .await;
    assert_eq!(by_name["id"], asset["id"]);
    let base = format!("/api/plugins/telemetry/ASSET/{aid}");
    assert_eq!(
        admin
            .post(&format!("{base}/timeseries/ANY"), json!({"occupancy": 12}))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        admin
            .get(&format!("{base}/values/timeseries?keys=occupancy"))
            .await
            .1["occupancy"][0]["value"],
        "12"
    );
    assert_eq!(
        admin.delete(&format!("/api/customer/{cid}")).await.0,
        StatusCode::OK
    );
    let kept = admin.get_ok(&format!("/api/asset/{aid}")).await;
    assert_eq!(
        kept["customerId"]["id"],
        "13814000-1dd2-11b2-8080-808080808080"
    );
    assert_eq!(
        admin.delete(&format!("/api/asset/{aid}")).await.0,
        StatusCode::OK
    );
    admin
        .get_err(&format!("{base}/values/timeseries?keys=occupancy"), 404, 32)
        .await;
}

#[tokio::test]
async fn dashboards_are_shared_with_many_customers_and_survive_them() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let dash = admin
        .post_ok(
            "/api/dashboard",
            json!({"title": "Overview", "configuration": {"widgets": {}}}),
        )
        .await;
    assert_eq!(dash["id"]["entityType"], "DASHBOARD");
    let did = dash["id"]["id"].as_str().unwrap();
    let (a, b) = (
        admin.create_customer("A").await,
        admin.create_customer("B").await,
    );
    let (aid, bid) = (
        a["id"]["id"].as_str().unwrap(),
        b["id"]["id"].as_str().unwrap(),
    );
    admin
        .post_ok(&format!("/api/customer/{aid}/dashboard/{did}"), json!({}))
        .await;
    let both = admin
        .post_ok(&format!("/api/customer/{bid}/dashboard/{did}"), json!({}))
        .await;
    let titles: Vec<&str> = both["assignedCustomers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["A", "B"]);
    admin.create_active_user(&server, aid, "a@a.io").await;
    let user = server.login("a@a.io", PASSWORD).await;
    assert_eq!(
        user.get(&format!("/api/dashboard/{did}")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        user.get(&format!(
            "/api/customer/{aid}/dashboards?pageSize=10&page=0"
        ))
        .await
        .1["totalElements"],
        1
    );
    user.delete_err(&format!("/api/dashboard/{did}"), 403, 20)
        .await;

    // Deleting customer A takes it off the dashboard; B keeps it.
    admin.delete_ok(&format!("/api/customer/{aid}")).await;
    let after = admin.get_ok(&format!("/api/dashboard/{did}")).await;
    assert_eq!(after["assignedCustomers"].as_array().map(Vec::len), Some(1));
    let unassigned = admin
        .delete_ok(&format!("/api/customer/{bid}/dashboard/{did}"))
        .await;
    assert_eq!(unassigned["assignedCustomers"], json!([]));
    let log = admin.get_ok(&format!(
            "/api/audit/logs/entity/DASHBOARD/{did}?pageSize=10&page=0&actionTypes=UNASSIGNED_FROM_CUSTOMER"
        )).await;
    let data = &log["data"][0]["actionData"];
    assert_eq!(data["unassignedCustomerId"]["id"], bid, "{log}");
    assert_eq!(data["unassignedCustomerName"], "B", "{log}");
    assert!(data.get("assignedCustomerId").is_none(), "{log}");
    let listed = admin
        .get_ok("/api/tenant/dashboards?pageSize=10&page=0&textSearch=over")
        .await;
    assert_eq!(listed["totalElements"], 1);
}

#[tokio::test]
async fn a_dashboard_shows_its_customers_current_titles() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let dash = admin
        .post_ok("/api/dashboard", json!({"title": "Renamed view"}))
        .await;
    let did = dash["id"]["id"].as_str().unwrap();
    let c = admin.create_customer("Old Name").await;
    let cid = c["id"]["id"].as_str().unwrap();
    let body = admin
        .post_ok(&format!("/api/customer/{cid}/dashboard/{did}"), json!({}))
        .await;
    assert_eq!(body["assignedCustomers"][0]["title"], "Old Name");

    let mut renamed = c.clone();
    renamed["title"] = json!("New Name");
    renamed["additionalInfo"] = json!({"isPublic": true});
    admin.post_ok("/api/customer", renamed).await;

    let after = admin.get_ok(&format!("/api/dashboard/{did}")).await;
    assert_eq!(
        after["assignedCustomers"],
        json!([{"customerId": {"entityType": "CUSTOMER", "id": cid}, "title": "New Name", "public": true}]),
        "{after}"
    );
    let listed = admin
        .get_ok(&format!(
            "/api/customer/{cid}/dashboards?pageSize=10&page=0"
        ))
        .await;
    assert_eq!(
        listed["data"][0]["assignedCustomers"][0]["title"],
        "New Name"
    );
}

#[tokio::test]
async fn deleting_a_tenant_takes_its_devices_and_their_data_with_it() {
    let server = TestServer::start().await;
    let sys = server.sysadmin().await;
    let short = server
        .new_tenant(&sys, "Short-lived", "admin@short.io")
        .await;
    let tid = id(&short.tenant);
    let admin = short.client;
    admin.create_device("Ephemeral", "SHORT_LIVED", false).await;
    assert_eq!(
        server
            .anonymous()
            .post("/api/v1/SHORT_LIVED/telemetry", json!({"t": 1}))
            .await
            .0,
        StatusCode::OK
    );

    assert_eq!(
        sys.delete(&format!("/api/tenant/{tid}")).await.0,
        StatusCode::OK
    );
    server
        .anonymous()
        .post_err("/api/v1/SHORT_LIVED/telemetry", json!({"t": 2}), 401, 10)
        .await;
    admin.get_err("/api/auth/user", 401, 10).await;
    // The first tenant is untouched.
    let own = server.tenant_admin().await;
    assert_eq!(own.get("/api/auth/user").await.0, StatusCode::OK);
}

/// ThingsBoard PE's `ownerId` on devices, assets and dashboards: their
/// owning customer, else the tenant, following assignment and owner
/// changes; a client that sends it back changes nothing by it.
#[tokio::test]
async fn devices_assets_and_dashboards_name_their_owner() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let me = admin.get_ok("/api/auth/user").await;
    let tenant = json!({"entityType": "TENANT", "id": me["tenantId"]["id"]});
    let customer = id(&admin.create_customer("Plant").await);
    let plant = json!({"entityType": "CUSTOMER", "id": customer});
    for (kind, save, body) in [
        ("DEVICE", "/api/device", json!({"name": "pump"})),
        ("ASSET", "/api/asset", json!({"name": "hall"})),
        ("DASHBOARD", "/api/dashboard", json!({"title": "floor"})),
    ] {
        let created = admin.post_ok(save, body).await;
        assert_eq!(created["ownerId"], tenant, "{kind}: {created}");
        let entity = id(&created);
        let read = format!("{save}/{entity}");
        admin
            .post_ok(
                &format!("/api/owner/CUSTOMER/{customer}/{kind}/{entity}"),
                json!({}),
            )
            .await;
        let moved = admin.get_ok(&read).await;
        assert_eq!(moved["ownerId"], plant, "{kind}: {moved}");
        // Sending another owner back in an update does not move it.
        let mut edit = moved.clone();
        edit["ownerId"] = tenant.clone();
        let saved = admin.post_ok(save, edit).await;
        assert_eq!(saved["ownerId"], plant, "{kind}: {saved}");
        assert_eq!(admin.get_ok(&read).await["ownerId"], plant, "{kind}");
    }
}
