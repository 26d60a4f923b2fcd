//! Failure behaviour: each distributed-design scenario teaches what it says (lost writes,
//! stale reads, a hot shard, a retry storm, isolation by expansion), failover timing matches
//! its configuration, and every request still ends in exactly one outcome under every kind
//! of fault, reproducibly.

use crate::common::{dsim, num, run_ok, run_summary, temp_dir};
use serde_json::{Value, json};
use std::path::PathBuf;

fn scenario(stem: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("scenarios/{stem}.json"))
}

/// Runs a curated scenario with `--set` overrides and returns its summary.
fn run_with(stem: &str, sets: &[&str]) -> Value {
    let mut cmd = dsim();
    cmd.args(["run", "--format", "json", "--no-write"])
        .arg(scenario(stem));
    for s in sets {
        cmd.args(["--set", s]);
    }
    serde_json::from_slice(&run_ok(&mut cmd).stdout).expect("summary is JSON")
}

/// Runs a curated scenario into a fresh folder; returns its summary and its time series (the
/// header's names, then the rows as numbers).
fn run_to_files(stem: &str) -> (Value, Vec<String>, Vec<Vec<f64>>) {
    run_to_files_with(stem, &[])
}

/// `run_to_files` with `--set` overrides; an empty cell (a figure that does not apply) reads
/// as NaN.
fn run_to_files_with(stem: &str, sets: &[&str]) -> (Value, Vec<String>, Vec<Vec<f64>>) {
    let dir = temp_dir(stem);
    let mut cmd = dsim();
    cmd.args(["run", "--quiet", "--no-charts", "--out"])
        .arg(&dir)
        .arg(scenario(stem));
    for s in sets {
        cmd.args(["--set", s]);
    }
    run_ok(&mut cmd);
    let summary = serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap())
        .expect("summary is JSON");
    let csv = std::fs::read_to_string(dir.join("timeseries.csv")).unwrap();
    let mut lines = csv.lines();
    let header = lines.next().unwrap().split(',').map(String::from).collect();
    let rows = lines
        .map(|l| {
            l.split(',')
                .map(|x| {
                    if x.is_empty() {
                        f64::NAN
                    } else {
                        x.parse().unwrap()
                    }
                })
                .collect()
        })
        .collect();
    (summary, header, rows)
}

