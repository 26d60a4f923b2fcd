//! Every curated scenario: valid against `dsim schema`, runs, and its outcomes add up.

use crate::common::{dsim, num, run_file_json, scenario_files};
use serde_json::Value;

#[test]
fn every_scenario_matches_the_published_schema() {
    let out = dsim().arg("schema").output().unwrap();
    assert!(out.status.success());
    let schema: Value = serde_json::from_slice(&out.stdout).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let files = scenario_files();
    assert!(files.len() >= 5, "scenarios/ holds the curated scenarios");
    for file in files {
        let instance: Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
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
    let validator = jsonschema::validator_for(&schema).unwrap();
    let typo = serde_json::json!({"name": "x", "duration_s": 1, "durration_s": 2,
        "workload": {"model": {"open": {"rate_per_s": 1}}, "entry": "a"}, "components": {}});
    assert!(!validator.is_valid(&typo), "unknown fields are refused");
}

/// Runs every scenario except the 2M-user one (minutes in a debug build; its figures are in
/// the closing notes and docs) and checks the outcome identity.
#[test]
fn every_scenario_runs_and_its_outcomes_add_up() {
    for file in scenario_files() {
        if file.to_string_lossy().contains("2m-users") {
            continue;
        }
        let r: Value = serde_json::from_str(&run_file_json(&file)).unwrap();
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
    }
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
