//! Components sharing one machine (`hosts`): they compete for its cores, talk over IPC
//! without touching its NIC, and go down together when it crashes. Each test runs the same
//! design on one shared host and on machines of their own, with the figures worked out in
//! its comment.

use crate::common::{num, run_summary, zero_latency};
use crate::physics::assert_ms;
use crate::theory::{assert_matches, open, replicate};
use serde_json::{Value, json};

/// A service `api` calling a database `db` through a pool: on one shared host (`laptop`)
/// built from `machine`, or each on a machine of its own like it. `static` requests stay
/// at the api (1 ms of CPU); the others call the database.
fn api_and_db(
    shared: bool,
    machine: Value,
    workload: Value,
    api_cpu_ms: f64,
    db_cpu_ms: f64,
) -> Value {
    let cpu = |ms: f64| json!({"constant": {"ms": ms}});
    let mut s = json!({
        "name": "hosts",
        "duration_s": 200,
        "warmup_s": 20,
        "network": zero_latency(),
        "workload": workload,
        "components": {
            "api": {
                "kind": "service",
                "workers": 10_000,
                "queue_capacity": 10_000_000,
                "handlers": {"default": [{"cpu_ms": cpu(api_cpu_ms)}, {"call": "db"}]},
                "connection_pools": {"db": {"size": 10_000}}
            },
            "db": {
                "kind": "database",
                "queries": {"default": {"cpu_ms": cpu(db_cpu_ms), "disk_ios": 0}}
            }
        }
    });
    if s["workload"]["classes"].get("static").is_some() {
        s["components"]["api"]["handlers"]["static"] = json!([{"cpu_ms": cpu(1.0)}]);
    }
    for name in ["api", "db"] {
        let c = &mut s["components"][name];
        if shared {
            c["host"] = json!("laptop");
        } else {
            c["machine"] = machine.clone();
        }
    }
    if shared {
        s["hosts"] = json!({"laptop": machine});
        // Zero latency between them too (a shared host's default link is IPC, 10 µs).
        s["network"]["links"] = json!([
            {"between": ["api", "db"], "latency_ms": {"constant": {"ms": 0}}}
        ]);
    }
    s
}

fn one_core() -> Value {
    json!({
        "cores": 1,
        "memory_per_connection_kb": 0,
        "memory_per_request_kb": 0
    })
}

/// Poisson arrivals at 25/s; each request needs 10 ms of the api's CPU, then 10 ms of the
/// database's. On one time-sliced core both steps share that core: an open network with one
/// processor-sharing station visited twice (BCMP product form, insensitive to the steps'
/// distributions), so the mean time at it is the total demand over (1 − ρ), with
/// ρ = 25/s × 20 ms = 0.5: 20 / 0.5 = 40 ms, and the core is 50 % busy for both
/// components (they report the host's). On two machines of one core each, two M/G/1-PS
/// stations at ρ = 0.25: 2 × 10 / 0.75 = 26.67 ms, each core 25 % busy.
#[test]
fn components_on_one_host_share_its_cores() {
    let load = json!({"model": open(25.0), "entry": "api", "timeout_ms": 1e9,
                      "classes": {"dynamic": {"request_bytes": 0, "response_bytes": 0}}});
    let shared = replicate(&api_and_db(true, one_core(), load.clone(), 10.0, 10.0));
    assert_matches("one host", &shared, "/latency_ms/mean", 40.0);
    assert_matches(
        "host cpu (api)",
        &shared,
        "/components/api/cpu_utilisation",
        0.5,
    );
    assert_matches(
        "host cpu (db)",
        &shared,
        "/components/db/cpu_utilisation",
        0.5,
    );
    assert_eq!(shared[0]["components"]["api"]["host"], "laptop");
    // The busiest resource is the host's core, named as the host's, not as one component's.
    assert_eq!(shared[0]["bottleneck"]["host"], "laptop");
    assert_eq!(shared[0]["bottleneck"]["resource"], "cpu");
    let apart = replicate(&api_and_db(false, one_core(), load, 10.0, 10.0));
    assert_matches("two machines", &apart, "/latency_ms/mean", 20.0 / 0.75);
    assert_matches("api cpu", &apart, "/components/api/cpu_utilisation", 0.25);
    assert!(apart[0]["components"]["api"].get("host").is_none());
}

/// The same on one core run to completion, with exponential steps of mean 10 ms: one FCFS
/// station visited twice with the same exponential mean is product-form too (BCMP), so the
/// mean is again 20 / (1 − 0.5) = 40 ms. A core the api's step leaves goes to whichever step
/// waits first, the database's or the api's.
#[test]
fn components_on_one_host_queue_for_its_cores_run_to_completion() {
    let load = json!({"model": open(25.0), "entry": "api", "timeout_ms": 1e9,
                      "classes": {"dynamic": {"request_bytes": 0, "response_bytes": 0}}});
    let mut machine = one_core();
    machine["cpu_scheduling"] = json!("run_to_completion");
    let mut s = api_and_db(true, machine, load, 10.0, 10.0);
    let exp = json!({"exponential": {"mean_ms": 10}});
    s["components"]["api"]["handlers"]["default"][0]["cpu_ms"] = exp.clone();
    s["components"]["db"]["queries"]["default"]["cpu_ms"] = exp;
    let runs = replicate(&s);
    assert_matches("FCFS host", &runs, "/latency_ms/mean", 40.0);
    assert_matches(
        "FCFS host cpu",
        &runs,
        "/components/db/cpu_utilisation",
        0.5,
    );
}

