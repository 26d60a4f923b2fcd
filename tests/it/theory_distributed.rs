//! Distributed designs against closed forms, with the method of `theory.rs` (8 seeds, the
//! mean within 4.5 standard errors, each standard error under 2 % of the value).

use crate::theory::{assert_matches, exponential, open, replicate};
use serde_json::{Value, json};

/// 280 requests/s of 10 ms (exponential) through a random balancer to `replicas` identical
/// one-core servers, measured from `warmup_s` to `duration_s`.
fn random_split(replicas: u32, duration_s: f64, warmup_s: f64) -> Value {
    let zero = json!({"latency_ms": {"constant": {"ms": 0}}});
    json!({
        "name": "random-split",
        "duration_s": duration_s, "warmup_s": warmup_s,
        "network": {"client_link": zero, "default_link": zero},
        "workload": {
            "model": open(280.0), "entry": "lb", "timeout_ms": 1e9,
            "classes": {"only": {"request_bytes": 0, "response_bytes": 0}}
        },
        "components": {
            "lb": {"kind": "load_balancer", "backends": ["servers"], "policy": "random",
                   "forward_ms": {"constant": {"ms": 0}}},
            "servers": {"kind": "service", "replicas": replicas,
                        "machine": {"cores": 1, "memory_per_connection_kb": 0,
                                    "memory_per_request_kb": 0},
                        "workers": 1, "queue_capacity": 10_000_000,
                        "handlers": {"default": [{"cpu_ms": exponential(10.0)}]}}
        }
    })
}

/// A random split of a Poisson stream is Poisson, so a balancer choosing at random among N
/// identical one-core servers makes N independent M/M/1 queues: with λ = 4 × 70/s and a
/// 10 ms mean service, each has ρ = 0.7 and a mean response time of S/(1 − ρ) = 33.3 ms.
#[test]
fn a_random_split_over_n_servers_is_n_independent_mm1_queues() {
    let scenario = random_split(4, 400.0, 40.0);
    let runs = replicate(&scenario);
    assert_matches(
        "random split: response time",
        &runs,
        "/latency_ms/mean",
        10.0 / 0.3,
    );
    assert_matches(
        "random split: P(wait) = ρ",
        &runs,
        "/components/servers/wait_probability",
        0.7,
    );
}

/// Writes to each of K keys commit as a Poisson stream of rate λw/K (a Poisson stream thinned
/// at random); a replica applies each one L after its commit. A read of a key on the replica
/// is stale when some write to that key committed within the last L, which happens with
/// probability 1 − exp(−λw·L/K). Here λw = 1000/s, L = 20 ms, K = 100: 1 − e^−0.2 = 0.1813.
#[test]
fn stale_reads_match_the_poisson_window_probability() {
    let scenario = stale_read_scenario();
    let runs = replicate(&scenario);
    let theory = 1.0 - (-0.2f64).exp();
    assert_matches(
        "stale read probability",
        &runs,
        "/components/db/replication/stale_read_ratio",
        theory,
    );
}

fn stale_read_scenario() -> Value {
    let keys = json!({"uniform": {"count": 100}});
    json!({
        "name": "stale-reads",
        "duration_s": 40, "warmup_s": 4,
        "workload": {
            "model": open(2000.0), "entry": "app", "timeout_ms": 1e9,
            "classes": {"read": {"keys": keys}, "write": {"keys": keys}}
        },
        "components": {
            "app": {"kind": "service", "machine": {"cores": 64}, "workers": 10_000,
                    "handlers": {"default": [{"call": "db"}]}},
            "db": {"kind": "database", "machine": {"cores": 64, "max_connections": 60000},
                   "queries": {"read": {"cpu_ms": exponential(0.2)},
                               "write": {"op": "write", "cpu_ms": exponential(0.2)}},
                   "replication": {"replicas": 1, "lag_ms": {"constant": {"ms": 20}},
                                   "reads_from": "replicas"}}
        }
    })
}

/// A query fanned out over N shards is answered when the slowest shard is: with independent
/// exponential service times of mean S and no queueing (64 cores per shard for about 2 busy),
/// the mean answer is S·H_N, the N-th harmonic number — S at N = 1, 2.72·S at N = 8.
#[test]
fn a_scatter_gather_waits_for_the_slowest_of_n_shards() {
    let harmonic = |n: u32| (1..=n).map(|k| 1.0 / f64::from(k)).sum::<f64>();
    for shards in [1_u32, 8] {
        let runs = replicate(&fan_out_scenario(shards));
        assert_matches(
            &format!("scatter over {shards} shards"),
            &runs,
            "/latency_ms/mean",
            10.0 * harmonic(shards),
        );
    }
}

