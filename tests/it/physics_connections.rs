//! Connections, against figures worked out by hand: what opening one costs (the handshake,
//! the callee's CPU), pools and batches that avoid it, local ports held in TIME_WAIT, and
//! users' connections kept alive while they think.

use crate::common::{num, run_summary, zero_latency};
use crate::physics::assert_ms;
use serde_json::{Value, json};

/// Opening a database connection costs the database CPU (here 1 ms, as a backend process
/// starting and authenticating), on top of the handshake's round trip and `connect_ms`. A
/// service sends 400 queries/s (Poisson) of 1 ms of CPU to a one-core database. Through a
/// pool the connections are opened once, and the core is busy 400 × 1 ms = 40 % of the time;
/// with a new connection per query it is 400 × (1 + 1) ms = 80 %. Over 90 s the utilisation
/// is a mean over 36,000 queries, whose Poisson count alone moves it by 0.5 %: 2 % bounds it.
#[test]
fn a_pool_saves_the_database_the_cpu_of_opening_connections() {
    let scenario = |pooled: bool| {
        let mut app = json!({"kind": "service", "machine": {"cores": 8}, "workers": 1000,
                             "handlers": {"default": [{"call": "db"}]}});
        if pooled {
            app["connection_pools"] = json!({"db": {"size": 50}});
        }
        json!({
            "name": "pool",
            "duration_s": 100,
            "warmup_s": 10,
            "network": zero_latency(),
            "workload": {
                "model": {"open": {"rate_per_s": 400}},
                "entry": "app",
                "timeout_ms": 1e9,
                "classes": {"read": {"request_bytes": 0, "response_bytes": 0}}
            },
            "components": {
                "app": app,
                "db": {
                    "kind": "database",
                    "machine": {"cores": 1},
                    "connect_cpu_ms": {"constant": {"ms": 1}},
                    "queries": {"default": {"cpu_ms": {"exponential": {"mean_ms": 1}}}}
                }
            }
        })
    };
    let cpu = |pooled| {
        num(
            &run_summary(&scenario(pooled), 1),
            "/components/db/cpu_utilisation",
        )
    };
    let (pooled, fresh) = (cpu(true), cpu(false));
    assert!((pooled - 0.4).abs() <= 0.02 * 0.4, "pooled: {pooled}");
    assert!(
        (fresh - 0.8).abs() <= 0.02 * 0.8,
        "a connection per query: {fresh}"
    );
}

/// Each connection a machine opens takes a local port towards its destination, and keeps it
/// for TIME_WAIT (60 s) after closing: 28,232 ports (Linux's default range) let one machine
/// open at most 28,232 / 60 s = 470.5 new connections per second to one database, whatever
/// the load. A service calling a database at 1,000 queries/s without a pool runs out after
/// about 30 s; from then on 470.5/s get through and the other 529.5/s are refused
/// `ports_exhausted` (the seeds' 65k-port limit, and why pools matter). Measured over the last
/// 60 s of a 150 s run, when every port cycles at that pace: 1 % bounds the rate.
#[test]
fn time_wait_caps_new_connections_to_one_destination() {
    let scenario = json!({
        "name": "ports",
        "duration_s": 150,
        "warmup_s": 90,
        "network": zero_latency(),
        "workload": {
            "model": {"open": {"rate_per_s": 1000}},
            "entry": "app",
            "timeout_ms": 1e9,
            "classes": {"read": {"request_bytes": 0, "response_bytes": 0}}
        },
        "components": {
            "app": {"kind": "service", "machine": {"cores": 8}, "workers": 1000,
                    "handlers": {"default": [{"call": "db"}]}},
            "db": {"kind": "database", "machine": {"cores": 8},
                   "connect_ms": {"constant": {"ms": 0}},
                   "connect_cpu_ms": {"constant": {"ms": 0}},
                   "queries": {"default": {"cpu_ms": {"constant": {"ms": 0.1}}}}}
        }
    });
    let s = run_summary(&scenario, 1);
    let served = num(&s, "/throughput_rps");
    assert!(
        (served - 470.5).abs() <= 0.01 * 470.5,
        "{served} queries/s got a port"
    );
    let refused = num(&s, "/requests/rejected_by/ports_exhausted") / 60.0;
    assert!(
        (refused - 529.5).abs() <= 0.02 * 529.5,
        "{refused} refused/s"
    );
    assert_eq!(
        num(&s, "/components/app/refused_by/ports_exhausted") / 60.0,
        refused
    );
}

