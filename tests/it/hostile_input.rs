//! Inputs that once aborted, overflowed, hung or were quietly misread (issue 11 §4): each
//! now exits 2 with a sentence naming the place and the fix, never 101 (panic), 134 (abort)
//! or a hang.

// Timing a command (a bench, a test's deadline) is what the wall clock is for here.
#![allow(clippy::disallowed_methods)]

use crate::common::{dsim, temp_dir};
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

/// Runs `dsim ARGS FILE` with a 60 s guard; returns (exit code, stderr).
fn dsim_on(args: &[&str], file: &Path) -> (Option<i32>, String) {
    let mut child = dsim()
        .args(args)
        .arg(file)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("dsim {args:?} {} hung", file.display());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn refused(text: &[u8], expected: &str) {
    let dir = temp_dir("hostile");
    let file = dir.join("s.json");
    std::fs::write(&file, text).unwrap();
    let (code, stderr) = dsim_on(&["run", "--no-write"], &file);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(expected),
        "missing `{expected}` in {stderr}"
    );
}

fn services(n: usize, chain: bool) -> Value {
    let components: serde_json::Map<String, Value> = (0..n)
        .map(|i| {
            let mut steps = vec![json!({"cpu_ms": {"constant": {"ms": 0.1}}})];
            if chain && i + 1 < n {
                steps.push(json!({"call": format!("s{}", i + 1)}));
            }
            let svc = json!({"kind": "service", "machine": {"cores": 1},
                "handlers": {"default": steps}});
            (format!("s{i}"), svc)
        })
        .collect();
    json!({"name": "many", "duration_s": 2,
        "workload": {"model": {"open": {"rate_per_s": 10}}, "entry": "s0"},
        "components": components})
}

/// 120,000 one-step services aborted on a 28.8 GB table; a 100,000-service chain overflowed
/// the stack in the cycle check; a 10,000-service chain took 8 GB to run.
#[test]
fn huge_topologies_are_bounded_with_a_clear_error() {
    for (n, chain) in [(120_000, false), (100_000, true), (10_000, true)] {
        refused(
            services(n, chain).to_string().as_bytes(),
            &format!("components: at most 1000 components, got {n}"),
        );
    }
    // The longest chain allowed runs (the cycle check and the depth estimate are iterative).
    let dir = temp_dir("chain");
    let file = dir.join("chain.json");
    std::fs::write(&file, services(1_000, true).to_string()).unwrap();
    let (code, stderr) = dsim_on(&["run", "--no-write", "-q"], &file);
    assert_eq!(code, Some(0), "{stderr}");
}

/// Two components named `db`: the first was silently dropped. A field given twice in a
/// component whose `kind` is not first was accepted too.
#[test]
fn a_name_or_field_given_twice_is_refused() {
    let db = |cores: u32| {
        format!(
            r#"{{"kind": "database", "machine": {{"cores": {cores}}}, "queries": {{"default": {{"cpu_ms": {{"constant": {{"ms": 1}}}}}}}}}}"#
        )
    };
    let head = r#"{"name": "x", "duration_s": 10, "workload": {"model": {"open": {"rate_per_s": 10}}, "entry": "db"}, "components": {"#;
    refused(
        format!("{head}\"db\": {}, \"db\": {}}}}}", db(2), db(4)).as_bytes(),
        "components: `db` is given twice (JSON would keep only the last): give each name once",
    );
    refused(
        format!(
            r#"{head}"db": {{"machine": {{"cores": 2}}, "kind": "database", "machine": {{"cores": 8}}, "queries": {{}}}}}}}}"#
        )
        .as_bytes(),
        "`machine` is given twice",
    );
    refused(
        format!(
            r#"{head}"db": {{"machine": {{"cores": 2, "cores": 8}}, "kind": "database", "queries": {{}}}}}}}}"#
        )
        .as_bytes(),
        "components.db.machine: `cores` is given twice",
    );
}

