//! Sharing entity groups (ThingsBoard Professional Edition): `POST
//! /api/entityGroup/{id}/share` with a `ShareGroupRequest` (to an owner's
//! "All" user group or to one user group, with listed roles or the
//! default read-only or write role), the shared groups in
//! `GET /api/entityGroups/{groupType}` (`includeShared`), `makePublic` and
//! `makePrivate`, and the refusals, after which nothing has changed. A
//! tenant with customer A, A1 below it and B beside it; A owns a device
//! group "Pumps" (two pumps) and a valve outside it; A1 has a user group
//! "Field"; and another tenant with customer Z.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use clientele_tests::{Client, TestServer, assert_error, customer_ref, id, reply};

use crate::customer_admins::{group_ref, user_group, user_in};
use crate::two_tenants::TwoTenants;

const PAGE: &str = "pageSize=50&page=0";

struct World {
    _server: TestServer,
    admin: Client,
    tenant: String,
    a: String,
    a1: String,
    b: String,
    /// A's group of devices, and what is in it and what is not.
    pumps: String,
    pump: String,
    pump2: String,
    valve: String,
    /// A1's user group "Field".
    field: String,
    /// A's administrator.
    boss: Client,
    /// A user of A1 in its "Customer Users" only, one in "Field" only, and
    /// one of B.
    a1_reader: Client,
    a1_field: Client,
    b_user: Client,
    other: Client,
    z: String,
}

impl World {
    async fn build() -> World {
        let TwoTenants {
            server,
            admin,
            tenant,
            a,
            a1,
            b,
            other,
            z,
            ..
        } = TwoTenants::build().await;
        let pumps = id(&admin
            .post_ok(
                "/api/entityGroup",
                json!({"name": "Pumps", "type": "DEVICE", "ownerId": customer_ref(&a)}),
            )
            .await);
        let device = |name: &'static str, group: Option<String>| {
            let admin = &admin;
            let path = match group {
                Some(g) => format!("/api/device?entityGroupId={g}"),
                None => "/api/device".to_owned(),
            };
            async move { id(&admin.post_ok(&path, json!({"name": name})).await) }
        };
        let pump = device("Pump", Some(pumps.clone())).await;
        let pump2 = device("Pump 2", Some(pumps.clone())).await;
        let valve = device("Valve", None).await;
        admin
            .post_ok(
                &format!("/api/owner/CUSTOMER/{a}/DEVICE/{valve}"),
                json!({}),
            )
            .await;
        let field = id(&admin
            .post_ok(
                "/api/entityGroup",
                json!({"name": "Field", "type": "USER", "ownerId": customer_ref(&a1)}),
            )
            .await);
        let a_admins = user_group(&admin, &a, "Customer Administrators").await;
        let (_, boss) = user_in(&server, &admin, &a, "boss@a.io", &[&a_admins]).await;
        let (_, a1_reader) = user_in(&server, &admin, &a1, "reader@a1.io", &[]).await;
        let (_, a1_field) = user_in(&server, &admin, &a1, "field@a1.io", &[&field]).await;
        let (_, b_user) = user_in(&server, &admin, &b, "user@b.io", &[]).await;
        World {
            _server: server,
            admin,
            tenant,
            a,
            a1,
            b,
            pumps,
            pump,
            pump2,
            valve,
            field,
            boss,
            a1_reader,
            a1_field,
            b_user,
            other: other.client,
            z,
        }
    }

    fn share_path(&self) -> String {
        format!("/api/entityGroup/{}/share", self.pumps)
    }

    /// The grants over "Pumps", as (user group name, role name), sorted.
    async fn grants(&self) -> Vec<(String, String)> {
        let list = self
            .admin
            .get_ok(&format!("/api/entityGroup/{}/groupPermissions", self.pumps))
            .await;
        let mut out: Vec<(String, String)> = list
            .as_array()
            .unwrap_or_else(|| panic!("not a list: {list}"))
            .iter()
            .map(|p| {
                let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
                (text(&p["userGroupName"]), text(&p["role"]["name"]))
            })
            .collect();
        out.sort();
        out
    }
}