fn machines(r: &Value, db: &str) -> Vec<Value> {
    r.pointer(&format!("/components/{db}/replication/machines"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_else(|| panic!("no machines for {db}"))
}

#[test]
fn async_failover_loses_acknowledged_writes_and_sync_loses_none() {
    let asynchronous = run_with("12-master-slave-failover", &[]);
    let sync = run_with(
        "12-master-slave-failover",
        &["components.db.replication.mode=sync"],
    );
    // About write rate × effective lag: 400/s × ~80 ms.
    let lost = num(&asynchronous, "/failures/writes_lost");
    assert!((10.0..100.0).contains(&lost), "{lost}");
    assert_eq!(num(&sync, "/failures/writes_lost"), 0.0);
    assert_eq!(
        num(&asynchronous, "/components/db/replication/writes_lost"),
        lost
    );
    // Sync pays for it on every write: it waits for a replica to apply it.
    let write_p50 = |r: &Value| num(r, "/classes/write/latency_ms/p50");
    assert!(write_p50(&sync) > write_p50(&asynchronous) + 40.0);
    // Reads never needed the primary: only writes failed.
    for r in [&asynchronous, &sync] {
        assert_eq!(
            num(r, "/classes/read/requests/completed"),
            num(r, "/classes/read/requests/total")
        );
        assert!(num(r, "/classes/write/requests/rejected_by/no_primary") > 0.0);
        assert!(num(r, "/classes/write/requests/failed_by/backend_down") > 0.0);
    }
}

#[test]
fn failover_downtime_is_detection_plus_promotion() {
    let (summary, header, rows) = run_to_files("12-master-slave-failover");
    let f = &summary["components"]["db"]["replication"]["failovers"][0];
    // Crash at 30 s, detection 5 s, promotion 3 s.
    assert_eq!(num(f, "/crashed_at_s"), 30.0);
    assert_eq!(num(f, "/detected_at_s"), 35.0);
    assert_eq!(num(f, "/promoted_at_s"), 38.0);
    assert_eq!(num(f, "/write_downtime_s"), 8.0);
    let effect = &summary["failures"]["faults"][0];
    assert_eq!(num(effect, "/errors_started_s"), 30.0);
    assert_eq!(num(effect, "/time_to_recover_s"), 8.0);
    // In the time series, writes fail on the dead primary until the detection, are refused
    // for want of a primary until the promotion, and not before or after.
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (down, no_primary) = (col("failed_backend_down"), col("rejected_no_primary"));
    let mut seen = (0, 0);
    for f in &rows {
        let (start, end) = (f[0], f[1]);
        if f[down] > 0.0 {
            seen.0 += 1;
            assert!(
                start >= 30.0 && end <= 35.5,
                "backend_down in {start}..{end}"
            );
        }
        if f[no_primary] > 0.0 {
            seen.1 += 1;
            // A write refused just before the promotion reaches its client a network trip
            // later, in the next interval at most.
            assert!(start >= 35.0 && end <= 38.5, "no_primary in {start}..{end}");
        }
    }
    assert!(seen.0 >= 10 && seen.1 >= 6, "{seen:?}");
}

#[test]
fn read_replicas_take_load_off_the_primary_but_serve_stale_reads() {
    let replicas = run_with("13-read-replicas", &[]);
    let primary = run_with(
        "13-read-replicas",
        &["components.db.replication.reads_from=primary"],
    );
    let ratio = num(&replicas, "/components/db/replication/stale_read_ratio");
    assert!(
        ratio > 0.2,
        "popular keys are often read before the copy lands: {ratio}"
    );
    assert!(num(&replicas, "/components/db/replication/staleness_ms/max") < 1000.0);
    assert_eq!(num(&primary, "/failures/stale_reads"), 0.0);
    let cpu = |r: &Value, i: usize| num(&machines(r, "db")[i], "/cpu_utilisation");
    // Reading from the primary, a replica's cores only apply the writes: about 600 writes/s
    // of 1 ms mean over 4 cores is 15 %.
    assert!(
        cpu(&primary, 0) > 0.7 && (cpu(&primary, 1) - 0.15).abs() < 0.02,
        "primary does it all"
    );
    assert!(
        cpu(&replicas, 0) < 0.3 && cpu(&replicas, 1) > 0.2,
        "replicas share the reads"
    );
    assert!(num(&primary, "/latency_ms/p99") > num(&replicas, "/latency_ms/p99"));
}

#[test]
fn the_shard_holding_the_hot_key_runs_hottest_and_slowest() {
    let r = run_with("14-sharding-hot-key", &[]);
    let shards = machines(&r, "db");
    assert_eq!(shards.len(), 4);
    let cpu: Vec<f64> = shards.iter().map(|m| num(m, "/cpu_utilisation")).collect();
    let p99: Vec<f64> = shards.iter().map(|m| num(m, "/service_ms/p99")).collect();
    let hot = (0..4).max_by(|&a, &b| cpu[a].total_cmp(&cpu[b])).unwrap();
    for i in (0..4).filter(|&i| i != hot) {
        assert!(cpu[hot] > 1.3 * cpu[i], "{cpu:?}");
        assert!(p99[hot] > 1.5 * p99[i], "{p99:?}");
    }
    // Pinning the hot key to the coolest shard evens the load out.
    let pinned = run_with(
        "14-sharding-hot-key",
        &[&format!(
            r#"components.db.partitions.pinned={{"0": {}}}"#,
            (0..4).min_by(|&a, &b| cpu[a].total_cmp(&cpu[b])).unwrap()
        )],
    );
    let pinned_cpu: Vec<f64> = machines(&pinned, "db")
        .iter()
        .map(|m| num(m, "/cpu_utilisation"))
        .collect();
    assert!(pinned_cpu.iter().all(|&u| u < 0.65), "{pinned_cpu:?}");
    // Range partitioning puts every popular (low) key on shard 0.
    let range = run_with(
        "14-sharding-hot-key",
        &["components.db.partitions.by=range"],
    );
    let share = |r: &Value, i: usize| num(&machines(r, "db")[i], "/throughput_rps");
    let total: f64 = (0..4).map(|i| share(&range, i)).sum();
    assert!(share(&range, 0) > 0.7 * total);
}

#[test]
fn retries_turn_a_short_slowdown_into_an_outage_that_does_not_end() {
    let storm = run_with("15-retry-storm", &[]);
    let calm = run_with("15-retry-storm", &["workload.retry.max_attempts=1"]);
    let effect = |r: &Value| r["failures"]["faults"][0].clone();
    assert!(
        effect(&storm)["recovered_at_s"].is_null(),
        "{:#}",
        effect(&storm)
    );
    let recovered = num(&effect(&calm), "/time_to_recover_s");
    assert!((5.0..25.0).contains(&recovered), "{recovered}");
    assert!(num(&storm, "/error_rate") > 2.0 * num(&calm, "/error_rate"));
    assert!(num(&storm, "/retries") > num(&storm, "/requests/total"));
}

#[test]
fn expansion_keeps_one_group_s_outage_away_from_the_other_classes() {
    let r = run_with("16-expansion-by-class", &[]);
    for class in ["btc", "eth"] {
        let p = format!("/classes/{class}/requests");
        assert_eq!(
            num(&r, &format!("{p}/completed")),
            num(&r, &format!("{p}/total"))
        );
    }
    let doge_errors =
        num(&r, "/classes/doge/requests/total") - num(&r, "/classes/doge/requests/completed");
    assert!(doge_errors > 1000.0, "{doge_errors}");
    assert!(num(&r, "/classes/doge/requests/rejected_by/no_healthy_backend") > 0.0);
    assert!(num(&r, "/components/doge-servers/throughput_rps") > 0.0);
}

/// A scenario with every kind of fault at once, retries and a queued failover.
fn every_fault() -> Value {
    json!({
        "name": "every-fault",
        "duration_s": 30, "warmup_s": 2, "interval_s": 0.5,
        "workload": {
            "model": {"closed": {"users": 3000, "think_time_ms": {"exponential": {"mean_ms": 500}}}},
            "entry": "lb",
            "classes": {"read": {"weight": 3, "keys": {"zipf": {"count": 1000, "exponent": 1.0}}},
                        "write": {"weight": 1, "keys": {"zipf": {"count": 1000, "exponent": 1.0}}}},
            "timeout_ms": 800,
            "retry": {"max_attempts": 3, "initial_backoff_ms": 50}
        },
        "components": {
            "lb": {"kind": "load_balancer", "backends": ["app"],
                   "health_check": {"interval_ms": 500, "unhealthy_threshold": 2}},
            "app": {"kind": "service", "replicas": 3, "machine": {"cores": 4}, "workers": 100,
                    "queue_capacity": 200,
                    "handlers": {"default": [{"cpu_ms": {"exponential": {"mean_ms": 2}}},
                                             {"call": "db"}]},
                    "connection_pools": {"db": {"size": 30}}},
            "db": {"kind": "database", "machine": {"cores": 8},
                   "queries": {"read": {"cpu_ms": {"exponential": {"mean_ms": 0.5}}},
                               "write": {"op": "write", "cpu_ms": {"exponential": {"mean_ms": 1}}}},
                   "partitions": {"count": 2},
                   "replication": {"replicas": 2, "mode": "sync", "acks": 1,
                                   "failover": {"detection_ms": 1000, "promotion_ms": 500,
                                                "during": "queue"}}}
        },
        "faults": [
            {"crash": {"component": "app", "replica": 0, "at_s": 5, "recover_after_s": 5}},
            {"crash": {"component": "db", "shard": 1, "replica": 0, "at_s": 8}},
            {"crash": {"component": "db", "shard": 1, "replica": 1, "at_s": 8.5, "recover_after_s": 3}},
            {"outage": {"component": "db", "at_s": 20, "recover_after_s": 2}},
            {"slow": {"component": "app", "replica": 1, "factor": 10, "at_s": 12, "duration_s": 3}},
            {"latency_spike": {"between": ["app", "db"], "extra_ms": 300, "at_s": 15, "duration_s": 2}},
            {"latency_spike": {"extra_ms": 500, "at_s": 24, "duration_s": 1}}
        ]
    })
}

#[test]
fn every_request_ends_once_under_every_kind_of_fault_and_runs_repeat_exactly() {
    let s = every_fault();
    for seed in [1, 2, 3] {
        let r = run_summary(&s, seed);
        let q = &r["requests"];
        let total = num(q, "/total");
        let sum = ["completed", "rejected", "timed_out", "failed"]
            .iter()
            .map(|k| num(q, &format!("/{k}")))
            .sum::<f64>();
        assert_eq!(total, sum, "seed {seed}: {q:#}");
        assert!(total > 50_000.0);
        assert_eq!(
            r["stop_reason"], "completed",
            "seed {seed}: nothing left hanging"
        );
        // Seven faults, each read off the time series.
        assert_eq!(r["failures"]["faults"].as_array().map(Vec::len), Some(7));
        assert_eq!(num(&r, "/components/db/replication/failovers/0/shard"), 1.0);
        assert!(num(&r, "/failures/availability") < 1.0);
    }
    let a = run_summary(&s, 7);
    let b = run_summary(&s, 7);
    assert_eq!(a, b, "same seed, same faults, same results");
}

#[test]
fn a_region_outage_hurts_only_its_users_until_dns_detection_and_ttl_have_passed() {
    let r = run_with("17-two-regions-outage", &[]);
    assert_eq!(num(&r, "/failures/regions/us/availability"), 1.0);
    assert!(num(&r, "/failures/regions/eu/availability") < 0.9);
    // Outage at 60 s; DNS checks every 10 s and needs 3 failures (20 to 30 s), then users
    // move within the 60 s TTL: back to normal 80 to 90 s after the outage (+ one 5 s row).
    let effect = &r["failures"]["faults"][0];
    assert_eq!(num(effect, "/errors_started_s"), 60.0);
    let recover = num(effect, "/time_to_recover_s");
    assert!((80.0..=95.0).contains(&recover), "{recover}");
    let faster = run_with("17-two-regions-outage", &["components.geo-dns.ttl_s=10"]);
    let recover_fast = num(&faster["failures"]["faults"][0], "/time_to_recover_s");
    assert!((30.0..=45.0).contains(&recover_fast), "{recover_fast}");
    let changes = r["components"]["geo-dns"]["health_changes"]
        .as_array()
        .unwrap();
    assert_eq!(changes[0]["backend"], "lb-eu");
    assert_eq!(changes[0]["healthy"], false);
}

/// Two regions, the app in one and its database in the other.
fn across_regions(timeout_ms: f64) -> Value {
    json!({
        "name": "partition",
        "duration_s": 20, "warmup_s": 1,
        "regions": {"eu": {}, "us": {}},
        "network": {"region_links": [{"between": ["eu", "us"], "latency_ms": {"constant": {"ms": 30}}}]},
        "workload": {
            "model": {"open": {"rate_per_s": 200}}, "entry": "app", "timeout_ms": timeout_ms
        },
        "components": {
            "app": {"kind": "service", "region": "eu", "machine": {"cores": 8}, "workers": 5000,
                    "queue_capacity": 10000,
                    "handlers": {"default": [{"cpu_ms": {"constant": {"ms": 1}}}, {"call": "db"}]}},
            "db": {"kind": "database", "region": "us", "machine": {"cores": 8, "max_connections": 5000},
                   "queries": {"default": {"cpu_ms": {"constant": {"ms": 1}}}}}
        },
        "faults": [{"partition": {"between": ["us", "eu"], "at_s": 10, "duration_s": 3}}]
    })
}

#[test]
fn a_partition_holds_messages_until_it_heals() {
    let patient = run_summary(&across_regions(10_000.0), 1);
    assert_eq!(
        num(&patient, "/error_rate"),
        0.0,
        "everything arrives once the link heals"
    );
    let max = num(&patient, "/latency_ms/max");
    // The 3 s cut, plus a request's ordinary worst: its connection's handshake and the
    // request itself, each a round trip of up to a few hundred milliseconds.
    assert!(
        (3000.0..4000.0).contains(&max),
        "held up to the 3 s cut: {max}"
    );
    // Users on the internet (2 × 40 ms), half of them across the ocean, and a call to the
    // other region with its connection handshake: a few hundred milliseconds.
    assert!(num(&patient, "/latency_ms/p50") < 400.0);
    let impatient = run_summary(&across_regions(1_000.0), 1);
    assert!(num(&impatient, "/requests/timed_out") > 300.0);
}

/// A crash from 20 to 30 s and an outage of the same database from 21 to 22 s: the machine
/// stays down until 30 s (the outage's end does not revive it), so the failover goes ahead.
#[test]
fn overlapping_faults_keep_a_machine_down_until_the_last_one_ends() {
    let r = run_with(
        "12-master-slave-failover",
        &[
            r#"faults=[{"crash": {"component": "db", "at_s": 20, "recover_after_s": 10}},
                       {"outage": {"component": "db", "at_s": 21, "recover_after_s": 1}}]"#,
        ],
    );
    let failovers = r["components"]["db"]["replication"]["failovers"]
        .as_array()
        .unwrap();
    // The outage (21 s) finds the primary already dead; the other two machines come back at
    // 22 s, so the one failover is the crash's: noticed at 25 s, promoted at 28 s.
    assert_eq!(failovers.len(), 1, "{failovers:#?}");
    assert_eq!(num(&failovers[0], "/crashed_at_s"), 20.0);
    assert_eq!(num(&failovers[0], "/promoted_at_s"), 28.0);
}

#[test]
fn a_circuit_breaker_sheds_the_retry_storm() {
    let breaker = r#"workload.classes={"default": {"circuit_breaker":
        {"window": 50, "failure_ratio": 0.5, "open_ms": 2000, "half_open_probes": 5}}}"#;
    let r = run_with("15-retry-storm", &[breaker]);
    let opened = num(&r, "/classes/default/circuit_breaker/opened");
    assert!(opened >= 1.0);
    let refused = num(&r, "/requests/rejected_by/circuit_open");
    assert!(refused > 100.0, "{refused}");
    assert!(num(&r, "/classes/default/circuit_breaker/refused") >= refused);
    let recovered = num(&r["failures"]["faults"][0], "/time_to_recover_s");
    assert!(recovered < 15.0, "{recovered}");
    assert!(num(&r, "/error_rate") < 0.2);
}

