//! Alarms over REST: raising, raising again, acknowledging, clearing,
//! assigning, deleting; lists and filters (`lists`), bad input
//! (`bad_input`) and who may touch whose alarms (`isolation`).

mod bad_input;
mod isolation;
mod lists;

use clientele_tests::{Client, TestServer, id};
use serde_json::{Value, json};

const NULL_UUID: &str = "13814000-1dd2-11b2-8080-808080808080";

/// The body that raises `alarm_type` on a device.
fn alarm_on(device: &str, alarm_type: &str, severity: &str) -> Value {
    json!({
        "type": alarm_type,
        "originator": {"entityType": "DEVICE", "id": device},
        "severity": severity,
    })
}

/// Raises an alarm on a device; panics if refused.
async fn raise(client: &Client, device: &str, alarm_type: &str, severity: &str) -> Value {
    client
        .post_ok("/api/alarm", alarm_on(device, alarm_type, severity))
        .await
}

/// A device with a label, created by `admin`; returns its id.
async fn labelled_device(admin: &Client, name: &str, label: &str) -> String {
    let device = admin
        .post_ok("/api/device", json!({"name": name, "label": label}))
        .await;
    id(&device)
}

/// The alarms of a device (all of them, newest first).
async fn device_alarms(client: &Client, device: &str) -> Value {
    client
        .get_ok(&format!("/api/alarm/DEVICE/{device}?pageSize=100&page=0"))
        .await
}

fn total(page: &Value) -> u64 {
    page["totalElements"]
        .as_u64()
        .unwrap_or_else(|| panic!("not a page: {page}"))
}

#[tokio::test]
async fn an_alarm_is_created_read_and_described_with_its_originator() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let me = admin.get_ok("/api/auth/user").await;
    let device = labelled_device(&admin, "Pump 1", "Basement pump").await;

    let body = json!({
        "type": "High Pressure",
        "originator": {"entityType": "DEVICE", "id": device},
        "severity": "MAJOR",
        "details": {"bar": 9.5},
        "propagate": true,
        "propagateRelationTypes": ["Contains"],
        "status": "CLEARED_ACK",
        "tenantId": {"entityType": "TENANT", "id": NULL_UUID},
    });
    let alarm = admin.post_ok("/api/alarm", body).await;
    let alarm_id = id(&alarm);
    assert_eq!(alarm["id"]["entityType"], "ALARM", "{alarm}");
    assert_eq!(alarm["type"], "High Pressure");
    assert_eq!(alarm["name"], "High Pressure");
    assert_eq!(alarm["severity"], "MAJOR");
    assert_eq!(
        alarm["status"], "ACTIVE_UNACK",
        "status is derived, not taken"
    );
    assert_eq!(
        (alarm["acknowledged"].as_bool(), alarm["cleared"].as_bool()),
        (Some(false), Some(false))
    );
    assert_eq!(
        alarm["tenantId"], me["tenantId"],
        "the tenant is the caller's"
    );
    assert_eq!(alarm["customerId"]["id"], NULL_UUID);
    assert_eq!(
        alarm["originator"],
        json!({"entityType": "DEVICE", "id": device})
    );
    assert_eq!(alarm["details"], json!({"bar": 9.5}));
    assert_eq!(alarm["propagate"], true);
    assert_eq!(alarm["propagateRelationTypes"], json!(["Contains"]));
    assert_eq!(alarm["assigneeId"], Value::Null);
    let start = alarm["startTs"].as_i64().expect("startTs");
    assert!(start > 0);
    assert_eq!(alarm["endTs"].as_i64(), Some(start));
    assert_eq!(
        (alarm["ackTs"].as_i64(), alarm["clearTs"].as_i64()),
        (Some(0), Some(0))
    );

    let read = admin.get_ok(&format!("/api/alarm/{alarm_id}")).await;
    assert_eq!(read, alarm);
    assert!(read.get("originatorName").is_none(), "plain Alarm: {read}");

    let info = admin.get_ok(&format!("/api/alarm/info/{alarm_id}")).await;
    assert_eq!(info["originatorName"], "Pump 1");
    assert_eq!(info["originatorLabel"], "Basement pump");
    assert_eq!(info["originatorDisplayName"], "Basement pump");
    assert_eq!(info["assignee"], Value::Null);
    assert_eq!(info["status"], "ACTIVE_UNACK");
    assert_eq!(info["id"], alarm["id"]);

    // Audited as ThingsBoard does: under the originator, named by the alarm.
    let audit = admin
        .get_ok(&format!(
            "/api/audit/logs/entity/DEVICE/{device}?pageSize=10&page=0"
        ))
        .await;
    let added = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["actionType"] == "ADDED" && r["entityName"] == "High Pressure")
        .unwrap_or_else(|| panic!("no ADDED record: {audit}"));
    assert_eq!(added["actionData"]["entity"]["id"], alarm["id"]);
}

