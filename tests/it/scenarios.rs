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