#[test]
fn a_database_replicated_across_regions_trades_write_latency_for_lost_writes() {
    let sync = run_with("18-geo-replicated-db", &[]);
    let asynchronous = run_with(
        "18-geo-replicated-db",
        &["components.db.replication.mode=async"],
    );
    // The EU primary dies with its region; the US replica takes over after 5 + 5 s.
    for r in [&sync, &asynchronous] {
        let f = &r["components"]["db"]["replication"]["failovers"][0];
        assert_eq!(num(f, "/promoted_at_s"), 70.0);
        assert_eq!(f["promoted"], "machine 1");
        // US users only lose writes while there is no primary.
        let us = num(r, "/failures/regions/us/availability");
        assert!(us > 0.95 && us < 1.0, "{us}");
    }
    assert_eq!(num(&sync, "/failures/writes_lost"), 0.0);
    assert!(num(&asynchronous, "/failures/writes_lost") > 0.0);
    // Until the outage every sync write waits for the ocean round trip (~80 ms).
    let p50 = |r: &Value| num(r, "/classes/write/latency_ms/p50");
    assert!(p50(&sync) > p50(&asynchronous) + 50.0);
    // Reads stay in the reader's region: the same either way.
    let reads = |r: &Value| num(r, "/classes/read/latency_ms/p50");
    assert!((reads(&sync) - reads(&asynchronous)).abs() < 5.0);
}