/// Several queries in one round trip (the N+1-queries fix). Links of 1 ms each way, a
/// database query of 1 ms of CPU, a connection set-up of 1 ms of the database's CPU and no
/// `connect_ms`, one request a second (nothing queues; every figure is constant):
/// - five `call` steps through a pool: 5 × (1 + 1 + 1) = 15 ms;
/// - one `batch` of five through a pool: 1 + 5 × 1 + 1 = 7 ms;
/// - five calls on connections of their own: each adds the handshake's round trip and the
///   set-up's CPU, 5 × (2 + 1 + 3) = 30 ms;
/// - one batch on a connection of its own: 2 + 1 + 7 = 10 ms.
///
/// The app spends 0.5 ms accepting each user's connection (its program then starts with that
/// step), which adds 0.5 ms to each and must not change what the batch step is.
#[test]
fn a_batch_pays_one_round_trip_for_many_queries() {
    let one_ms = json!({"latency_ms": {"constant": {"ms": 1}}});
    let scenario = |steps: Value, pooled: bool| {
        let mut app = json!({"kind": "service", "machine": {"cores": 8},
                             "accept_cpu_ms": {"constant": {"ms": 0.5}},
                             "handlers": {"default": steps}});
        if pooled {
            app["connection_pools"] = json!({"db": {"size": 4}});
        }
        json!({
            "name": "batch",
            "duration_s": 60,
            "warmup_s": 5,
            "network": {"client_link": {"latency_ms": {"constant": {"ms": 0}}},
                        "default_link": one_ms},
            "workload": {
                "model": {"open": {"rate_per_s": 1}},
                "entry": "app",
                "classes": {"read": {"request_bytes": 0, "response_bytes": 0}}
            },
            "components": {
                "app": app,
                "db": {
                    "kind": "database",
                    "machine": {"cores": 4},
                    "connect_ms": {"constant": {"ms": 0}},
                    "connect_cpu_ms": {"constant": {"ms": 1}},
                    "queries": {"default": {"cpu_ms": {"constant": {"ms": 1}}, "disk_ios": 0}}
                }
            }
        })
    };
    let five_calls = json!([{"call": "db"}, {"call": "db"}, {"call": "db"}, {"call": "db"},
                            {"call": "db"}]);
    let one_batch = json!([{"batch": {"call": "db", "queries": 5}}]);
    for (steps, pooled, want) in [
        (&five_calls, true, 15.5),
        (&one_batch, true, 7.5),
        (&five_calls, false, 30.5),
        (&one_batch, false, 10.5),
    ] {
        let s = run_summary(&scenario(steps.clone(), pooled), 1);
        assert_ms(
            &format!("{steps} pooled {pooled}"),
            num(&s, "/latency_ms/p50"),
            want,
        );
    }
}

