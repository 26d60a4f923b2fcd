//! Conservation over random small scenarios: whatever the limits, faults, timeouts and
//! retries, every logical request ends in exactly one outcome and none is lost.

use crate::model::sim::Simulation;
use crate::report::Results;
use proptest::prelude::*;
use serde_json::json;

#[allow(clippy::too_many_arguments)]
fn scenario(
    users: u32,
    workers: u32,
    queue: u32,
    max_conn: u32,
    timeout_ms: f64,
    attempts: u32,
    crash: bool,
    policy: &str,
    pool: u32,
    hit_ratio: f64,
    replication: u32,
    shards: u32,
    gateway: bool,
    scaled: bool,
) -> String {
    let mut faults = json!([]);
    if crash {
        faults = json!([{"crash": {"component": "api", "replica": 1, "at_s": 0.5, "recover_after_s": 0.3}},
                        {"crash": {"component": "db", "at_s": 1.0, "recover_after_s": 0.2}},
                        {"outage": {"component": "db", "at_s": 1.5, "recover_after_s": 0.1}},
                        {"slow": {"component": "api", "factor": 5, "at_s": 0.3, "duration_s": 0.4}},
                        {"latency_spike": {"between": ["api", "db"], "extra_ms": 20, "at_s": 0.8, "duration_s": 0.3}}]);
    }
    let failover = json!({"detection_ms": 50, "promotion_ms": 30,
                          "during": if replication == 2 { "queue" } else { "fail" }});
    let replication = match replication {
        1 => json!({"replicas": 1, "mode": "async", "lag_ms": {"exponential": {"mean_ms": 10}},
                    "failover": failover}),
        2 => json!({"replicas": 2, "mode": "sync", "reads_from": "any", "failover": failover}),
        3 => json!({"replicas": 1, "mode": "multi_primary"}),
        _ => serde_json::Value::Null,
    };
    let mut lb = json!({"kind": "load_balancer", "backends": ["api"], "policy": policy, "max_connections": max_conn * 3,
                        "weights": [1.0], "health_check": {"interval_ms": 100, "unhealthy_threshold": 2}});
    if gateway {
        // Tight enough to refuse: per user, per class (b), and for everyone.
        lb["kind"] = json!("gateway");
        lb["auth_cpu_ms"] = json!({"exponential": {"mean_ms": 0.1}});
        lb["rate_limits"] = json!([{"per": "user", "rate_per_s": 20, "burst": 2},
                                   {"per": "class", "classes": ["b"], "rate_per_s": 100},
                                   {"rate_per_s": 500, "burst": 20}]);
    }
    let mut api = json!({"kind": "service", "replicas": 2, "workers": workers, "queue_capacity": queue,
                    "machine": {"cores": 2, "max_connections": max_conn, "ram_gb": 1, "base_memory_gb": 0.99},
                    "handlers": {"a": [{"cpu_ms": {"exponential": {"mean_ms": 2}}}, {"call": "cache"}],
                                 "b": [{"cpu_ms": {"lognormal": {"mean_ms": 1, "std_ms": 2}}}, {"call": "db"}]},
                    "connection_pools": {"db": {"size": pool}}});
    if scaled {
        // Machines start, serve, drain (some past the timeout) and stop while crashes go on.
        api["scaling"] = json!({"max_replicas": 4, "start_delay_ms": {"exponential": {"mean_ms": 50}},
                                "drain_timeout_ms": 30,
                                "schedule": [{"at_s": 0.4, "replicas": 4}, {"at_s": 1.1, "replicas": 1}],
                                "autoscale": {"target": 0.5, "interval_s": 0.2, "scale_in_stabilisation_s": 0.3}});
        api["deploys"] = json!([{"at_s": 0.6, "max_surge": 1, "max_unavailable": 1,
                                 "start_delay_ms": {"constant": {"ms": 40}}},
                                {"at_s": 1.3, "strategy": "recreate"},
                                {"at_s": 1.6, "strategy": "blue_green",
                                 "start_delay_ms": {"exponential": {"mean_ms": 30}}}]);
    }
    json!({
        "name": "conservation",
        "duration_s": 2,
        "warmup_s": 0.2,
        "workload": {
            "model": {"closed": {"users": users, "think_time_ms": {"exponential": {"mean_ms": 20}}}},
            "entry": "lb",
            "timeout_ms": timeout_ms,
            "retry": {"max_attempts": attempts, "initial_backoff_ms": 5},
            "classes": {"a": {"weight": 2, "circuit_breaker": {"window": 10, "open_ms": 50, "half_open_probes": 2}}, "b": {"keys": {"zipf": {"count": 50, "exponent": 1.2}}, "retry_rate_limited": true}}
        },
        "components": {
            "lb": lb,
            "api": api,
            "cache": {"kind": "cache", "machine": {"cores": 1}, "backing": "db", "policy": {"hit_ratio": hit_ratio}},
            "db": {"kind": "database", "machine": {"cores": 2, "max_connections": 6},
                   "queries": {"a": {"cpu_ms": {"exponential": {"mean_ms": 1}}, "disk_ios": 1},
                               "b": {"op": "write", "cpu_ms": {"exponential": {"mean_ms": 1}}}},
                   "replication": replication,
                   "partitions": {"count": shards}}
        },
        "faults": faults
    })
    .to_string()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn every_request_ends_in_exactly_one_outcome(
        users in 1u32..150, workers in 1u32..6, queue in 0u32..10, max_conn in 1u32..30,
        timeout_ms in 3.0f64..200.0, attempts in 1u32..4, crash in any::<bool>(),
        policy in prop::sample::select(vec!["round_robin", "least_connections", "ip_hash", "random", "weighted", "power_of_two_choices"]),
        pool in 1u32..5, hit_ratio in 0.0f64..1.0, replication in 0u32..4, shards in 1u32..3,
        gateway in any::<bool>(), scaled in any::<bool>(),
    ) {
        let text = scenario(users, workers, queue, max_conn, timeout_ms, attempts, crash, policy, pool, hit_ratio, replication, shards, gateway, scaled);
        let model = crate::scenario::load(&text).expect("generated scenario is valid");
        let mut sim = Simulation::new(model);
        let stop = sim.run(&mut |_| {});
        prop_assert_eq!(sim.ctx.outstanding, 0, "a logical request was never concluded");
        let r = Results::from_simulation(&mut sim, stop);
        let q = &r.requests;
        prop_assert_eq!(q.total, q.completed + q.rejected + q.timed_out + q.failed);
        prop_assert_eq!(q.rejected, q.rejected_by.values().sum::<u64>());
        prop_assert_eq!(q.failed, q.failed_by.values().sum::<u64>());
        let by_class: u64 = r.classes.values().map(|c| c.requests.total).sum();
        prop_assert_eq!(by_class, q.total);
        prop_assert_eq!(r.latency_ms.count, q.completed);
    }
}