#[test]
fn state_on_one_server_makes_two_machines_as_available_as_one() {
    let one = run_with("19-state-on-one-server", &[]);
    let shared = run_with("20-state-in-shared-db", &[]);
    let effect = |r: &Value| r["failures"]["faults"][0].clone();
    // Method 1: server-2 cannot serve without server-1, so everything fails until it is back.
    assert_eq!(num(&effect(&one), "/peak_error_rate"), 1.0);
    let down = num(&effect(&one), "/time_to_recover_s");
    assert!((30.0..=32.0).contains(&down), "{down}");
    // Method 2: only what was sent to server-1 before the checks took it out (two failed
    // checks, 2 s apart: at 32 s).
    let peak = num(&effect(&shared), "/peak_error_rate");
    assert!((0.3..=0.6).contains(&peak), "{peak}");
    assert!(num(&effect(&shared), "/time_to_recover_s") <= 5.0);
    assert!(num(&shared, "/failures/availability") > 0.98);
    assert!(num(&one, "/failures/availability") < 0.7);
}

#[test]
fn adding_shards_costs_capacity_while_data_moves_then_cools_every_shard() {
    let (summary, header, rows) = run_to_files("21-adding-shards");
    let p99 = header.iter().position(|h| h == "p99_ms").unwrap();
    let mean_p99 = |from: f64, to: f64| {
        let xs: Vec<f64> = rows
            .iter()
            .filter(|r| r[0] >= from && r[1] <= to)
            .map(|r| r[p99])
            .collect();
        xs.iter().sum::<f64>() / xs.len() as f64
    };
    let (before, moving, after) = (
        mean_p99(10.0, 30.0),
        mean_p99(31.0, 50.0),
        mean_p99(55.0, 80.0),
    );
    assert!(moving > 2.0 * before, "{before} {moving} {after}");
    // The rest of the path (app CPU, LAN) puts a floor under both: about 8 ms against 6.5.
    assert!(after < 0.9 * before, "{before} {moving} {after}");
    let machines = machines(&summary, "db");
    assert_eq!(machines.len(), 4);
    // The new shards only work after the move (50 of the 75 measured seconds were before).
    assert!(num(&machines[2], "/throughput_rps") < 0.5 * num(&machines[0], "/throughput_rps"));
}

