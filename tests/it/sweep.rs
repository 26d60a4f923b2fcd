//! `dsim sweep`: one run per grid point, equal to `dsim run --set` at that point, and the
//! same bytes whatever the thread count.

use crate::common::{dsim, run_ok, temp_dir, write_scenario};
use serde_json::{Value, json};

fn station() -> Value {
    json!({"name": "station", "duration_s": 10, "warmup_s": 1,
        "workload": {"model": {"open": {"rate_per_s": 100}}, "entry": "api"},
        "components": {"api": {"kind": "service", "machine": {"cores": 1},
            "workers": 1, "queue_capacity": 100000,
            "handlers": {"default": [{"cpu_ms": {"exponential": {"mean_ms": 1}}}]}}}})
}

#[test]
fn each_point_is_the_run_with_that_value_and_threads_do_not_matter() {
    let path = write_scenario(&station());
    let out = |threads: &str| {
        let out = run_ok(
            dsim()
                .args([
                    "sweep",
                    "--format",
                    "json",
                    "--no-write",
                    "--threads",
                    threads,
                ])
                .args(["--param", "workload.model.open.rate_per_s=200,800"])
                .args(["--param", "components.api.machine.cores=1,2"])
                .arg(&path),
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let two = out("2");
    assert_eq!(two, out("1"), "results depend on the thread count");
    let sweep: Value = serde_json::from_str(&two).unwrap();
    let points = sweep["points"].as_array().unwrap();
    assert_eq!(points.len(), 4);
    assert_eq!(
        points[1]["values"],
        json!([200, 2]),
        "first parameter varies slowest"
    );
    let single = run_ok(
        dsim()
            .args(["run", "--format", "json", "--no-write"])
            .args(["--set", "workload.model.open.rate_per_s=800"])
            .args(["--set", "components.api.machine.cores=2"])
            .arg(&path),
    );
    let single: Value = serde_json::from_slice(&single.stdout).unwrap();
    assert_eq!(points[3]["p99_ms"], single["latency_ms"]["p99"]);
    assert_eq!(points[3]["throughput_rps"], single["throughput_rps"]);
}

#[test]
fn a_sweep_writes_its_table_files() {
    let path = write_scenario(&station());
    let dir = temp_dir("sweep");
    let out = run_ok(
        dsim()
            .args([
                "sweep",
                "--param",
                "workload.model.open.rate_per_s=100,900",
                "--out",
            ])
            .arg(&dir)
            .arg(&path),
    );
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.starts_with("station · sweep of 2 points · seed 1"),
        "{table}"
    );
    let csv = std::fs::read_to_string(dir.join("sweep.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(dir.join("sweep.json").exists());
}

/// `dsim compare A B`: both under one seed, each equal to its own run, with B's change
/// against A in the table.
#[test]
fn compare_runs_each_scenario_under_one_seed() {
    let a = station();
    let mut b = station();
    b["name"] = json!("station-fast");
    b["components"]["api"]["machine"]["cpu_speed"] = json!(2);
    let (pa, pb) = (write_scenario(&a), write_scenario(&b));
    let out = run_ok(
        dsim()
            .args(["compare", "--no-write", "--seed", "5"])
            .arg(&pa)
            .arg(&pb),
    );
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("station-fast"), "{table}");
    // The CPU's utilisation halves: a share, so its change reads in points.
    let busy = table
        .lines()
        .find(|l| l.starts_with("bottleneck_%"))
        .unwrap_or("");
    assert!(busy.contains(" pp*)"), "{table}");
    assert!(table.contains("[1] station\n[2] station-fast\n"), "{table}");
    let json = run_ok(
        dsim()
            .args(["compare", "--no-write", "--seed", "5", "--format", "json"])
            .arg(&pa)
            .arg(&pb),
    );
    let cmp: Value = serde_json::from_slice(&json.stdout).unwrap();
    let alone = crate::common::run_summary(&b, 5);
    assert_eq!(cmp["seed"], json!(5));
    assert_eq!(cmp["points"][1]["values"], json!(["station-fast"]));
    assert_eq!(cmp["points"][1]["p99_ms"], alone["latency_ms"]["p99"]);
}

/// Runs the sweep `grid` of `path` whole, then in `n` slices into one folder, and merges
/// them: the folders of the whole sweep, the slices and the merged sweep.
fn whole_and_sliced(
    path: &std::path::Path,
    grid: &[&str],
    n: u32,
) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let whole = temp_dir("sweep-whole");
    run_ok(
        dsim()
            .arg("sweep")
            .args(grid)
            .arg("--out")
            .arg(&whole)
            .arg(path),
    );
    let slices = temp_dir("sweep-slices");
    for i in 1..=n {
        run_ok(
            dsim()
                .arg("sweep")
                .args(grid)
                .args(["--shard", &format!("{i}/{n}"), "--out"])
                .arg(&slices)
                .arg(path),
        );
    }
    let merged = temp_dir("sweep-merged");
    // The merge draws charts exactly when the sweep did.
    let no_charts = grid.iter().filter(|a| **a == "--no-charts");
    run_ok(
        dsim()
            .args(["merge", "-q", "--out"])
            .arg(&merged)
            .args(no_charts)
            .arg(&slices),
    );
    (whole, slices, merged)
}

/// A grid run in slices and merged
/// gives the bytes of the unsharded sweep: sweep.json, sweep.csv and every chart.
#[test]
fn slices_merged_equal_the_unsharded_sweep_byte_for_byte() {
    let path = write_scenario(&station());
    let grid = [
        "--param",
        "workload.model.open.rate_per_s=100,300,600",
        "--param",
        "components.api.machine.cores=1,2",
        "-q",
    ];
    // Six points in four slices: slices 1 and 2 get two points, 3 and 4 one each.
    let (whole, slices, merged) = whole_and_sliced(&path, &grid, 4);
    let mut names: Vec<String> = std::fs::read_dir(&whole)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names.len(),
        3 + 10 + 1,
        "sweep.json, sweep.csv, report.html, five charts twice and .dsim-files: {names:?}"
    );
    for name in &names {
        assert!(
            std::fs::read(whole.join(name)).unwrap() == std::fs::read(merged.join(name)).unwrap(),
            "{name} differs between the merged slices and the whole sweep"
        );
    }

    // A missing slice, and slices of another sweep, are refused with exit 2.
    let refused = || {
        let out = dsim()
            .args(["merge", "--no-write"])
            .arg(&slices)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    std::fs::remove_file(slices.join("sweep-shard-3-of-4.json")).unwrap();
    assert_eq!(
        refused(),
        "error: slice 3 of 4 missing: run `dsim sweep … --shard I/4` for it\n"
    );
    run_ok(
        dsim()
            .arg("sweep")
            .args(grid)
            .args(["--seed", "9", "--shard", "3/4", "--out"])
            .arg(&slices)
            .arg(&path),
    );
    assert!(refused().contains("comes from another sweep"));
    let out = dsim()
        .arg("sweep")
        .args(grid)
        .args(["--shard", "0/4", "--no-write"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("slices count from 1"));
}

/// With --replications, a point is the mean of the runs with seeds seed, seed+1, … (each
/// equal to `dsim run --seed`), with a Student-t 95 % half-width; sweep.csv carries both.
#[test]
fn replicated_points_are_means_of_the_seeded_runs_with_t_intervals() {
    let path = write_scenario(&station());
    let out = run_ok(
        dsim()
            .args([
                "sweep",
                "--format",
                "json",
                "--no-write",
                "--replications",
                "3",
            ])
            .args([
                "--param",
                "workload.model.open.rate_per_s=300,600",
                "--seed",
                "5",
            ])
            .arg(&path),
    );
    let sweep: Value = serde_json::from_slice(&out.stdout).unwrap();
    let point = &sweep["points"][1];
    let runs: Vec<f64> = (5..8)
        .map(|seed| {
            let mut s = station();
            s["workload"]["model"]["open"]["rate_per_s"] = json!(600);
            crate::common::num(&crate::common::run_summary(&s, seed), "/latency_ms/p99")
        })
        .collect();
    let mean = runs.iter().sum::<f64>() / 3.0;
    let sd = (runs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 2.0).sqrt();
    // t(0.975, 2 degrees of freedom) = 4.303.
    let half = 4.303 * sd / 3f64.sqrt();
    let p99 = point["p99_ms"].as_f64().unwrap();
    let ci = point["ci95"]["p99_ms"].as_f64().unwrap();
    assert!(
        (p99 - mean).abs() < 1e-3,
        "mean {p99} vs {mean} of {runs:?}"
    );
    assert!(
        (ci - half).abs() < 2e-3 * half.max(1.0),
        "half-width {ci} vs {half}"
    );
    assert_eq!(point["ci95"]["replications"], 3);
    // The CSV ends with the replications and half-widths.
    let dir = temp_dir("sweep-replicated");
    run_ok(
        dsim()
            .args(["sweep", "-q", "--replications", "2", "--no-charts", "--out"])
            .arg(&dir)
            .args(["--param", "workload.model.open.rate_per_s=300"])
            .arg(&path),
    );
    let csv = std::fs::read_to_string(dir.join("sweep.csv")).unwrap();
    assert!(
        csv.lines().next().unwrap().ends_with(
            ",availability,writes_lost,longest_recovery_s,unrecovered_faults,replications,\
             throughput_rps_ci95,goodput_rps_ci95,error_rate_ci95,p50_ms_ci95,p99_ms_ci95,\
             availability_ci95"
        ),
        "{csv}"
    );
    assert!(!dir.join("p99.svg").exists(), "--no-charts drew charts");
}

/// Replicated points (their intervals) and an empty slice survive the trip through slices.
#[test]
fn replicated_slices_and_an_empty_one_merge_to_the_whole_sweep() {
    let path = write_scenario(&station());
    let grid = [
        "--param",
        "workload.model.open.rate_per_s=100,300,600",
        "--replications",
        "2",
        "--no-charts",
        "-q",
    ];
    // Three points in four slices: slice 4 is empty.
    let (whole, _, merged) = whole_and_sliced(&path, &grid, 4);
    for name in ["sweep.json", "sweep.csv"] {
        let (a, b) = (whole.join(name), merged.join(name));
        assert_eq!(
            std::fs::read_to_string(a).unwrap(),
            std::fs::read_to_string(b).unwrap(),
            "{name}"
        );
    }
    let json = std::fs::read_to_string(merged.join("sweep.json")).unwrap();
    assert!(json.contains("\"ci95\""), "intervals lost in the merge");
}

/// compare shows how designs fail, not only how fast they are: the retry storm never
/// recovers from its slow-down, the same design without retries does.
#[test]
fn compare_shows_recovery_and_availability() {
    let storm: Value =
        serde_json::from_str(&std::fs::read_to_string("scenarios/15-retry-storm.json").unwrap())
            .unwrap();
    let mut calm = storm.clone();
    calm["name"] = json!("no-retries");
    calm["workload"]["retry"]["max_attempts"] = json!(1);
    let out = run_ok(
        dsim()
            .args(["compare", "--no-write"])
            .arg("scenarios/15-retry-storm.json")
            .arg(write_scenario(&calm)),
    );
    let table = String::from_utf8(out.stdout).unwrap();
    let row = |name: &str| {
        table
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} row in\n{table}"))
            .split_whitespace()
            .skip(1)
            .map(String::from)
            .collect::<Vec<_>>()
    };
    assert_eq!(row("recovery_s")[0], "never");
    let recovered: f64 = row("recovery_s")[1].parse().unwrap();
    assert!(recovered > 0.0 && recovered < 30.0, "{table}");
    let availability: Vec<f64> = row("availability_%")
        .iter()
        .filter_map(|c| c.parse().ok())
        .collect();
    assert!(availability[0] < 50.0 && availability[1] > 70.0, "{table}");
}