#[tokio::test]
async fn raising_the_same_type_again_updates_the_active_alarm_until_it_is_cleared() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let device = admin.create_device("Boiler", "BOILER_TOKEN", false).await;

    let first = raise(&admin, &device, "Overheat", "MINOR").await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let second = admin
        .post_ok(
            "/api/alarm",
            json!({
                "type": "Overheat",
                "originator": {"entityType": "DEVICE", "id": device},
                "severity": "CRITICAL",
                "details": {"t": 99},
            }),
        )
        .await;
    assert_eq!(second["id"], first["id"], "the active alarm was updated");
    assert_eq!(second["severity"], "CRITICAL");
    assert_eq!(second["details"], json!({"t": 99}));
    assert_eq!(second["startTs"], first["startTs"]);
    assert_eq!(second["createdTime"], first["createdTime"]);
    assert!(
        second["endTs"].as_i64() > first["endTs"].as_i64(),
        "endTs moves on: {first} then {second}"
    );
    // Another type is another alarm.
    let other = raise(&admin, &device, "Low Water", "WARNING").await;
    assert_ne!(other["id"], first["id"]);
    assert_eq!(total(&device_alarms(&admin, &device).await), 2);

    let alarm_id = id(&first);
    admin
        .post_ok(&format!("/api/alarm/{alarm_id}/clear"), json!({}))
        .await;
    let third = raise(&admin, &device, "Overheat", "MAJOR").await;
    assert_ne!(third["id"], first["id"], "after a clear a new alarm starts");
    assert_eq!(third["status"], "ACTIVE_UNACK");
    let cleared = admin.get_ok(&format!("/api/alarm/{alarm_id}")).await;
    assert_eq!(cleared["status"], "CLEARED_UNACK");
    assert_eq!(
        cleared["severity"], "CRITICAL",
        "a cleared alarm is not raised again"
    );
    assert_eq!(total(&device_alarms(&admin, &device).await), 3);
}

