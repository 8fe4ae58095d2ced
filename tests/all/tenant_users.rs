//! The tenant's own users outside "Tenant Administrators" (ThingsBoard
//! PE's "Tenant Users"): what their roles grant and nothing more, checked
//! at every request, beside a second tenant whose data they never reach.

use serde_json::{Value, json};

use clientele_tests::{Client, PASSWORD, TestServer, customer_ref, id};

const PAGE: &str = "pageSize=50&page=0";

/// The id of the tenant's user group `name`.
async fn user_group(admin: &Client, name: &str) -> String {
    let groups = admin.get_ok("/api/entityGroups/USER").await;
    let group = groups
        .as_array()
        .expect("a list of groups")
        .iter()
        .find(|g| g["name"] == name)
        .unwrap_or_else(|| panic!("no group {name} in {groups}"));
    id(group)
}

/// A tenant user created into the tenant's user group `group`, activated
/// and signed in.
async fn tenant_user_in(server: &TestServer, admin: &Client, email: &str, group: &str) -> Value {
    let user = admin
        .post_ok(
            &format!("/api/user?sendActivationMail=false&entityGroupId={group}"),
            json!({"email": email, "authority": "TENANT_ADMIN"}),
        )
        .await;
    admin.activate_user(server, &id(&user), email).await;
    user
}

/// A signed-in user of the tenant's "Tenant Users" (read-only).
pub(crate) async fn tenant_reader(server: &TestServer, admin: &Client, email: &str) -> Client {
    let readers = user_group(admin, "Tenant Users").await;
    tenant_user_in(server, admin, email, &readers).await;
    server.login(email, PASSWORD).await
}

fn total(page: &Value) -> u64 {
    page["totalElements"]
        .as_u64()
        .unwrap_or_else(|| panic!("not a page: {page}"))
}

#[tokio::test]
async fn a_tenant_user_reads_its_tenant_and_changes_nothing_but_its_profile() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let sys = server.sysadmin().await;
    let other = server.new_tenant(&sys, "Other", "admin@other.io").await;
    let foreign = other
        .client
        .create_device("foreign", "TU_FOREIGN", false)
        .await;

    let customer = id(&admin.create_customer("Plant").await);
    let own = admin.create_device("own", "TU_OWN", false).await;
    let theirs = admin.create_device("theirs", "TU_THEIRS", false).await;
    admin
        .post_ok(
            &format!("/api/customer/{customer}/device/{theirs}"),
            json!({}),
        )
        .await;
    let telemetry = format!("/api/plugins/telemetry/DEVICE/{theirs}/timeseries/ANY");
    admin
        .post_ok(&telemetry, json!({"ts": 1000, "values": {"t": 21.5}}))
        .await;

    let readers = user_group(&admin, "Tenant Users").await;
    let me = tenant_user_in(&server, &admin, "reader@tenant.io", &readers).await;
    let reader = server.login("reader@tenant.io", PASSWORD).await;

    // Reads: the tenant's devices, its customers, a customer's data, users
    // and the audit log.
    assert_eq!(
        total(&reader.get_ok(&format!("/api/tenant/devices?{PAGE}")).await),
        2
    );
    assert_eq!(
        total(&reader.get_ok(&format!("/api/customers?{PAGE}")).await),
        1
    );
    let device = reader.get_ok(&format!("/api/device/{theirs}")).await;
    assert_eq!(device["name"], "theirs");
    let values = reader
        .get_ok(&format!(
            "/api/plugins/telemetry/DEVICE/{theirs}/values/timeseries?keys=t"
        ))
        .await;
    let value = &values["t"][0]["value"];
    assert!(value == "21.5" || value == 21.5, "{values}");
    assert_eq!(values["t"][0]["ts"], 1000);
    let users = reader.get_ok(&format!("/api/users?{PAGE}")).await;
    assert_eq!(total(&users), 2, "{users}");
    reader.get_ok(&format!("/api/audit/logs?{PAGE}")).await;
    reader.get_ok(&format!("/api/extensions?{PAGE}")).await;

    // Its rights as the UI asks them: read, not all.
    let allowed = reader.get_ok("/api/permissions/allowedPermissions").await;
    let generic = &allowed["userPermissions"]["genericPermissions"];
    assert_eq!(
        generic["ALL"],
        json!(["READ", "READ_ATTRIBUTES", "READ_TELEMETRY"])
    );

    // Writes: refused with code 20, and nothing changes.
    reader
        .post_err("/api/device", json!({"name": "new"}), 403, 20)
        .await;
    reader
        .post_err("/api/customer", json!({"title": "New"}), 403, 20)
        .await;
    reader
        .delete_err(&format!("/api/device/{own}"), 403, 20)
        .await;
    reader
        .post_err(
            &telemetry,
            json!({"ts": 2000, "values": {"t": 99}}),
            403,
            20,
        )
        .await;
    reader
        .post_err(
            "/api/user?sendActivationMail=false",
            json!({"email": "x@tenant.io", "authority": "CUSTOMER_USER", "customerId": customer_ref(&customer)}),
            403,
            20,
        )
        .await;
    reader
        .post_err(
            &format!("/api/entityGroup/{readers}/addEntities"),
            json!([id(&me)]),
            403,
            20,
        )
        .await;
    // No way up: neither joining the administrators nor making one.
    let admins = user_group(&admin, "Tenant Administrators").await;
    reader
        .post_err(
            &format!("/api/entityGroup/{admins}/addEntities"),
            json!([id(&me)]),
            403,
            20,
        )
        .await;
    reader
        .post_err(
            &format!("/api/user?sendActivationMail=false&entityGroupId={admins}"),
            json!({"email": "boss@tenant.io", "authority": "TENANT_ADMIN"}),
            403,
            20,
        )
        .await;
    let members = admin
        .get_ok(&format!("/api/entityGroup/{admins}/users?{PAGE}"))
        .await;
    assert_eq!(total(&members), 1, "{members}");
    assert_eq!(
        total(&admin.get_ok(&format!("/api/tenant/devices?{PAGE}")).await),
        2
    );
    assert_eq!(
        total(&admin.get_ok(&format!("/api/customers?{PAGE}")).await),
        1
    );
    let history = admin
        .get_ok(&format!(
            "/api/plugins/telemetry/DEVICE/{theirs}/values/timeseries?keys=t&startTs=0&endTs=9999&limit=10"
        ))
        .await;
    assert_eq!(history["t"].as_array().map(Vec::len), Some(1), "{history}");

    // Its own profile is its own to change.
    let mut profile = reader.get_ok(&format!("/api/user/{}", id(&me))).await;
    profile["firstName"] = json!("Reader");
    let saved = reader.post_ok("/api/user", profile).await;
    assert_eq!(saved["firstName"], "Reader");

    // Another tenant's device is out of reach, as for the administrator.
    let (status, body) = reader.get(&format!("/api/device/{foreign}")).await;
    let (admin_status, _) = admin.get(&format!("/api/device/{foreign}")).await;
    assert_eq!(status, admin_status, "{body}");
    assert!(status.is_client_error());
    assert_ne!(body["name"], "foreign");
}