/// Whether `client` may read the device, and may rename it.
async fn reach(client: &Client, device: &str) -> (bool, bool) {
    let (status, found) = client.get(&format!("/api/device/{device}")).await;
    if status != 200 {
        assert_eq!(status, 403, "{found}");
        return (false, false);
    }
    let mut renamed = found.clone();
    renamed["name"] = json!(format!("{} (renamed)", found["name"].as_str().unwrap()));
    let (status, body) = client.post("/api/device", renamed).await;
    assert!(
        status == 200 || (status == 403 && body["errorCode"] == 20),
        "{status} {body}"
    );
    if status == 200 {
        // Back as it was, for the next question.
        let mut back = body.clone();
        back["name"] = found["name"].clone();
        client.post_ok("/api/device", back).await;
    }
    (true, status == 200)
}

fn names(groups: &Value) -> Vec<String> {
    groups
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {groups}"))
        .iter()
        .map(|g| g["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn a_group_shared_with_a_sub_customers_users_is_theirs_to_read_or_write_and_nothing_more() {
    let w = World::build().await;
    for (who, client) in [
        ("A1's reader", &w.a1_reader),
        ("A1's field user", &w.a1_field),
    ] {
        assert_eq!(reach(client, &w.pump).await, (false, false), "{who}");
    }

    // A's administrator shares its pumps with every user of A1, to read.
    let shared = w
        .boss
        .post_ok(
            &w.share_path(),
            json!({"ownerId": customer_ref(&w.a1), "allUserGroup": true, "readElseWrite": true}),
        )
        .await;
    assert_eq!(shared, Value::Null, "200 with an empty body");
    assert_eq!(
        w.grants().await,
        [("All".to_owned(), "Entity Group Read-only User".to_owned())]
    );
    // The default role is the sharer's owner's: A's, a GROUP role.
    let over = w
        .boss
        .get_ok(&format!("/api/entityGroup/{}/groupPermissions", w.pumps))
        .await;
    let role = &over[0]["role"];
    assert_eq!(role["type"], "GROUP");
    assert_eq!(role["ownerId"], customer_ref(&w.a));
    assert_eq!(
        role["permissions"],
        json!([
            "READ",
            "RPC_CALL",
            "READ_CREDENTIALS",
            "READ_ATTRIBUTES",
            "READ_TELEMETRY"
        ])
    );
    assert_eq!(over[0]["userGroupOwnerId"], customer_ref(&w.a1));
    // Every user of A1 reads the pumps, changes none, and reaches nothing
    // else of A's; B's user gets nothing.
    for (who, client) in [
        ("A1's reader", &w.a1_reader),
        ("A1's field user", &w.a1_field),
    ] {
        assert_eq!(reach(client, &w.pump).await, (true, false), "{who}");
        assert_eq!(reach(client, &w.pump2).await, (true, false), "{who}");
        assert_eq!(reach(client, &w.valve).await, (false, false), "{who}");
        let members = client
            .get_ok(&format!("/api/entityGroup/{}/devices?{PAGE}", w.pumps))
            .await;
        assert_eq!(members["totalElements"], 2, "{who}: {members}");
        client
            .get_err(&format!("/api/customer/{}", w.a), 403, 20)
            .await;
        let may = |op: &str| format!("/api/permission/DEVICE/{}/{op}", w.pump);
        assert_eq!(client.get_ok(&may("READ")).await, json!(true), "{who}");
        assert_eq!(client.get_ok(&may("WRITE")).await, json!(false), "{who}");
    }
    assert_eq!(reach(&w.b_user, &w.pump).await, (false, false));
    // The PE UI's read maps: the shared group, besides what roles read
    // everywhere (their own customer's devices, not users).
    let allowed = w
        .a1_reader
        .get_ok("/api/permissions/allowedPermissions")
        .await;
    let perms = &allowed["userPermissions"];
    for map in [
        "readEntityPermissions",
        "readTsPermissions",
        "readGroupPermissions",
    ] {
        let devices = &perms[map]["DEVICE"];
        assert_eq!(
            devices["entityGroupIds"],
            json!([group_ref(&w.pumps)]),
            "{map}: {perms}"
        );
    }
    assert_eq!(
        perms["readEntityPermissions"]["DEVICE"]["hasGenericRead"],
        true
    );
    assert_eq!(
        perms["readEntityPermissions"]["USER"]["hasGenericRead"],
        false
    );
    assert_eq!(
        perms["readEntityPermissions"]["USER"]["entityGroupIds"],
        json!([])
    );
    let theirs = w.b_user.get_ok("/api/permissions/allowedPermissions").await;
    assert_eq!(
        theirs["userPermissions"]["readEntityPermissions"]["DEVICE"]["entityGroupIds"],
        json!([])
    );

    // Shared with one user group, to write: its users change the pumps
    // (and nothing else); the others still only read.
    w.boss
        .post_ok(
            &w.share_path(),
            json!({"userGroupId": group_ref(&w.field), "readElseWrite": false}),
        )
        .await;
    assert_eq!(reach(&w.a1_field, &w.pump).await, (true, true));
    assert_eq!(reach(&w.a1_field, &w.valve).await, (false, false));
    assert_eq!(reach(&w.a1_reader, &w.pump).await, (true, false));
    // Listed roles, each once: A's GROUP role reading telemetry.
    let telemetry = w
        .boss
        .post_ok(
            "/api/role",
            json!({"name": "Telemetry", "type": "GROUP", "permissions": ["READ_TELEMETRY"]}),
        )
        .await;
    let readers = user_group(&w.admin, &w.a1, "Customer Users").await;
    w.boss
        .post_ok(
            &w.share_path(),
            json!({"userGroupId": group_ref(&readers), "roleIds": [telemetry["id"], telemetry["id"]]}),
        )
        .await;
    assert_eq!(
        w.grants().await,
        [
            ("All".to_owned(), "Entity Group Read-only User".to_owned()),
            ("Customer Users".to_owned(), "Telemetry".to_owned()),
            ("Field".to_owned(), "Entity Group Write User".to_owned()),
        ]
    );
    // Each grant is in the audit log, as any grant is.
    let log = w
        .admin
        .get_ok("/api/audit/logs?pageSize=100&page=0&actionTypes=ADDED")
        .await;
    let granted: BTreeSet<String> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["entityId"]["entityType"] == "GROUP_PERMISSION")
        .map(|r| r["entityName"].as_str().unwrap_or_default().to_owned())
        .collect();
    for name in [
        "Entity Group Read-only User over Pumps",
        "Entity Group Write User over Pumps",
        "Telemetry over Pumps",
    ] {
        assert!(granted.contains(name), "{name} not in {granted:?}");
    }

    // The shared group is in A1's users' lists of device groups, once,
    // after their own; `includeShared=false` leaves it out; a page counts
    // it once.
    let listed = w.a1_reader.get_ok("/api/entityGroups/DEVICE").await;
    assert_eq!(names(&listed), ["All", "Pumps"]);
    assert_eq!(listed[1]["ownerIds"][0], customer_ref(&w.a));
    let explicit = w
        .a1_reader
        .get_ok("/api/entityGroups/DEVICE?includeShared=true")
        .await;
    assert_eq!(explicit, listed);
    let own = w
        .a1_reader
        .get_ok("/api/entityGroups/DEVICE?includeShared=false")
        .await;
    assert_eq!(names(&own), ["All"]);
    let page = w
        .a1_reader
        .get_ok(&format!(
            "/api/entityGroups/DEVICE?{PAGE}&includeShared=true"
        ))
        .await;
    assert_eq!(page["totalElements"], 2, "{page}");
    let found = w
        .a1_reader
        .get_ok(&format!("/api/entityGroups/DEVICE?{PAGE}&textSearch=pum"))
        .await;
    assert_eq!(names(&found["data"]), ["Pumps"]);
    w.a1_reader
        .get_err("/api/entityGroups/DEVICE?includeShared=maybe", 400, 31)
        .await;
    // Only the shares, as a list or a page; nothing for those without.
    let shared = w.a1_reader.get_ok("/api/entityGroups/DEVICE/shared").await;
    assert_eq!(shared, json!([listed[1]]));
    let shared_page = w
        .a1_reader
        .get_ok(&format!("/api/entityGroups/DEVICE/shared?{PAGE}"))
        .await;
    assert_eq!(shared_page["data"], shared, "{shared_page}");
    assert_eq!(shared_page["totalElements"], 1);
    for (who, client) in [("B's user", &w.b_user), ("the tenant", &w.admin)] {
        let none = client.get_ok("/api/entityGroups/DEVICE/shared").await;
        assert_eq!(none, json!([]), "{who}");
    }
    let no_users_shared = w.a1_reader.get_ok("/api/entityGroups/USER/shared").await;
    assert_eq!(no_users_shared, json!([]));
    w.a1_reader
        .get_err("/api/entityGroups/ROCKET/shared", 400, 31)
        .await;
    // A user whose only group roles are shares: its shared groups, or a
    // refusal when it asks for none.
    let field_list = w.a1_field.get_ok("/api/entityGroups/DEVICE").await;
    assert_eq!(names(&field_list), ["Pumps"]);
    w.a1_field
        .get_err("/api/entityGroups/DEVICE?includeShared=false", 403, 20)
        .await;
    // Nobody else's lists change.
    assert_eq!(
        names(&w.b_user.get_ok("/api/entityGroups/DEVICE").await),
        ["All"]
    );
    let a_list = w.boss.get_ok("/api/entityGroups/DEVICE").await;
    assert_eq!(names(&a_list), ["All", "Pumps"]);
    let tenant_list = w.admin.get_ok("/api/entityGroups/DEVICE").await;
    assert_eq!(names(&tenant_list), ["All"]);
}

#[tokio::test]
async fn refused_shares_change_nothing() {
    let w = World::build().await;
    let generic = w
        .admin
        .post_ok(
            "/api/role",
            json!({"name": "Everything", "type": "GENERIC", "permissions": {"ALL": ["READ"]}}),
        )
        .await;
    let b_role = w
        .admin
        .post_ok(
            "/api/role",
            json!({"name": "B's", "type": "GROUP", "permissions": ["READ"], "ownerId": customer_ref(&w.b)}),
        )
        .await;
    let reader_role = w
        .admin
        .post_ok(
            "/api/role",
            json!({"name": "Reader", "type": "GROUP", "permissions": ["READ"]}),
        )
        .await;
    let z_users = user_group(&w.other, &w.z, "Customer Users").await;
    let a1_users = user_group(&w.admin, &w.a1, "Customer Users").await;
    let devices_of_a1 = id(&w
        .admin
        .get_ok(&format!("/api/entityGroup/all/CUSTOMER/{}/DEVICE", w.a1))
        .await);
    let a_users_group = id(&w
        .admin
        .get_ok(&format!("/api/entityGroup/all/CUSTOMER/{}/USER", w.a))
        .await);
    let roles_before = w.admin.get_ok("/api/roles?pageSize=100&page=0").await;
    let group_before = w
        .admin
        .get_ok(&format!("/api/entityGroup/{}", w.pumps))
        .await;
    let share = w.share_path();
    let to_a1 =
        json!({"ownerId": customer_ref(&w.a1), "allUserGroup": true, "readElseWrite": true});

    // Another tenant's group, owner or user group: not found.
    w.other.post_err(&share, to_a1.clone(), 404, 32).await;
    let other_tenant = w.other.get_ok("/api/auth/user").await["tenantId"]["id"].clone();
    for body in [
        json!({"ownerId": customer_ref(&w.z), "allUserGroup": true}),
        json!({"ownerId": {"entityType": "TENANT", "id": other_tenant}, "allUserGroup": true}),
        json!({"userGroupId": group_ref(&z_users)}),
    ] {
        w.admin.post_err(&share, body, 404, 32).await;
    }
    // Out of the caller's reach: forbidden.
    for client in [&w.a1_reader, &w.a1_field, &w.b_user] {
        client.post_err(&share, to_a1.clone(), 403, 20).await;
    }
    w.boss
        .post_err(
            &share,
            json!({"ownerId": customer_ref(&w.b), "allUserGroup": true}),
            403,
            20,
        )
        .await;
    w.boss
        .post_err(
            &share,
            json!({"ownerId": {"entityType": "TENANT", "id": w.tenant}, "allUserGroup": true}),
            403,
            20,
        )
        .await;
    // Roles: not a GROUP role, another owner's, unknown; a valid one next
    // to a refused one grants neither.
    for (roles, status, code) in [
        (json!([generic["id"]]), 400, 31),
        (json!([b_role["id"]]), 400, 31),
        (
            json!([{"entityType": "ROLE", "id": uuid::Uuid::new_v4()}]),
            404,
            32,
        ),
        (json!([reader_role["id"], generic["id"]]), 400, 31),
    ] {
        let body = json!({"userGroupId": group_ref(&a1_users), "roleIds": roles});
        w.admin.post_err(&share, body, status, code).await;
    }
    // Bad bodies, and groups that are no user group or no sharable group.
    for body in [
        json!({}),
        json!({"allUserGroup": true}),
        json!({"allUserGroup": true, "ownerId": {"entityType": "DEVICE", "id": w.pump}}),
        json!({"allUserGroup": "yes", "ownerId": customer_ref(&w.a1)}),
        json!({"userGroupId": group_ref(&a1_users), "roleIds": "Reader"}),
        json!("share"),
        // A device group as the user group: the default role it would
        // have used is not made either.
        json!({"userGroupId": group_ref(&devices_of_a1), "readElseWrite": true}),
    ] {
        w.admin.post_err(&share, body, 400, 31).await;
    }
    w.admin
        .post_err(
            &format!("/api/entityGroup/{a_users_group}/share"),
            to_a1.clone(),
            400,
            31,
        )
        .await;
    let raw = w
        .admin
        .request(reqwest::Method::POST, &share)
        .header("Content-Type", "application/json")
        .body("{not json");
    assert_error(&reply(raw).await, 400, 31);

    // Nothing changed: no grant, no role, the group as it was.
    assert!(w.grants().await.is_empty());
    assert_eq!(
        w.admin.get_ok("/api/roles?pageSize=100&page=0").await,
        roles_before
    );
    assert_eq!(
        w.admin
            .get_ok(&format!("/api/entityGroup/{}", w.pumps))
            .await,
        group_before
    );
    assert_eq!(reach(&w.a1_reader, &w.pump).await, (false, false));
}

#[tokio::test]
async fn a_group_goes_public_and_private_again() {
    let w = World::build().await;
    let lobby = id(&w
        .admin
        .post_ok(
            "/api/entityGroup",
            json!({"name": "Lobby", "type": "DASHBOARD", "additionalInfo": {"description": "screens"}}),
        )
        .await);
    let make = |group: &str, what: &str| format!("/api/entityGroup/{group}/{what}");
    let public_customers = |client: &Client| {
        let client = client.clone();
        async move {
            let page = client.get_ok(&format!("/api/customers?{PAGE}")).await;
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| c["additionalInfo"]["isPublic"] == true)
                .cloned()
                .collect::<Vec<Value>>()
        }
    };

    assert_eq!(
        w.admin
            .post_ok(&make(&lobby, "makePublic"), json!({}))
            .await,
        Value::Null
    );
    let g = w.admin.get_ok(&format!("/api/entityGroup/{lobby}")).await;
    assert_eq!(g["additionalInfo"]["isPublic"], true);
    assert_eq!(g["additionalInfo"]["description"], "screens");
    let public = g["additionalInfo"]["publicCustomerId"]
        .as_str()
        .unwrap()
        .to_owned();
    // The tenant's public customer: "Public", below the tenant, with its
    // "Public Users" holding the public group read-only.
    let customer = w.admin.get_ok(&format!("/api/customer/{public}")).await;
    assert_eq!(customer["title"], "Public");
    assert_eq!(customer["additionalInfo"]["isPublic"], true);
    assert_eq!(customer["ownerId"]["entityType"], "TENANT");
    let grants = w
        .admin
        .get_ok(&format!("/api/entityGroup/{lobby}/groupPermissions"))
        .await;
    assert_eq!(grants.as_array().unwrap().len(), 1, "{grants}");
    assert_eq!(grants[0]["isPublic"], true);
    assert_eq!(grants[0]["userGroupName"], "Public Users");
    assert_eq!(grants[0]["userGroupOwnerId"], customer_ref(&public));
    assert_eq!(grants[0]["role"]["name"], "Entity Group Public User");
    assert_eq!(
        grants[0]["role"]["permissions"],
        json!(["READ", "RPC_CALL", "READ_ATTRIBUTES", "READ_TELEMETRY"])
    );
    // That grant is the group's to take back, not a client's to change.
    let mut changed = grants[0].clone();
    changed["isPublic"] = json!(false);
    w.admin
        .post_err("/api/groupPermission", changed, 400, 31)
        .await;
    // Once public, not again; a second group uses the same public customer.
    w.admin
        .post_err(&make(&lobby, "makePublic"), json!({}), 400, 31)
        .await;
    let hall = id(&w
        .admin
        .post_ok(
            "/api/entityGroup",
            json!({"name": "Hall", "type": "DEVICE"}),
        )
        .await);
    w.admin.post_ok(&make(&hall, "makePublic"), json!({})).await;
    let hall_group = w.admin.get_ok(&format!("/api/entityGroup/{hall}")).await;
    assert_eq!(
        hall_group["additionalInfo"]["publicCustomerId"],
        public.as_str()
    );
    assert_eq!(public_customers(&w.admin).await.len(), 1);

    // Private again: the flag and the grant go; then public once more.
    assert_eq!(
        w.admin
            .post_ok(&make(&lobby, "makePrivate"), json!({}))
            .await,
        Value::Null
    );
    let g = w.admin.get_ok(&format!("/api/entityGroup/{lobby}")).await;
    assert_eq!(g["additionalInfo"]["isPublic"], false);
    assert_eq!(g["additionalInfo"]["publicCustomerId"], "");
    assert_eq!(g["additionalInfo"]["description"], "screens");
    let grants = w
        .admin
        .get_ok(&format!("/api/entityGroup/{lobby}/groupPermissions"))
        .await;
    assert_eq!(grants, json!([]));
    w.admin
        .post_err(&make(&lobby, "makePrivate"), json!({}), 400, 31)
        .await;
    w.admin
        .post_ok(&make(&lobby, "makePublic"), json!({}))
        .await;
    let again = w.admin.get_ok(&format!("/api/entityGroup/{lobby}")).await;
    assert_eq!(again["additionalInfo"]["publicCustomerId"], public.as_str());
    // Each step is in the group's audit log.
    let log = w
        .admin
        .get_ok(&format!(
            "/api/audit/logs/entity/ENTITY_GROUP/{lobby}?{PAGE}"
        ))
        .await;
    let actions: Vec<&str> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["actionType"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["MADE_PUBLIC", "MADE_PRIVATE", "MADE_PUBLIC", "ADDED"]
    );

    // A customer's group is made public by its own users: its public
    // customer is "[A] Public", below A.
    w.boss
        .post_ok(&make(&w.pumps, "makePublic"), json!({}))
        .await;
    let pumps = w
        .admin
        .get_ok(&format!("/api/entityGroup/{}", w.pumps))
        .await;
    let a_public = pumps["additionalInfo"]["publicCustomerId"]
        .as_str()
        .unwrap();
    let a_public = w.admin.get_ok(&format!("/api/customer/{a_public}")).await;
    assert_eq!(a_public["title"], "[A] Public");
    assert_eq!(a_public["ownerId"], customer_ref(&w.a));
    w.boss
        .post_ok(&make(&w.pumps, "makePrivate"), json!({}))
        .await;

    // Refused, changing nothing: not the group owner's own user (the
    // tenant's administrator with A's group; A's with the tenant's), no
    // right to change the group, another tenant, a group that can't go
    // public.
    let customers = w.admin.get_ok(&format!("/api/customers?{PAGE}")).await;
    let before = [
        w.admin
            .get_ok(&format!("/api/entityGroup/{}", w.pumps))
            .await,
        w.admin.get_ok(&format!("/api/entityGroup/{hall}")).await,
    ];
    let vip = id(&w
        .admin
        .post_ok(
            "/api/entityGroup",
            json!({"name": "VIP", "type": "CUSTOMER"}),
        )
        .await);
    let tenant_users = id(&w
        .admin
        .get_ok(&format!(
            "/api/entityGroup/TENANT/{}/USER/Tenant%20Users",
            w.tenant
        ))
        .await);
    for (client, group, what, status, code) in [
        (&w.admin, w.pumps.as_str(), "makePublic", 403, 20),
        (&w.boss, hall.as_str(), "makePrivate", 403, 20),
        (&w.a1_reader, w.pumps.as_str(), "makePublic", 403, 20),
        (&w.b_user, hall.as_str(), "makePrivate", 403, 20),
        (&w.other, w.pumps.as_str(), "makePublic", 404, 32),
        (&w.other, hall.as_str(), "makePrivate", 404, 32),
        (&w.admin, vip.as_str(), "makePublic", 400, 31),
        (&w.admin, tenant_users.as_str(), "makePublic", 400, 31),
    ] {
        client
            .post_err(&make(group, what), json!({}), status, code)
            .await;
    }
    assert_eq!(
        [
            w.admin
                .get_ok(&format!("/api/entityGroup/{}", w.pumps))
                .await,
            w.admin.get_ok(&format!("/api/entityGroup/{hall}")).await,
        ],
        before
    );
    assert_eq!(
        w.admin.get_ok(&format!("/api/customers?{PAGE}")).await,
        customers
    );
}

