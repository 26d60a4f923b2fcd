//! Figures that cannot mislead (issue 11 §1): no latency where nothing completed, in every
//! view; the latency of the few that got through flagged; the bottleneck is a component's
//! busiest machine; the terminal table and report.html tell the same story.

use crate::common::{dsim, run_ok, temp_dir};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn scenario(stem: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("scenarios/{stem}.json"))
}

/// Runs `stem` with `args` into a fresh folder: (stdout table, the folder).
fn run_into(stem: &str, args: &[&str]) -> (String, PathBuf) {
    let out = temp_dir("figures").join("out");
    let done = run_ok(
        dsim()
            .args(["run", "--out"])
            .arg(&out)
            .args(args)
            .arg(scenario(stem)),
    );
    (String::from_utf8(done.stdout).unwrap(), out)
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Scenario 09 with a 1 ms timeout, shortened: no request completes.
const NOTHING_COMPLETES: [&str; 6] = [
    "--set",
    "workload.timeout_ms=1",
    "--set",
    "duration_s=8",
    "--set",
    "warmup_s=2",
];

/// Issue 11: `--set workload.timeout_ms=1` on scenario 09 printed p50…max = 0.00.
#[test]
fn nothing_completed_means_no_latency_in_any_view() {
    let (table, out) = run_into("09-horizontal-scaling", &NOTHING_COMPLETES);
    let summary = json(&out.join("summary.json"));
    assert_eq!(summary["requests"]["completed"], 0);
    for figure in ["mean", "p50", "p90", "p99", "p999", "max"] {
        assert!(
            summary["latency_ms"][figure].is_null(),
            "{figure}: {summary:#}"
        );
    }
    assert_eq!(summary["goodput_rps"], 0.0);
    let all = table.lines().find(|l| l.starts_with("all")).unwrap_or("");
    assert!(
        all.contains("no request completed") && !all.contains("0.00"),
        "{table}"
    );
    // timeseries.csv: the latency columns of every row are empty.
    let csv = std::fs::read_to_string(out.join("timeseries.csv")).unwrap();
    let head: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let p99 = head.iter().position(|h| *h == "p99_ms").unwrap();
    for row in csv.lines().skip(1) {
        assert_eq!(row.split(',').nth(p99), Some(""), "{row}");
    }
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(page.contains("no request completed"), "report.html");
    // The gate: a latency objective fails and the JSON says null, not 0.
    let check = dsim()
        .args(["check", "--no-write", "--format", "json"])
        .args(NOTHING_COMPLETES)
        .arg(scenario("09-horizontal-scaling"))
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(1));
    let verdicts: Value = serde_json::from_slice(&check.stdout).unwrap();
    let p99 = verdicts["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["figure"] == "p99_ms")
        .unwrap();
    assert!(p99["value"].is_null() && p99["passed"] == false, "{p99}");
}

/// Issue 11: a 2M-user sweep point plotted p99 = 0; and a compare chart showed one big
/// machine's p99 flat at 976 ms while it refused 69 % of requests.
#[test]
fn sweeps_and_comparisons_say_when_latency_is_absent_or_of_the_few() {
    let out = temp_dir("figures-sweep");
    let table = run_ok(
        dsim()
            .args(["sweep", "--out"])
            .arg(&out)
            .args(["--param", "workload.timeout_ms=1,2000"])
            .args(["--set", "duration_s=8", "--set", "warmup_s=2"])
            .arg(scenario("09-horizontal-scaling")),
    );
    let table = String::from_utf8(table.stdout).unwrap();
    let sweep = json(&out.join("sweep.json"));
    assert!(sweep["points"][0]["p99_ms"].is_null(), "{sweep:#}");
    assert!(sweep["points"][1]["p99_ms"].as_f64().is_some());
    assert!(
        table.contains(" none ") && table.contains("none: no request completed"),
        "{table}"
    );
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    assert!(
        csv.lines().nth(1).unwrap().contains(",,"),
        "empty p50/p99: {csv}"
    );
    // One big machine at 400,000 users refuses most requests: its p99 is flagged.
    let cmp = temp_dir("figures-compare");
    let done = run_ok(
        dsim()
            .args(["compare", "--out"])
            .arg(&cmp)
            .arg(scenario("08-vertical-scaling"))
            .arg(scenario("09-horizontal-scaling"))
            .args(["--set", "workload.model.closed.users=400000"])
            .args(["--set", "duration_s=12", "--set", "warmup_s=4"]),
    );
    let table = String::from_utf8(done.stdout).unwrap();
    let p99 = table
        .lines()
        .find(|l| l.starts_with("p99_ms"))
        .unwrap_or("");
    let first = p99.split_whitespace().nth(1).unwrap_or("");
    assert!(first.ends_with('!'), "{table}");
    assert!(
        table.contains("! more than 1% of requests failed"),
        "{table}"
    );
    let errors = table
        .lines()
        .find(|l| l.starts_with("error_rate_%"))
        .unwrap_or("");
    assert!(
        errors.contains(" pp*)"),
        "a share changes in points: {table}"
    );
    assert!(
        table.contains("cost_per_1000_rps") && table.contains("goodput_rps"),
        "{table}"
    );
    // With --param the p99 chart rings the flagged points and says why in its legend.
    let knee = temp_dir("figures-knee");
    run_ok(
        dsim()
            .args(["compare", "-q", "--out"])
            .arg(&knee)
            .arg(scenario("08-vertical-scaling"))
            .arg(scenario("09-horizontal-scaling"))
            .args(["--param", "workload.model.closed.users=20000,400000"])
            .args(["--set", "duration_s=12", "--set", "warmup_s=4"]),
    );
    let svg = std::fs::read_to_string(knee.join("p99.svg")).unwrap();
    // The legend (wrapped over lines) explains the rings.
    assert!(svg.contains("more than 1% of"), "p99.svg legend");
}

/// Issue 11: scenario 14 named "db (cpu 50 %; nothing is near a limit)" while one shard ran
/// at 83 %; with reads on the primary (13) the primary is the hot machine; while data moves
/// (21) an old shard is.
#[test]
fn the_bottleneck_is_the_busiest_machine() {
    let (table, out) = run_into("14-sharding-hot-key", &["--no-charts"]);
    let b = &json(&out.join("summary.json"))["bottleneck"];
    assert_eq!(
        (&b["component"], &b["machine"]),
        (&Value::from("db"), &Value::from("shard 1 machine 0"))
    );
    let (u, mean) = (
        b["utilisation"].as_f64().unwrap(),
        b["mean_utilisation"].as_f64().unwrap(),
    );
    assert!(
        (0.78..0.88).contains(&u) && (0.45..0.55).contains(&mean),
        "{b}"
    );
    // The table says what the summary says.
    let line = format!(
        "bottleneck: db shard 1 machine 0 (cpu {:.0}%, mean of its machines {:.0}%)",
        u * 100.0,
        mean * 100.0
    );
    assert!(table.contains(&line), "{line} in {table}");
    let csv = std::fs::read_to_string(out.join("timeseries.csv")).unwrap();
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .contains(",db_busiest_utilisation"),
        "{csv}"
    );
    let (_, out) = run_into(
        "13-read-replicas",
        &[
            "--no-charts",
            "--set",
            "components.db.replication.reads_from=primary",
        ],
    );
    let b = &json(&out.join("summary.json"))["bottleneck"];
    assert_eq!(b["machine"], "machine 0", "the primary: {b}");
    assert!(b["utilisation"].as_f64().unwrap() > 0.7, "{b}");
    let (_, out) = run_into("21-adding-shards", &[]);
    let b = &json(&out.join("summary.json"))["bottleneck"];
    let machine = b["machine"].as_str().unwrap_or("");
    assert!(
        machine.starts_with("shard 0") || machine.starts_with("shard 1"),
        "{b}"
    );
    // The utilisation chart draws the busiest machine beside the mean, and the time axis
    // marks the rebalancing.
    let svg = std::fs::read_to_string(out.join("utilisation.svg")).unwrap();
    assert!(svg.contains("db (busiest machine)") && svg.contains("db (mean of machines)"));
    assert!(
        svg.contains("db: +2 shards, data moving"),
        "rebalancing marked"
    );
}

