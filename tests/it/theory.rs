//! The engine against queueing theory. Each test runs independent replications (seeds) of a
//! textbook system and compares the mean of the replications with the closed form, allowing
//! 4.5 standard errors of that mean (estimated from the replications themselves). With 8
//! replications the mean over standard error follows Student's t with 7 degrees of freedom,
//! so a correct engine fails a check with probability below 0.3%; a wrong one (an off-by-one
//! in a queue, a misplaced warm-up, a service time drawn twice) moves the mean by many
//! standard errors. Each test also requires the standard error itself to be small (under 2%
//! of the value), so a noisy setup cannot pass by being vague.

use crate::common::zero_latency;
use crate::common::{num, run_summary};
use serde_json::{Value, json};

const REPLICATIONS: u64 = 8;

/// One station (`station`) fed directly by clients over zero-latency links, with no memory,
/// NIC or connection limits unless `max_connections` is given.
fn station(
    model: Value,
    service: Value,
    workers: u32,
    max_connections: u32,
    duration_s: f64,
) -> Value {
    json!({
        "name": "theory",
        "duration_s": duration_s,
        "warmup_s": duration_s / 10.0,
        "network": zero_latency(),
        "workload": {
            "model": model,
            "entry": "station",
            "timeout_ms": 1e9,
            "classes": {"only": {"request_bytes": 0, "response_bytes": 0}}
        },
        "components": {
            "station": {
                "kind": "service",
                "machine": {
                    "cores": workers,
                    "max_connections": max_connections,
                    "memory_per_connection_kb": 0,
                    "memory_per_request_kb": 0
                },
                "workers": workers,
                "queue_capacity": 10_000_000,
                "handlers": {"default": [{"cpu_ms": service}]}
            }
        }
    })
}

/// Runs the replications and returns each summary.
pub(crate) fn replicate(scenario: &Value) -> Vec<Value> {
    (1..=REPLICATIONS)
        .map(|seed| run_summary(scenario, seed))
        .collect()
}

/// Checks that the replications' mean of `pointer` matches `theory` as the module explains.
pub(crate) fn assert_matches(name: &str, runs: &[Value], pointer: &str, theory: f64) {
    let xs: Vec<f64> = runs.iter().map(|r| num(r, pointer)).collect();
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let se = (var / n).sqrt();
    assert!(
        se <= 0.02 * theory.abs(),
        "{name}: standard error {se} is too large for a meaningful check of {theory}"
    );
    assert!(
        (mean - theory).abs() <= 4.5 * se,
        "{name}: simulated {mean:.5} vs theory {theory:.5} (standard error {se:.5}, samples {xs:?})"
    );
}

/// Erlang C: probability that an arrival waits in an M/M/c queue with offered load `a` = λ/μ.
pub(crate) fn erlang_c(c: u32, a: f64) -> f64 {
    let mut term = 1.0; // a^k / k!
    let mut sum = 1.0;
    for k in 1..c {
        term *= a / f64::from(k);
        sum += term;
    }
    let last = term * a / f64::from(c); // a^c / c!
    let rho = a / f64::from(c);
    let tail = last / (1.0 - rho);
    tail / (sum + tail)
}

pub(crate) fn exponential(mean_ms: f64) -> Value {
    json!({"exponential": {"mean_ms": mean_ms}})
}

pub(crate) fn open(rate_per_s: f64) -> Value {
    json!({"open": {"rate_per_s": rate_per_s}})
}

#[test]
fn erlang_c_reference_values() {
    // Textbook values: C(1, 0.8) = 0.8; C(2, 1) = 1/3; C(10, 9) ≈ 0.6687.
    assert!((erlang_c(1, 0.8) - 0.8).abs() < 1e-12);
    assert!((erlang_c(2, 1.0) - 1.0 / 3.0).abs() < 1e-12);
    assert!((erlang_c(10, 9.0) - 0.668_66).abs() < 1e-4);
}

