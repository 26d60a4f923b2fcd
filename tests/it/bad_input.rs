//! Bad input that needs a file's exact bytes or the command line: exit code 2, the exact
//! message (file:line:column, JSON path, what was expected, a suggestion), never a panic, and
//! no output files left behind. Mistakes in a scenario's values are cases, as data, in
//! `bad_input_cases.rs`.

use crate::common::{dsim, temp_dir};

/// Writes `text` as `name` in a fresh folder, runs `dsim run` on it from that folder, and
/// returns stderr after checking exit code 2 and that nothing was written.
fn rejected(name: &str, text: &str) -> String {
    let dir = temp_dir("bad");
    std::fs::write(dir.join(name), text).unwrap();
    let out = dsim()
        .current_dir(&dir)
        .args(["run", name])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    assert!(
        !dir.join("output").exists(),
        "bad input must not create output"
    );
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn every_validation_problem_is_reported_at_once() {
    let text = "{\n  \"name\": \"x\",\n  \"duration_s\": 0,\n  \"workload\": {\"model\": {\"open\": {\"rate_per_s\": 10}}, \"entry\": \"apii\"},\n  \"components\": {\n    \"api\": {\"kind\": \"service\", \"machine\": {\"cores\": 0},\n      \"handlers\": {\"default\": [{\"call\": \"dbb\"}]}},\n    \"db\": {\"kind\": \"database\", \"machine\": {\"cores\": 2}, \"queries\": {\"default\": {\"cpu_ms\": {\"exponential\": {\"mean_ms\": -1}}}}}\n  }\n}\n";
    assert_eq!(
        rejected("many.json", text),
        "error: many.json:3:17: duration_s: must be a finite number > 0, got 0\n\
         error: many.json:4:64: workload.entry: no component named `apii`; did you mean `api`?\n\
         error: many.json:6:53: components.api.machine.cores: must be ≥ 1, got 0\n\
         error: many.json:7:41: components.api.handlers.default[0].call: no component named `dbb`; did you mean `db`?\n\
         error: many.json:8:119: components.db.queries.default.cpu_ms.exponential.mean_ms: must be a number > 0 and at most 1000000000, got -1\n\
         5 problems in many.json\n"
    );
}

#[test]
fn truncated_and_mistyped_files() {
    assert_eq!(
        rejected("t.json", "{\n  \"name\": \"x\",\n  \"duration_s\": 10,\n"),
        "error: t.json:4:1: EOF while parsing a value: the file ends too early (a missing `}` or `]`?)\n"
    );
    assert_eq!(
        rejected("t.json", "{\"name\": \"x\", \"duration_s\": \"ten\"}"),
        "error: t.json:1:33: duration_s: invalid type: string \"ten\", expected a number\n"
    );
    assert_eq!(
        rejected("t.json", ""),
        "error: t.json:1:1: EOF while parsing a value: the file ends too early (a missing `}` or `]`?)\n"
    );
}

#[test]
fn missing_file_and_unknown_subcommand() {
    let out = dsim().args(["run", "no/such/file.json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("error: cannot read no/such/file.json: "),
        "{err}"
    );
    assert!(
        err.ends_with("(no such file; scenarios/ holds the examples)\n"),
        "{err}"
    );
    let out = dsim().arg("frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn validate_subcommand_exit_codes() {
    let dir = temp_dir("validate");
    std::fs::write(dir.join("bad.json"), "{}").unwrap();
    let out = dsim()
        .current_dir(&dir)
        .args(["validate", "bad.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "error: bad.json:1:2: missing field `name`\n"
    );
}

/// An output folder that cannot be used is refused before the run, with exit 2 and the fix;
/// nothing is left half-written.
#[test]
fn unusable_output_folders_are_refused_before_the_run() {
    let dir = temp_dir("out");
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/01-local-dev.json");
    std::fs::write(dir.join("afile"), "").unwrap();
    std::fs::create_dir_all(dir.join("d/summary.json")).unwrap();
    for (out_dir, message) in [
        ("afile", "afile is a file, not a folder"),
        ("d", "summary.json is a folder; dsim writes a file there"),
    ] {
        let out = dsim()
            .current_dir(&dir)
            .args(["run", scenario, "--out", out_dir])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(message), "{err}");
        assert!(err.contains("--out DIR, or --no-write"), "{err}");
        assert!(out.stdout.is_empty());
    }
    assert!(!dir.join("d/timeseries.csv").exists());
}

/// A run whose queues grow without bound stops at its memory limit with exit 2, says why and
/// what to change, and writes nothing (instead of being killed by the operating system).
#[test]
fn a_run_that_outgrows_its_memory_limit_stops_cleanly() {
    let dir = temp_dir("memory");
    let scenario = serde_json::json!({"name": "flood", "duration_s": 60,
        "workload": {"model": {"open": {"rate_per_s": 100000}}, "entry": "api", "timeout_ms": 1e9},
        "components": {"api": {"kind": "service", "machine": {"cores": 1, "ram_gb": 1e6,
            "max_connections": 100000000}, "workers": 1, "queue_capacity": 100000000,
            "handlers": {"default": [{"cpu_ms": {"constant": {"ms": 1}}}]}}}});
    std::fs::write(dir.join("flood.json"), scenario.to_string()).unwrap();
    let out = dsim()
        .current_dir(&dir)
        .args(["run", "flood.json", "--max-memory-gb", "0.02"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("error: the simulation outgrew its memory limit (20 MiB) at "),
        "{err}"
    );
    assert!(err.contains("add a client timeout"), "{err}");
    assert!(out.stdout.is_empty());
    assert!(!dir.join("output/flood").exists(), "nothing is written");
}

/// Sweeps that would mislabel their rows, or exhaust memory building the grid, are refused
/// before anything runs.
#[test]
fn sweeps_refuse_grids_that_cannot_be_honest() {
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/01-local-dev.json");
    let values: Vec<String> = (1..=300).map(|v| v.to_string()).collect();
    let many = format!("a={}", values.join(","));
    for (args, message) in [
        (
            vec!["--param", "seed=1,2", "--param", "seed=3"],
            "--param seed is given twice",
        ),
        (
            vec!["--param", "seed=1,2", "--seed", "4"],
            "seed is both swept (--param) and fixed (--set or --seed): drop one",
        ),
        (vec!["--param", "seed=1,,2"], "none of them empty"),
        (
            vec!["--param", &many, "--param", &many, "--param", &many],
            "the grid has more than 10000 points",
        ),
    ] {
        let out = dsim()
            .args(["sweep", "--no-write", scenario])
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(message), "{err}");
    }
}

/// A replicated database's mistakes are all reported at once, each at its place in the file.
#[test]
fn replication_and_fault_mistakes_are_reported_together_with_positions() {
    let text = r#"{
  "name": "x", "duration_s": 10,
  "workload": {"model": {"open": {"rate_per_s": 10}}, "entry": "api"},
  "components": {
    "api": {"kind": "service", "machine": {"cores": 1}, "handlers": {"default": [{"call": "db"}]}},
    "db": {"kind": "database", "machine": {"cores": 1},
           "queries": {"default": {"cpu_ms": {"constant": {"ms": 1}}}},
           "replication": {"replicas": 2, "mode": "sync", "acks": 3},
           "partitions": {"count": 2}},
    "lb": {"kind": "load_balancer", "backends": ["db"]}
  },
  "faults": [
    {"crash": {"component": "db", "shard": 2, "at_s": 1}},
    {"slow": {"component": "api", "replica": 1, "factor": 2, "at_s": 1}}
  ]
}
"#;
    assert_eq!(
        rejected("s.json", text),
        "error: s.json:8:67: components.db.replication.acks: must be between 1 and replicas (2), got 3\n\
         error: s.json:10:50: components.lb.backends[0]: `db` is replicated or sharded and routes \
         queries itself; call it from a service\n\
         error: s.json:13:44: faults[0].crash.shard: `db` has shards 0..1, got 2\n\
         error: s.json:14:46: faults[1].slow.replica: `api` has replicas 0..0, got 1\n\
         4 problems in s.json\n"
    );
}

/// Region mistakes: an unknown region (with a suggestion), a missing region link, a component
/// without a region, and a DNS target that cannot serve.
#[test]
fn region_mistakes_are_reported_together() {
    let text = r#"{
  "name": "x", "duration_s": 10,
  "regions": {"eu": {}, "us": {}, "ap": {}},
  "network": {"region_links": [{"between": ["eu", "us"], "latency_ms": {"constant": {"ms": 40}}},
                               {"between": ["eu", "ap"], "latency_ms": {"constant": {"ms": 90}}}]},
  "workload": {"model": {"open": {"rate_per_s": 10}}, "entry": "dns"},
  "components": {
    "dns": {"kind": "dns", "targets": ["api", "db"]},
    "api": {"kind": "service", "region": "uss", "machine": {"cores": 1}, "handlers": {"default": [{"call": "db"}]}},
    "db": {"kind": "database", "machine": {"cores": 1}, "queries": {"default": {"cpu_ms": {"constant": {"ms": 1}}}}}
  }
}
"#;
    assert_eq!(
        rejected("s.json", text),
        "error: s.json:8:47: components.dns.targets[1]: `db` cannot be a DNS target: targets are \
         load balancers, gateways or services\n\
         error: s.json:9:42: components.api.region: no region named `uss`; did you mean `us`? \
         (regions: `ap`, `eu`, `us`)\n\
         error: s.json:10:11: components.db: needs a \"region\" (the scenario has regions `ap`, `eu`, `us`)\n\
         error: s.json:4:31: network.region_links: no latency between regions `ap` and `us`: add \
         {\"between\": [\"ap\", \"us\"], \"latency_ms\": …}\n\
         4 problems in s.json\n"
    );
}
