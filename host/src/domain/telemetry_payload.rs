//! A telemetry payload read straight into entries, for every sender
//! (device MQTT, the HTTP device API, gateways, REST): no
//! `serde_json::Value` tree is built for it, only the strings the entries
//! keep. The tree (a map node and a key string per value, copied again
//! into the entries, then freed) took a third of a small payload's
//! parsing: the benchmark's 3-key payload parses in 314–365 ns this way
//! against 489–497 ns through the tree.
//!
//! The outcome is the one a `Value` tree read gives (the tests hold it to
//! such a reader over every shape, good and bad): entries of an object
//! in key order, a repeated key's last value winning,
//! nulls skipped, and `{"ts":..,"values":{..}}` read as timed only when
//! those are its only two keys and `values` is an object. The two keys are
//! kept as raw JSON until the object ends, because until then it is not
//! known whether they are the timed form or two ordinary keys.

use std::fmt;

use serde::Deserializer as _;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use super::telemetry::{
    DataValue, NOT_OBJECTS, PayloadError, TsKvEntry, check_key, parse_ts, shape,
};

/// Telemetry in every form ThingsBoard accepts, from the payload's bytes:
/// `{"k":v}`, `[{"k":v}]`, `{"ts":ms,"values":{..}}`, or an array of those.
pub fn parse_telemetry_bytes(
    payload: &[u8],
    server_ts: i64,
) -> Result<Vec<TsKvEntry>, PayloadError> {
    let mut out = Vec::new();
    // A payload that is valid JSON of the wrong shape is told so, not
    // given a JSON syntax error: an item's own reason is left here, and
    // a value of the wrong type is a data error to serde.
    let mut refused = None;
    let mut de = serde_json::Deserializer::from_slice(payload);
    let read = Items {
        server_ts,
        out: &mut out,
        refused: &mut refused,
        array: true,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end());
    match (read, refused) {
        (_, Some(reason)) => Err(reason),
        (Err(e), None) if e.classify() == serde_json::error::Category::Data => {
            Err(shape(NOT_OBJECTS))
        }
        (Err(e), None) => Err(e.into()),
        (Ok(()), None) => Ok(out),
    }
}

/// The payload's items (plain or timed objects), appended to `out`: one
/// object, or, when `array`, an array of them.
struct Items<'a> {
    server_ts: i64,
    out: &'a mut Vec<TsKvEntry>,
    refused: &'a mut Option<PayloadError>,
    array: bool,
}

impl<'de> DeserializeSeed<'de> for Items<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Items<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(NOT_OBJECTS)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        if !self.array {
            return Err(de::Error::invalid_type(de::Unexpected::Seq, &self));
        }
        while items
            .next_element_seed(Items {
                server_ts: self.server_ts,
                out: &mut *self.out,
                refused: &mut *self.refused,
                array: false,
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut plain: Vec<(String, Option<DataValue>)> = Vec::new();
        let (mut ts, mut values): (Option<&'de RawValue>, Option<&'de RawValue>) = (None, None);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "ts" => ts = Some(map.next_value()?),
                "values" => values = Some(map.next_value()?),
                _ => plain.push((key, map.next_value_seed(Typed)?)),
            }
        }
        let timed = match (ts, values) {
            (Some(ts), Some(values)) if plain.is_empty() && values.get().starts_with('{') => {
                Some((ts, values))
            }
            _ => None,
        };
        let done = match timed {
            Some((ts, values)) => push_timed(ts, values, self.out),
            None => {
                for (key, raw) in [("ts", ts), ("values", values)] {
                    if let Some(raw) = raw {
                        plain.push((key.to_owned(), typed_raw(raw)));
                    }
                }
                push_plain(plain, self.server_ts, self.out)
            }
        };
        done.map_err(|reason| {
            // Stops the parser; the reason itself is what the caller hears.
            let e = de::Error::custom(&reason);
            *self.refused = Some(reason);
            e
        })
    }
}

/// `{"ts":..,"values":{..}}`: the values at that time.
fn push_timed(
    ts: &RawValue,
    values: &RawValue,
    out: &mut Vec<TsKvEntry>,
) -> Result<(), PayloadError> {
    let ts = parse_ts(&serde_json::from_str::<Value>(ts.get())?)?;
    let mut plain = Vec::new();
    serde_json::Deserializer::from_str(values.get()).deserialize_map(Plain(&mut plain))?;
    push_plain(plain, ts, out)
}

/// A raw JSON value typed as an ordinary key's value.
fn typed_raw(raw: &RawValue) -> Option<DataValue> {
    // It was parsed once already, so it is valid JSON.
    Typed
        .deserialize(&mut serde_json::Deserializer::from_str(raw.get()))
        .ok()
        .flatten()
}

/// Appends an object's entries at `ts` as a map would hold them: in key
/// order, a repeated key's last value winning, nulls left out.
fn push_plain(
    mut plain: Vec<(String, Option<DataValue>)>,
    ts: i64,
    out: &mut Vec<TsKvEntry>,
) -> Result<(), PayloadError> {
    // Stable: of a repeated key, the value that came last stays last.
    plain.sort_by(|a, b| a.0.cmp(&b.0));
    let mut entries = plain.into_iter().peekable();
    while let Some((key, value)) = entries.next() {
        if entries.peek().is_some_and(|(next, _)| *next == key) {
            continue;
        }
        check_key(&key)?;
        if let Some(value) = value {
            out.push(TsKvEntry { ts, key, value });
        }
    }
    Ok(())
}

/// The entries of a `values` object, keys and typed values as they come.
struct Plain<'a>(&'a mut Vec<(String, Option<DataValue>)>);

impl<'de> Visitor<'de> for Plain<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            self.0.push((key, map.next_value_seed(Typed)?));
        }
        Ok(())
    }
}

/// One value, typed as ThingsBoard types it (`None` for null); only an
/// object or array is built as a JSON tree, since it is kept as one.
struct Typed;

impl<'de> DeserializeSeed<'de> for Typed {
    type Value = Option<DataValue>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Typed {
    type Value = Option<DataValue>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Self::Value, E> {
        Ok(Some(DataValue::Boolean(b)))
    }
    fn visit_i64<E>(self, i: i64) -> Result<Self::Value, E> {
        Ok(Some(DataValue::Long(i)))
    }
    fn visit_u64<E>(self, u: u64) -> Result<Self::Value, E> {
        // Past i64, a number is a DOUBLE, as `DataValue::from_json` has it.
        Ok(Some(
            i64::try_from(u).map_or(DataValue::Double(u as f64), DataValue::Long),
        ))
    }
    fn visit_f64<E>(self, d: f64) -> Result<Self::Value, E> {
        Ok(Some(DataValue::Double(d)))
    }
    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Some(DataValue::String(s.to_owned())))
    }
    fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
        Ok(Some(DataValue::String(s)))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        let v: Value = serde::Deserialize::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        Ok(Some(DataValue::Json(v)))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let v: Value = serde::Deserialize::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(Some(DataValue::Json(v)))
    }
}

#[cfg(test)]
mod tests;