/// M/M/1 at ρ = 0.8: W = 1/(μ−λ) = 5 ms, Wq = ρ/(μ−λ) = 4 ms, P(wait) = ρ.
#[test]
fn mm1_matches_closed_form() {
    let runs = replicate(&station(
        open(800.0),
        exponential(1.0),
        1,
        10_000_000,
        200.0,
    ));
    assert_matches("M/M/1 response time", &runs, "/latency_ms/mean", 5.0);
    assert_matches(
        "M/M/1 queue wait",
        &runs,
        "/components/station/queue_wait_ms/mean",
        4.0,
    );
    assert_matches(
        "M/M/1 P(wait)",
        &runs,
        "/components/station/wait_probability",
        0.8,
    );
    assert_matches(
        "M/M/1 utilisation",
        &runs,
        "/components/station/cpu_utilisation",
        0.8,
    );
    assert_matches("M/M/1 throughput", &runs, "/throughput_rps", 800.0);
}

/// M/M/10 at ρ = 0.9 (λ = 9000/s, 1 ms service): P(wait) = C(10, 9), Wq = C/(cμ−λ).
#[test]
fn mmc_matches_erlang_c() {
    let c = erlang_c(10, 9.0);
    let runs = replicate(&station(
        open(9000.0),
        exponential(1.0),
        10,
        10_000_000,
        60.0,
    ));
    assert_matches(
        "M/M/10 P(wait)",
        &runs,
        "/components/station/wait_probability",
        c,
    );
    assert_matches(
        "M/M/10 queue wait",
        &runs,
        "/components/station/queue_wait_ms/mean",
        c / (10_000.0 - 9000.0) * 1000.0,
    );
    assert_matches(
        "M/M/10 response time",
        &runs,
        "/latency_ms/mean",
        1.0 + c / 1000.0 * 1000.0,
    );
}

/// M/M/2/4 (two servers, at most four in the system through the connection cap), a = 2:
/// p0 = 1 / (1 + a + a²/2 + a³/4 + a⁴/8), blocking P4 = (a⁴/8)·p0 = 2/11.
#[test]
fn mmck_blocking_matches_closed_form() {
    let a: f64 = 2.0;
    let p0 = 1.0 / (1.0 + a + a.powi(2) / 2.0 + a.powi(3) / 4.0 + a.powi(4) / 8.0);
    let blocking = a.powi(4) / 8.0 * p0;
    let runs = replicate(&station(open(2000.0), exponential(1.0), 2, 4, 20.0));
    let rates: Vec<Value> = runs
        .iter()
        .map(|r| json!({"p": num(r, "/requests/rejected_by/connection_limit") / num(r, "/requests/total")}))
        .collect();
    assert_matches("M/M/2/4 blocking", &rates, "/p", blocking);
}

/// M/D/1 at ρ = 0.7 with 1 ms constant service: Pollaczek–Khinchine Wq = ρ/(2μ(1−ρ)).
#[test]
fn md1_matches_pollaczek_khinchine() {
    let wq_ms = 0.7 / (2.0 * (1.0 - 0.7));
    let runs = replicate(&station(
        open(700.0),
        json!({"constant": {"ms": 1.0}}),
        1,
        10_000_000,
        40.0,
    ));
    assert_matches(
        "M/D/1 queue wait",
        &runs,
        "/components/station/queue_wait_ms/mean",
        wq_ms,
    );
    assert_matches(
        "M/D/1 response time",
        &runs,
        "/latency_ms/mean",
        wq_ms + 1.0,
    );
}

/// Exact mean value analysis for N users thinking Z on average in front of one single-worker
/// station of mean service S: R(n) = S·(1 + Q(n−1)), X(n) = n/(R(n)+Z), Q(n) = X(n)·R(n).
/// Returns (X in requests/s, R in ms).
fn mva(users: u32, s_ms: f64, z_ms: f64) -> (f64, f64) {
    let (mut q, mut r, mut x) = (0.0, 0.0, 0.0);
    for n in 1..=users {
        r = s_ms * (1.0 + q);
        x = f64::from(n) / (r + z_ms);
        q = x * r;
    }
    (x * 1000.0, r)
}

