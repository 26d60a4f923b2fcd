//! `dsim run --replications N`: independent seeds in parallel, every headline figure as mean
//! ± 95% interval. The interval must hold the textbook value and must not depend on threads.

use crate::common::{dsim, run_ok, write_scenario};
use serde_json::{Value, json};

/// M/M/1 at ρ = 0.8: λ = 800/s, μ = 1000/s, so the mean time in system is
/// 1 / (μ − λ) = 5 ms.
fn mm1() -> Value {
    json!({"name": "mm1-replicated", "duration_s": 20, "warmup_s": 2,
        "network": {"client_link": {"latency_ms": {"constant": {"ms": 0}}},
                    "default_link": {"latency_ms": {"constant": {"ms": 0}}}},
        "workload": {"model": {"open": {"rate_per_s": 800}}, "entry": "station",
            "timeout_ms": 1e9, "classes": {"only": {"request_bytes": 0, "response_bytes": 0}}},
        "components": {"station": {"kind": "service",
            "machine": {"cores": 1, "memory_per_connection_kb": 0, "memory_per_request_kb": 0},
            "workers": 1, "queue_capacity": 10_000_000,
            "handlers": {"default": [{"cpu_ms": {"exponential": {"mean_ms": 1}}}]}}}})
}

fn replicated_json(threads: &str) -> String {
    let path = write_scenario(&mm1());
    let out = run_ok(
        dsim()
            .args(["run", "--replications", "8", "--threads", threads])
            .args(["--format", "json", "--no-write"])
            .arg(&path),
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_interval_holds_the_textbook_mean_and_threads_do_not_matter() {
    let two = replicated_json("2");
    assert_eq!(
        two,
        replicated_json("1"),
        "results depend on the thread count"
    );
    let r: Value = serde_json::from_str(&two).unwrap();
    assert_eq!(r["seeds"], json!([1, 2, 3, 4, 5, 6, 7, 8]));
    let mean = &r["figures"]["latency_ms.mean"];
    let (m, ci) = (
        mean["mean"].as_f64().unwrap(),
        mean["ci95"].as_f64().unwrap(),
    );
    // The 95% half-width is t(0.975, 7) = 2.365 standard errors; allow 4.5 standard errors,
    // as the theory tests do (a correct engine fails with probability below 0.3%), and
    // require the interval to be tight enough to mean something (under 10% of the value).
    let se = ci / 2.365;
    assert!(
        (m - 5.0).abs() < 4.5 * se,
        "mean {m} ± {ci} ms, theory 5 ms"
    );
    assert!(ci > 0.0 && ci < 0.5, "interval ±{ci} ms");
    assert_eq!(mean["values"].as_array().unwrap().len(), 8);
}

#[test]
fn a_replicated_run_writes_its_summary_and_the_base_seed_outputs() {
    let path = write_scenario(&mm1());
    let dir = crate::common::temp_dir("replicated");
    let out = run_ok(
        dsim()
            .args(["run", "--replications", "3", "--out"])
            .arg(&dir)
            .arg(&path),
    );
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.starts_with("mm1-replicated · 3 replications (seeds 1..3)"),
        "{table}"
    );
    assert!(table.contains("latency_ms.p99"), "{table}");
    for file in ["replications.json", "summary.json", "timeseries.csv"] {
        assert!(dir.join(file).exists(), "{file}");
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ran 3 replications on"), "{stderr}");
}

/// Replications of a scenario that leaves `warmup_s` out choose it per seed (MSER) and
/// report it as a figure; each seed's value is what `dsim run --set warmup_s=auto` picks.
#[test]
fn replications_choose_a_missing_warmup_per_seed() {
    let mut scenario = mm1();
    scenario.as_object_mut().unwrap().remove("warmup_s");
    let path = write_scenario(&scenario);
    let out = run_ok(
        dsim()
            .args([
                "run",
                "--replications",
                "3",
                "--format",
                "json",
                "--no-write",
            ])
            .arg(&path),
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["warmup_method"], "MSER", "20 intervals: batches of one");
    let chosen: Vec<f64> = r["figures"]["warmup_s"]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let single: Vec<f64> = (1..=3)
        .map(|seed| {
            let out = run_ok(
                dsim()
                    .args([
                        "run",
                        "--set",
                        "warmup_s=auto",
                        "--format",
                        "json",
                        "--no-write",
                    ])
                    .args(["--seed", &seed.to_string()])
                    .arg(&path),
            );
            let s: Value = serde_json::from_slice(&out.stdout).unwrap();
            s["warmup_s"].as_f64().unwrap()
        })
        .collect();
    assert_eq!(chosen, single);
    // A warm-up the file gives is kept.
    let given: Value = serde_json::from_str(&replicated_json("2")).unwrap();
    assert!(given.get("warmup_method").is_none());
    assert!(given["figures"].get("warmup_s").is_none());
}

/// A queue's figures are in replications.json, and each seed's value is the one a plain run
/// of that seed puts in summary.json: the two views tell the same story.
#[test]
fn replications_carry_each_queues_figures_as_its_seeds_report_them() {
    let file = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/31-dead-letter-queue.json");
    let json = |args: &[&str]| -> Value {
        let out = run_ok(
            dsim()
                .args(["run", "--no-write", "--format", "json"])
                .args(args)
                .arg(&file),
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let reps = json(&["--replications", "2"]);
    let second = json(&["--seed", "2"]);
    for (queue, field, pointer) in [
        ("emails", "processed_per_s", "processed_per_s"),
        ("emails", "max_age_s", "max_age_s"),
        ("emails-dlq", "end_to_end_ms.p99", "end_to_end_ms/p99"),
        ("emails-dlq", "peak_depth", "peak_depth"),
    ] {
        let figure = &reps["figures"][format!("components.{queue}.messages.{field}")];
        let plain = &second["components"][queue]["messages"].pointer(&format!("/{pointer}"));
        assert_eq!(
            figure["values"][1].as_f64(),
            plain.and_then(Value::as_f64),
            "{queue} {field}"
        );
        assert!(figure["mean"].as_f64().is_some(), "{figure}");
    }
}
