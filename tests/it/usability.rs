//! What a new user tripped on (issue 11 §6, and the replications and sweep tables of §1):
//! help that lists other commands' options, unexplained headings, slips that validate let
//! pass silently, balancers drawn on the CPU axis, failure figures missing from
//! replications.json, a replicated sweep table without its ±.

use crate::common::{dsim, run_ok, temp_dir, write_scenario};
use serde_json::{Value, json};
use std::path::PathBuf;

fn scenario(stem: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("scenarios/{stem}.json"))
}

fn help(command: &str) -> String {
    let out = run_ok(dsim().args([command, "--help"]));
    String::from_utf8(out.stdout).unwrap()
}

/// `run --help` listed "markdown: check only"; `check --help` listed `--no-charts`, which it
/// ignored; capacity said `--seeds` where the others say `--replications`.
#[test]
fn help_shows_each_commands_own_options() {
    let run = help("run");
    assert!(
        !run.contains("markdown") && run.contains("--no-charts"),
        "{run}"
    );
    let check = help("check");
    assert!(
        check.contains("markdown") && !check.contains("--no-charts"),
        "{check}"
    );
    let capacity = help("capacity");
    assert!(capacity.contains("--replications") && !capacity.contains("--no-charts"));
}

/// A timeout shorter than the round trip, and a think time far below the work, are valid but
/// almost surely slips: validate says so and still exits 0.
#[test]
fn validate_warns_about_likely_slips() {
    let slip = json!({"name": "slip", "duration_s": 10,
        "workload": {"model": {"closed": {"users": 10,
            "think_time_ms": {"constant": {"ms": 0.5}}}}, "entry": "api", "timeout_ms": 30},
        "components": {"api": {"kind": "service", "machine": {"cores": 1},
            "handlers": {"default": [{"cpu_ms": {"constant": {"ms": 100}}}]}}}});
    let out = run_ok(dsim().arg("validate").arg(write_scenario(&slip)));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("workload.timeout_ms: 30 ms is shorter than a round trip"),
        "{stderr}"
    );
    assert!(
        stderr.contains("the mean think time, 0.5 ms, is far below the 100 ms"),
        "{stderr}"
    );
    let clean = run_ok(
        dsim()
            .arg("validate")
            .arg(scenario("09-horizontal-scaling")),
    );
    assert!(
        clean.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&clean.stderr)
    );
}

/// The table explains its short headings, separates thousands, and draws balancers'
/// connections on a chart of their own (not on the CPU axis).
#[test]
fn headings_are_explained_and_balancers_have_their_own_chart() {
    let out = temp_dir("usability").join("out");
    let done = run_ok(
        dsim()
            .args(["run", "--out"])
            .arg(&out)
            .args(["--set", "duration_s=12", "--set", "warmup_s=4"])
            .arg(scenario("09-horizontal-scaling")),
    );
    let table = String::from_utf8(done.stdout).unwrap();
    for phrase in [
        "rps: calls answered successfully per second",
        "lb: load balancer",
        "100,000",
    ] {
        assert!(table.contains(phrase), "`{phrase}` in {table}");
    }
    // The texts an SVG chart draws (its legend names among them).
    let texts = |file: &str| -> Vec<String> {
        let svg = std::fs::read_to_string(out.join(file)).unwrap();
        svg.split("</text>")
            .filter_map(|t| t.rsplit('>').next())
            .map(|t| t.trim().to_string())
            .collect()
    };
    let (cpu, connections) = (texts("utilisation.svg"), texts("connections.svg"));
    let has = |texts: &[String], name: &str| texts.iter().any(|t| t == name);
    assert!(
        has(&cpu, "app (busiest machine)") && !has(&cpu, "lb"),
        "lb off the CPU axis"
    );
    assert!(
        has(&connections, "lb"),
        "lb on its own chart: {connections:?}"
    );
}

/// replications.json lacked availability, writes lost and each fault's recovery; request
/// counts from windows of different lengths were compared as totals.
#[test]
fn replications_carry_failure_figures_and_rates() {
    let out = temp_dir("replicated-failures");
    run_ok(
        dsim()
            .args(["run", "-q", "--no-charts", "--replications", "2", "--out"])
            .arg(&out)
            .arg(scenario("12-master-slave-failover")),
    );
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("replications.json")).unwrap())
            .unwrap();
    let figures = &doc["figures"];
    for name in [
        "failures.availability",
        "failures.writes_lost",
        "time_to_recover_s: crash db machine 0",
        "requests_per_s.total",
        "goodput_rps",
    ] {
        assert!(
            figures[name]["mean"].as_f64().is_some(),
            "{name}: {figures:#}"
        );
    }
    assert!(figures["requests.total"].is_null(), "counts are rates now");
    // The warm-up is chosen per seed, so the windows differ: each rate is its own run's.
    let rate = figures["requests_per_s.total"]["values"][0]
        .as_f64()
        .unwrap();
    assert!((1_500.0..2_500.0).contains(&rate), "{rate}");
}

/// A replicated sweep's terminal table showed means without their ±.
#[test]
fn a_replicated_sweep_table_shows_its_intervals() {
    let out = run_ok(
        dsim()
            .args(["sweep", "--no-write", "--replications", "3"])
            .args(["--param", "workload.model.closed.users=1000,2000"])
            .args(["--set", "duration_s=12", "--set", "warmup_s=4"])
            .arg(scenario("09-horizontal-scaling")),
    );
    let table = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<&str> = table
        .lines()
        .filter(|l| l.trim_start().starts_with("1000") || l.trim_start().starts_with("2000"))
        .collect();
    assert_eq!(rows.len(), 2, "{table}");
    assert!(rows.iter().all(|r| r.matches('±').count() >= 3), "{table}");
}
