//! ThingsBoard's public login: `POST /api/auth/login/public` with the id of
//! a public customer signs in its public user, who reads the public groups
//! of that customer's owner and nothing else, until they go private. A
//! tenant with customer A, whose administrator makes A's device group
//! "Pumps" (holding a pump) public; a valve of A outside the group; and
//! another tenant with a device of its own.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use serde_json::{Value, json};

use clientele_tests::{Client, TestServer, assert_error, customer_ref, id, reply};

use crate::customer_admins::{user_group, user_in};

const NULL_UUID: &str = "13814000-1dd2-11b2-8080-808080808080";

struct World {
    server: TestServer,
    admin: Client,
    a: String,
    pumps: String,
    pump: String,
    valve: String,
    /// A's administrator, who may make A's groups public.
    boss: Client,
    /// A device of another tenant.
    foreign: String,
}

impl World {
    async fn build() -> World {
        let server = TestServer::start().await;
        let admin = server.tenant_admin().await;
        let sys = server.sysadmin().await;
        let a = id(&admin.create_customer("A").await);
        let pumps = id(&admin
            .post_ok(
                "/api/entityGroup",
                json!({"name": "Pumps", "type": "DEVICE", "ownerId": customer_ref(&a)}),
            )
            .await);
        let pump = id(&admin
            .post_ok(
                &format!("/api/device?entityGroupId={pumps}"),
                json!({"name": "Pump"}),
            )
            .await);
        let valve = id(&admin.post_ok("/api/device", json!({"name": "Valve"})).await);
        admin
            .post_ok(
                &format!("/api/owner/CUSTOMER/{a}/DEVICE/{valve}"),
                json!({}),
            )
            .await;
        for device in [&pump, &valve] {
            admin
                .post_ok(
                    &format!("/api/plugins/telemetry/DEVICE/{device}/timeseries/ANY"),
                    json!({"pressure": 3.5}),
                )
                .await;
        }
        let a_admins = user_group(&admin, &a, "Customer Administrators").await;
        let (_, boss) = user_in(&server, &admin, &a, "boss@a.io", &[&a_admins]).await;
        let other = server.new_tenant(&sys, "Other", "admin@other.io").await;
        let foreign = id(&other
            .client
            .post_ok("/api/device", json!({"name": "Elsewhere"}))
            .await);
        World {
            server,
            admin,
            a,
            pumps,
            pump,
            valve,
            boss,
            foreign,
        }
    }

    async fn make(&self, what: &str) {
        self.boss
            .post_ok(
                &format!("/api/entityGroup/{}/{what}", self.pumps),
                json!({}),
            )
            .await;
    }

    /// The public login's answer for this body.
    async fn login_public(&self, body: Value) -> (reqwest::StatusCode, Value) {
        self.server
            .anonymous()
            .post("/api/auth/login/public", body)
            .await
    }
}

/// The claims of a JWT, unverified.
fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64")).expect("JSON")
}