/// A FIFO blocked forever; /dev/zero grew to a gigabyte; a BOM, comments, a list or null
/// got messages about "struct RawScenario"; invalid UTF-8 had no position.
#[test]
fn files_that_are_not_scenarios_get_a_sentence() {
    let dir = temp_dir("files");
    let fifo = dir.join("fifo.json");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if made.is_ok_and(|s| s.success()) {
        let (code, stderr) = dsim_on(&["validate"], &fifo);
        assert_eq!(code, Some(2));
        assert!(stderr.contains("not a regular file"), "{stderr}");
    }
    let (code, stderr) = dsim_on(&["validate"], Path::new("/dev/zero"));
    assert_eq!(code, Some(2));
    assert!(stderr.contains("not a regular file"), "{stderr}");
    let big = dir.join("big.json");
    let file = std::fs::File::create(&big).unwrap();
    file.set_len(33 << 20).unwrap();
    let (code, stderr) = dsim_on(&["validate"], &big);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("more than the 32 MiB dsim reads"),
        "{stderr}"
    );
    for (text, expected) in [
        (
            &b"\xef\xbb\xbf{\"name\": \"x\"}"[..],
            "1:1: the file starts with a byte-order mark",
        ),
        (
            b"{\n  // a note\n  \"name\": \"x\"}",
            "2:3: JSON has no comments",
        ),
        (
            b"[{\"name\": \"x\"}]",
            "1:1: the file holds a list, but a scenario is one JSON object",
        ),
        (b"\n null", "2:2: the file holds `null`"),
        (
            b"{\"name\": \"x\xff\"}",
            "1:12: not UTF-8 text: byte 11 (0xff)",
        ),
    ] {
        refused(text, expected);
    }
}

/// Numbers read as written, beyond what a JSON value holds, with the field's real range (the
/// rest of these messages are cases in `bad_input_cases.rs`).
#[test]
fn numbers_are_refused_as_written_with_their_range() {
    let scenario = |cores: &str, name: &str| {
        format!(
            r#"{{"name": "{name}", "duration_s": 10,
  "workload": {{"model": {{"open": {{"rate_per_s": 10}}}}, "entry": "api", "classes": {{"read": {{}}, "write": {{}}}}}},
  "components": {{"api": {{"kind": "service", "machine": {{"cores": {cores}}}, "handlers": {{"default": [{{"call": "postgres"}}]}}}},
    "db": {{"kind": "database", "machine": {{"cores": 1}}, "queries": {{"default": {{"cpu_ms": {{"constant": {{"ms": 1}}}}}}}}}}}}}}"#
        )
    };
    refused(
        scenario("4294967296", "x").as_bytes(),
        "machine.cores: invalid value: integer `4294967296`, expected a whole number from 0 to 4294967295",
    );
    refused(
        scenario("100000000000000000000", "x").as_bytes(),
        "invalid value: number `100000000000000000000`, expected a whole number from 0 to 4294967295",
    );
    refused(scenario("1e308", "x").as_bytes(), "number `1e308`");
}

/// Fifty overlapping ×10⁶ slow-downs pushed a machine's speed factor to infinity, where it
/// stayed after they ended; now it is the product of those in force.
#[test]
fn a_machine_is_back_to_speed_after_any_number_of_overlapping_slow_downs() {
    let slow: Vec<Value> = (0..60)
        .map(|_| json!({"slow": {"component": "api", "factor": 1e6, "at_s": 2, "duration_s": 1}}))
        .collect();
    let scenario = json!({"name": "slow", "duration_s": 10, "warmup_s": 5,
        "network": {"client_link": {"latency_ms": {"constant": {"ms": 0}}}},
        // No arrivals while the machine is slow (work started then would take ~forever).
        "workload": {"model": {"open": {"rate_per_s": 10}}, "entry": "api", "timeout_ms": 100,
            "profile": {"steps": [{"at_s": 0, "level": 1}, {"at_s": 1.5, "level": 0},
                                  {"at_s": 3.5, "level": 1}]}},
        "components": {"api": {"kind": "service", "machine": {"cores": 1},
            "handlers": {"default": [{"cpu_ms": {"constant": {"ms": 1}}}]}}},
        "faults": slow});
    let summary = crate::common::run_summary(&scenario, 1);
    // Measured from 5 s, after every slow-down ended at 3 s: every request takes 1 ms.
    assert!(
        crate::common::num(&summary, "/requests/total") > 30.0,
        "{summary:#}"
    );
    assert_eq!(summary["error_rate"], 0.0, "{summary:#}");
    assert!(
        crate::common::num(&summary, "/latency_ms/max") < 1.1,
        "{summary:#}"
    );
}
