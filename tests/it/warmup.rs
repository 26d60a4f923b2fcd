//! `"warmup_s": "auto"`: MSER on a pilot run cuts an initial transient and leaves the
//! steady state, whose mean then matches queueing theory.

use crate::common::{num, run_summary};
use serde_json::{Value, json};

/// M/M/1 at ρ = 0.5 (500/s, 1 ms mean service, no network delay) whose first 4 s run 20×
/// slower: a backlog of about 1,800 requests builds and drains by about 8 s.
fn transient(warmup: Value) -> Value {
    json!({"name": "transient", "duration_s": 60, "warmup_s": warmup, "interval_s": 0.5,
        "network": {"client_link": {"latency_ms": {"constant": {"ms": 0}}}},
        "workload": {"model": {"open": {"rate_per_s": 500}}, "entry": "api"},
        "components": {"api": {"kind": "service", "machine": {"cores": 1},
            "workers": 1, "queue_capacity": 1000000,
            "handlers": {"default": [{"cpu_ms": {"exponential": {"mean_ms": 1}}}]}}},
        "faults": [{"slow": {"component": "api", "factor": 20, "at_s": 0, "duration_s": 4}}]})
}

#[test]
fn auto_warmup_cuts_the_transient_and_the_rest_matches_mm1() {
    // M/M/1: W = 1/(μ − λ) = 1/(1000 − 500) s = 2 ms.
    let theory_ms = 2.0;
    let from_zero = run_summary(&transient(json!(0)), 1);
    assert!(
        num(&from_zero, "/latency_ms/mean") > 5.0 * theory_ms,
        "the transient should dominate a run measured from 0"
    );
    for seed in 1..=3 {
        let auto = run_summary(&transient(json!("auto")), seed);
        let warmup = num(&auto, "/warmup_s");
        assert!(
            (5.0..=15.0).contains(&warmup),
            "seed {seed}: warm-up {warmup} s, expected after the backlog drains (~8 s)"
        );
        assert_eq!(auto["warmup_auto"]["method"], "MSER-5");
        assert_eq!(num(&auto, "/warmup_auto/batch_s"), 2.5);
        // About 25,000 requests; the mean's relative standard error at ρ = 0.5 is about
        // 1.5 %, so 10 % is over 6 standard errors and fails only for a real bias.
        let mean = num(&auto, "/latency_ms/mean");
        assert!(
            (mean - theory_ms).abs() < 0.1 * theory_ms,
            "seed {seed}: mean {mean} ms against M/M/1's {theory_ms} ms"
        );
    }
}

#[test]
fn auto_warmup_needs_enough_intervals_and_a_word_it_knows() {
    let short = json!({"name": "s", "duration_s": 5, "warmup_s": "auto",
        "workload": {"model": {"open": {"rate_per_s": 10}}, "entry": "api"},
        "components": {"api": {"kind": "service", "machine": {"cores": 1},
            "handlers": {"default": [{"cpu_ms": {"constant": {"ms": 1}}}]}}}});
    let refused = |scenario: &Value| {
        let path = crate::common::write_scenario(scenario);
        let out = crate::common::dsim()
            .arg("validate")
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let text = refused(&short);
    assert!(
        text.contains("warmup_s: \"auto\" needs at least 10 intervals"),
        "{text}"
    );

    let mut typo = short.clone();
    typo["warmup_s"] = json!("automatic");
    typo["duration_s"] = json!(60);
    let text = refused(&typo);
    assert!(
        text.contains("warmup_s") && text.contains("expected seconds (a number) or \"auto\""),
        "{text}"
    );
}
