//! A JSON Schema (draft 2020-12) validator for the keywords `dsim schema` emits, so the
//! tests can hold the curated scenarios to the published schema without a 40-crate
//! dependency. A keyword it does not know fails the test rather than being skipped: the
//! schema cannot grow a rule that this checker silently ignores.

use serde_json::{Map, Value};

/// Keywords that only annotate (no effect on validity).
const ANNOTATIONS: [&str; 5] = ["$schema", "title", "description", "default", "examples"];

/// Checks `instance` against `schema` (the root, for `$ref`s); one message per violation,
/// each with the instance's JSON pointer.
pub fn errors(schema: &Value, instance: &Value) -> Vec<String> {
    let mut out = Vec::new();
    check(schema, schema, instance, "", &mut out);
    out
}

pub fn is_valid(schema: &Value, instance: &Value) -> bool {
    errors(schema, instance).is_empty()
}

fn check(root: &Value, schema: &Value, v: &Value, at: &str, out: &mut Vec<String>) {
    let s = match schema {
        Value::Bool(true) => return,
        Value::Bool(false) => return out.push(format!("{at}: nothing is allowed here")),
        Value::Object(s) => s,
        other => panic!("not a schema: {other}"),
    };
    for (keyword, rule) in s {
        let k = keyword.as_str();
        match k {
            "$ref" => check(root, resolve(root, rule), v, at, out),
            "$defs" => {}
            "type" => {
                let types: Vec<&str> = match rule {
                    Value::String(t) => vec![t.as_str()],
                    Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                    other => panic!("bad type {other}"),
                };
                if !types.iter().any(|t| has_type(v, t)) {
                    out.push(format!("{at}: {v} is not of type {types:?}"));
                }
            }
            "enum" => {
                let options = rule.as_array().expect("enum is a list");
                if !options.contains(v) {
                    out.push(format!("{at}: {v} is not one of {rule}"));
                }
            }
            "const" if v != rule => out.push(format!("{at}: {v} is not {rule}")),
            "const" => {}
            "properties" | "additionalProperties" | "required" => object(root, s, k, v, at, out),
            "items" => {
                if let Value::Array(items) = v {
                    for (i, item) in items.iter().enumerate() {
                        check(root, rule, item, &format!("{at}/{i}"), out);
                    }
                }
            }
            "minItems" | "maxItems" => {
                if let Value::Array(items) = v {
                    let n = rule.as_u64().expect("a count") as usize;
                    let ok = if k == "minItems" {
                        items.len() >= n
                    } else {
                        items.len() <= n
                    };
                    if !ok {
                        out.push(format!("{at}: {} items breaks {k} {n}", items.len()));
                    }
                }
            }
            "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" => {
                if let (Some(x), Some(limit)) = (v.as_f64(), rule.as_f64()) {
                    let ok = match k {
                        "minimum" => x >= limit,
                        "maximum" => x <= limit,
                        "exclusiveMinimum" => x > limit,
                        _ => x < limit,
                    };
                    if !ok {
                        out.push(format!("{at}: {x} breaks {k} {limit}"));
                    }
                }
            }
            "format" => format(rule.as_str().expect("a format name"), v, at, out),
            "oneOf" | "anyOf" | "allOf" => {
                let passing = rule
                    .as_array()
                    .expect("a list of schemas")
                    .iter()
                    .filter(|sub| errors_in(root, sub, v).is_empty())
                    .count();
                let n = rule.as_array().map_or(0, Vec::len);
                let ok = match k {
                    "oneOf" => passing == 1,
                    "anyOf" => passing >= 1,
                    _ => passing == n,
                };
                if !ok {
                    out.push(format!("{at}: {passing} of {n} schemas of {k} hold"));
                }
            }
            _ if ANNOTATIONS.contains(&k) => {}
            _ => panic!("the schema uses `{k}`, which tests/it/schema_check.rs does not check"),
        }
    }
}

fn errors_in(root: &Value, schema: &Value, v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    check(root, schema, v, "", &mut out);
    out
}

