//! Every curated scenario: valid against `dsim schema`, runs, and its outcomes add up.

use crate::common::{dsim, num, run_file_json, scenario_files};
use crate::golden::compare_with_golden;
use crate::schema_check;
use serde_json::Value;

#[test]
fn every_scenario_matches_the_published_schema() {
    let out = dsim().arg("schema").output().unwrap();
    assert!(out.status.success());
    let schema: Value = serde_json::from_slice(&out.stdout).unwrap();
    let files = scenario_files();
    assert!(files.len() >= 5, "scenarios/ holds the curated scenarios");
    for file in files {
        let instance: Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let errors = schema_check::errors(&schema, &instance);
        assert!(errors.is_empty(), "{}: {errors:?}", file.display());
        assert!(
            instance["description"]
                .as_str()
                .is_some_and(|d| d.len() > 20),
            "{} needs a description",
            file.display()
        );
    }
}

#[test]
fn the_schema_rejects_what_dsim_rejects() {
    let out = dsim().arg("schema").output().unwrap();
    let schema: Value = serde_json::from_slice(&out.stdout).unwrap();
    let typo = serde_json::json!({"name": "x", "duration_s": 1, "durration_s": 2,
        "workload": {"model": {"open": {"rate_per_s": 1}}, "entry": "a"}, "components": {}});
    assert!(
        !schema_check::is_valid(&schema, &typo),
        "unknown fields are refused"
    );
    // Ranges too, so an editor flags them before dsim does.
    let scenario = |machine: Value, duration_s: f64| {
        serde_json::json!({"name": "x", "duration_s": duration_s,
            "workload": {"model": {"open": {"rate_per_s": 1}}, "entry": "a"},
            "components": {"a": {"kind": "service", "machine": machine,
                "handlers": {"default": []}}}})
    };
    let ok = serde_json::json!({"cores": 1, "cpu_speed": 1});
    assert!(schema_check::is_valid(&schema, &scenario(ok.clone(), 1.0)));
    assert!(!schema_check::is_valid(
        &schema,
        &scenario(serde_json::json!({"cores": 0}), 1.0)
    ));
    let slow = serde_json::json!({"cores": 1, "cpu_speed": 0});
    assert!(!schema_check::is_valid(&schema, &scenario(slow, 1.0)));
    assert!(!schema_check::is_valid(&schema, &scenario(ok, 1e9)));
}

/// Runs every scenario except the 2M-user one (a minute in a debug build; its figures are in
/// docs/performance.md), checks the outcome identity, and compares the summary with its golden
/// copy so that any change in results is reviewed (`crate::golden`).
#[test]
fn every_scenario_runs_adds_up_and_matches_its_golden_summary() {
    let mut changed = Vec::new();
    for file in scenario_files() {
        let text = run_file_json(&file);
        let r: Value = serde_json::from_str(&text).unwrap();
        let parts = ["completed", "rejected", "timed_out", "failed"]
            .map(|k| num(&r, &format!("/requests/{k}")));
        assert_eq!(
            num(&r, "/requests/total"),
            parts.iter().sum::<f64>(),
            "{}",
            file.display()
        );
        assert!(
            num(&r, "/requests/total") > 0.0,
            "{} sends requests",
            file.display()
        );
        let stem = file.file_stem().unwrap().to_string_lossy();
        changed.extend(compare_with_golden(&stem, &text));
    }
    assert!(
        changed.is_empty(),
        "results changed (review, then UPDATE_GOLDEN=1 to accept):\n{}",
        changed.join("\n")
    );
}

/// The annotated scenario in the README runs as printed (once its `//` comments are removed).
#[test]
fn the_readme_scenario_runs() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let block = readme
        .split("```jsonc")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("README has a jsonc block");
    let json: String = block
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let scenario: Value =
        serde_json::from_str(&json).expect("README scenario is JSON without its comments");
    let r = crate::common::run_summary(&scenario, 1);
    assert_eq!(
        num(&r, "/error_rate"),
        0.0,
        "the README example is a healthy system"
    );
    assert!(num(&r, "/throughput_rps") > 1000.0);
}