#[tokio::test]
async fn a_shared_device_groups_alarms_are_read_through_the_share_and_handled_through_a_write_share()
 {
    let w = World::build().await;
    let raised = w
        .admin
        .post_ok(
            "/api/alarm",
            json!({
                "type": "Overheating",
                "originator": {"entityType": "DEVICE", "id": w.pump},
                "severity": "MAJOR",
            }),
        )
        .await;
    let alarm = id(&raised);
    let (one, info, ack, clear) = (
        format!("/api/alarm/{alarm}"),
        format!("/api/alarm/info/{alarm}"),
        format!("/api/alarm/{alarm}/ack"),
        format!("/api/alarm/{alarm}/clear"),
    );
    let of_pump = format!("/api/alarm/DEVICE/{}?{PAGE}", w.pump);
    let c = id(&w.admin.create_customer("C").await);
    let (_, c_user) = user_in(&w._server, &w.admin, &c, "user@c.io", &[]).await;
    let acks = || async {
        let log = w
            .admin
            .get_ok("/api/audit/logs?pageSize=100&page=0&actionTypes=ALARM_ACK")
            .await;
        log["totalElements"].as_u64().unwrap()
    };

    // B owns nothing of A's: before any share, B's user is refused.
    w.b_user.get_err(&one, 403, 20).await;
    w.b_user.get_err(&of_pump, 403, 20).await;

    // The tenant administrator shares A's pumps with B's users, to read.
    w.admin
        .post_ok(
            &w.share_path(),
            json!({"ownerId": customer_ref(&w.b), "allUserGroup": true, "readElseWrite": true}),
        )
        .await;
    assert_eq!(w.b_user.get_ok(&one).await, raised);
    let described = w.b_user.get_ok(&info).await;
    assert_eq!(described["originatorName"], "Pump", "{described}");
    let listed = w.b_user.get_ok(&of_pump).await;
    assert_eq!(listed["totalElements"], 1, "{listed}");
    assert_eq!(listed["data"][0]["id"]["id"], alarm.as_str());
    assert_eq!(
        w.b_user
            .get_ok(&format!("/api/permission/ALARM/{alarm}/READ"))
            .await,
        json!(true)
    );
    // Reading is not handling; the valve, outside the group, stays out.
    w.b_user.post_err(&ack, json!({}), 403, 20).await;
    w.b_user.post_err(&clear, json!({}), 403, 20).await;
    w.b_user
        .get_err(&format!("/api/alarm/DEVICE/{}?{PAGE}", w.valve), 403, 20)
        .await;

    // A user of C, with no share, and another tenant's administrator.
    c_user.get_err(&one, 403, 20).await;
    c_user.get_err(&info, 403, 20).await;
    c_user.get_err(&of_pump, 403, 20).await;
    c_user.post_err(&ack, json!({}), 403, 20).await;
    w.other.get_err(&one, 404, 32).await;
    w.other.get_err(&info, 404, 32).await;
    w.other.post_err(&ack, json!({}), 404, 32).await;
    w.other.get_err(&of_pump, 404, 32).await;

    // Nothing changed.
    assert_eq!(w.admin.get_ok(&one).await, raised);
    assert_eq!(acks().await, 0);

    // Shared to write: B's user acknowledges it.
    w.admin
        .post_ok(
            &w.share_path(),
            json!({"ownerId": customer_ref(&w.b), "allUserGroup": true, "readElseWrite": false}),
        )
        .await;
    let acked = w.b_user.post_ok(&ack, json!({})).await;
    assert_eq!(acked["acknowledged"], true, "{acked}");
    assert_eq!(acked["status"], "ACTIVE_ACK", "{acked}");
    assert_eq!(w.admin.get_ok(&one).await["status"], "ACTIVE_ACK");
    assert_eq!(acks().await, 1);
    // C's user is still refused.
    c_user.post_err(&clear, json!({}), 403, 20).await;
    assert_eq!(w.admin.get_ok(&one).await["cleared"], false);
}

