use serde_json::Value;

use super::*;
use crate::domain::telemetry::parse_kv_object;

/// What the payload gives through a `Value` tree: the reference, the way
/// ThingsBoard reads it (and Clientele did before the streamed reader).
fn through_tree(payload: &[u8], server_ts: i64) -> Result<Vec<TsKvEntry>, PayloadError> {
    let mut out = Vec::new();
    match serde_json::from_slice::<Value>(payload)? {
        Value::Array(items) => {
            for item in &items {
                push_item_through_tree(item, server_ts, &mut out)?;
            }
        }
        other => push_item_through_tree(&other, server_ts, &mut out)?,
    }
    Ok(out)
}

fn push_item_through_tree(
    item: &Value,
    server_ts: i64,
    out: &mut Vec<TsKvEntry>,
) -> Result<(), PayloadError> {
    let obj = item.as_object().ok_or_else(|| shape(NOT_OBJECTS))?;
    // `{"ts":..,"values":{..}}`: only when exactly those two keys are present.
    let timed = obj.len() == 2 && obj.contains_key("ts");
    let (ts, values) = match obj.get("values").and_then(Value::as_object) {
        Some(values) if timed => (parse_ts(&obj["ts"])?, values),
        _ => (server_ts, obj),
    };
    for kv in parse_kv_object(values)? {
        out.push(TsKvEntry {
            ts,
            key: kv.key,
            value: kv.value,
        });
    }
    Ok(())
}

fn long_key() -> String {
    format!("{{\"{}\":1}}", "k".repeat(256))
}

fn deep() -> String {
    format!("{{\"a\":{}1{}}}", "[".repeat(200), "]".repeat(200))
}

/// Every shape of payload the parsers tell apart, good and bad.
fn payloads() -> Vec<String> {
    let fixed = [
        r#"{"b":true,"l":42,"d":1.5,"s":"x","j":{"a":1},"a":[1,{"x":null}],"n":null}"#,
        r#"{"z":1,"a":2,"m":3}"#,
        r#"{"a":1,"a":2}"#,
        r#"{"a":1,"a":null}"#,
        r#"{"a":null,"a":1}"#,
        r#"[{"t":1},{"h":2}]"#,
        "[]",
        "{}",
        r#"{"ts":1000,"values":{"t":1}}"#,
        " { \"ts\" : 1000 ,\n \"values\" : { \"t\" : 1 , \"u\" : null } } ",
        r#"{"values":{"t":1},"ts":1000}"#,
        r#"{"ts":1000,"values":{"t":1},"x":2}"#,
        r#"{"ts":1000}"#,
        r#"{"values":{"a":1}}"#,
        r#"{"ts":1000,"values":5}"#,
        r#"{"ts":1000,"values":null}"#,
        r#"{"ts":1000,"values":[1]}"#,
        r#"{"ts":null,"values":"v"}"#,
        r#"{"ts":1,"ts":2,"values":{"a":1}}"#,
        r#"{"ts":1000,"values":{"a":1,"a":2}}"#,
        r#"{"ts":1000,"values":{}}"#,
        r#"{"ts":1e3,"values":{"a":1}}"#,
        r#"[{"ts":1000,"values":{"t":1}},{"ts":2000,"values":{"t":2}},{"t":3}]"#,
        r#"{"big":18446744073709551615,"max":9223372036854775807,"neg":-9223372036854775808}"#,
        r#"{"f":1.0,"g":-0,"h":-0.0,"e":2.5e-3}"#,
        r#"{"e":"\u00e9\n\"q\"","k\u0073":1,"ts\u0000":2}"#,
        r#"{"t\u0073":1000,"values":{"a":1}}"#,
        // Refused: syntax.
        "",
        "{not json",
        r#"{"a":1} trailing"#,
        r#"{"a":1}}"#,
        r#"{"huge":1e400}"#,
        // Refused: shape, timestamps, keys.
        "42",
        "\"s\"",
        "null",
        "true",
        "[1]",
        r#"[[{"a":1}]]"#,
        r#"[{"a":1},3]"#,
        r#"{"ts":"yesterday","values":{"a":1}}"#,
        r#"{"ts":1.5,"values":{"a":1}}"#,
        r#"[{"ts":"x","values":{"a":1}}, 3]"#,
        r#"{"":1}"#,
        r#"{"b":1,"":2,"a\u0000":3}"#,
        r#"{"ts":1000,"values":{"":1}}"#,
    ];
    let mut all: Vec<String> = fixed.iter().map(|s| (*s).to_owned()).collect();
    all.extend([long_key(), deep()]);
    all
}

