//! Roles (ThingsBoard Professional Edition): GENERIC roles map known
//! resources to known operations, GROUP roles list operations; each
//! belongs to an owner and stays inside its tenant.

use serde_json::{Value, json};

use clientele_tests::{PASSWORD, TestServer, id};

const PAGE: &str = "pageSize=50&page=0&sortProperty=name";

/// The roles every tenant has, by name.
const DEFAULTS: [&str; 3] = ["Customer Administrator", "Customer User", "Tenant User"];

fn names(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap_or_else(|| panic!("not a page: {page}"))
        .iter()
        .map(|r| r["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn roles_name_only_known_rights_and_keep_their_type_and_owner() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let reader = admin
        .post_ok(
            "/api/role",
            json!({"name": "Device reader", "type": "GENERIC", "permissions": {"DEVICE": ["READ", "READ_TELEMETRY"]}}),
        )
        .await;
    assert_eq!(reader["ownerId"]["entityType"], "TENANT");
    assert_eq!(
        reader["customerId"]["id"],
        "13814000-1dd2-11b2-8080-808080808080"
    );
    assert_eq!(
        reader["permissions"]["DEVICE"],
        json!(["READ", "READ_TELEMETRY"])
    );
    let writer = admin
        .post_ok(
            "/api/role",
            json!({"name": "Group writer", "type": "GROUP", "permissions": ["READ", "WRITE"]}),
        )
        .await;
    assert_eq!(writer["type"], "GROUP");

    // Unknown resources and operations, and shapes that don't fit the
    // type, are refused with nothing stored.
    for bad in [
        json!({"name": "X", "type": "GENERIC", "permissions": {"SPACESHIP": ["READ"]}}),
        json!({"name": "X", "type": "GENERIC", "permissions": {"DEVICE": ["FLY"]}}),
        json!({"name": "X", "type": "GENERIC", "permissions": ["READ"]}),
        json!({"name": "X", "type": "GROUP", "permissions": {"DEVICE": ["READ"]}}),
        json!({"name": "X", "type": "ROOT", "permissions": {}}),
        json!({"name": "X", "permissions": {}}),
        json!({"type": "GENERIC", "permissions": {}}),
    ] {
        admin.post_err("/api/role", bad, 400, 31).await;
    }
    // Besides the three every tenant starts with.
    let all = admin.get_ok(&format!("/api/roles?{PAGE}")).await;
    assert_eq!(
        names(&all),
        [
            DEFAULTS[0],
            DEFAULTS[1],
            "Device reader",
            "Group writer",
            DEFAULTS[2]
        ]
    );
    let generic = admin
        .get_ok(&format!("/api/roles?{PAGE}&type=GENERIC"))
        .await;
    assert_eq!(
        names(&generic),
        [DEFAULTS[0], DEFAULTS[1], "Device reader", DEFAULTS[2]]
    );
    admin
        .get_err(&format!("/api/roles?{PAGE}&type=ROOT"), 400, 31)
        .await;

    // Updated: one version on; its type never changes.
    let mut edit = reader.clone();
    edit["name"] = json!("Device viewer");
    let saved = admin.post_ok("/api/role", edit.clone()).await;
    assert_eq!(saved["version"], 2);
    assert_eq!(saved["name"], "Device viewer");
    let mut retype = saved.clone();
    retype["type"] = json!("GROUP");
    retype["permissions"] = json!(["READ"]);
    admin.post_err("/api/role", retype, 400, 31).await;
    // A stale version is a conflict.
    admin.post_err("/api/role", edit, 409, 35).await;

    admin.delete_ok(&format!("/api/role/{}", id(&writer))).await;
    admin
        .get_err(&format!("/api/role/{}", id(&writer)), 404, 32)
        .await;
}

#[tokio::test]
async fn roles_stay_with_their_owner_and_tenant() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let sys = server.sysadmin().await;
    let other = server.new_tenant(&sys, "Other", "admin@other.io").await;
    let a = id(&admin.create_customer("A").await);
    let a_role = admin
        .post_ok(
            "/api/role",
            json!({"name": "A's", "type": "GENERIC", "permissions": {"ALL": ["READ"]},
                   "ownerId": {"entityType": "CUSTOMER", "id": a}}),
        )
        .await;
    assert_eq!(a_role["customerId"]["id"], a.as_str());
    let tenant_role = admin
        .post_ok(
            "/api/role",
            json!({"name": "Tenant's", "type": "GENERIC", "permissions": {}}),
        )
        .await;
    // The tenant's list is the tenant's own roles.
    let listed = admin.get_ok(&format!("/api/roles?{PAGE}")).await;
    assert_eq!(
        names(&listed),
        [DEFAULTS[0], DEFAULTS[1], DEFAULTS[2], "Tenant's"]
    );

    // Another tenant: not found, not changed, not listed.
    let foreign = &other.client;
    foreign
        .get_err(&format!("/api/role/{}", id(&tenant_role)), 404, 32)
        .await;
    foreign
        .delete_err(&format!("/api/role/{}", id(&tenant_role)), 404, 32)
        .await;
    let mut hijack = tenant_role.clone();
    hijack["name"] = json!("Mine");
    foreign.post_err("/api/role", hijack, 404, 32).await;
    // Its own list: its own defaults only.
    let theirs = foreign.get_ok(&format!("/api/roles?{PAGE}")).await;
    assert_eq!(names(&theirs), DEFAULTS);
    assert!(
        theirs["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["id"] != tenant_role["id"])
    );
    foreign
        .post_err(
            "/api/role",
            json!({"name": "X", "type": "GENERIC", "permissions": {},
                   "ownerId": {"entityType": "CUSTOMER", "id": a}}),
            404,
            32,
        )
        .await;

    // A customer user manages no roles, not even its customer's.
    admin.create_active_user(&server, &a, "user@a.io").await;
    let user = server.login("user@a.io", PASSWORD).await;
    user.get_err(&format!("/api/role/{}", id(&a_role)), 403, 20)
        .await;
    user.post_err(
        "/api/role",
        json!({"name": "X", "type": "GENERIC", "permissions": {}}),
        403,
        20,
    )
    .await;

    // Deleting the customer deletes its roles.
    admin.delete_ok(&format!("/api/customer/{a}")).await;
    admin
        .get_err(&format!("/api/role/{}", id(&a_role)), 404, 32)
        .await;
    admin
        .get_ok(&format!("/api/role/{}", id(&tenant_role)))
        .await;
}
