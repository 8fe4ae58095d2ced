//! Rights from roles (ThingsBoard Professional Edition): a customer's
//! "Customer Administrators" do inside its subtree what a tenant
//! administrator does in the tenant, and nothing outside it; "Customer
//! Users" read; group permissions grant and revoke roles, and a customer
//! user's rights follow at its next request.

use serde_json::{Value, json};

use clientele_tests::{Client, PASSWORD, TestServer, customer_ref, id};

pub(crate) fn group_ref(id: &str) -> Value {
    json!({"entityType": "ENTITY_GROUP", "id": id})
}

/// The id of `owner`'s user group named `name`.
pub(crate) async fn user_group(admin: &Client, owner: &str, name: &str) -> String {
    let g = admin
        .get_ok(&format!(
            "/api/entityGroup/CUSTOMER/{owner}/USER/{}",
            name.replace(' ', "%20")
        ))
        .await;
    id(&g)
}

/// Creates an active user of `customer` in the user groups `groups` (none:
/// the customer's "Customer Users") and logs it in.
pub(crate) async fn user_in(
    server: &TestServer,
    creator: &Client,
    customer: &str,
    email: &str,
    groups: &[&str],
) -> (String, Client) {
    let id = creator
        .create_active_user_in(server, customer, email, groups)
        .await;
    (id, server.login(email, PASSWORD).await)
}

/// A tenant with customer A, B below it and a sibling of A; A's
/// administrator ("boss") and plain user ("reader"); and another tenant.
struct Subtree {
    server: TestServer,
    admin: Client,
    other: Client,
    a: String,
    b: String,
    sibling: String,
    boss: Client,
    reader: Client,
}

impl Subtree {
    async fn start() -> Subtree {
        let server = TestServer::start().await;
        let admin = server.tenant_admin().await;
        let sys = server.sysadmin().await;
        let other = server.new_tenant(&sys, "Other", "admin@other.io").await;
        let a = id(&admin.create_customer("A").await);
        let b = id(&admin
            .post_ok(
                "/api/customer",
                json!({"title": "B", "ownerId": customer_ref(&a)}),
            )
            .await);
        let sibling = id(&admin.create_customer("Sibling").await);
        let admins = user_group(&admin, &a, "Customer Administrators").await;
        let (_, boss) = user_in(&server, &admin, &a, "boss@a.io", &[&admins]).await;
        let (_, reader) = user_in(&server, &admin, &a, "reader@a.io", &[]).await;
        Subtree {
            server,
            admin,
            other: other.client,
            a,
            b,
            sibling,
            boss,
            reader,
        }
    }
}