#[tokio::test]
async fn ack_and_clear_set_their_times_and_statuses_once() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let device = admin.create_device("Fan", "FAN_TOKEN", false).await;
    let alarm = raise(&admin, &device, "Stalled", "MAJOR").await;
    let alarm_id = id(&alarm);

    let acked = admin
        .post_ok(&format!("/api/alarm/{alarm_id}/ack"), json!({}))
        .await;
    assert_eq!(acked["status"], "ACTIVE_ACK", "{acked}");
    assert_eq!(acked["acknowledged"], true);
    let ack_ts = acked["ackTs"].as_i64().expect("ackTs");
    assert!(ack_ts >= alarm["startTs"].as_i64().unwrap());
    assert_eq!(acked["originatorName"], "Fan", "ack answers an AlarmInfo");
    assert_eq!(acked["clearTs"], 0);
    // As in ThingsBoard 3.5+: a second ack is refused and changes nothing.
    admin
        .post_err(&format!("/api/alarm/{alarm_id}/ack"), json!({}), 400, 31)
        .await;

    let cleared = admin
        .post_ok(&format!("/api/alarm/{alarm_id}/clear"), json!({}))
        .await;
    assert_eq!(cleared["status"], "CLEARED_ACK");
    assert_eq!(cleared["cleared"], true);
    assert!(cleared["clearTs"].as_i64().unwrap() >= ack_ts);
    assert_eq!(cleared["ackTs"], ack_ts, "the ack time stays");
    admin
        .post_err(&format!("/api/alarm/{alarm_id}/clear"), json!({}), 400, 31)
        .await;
    let now = admin.get_ok(&format!("/api/alarm/{alarm_id}")).await;
    assert_eq!(
        (&now["ackTs"], &now["clearTs"]),
        (&cleared["ackTs"], &cleared["clearTs"])
    );

    // Cleared first, acknowledged after.
    let other = raise(&admin, &device, "Noisy", "MINOR").await;
    let other_id = id(&other);
    let cleared = admin
        .post_ok(&format!("/api/alarm/{other_id}/clear"), json!({}))
        .await;
    assert_eq!(cleared["status"], "CLEARED_UNACK");
    let acked = admin
        .post_ok(&format!("/api/alarm/{other_id}/ack"), json!({}))
        .await;
    assert_eq!(acked["status"], "CLEARED_ACK");

    // Saved with the flags set: acknowledged and cleared in one request.
    let mut body = alarm_on(&device, "Vibration", "WARNING");
    body["acknowledged"] = json!(true);
    body["cleared"] = json!(true);
    body["ackTs"] = json!(1_000);
    let saved = admin.post_ok("/api/alarm", body).await;
    assert_eq!(saved["status"], "CLEARED_ACK", "{saved}");
    assert_eq!(saved["ackTs"], 1_000);
    assert!(saved["clearTs"].as_i64().unwrap() > 1_000);
}

#[tokio::test]
async fn alarms_are_assigned_and_unassigned_to_users_who_may_see_them() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let me = admin.get_ok("/api/auth/user").await;
    let my_id = id(&me);
    let device = admin.create_device("Door", "DOOR_TOKEN", false).await;
    let alarm = raise(&admin, &device, "Open", "WARNING").await;
    let alarm_id = id(&alarm);

    let assigned = admin
        .post_ok(&format!("/api/alarm/{alarm_id}/assign/{my_id}"), json!({}))
        .await;
    assert_eq!(assigned["assigneeId"]["id"], my_id.as_str(), "{assigned}");
    assert_eq!(assigned["assignee"]["id"]["id"], my_id.as_str());
    assert_eq!(assigned["assignee"]["email"], me["email"]);
    let assign_ts = assigned["assignTs"].as_i64().unwrap();
    assert!(assign_ts > 0);
    admin
        .post_err(
            &format!("/api/alarm/{alarm_id}/assign/{my_id}"),
            json!({}),
            400,
            31,
        )
        .await;
    let unknown = uuid::Uuid::new_v4();
    admin
        .post_err(
            &format!("/api/alarm/{alarm_id}/assign/{unknown}"),
            json!({}),
            404,
            32,
        )
        .await;

    // The tenant's own device: a customer's user may not see its alarms.
    let customer = admin.create_customer("Acme").await;
    let user = admin
        .create_active_user(&server, &id(&customer), "cu@acme.io")
        .await;
    admin
        .post_err(
            &format!("/api/alarm/{alarm_id}/assign/{user}"),
            json!({}),
            400,
            31,
        )
        .await;
    let still = admin.get_ok(&format!("/api/alarm/info/{alarm_id}")).await;
    assert_eq!(still["assigneeId"]["id"], my_id.as_str());

    let mine = admin
        .get_ok(&format!(
            "/api/alarms?pageSize=10&page=0&assigneeId={my_id}"
        ))
        .await;
    assert_eq!(total(&mine), 1, "{mine}");
    let theirs = admin
        .get_ok(&format!("/api/alarms?pageSize=10&page=0&assigneeId={user}"))
        .await;
    assert_eq!(total(&theirs), 0);

    let unassigned = admin
        .delete_ok(&format!("/api/alarm/{alarm_id}/assign"))
        .await;
    assert_eq!(unassigned["assigneeId"], Value::Null, "{unassigned}");
    assert_eq!(unassigned["assignee"], Value::Null);
    assert!(unassigned["assignTs"].as_i64().unwrap() >= assign_ts);
    admin
        .delete_err(&format!("/api/alarm/{alarm_id}/assign"), 400, 31)
        .await;

    // Once the device is the customer's, its user may be assigned; and
    // deleting that user unassigns the alarm.
    admin
        .post_ok(
            &format!("/api/customer/{}/device/{device}", id(&customer)),
            json!({}),
        )
        .await;
    let to_user = admin
        .post_ok(&format!("/api/alarm/{alarm_id}/assign/{user}"), json!({}))
        .await;
    assert_eq!(to_user["assignee"]["email"], "cu@acme.io");
    admin.delete_ok(&format!("/api/user/{user}")).await;
    let after = admin.get_ok(&format!("/api/alarm/{alarm_id}")).await;
    assert_eq!(after["assigneeId"], Value::Null, "{after}");
}