#[tokio::test]
async fn a_public_user_reads_the_public_group_and_nothing_else_until_it_goes_private() {
    let w = World::build().await;
    w.make("makePublic").await;
    let group = w
        .admin
        .get_ok(&format!("/api/entityGroup/{}", w.pumps))
        .await;
    let public = group["additionalInfo"]["publicCustomerId"]
        .as_str()
        .unwrap()
        .to_owned();

    // Signed in as ThingsBoard signs in a public user.
    let (status, pair) = w.login_public(json!({ "publicId": public })).await;
    assert_eq!(status, 200, "{pair}");
    let token = pair["token"].as_str().unwrap();
    let c = claims(token);
    assert_eq!(c["isPublic"], true);
    assert_eq!(c["sub"], public.as_str());
    assert_eq!(c["customerId"], public.as_str());
    assert_eq!(c["userId"], NULL_UUID);
    assert_eq!(c["scopes"], json!(["CUSTOMER_USER"]));
    let anyone = w.server.with_token(token);

    // The public group's device and its telemetry.
    let pump = anyone.get_ok(&format!("/api/device/{}", w.pump)).await;
    assert_eq!(pump["name"], "Pump");
    assert_eq!(
        anyone.latest_point(&w.pump, "pressure").await.map(|p| p.1),
        Some(json!(3.5))
    );
    // Its profile is made up from the token: the public customer, no user.
    let me = anyone.get_ok("/api/auth/user").await;
    assert_eq!(me["id"]["id"], NULL_UUID);
    assert_eq!(me["customerId"]["id"], public.as_str());
    assert_eq!(me["authority"], "CUSTOMER_USER");
    assert_eq!(me["email"], public.as_str());

    // Nothing else: A's other device and its data, the public customer
    // and A, their users, any write; another tenant's device is nowhere.
    let valve = format!("/api/device/{}", w.valve);
    anyone.get_err(&valve, 403, 20).await;
    let valve_data = format!(
        "/api/plugins/telemetry/DEVICE/{}/values/timeseries?keys=pressure",
        w.valve
    );
    anyone.get_err(&valve_data, 403, 20).await;
    anyone
        .get_err(&format!("/api/customer/{public}"), 403, 20)
        .await;
    anyone
        .get_err(&format!("/api/customer/{}", w.a), 403, 20)
        .await;
    anyone
        .get_err(
            &format!("/api/customer/{}/users?pageSize=10&page=0", w.a),
            403,
            20,
        )
        .await;
    let renamed = json!({"id": {"entityType": "DEVICE", "id": w.pump}, "name": "Mine"});
    anyone.post_err("/api/device", renamed, 403, 20).await;
    let pump_data = format!("/api/plugins/telemetry/DEVICE/{}", w.pump);
    anyone
        .post_err(
            &format!("{pump_data}/timeseries/ANY"),
            json!({"pressure": 0}),
            403,
            20,
        )
        .await;
    anyone
        .post_err(
            &format!("{pump_data}/attributes/SERVER_SCOPE"),
            json!({"k": 1}),
            403,
            20,
        )
        .await;
    anyone
        .delete_err(&format!("/api/device/{}", w.pump), 403, 20)
        .await;
    anyone
        .post_err("/api/device", json!({"name": "New"}), 403, 20)
        .await;
    anyone
        .post_err(
            "/api/auth/changePassword",
            json!({"currentPassword": "", "newPassword": "Whatever123"}),
            403,
            20,
        )
        .await;
    anyone
        .get_err(&format!("/api/device/{}", w.foreign), 404, 32)
        .await;
    assert_eq!(
        w.admin.get_ok(&format!("/api/device/{}", w.pump)).await["name"],
        "Pump"
    );

    // A refreshed pair is a public one again.
    let (status, again) = w
        .server
        .anonymous()
        .post(
            "/api/auth/token",
            json!({ "refreshToken": pair["refreshToken"] }),
        )
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(claims(again["token"].as_str().unwrap())["isPublic"], true);
    let refreshed = w.server.with_token(again["token"].as_str().unwrap());
    refreshed.get_ok(&format!("/api/device/{}", w.pump)).await;

    // Private again: the same token no longer reads the group's device.
    w.make("makePrivate").await;
    anyone
        .get_err(&format!("/api/device/{}", w.pump), 403, 20)
        .await;
    refreshed
        .get_err(&format!("/api/device/{}", w.pump), 403, 20)
        .await;
}

#[tokio::test]
async fn a_public_login_names_a_public_customer_or_is_refused() {
    let w = World::build().await;
    w.make("makePublic").await;
    // A customer that is not public, one that does not exist, an id that
    // is no id, no id at all, a body that is no request: ThingsBoard's
    // authentication errors, and no token.
    for body in [
        json!({ "publicId": w.a }),
        json!({ "publicId": "7a1e1f30-0000-11ee-8000-000000000000" }),
        json!({ "publicId": "not-an-id" }),
        json!({ "publicId": "" }),
        json!({}),
        json!(["publicId"]),
    ] {
        let result = w.login_public(body.clone()).await;
        assert_error(&result, 401, 10);
        assert!(result.1.get("token").is_none(), "{body}: {}", result.1);
    }
    let garbage = w
        .server
        .anonymous()
        .request(Method::POST, "/api/auth/login/public")
        .header("Content-Type", "application/json")
        .body("{not json");
    assert_error(&reply(garbage).await, 401, 10);
    // A refresh token is no access token, for a public user either.
    let public = w
        .admin
        .get_ok(&format!("/api/entityGroup/{}", w.pumps))
        .await["additionalInfo"]["publicCustomerId"]
        .clone();
    let (_, pair) = w.login_public(json!({ "publicId": public })).await;
    let refresh = pair["refreshToken"].as_str().unwrap();
    w.server
        .with_token(refresh)
        .get_err(&format!("/api/device/{}", w.pump), 401, 10)
        .await;
}