/// `properties`, `required` and `additionalProperties` together (the last depends on the
/// first); run once, on `properties` or whichever of them comes first.
fn object(
    root: &Value,
    s: &Map<String, Value>,
    k: &str,
    v: &Value,
    at: &str,
    out: &mut Vec<String>,
) {
    let first = ["properties", "additionalProperties", "required"]
        .into_iter()
        .find(|key| s.contains_key(*key));
    let Value::Object(fields) = v else { return };
    if first != Some(k) {
        return;
    }
    let properties = s.get("properties").and_then(Value::as_object);
    for name in s
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = name.as_str().expect("required names are strings");
        if !fields.contains_key(name) {
            out.push(format!("{at}: `{name}` is required"));
        }
    }
    for (name, value) in fields {
        let path = format!("{at}/{name}");
        match properties.and_then(|p| p.get(name)) {
            Some(sub) => check(root, sub, value, &path, out),
            None => {
                if let Some(extra) = s.get("additionalProperties") {
                    check(root, extra, value, &path, out);
                }
            }
        }
    }
}

fn resolve<'a>(root: &'a Value, reference: &Value) -> &'a Value {
    let r = reference.as_str().expect("$ref is a string");
    let pointer = r
        .strip_prefix('#')
        .unwrap_or_else(|| panic!("only local $refs: {r}"));
    root.pointer(pointer)
        .unwrap_or_else(|| panic!("$ref {r} points at nothing"))
}

fn has_type(v: &Value, t: &str) -> bool {
    match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "number" => v.is_number(),
        // 2020-12: a number with a zero fractional part is an integer.
        "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|x| x.fract() == 0.0),
        other => panic!("unknown type {other}"),
    }
}

/// The numeric formats schemars writes; any other format fails the test.
fn format(name: &str, v: &Value, at: &str, out: &mut Vec<String>) {
    let Some(x) = v.as_f64() else { return };
    let range = match name {
        "uint8" => Some((0.0, 255.0)),
        "uint16" => Some((0.0, 65_535.0)),
        "uint32" => Some((0.0, 4_294_967_295.0)),
        "uint64" | "uint" => Some((0.0, 18_446_744_073_709_551_615.0)),
        "int32" => Some((-2_147_483_648.0, 2_147_483_647.0)),
        "int64" | "int" => Some((-9.223_372_036_854_776e18, 9.223_372_036_854_776e18)),
        "float" | "double" => None,
        other => panic!("the schema uses format `{other}`, which schema_check.rs does not check"),
    };
    if let Some((lo, hi)) = range
        && !(lo..=hi).contains(&x)
    {
        out.push(format!("{at}: {x} is not a {name}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The checker itself: each keyword refuses what it should.
    #[test]
    fn the_schema_checker_refuses_what_each_keyword_forbids() {
        let schema = json!({
            "type": "object", "required": ["a"], "additionalProperties": false,
            "properties": {
                "a": {"type": "integer", "minimum": 1, "format": "uint32"},
                "b": {"$ref": "#/$defs/B"},
                "c": {"type": "array", "items": {"enum": ["x", "y"]}, "maxItems": 2},
                "d": {"oneOf": [{"type": "number"}, {"const": "auto"}]}
            },
            "$defs": {"B": {"type": "string"}}
        });
        assert!(is_valid(
            &schema,
            &json!({"a": 1, "b": "s", "c": ["x"], "d": "auto"})
        ));
        for bad in [
            json!({}),
            json!({"a": 0}),
            json!({"a": 1.5}),
            json!({"a": 4_294_967_296u64}),
            json!({"a": 1, "b": 2}),
            json!({"a": 1, "c": ["z"]}),
            json!({"a": 1, "c": ["x", "y", "x"]}),
            json!({"a": 1, "d": "never"}),
            json!({"a": 1, "e": 1}),
        ] {
            assert!(!is_valid(&schema, &bad), "{bad} should be refused");
        }
    }
}
