//! The permission matrix, generated: for every kind of entity a victim
//! customer has, every endpoint that reads, changes or deletes it (or
//! creates under it), and every caller that is not its owner's — another
//! tenant's administrator, a sibling customer's administrator and user, the
//! administrator of a customer below it, and (for changes) its own
//! customer's plain user and a read-only user of the tenant ("Tenant
//! Users") — the answer is ThingsBoard's refusal: 403, code
//! 20 inside the tenant; from another tenant, exactly the answer the same
//! call gets with ids that exist nowhere (404, or ThingsBoard's 400 for
//! updating an unknown id), so another tenant's ids give nothing away.
//! The same callers find none of the victim's things in the lists of what
//! they may read, and the permission check (`/api/permission/...`) says
//! no to reading, changing and deleting each. Afterwards every victim
//! reads back unchanged.

use reqwest::Method;
use serde_json::{Value, json};

use clientele_tests::{Client, TestServer, customer_ref, id};

use crate::customer_admins::{group_ref, user_group, user_in};
use crate::tenant_users::tenant_reader;

/// What a caller may do to the victims, left out of its row.
#[derive(Clone, Copy, PartialEq)]
enum Exempt {
    Nothing,
    /// What the victim's own "Customer Users" may do.
    OwnReaders,
    /// Every read (GET): a tenant user reads the whole tenant.
    Reads,
}

/// An entity of the victim customer: how the tenant's administrator reads
/// it, and where it is saved.
struct Victim {
    kind: &'static str,
    read: String,
    save: &'static str,
    /// The field an update changes, and to what.
    field: &'static str,
    value: &'static str,
    /// The victim's own plain users may do everything here (alarms).
    readers_own: bool,
    /// Further endpoints about this entity: method, path, body, and whether
    /// the victim's own plain users may call it.
    more: Vec<(Method, String, Value, bool)>,
}

/// One cell of the matrix.
struct Call {
    what: String,
    method: Method,
    path: String,
    body: Value,
    /// The victim's own "Customer Users" may do this (reads, data, alarms).
    readers_may: bool,
}

fn calls(victims: &[Victim], current: &[Value]) -> Vec<Call> {
    let mut out = Vec::new();
    for (v, now) in victims.iter().zip(current) {
        let mut changed = now.clone();
        changed[v.field] = json!(v.value);
        let plain = [
            (Method::GET, v.read.clone(), Value::Null, true),
            (Method::POST, v.save.to_owned(), changed, false),
            (Method::DELETE, v.read.clone(), Value::Null, false),
        ];
        for (method, path, body, readers_may) in plain.into_iter().chain(v.more.iter().cloned()) {
            out.push(Call {
                what: format!("{} {method} {path}", v.kind),
                method,
                path,
                body,
                readers_may: readers_may || v.readers_own,
            });
        }
    }
    out
}

async fn answer(client: &Client, call: &Call) -> (u16, Value) {
    let req = client.request(call.method.clone(), &call.path);
    let req = if call.body.is_null() {
        req
    } else {
        req.json(&call.body)
    };
    let (status, body) = clientele_tests::reply(req).await;
    (status.as_u16(), body)
}

/// `call` with every id in `ids` replaced by one that exists nowhere, and
/// the replacements (real, nowhere).
fn ghost(call: &Call, ids: &[&str]) -> (Call, Vec<(String, String)>) {
    let (mut path, mut body) = (call.path.clone(), call.body.to_string());
    let mut swaps = Vec::new();
    for id in ids {
        let nowhere = uuid::Uuid::new_v4().to_string();
        path = path.replace(id, &nowhere);
        body = body.replace(id, &nowhere);
        swaps.push(((*id).to_owned(), nowhere));
    }
    let call = Call {
        what: call.what.clone(),
        method: call.method.clone(),
        path,
        body: serde_json::from_str(&body).expect("json"),
        readers_may: call.readers_may,
    };
    (call, swaps)
}

/// What a refusal says: status, code, message.
fn refusal(answer: &(u16, Value)) -> (u16, Value, Value) {
    let (status, body) = answer;
    (*status, body["errorCode"].clone(), body["message"].clone())
}

async fn read_all(admin: &Client, victims: &[Victim]) -> Vec<Value> {
    let mut out = Vec::new();
    for v in victims {
        out.push(admin.get_ok(&v.read).await);
    }
    out
}

