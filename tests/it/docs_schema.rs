//! docs/scenario-format.md against `dsim schema`: every field the schema accepts is
//! documented, and every field the docs' tables describe is one the schema accepts. A field
//! added to the format without its line in the docs, or a documented field that was renamed
//! or removed, fails here.

use crate::common::dsim;
use serde_json::Value;
use std::collections::BTreeSet;

/// Every property name anywhere in the schema (objects' `properties`, in `$defs` too).
fn schema_fields(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::Object(props)) = map.get("properties") {
                out.extend(props.keys().cloned());
            }
            map.values().for_each(|x| schema_fields(x, out));
        }
        Value::Array(xs) => xs.iter().for_each(|x| schema_fields(x, out)),
        _ => {}
    }
}

/// The part of the docs that describes the input (before `## Outputs`).
fn input_docs() -> String {
    let docs = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/scenario-format.md"
    ))
    .unwrap();
    let end = docs
        .find("\n## Outputs")
        .expect("the docs have an Outputs section");
    docs[..end].to_string()
}

/// Every `word` in backticks, and every `"key"` quoted in a backticked example such as
/// `{"ramp": {"from": A, …}}`.
fn backticked(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for code in text.split('`').skip(1).step_by(2) {
        out.insert(code.to_string());
        out.extend(code.split('"').skip(1).step_by(2).map(str::to_string));
    }
    out
}

/// The first cell of every row of the field tables (`| field | type | …`), backticks off.
fn table_fields(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut in_field_table = false;
    for line in text.lines() {
        if !line.starts_with('|') {
            in_field_table = false;
            continue;
        }
        if line.starts_with("| field | type |") {
            in_field_table = true;
            continue;
        }
        if in_field_table && !line.starts_with("|---") {
            // A cell may name several fields: `mean_ms`, `p50_ms`, …
            let cell = line.split('|').nth(1).unwrap_or("");
            out.extend(cell.split('`').skip(1).step_by(2).map(str::to_string));
        }
    }
    out
}

#[test]
fn the_docs_describe_every_field_of_the_schema_and_no_other() {
    let out = dsim().arg("schema").output().unwrap();
    let schema: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut fields = BTreeSet::new();
    schema_fields(&schema, &mut fields);
    assert!(fields.len() > 80, "the schema has its fields: {fields:?}");
    let docs = input_docs();
    let mentioned = backticked(&docs);
    let undocumented: Vec<&String> = fields.difference(&mentioned).collect();
    assert!(
        undocumented.is_empty(),
        "fields the schema accepts but docs/scenario-format.md never names: {undocumented:?}"
    );
    let described = table_fields(&docs);
    assert!(described.len() > 50, "{described:?}");
    let unknown: Vec<&String> = described.difference(&fields).collect();
    assert!(
        unknown.is_empty(),
        "fields docs/scenario-format.md describes but the schema does not accept: {unknown:?}"
    );
}
