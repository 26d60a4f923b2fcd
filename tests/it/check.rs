//! `dsim check`: SLOs and baselines as a CI gate — exit 0 when every check holds, 1 when one
//! fails (with JUnit and Markdown a CI job can use as they are), 2 on bad input.

use crate::common::{dsim, run_ok, temp_dir};
use std::path::PathBuf;

fn scenario(stem: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("scenarios/{stem}.json"))
}

#[test]
fn a_design_within_its_slos_passes_and_a_regression_fails_with_junit_and_markdown() {
    let dir = temp_dir("check");
    let ok = run_ok(
        dsim()
            .args(["check", "--no-write"])
            .arg(scenario("09-horizontal-scaling")),
    );
    let table = String::from_utf8(ok.stdout).unwrap();
    assert!(table.contains("passed: all 3 checks held"), "{table}");
    // A baseline from today's design, then a change that removes five servers.
    run_ok(
        dsim()
            .args(["run", "--quiet", "--out"])
            .arg(&dir)
            .arg(scenario("09-horizontal-scaling")),
    );
    let junit = dir.join("report.xml");
    let out = dsim()
        .args([
            "check",
            "--no-write",
            "--format",
            "markdown",
            "--tolerance",
            "5%",
        ])
        .arg("--baseline")
        .arg(dir.join("summary.json"))
        .arg("--junit")
        .arg(&junit)
        .args(["--set", "components.app.replicas=11"])
        .arg(scenario("09-horizontal-scaling"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(
        md.starts_with("### dsim check: `horizontal-scaling` (seed 1) ❌"),
        "{md}"
    );
    assert!(
        md.contains("| ❌ | regression | `latency_ms.p99` |"),
        "{md}"
    );
    assert!(md.contains("| ✅ | slo | `error_rate` |"), "{md}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("<testsuites name=\"dsim check\" tests=\"8\" failures=\"5\">"),
        "{xml}"
    );
    assert_eq!(xml.matches("<failure ").count(), 5, "{xml}");
}

#[test]
fn check_refuses_what_it_cannot_check() {
    let dir = temp_dir("check-bad");
    let cases: [(&[&str], &str); 4] = [
        (
            &["check", "--no-write", "scenarios/01-local-dev.json"],
            "nothing to check: add \"slos\"",
        ),
        (
            &[
                "check",
                "--no-write",
                "--tolerance",
                "lots",
                "scenarios/09-horizontal-scaling.json",
            ],
            "--tolerance takes a share such as 5% or 0.05",
        ),
        (
            &[
                "check",
                "--no-write",
                "--baseline",
                "scenarios/01-local-dev.json",
                "scenarios/09-horizontal-scaling.json",
            ],
            "is not a dsim summary.json",
        ),
        (
            &["run", "--format", "markdown", "scenarios/01-local-dev.json"],
            "--format markdown is for dsim check",
        ),
    ];
    for (args, expected) in cases {
        let out = dsim()
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    // An objective for a class the workload does not have.
    let out = dsim()
        .args([
            "check",
            "--no-write",
            "--set",
            r#"slos={"classes": {"reed": {"p99_ms": 5}}}"#,
        ])
        .arg(scenario("13-read-replicas"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("slos.classes.reed: no request class named `reed`; did you mean `read`?")
    );
    assert!(!dir.join("output").exists());
}

/// Failure objectives: a failover must finish within 10 s and lose no acknowledged write.
/// Scenario 12's async failover takes 8 s but loses writes (exit 1); with sync it passes.
#[test]
fn failure_objectives_gate_on_recovery_time_and_lost_writes() {
    let slos = r#"slos={"time_to_recover_s": 10, "writes_lost": 0}"#;
    let check = |extra: &[&str]| {
        dsim()
            .args(["check", "--no-write", "--set", slos])
            .args(extra)
            .arg(scenario("12-master-slave-failover"))
            .output()
            .unwrap()
    };
    let asynchronous = check(&[]);
    assert_eq!(asynchronous.status.code(), Some(1));
    let table = String::from_utf8(asynchronous.stdout).unwrap();
    assert!(
        table.contains("ok   slo        time_to_recover_s"),
        "{table}"
    );
    assert!(table.contains("FAIL slo        writes_lost"), "{table}");
    let sync = check(&["--set", "components.db.replication.mode=sync"]);
    assert_eq!(
        sync.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&sync.stdout)
    );
    // A fault whose errors never stop fails the recovery objective.
    let storm = dsim()
        .args([
            "check",
            "--no-write",
            "--set",
            r#"slos={"time_to_recover_s": 60}"#,
        ])
        .arg(scenario("15-retry-storm"))
        .output()
        .unwrap();
    assert_eq!(storm.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&storm.stdout).contains("never recovered"));
}
