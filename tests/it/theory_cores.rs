//! Cores shared by time slices against processor-sharing theory, and cores run to completion
//! against first-come-first-served theory, on the same loads (the module `theory` explains
//! the replications and the tolerance).
//!
//! One core, 10,000 workers, Poisson arrivals at 250/s of two kinds of request: 90 % need
//! 1 ms of CPU and 10 % need 20 ms, so E[S] = 2.9 ms and ρ = 0.725.
//! - Time-sliced, this is M/G/1-PS, whose mean response to a request of size x is
//!   x / (1 − ρ) whatever the distribution: 3.636 ms for the short, 72.73 ms for the long,
//!   10.545 ms over all.
//! - Run to completion, it is M/G/1-FCFS: every request waits the Pollaczek–Khinchine
//!   Wq = λ E[S²] / (2 (1 − ρ)) with E[S²] = 0.9 × 1² + 0.1 × 20² = 40.9 ms², i.e. 18.59 ms,
//!   then runs: 19.59 ms for the short, 38.59 ms for the long.

use crate::common::zero_latency;
use crate::theory::{assert_matches, erlang_c, exponential, open, replicate};
use serde_json::{Value, json};

fn station(
    cores: u32,
    scheduling: &str,
    classes: Value,
    rate_per_s: f64,
    handlers: Value,
) -> Value {
    json!({
        "name": "cores",
        "duration_s": 200,
        "warmup_s": 20,
        "network": zero_latency(),
        "workload": {
            "model": open(rate_per_s),
            "entry": "station",
            "timeout_ms": 1e9,
            "classes": classes
        },
        "components": {
            "station": {
                "kind": "service",
                "machine": {
                    "cores": cores,
                    "cpu_scheduling": scheduling,
                    "memory_per_connection_kb": 0,
                    "memory_per_request_kb": 0
                },
                "workers": 10_000,
                "queue_capacity": 10_000_000,
                "handlers": handlers
            }
        }
    })
}

fn short_and_long(scheduling: &str) -> Value {
    let class = |weight: f64| json!({"weight": weight, "request_bytes": 0, "response_bytes": 0});
    let cpu = |ms: f64| json!([{"cpu_ms": {"constant": {"ms": ms}}}]);
    station(
        1,
        scheduling,
        json!({"short": class(9.0), "long": class(1.0)}),
        250.0,
        json!({"short": cpu(1.0), "long": cpu(20.0)}),
    )
}

const RHO: f64 = 0.725;

#[test]
fn time_slices_match_processor_sharing_for_each_size() {
    let runs = replicate(&short_and_long("time_sliced"));
    let ps = |x: f64| x / (1.0 - RHO);
    assert_matches("PS short", &runs, "/classes/short/latency_ms/mean", ps(1.0));
    assert_matches("PS long", &runs, "/classes/long/latency_ms/mean", ps(20.0));
    assert_matches("PS all", &runs, "/latency_ms/mean", ps(2.9));
    assert_matches(
        "PS utilisation",
        &runs,
        "/components/station/cpu_utilisation",
        RHO,
    );
}

#[test]
fn run_to_completion_matches_pollaczek_khinchine_on_the_same_load() {
    let runs = replicate(&short_and_long("run_to_completion"));
    let wq = 250.0 * (0.9 * 1.0 + 0.1 * 400.0) / 1000.0 / (2.0 * (1.0 - RHO));
    assert_matches(
        "FCFS short",
        &runs,
        "/classes/short/latency_ms/mean",
        1.0 + wq,
    );
    assert_matches(
        "FCFS long",
        &runs,
        "/classes/long/latency_ms/mean",
        20.0 + wq,
    );
}

/// With exponential work the number of requests in an M/M/c-PS system follows the same
/// birth–death chain as M/M/c-FCFS, so the mean response is Erlang C's: four cores, 1 ms
/// mean, λ = 3200/s (a = 3.2, ρ = 0.8): 1 + C(4, 3.2) / (4000 − 3200) s.
#[test]
fn time_slices_on_four_cores_match_erlang_c_for_exponential_work() {
    let class = json!({"only": {"request_bytes": 0, "response_bytes": 0}});
    let cpu = json!({"default": [{"cpu_ms": exponential(1.0)}]});
    let runs = replicate(&station(4, "time_sliced", class, 3200.0, cpu));
    let c = erlang_c(4, 3.2);
    assert_matches(
        "M/M/4-PS response time",
        &runs,
        "/latency_ms/mean",
        1.0 + c / 800.0 * 1000.0,
    );
}