/// A new connection per request pays the TCP handshake's round trip before the request; a
/// kept-alive one pays it once. One user, a client link of 5 ms each way, 1 ms of CPU:
/// 5 + 5 (SYN, SYN-ACK) + 5 (the request) + 1 + 5 (the answer) = 21 ms per request, and
/// 5 + 1 + 5 = 11 ms on a kept connection (all but the first). Accepting a connection with 2
/// ms of CPU (a TLS handshake) makes the first 23 ms, and the kept ones stay at 11; the same
/// through a balancer that terminates the connections (a zero-latency hop to the service).
#[test]
fn a_new_connection_pays_the_handshake_and_a_kept_one_does_not() {
    let scenario = |connections: Value, accept_ms: f64, balanced: bool| {
        let accept = json!({"constant": {"ms": accept_ms}});
        let mut app = json!({"kind": "service", "machine": {"cores": 1},
                             "handlers": {"default": [{"cpu_ms": {"constant": {"ms": 1}}}]}});
        let mut components = json!({});
        if balanced {
            components["lb"] = json!({"kind": "load_balancer", "backends": ["app"],
                                      "forward_ms": {"constant": {"ms": 0}},
                                      "accept_cpu_ms": accept});
        } else {
            app["accept_cpu_ms"] = accept;
        }
        components["app"] = app;
        json!({
            "name": "handshake",
            "duration_s": 60,
            "warmup_s": 5,
            "network": {"client_link": {"latency_ms": {"constant": {"ms": 5}}},
                        "default_link": {"latency_ms": {"constant": {"ms": 0}}}},
            "workload": {
                "model": {"closed": {"users": 1, "think_time_ms": {"constant": {"ms": 100}}}},
                "entry": if balanced { "lb" } else { "app" },
                "connections": connections,
                "classes": {"read": {"request_bytes": 0, "response_bytes": 0}}
            },
            "components": components
        })
    };
    for balanced in [false, true] {
        let p50 = |c: Value, accept: f64| {
            num(
                &run_summary(&scenario(c, accept, balanced), 1),
                "/latency_ms/p50",
            )
        };
        let at = |what: &str| format!("{what}, balanced {balanced}");
        assert_ms(&at("per request"), p50(json!("per_request"), 0.0), 21.0);
        assert_ms(&at("kept alive"), p50(json!({"keep_alive": {}}), 0.0), 11.0);
        assert_ms(&at("accepting"), p50(json!("per_request"), 2.0), 23.0);
        assert_ms(
            &at("accepting, kept"),
            p50(json!({"keep_alive": {}}), 2.0),
            11.0,
        );
    }
}

/// Kept-alive connections are held while users think, against the server's connection cap
/// (the seeds' "10k concurrent connections"). 20,000 users thinking 10 s on average
/// (exponential), a server that takes 10,000 connections, 1 ms of work:
/// - per request, about 2,000 requests/s each hold a connection for a millisecond: a
///   handful are open at once;
/// - kept alive with a 5 s idle timeout, a user holds its connection for min(think, 5 s),
///   10 s × (1 − e^−0.5) = 3.935 s on average, of a 10.001 s cycle: Little's law gives
///   20,000 × 3.936 / 10.001 = 7,871 open on average, none refused (the cap is 30 standard
///   deviations away);
/// - kept alive with a 75 s timeout, nobody lets go (e^−7.5 = 0.06 % of thinks are longer):
///   the first 10,000 users hold every connection and the other 10,000 are refused every
///   time — half of all requests, at 0.5 % load.
///
/// The mean over 50 s of 20,000 independent users moves by well under 1 %; 2 % bounds it.
#[test]
fn kept_alive_connections_are_held_while_users_think() {
    let scenario = |connections: Value| {
        json!({
            "name": "keep-alive",
            "duration_s": 60,
            "warmup_s": 10,
            "network": zero_latency(),
            "workload": {
                "model": {"closed": {"users": 20000,
                                     "think_time_ms": {"exponential": {"mean_ms": 10000}}}},
                "entry": "app",
                "connections": connections,
                "classes": {"read": {"request_bytes": 0, "response_bytes": 0}}
            },
            "components": {
                "app": {"kind": "service", "machine": {"cores": 8, "max_connections": 10000},
                        "handlers": {"default": [{"cpu_ms": {"constant": {"ms": 1}}}]}}
            }
        })
    };
    let per_request = run_summary(&scenario(json!("per_request")), 1);
    assert!(num(&per_request, "/components/app/mean_connections") < 10.0);
    assert_eq!(num(&per_request, "/requests/rejected"), 0.0);

    let short = run_summary(&scenario(json!({"keep_alive": {"idle_timeout_s": 5}})), 1);
    let mean = num(&short, "/components/app/mean_connections");
    assert!(
        (mean - 7871.0).abs() <= 0.02 * 7871.0,
        "mean connections {mean}"
    );
    assert_eq!(num(&short, "/requests/rejected"), 0.0);

    let long = run_summary(&scenario(json!({"keep_alive": {"idle_timeout_s": 75}})), 1);
    assert_eq!(num(&long, "/components/app/peak_connections"), 10000.0);
    let refused = num(&long, "/requests/rejected_by/connection_limit");
    let total = num(&long, "/requests/total");
    assert!(
        (refused / total - 0.5).abs() <= 0.03,
        "refused {refused} of {total}"
    );
}