#[tokio::test]
async fn a_customer_administrator_manages_its_subtree_and_nothing_else() {
    let Subtree {
        server,
        admin,
        other,
        a,
        b,
        sibling,
        boss,
        reader,
    } = Subtree::start().await;
    let foreign = id(&other.create_customer("Foreign").await);

    // Inside its subtree: creates a sub-customer, its user, and edits and
    // deletes below it.
    let a2 = boss
        .post_ok(
            "/api/customer",
            json!({"title": "A2", "ownerId": customer_ref(&a)}),
        )
        .await;
    assert_eq!(a2["ownerId"]["id"], a.as_str());
    let a2 = id(&a2);
    let (_, a2_user) = user_in(&server, &boss, &a2, "user@a2.io", &[]).await;
    let mut b_edit = boss.get_ok(&format!("/api/customer/{b}")).await;
    b_edit["title"] = json!("B renamed");
    boss.post_ok("/api/customer", b_edit).await;
    let group = boss
        .post_ok(
            "/api/entityGroup",
            json!({"name": "Field", "type": "CUSTOMER", "ownerId": customer_ref(&a)}),
        )
        .await;
    assert_eq!(group["ownerId"]["id"], a.as_str());
    // Its list of customers: the subtree below its own.
    let page = boss
        .get_ok("/api/customers?pageSize=50&page=0&sortProperty=title")
        .await;
    let titles: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["title"].as_str())
        .collect();
    assert_eq!(titles, ["A2", "B renamed"]);

    // Its own customer: read, but changed only from above.
    boss.get_ok(&format!("/api/customer/{a}")).await;
    boss.delete_err(&format!("/api/customer/{a}"), 403, 20)
        .await;
    let mut a_edit = boss.get_ok(&format!("/api/customer/{a}")).await;
    a_edit["title"] = json!("Mine now");
    boss.post_err("/api/customer", a_edit, 403, 20).await;
    // Nor does it delete itself, leaving A unmanaged.
    let me = id(&boss.get_ok("/api/auth/user").await);
    boss.delete_err(&format!("/api/user/{me}"), 400, 31).await;
    boss.get_ok("/api/auth/user").await;

    // Outside: the sibling, the tenant level, tenant administrators.
    boss.get_err(&format!("/api/customer/{sibling}"), 403, 20)
        .await;
    boss.post_err(
        "/api/customer",
        json!({"title": "Under sibling", "ownerId": customer_ref(&sibling)}),
        403,
        20,
    )
    .await;
    boss.post_err("/api/customer", json!({"title": "Top"}), 403, 20)
        .await;
    boss.post_err(
        "/api/user?sendActivationMail=false",
        json!({"email": "x@a.io", "authority": "TENANT_ADMIN", "customerId": customer_ref(&a)}),
        403,
        20,
    )
    .await;
    boss.post_err(
        "/api/user?sendActivationMail=false",
        json!({"email": "y@s.io", "authority": "CUSTOMER_USER", "customerId": customer_ref(&sibling)}),
        403,
        20,
    )
    .await;
    boss.get_err("/api/customerInfos/all?pageSize=10&page=0", 403, 20)
        .await;
    // Another tenant's customer is not even there.
    boss.get_err(&format!("/api/customer/{foreign}"), 404, 32)
        .await;

    // A customer user reads; a sub-customer's user reads only its own.
    reader.get_ok(&format!("/api/customer/{a}")).await;
    reader.get_ok(&format!("/api/customer/{b}")).await;
    reader
        .post_err(
            "/api/customer",
            json!({"title": "Nope", "ownerId": customer_ref(&a)}),
            403,
            20,
        )
        .await;
    a2_user.get_ok(&format!("/api/customer/{a2}")).await;
    a2_user
        .get_err(&format!("/api/customer/{a}"), 403, 20)
        .await;

    // What they may do, as the PE UI asks it.
    let mine = boss.get_ok("/api/permissions/allowedPermissions").await;
    assert_eq!(
        mine["userPermissions"]["genericPermissions"]["ALL"],
        json!(["ALL"])
    );
    assert_eq!(mine["userOwnerId"]["id"], a.as_str());
    let read_users = &mine["userPermissions"]["readEntityPermissions"]["USER"];
    assert_eq!(read_users["hasGenericRead"], true, "{mine}");
    let theirs = reader.get_ok("/api/permissions/allowedPermissions").await;
    let generic = &theirs["userPermissions"]["genericPermissions"];
    assert!(generic.get("ALL").is_none(), "{generic}");
    assert_eq!(generic["CUSTOMER"][0], "READ");
    let read = &theirs["userPermissions"]["readEntityPermissions"];
    assert_eq!(read["USER"]["hasGenericRead"], false, "{theirs}");
    assert_eq!(read["CUSTOMER"]["hasGenericRead"], true, "{theirs}");

    // Deleting the sub-customer it made: gone, with its user.
    boss.delete_ok(&format!("/api/customer/{a2}")).await;
    admin.get_err(&format!("/api/customer/{a2}"), 404, 32).await;
}