/// A runaway scenario stops at `max_events` with that reason, and the requests it cut short
/// are counted as failed (`simulation_ended`), so the outcomes still add up.
#[test]
fn max_events_stops_the_run_with_a_typed_reason() {
    let mut text: serde_json::Value = serde_json::from_str(&scenario(
        100,
        2,
        5,
        20,
        100.0,
        2,
        false,
        "round_robin",
        2,
        0.5,
        0,
        1,
        true,
        true,
    ))
    .unwrap();
    text["max_events"] = json!(5_000);
    let model = crate::scenario::load(&text.to_string()).unwrap();
    let mut sim = Simulation::new(model);
    let stop = sim.run(&mut |_| {});
    assert_eq!(stop, crate::model::sim::StopReason::MaxEvents);
    assert_eq!(sim.events, 5_000);
    // Every request started appears as ended in some time-series row, the failures of the
    // stop included (they once fell after the last row).
    let rows = &sim.ctx.metrics.timeseries.rows;
    let started: u64 = rows.iter().map(|r| r.started).sum();
    let ended: u64 = rows.iter().map(|r| r.ended.total).sum();
    assert_eq!(started, ended);
    let r = Results::from_simulation(&mut sim, stop);
    assert_eq!(r.stop_reason, crate::StopReason::MaxEvents);
    let q = &r.requests;
    assert!(q.failed_by.get("simulation_ended").copied().unwrap_or(0) > 0);
    assert_eq!(q.total, q.completed + q.rejected + q.timed_out + q.failed);
    // The figures describe the time actually simulated, not the scenario's nominal duration:
    // rates divide by the window that was run (a 4x-too-low throughput was once reported).
    let duration = text["duration_s"].as_f64().unwrap();
    assert!(r.sim_time_s < duration, "{} of {duration}", r.sim_time_s);
    assert!((r.measured_s - (r.sim_time_s - r.warmup_s)).abs() < 1e-9);
    let completed_in_window = r.throughput_rps * r.measured_s;
    assert!(
        completed_in_window > 0.0,
        "{} {} {} {:?}",
        r.throughput_rps,
        r.measured_s,
        r.sim_time_s,
        q
    );
}