/// A scatter-gather through a pool of one connection holds it until its slowest shard has
/// answered (10 ms here), so at 60 queries/s callers queue for it (M/D/1 at ρ ≈ 0.63: a mean
/// wait near 9 ms). Were it given back with the first (fast) shard's answer, the wait would
/// be a small fraction of a millisecond.
#[test]
fn a_scatter_gather_holds_its_pooled_connection_until_the_last_shard_answers() {
    let slow = |shard: u32| {
        json!({"slow": {"component": "db", "shard": shard, "replica": 0,
                                             "factor": 10, "at_s": 0}})
    };
    let s = json!({
        "name": "pool-scatter", "duration_s": 60, "warmup_s": 5,
        "workload": {"model": {"open": {"rate_per_s": 60}}, "entry": "app", "timeout_ms": 10000},
        "network": {"client_link": {"preset": "lan"}},
        "components": {
            "app": {"kind": "service", "machine": {"cores": 8}, "workers": 2000,
                    "handlers": {"default": [{"call": "db"}]},
                    "connection_pools": {"db": {"size": 1}}},
            "db": {"kind": "database", "machine": {"cores": 8, "max_connections": 1000},
                   "queries": {"default": {"cpu_ms": {"constant": {"ms": 1}}, "fan_out": true}},
                   "partitions": {"count": 4}}
        },
        "faults": [slow(1), slow(2), slow(3)]
    });
    let r = run_summary(&s, 1);
    assert_eq!(num(&r, "/error_rate"), 0.0);
    let wait = num(&r, "/components/app/pool_wait_ms/mean");
    assert!(wait > 4.0, "{wait}");
    assert!(num(&r, "/latency_ms/p50") > 10.0);
}