/// Issue 11: the table and report.html showed different sections (no cache hit ratio in the
/// table, no per-machine database table or failover timeline in the page, …).
#[test]
fn the_table_and_the_report_tell_the_same_story() {
    for (stem, phrases) in [
        ("10-cache", &["cache hit ratio: cache "][..]),
        (
            "12-master-slave-failover",
            &[
                // Which standby is promoted (the most caught-up) depends on the draws.
                "failover of shard 0: primary died 30 s, noticed 35 s, machine ",
                " primary at 38 s",
                "replication lag p50",
                "retries 0",
            ][..],
        ),
        ("15-retry-storm", &["retries ", "slow api ×3"][..]),
    ] {
        let (table, out) = run_into(stem, &["--no-charts"]);
        let page = std::fs::read_to_string(out.join("report.html")).unwrap();
        // Each class's error rate, as summary.json has it, in both (a table of classes is
        // shown when there are several).
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
                .unwrap();
        let classes = summary["classes"].as_object().unwrap();
        let rates: Vec<String> = classes
            .values()
            .filter(|_| classes.len() > 1)
            .map(|c| {
                let r = &c["requests"];
                let errors = r["total"].as_f64().unwrap() - r["completed"].as_f64().unwrap();
                format!("{:.2}%", 100.0 * errors / r["total"].as_f64().unwrap())
            })
            .collect();
        for phrase in phrases
            .iter()
            .copied()
            .chain(rates.iter().map(String::as_str))
        {
            assert!(
                table.contains(phrase),
                "{stem}: the table lacks `{phrase}`:\n{table}"
            );
            let html = phrase.replace('&', "&amp;");
            assert!(page.contains(&html), "{stem}: report.html lacks `{phrase}`");
        }
        // Every line of the table's sections is in the page too.
        for line in table
            .lines()
            .skip(1)
            .filter(|l| l.starts_with("bottleneck"))
        {
            assert!(page.contains(line), "{stem}: `{line}`");
        }
    }
}