fn fan_out_scenario(shards: u32) -> Value {
    let zero = json!({"latency_ms": {"constant": {"ms": 0}}});
    json!({
        "name": "fan-out",
        "duration_s": 100, "warmup_s": 5,
        "network": {"client_link": zero, "default_link": zero},
        "workload": {
            "model": open(200.0), "entry": "app", "timeout_ms": 1e9,
            "classes": {"search": {"request_bytes": 0, "response_bytes": 0}}
        },
        "components": {
            "app": {"kind": "service", "machine": {"cores": 64}, "workers": 10_000,
                    "queue_capacity": 100_000, "handlers": {"default": [{"call": "db"}]}},
            "db": {"kind": "database",
                   "machine": {"cores": 64, "max_connections": 60_000,
                               "memory_per_connection_kb": 0, "memory_per_request_kb": 0},
                   "connect_ms": {"constant": {"ms": 0}},
                   "connect_cpu_ms": {"constant": {"ms": 0}},
                   "queries": {"default": {"cpu_ms": exponential(10.0), "fan_out": shards > 1}},
                   "partitions": {"count": shards.max(2)}}
        }
    })
}

/// `dsim capacity` against a closed form: an M/M/1 queue's response time is exponential with
/// rate μ − λ, so its p99 is ln(100)/(μ − λ), and `p99 ≤ 20 ms` with μ = 1,000/s holds up to
/// λ = 1,000 − ln(100)/0.02 = 769.7 arrivals/s. Eight seeds' searches, each to 1 %, must put
/// the answer within their interval (widened by the 1 % step) of it.
#[test]
fn capacity_search_finds_the_mm1_p99_limit() {
    let scenario = json!({
        "name": "mm1-capacity", "duration_s": 200, "warmup_s": 20,
        "network": {"client_link": {"latency_ms": {"constant": {"ms": 0}}}},
        "workload": {"model": open(500.0), "entry": "station", "timeout_ms": 1e9,
                     "classes": {"only": {"request_bytes": 0, "response_bytes": 0}}},
        "components": {"station": {"kind": "service",
            "machine": {"cores": 1, "memory_per_connection_kb": 0, "memory_per_request_kb": 0},
            "workers": 1, "queue_capacity": 10_000_000,
            "handlers": {"default": [{"cpu_ms": exponential(1.0)}]}}}
    });
    let path = crate::common::write_scenario(&scenario);
    let out = crate::common::run_ok(
        crate::common::dsim()
            .args(["capacity", "--no-write", "--format", "json", "--seeds", "8"])
            .args(["--precision", "1%", "--slo", "p99_ms<20"])
            .arg(&path),
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mean = crate::common::num(&doc, "/capacity/mean");
    let ci = crate::common::num(&doc, "/capacity/ci95");
    let theory = 1000.0 - 100f64.ln() / 0.02;
    assert!(
        (mean - theory).abs() <= ci + 0.01 * theory,
        "capacity {mean} ± {ci} vs theory {theory:.1}"
    );
    assert_eq!(doc["axis"], "rate_per_s");
}

/// An autoscaled fleet at steady state is the fleet it settled on: 280 requests/s of 10 ms
/// (exponential) against one-core replicas behind a random balancer, CPU target 80 %,
/// evaluated every 15 s. From 2 replicas (saturated, reading 100 %) the autoscaler asks for
/// ⌈2 × 1.0/0.8⌉ = 3, then (3 at ρ = 0.93) ⌈3 × 1.17⌉ = 4, where ρ = 0.7 gives ⌈4 × 0.875⌉ = 4
/// and it stays (5 would read 0.56 and give 4 back). After the 200 s warm-up it is 4
/// independent M/M/1 queues: response time S/(1 − ρ) = 33.3 ms, utilisation 0.7.
#[test]
fn an_autoscaled_fleet_settles_on_the_count_erlang_would_choose() {
    let mut scenario = random_split(2, 800.0, 200.0);
    scenario["components"]["servers"]["scaling"] = json!({
        "max_replicas": 8, "start_delay_ms": {"constant": {"ms": 1000}},
        "autoscale": {"target": 0.8, "interval_s": 15, "scale_in_stabilisation_s": 60}
    });
    let runs = replicate(&scenario);
    for r in &runs {
        let k = &r["components"]["servers"]["scaling"];
        assert_eq!(k["final_replicas"], 4, "{k}");
        let last = k["actions"].as_array().unwrap().last().unwrap().clone();
        assert!(
            last["at_s"].as_f64().unwrap() < 200.0,
            "settled during warm-up: {k}"
        );
    }
    assert_matches(
        "autoscaled M/M/1 × 4: response time",
        &runs,
        "/latency_ms/mean",
        10.0 / 0.3,
    );
    assert_matches(
        "autoscaled: utilisation ρ",
        &runs,
        "/components/servers/cpu_utilisation",
        0.7,
    );
}