/// A partition between the regions holds back the replication stream (and so a sync write's
/// acknowledgement) until it heals: the lag that comes out includes the cut.
#[test]
fn a_partition_holds_back_replication_between_regions() {
    let cut = r#"faults=[{"partition": {"between": ["eu", "us"], "at_s": 60, "duration_s": 3}}]"#;
    let lag_max = |r: &Value| num(r, "/components/db/replication/lag_ms/max");
    let calm = run_with("18-geo-replicated-db", &["faults=[]"]);
    let cut_off = run_with("18-geo-replicated-db", &[cut]);
    assert!(lag_max(&calm) < 500.0, "{}", lag_max(&calm));
    assert!(lag_max(&cut_off) > 2_900.0, "{}", lag_max(&cut_off));
    // EU users' writes are held too: the primary waits for the US acknowledgement.
    assert!(num(&cut_off, "/classes/write/latency_ms/max") > 2_900.0);
}

/// A cache's keys live in its memory: after a crash it comes back empty, and the database
/// takes its misses until it has warmed up again (the cold-cache surge). Scenario 10 with the
/// cache down for a second at 20 s: the database, at about 25 % before, is far busier in the
/// second after (41 % in this run) and cools off as the cache fills again.
#[test]
fn a_crashed_cache_comes_back_empty_and_the_database_takes_the_surge() {
    let (_, header, rows) = run_to_files_with(
        "10-cache",
        &[
            r#"faults=[{"crash": {"component": "cache", "replica": 0, "at_s": 20, "recover_after_s": 1}}]"#,
            "interval_s=1",
        ],
    );
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (start, db) = (col("t_start_s"), col("db_utilisation"));
    let at = |t: f64| rows.iter().find(|r| r[start] == t).unwrap()[db];
    let before = (15..20).map(|t| at(f64::from(t))).sum::<f64>() / 5.0;
    let surge = at(21.0);
    let later = (27..30).map(|t| at(f64::from(t))).sum::<f64>() / 3.0;
    assert!(
        surge > 1.4 * before,
        "surge {surge} against {before} before"
    );
    assert!(
        later < surge && later > before,
        "cooling off: {later} between {before} and {surge}"
    );
}