#[tokio::test]
async fn a_shared_all_group_reaches_what_its_owner_owns_now() {
    let w = World::build().await;
    let all = id(&w
        .admin
        .get_ok(&format!("/api/entityGroup/CUSTOMER/{}/DEVICE/All", w.a))
        .await);
    assert_eq!(reach(&w.b_user, &w.valve).await, (false, false));
    w.admin
        .post_ok(
            &format!("/api/entityGroup/{all}/share"),
            json!({"ownerId": customer_ref(&w.b), "allUserGroup": true, "readElseWrite": true}),
        )
        .await;
    // Everything A owns, in a named group or not, and nothing of A1's.
    for device in [&w.pump, &w.pump2, &w.valve] {
        assert_eq!(reach(&w.b_user, device).await, (true, false), "{device}");
    }
    let below = id(&w
        .admin
        .post_ok("/api/device", json!({"name": "Deep"}))
        .await);
    let move_to = |owner: String, device: &str| format!("/api/owner/{owner}/DEVICE/{device}");
    w.admin
        .post_ok(&move_to(format!("CUSTOMER/{}", w.a1), &below), json!({}))
        .await;
    assert_eq!(reach(&w.b_user, &below).await, (false, false));
    // Membership follows ownership: in when A gets it, out when it leaves.
    w.admin
        .post_ok(&move_to(format!("CUSTOMER/{}", w.a), &below), json!({}))
        .await;
    assert_eq!(reach(&w.b_user, &below).await, (true, false));
    w.admin
        .post_ok(
            &move_to(format!("TENANT/{}", w.tenant), &w.valve),
            json!({}),
        )
        .await;
    assert_eq!(reach(&w.b_user, &w.valve).await, (false, false));
    // The share gives nothing to A1's users or to the other tenant.
    assert_eq!(reach(&w.a1_reader, &w.pump).await, (false, false));
    w.other
        .get_err(&format!("/api/device/{}", w.pump), 404, 32)
        .await;
}