#[test]
fn reads_every_payload_as_the_value_tree_does() {
    for payload in payloads() {
        let streamed = parse_telemetry_bytes(payload.as_bytes(), 7);
        let reference = through_tree(payload.as_bytes(), 7);
        match (&streamed, &reference) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "payload {payload}"),
            // Valid JSON of the wrong shape: the same reason, word for word.
            (Err(a @ PayloadError::Shape(_)), Err(b)) => assert_eq!(a, b, "payload {payload}"),
            (Err(PayloadError::Json(_)), Err(PayloadError::Json(_))) => {}
            _ => panic!("payload {payload}: streamed {streamed:?}, tree {reference:?}"),
        }
    }
}

#[test]
fn the_corpus_holds_both_outcomes_of_every_kind() {
    // The comparison above proves little if every payload failed alike.
    let outcomes: Vec<_> = payloads()
        .iter()
        .map(|p| parse_telemetry_bytes(p.as_bytes(), 7))
        .collect();
    let count = |f: fn(&Result<Vec<TsKvEntry>, PayloadError>) -> bool| {
        outcomes.iter().filter(|o| f(o)).count()
    };
    assert!(count(|o| o.as_ref().is_ok_and(|e| !e.is_empty())) >= 20);
    assert!(count(|o| matches!(o, Err(PayloadError::Json(_)))) >= 5);
    assert!(count(|o| matches!(o, Err(PayloadError::Shape(_)))) >= 10);
}

#[test]
fn timed_and_plain_forms_read_as_thingsboard_reads_them() {
    let timed = parse_telemetry_bytes(br#"{"ts":1000,"values":{"t":1,"s":"x"}}"#, 7).unwrap();
    assert_eq!(
        timed,
        [
            TsKvEntry {
                ts: 1000,
                key: "s".into(),
                value: DataValue::String("x".into()),
            },
            TsKvEntry {
                ts: 1000,
                key: "t".into(),
                value: DataValue::Long(1),
            },
        ]
    );
    // A third key makes `ts` and `values` two ordinary keys at the server's time.
    let plain = parse_telemetry_bytes(br#"{"ts":1000,"values":{"t":1},"x":2.5}"#, 7).unwrap();
    let keys: Vec<_> = plain.iter().map(|e| (e.key.as_str(), e.ts)).collect();
    assert_eq!(keys, [("ts", 7), ("values", 7), ("x", 7)]);
    assert_eq!(plain[0].value, DataValue::Long(1000));
    assert_eq!(plain[2].value, DataValue::Double(2.5));
    assert!(matches!(plain[1].value, DataValue::Json(_)));
}

#[test]
fn a_wrong_shape_is_told_as_such() {
    assert_eq!(
        parse_telemetry_bytes(b"[{\"a\":1},3]", 0),
        Err(shape(NOT_OBJECTS))
    );
    assert_eq!(
        parse_telemetry_bytes(br#"{"ts":"x","values":{"a":1}}"#, 0),
        Err(shape("'ts' must be a number of milliseconds"))
    );
    assert!(matches!(
        parse_telemetry_bytes(b"{\"a\":", 0),
        Err(PayloadError::Json(_))
    ));
}