/// Multi-primary notices a dead machine through the same detection delay as master-slave:
/// until then it keeps sending that machine its share of the writes, which fail. Two
/// primaries, 200 writes/s spread at random over the machines it believes alive, machine 0
/// dies at 20 s: for the 10 s of the default detection half the writes (1,000) fail with
/// `backend_down`, then none. With `failover.detection_ms` 2,000: 200. Poisson counts of
/// that size vary by about √1,000 ≈ 32 and √200 ≈ 14, so 15 % and 30 % are over 4.5 of them.
#[test]
fn multi_primary_sends_writes_to_a_dead_machine_until_it_notices() {
    let scenario = |failover: Option<Value>| {
        let mut replication = json!({"replicas": 1, "mode": "multi_primary"});
        if let Some(f) = failover {
            replication["failover"] = f;
        }
        json!({
            "name": "multi-primary-detection",
            "duration_s": 60,
            "warmup_s": 1,
            "workload": {
                "model": {"open": {"rate_per_s": 200}},
                "entry": "app",
                "timeout_ms": 60000,
                "classes": {"write": {}}
            },
            "components": {
                "app": {"kind": "service", "machine": {"cores": 8}, "workers": 1000,
                        "handlers": {"default": [{"call": "db"}]},
                        "connection_pools": {"db": {"size": 100}}},
                "db": {"kind": "database", "machine": {"cores": 8},
                       "queries": {"write": {"op": "write", "cpu_ms": {"constant": {"ms": 1}}}},
                       "replication": replication}
            },
            "faults": [{"crash": {"component": "db", "replica": 0, "at_s": 20}}]
        })
    };
    let failed = |s: &Value| num(s, "/requests/failed");
    let default = failed(&run_summary(&scenario(None), 1));
    assert!(
        (default - 1000.0).abs() <= 150.0,
        "{default} writes failed, expected 1,000"
    );
    let quick = failed(&run_summary(
        &scenario(Some(json!({"detection_ms": 2000}))),
        1,
    ));
    assert!(
        (quick - 200.0).abs() <= 60.0,
        "{quick} writes failed, expected 200"
    );
}

/// Cache-aside: a handler that says so bypasses a cache that is down and asks the database.
/// Scenario 10 with the cache down from 20 s to 21 s: its reads fail while it is down (about
/// 18,000 reads/s × 1 s); with `call_with_fallback` the database serves them and nothing
/// fails, at the price of a busier database in that second.
#[test]
fn a_handler_with_a_fallback_bypasses_a_cache_that_is_down() {
    let crash = r#"faults=[{"crash": {"component": "cache", "replica": 0, "at_s": 20, "recover_after_s": 1}}]"#;
    let plain = run_with("10-cache", &[crash]);
    let failed = num(&plain, "/requests/failed");
    assert!(failed > 5_000.0, "{failed} reads failed without a fallback");
    let aside = run_with(
        "10-cache",
        &[
            crash,
            r#"components.app.handlers.read[1]={"call_with_fallback": {"call": "cache", "fallback": "db"}}"#,
        ],
    );
    assert_eq!(
        num(&aside, "/requests/failed"),
        0.0,
        "{}",
        aside["requests"]
    );
    assert_eq!(
        num(&aside, "/requests/rejected"),
        0.0,
        "{}",
        aside["requests"]
    );
}