#[tokio::test]
async fn deleting_an_alarm_answers_true_and_it_is_gone() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let device = admin.create_device("Gate", "GATE_TOKEN", false).await;
    let alarm = raise(&admin, &device, "Forced", "CRITICAL").await;
    let alarm_id = id(&alarm);
    let keep = raise(&admin, &device, "Battery", "MINOR").await;

    let deleted = admin.delete_ok(&format!("/api/alarm/{alarm_id}")).await;
    assert_eq!(deleted, json!(true));
    admin
        .get_err(&format!("/api/alarm/{alarm_id}"), 404, 32)
        .await;
    admin
        .delete_err(&format!("/api/alarm/{alarm_id}"), 404, 32)
        .await;
    let left = device_alarms(&admin, &device).await;
    assert_eq!(total(&left), 1);
    assert_eq!(left["data"][0]["id"], keep["id"]);
    // Deleting the active alarm frees its type: raising makes a new one.
    let again = raise(&admin, &device, "Forced", "MAJOR").await;
    assert_ne!(again["id"], alarm["id"]);

    let audit = admin
        .get_ok("/api/audit/logs?pageSize=50&page=0&actionTypes=ALARM_DELETE")
        .await;
    assert_eq!(total(&audit), 1, "{audit}");
    assert_eq!(audit["data"][0]["entityId"]["id"], device.as_str());
}

#[tokio::test]
async fn deleting_a_device_or_customer_deletes_their_alarms() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let device = admin.create_device("Sensor", "SENSOR_TOKEN", false).await;
    let other = admin.create_device("Other", "OTHER_TOKEN", false).await;
    let on_device = raise(&admin, &device, "Offline", "MAJOR").await;
    let cleared = raise(&admin, &device, "Tamper", "MAJOR").await;
    admin
        .post_ok(&format!("/api/alarm/{}/clear", id(&cleared)), json!({}))
        .await;
    let kept = raise(&admin, &other, "Offline", "MAJOR").await;

    admin.delete_ok(&format!("/api/device/{device}")).await;
    for gone in [&on_device, &cleared] {
        admin
            .get_err(&format!("/api/alarm/{}", id(gone)), 404, 32)
            .await;
    }
    admin.get_ok(&format!("/api/alarm/{}", id(&kept))).await;
    let all = admin.get_ok("/api/alarms?pageSize=100&page=0").await;
    assert_eq!(total(&all), 1, "{all}");

    let customer = admin.create_customer("Gone Corp").await;
    let cid = id(&customer);
    let on_customer = admin
        .post_ok(
            "/api/alarm",
            json!({"type": "Overdue", "originator": {"entityType": "CUSTOMER", "id": cid}, "severity": "MINOR"}),
        )
        .await;
    assert_eq!(on_customer["customerId"]["id"], cid.as_str());
    admin.delete_ok(&format!("/api/customer/{cid}")).await;
    admin
        .get_err(&format!("/api/alarm/{}", id(&on_customer)), 404, 32)
        .await;
    let types = admin.get_ok("/api/alarm/types?pageSize=10&page=0").await;
    assert_eq!(total(&types), 1, "only the kept alarm's type: {types}");
}