/// Closed system near its knee (N = 10 < N* = (S+Z)/S = 11) and far past it (N = 60), where
/// throughput must stop at the station's capacity 1/S however long requests then take.
#[test]
fn closed_system_matches_exact_mva() {
    let (s_ms, z_ms) = (5.0, 50.0);
    for users in [10, 60] {
        let (x, r) = mva(users, s_ms, z_ms);
        let model = json!({"closed": {"users": users, "think_time_ms": exponential(z_ms)}});
        let runs = replicate(&station(model, exponential(s_ms), 1, 10_000_000, 200.0));
        assert_matches(
            &format!("MVA throughput, {users} users"),
            &runs,
            "/throughput_rps",
            x,
        );
        assert_matches(
            &format!("MVA response time, {users} users"),
            &runs,
            "/latency_ms/mean",
            r,
        );
    }
}

/// Little's law L = λW on a stable multi-tier run (ρ ≈ 0.55 at the bottleneck): the engine
/// measures L by time-averaging the requests in the system and λ, W by counting, so a lost or
/// double-counted request breaks it. (In an overloaded run L grows through the window and the
/// reported relative error is large by design: the system is not in steady state.)
#[test]
fn littles_law_holds_on_a_multi_tier_run() {
    let mut scenario = station(open(2000.0), exponential(1.0), 8, 10_000_000, 30.0);
    scenario["components"]["db"] = json!({
        "kind": "database",
        "machine": {"cores": 4},
        "queries": {"default": {"cpu_ms": exponential(0.5), "disk_ios": 1}}
    });
    scenario["components"]["station"]["handlers"]["default"] =
        json!([{"cpu_ms": exponential(1.0)}, {"call": "db"}]);
    // Pooled, so only the first call per connection pays the connection set-up.
    scenario["components"]["station"]["connection_pools"] = json!({"db": {"size": 8}});
    for seed in 1..=3 {
        let r = run_summary(&scenario, seed);
        let err = num(&r, "/littles_law/relative_error");
        // Edge effects only: requests straddling the window ends, about L/(λ·T) ≈ 0.1%.
        assert!(
            err < 0.01,
            "Little's law off by {err} (seed {seed}): {:#}",
            r["littles_law"]
        );
    }
}

/// Overloaded open M/M/1 (λ = 2μ, no timeout): throughput is the service rate μ = 1000/s,
/// not the arrival rate, even though every request eventually completes after the window.
/// Completions in 40 s number about 40,000 (Poisson-like, sd ≈ 200, i.e. 0.5%); allow 3%.
#[test]
fn an_overloaded_station_serves_at_its_capacity() {
    let r = run_summary(
        &station(open(2000.0), exponential(1.0), 1, 10_000_000, 40.0),
        1,
    );
    let x = num(&r, "/throughput_rps");
    assert!(
        (x - 1000.0).abs() < 30.0,
        "throughput {x} should be the service rate 1000/s"
    );
    assert!(num(&r, "/components/station/cpu_utilisation") > 0.99);
}

/// A class's own profile scales its share of an open workload's rate: at 100 requests/s
/// with two classes of weight 1, `day` constant and `night` at level 0 until 50 s and 3
/// after, `day` gets 50/s throughout (5,000 in 100 s) and `night` none, then 150/s (7,500).
/// Poisson counts: within 4.5 standard deviations (√5,000 ≈ 71, √7,500 ≈ 87).
#[test]
fn a_class_profile_scales_that_class_alone() {
    let scenario = json!({
        "name": "class-profiles",
        "duration_s": 100,
        "warmup_s": 0,
        "network": zero_latency(),
        "workload": {
            "model": open(100.0),
            "entry": "api",
            "classes": {
                "day": {"weight": 1},
                "night": {"weight": 1, "profile": {"steps": [
                    {"at_s": 0, "level": 0}, {"at_s": 50, "level": 3}
                ]}}
            }
        },
        "components": {"api": {"kind": "service", "machine": {"cores": 8}, "workers": 1000,
                               "handlers": {"default": [{"cpu_ms": {"constant": {"ms": 1}}}]}}}
    });
    let s = run_summary(&scenario, 5);
    let total = |c: &str| num(&s, &format!("/classes/{c}/requests/total"));
    for (class, expected) in [("day", 5_000.0), ("night", 7_500.0)] {
        let got = total(class);
        assert!(
            (got - expected).abs() < 4.5 * f64::sqrt(expected),
            "{class}: {got} against {expected}"
        );
    }
}
