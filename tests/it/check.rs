//! `dsim check`: SLOs and baselines as a CI gate — exit 0 when every check holds, 1 when one
//! fails (with JUnit and Markdown a CI job can use as they are), 2 on bad input.

use crate::common::{dsim, run_ok, temp_dir};
use std::path::{Path, PathBuf};

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
    assert!(table.contains("passed: all 4 checks held"), "{table}");
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
        xml.contains("<testsuites name=\"dsim check\" tests=\"9\" failures=\"5\" errors=\"0\">"),
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
                "--baseline",
                "tests/golden/09-horizontal-scaling.summary.json",
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
            "invalid value 'markdown' for '--format <FORMAT>'",
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

/// Scenario 09 shortened, so each run below takes a fraction of a second.
const SHORT: [&str; 4] = ["--set", "duration_s=14", "--set", "warmup_s=4"];

/// Issue 11: `dsim check` wrote into `dsim run`'s folder, replacing the baseline it had just
/// compared against, so a regression could creep in 5 % per build. Now its results go to
/// `output/<name>-check/`, and a baseline inside the output folder is refused.
#[test]
fn check_never_replaces_its_baseline() {
    let dir = temp_dir("check-baseline");
    let s = scenario("09-horizontal-scaling");
    let in_dir = |args: &[&str]| {
        dsim()
            .current_dir(&dir)
            .args(args)
            .args(SHORT)
            .arg(&s)
            .output()
            .unwrap()
    };
    assert!(in_dir(&["run", "-q"]).status.success());
    let baseline = dir.join("output/horizontal-scaling/summary.json");
    let before = std::fs::read(&baseline).unwrap();
    let base_arg = "output/horizontal-scaling/summary.json";
    let check = in_dir(&["check", "-q", "--baseline", base_arg]);
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(
        dir.join("output/horizontal-scaling-check/summary.json")
            .exists()
    );
    let into_baseline = in_dir(&[
        "check",
        "--baseline",
        base_arg,
        "--out",
        "output/horizontal-scaling",
    ]);
    assert_eq!(into_baseline.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&into_baseline.stderr);
    assert!(stderr.contains("is in the output folder"), "{stderr}");
    assert_eq!(
        std::fs::read(&baseline).unwrap(),
        before,
        "the baseline is untouched"
    );
}

/// Issue 11: `--tolerance 5` meant 500 %; a baseline of another scenario or seed was
/// compared as if it were this one's.
#[test]
fn an_ambiguous_tolerance_and_an_incomparable_baseline_are_refused() {
    let dir = temp_dir("check-compare");
    let base = |file: &str, extra: &[&str]| {
        let out = dir.join(file);
        run_ok(
            dsim()
                .args(["run", "-q", "--no-charts", "--out"])
                .arg(&out)
                .args(SHORT)
                .args(extra)
                .arg(scenario("09-horizontal-scaling")),
        );
        out.join("summary.json")
    };
    let same = base("same", &[]);
    let other_seed = base("seed", &["--seed", "2"]);
    let other_load = base("load", &["--set", "workload.model.closed.users=1000"]);
    let check = |baseline: &PathBuf, extra: &[&str]| {
        let out = dsim()
            .args(["check", "--no-write"])
            .args(SHORT)
            .arg("--baseline")
            .arg(baseline)
            .args(extra)
            .arg(scenario("09-horizontal-scaling"))
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stderr) = check(&same, &["--tolerance", "5"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("--tolerance 5 would allow 500% worse; write 5%"),
        "{stderr}"
    );
    assert_eq!(check(&same, &["--tolerance", "0.05"]).0, Some(0));
    let (code, stderr) = check(&other_seed, &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("is not comparable with this run: seed 2 against 1 now"),
        "{stderr}"
    );
    let (code, stderr) = check(&other_load, &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("load {\"model\":\"closed\",\"users\":1000}"),
        "{stderr}"
    );
    let golden_01 =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/01-local-dev.summary.json");
    let (code, stderr) = check(&golden_01, &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("scenario \"local-dev\" against \"horizontal-scaling\""),
        "{stderr}"
    );
    // Meant: compared, and judged (not refused).
    let (code, stderr) = check(&other_seed, &["--allow-different-baseline"]);
    assert!(matches!(code, Some(0 | 1)), "{stderr}");
}

/// Tags open and close in order: a well-formedness check for the JUnit files (no XML parser
/// among the test dependencies; the forbidden characters are checked separately).
fn assert_balanced_xml(xml: &str) {
    let mut open: Vec<String> = Vec::new();
    let mut rest = xml.trim_start_matches(|c| c != '>').get(1..).unwrap_or("");
    while let Some(i) = rest.find('<') {
        let end = rest[i..].find('>').expect("a tag closes") + i;
        let tag = &rest[i + 1..end];
        assert!(!tag.contains('<'), "{tag} in {xml}");
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(open.pop().as_deref(), Some(name), "{xml}");
        } else if !tag.ends_with('/') {
            open.push(tag.split_whitespace().next().unwrap_or("").to_string());
        }
        rest = &rest[end + 1..];
    }
    assert!(open.is_empty(), "unclosed {open:?} in {xml}");
    let forbidden =
        |c: char| matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}');
    assert!(!xml.chars().any(forbidden), "{xml:?}");
}

