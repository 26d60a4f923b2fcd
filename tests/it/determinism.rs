//! Same scenario and seed ⇒ the same bytes; another seed ⇒ other results; adding a component
//! nobody calls leaves everyone else's random draws, and so their results, unchanged.

use crate::common::{dsim, run_ok, temp_dir, write_scenario};
use serde_json::{Value, json};

fn scenario() -> Value {
    json!({
        "name": "determinism",
        "duration_s": 10,
        "warmup_s": 1,
        "workload": {
            "model": {"closed": {"users": 300, "think_time_ms": {"exponential": {"mean_ms": 100}}}},
            "entry": "lb",
            "timeout_ms": 500,
            "retry": {"max_attempts": 3},
            "classes": {"read": {"weight": 3, "keys": {"zipf": {"count": 1000, "exponent": 1.0}}}, "write": {}}
        },
        "components": {
            "lb": {"kind": "load_balancer", "backends": ["api"], "policy": "power_of_two_choices",
                   "health_check": {"interval_ms": 500}},
            "api": {"kind": "service", "replicas": 3, "machine": {"cores": 2}, "workers": 8, "queue_capacity": 20,
                    "handlers": {"read": [{"cpu_ms": {"lognormal": {"mean_ms": 2, "std_ms": 1}}}, {"call": "cache"}],
                                 "write": [{"cpu_ms": {"exponential": {"mean_ms": 3}}}, {"call": "db"}]},
                    "connection_pools": {"db": {"size": 4}}},
            "cache": {"kind": "cache", "machine": {"cores": 1}, "backing": "db", "policy": {"lru": {"capacity_keys": 100}}},
            "db": {"kind": "database", "machine": {"cores": 2, "max_connections": 50},
                   "queries": {"default": {"cpu_ms": {"exponential": {"mean_ms": 1}}, "disk_ios": 1}}}
        },
        "faults": [{"crash": {"component": "api", "replica": 2, "at_s": 4, "recover_after_s": 2}}]
    })
}

fn run_to_dir(scenario: &Value, seed: u64) -> (Vec<u8>, Vec<u8>) {
    let path = write_scenario(scenario);
    let out = temp_dir("det");
    run_ok(
        dsim()
            .args(["run", "--quiet", "--seed", &seed.to_string(), "--out"])
            .arg(&out)
            .arg(&path),
    );
    (
        std::fs::read(out.join("summary.json")).unwrap(),
        std::fs::read(out.join("timeseries.csv")).unwrap(),
    )
}

#[test]
fn same_seed_gives_identical_bytes() {
    let s = scenario();
    let (a_json, a_csv) = run_to_dir(&s, 7);
    let (b_json, b_csv) = run_to_dir(&s, 7);
    assert_eq!(
        a_json, b_json,
        "summary.json differs between identical runs"
    );
    assert_eq!(
        a_csv, b_csv,
        "timeseries.csv differs between identical runs"
    );
    let summary: Value = serde_json::from_slice(&a_json).unwrap();
    assert!(
        summary["requests"]["completed"].as_u64().unwrap() > 1000,
        "the run did real work"
    );
}

#[test]
fn another_seed_gives_other_results() {
    let s = scenario();
    let (a, _) = run_to_dir(&s, 7);
    let (b, _) = run_to_dir(&s, 8);
    let (a, b): (Value, Value) = (
        serde_json::from_slice(&a).unwrap(),
        serde_json::from_slice(&b).unwrap(),
    );
    assert_ne!(a["latency_ms"], b["latency_ms"]);
    assert_eq!(a["seed"], 7);
    assert_eq!(b["seed"], 8);
}

#[test]
fn an_unrelated_component_does_not_shift_other_draws() {
    let s = scenario();
    let mut with_extra = s.clone();
    // Sorted first by name, so every other component's index shifts; draws must not.
    with_extra["components"]["aaa-unused"] = json!({
        "kind": "service", "machine": {"cores": 1},
        "handlers": {"default": [{"cpu_ms": {"exponential": {"mean_ms": 1}}}]}
    });
    let (a, _) = run_to_dir(&s, 3);
    let (b, _) = run_to_dir(&with_extra, 3);
    let (a, b): (Value, Value) = (
        serde_json::from_slice(&a).unwrap(),
        serde_json::from_slice(&b).unwrap(),
    );
    assert_eq!(a["requests"], b["requests"]);
    assert_eq!(a["latency_ms"], b["latency_ms"]);
    for name in ["api", "cache", "db", "lb"] {
        assert_eq!(
            a["components"][name], b["components"][name],
            "component {name} changed"
        );
    }
}

/// `dsim run --check-determinism` runs twice, compares the bytes and says so.
#[test]
fn check_determinism_confirms_identical_runs() {
    let path = crate::common::write_scenario(&scenario());
    let out = crate::common::run_ok(
        crate::common::dsim()
            .args(["run", "--check-determinism", "--no-write"])
            .arg(&path),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "deterministic: a second run gave byte-identical summary.json and timeseries.csv"
        ),
        "{stderr}"
    );
}

/// `--set PATH=VALUE` gives exactly the run of the file edited by hand, and a bad override is
/// refused with exit 2, naming the override and the field.
#[test]
fn set_overrides_equal_editing_the_file() {
    let mut edited = scenario();
    edited["duration_s"] = serde_json::json!(7);
    let by_hand = crate::common::run_summary(&edited, 3);
    let path = crate::common::write_scenario(&scenario());
    let out = crate::common::run_ok(
        crate::common::dsim()
            .args(["run", "--format", "json", "--no-write", "--seed", "3"])
            .args(["--set", "duration_s=7"])
            .arg(&path),
    );
    let by_set: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(by_set, by_hand);

    let out = crate::common::dsim()
        .args(["run", "--no-write", "--set", "duration_s=-1"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.ends_with(
            "with --set duration_s=-1: duration_s: must be a finite number > 0, got -1\n"
        ),
        "{err}"
    );
}