/// Issue 11: `dsim capacity` printed "0 users ± 0" for an objective no load meets, and "± 0"
/// when every seed stopped on the same coarse step.
#[test]
fn capacity_says_when_no_load_meets_and_never_claims_a_false_precision() {
    let station = serde_json::json!({
        "name": "station", "duration_s": 20, "warmup_s": 2,
        "network": {"client_link": {"latency_ms": {"constant": {"ms": 0}}}},
        "workload": {"model": {"open": {"rate_per_s": 100}}, "entry": "api"},
        "components": {"api": {"kind": "service", "machine": {"cores": 1},
            "workers": 1, "queue_capacity": 100000,
            "handlers": {"default": [{"cpu_ms": {"exponential": {"mean_ms": 1}}}]}}}});
    let path = crate::common::write_scenario(&station);
    let impossible = dsim()
        .args([
            "capacity",
            "--no-write",
            "--replications",
            "2",
            "--slo",
            "p99_ms<0.001",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(impossible.status.code(), Some(1));
    let text = String::from_utf8_lossy(&impossible.stdout);
    assert!(
        text.starts_with("no load meets p99_ms ≤ 0.001 — at the smallest load tried"),
        "{text}"
    );
    assert!(text.contains("p99_ms is "), "{text}");
    let coarse = run_ok(
        dsim()
            .args([
                "capacity",
                "--no-write",
                "--replications",
                "2",
                "--precision",
                "50%",
            ])
            .args(["--slo", "p99_ms<20"])
            .arg(&path),
    );
    let text = String::from_utf8(coarse.stdout).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("capacity: "))
        .unwrap_or("");
    assert!(line.contains(" ± ") && !line.contains("± 0 "), "{text}");
    let json = run_ok(
        dsim()
            .args([
                "capacity",
                "--no-write",
                "--format",
                "json",
                "--replications",
                "2",
            ])
            .args(["--precision", "50%", "--slo", "p99_ms<20"])
            .arg(&path),
    );
    let doc: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(
        doc["objectives"][0],
        serde_json::json!({"figure": "p99_ms", "class": null, "at_most": 20.0})
    );
    assert!(
        doc["capacity"]["ci95"].as_f64().unwrap()
            >= doc["capacity"]["search_resolution"].as_f64().unwrap()
    );
}

/// Issue 12 §6: a balancer has no machine and a DNS no connections either; their sections
/// leave those figures out (they used to read 0 % CPU), in summary.json, timeseries.csv and
/// the table alike.
#[test]
fn figures_that_do_not_apply_are_absent_not_zero() {
    let args = ["--set", "duration_s=90", "--no-charts"];
    let (table, out) = run_into("17-two-regions-outage", &args);
    let summary = json(&out.join("summary.json"));
    let keys = |name: &str| -> Vec<String> {
        let c = summary["components"][name].as_object().unwrap();
        c.keys().cloned().collect()
    };
    assert_eq!(summary["schema_version"], 4);
    assert_eq!(
        keys("geo-dns"),
        ["kind", "cost_per_hour", "answers_per_s", "health_changes"]
    );
    assert_eq!(
        keys("lb-us"),
        [
            "kind",
            "cost_per_hour",
            "throughput_rps",
            "cpu_utilisation",
            "nic_utilisation",
            "mean_connections",
            "peak_connections",
            "max_connections",
            "refused_by"
        ]
    );
    let app = keys("app-us");
    for figure in ["replicas", "cpu_utilisation", "mean_queue", "ram_gb"] {
        assert!(app.contains(&figure.to_string()), "{app:?}");
    }
    // timeseries.csv: no utilisation for the DNS, no queue for the DNS or the balancers.
    let csv = std::fs::read_to_string(out.join("timeseries.csv")).unwrap();
    let head: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = |name: &str| head.iter().position(|h| *h == name).unwrap();
    let empty = [
        col("geo-dns_utilisation"),
        col("geo-dns_mean_queue"),
        col("lb-us_mean_queue"),
    ];
    let (lb, app) = (col("lb-us_utilisation"), col("app-us_mean_queue"));
    for row in csv.lines().skip(1) {
        let cells: Vec<&str> = row.split(',').collect();
        assert!(empty.iter().all(|&i| cells[i].is_empty()), "{row}");
        assert!(cells[lb].parse::<f64>().is_ok() && cells[app].parse::<f64>().is_ok());
    }
    // The table: `-` where a figure does not apply, the DNS's answers in its rps column.
    let dns = table.lines().find(|l| l.starts_with("geo-dns")).unwrap();
    let cells: Vec<&str> = dns.split_whitespace().collect();
    assert_eq!(
        cells[..7],
        ["geo-dns", "dns", "-", "-", "-", "-", "-"],
        "{table}"
    );
    // A balancer has CPU but no workers or queue.
    let lb = table.lines().find(|l| l.starts_with("lb-us")).unwrap();
    let cells_lb: Vec<&str> = lb.split_whitespace().collect();
    assert_eq!(cells_lb[2], "-", "{table}");
    assert!(cells_lb[3].ends_with('%'), "{table}");
    assert_eq!(cells_lb[4..6], ["-", "-"], "{table}");
    let answers = summary["components"]["geo-dns"]["answers_per_s"]
        .as_f64()
        .unwrap();
    assert_eq!(
        cells[7].replace(',', ""),
        format!("{answers:.1}"),
        "{table}"
    );
}