#[tokio::test]
async fn joining_tenant_administrators_makes_an_administrator_and_one_always_remains() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let readers = user_group(&admin, "Tenant Users").await;
    let admins = user_group(&admin, "Tenant Administrators").await;
    let me = tenant_user_in(&server, &admin, "reader@tenant.io", &readers).await;
    let reader = server.login("reader@tenant.io", PASSWORD).await;
    reader
        .post_err("/api/device", json!({"name": "pump"}), 403, 20)
        .await;

    // Rights are read at every request: the same token now creates.
    admin
        .post_ok(
            &format!("/api/entityGroup/{admins}/addEntities"),
            json!([id(&me)]),
        )
        .await;
    reader.post_ok("/api/device", json!({"name": "pump"})).await;
    let allowed = reader.get_ok("/api/permissions/allowedPermissions").await;
    assert_eq!(
        allowed["userPermissions"]["genericPermissions"]["ALL"],
        json!(["ALL"])
    );

    // Back out: refused again.
    admin
        .post_ok(
            &format!("/api/entityGroup/{admins}/deleteEntities"),
            json!([id(&me)]),
        )
        .await;
    reader
        .post_err("/api/device", json!({"name": "valve"}), 403, 20)
        .await;

    // The last administrator can't leave the group, nor be deleted by the
    // system administrator; a tenant user of the same authority does not
    // count as one.
    let first = admin.get_ok("/api/auth/user").await;
    admin
        .post_err(
            &format!("/api/entityGroup/{admins}/deleteEntities"),
            json!([id(&first)]),
            400,
            31,
        )
        .await;
    let sys = server.sysadmin().await;
    sys.delete_err(&format!("/api/user/{}", id(&first)), 400, 31)
        .await;
    let members = admin
        .get_ok(&format!("/api/entityGroup/{admins}/users?{PAGE}"))
        .await;
    assert_eq!(total(&members), 1, "{members}");
    assert_eq!(members["data"][0]["id"], first["id"]);
    admin.post_ok("/api/device", json!({"name": "valve"})).await;
}
