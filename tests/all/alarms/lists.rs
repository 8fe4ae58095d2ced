//! Alarm lists: v1 and v2 filters, paging, time windows, sorting, types
//! and the highest severity.

use std::time::Duration;

use clientele_tests::{Client, TestServer, id};
use serde_json::{Value, json};

use super::{raise, total};

/// The types of a page's alarms, in order.
fn types(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap_or_else(|| panic!("not a page: {page}"))
        .iter()
        .map(|a| a["type"].as_str().expect("type").to_owned())
        .collect()
}

/// A device with five alarms, created a few milliseconds apart:
/// A (CRITICAL, active), B (MAJOR, acknowledged), C (MINOR, cleared),
/// D (WARNING, acknowledged and cleared), E (INDETERMINATE, active).
/// Returns the device id and the alarms as created.
async fn five_alarms(admin: &Client, name: &str, token: &str) -> (String, Vec<Value>) {
    let device = admin.create_device(name, token, false).await;
    let mut alarms = Vec::new();
    for (t, severity) in [
        ("A", "CRITICAL"),
        ("B", "MAJOR"),
        ("C", "MINOR"),
        ("D", "WARNING"),
        ("E", "INDETERMINATE"),
    ] {
        alarms.push(raise(admin, &device, t, severity).await);
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    for (i, action) in [(1, "ack"), (2, "clear"), (3, "ack"), (3, "clear")] {
        admin
            .post_ok(
                &format!("/api/alarm/{}/{action}", id(&alarms[i])),
                json!({}),
            )
            .await;
    }
    (device, alarms)
}

#[tokio::test]
async fn an_entitys_alarms_filter_by_search_status_and_status() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let (device, _) = five_alarms(&admin, "Meter", "METER_TOKEN").await;
    let list = |query: String| {
        let admin = admin.clone();
        let device = device.clone();
        async move {
            admin
                .get_ok(&format!("/api/alarm/DEVICE/{device}?pageSize=10&page=0&sortProperty=type&sortOrder=ASC{query}"))
                .await
        }
    };
    for (query, expected) in [
        ("", vec!["A", "B", "C", "D", "E"]),
        ("&searchStatus=ANY", vec!["A", "B", "C", "D", "E"]),
        ("&searchStatus=ACTIVE", vec!["A", "B", "E"]),
        ("&searchStatus=CLEARED", vec!["C", "D"]),
        ("&searchStatus=ACK", vec!["B", "D"]),
        ("&searchStatus=UNACK", vec!["A", "C", "E"]),
        ("&status=ACTIVE_UNACK", vec!["A", "E"]),
        ("&status=ACTIVE_ACK", vec!["B"]),
        ("&status=CLEARED_UNACK", vec!["C"]),
        ("&status=CLEARED_ACK", vec!["D"]),
        ("&textSearch=critical", vec!["A"]),
        ("&textSearch=cleared_", vec!["C", "D"]),
        ("&fetchOriginator=true", vec!["A", "B", "C", "D", "E"]),
    ] {
        let page = list(query.to_owned()).await;
        assert_eq!(types(&page), expected, "{query}: {page}");
        assert_eq!(total(&page), expected.len() as u64, "{query}");
    }
    let page = list(String::new()).await;
    assert_eq!(page["data"][0]["originatorName"], "Meter");
    assert_eq!(page["data"][1]["status"], "ACTIVE_ACK");

    for bad in [
        "&searchStatus=ACTIVE&status=ACTIVE_ACK",
        "&searchStatus=SOMETIMES",
        "&status=ACTIVE",
        "&sortProperty=colour",
        "&startTime=yesterday",
        "&assigneeId=not-a-uuid",
    ] {
        admin
            .get_err(
                &format!("/api/alarm/DEVICE/{device}?pageSize=10&page=0{bad}"),
                400,
                31,
            )
            .await;
    }
    admin
        .get_err(&format!("/api/alarm/DEVICE/{device}?page=0"), 400, 31)
        .await;
}

#[tokio::test]
async fn pages_windows_and_sorting_follow_thingsboard() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let (device, alarms) = five_alarms(&admin, "Valve", "VALVE_TOKEN").await;
    let at = |query: &str| format!("/api/alarm/DEVICE/{device}?{query}");

    // Newest first without a sort property; pages of two.
    let mut seen = Vec::new();
    for page in 0..3 {
        let body = admin.get_ok(&at(&format!("pageSize=2&page={page}"))).await;
        assert_eq!(total(&body), 5);
        assert_eq!(body["totalPages"], 3);
        assert_eq!(body["hasNext"], page < 2, "{body}");
        seen.extend(types(&body));
    }
    assert_eq!(seen, ["E", "D", "C", "B", "A"]);
    let past = admin.get_ok(&at("pageSize=2&page=3")).await;
    assert!(types(&past).is_empty());
    assert_eq!(past["hasNext"], false);

    let sorted = |q: &'static str| {
        let admin = admin.clone();
        let path = at(&format!("pageSize=10&page=0&{q}"));
        async move { types(&admin.get_ok(&path).await) }
    };
    assert_eq!(
        sorted("sortProperty=type&sortOrder=DESC").await,
        ["E", "D", "C", "B", "A"]
    );
    assert_eq!(
        sorted("sortProperty=severity&sortOrder=DESC").await,
        ["A", "B", "C", "D", "E"]
    );
    assert_eq!(
        sorted("sortProperty=severity&sortOrder=ASC").await,
        ["E", "D", "C", "B", "A"]
    );
    assert_eq!(
        sorted("sortProperty=createdTime&sortOrder=ASC").await,
        ["A", "B", "C", "D", "E"]
    );
    assert_eq!(
        sorted("sortProperty=status&sortOrder=ASC").await,
        ["A", "E", "B", "C", "D"]
    );
    // Acknowledged and cleared times: 0 (never) sorts first.
    assert_eq!(
        sorted("sortProperty=clearTs&sortOrder=ASC").await[..3],
        ["A", "B", "E"]
    );

    // A window on createdTime, both ends inclusive.
    let created = |i: usize| alarms[i]["createdTime"].as_i64().unwrap();
    assert!(created(1) < created(3), "alarms were created apart");
    let window = admin
        .get_ok(&at(&format!(
            "pageSize=10&page=0&sortProperty=type&startTime={}&endTime={}",
            created(1),
            created(3)
        )))
        .await;
    assert_eq!(types(&window), ["B", "C", "D"], "{window}");
}