/// One user at a time (a 1 s pause), 1 MB answers and NICs of 8 Mbit/s (1 MB/s), 1 ms of
/// CPU at each: on separate machines the database's answer crosses its NIC and the api's
/// (cut-through: 1 s once), then the api's answer crosses the api's NIC to the user (1 s):
/// 2,002 ms. On one host the database's answer is a copy between processes and touches no
/// NIC: 1,002 ms.
#[test]
fn calls_between_processes_of_one_host_pass_no_nic() {
    let machine = json!({"cores": 1, "nic_gbps": 0.008});
    let load = json!({
        "model": {"closed": {"users": 1, "think_time_ms": {"constant": {"ms": 1000}}}},
        "entry": "api",
        "classes": {"dynamic": {"request_bytes": 0, "response_bytes": 1_000_000}}
    });
    let mut apart = api_and_db(false, machine.clone(), load.clone(), 1.0, 1.0);
    apart["duration_s"] = json!(60);
    let mut shared = api_and_db(true, machine, load, 1.0, 1.0);
    shared["duration_s"] = json!(60);
    let mean = |s: &Value| num(&run_summary(s, 1), "/latency_ms/mean");
    assert_ms("machines of their own", mean(&apart), 2002.0);
    assert_ms("one host", mean(&shared), 1002.0);
}

/// Poisson arrivals at 100/s, half of them `static` (answered by the api alone). The
/// database's machine crashes from 50 s to 60 s of a 100 s window (no warm-up). On a
/// machine of its own only the calls to it fail: no static request fails. On the shared
/// host the crash takes the api down with it: the static requests of those 10 s fail too,
/// 10 s × 50/s = 500 expected (Poisson: standard deviation 22, so 400–600 is ±4.5 sd).
#[test]
fn a_crash_takes_down_every_component_on_the_host() {
    let load = json!({
        "model": open(100.0),
        "entry": "api",
        "classes": {
            "static": {"weight": 1, "request_bytes": 0, "response_bytes": 0},
            "dynamic": {"weight": 1, "request_bytes": 0, "response_bytes": 0}
        }
    });
    let failed_static = |shared: bool| {
        let mut s = api_and_db(shared, json!({"cores": 4}), load.clone(), 1.0, 1.0);
        s["duration_s"] = json!(100);
        s["warmup_s"] = json!(0);
        s["faults"] = json!([{"crash": {"component": "db", "at_s": 50, "recover_after_s": 10}}]);
        let r = run_summary(&s, 1);
        let label = if shared {
            "crash db[0] (host laptop)"
        } else {
            "crash db[0]"
        };
        assert_eq!(
            r["failures"]["faults"][0]["fault"], label,
            "the fault says what went down"
        );
        let req = &r["classes"]["static"]["requests"];
        num(req, "/total") - num(req, "/completed")
    };
    assert_eq!(
        failed_static(false),
        0.0,
        "the api on its own machine stays up"
    );
    let lost = failed_static(true);
    assert!(
        (400.0..=600.0).contains(&lost),
        "static requests lost with the host: {lost}, about 500 expected"
    );
}

/// The same load with one disk I/O at the api and one query I/O at the database, on disks
/// of 100 IOPS (10 ms each) and no CPU: 25/s × 2 × 10 ms keeps the one shared disk 50 %
/// busy, and each disk of its own 25 % (utilisation is ρ = λ × demand, exact in
/// expectation; 5,000 requests a run put the replications' mean within a few tenths of a
/// percent).
#[test]
fn components_on_one_host_share_its_disk() {
    let load = json!({"model": open(25.0), "entry": "api", "timeout_ms": 1e9,
                      "classes": {"dynamic": {"request_bytes": 0, "response_bytes": 0}}});
    let disk = json!({"cores": 4, "disk_iops": 100});
    let with_ios = |shared: bool| {
        let mut s = api_and_db(shared, disk.clone(), load.clone(), 0.0, 0.0);
        s["components"]["api"]["handlers"]["default"] = json!([{"disk_ios": 1}, {"call": "db"}]);
        s["components"]["db"]["queries"]["default"]["disk_ios"] = json!(1);
        s
    };
    let shared = replicate(&with_ios(true));
    assert_matches(
        "shared disk",
        &shared,
        "/components/api/disk_utilisation",
        0.5,
    );
    assert_matches(
        "shared disk",
        &shared,
        "/components/db/disk_utilisation",
        0.5,
    );
    let apart = replicate(&with_ios(false));
    assert_matches("own disk", &apart, "/components/db/disk_utilisation", 0.25);
}
