//! Hand-written `Deserialize`s. `warmup_s` takes a number or the word "auto", with an error
//! that says so. Components: read `kind` first, then deserialize the
//! matching struct from the rest of the same map. Derived internally-tagged enums buffer the
//! map and lose the error position; this keeps exact paths and line:column whenever `kind`
//! is the first key, and still accepts it anywhere else (generated JSON often sorts keys).

use crate::scenario::raw::*;
use crate::scenario::suggest::hint;
use crate::scenario::unique::StrictValue;
use serde::de::{
    self, Deserialize, Deserializer, MapAccess, Visitor, value::MapAccessDeserializer,
};
use serde_json::{Map, Value};
use std::fmt;

impl<'de> Deserialize<'de> for RawWarmup {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct WarmupVisitor;
        impl Visitor<'_> for WarmupVisitor {
            type Value = RawWarmup;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("seconds (a number) or \"auto\"")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawWarmup, E> {
                Ok(RawWarmup::Seconds(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawWarmup, E> {
                Ok(RawWarmup::Seconds(v as f64))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawWarmup, E> {
                Ok(RawWarmup::Seconds(v as f64))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawWarmup, E> {
                if v == "auto" {
                    Ok(RawWarmup::Auto(AutoWord::Auto))
                } else {
                    Err(E::custom(format!(
                        "expected seconds (a number) or \"auto\", got \"{v}\""
                    )))
                }
            }
        }
        d.deserialize_any(WarmupVisitor)
    }
}

impl<'de> Deserialize<'de> for RawComponent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ComponentVisitor)
    }
}

fn unknown_kind(kind: &str) -> String {
    let h = hint(kind, COMPONENT_KINDS);
    format!(
        "unknown component kind `{kind}`{h} (kinds: {})",
        COMPONENT_KINDS.join(", ")
    )
}

fn missing_kind() -> String {
    format!(
        "a component needs \"kind\", one of {}",
        COMPONENT_KINDS.join(", ")
    )
}

struct ComponentVisitor;

impl<'de> Visitor<'de> for ComponentVisitor {
    type Value = RawComponent;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a component object with \"kind\"")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawComponent, A::Error> {
        match map.next_key::<String>()?.as_deref() {
            Some("kind") => {}
            Some(other) => return buffered(other.to_string(), map),
            None => return Err(de::Error::custom(missing_kind())),
        }
        let kind: String = map.next_value()?;
        of_kind(&kind, MapAccessDeserializer::new(map))
    }
}

/// The one list of component kinds: the component of kind `kind`, read from `rest` (the
/// object's other fields).
fn of_kind<'de, D: Deserializer<'de>>(kind: &str, rest: D) -> Result<RawComponent, D::Error> {
    match kind {
        "service" => RawService::deserialize(rest).map(RawComponent::Service),
        "load_balancer" => RawLoadBalancer::deserialize(rest).map(RawComponent::LoadBalancer),
        "gateway" => RawLoadBalancer::deserialize(rest).map(RawComponent::Gateway),
        "cache" => RawCache::deserialize(rest).map(RawComponent::Cache),
        "database" => RawDatabase::deserialize(rest).map(RawComponent::Database),
        "dns" => RawDns::deserialize(rest).map(RawComponent::Dns),
        "queue" => RawQueue::deserialize(rest).map(RawComponent::Queue),
        "topic" => RawTopic::deserialize(rest).map(RawComponent::Topic),
        "log" => RawLog::deserialize(rest).map(RawComponent::Log),
        other => Err(de::Error::custom(unknown_kind(other))),
    }
}

/// `kind` is not the first key: read the whole object, then deserialize the variant from it.
/// Errors keep their path inside the component but point at the component's end, so the
/// message suggests putting `kind` first.
fn buffered<'de, A: MapAccess<'de>>(first: String, mut map: A) -> Result<RawComponent, A::Error> {
    let mut object = Map::new();
    let StrictValue(value) = map.next_value()?;
    object.insert(first, value);
    while let Some(k) = map.next_key::<String>()? {
        if object.contains_key(&k) {
            return Err(crate::scenario::unique::twice(&k));
        }
        let StrictValue(v) = map.next_value()?;
        object.insert(k, v);
    }
    let kind = match object.remove("kind") {
        Some(Value::String(k)) => k,
        Some(other) => {
            return Err(de::Error::custom(format!(
                "\"kind\" must be a string, got {other}"
            )));
        }
        None => return Err(de::Error::custom(missing_kind())),
    };
    if !COMPONENT_KINDS.contains(&kind.as_str()) {
        return Err(de::Error::custom(unknown_kind(&kind)));
    }
    let mut track = serde_path_to_error::Track::new();
    let rest = serde_path_to_error::Deserializer::new(Value::Object(object), &mut track);
    of_kind(&kind, rest).map_err(|e| {
        de::Error::custom(format!(
            "{}: {e} (put \"kind\" first in the component for an exact line and column)",
            track.path()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind the messages list is one `of_kind` reads, and no other.
    #[test]
    fn the_listed_kinds_are_the_kinds_read() {
        for kind in COMPONENT_KINDS {
            let rest = serde_json::json!({});
            let err = of_kind(kind, rest).err().map(|e| e.to_string());
            assert!(
                !err.as_deref()
                    .unwrap_or("")
                    .contains("unknown component kind"),
                "{kind}: {err:?}"
            );
        }
        let err = of_kind("stream", serde_json::json!({})).unwrap_err();
        assert!(err.to_string().contains("unknown component kind `stream`"));
    }
}
