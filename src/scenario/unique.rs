//! Names given twice are refused, everywhere. serde_json keeps the last of two equal keys in a
//! map, so `"components": {"db": …, "db": …}` would silently drop the first database; derived
//! structs refuse a repeated field, but maps and buffered objects do not. `map` is the
//! `deserialize_with` for every map of the raw types, and `StrictValue` reads any JSON value
//! (a component whose `kind` is not its first key is buffered through it) refusing repeated
//! keys at every depth.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

pub(crate) fn twice<E: de::Error>(key: &str) -> E {
    E::custom(format!(
        "`{key}` is given twice (JSON would keep only the last): give each name once"
    ))
}

/// A map with string keys, refusing a key given twice (at that key's position).
pub(super) fn map<'de, D, V>(d: D) -> Result<BTreeMap<String, V>, D::Error>
where
    D: Deserializer<'de>,
    V: Deserialize<'de>,
{
    struct MapVisitor<V>(PhantomData<V>);
    impl<'de, V: Deserialize<'de>> Visitor<'de> for MapVisitor<V> {
        type Value = BTreeMap<String, V>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an object of names")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some(key) = access.next_key::<String>()? {
                if out.contains_key(&key) {
                    return Err(twice(&key));
                }
                let value = access.next_value()?;
                out.insert(key, value);
            }
            Ok(out)
        }
    }
    d.deserialize_map(MapVisitor(PhantomData))
}

/// Any JSON value, refusing a key given twice in any object within it.
pub(super) struct StrictValue(pub Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = StrictValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::from(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::from(v)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::from(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::String(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::String(v)))
    }
    fn visit_unit<E>(self) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::Null))
    }
    fn visit_none<E>(self) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::Null))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<StrictValue, D::Error> {
        StrictValue::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StrictValue, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(StrictValue(Value::Array(items)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<StrictValue, A::Error> {
        let mut out = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(twice(&key));
            }
            let StrictValue(v) = access.next_value()?;
            out.insert(key, v);
        }
        Ok(StrictValue(Value::Object(out)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_given_twice_is_refused_at_any_depth() {
        let strict = |t: &str| serde_json::from_str::<StrictValue>(t).map(|v| v.0);
        assert!(strict(r#"{"a": {"b": [1, {"c": 1}]}, "d": null}"#).is_ok());
        let e = strict(r#"{"a": {"b": 1, "b": 2}}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`b` is given twice"), "{e}");
        #[derive(serde::Deserialize)]
        struct M {
            #[serde(deserialize_with = "map")]
            m: BTreeMap<String, u32>,
        }
        let m = serde_json::from_str::<M>(r#"{"m": {"x": 1, "y": 2}}"#).ok();
        assert_eq!(m.map(|m| m.m.len()), Some(2));
        let e = serde_json::from_str::<M>(r#"{"m": {"x": 1, "x": 2}}"#)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("`x` is given twice"), "{e}");
    }
}