/// Issue 11: a run cut short passed the gate; `--junit` was written only after the run and
/// not at all on bad input; test names held the limits, so they changed with the baseline.
#[test]
fn junit_is_checked_first_written_on_bad_input_and_fails_a_run_cut_short() {
    let dir = temp_dir("check-junit");
    let junit = dir.join("checks.xml");
    let check = |extra: &[&str], file: &Path| {
        dsim()
            .args(["check", "--no-write", "--junit"])
            .arg(&junit)
            .args(SHORT)
            .args(extra)
            .arg(file)
            .output()
            .unwrap()
    };
    // Cut short by max_events: exit 1, and the JUnit failure says why.
    let cut = check(
        &["--set", "max_events=20000"],
        &scenario("09-horizontal-scaling"),
    );
    assert_eq!(cut.status.code(), Some(1));
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_balanced_xml(&xml);
    assert!(xml.contains("name=\"run_completed\"><failure type=\"run\" message=\"the run was cut short (stopped by max_events"), "{xml}");
    // Bad input: exit 2, and a JUnit file with the error.
    let bad = dir.join("bad.json");
    std::fs::write(&bad, "{\"name\": \"x\u{1}\", \"duration_s\": -1}").unwrap();
    let out = check(&[], &bad);
    assert_eq!(out.status.code(), Some(2));
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_balanced_xml(&xml);
    assert!(
        xml.contains("errors=\"1\"") && xml.contains("<error type=\"bad_input\""),
        "{xml}"
    );
    // A usage error clap catches (a missing value) still leaves the JUnit file.
    let _ = std::fs::remove_file(&junit);
    let usage = dsim()
        .args(["check", "--junit"])
        .arg(&junit)
        .arg("--tolerance")
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2));
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_balanced_xml(&xml);
    assert!(
        xml.contains("errors=\"1\"") && xml.contains("--tolerance"),
        "{xml}"
    );
    // A JUnit path that cannot be written is refused before the run.
    let nowhere = dsim()
        .args(["check", "--junit"])
        .arg(dir.join("no/such/folder/x.xml"))
        .arg(scenario("09-horizontal-scaling"))
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(nowhere.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&nowhere.stderr).contains("does not exist"));
    assert!(!dir.join("output").exists(), "nothing ran");
    // Names are the figures alone: the same with another baseline.
    let names = |baseline: &Path| {
        let out = dir.join("names.xml");
        dsim()
            .args([
                "check",
                "--no-write",
                "--allow-different-baseline",
                "--junit",
            ])
            .arg(&out)
            .arg("--baseline")
            .arg(baseline)
            .args(SHORT)
            .arg(scenario("09-horizontal-scaling"))
            .output()
            .unwrap();
        let xml = std::fs::read_to_string(out).unwrap();
        xml.split("<testcase ")
            .skip(1)
            .map(|t| t.split('>').next().unwrap_or("").to_string())
            .collect::<Vec<_>>()
    };
    let golden = |n: &str| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/golden/{n}.summary.json"))
    };
    let a = names(&golden("09-horizontal-scaling"));
    assert_eq!(a, names(&golden("08-vertical-scaling")));
    assert!(
        a.contains(&"classname=\"regression\" name=\"latency_ms.p99\"".to_string()),
        "{a:?}"
    );
}