#[tokio::test]
async fn group_permissions_grant_and_revoke_rights() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let sys = server.sysadmin().await;
    let other = server.new_tenant(&sys, "Other", "admin@other.io").await;
    let c = id(&admin.create_customer("C").await);
    let sibling = id(&admin.create_customer("Sibling").await);

    // A user group of C with no role: its user sees nothing of C.
    let auditors = admin
        .post_ok(
            "/api/entityGroup",
            json!({"name": "Auditors", "type": "USER", "ownerId": customer_ref(&c)}),
        )
        .await;
    let auditors = id(&auditors);
    let (_, auditor) = user_in(&server, &admin, &c, "auditor@c.io", &[&auditors]).await;
    auditor
        .get_err(&format!("/api/customer/{c}"), 403, 20)
        .await;

    // Granted a role that reads customers: it reads C at once.
    let role = admin
        .post_ok(
            "/api/role",
            json!({"name": "Customer reader", "type": "GENERIC", "permissions": {"CUSTOMER": ["READ"]}}),
        )
        .await;
    let grant = admin
        .post_ok(
            "/api/groupPermission",
            json!({"userGroupId": group_ref(&auditors), "roleId": role["id"]}),
        )
        .await;
    assert_eq!(grant["name"], "Customer reader");
    auditor.get_ok(&format!("/api/customer/{c}")).await;
    auditor
        .get_err(&format!("/api/customer/{sibling}"), 403, 20)
        .await;
    let held = admin
        .get_ok(&format!("/api/userGroup/{auditors}/groupPermissions"))
        .await;
    assert_eq!(held.as_array().map(Vec::len), Some(1));
    assert_eq!(held[0]["role"]["name"], "Customer reader");
    assert_eq!(held[0]["userGroupName"], "Auditors");

    // A role in use stays; revoked, the right goes with it.
    admin
        .delete_err(&format!("/api/role/{}", id(&role)), 400, 31)
        .await;
    admin
        .delete_ok(&format!("/api/groupPermission/{}", id(&grant)))
        .await;
    auditor
        .get_err(&format!("/api/customer/{c}"), 403, 20)
        .await;
    admin.delete_ok(&format!("/api/role/{}", id(&role))).await;

    // Every customer starts with its default grants.
    let c_admins = user_group(&admin, &c, "Customer Administrators").await;
    let defaults = admin
        .get_ok(&format!("/api/userGroup/{c_admins}/groupPermissions"))
        .await;
    assert_eq!(defaults[0]["role"]["name"], "Customer Administrator");

    // A GROUP role over a device group: that group, not others.
    let devices = admin
        .post_ok(
            "/api/entityGroup",
            json!({"name": "Pumps", "type": "DEVICE", "ownerId": customer_ref(&c)}),
        )
        .await;
    let other_devices = admin
        .post_ok(
            "/api/entityGroup",
            json!({"name": "Valves", "type": "DEVICE", "ownerId": customer_ref(&c)}),
        )
        .await;
    let group_reader = admin
        .post_ok(
            "/api/role",
            json!({"name": "Group reader", "type": "GROUP", "permissions": ["READ"]}),
        )
        .await;
    admin
        .post_ok(
            "/api/groupPermission",
            json!({"userGroupId": group_ref(&auditors), "roleId": group_reader["id"],
                   "entityGroupId": devices["id"]}),
        )
        .await;
    auditor
        .get_ok(&format!("/api/entityGroup/{}", id(&devices)))
        .await;
    auditor
        .get_err(&format!("/api/entityGroup/{}", id(&other_devices)), 403, 20)
        .await;
    // ... and the devices in it, as far as the role's operations go.
    let pump = id(&admin
        .post_ok(
            &format!("/api/device?entityGroupId={}", id(&devices)),
            json!({"name": "Pump"}),
        )
        .await);
    let valve = id(&admin
        .post_ok(
            &format!("/api/device?entityGroupId={}", id(&other_devices)),
            json!({"name": "Valve"}),
        )
        .await);
    assert_eq!(
        auditor.get_ok(&format!("/api/device/{pump}")).await["name"],
        "Pump"
    );
    auditor
        .get_err(&format!("/api/device/{valve}"), 403, 20)
        .await;
    let mut renamed = auditor.get_ok(&format!("/api/device/{pump}")).await;
    renamed["name"] = json!("Hijacked");
    auditor.post_err("/api/device", renamed, 403, 20).await;
    auditor
        .get_err(
            &format!("/api/plugins/telemetry/DEVICE/{pump}/values/timeseries"),
            403,
            20,
        )
        .await;
    // A group of the tenant's shared with C's group: its devices, read.
    let shared = admin
        .post_ok(
            "/api/entityGroup",
            json!({"name": "Shared", "type": "DEVICE"}),
        )
        .await;
    let meter = id(&admin
        .post_ok(
            &format!("/api/device?entityGroupId={}", id(&shared)),
            json!({"name": "Meter"}),
        )
        .await);
    auditor
        .get_err(&format!("/api/device/{meter}"), 403, 20)
        .await;
    // Shared as the PE UI shares it; a GENERIC role is no share.
    let share = |role: &Value| {
        format!(
            "/api/entityGroup/{}/{auditors}/{}/share",
            id(&shared),
            id(role)
        )
    };
    admin.post_ok(&share(&group_reader), json!({})).await;
    auditor.get_ok(&format!("/api/device/{meter}")).await;
    let generic_role = admin
        .post_ok(
            "/api/role",
            json!({"name": "Everything", "type": "GENERIC", "permissions": {"ALL": ["ALL"]}}),
        )
        .await;
    admin
        .post_err(&share(&generic_role), json!({}), 400, 31)
        .await;
    let not_a_verb = share(&group_reader).replace("/share", "/lend");
    admin.post_err(&not_a_verb, json!({}), 404, 32).await;
    auditor
        .post_err(&share(&group_reader), json!({}), 403, 20)
        .await;
    // Out of the group, out of reach.
    admin
        .post_ok(
            &format!("/api/entityGroup/{}/deleteEntities", id(&shared)),
            json!([meter]),
        )
        .await;
    auditor
        .get_err(&format!("/api/device/{meter}"), 403, 20)
        .await;
    let over = admin
        .get_ok(&format!(
            "/api/entityGroup/{}/groupPermissions",
            id(&devices)
        ))
        .await;
    assert_eq!(over[0]["entityGroupName"], "Pumps");

    // Refused, with nothing granted: a GENERIC role over a group, a GROUP
    // role over none, a group of devices as the user group, a sibling's
    // role, another tenant's user group, a customer user granting.
    let generic = admin
        .post_ok(
            "/api/role",
            json!({"name": "G", "type": "GENERIC", "permissions": {"ALL": ["READ"]}}),
        )
        .await;
    let sibling_role = admin
        .post_ok(
            "/api/role",
            json!({"name": "S", "type": "GENERIC", "permissions": {"ALL": ["READ"]},
                   "ownerId": customer_ref(&sibling)}),
        )
        .await;
    for (body, status, code) in [
        (
            json!({"userGroupId": group_ref(&auditors), "roleId": generic["id"], "entityGroupId": devices["id"]}),
            400,
            31,
        ),
        (
            json!({"userGroupId": group_ref(&auditors), "roleId": group_reader["id"]}),
            400,
            31,
        ),
        (
            json!({"userGroupId": devices["id"], "roleId": generic["id"]}),
            400,
            31,
        ),
        (
            json!({"userGroupId": group_ref(&auditors), "roleId": sibling_role["id"]}),
            400,
            31,
        ),
        (
            json!({"userGroupId": group_ref(&auditors), "roleId": {"entityType": "ROLE", "id": "5c1bb1e0-0000-11ef-8000-000000000000"}}),
            404,
            32,
        ),
    ] {
        admin
            .post_err("/api/groupPermission", body, status, code)
            .await;
    }
    let held = admin
        .get_ok(&format!("/api/userGroup/{auditors}/groupPermissions"))
        .await;
    // The two GROUP grants (its devices, the tenant's shared ones) only.
    assert_eq!(held.as_array().map(Vec::len), Some(2));
    other
        .client
        .post_err(
            "/api/groupPermission",
            json!({"userGroupId": group_ref(&auditors), "roleId": generic["id"]}),
            404,
            32,
        )
        .await;
    other
        .client
        .get_err(
            &format!("/api/userGroup/{auditors}/groupPermissions"),
            404,
            32,
        )
        .await;
    auditor
        .post_err(
            "/api/groupPermission",
            json!({"userGroupId": group_ref(&auditors), "roleId": generic["id"]}),
            403,
            20,
        )
        .await;
}

