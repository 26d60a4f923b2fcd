//! The hand-written `Deserialize` for components: read `kind` first, then deserialize the
//! matching struct from the rest of the same map. Derived internally-tagged enums buffer the
//! map and lose the error position; this keeps exact paths and line:column.

use crate::scenario::raw::*;
use crate::scenario::suggest::hint;
use serde::de::{
    self, Deserialize, Deserializer, MapAccess, Visitor, value::MapAccessDeserializer,
};
use std::fmt;

impl<'de> Deserialize<'de> for RawComponent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ComponentVisitor)
    }
}

struct ComponentVisitor;

impl<'de> Visitor<'de> for ComponentVisitor {
    type Value = RawComponent;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a component object starting with \"kind\"")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawComponent, A::Error> {
        let kinds = COMPONENT_KINDS.join(", ");
        match map.next_key::<String>()?.as_deref() {
            Some("kind") => {}
            Some(other) => {
                return Err(de::Error::custom(format!(
                    "\"kind\" must be the first key of a component (found `{other}` first); move \"kind\": \"<{kinds}>\" to the top"
                )));
            }
            None => {
                return Err(de::Error::custom(format!(
                    "a component needs \"kind\" first, one of {kinds}"
                )));
            }
        }
        let kind: String = map.next_value()?;
        let rest = MapAccessDeserializer::new(map);
        match kind.as_str() {
            "service" => RawService::deserialize(rest).map(RawComponent::Service),
            "load_balancer" => RawLoadBalancer::deserialize(rest).map(RawComponent::LoadBalancer),
            "cache" => RawCache::deserialize(rest).map(RawComponent::Cache),
            "database" => RawDatabase::deserialize(rest).map(RawComponent::Database),
            other => {
                let h = hint(other, COMPONENT_KINDS);
                Err(de::Error::custom(format!(
                    "unknown component kind `{other}`{h} (kinds: {kinds})"
                )))
            }
        }
    }
}