/// Users the load profile makes inactive let their kept-alive connections idle out. 1,000
/// users active until 20 s, none after: with a 5 s idle timeout every connection is closed by
/// about 26 s (the timeout from the first wake-up that finds the user inactive), so over a
/// window from 30 s to 60 s none is open.
#[test]
fn inactive_users_let_their_kept_connections_idle_out() {
    let scenario = json!({
        "name": "keep-alive-profile",
        "duration_s": 60,
        "warmup_s": 30,
        "network": zero_latency(),
        "workload": {
            "model": {"closed": {"users": 1000,
                                 "think_time_ms": {"exponential": {"mean_ms": 1000}}}},
            "profile": {"steps": [{"at_s": 0, "level": 1}, {"at_s": 20, "level": 0}]},
            "entry": "app",
            "connections": {"keep_alive": {"idle_timeout_s": 5}},
            "classes": {"read": {"request_bytes": 0, "response_bytes": 0}}
        },
        "components": {
            "app": {"kind": "service", "machine": {"cores": 8},
                    "handlers": {"default": [{"cpu_ms": {"constant": {"ms": 1}}}]}}
        }
    });
    let s = run_summary(&scenario, 1);
    assert_eq!(num(&s, "/components/app/mean_connections"), 0.0);
}

/// Kept-alive connections are one per user and entry, whatever happens to attempts. 10 users
/// whose classes go to two services alternate between them: each service holds 10
/// connections, not a new one per switch. And users whose attempts time out during a slow
/// handshake (200 ms each way, a 300 ms timeout, three attempts) open a connection per
/// attempt, but the one a newer attempt replaces idles out: the mean stays at most one per
/// user (without that it grew to 120 in 30 s).
#[test]
fn kept_alive_connections_are_one_per_user_and_entry() {
    let two_entries = json!({
        "name": "keep-alive-entries",
        "duration_s": 30,
        "warmup_s": 5,
        "network": zero_latency(),
        "workload": {
            "model": {"closed": {"users": 10,
                                 "think_time_ms": {"exponential": {"mean_ms": 50}}}},
            "entry": "api",
            "connections": {"keep_alive": {}},
            "classes": {"a": {"entry": "api"}, "b": {"entry": "static"}}
        },
        "components": {
            "api": {"kind": "service", "machine": {"cores": 8},
                    "handlers": {"default": [{"cpu_ms": {"constant": {"ms": 1}}}]}},
            "static": {"kind": "service", "machine": {"cores": 8},
                       "handlers": {"default": [{"cpu_ms": {"constant": {"ms": 1}}}]}}
        }
    });
    let s = run_summary(&two_entries, 1);
    for c in ["api", "static"] {
        assert_eq!(
            num(&s, &format!("/components/{c}/peak_connections")),
            10.0,
            "{c}"
        );
    }
    let slow_handshake = json!({
        "name": "keep-alive-retries",
        "duration_s": 30,
        "warmup_s": 1,
        "network": {"client_link": {"latency_ms": {"constant": {"ms": 200}}}},
        "workload": {
            "model": {"closed": {"users": 10,
                                 "think_time_ms": {"constant": {"ms": 1500}}}},
            "entry": "app",
            "timeout_ms": 300,
            "retry": {"max_attempts": 3},
            "connections": {"keep_alive": {"idle_timeout_s": 1}}
        },
        "components": {
            "app": {"kind": "service", "machine": {"cores": 8},
                    "handlers": {"default": [{"cpu_ms": {"constant": {"ms": 1}}}]}}
        }
    });
    let s = run_summary(&slow_handshake, 1);
    let mean = num(&s, "/components/app/mean_connections");
    assert!(mean <= 10.0, "mean connections {mean}");
}