/// One field (`name`, `title`) of each entity on a page, sorted by it.
async fn on_page(client: &Client, path: &str, field: &str) -> Vec<String> {
    let page = client
        .get_ok(&format!("{path}?pageSize=50&page=0&sortProperty={field}"))
        .await;
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e[field].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_customer_administrator_creates_devices_and_assets_in_its_subtree() {
    let Subtree {
        admin,
        other,
        a,
        b,
        sibling,
        boss,
        reader,
        // Kept, so that the service runs to the end.
        server: _server,
    } = Subtree::start().await;
    let foreign_group = id(&other
        .post_ok(
            "/api/entityGroup",
            json!({"name": "Theirs", "type": "DEVICE"}),
        )
        .await);

    // Created with no group: its own customer's.
    let pump = boss
        .post_ok("/api/device", json!({"name": "Pump", "type": "pump"}))
        .await;
    assert_eq!(pump["customerId"]["id"], a.as_str());
    let pump = id(&pump);
    let plant = boss
        .post_ok("/api/asset", json!({"name": "Plant", "type": "plant"}))
        .await;
    assert_eq!(plant["customerId"]["id"], a.as_str());
    // Into a group of the customer below: owned there, and a member.
    let b_valves = id(&boss
        .post_ok(
            "/api/entityGroup",
            json!({"name": "Valves", "type": "DEVICE", "ownerId": customer_ref(&b)}),
        )
        .await);
    let valve = boss
        .post_ok(
            &format!("/api/device?entityGroupId={b_valves}"),
            json!({"name": "Valve", "type": "valve"}),
        )
        .await;
    assert_eq!(valve["customerId"]["id"], b.as_str());
    let members = boss
        .get_ok(&format!(
            "/api/entityGroup/{b_valves}/entities?pageSize=10&page=0"
        ))
        .await;
    assert_eq!(members["totalElements"], 1, "{members}");
    let valve = id(&valve);
    // Its devices read and change like the tenant administrator's, the
    // token included; the customer's users read them.
    let creds = boss
        .get_ok(&format!("/api/device/{pump}/credentials"))
        .await;
    assert!(
        creds["credentialsId"]
            .as_str()
            .is_some_and(|t| t.len() == 20)
    );
    boss.post_ok(&format!("/api/customer/{b}/device/{pump}"), json!({}))
        .await;
    assert_eq!(
        on_page(&reader, &format!("/api/customer/{a}/devices"), "name").await,
        Vec::<String>::new()
    );
    assert_eq!(
        on_page(&admin, &format!("/api/customer/{b}/devices"), "name").await,
        ["Pump", "Valve"]
    );
    boss.post_ok(&format!("/api/customer/{a}/device/{pump}"), json!({}))
        .await;
    reader.get_ok(&format!("/api/device/{pump}")).await;
    assert_eq!(
        on_page(&reader, &format!("/api/customer/{a}/assets"), "name").await,
        ["Plant"]
    );

    // Refused, and nothing made or moved: a plain user creating, creating
    // into a sibling's group or another tenant's, giving its device to a
    // sibling or to the tenant, taking one from the tenant.
    reader
        .post_err("/api/device", json!({"name": "Mine"}), 403, 20)
        .await;
    let s_group = id(&admin
        .post_ok(
            "/api/entityGroup",
            json!({"name": "S", "type": "DEVICE", "ownerId": customer_ref(&sibling)}),
        )
        .await);
    boss.post_err(
        &format!("/api/device?entityGroupId={s_group}"),
        json!({"name": "Planted"}),
        403,
        20,
    )
    .await;
    boss.post_err(
        &format!("/api/device?entityGroupId={foreign_group}"),
        json!({"name": "Planted"}),
        404,
        32,
    )
    .await;
    boss.post_err(
        &format!("/api/customer/{sibling}/device/{pump}"),
        json!({}),
        403,
        20,
    )
    .await;
    boss.delete_err(&format!("/api/customer/device/{valve}"), 403, 20)
        .await;
    let tenants = admin
        .create_device("Tenant's", "tenants-token", false)
        .await;
    boss.post_err(
        &format!("/api/customer/{a}/device/{tenants}"),
        json!({}),
        403,
        20,
    )
    .await;
    assert!(
        on_page(&admin, &format!("/api/customer/{sibling}/devices"), "name")
            .await
            .is_empty()
    );
    assert_eq!(
        on_page(&admin, "/api/tenant/devices", "name").await,
        ["Pump", "Tenant's", "Valve"]
    );
    assert_eq!(
        on_page(&admin, &format!("/api/customer/{a}/devices"), "name").await,
        ["Pump"]
    );
}

#[tokio::test]
async fn attributes_and_telemetry_are_granted_apart() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let c = id(&admin.create_customer("C").await);
    let watchers = id(&admin
        .post_ok(
            "/api/entityGroup",
            json!({"name": "Watchers", "type": "USER", "ownerId": customer_ref(&c)}),
        )
        .await);
    let role = admin
        .post_ok(
            "/api/role",
            json!({"name": "Telemetry only", "type": "GENERIC",
                   "permissions": {"DEVICE": ["READ_TELEMETRY"]}}),
        )
        .await;
    admin
        .post_ok(
            "/api/groupPermission",
            json!({"userGroupId": group_ref(&watchers), "roleId": role["id"]}),
        )
        .await;
    let (_, watcher) = user_in(&server, &admin, &c, "watcher@c.io", &[&watchers]).await;
    let device = admin.create_device("Meter", "meter-token", false).await;
    admin
        .post_ok(&format!("/api/customer/{c}/device/{device}"), json!({}))
        .await;
    let data = format!("/api/plugins/telemetry/DEVICE/{device}");
    admin
        .post_ok(&format!("{data}/timeseries/ANY"), json!({"kwh": 12}))
        .await;
    admin
        .post_ok(
            &format!("{data}/attributes/SERVER_SCOPE"),
            json!({"site": "north"}),
        )
        .await;

    let latest = watcher
        .get_ok(&format!("{data}/values/timeseries?keys=kwh"))
        .await;
    assert_eq!(latest["kwh"][0]["value"], "12");
    watcher
        .get_err(&format!("{data}/values/attributes"), 403, 20)
        .await;
    watcher
        .post_err(
            &format!("{data}/timeseries/ANY"),
            json!({"kwh": 0}),
            403,
            20,
        )
        .await;
    watcher
        .post_err(
            &format!("{data}/attributes/SERVER_SCOPE"),
            json!({"site": "south"}),
            403,
            20,
        )
        .await;
    // Nor the device itself: reading its data is not reading it.
    watcher
        .get_err(&format!("/api/device/{device}"), 403, 20)
        .await;
    let site = admin.get_ok(&format!("{data}/values/attributes")).await;
    assert_eq!(site[0]["value"], "north");
}