#[tokio::test]
async fn nobody_but_the_owner_reads_or_changes_a_customers_things() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let sys = server.sysadmin().await;
    let other = server.new_tenant(&sys, "Other", "admin@other.io").await;

    let v = id(&admin.create_customer("Victim").await);
    let below = id(&admin
        .post_ok(
            "/api/customer",
            json!({"title": "Below", "ownerId": customer_ref(&v)}),
        )
        .await);
    let sibling = id(&admin.create_customer("Sibling").await);

    // The victim's things.
    let user = admin
        .post_ok(
            "/api/user?sendActivationMail=false",
            json!({"email": "victim@v.io", "authority": "CUSTOMER_USER", "customerId": customer_ref(&v)}),
        )
        .await;
    let user = id(&user);
    let device = admin
        .create_device("Victim's pump", "victim-pump", false)
        .await;
    admin
        .post_ok(&format!("/api/customer/{v}/device/{device}"), json!({}))
        .await;
    let asset = id(&admin
        .post_ok(
            "/api/asset",
            json!({"name": "Victim's plant", "type": "plant"}),
        )
        .await);
    admin
        .post_ok(&format!("/api/customer/{v}/asset/{asset}"), json!({}))
        .await;
    let dashboard = id(&admin
        .post_ok("/api/dashboard", json!({"title": "Victim's board"}))
        .await);
    admin
        .post_ok(
            &format!("/api/customer/{v}/dashboard/{dashboard}"),
            json!({}),
        )
        .await;
    let group = id(&admin
        .post_ok(
            "/api/entityGroup",
            json!({"name": "Victim's devices", "type": "DEVICE", "ownerId": customer_ref(&v)}),
        )
        .await);
    let role = id(&admin
        .post_ok("/api/role", json!({"name": "Victim's role", "type": "GENERIC", "permissions": {"DEVICE": ["READ"]}, "ownerId": customer_ref(&v)}))
        .await);
    let group_role = id(&admin
        .post_ok("/api/role", json!({"name": "Victim's group role", "type": "GROUP", "permissions": ["READ"], "ownerId": customer_ref(&v)}))
        .await);
    let v_admins = user_group(&admin, &v, "Customer Administrators").await;
    let grant = admin
        .get_ok(&format!("/api/userGroup/{v_admins}/groupPermissions"))
        .await;
    let grant = id(&grant[0]);
    let alarm = id(&admin
        .post_ok("/api/alarm", json!({"originator": {"entityType": "DEVICE", "id": device}, "type": "Overheat", "severity": "MAJOR"}))
        .await);
    let pages = "pageSize=10&page=0";
    let victims = vec![
        Victim {
            kind: "customer",
            read: format!("/api/customer/{v}"),
            save: "/api/customer",
            field: "title",
            value: "Hijacked",
            readers_own: false,
            more: vec![
                (
                    Method::GET,
                    format!("/api/customer/{v}/users?{pages}"),
                    Value::Null,
                    false,
                ),
                (
                    Method::GET,
                    format!("/api/customer/{v}/customerInfos?{pages}"),
                    Value::Null,
                    true,
                ),
                (
                    Method::GET,
                    format!("/api/customer/info/{v}"),
                    Value::Null,
                    true,
                ),
                (
                    Method::POST,
                    "/api/customer".into(),
                    json!({"title": "Planted", "ownerId": customer_ref(&v)}),
                    false,
                ),
                (
                    Method::POST,
                    "/api/entityGroup".into(),
                    json!({"name": "Planted", "type": "DEVICE", "ownerId": customer_ref(&v)}),
                    false,
                ),
                (
                    Method::POST,
                    "/api/role".into(),
                    json!({"name": "Planted", "type": "GENERIC", "permissions": {}, "ownerId": customer_ref(&v)}),
                    false,
                ),
                (
                    Method::POST,
                    "/api/user?sendActivationMail=false".into(),
                    json!({"email": "planted@v.io", "authority": "CUSTOMER_USER", "customerId": customer_ref(&v)}),
                    false,
                ),
            ],
        },
        Victim {
            kind: "user",
            read: format!("/api/user/{user}"),
            save: "/api/user?sendActivationMail=false",
            field: "firstName",
            value: "Hijacked",
            readers_own: false,
            more: vec![
                (
                    Method::GET,
                    format!("/api/user/{user}/activationLink"),
                    Value::Null,
                    false,
                ),
                (
                    Method::POST,
                    format!("/api/user/{user}/userCredentialsEnabled?userCredentialsEnabled=false"),
                    Value::Null,
                    false,
                ),
            ],
        },
        Victim {
            kind: "device",
            read: format!("/api/device/{device}"),
            save: "/api/device",
            field: "name",
            value: "Hijacked",
            readers_own: false,
            more: vec![
                (
                    Method::GET,
                    format!("/api/device/{device}/credentials"),
                    Value::Null,
                    false,
                ),
                (
                    Method::GET,
                    format!("/api/plugins/telemetry/DEVICE/{device}/values/timeseries"),
                    Value::Null,
                    true,
                ),
                (
                    Method::POST,
                    format!("/api/plugins/telemetry/DEVICE/{device}/timeseries/ANY"),
                    json!({"planted": 1}),
                    true,
                ),
                (
                    Method::DELETE,
                    format!("/api/customer/device/{device}"),
                    Value::Null,
                    false,
                ),
            ],
        },
        Victim {
            kind: "asset",
            read: format!("/api/asset/{asset}"),
            save: "/api/asset",
            field: "name",
            value: "Hijacked",
            readers_own: false,
            more: vec![(
                Method::DELETE,
                format!("/api/customer/asset/{asset}"),
                Value::Null,
                false,
            )],
        },
        Victim {
            kind: "dashboard",
            read: format!("/api/dashboard/{dashboard}"),
            save: "/api/dashboard",
            field: "title",
            value: "Hijacked",
            readers_own: false,
            more: vec![],
        },
        Victim {
            kind: "entity group",
            read: format!("/api/entityGroup/{group}"),
            save: "/api/entityGroup",
            field: "name",
            value: "Hijacked",
            readers_own: false,
            more: vec![
                (
                    Method::GET,
                    format!("/api/entityGroup/{group}/entities?{pages}"),
                    Value::Null,
                    true,
                ),
                (
                    Method::POST,
                    format!("/api/entityGroup/{group}/addEntities"),
                    json!([device]),
                    false,
                ),
                (
                    Method::POST,
                    format!("/api/device?entityGroupId={group}"),
                    json!({"name": "Planted", "type": "default"}),
                    false,
                ),
                (
                    Method::GET,
                    format!("/api/entityGroup/{group}/groupPermissions"),
                    Value::Null,
                    false,
                ),
                (
                    Method::POST,
                    format!("/api/entityGroup/{group}/share"),
                    json!({"ownerId": customer_ref(&v), "allUserGroup": true, "readElseWrite": true}),
                    false,
                ),
                (
                    Method::POST,
                    format!("/api/entityGroup/{group}/{v_admins}/{group_role}/share"),
                    Value::Null,
                    false,
                ),
                (
                    Method::POST,
                    format!("/api/entityGroup/{group}/makePublic"),
                    Value::Null,
                    false,
                ),
                (
                    Method::POST,
                    format!("/api/entityGroup/{group}/makePrivate"),
                    Value::Null,
                    false,
                ),
            ],
        },
        Victim {
            kind: "role",
            read: format!("/api/role/{role}"),
            save: "/api/role",
            field: "name",
            value: "Hijacked",
            readers_own: false,
            more: vec![],
        },
        Victim {
            kind: "group permission",
            read: format!("/api/groupPermission/{grant}"),
            save: "/api/groupPermission",
            field: "name",
            value: "Hijacked",
            readers_own: false,
            more: vec![
                (
                    Method::GET,
                    format!("/api/userGroup/{v_admins}/groupPermissions"),
                    Value::Null,
                    false,
                ),
                (
                    Method::POST,
                    "/api/groupPermission".into(),
                    json!({"userGroupId": group_ref(&v_admins), "roleId": {"entityType": "ROLE", "id": role}}),
                    false,
                ),
            ],
        },
        Victim {
            kind: "alarm",
            read: format!("/api/alarm/{alarm}"),
            save: "/api/alarm",
            field: "severity",
            value: "CRITICAL",
            readers_own: true,
            more: vec![
                (
                    Method::POST,
                    format!("/api/alarm/{alarm}/ack"),
                    Value::Null,
                    true,
                ),
                (
                    Method::DELETE,
                    format!("/api/alarm/{alarm}"),
                    Value::Null,
                    true,
                ),
            ],
        },
    ];

    // The callers: none of them the victim's administrator.
    let s_admins = user_group(&admin, &sibling, "Customer Administrators").await;
    let b_admins = user_group(&admin, &below, "Customer Administrators").await;
    let (_, sibling_admin) =
        user_in(&server, &admin, &sibling, "admin@sibling.io", &[&s_admins]).await;
    let (_, sibling_user) = user_in(&server, &admin, &sibling, "user@sibling.io", &[]).await;
    let (_, below_admin) = user_in(&server, &admin, &below, "admin@below.io", &[&b_admins]).await;
    let (_, own_user) = user_in(&server, &admin, &v, "reader@v.io", &[]).await;
    let tenant_user = tenant_reader(&server, &admin, "reader@tenant.io").await;
    // Inside the tenant: refused. From another tenant: as if nothing were there.
    let callers: [(&str, &Client, bool, Exempt); 6] = [
        (
            "another tenant's administrator",
            &other.client,
            true,
            Exempt::Nothing,
        ),
        (
            "a sibling's administrator",
            &sibling_admin,
            false,
            Exempt::Nothing,
        ),
        ("a sibling's user", &sibling_user, false, Exempt::Nothing),
        (
            "the administrator of a customer below",
            &below_admin,
            false,
            Exempt::Nothing,
        ),
        (
            "the victim's own plain user",
            &own_user,
            false,
            Exempt::OwnReaders,
        ),
        (
            "a read-only tenant user",
            &tenant_user,
            false,
            Exempt::Reads,
        ),
    ];
    let ids = [
        v.as_str(),
        &user,
        &device,
        &asset,
        &dashboard,
        &group,
        &role,
        &grant,
        &alarm,
        &v_admins,
        &group_role,
    ];

    let before = read_all(&admin, &victims).await;
    let matrix = calls(&victims, &before);
    let mut cells = 0;
    let mut wrong = Vec::new();
    for (who, client, foreign, exempt) in callers {
        for call in &matrix {
            let exempted = match exempt {
                Exempt::Nothing => false,
                Exempt::OwnReaders => call.readers_may,
                Exempt::Reads => call.method == Method::GET,
            };
            if exempted {
                continue;
            }
            cells += 1;
            let got = refusal(&answer(client, call).await);
            let expected = if foreign {
                let (nowhere, swaps) = ghost(call, &ids);
                let (status, code, message) = refusal(&answer(client, &nowhere).await);
                // The same words, about the ids asked for.
                let mut message = message.as_str().unwrap_or_default().to_owned();
                for (real, fake) in &swaps {
                    message = message.replace(fake.as_str(), real);
                }
                (status, code, json!(message))
            } else {
                (
                    403,
                    json!(20),
                    json!("You don't have permission to perform this operation!"),
                )
            };
            if got != expected || !matches!(got.0, 400 | 403 | 404) {
                wrong.push(format!(
                    "{who}: {} -> {got:?}, expected {expected:?}",
                    call.what
                ));
            }
        }
    }
    // ThingsBoard PE's lists of what the caller may read hold none of the
    // victim's, and asked about each victim, the permission check says no.
    let lists = [
        "/api/user/customers?",
        "/api/user/users?",
        "/api/customer/users?",
        "/api/userInfos/all?includeCustomers=true&",
        "/api/owners?",
    ];
    let entities = [
        ("CUSTOMER", v.as_str()),
        ("USER", &user),
        ("DEVICE", &device),
        ("ASSET", &asset),
        ("DASHBOARD", &dashboard),
        ("ENTITY_GROUP", &group),
        ("ROLE", &role),
        ("GROUP_PERMISSION", &grant),
        ("ALARM", &alarm),
    ];
    for (who, client, _, exempt) in callers {
        // A tenant user may read them all (so its lists hold them), and
        // nothing more.
        let (lists, ops): (&[&str], &[&str]) = match exempt {
            Exempt::Nothing => (&lists, &["READ", "WRITE", "DELETE"]),
            Exempt::OwnReaders => continue,
            Exempt::Reads => (&[], &["WRITE", "DELETE"]),
        };
        for list in lists {
            let (status, page) = client.get(&format!("{list}pageSize=100&page=0")).await;
            let rows = page["data"].as_array().cloned().unwrap_or_default();
            let leaked: Vec<&Value> = rows
                .iter()
                .filter(|row| ids.iter().any(|id| row["id"]["id"] == *id))
                .collect();
            if !(status == 403 || (status == 200 && leaked.is_empty())) {
                wrong.push(format!("{who}: {list} -> {status}, showing {leaked:?}"));
            }
        }
        for (entity_type, entity) in entities {
            for op in ops {
                let path = format!("/api/permission/{entity_type}/{entity}/{op}");
                let answer = client.get_ok(&path).await;
                cells += 1;
                if answer != json!(false) {
                    wrong.push(format!("{who}: {path} -> {answer}"));
                }
            }
        }
    }
    println!(
        "permission matrix: {cells} cells ({} endpoints x 6 callers, less what the victim's own users and the tenant's read-only user may do, and 27 permission checks x 4 callers + 18 for the tenant's read-only user)",
        matrix.len()
    );
    assert!(
        wrong.is_empty(),
        "{} wrong answers:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert_eq!(read_all(&admin, &victims).await, before, "a victim changed");
    // Nothing was planted under the victim either.
    let below_v = admin
        .get_ok(&format!("/api/customer/{v}/customerInfos?{pages}"))
        .await;
    assert_eq!(below_v["totalElements"], 1, "{below_v}");
    let devices = admin
        .get_ok(&format!("/api/customer/{v}/devices?{pages}"))
        .await;
    assert_eq!(devices["totalElements"], 1, "{devices}");
}