#[tokio::test]
async fn v2_lists_filter_by_status_severity_and_type_lists() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let (device, _) = five_alarms(&admin, "Chiller", "CHILLER_TOKEN").await;
    let (other, _) = five_alarms(&admin, "Heater", "HEATER_TOKEN").await;
    for (query, expected) in [
        ("", vec!["A", "B", "C", "D", "E"]),
        ("&statusList=ACTIVE", vec!["A", "B", "E"]),
        ("&statusList=ACTIVE,UNACK", vec!["A", "E"]),
        ("&statusList=ACTIVE,CLEARED", vec!["A", "B", "C", "D", "E"]),
        ("&statusList=CLEARED,ACK", vec!["D"]),
        ("&statusList=ANY,ACK", vec!["A", "B", "C", "D", "E"]),
        ("&severityList=CRITICAL,MINOR", vec!["A", "C"]),
        ("&typeList=B,E,Z", vec!["B", "E"]),
        (
            "&typeList=A,B,C&statusList=UNACK&severityList=CRITICAL,MAJOR,MINOR",
            vec!["A", "C"],
        ),
    ] {
        let page = admin
            .get_ok(&format!(
                "/api/v2/alarm/DEVICE/{device}?pageSize=10&page=0&sortProperty=type{query}"
            ))
            .await;
        assert_eq!(types(&page), expected, "{query}: {page}");
        // The tenant-wide list holds the same of both devices.
        let all = admin
            .get_ok(&format!(
                "/api/v2/alarms?pageSize=100&page=0&sortProperty=type{query}"
            ))
            .await;
        assert_eq!(total(&all), 2 * expected.len() as u64, "{query}: {all}");
    }
    admin
        .get_err(
            &format!("/api/v2/alarm/DEVICE/{device}?pageSize=10&page=0&severityList=HUGE"),
            400,
            31,
        )
        .await;
    admin
        .get_err(
            "/api/v2/alarms?pageSize=10&page=0&statusList=SOMETIMES",
            400,
            31,
        )
        .await;

    let v1 = admin
        .get_ok("/api/alarms?pageSize=100&page=0&searchStatus=CLEARED")
        .await;
    assert_eq!(total(&v1), 4, "{v1}");
    let names: std::collections::BTreeSet<&str> = v1["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["originatorName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Chiller", "Heater"].into());
    let _ = other;
}

#[tokio::test]
async fn alarm_types_are_listed_once_each_in_thingsboards_shape() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let me = admin.get_ok("/api/auth/user").await;
    let (_, _) = five_alarms(&admin, "Tank", "TANK_TOKEN").await;
    let (_, _) = five_alarms(&admin, "Silo", "SILO_TOKEN").await;

    let page = admin.get_ok("/api/alarm/types?pageSize=3&page=0").await;
    assert_eq!(total(&page), 5, "{page}");
    assert_eq!(page["hasNext"], true);
    assert_eq!(
        page["data"][0],
        json!({"tenantId": me["tenantId"], "entityType": "ALARM", "type": "A"})
    );
    let rest = admin.get_ok("/api/alarm/types?pageSize=3&page=1").await;
    let all: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest["data"].as_array().unwrap())
        .map(|t| t["type"].as_str().unwrap())
        .collect();
    assert_eq!(all, ["A", "B", "C", "D", "E"]);
    let desc = admin
        .get_ok("/api/alarm/types?pageSize=10&page=0&sortOrder=DESC&textSearch=d")
        .await;
    assert_eq!(
        desc["data"],
        json!([{"tenantId": me["tenantId"], "entityType": "ALARM", "type": "D"}])
    );
    admin.get_err("/api/alarm/types?page=0", 400, 31).await;
}

#[tokio::test]
async fn the_highest_severity_is_of_the_alarms_asked_for() {
    let server = TestServer::start().await;
    let admin = server.tenant_admin().await;
    let (device, alarms) = five_alarms(&admin, "Press", "PRESS_TOKEN").await;
    let at = |q: &str| format!("/api/alarm/highestSeverity/DEVICE/{device}{q}");
    assert_eq!(admin.get_ok(&at("")).await, json!("CRITICAL"));
    assert_eq!(
        admin.get_ok(&at("?searchStatus=CLEARED")).await,
        json!("MINOR")
    );
    assert_eq!(
        admin.get_ok(&at("?status=CLEARED_ACK")).await,
        json!("WARNING")
    );
    admin
        .post_ok(&format!("/api/alarm/{}/clear", id(&alarms[0])), json!({}))
        .await;
    assert_eq!(
        admin.get_ok(&at("?searchStatus=ACTIVE")).await,
        json!("MAJOR")
    );
    let quiet = admin.create_device("Quiet", "QUIET_TOKEN", false).await;
    let none = admin
        .get_ok(&format!("/api/alarm/highestSeverity/DEVICE/{quiet}"))
        .await;
    assert_eq!(none, Value::Null);
}