#[tokio::test]
async fn dashboards_are_owned_and_change_owner() {
    let Subtree {
        admin,
        a,
        b,
        sibling,
        boss,
        reader,
        server: _server,
        ..
    } = Subtree::start().await;
    let owner =
        |kind: &str, owner: &str, id: &str| format!("/api/owner/{kind}/{owner}/DASHBOARD/{id}");

    // Its own: owned by A, read by A's users, listed with A's and in A's "All".
    let mine = boss
        .post_ok("/api/dashboard", json!({"title": "Mine"}))
        .await;
    assert_eq!(mine["customerId"]["id"], a.as_str());
    let mine = id(&mine);
    reader.get_ok(&format!("/api/dashboard/{mine}")).await;
    let all = admin
        .get_ok(&format!("/api/entityGroup/CUSTOMER/{a}/DASHBOARD/All"))
        .await;
    let members = admin
        .get_ok(&format!(
            "/api/entityGroup/{}/entities?pageSize=10&page=0",
            id(&all)
        ))
        .await;
    assert_eq!(members["data"][0]["name"], "Mine", "{members}");
    // Into a group of B: B's.
    let b_boards = id(&boss
        .post_ok(
            "/api/entityGroup",
            json!({"name": "Boards", "type": "DASHBOARD", "ownerId": customer_ref(&b)}),
        )
        .await);
    let bs = boss
        .post_ok(
            &format!("/api/dashboard?entityGroupId={b_boards}"),
            json!({"title": "B's"}),
        )
        .await;
    assert_eq!(bs["customerId"]["id"], b.as_str());
    let bs = id(&bs);

    // The tenant's, assigned to A: read there, never changed through it.
    let shared = id(&admin
        .post_ok("/api/dashboard", json!({"title": "Shared"}))
        .await);
    admin
        .post_ok(&format!("/api/customer/{a}/dashboard/{shared}"), json!({}))
        .await;
    assert_eq!(
        on_page(&reader, &format!("/api/customer/{a}/dashboards"), "title").await,
        ["Mine", "Shared"]
    );
    let mut edit = boss.get_ok(&format!("/api/dashboard/{shared}")).await;
    edit["title"] = json!("Hijacked");
    boss.post_err("/api/dashboard", edit, 403, 20).await;
    boss.delete_err(&format!("/api/dashboard/{shared}"), 403, 20)
        .await;

    // Changing owner: inside its subtree only; sharing likewise.
    boss.post_ok(&owner("CUSTOMER", &b, &mine), json!({})).await;
    // A lists it no more: its owner's index followed it.
    assert_eq!(
        on_page(&admin, &format!("/api/customer/{a}/dashboards"), "title").await,
        ["Shared"]
    );
    assert_eq!(
        boss.get_ok(&format!("/api/dashboard/{mine}")).await["customerId"]["id"],
        b.as_str()
    );
    boss.post_err(&owner("CUSTOMER", &sibling, &mine), json!({}), 403, 20)
        .await;
    let tenant = admin.get_ok("/api/auth/user").await["tenantId"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    boss.post_err(&owner("TENANT", &tenant, &mine), json!({}), 403, 20)
        .await;
    boss.post_err(
        &format!("/api/customer/{sibling}/dashboard/{mine}"),
        json!({}),
        403,
        20,
    )
    .await;
    assert!(
        on_page(
            &admin,
            &format!("/api/customer/{sibling}/dashboards"),
            "title"
        )
        .await
        .is_empty()
    );

    // B deleted: its dashboards are not lost, they go to A, and the audit
    // log says so.
    admin.delete_ok(&format!("/api/customer/{b}")).await;
    for d in [&mine, &bs] {
        let kept = admin.get_ok(&format!("/api/dashboard/{d}")).await;
        assert_eq!(kept["customerId"]["id"], a.as_str());
    }
    let log = admin
        .get_ok(&format!(
            "/api/audit/logs/entity/DASHBOARD/{bs}?pageSize=10&page=0&actionTypes=CHANGE_OWNER"
        ))
        .await;
    assert_eq!(
        log["data"][0]["actionData"]["targetOwnerId"]["id"],
        a.as_str(),
        "{log}"
    );
}

#[tokio::test]
async fn a_customer_user_changes_owner_with_its_rights() {
    let Subtree {
        server,
        admin,
        other,
        a,
        b,
        sibling,
        boss,
        reader,
    } = Subtree::start().await;
    let me = id(&reader.get_ok("/api/auth/user").await);
    let owner = |kind: &str, owner: &str| format!("/api/owner/{kind}/{owner}/USER/{me}");
    let users_of = |c: &str| format!("/api/customer/{c}/users");

    // A's administrator moves its plain user down to B: B's user now,
    // in B's "Customer Users", and no longer reading A.
    boss.post_ok(&owner("CUSTOMER", &b), json!({})).await;
    let moved = admin.get_ok(&format!("/api/user/{me}")).await;
    assert_eq!(moved["customerId"]["id"], b.as_str());
    assert_eq!(
        on_page(&admin, &users_of(&b), "email").await,
        ["reader@a.io"]
    );
    assert_eq!(on_page(&admin, &users_of(&a), "email").await, ["boss@a.io"]);
    let b_users = user_group(&admin, &b, "Customer Users").await;
    let groups = admin.get_ok(&format!("/api/entityGroups/USER/{me}")).await;
    let groups: Vec<String> = groups
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(groups.contains(&b_users), "{groups:?}");
    reader.get_ok(&format!("/api/customer/{b}")).await;
    reader.get_err(&format!("/api/customer/{a}"), 403, 20).await;

    // Refused: outside its subtree, to the tenant, a tenant administrator,
    // itself, another tenant's customer; nothing moved.
    boss.post_err(&owner("CUSTOMER", &sibling), json!({}), 403, 20)
        .await;
    let tenant = moved["tenantId"]["id"].as_str().unwrap().to_owned();
    admin
        .post_err(&owner("TENANT", &tenant), json!({}), 400, 31)
        .await;
    let admin_id = id(&admin.get_ok("/api/auth/user").await);
    admin
        .post_err(
            &format!("/api/owner/CUSTOMER/{a}/USER/{admin_id}"),
            json!({}),
            400,
            31,
        )
        .await;
    let boss_id = id(&boss.get_ok("/api/auth/user").await);
    boss.post_err(
        &format!("/api/owner/CUSTOMER/{b}/USER/{boss_id}"),
        json!({}),
        400,
        31,
    )
    .await;
    let foreign = id(&other.create_customer("Foreign").await);
    admin
        .post_err(&owner("CUSTOMER", &foreign), json!({}), 404, 32)
        .await;
    other
        .post_err(&owner("CUSTOMER", &foreign), json!({}), 404, 32)
        .await;
    assert_eq!(
        admin.get_ok(&format!("/api/user/{me}")).await["customerId"]["id"],
        b.as_str()
    );
    drop(server);
}

#[tokio::test]
async fn a_customer_administrator_reads_its_customers_audit_log_and_no_other() {
    let t = Subtree::start().await;
    let made = id(&t
        .boss
        .post_ok(
            "/api/customer",
            json!({"title": "Made by boss", "ownerId": customer_ref(&t.a)}),
        )
        .await);
    t.admin
        .post_ok(
            "/api/customer",
            json!({"title": "Below sibling", "ownerId": customer_ref(&t.sibling)}),
        )
        .await;

    // Its own log: the records under its customer (its users' logins).
    let own = t.boss.get_ok("/api/audit/logs?pageSize=100&page=0").await;
    let records = own["data"].as_array().expect("data");
    assert!(
        records
            .iter()
            .any(|r| r["actionType"] == "LOGIN" && r["userName"] == "boss@a.io"),
        "{own}"
    );
    for r in records {
        assert_eq!(r["customerId"]["id"], t.a.as_str(), "{r}");
    }
    // By subject, inside its subtree: a customer's records are under itself.
    let below = format!("/api/audit/logs/customer/{made}?pageSize=10&page=0");
    let below = t.boss.get_ok(&below).await;
    assert_eq!(below["data"][0]["actionType"], "ADDED", "{below}");
    assert_eq!(below["data"][0]["userName"], "boss@a.io", "{below}");
    let deeper = format!("/api/audit/logs/customer/{}?pageSize=10&page=0", t.b);
    assert_eq!(
        t.boss.get_ok(&deeper).await["data"][0]["entityId"]["id"],
        t.b.as_str()
    );
    let made_log = format!("/api/audit/logs/entity/CUSTOMER/{made}?pageSize=10&page=0");
    assert_eq!(t.boss.get_ok(&made_log).await["totalElements"], 1);

    // Outside it, or without the right: refused.
    for path in [
        format!("customer/{}", t.sibling),
        format!("entity/CUSTOMER/{}", t.sibling),
    ] {
        t.boss
            .get_err(
                &format!("/api/audit/logs/{path}?pageSize=10&page=0"),
                403,
                20,
            )
            .await;
    }
    t.reader
        .get_err("/api/audit/logs?pageSize=10&page=0", 403, 20)
        .await;
    t.reader
        .get_err(
            &format!("/api/audit/logs/customer/{}?pageSize=10&page=0", t.a),
            403,
            20,
        )
        .await;
    // The other tenant's administrator reads nothing of it.
    let foreign = t
        .other
        .get_ok(&format!(
            "/api/audit/logs/customer/{}?pageSize=10&page=0",
            t.a
        ))
        .await;
    assert_eq!(foreign["totalElements"], 0, "{foreign}");
    drop(t.server);
}