/// A small queue pipeline: users send through `api` to `jobs`, consumed by `worker` as
/// `consumes` says, with the queue's `rules` and `faults` merged in.
fn queue_scenario(
    consumes: serde_json::Value,
    rules: serde_json::Value,
    worker_ram_mb: f64,
    faults: serde_json::Value,
) -> String {
    let mut jobs = json!({"kind": "queue", "machine": {"cores": 1}, "workers": 50});
    for (k, v) in rules.as_object().unwrap() {
        jobs[k] = v.clone();
    }
    json!({
        "name": "message-conservation",
        "duration_s": 4,
        "warmup_s": 0.5,
        "workload": {
            "model": {"open": {"rate_per_s": 300}},
            "entry": "api",
            "classes": {"order": {"keys": {"uniform": {"count": 1000}}},
                        "work": {"weight": 0, "request_bytes": 5000}}
        },
        "components": {
            "api": {"kind": "service", "workers": 200, "machine": {"cores": 4},
                    "handlers": {"default": [{"send": {"queue": "jobs", "message": "work"}}]}},
            "jobs": jobs,
            "worker": {"kind": "service", "replicas": 2, "workers": 4, "queue_capacity": 50,
                       "machine": {"cores": 2, "ram_gb": worker_ram_mb / 1024.0,
                                   "base_memory_gb": 0.0, "memory_per_request_kb": 1024,
                                   "out_of_memory": "kill", "restart_s": 0.2},
                       "consumes": consumes,
                       "handlers": {"default": [{"cpu_ms": {"exponential": {"mean_ms": 8}}}]}}
        },
        "faults": faults
    })
    .to_string()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    /// Pulled or pushed, whatever the limits and faults, every message the queue accepted
    /// ends processed, dead-lettered, expired or lost, or is still queued at the end.
    #[test]
    fn every_message_ends_in_exactly_one_fate(
        mode in 0u32..5, concurrency in 1u32..6, batch in 1u32..5, prefetch in 1u32..40,
        visibility_ms in 5.0f64..500.0, max_receives in 0u32..4, persistent in any::<bool>(),
        max_messages in 5u64..400, retention_s in 0.05f64..5.0, worker_ram_mb in 20.0f64..400.0,
        crash_worker in any::<bool>(), crash_queue in any::<bool>(), fifo_groups in 0u32..4,
        dead_letter_queue in any::<bool>(),
    ) {
        let consumes = match mode {
            0 => json!({"queue": "jobs", "concurrency": concurrency, "batch_size": batch}),
            1 => json!({"queue": "jobs", "concurrency": concurrency, "batch_size": batch,
                        "polling": "short", "poll_interval_ms": 10}),
            2 => json!({"queue": "jobs", "polling": "push"}),
            3 => json!({"queue": "jobs", "polling": "push", "prefetch": prefetch}),
            _ => json!({"queue": "jobs", "concurrency": concurrency, "batch_size": batch}),
        };
        let mut rules = json!({"visibility_timeout_s": visibility_ms / 1e3, "persistent": persistent,
                               "max_messages": max_messages, "retention_s": retention_s});
        if max_receives > 0 {
            rules["max_receives"] = json!(max_receives);
            if dead_letter_queue {
                rules["dead_letter_queue"] = json!("dead");
            }
        }
        if fifo_groups > 0 {
            // FIFO of 1 to 3 groups; debug builds also check each group's order
            // (`Store::processed`).
            rules["fifo"] = json!(true);
            rules["message_groups"] = json!(fifo_groups);
        }
        let mut faults = vec![json!({"slow": {"component": "worker", "factor": 6, "at_s": 1.0, "duration_s": 1.0}})];
        if crash_worker {
            faults.push(json!({"crash": {"component": "worker", "replica": 0, "at_s": 1.5, "recover_after_s": 0.4}}));
        }
        if crash_queue {
            faults.push(json!({"crash": {"component": "jobs", "at_s": 2.2, "recover_after_s": 0.3}}));
        }
        let mut text = queue_scenario(consumes, rules, worker_ram_mb, json!(faults));
        if mode == 4 {
            // A log of 1 to 7 partitions (`prefetch` picks), with the queue's retention.
            let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
            v["components"]["jobs"] = json!({"kind": "log", "machine": {"cores": 1}, "workers": 50,
                                             "partitions": 1 + prefetch % 7, "retention_s": retention_s});
            text = v.to_string();
        }
        if mode != 4 && max_receives > 0 && dead_letter_queue {
            // Dead letters move to `dead`, which `redo` (a copy of `worker`) consumes.
            let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
            v["components"]["dead"] = json!({"kind": "queue", "machine": {"cores": 1},
                                             "max_messages": 20});
            v["components"]["redo"] = v["components"]["worker"].clone();
            v["components"]["redo"]["consumes"] = json!({"queue": "dead"});
            text = v.to_string();
        }
        let model = crate::scenario::load(&text).expect("generated scenario is valid");
        let mut sim = Simulation::new(model);
        let stop = sim.run(&mut |_| {});
        let r = Results::from_simulation(&mut sim, stop);
        let Some(q) = r.components.get("jobs").and_then(|c| c.queue()) else {
            panic!("jobs is a queue");
        };
        prop_assert!(q.messages.run.accepted > 0);
        for name in ["jobs", "dead"] {
            let Some(q) = r.components.get(name).and_then(|c| c.queue()) else {
                continue;
            };
            let f = &q.messages.run;
            prop_assert_eq!(
                f.accepted,
                f.processed + f.dead_lettered + f.expired + f.lost + f.still_queued,
                "{}: {:?}", name, f
            );
        }
    }
}
