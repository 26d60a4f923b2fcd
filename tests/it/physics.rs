//! The machine between the queues: network cards, connections and replication, each against
//! a figure worked out by hand in the test. Links are constant and one user is alone in the
//! system unless a test says otherwise, so every latency is exact up to the histograms'
//! resolution (three significant digits: 0.1 %).

use crate::common::zero_latency;
use crate::common::{num, run_summary};
use serde_json::{Value, json};

/// Asserts `got` equals the hand-worked `want` (ms) within the histograms' resolution.
fn assert_ms(what: &str, got: f64, want: f64) {
    assert!(
        (got - want).abs() <= 0.002 * want + 0.001,
        "{what}: simulated {got} ms, worked out by hand {want} ms"
    );
}

/// One user with a 100 ms pause, links of zero latency (or as `links` says), a front
/// service calling a back service; `request_bytes` and `response_bytes` for the one class.
fn two_services(front_gbps: f64, back_gbps: f64, request: u64, response: u64) -> Value {
    json!({
        "name": "nic",
        "duration_s": 10,
        "warmup_s": 1,
        "network": zero_latency(),
        "workload": {
            "model": {"closed": {"users": 1, "think_time_ms": {"constant": {"ms": 100}}}},
            "entry": "front",
            "classes": {"only": {"request_bytes": request, "response_bytes": response}}
        },
        "components": {
            "front": {
                "kind": "service",
                "machine": {"cores": 1, "nic_gbps": front_gbps},
                "handlers": {"default": [{"call": "back"}]}
            },
            "back": {
                "kind": "service",
                "machine": {"cores": 1, "nic_gbps": back_gbps},
                "handlers": {"default": [{"cpu_ms": {"constant": {"ms": 1}}}]}
            }
        }
    })
}

/// A message crosses two network cards at once: the receiver works on the bits as the
/// sender puts them on the wire, so it costs size ÷ the slower card, once.
///
/// 1,000,000 bytes at 1 Gbit/s take 8 ms; at 0.5 Gbit/s, 16 ms; at 10 Gbit/s, 0.8 ms.
/// - The user's call reaches the front card from the internet (the users' own cards are not
///   modelled): 8 ms. Front to back at 1 → 0.5 Gbit/s: max(8, 16) = 16 ms. 1 ms of CPU. The
///   answers are empty. In all 8 + 16 + 1 = 25 ms (charging each card in turn gave 33).
/// - Front to back at 1 → 10 Gbit/s: max(8, 0.8) = 8 ms: 8 + 8 + 1 = 17 ms (was 17.8).
/// - Answers of 1,000,000 bytes instead, back at 0.5 Gbit/s: back to front max(16, 8) = 16,
///   front to the user 8, 1 ms of CPU: 25 ms (was 33).
#[test]
fn a_message_costs_the_slower_network_card_once() {
    let mean = |s: &Value| num(s, "/latency_ms/mean");
    let slow_back = run_summary(&two_services(1.0, 0.5, 1_000_000, 0), 1);
    assert_ms("call to a slower card", mean(&slow_back), 25.0);
    let fast_back = run_summary(&two_services(1.0, 10.0, 1_000_000, 0), 1);
    assert_ms("call to a faster card", mean(&fast_back), 17.0);
    let answers = run_summary(&two_services(1.0, 0.5, 0, 1_000_000), 1);
    assert_ms("answers from a slower card", mean(&answers), 25.0);
}

/// A server whose card cannot keep up: answers of 1,000,000 bytes at 1 Gbit/s take 8 ms
/// each, so the card serves at most 125 answers/s, and 200 requests/s arrive (Poisson). An
/// answer waiting for the card holds its request's connection, so the 50 connections fill
/// with answers in line and the rest are refused at the door: an M/D/1/K queue at
/// ρ = 200/125 = 1.6 with K = 50, whose blocking probability is 1 − 1/ρ to within 10⁻⁶ (the
/// card is almost never idle), so 200 × 0.375 = 75 refusals/s and 125 answers/s.
///
/// Before connections were held, the card queued every answer: peak connections 2, no
/// refusal, and answers waiting ever longer.
#[test]
fn an_answer_waiting_for_the_network_card_holds_its_connection() {
    let scenario = json!({
        "name": "nic-bound",
        "duration_s": 200,
        "warmup_s": 20,
        "network": zero_latency(),
        "workload": {
            "model": {"open": {"rate_per_s": 200}},
            "entry": "web",
            "timeout_ms": 1e9,
            "classes": {"only": {"request_bytes": 0, "response_bytes": 1_000_000}}
        },
        "components": {
            "web": {
                "kind": "service",
                "machine": {"cores": 8, "nic_gbps": 1, "max_connections": 50},
                "workers": 8,
                "handlers": {"default": [{"cpu_ms": {"constant": {"ms": 0.1}}}]}
            }
        }
    });
    let s = run_summary(&scenario, 1);
    let web = &s["components"]["web"];
    assert_eq!(web["peak_connections"], 50, "{web}");
    // 180 s: 22,500 answers; Poisson arrivals give the refusals a standard deviation of
    // about √(36,000 × 0.375 × 0.625) ≈ 92, so 2 % is over 7 of them.
    let throughput = num(&s, "/throughput_rps");
    assert!((throughput - 125.0).abs() <= 0.02 * 125.0, "{throughput}");
    let refused = num(web, "/refused_by/connection_limit") / 180.0;
    assert!(
        (refused - 75.0).abs() <= 0.02 * 75.0,
        "{refused} refusals/s"
    );
    assert!(
        num(web, "/nic_utilisation") > 0.99,
        "{}",
        web["nic_utilisation"]
    );
}

/// A sync write is answered when a replica has applied it and its acknowledgement is back
/// at the primary. Within one region the acknowledgement travels on the database's own link:
/// 5 ms of replication lag plus 1 ms back is 6 ms for a write whose own work is nothing;
/// the acknowledgement used to travel for free (5 ms). An async write does not wait: 0 ms.
#[test]
fn a_sync_acknowledgement_travels_back_within_a_region() {
    let scenario = |mode: &str| {
        json!({
            "name": "sync-ack",
            "duration_s": 10,
            "warmup_s": 1,
            "network": {
                "client_link": {"latency_ms": {"constant": {"ms": 0}}},
                "default_link": {"latency_ms": {"constant": {"ms": 1}}},
                "links": [{"between": ["app", "db"], "latency_ms": {"constant": {"ms": 0}}}]
            },
            "workload": {
                "model": {"closed": {"users": 1, "think_time_ms": {"constant": {"ms": 100}}}},
                "entry": "app",
                "classes": {"write": {"request_bytes": 0, "response_bytes": 0}}
            },
            "components": {
                "app": {"kind": "service", "machine": {"cores": 1}, "handlers": {"default": [{"call": "db"}]}},
                "db": {
                    "kind": "database",
                    "machine": {"cores": 1},
                    "connect_ms": {"constant": {"ms": 0}},
                    "connect_cpu_ms": {"constant": {"ms": 0}},
                    "queries": {"write": {"op": "write", "cpu_ms": {"constant": {"ms": 0}}, "disk_ios": 0}},
                    "replication": {
                        "replicas": 1,
                        "mode": mode,
                        "lag_ms": {"constant": {"ms": 5}}
                    }
                }
            }
        })
    };
    let sync = run_summary(&scenario("sync"), 1);
    assert_ms("sync write", num(&sync, "/latency_ms/mean"), 6.0);
    let not_sync = run_summary(&scenario("async"), 1);
    assert_ms("async write", num(&not_sync, "/latency_ms/mean"), 0.0);
}

/// A search sent to two shards at once whose answers, 1,000,000 bytes each, reach the service's
/// 1 Gbit/s card together (8 ms each on it; 0.8 ms on the shards' 10 Gbit/s cards). Every link
/// takes 0 ms and each shard 1 ms of CPU, so both answers' last bits are in at 1.8 ms.
/// - With the default 4 MiB receive buffer (33.5 ms of this card's time) the second waits
///   behind the first: received at 1 + 8 + 8 = 17 ms; the service's own answer to the user
///   takes 8 ms more on its card: 25 ms.
/// - With a 64 KiB buffer (0.52 ms), the second finds 8 ms of bytes ahead of it and is dropped;
///   TCP sends it again 200 ms later (Linux's minimum retransmission timeout): its last bit is
///   in at 201.8 ms, the card starts on it as its first bit comes (201 ms) and has it at
///   209 ms; with the answer to the user, 217 ms. One message dropped per search.
#[test]
fn a_full_receive_buffer_drops_a_message_and_tcp_sends_it_again() {
    let scenario = |buffer_kb: Option<u64>| {
        let mut app_machine = json!({"cores": 1, "nic_gbps": 1});
        if let Some(kb) = buffer_kb {
            app_machine["rx_buffer_kb"] = json!(kb);
        }
        json!({
            "name": "drops",
            "duration_s": 10,
            "warmup_s": 1,
            "network": zero_latency(),
            "workload": {
                "model": {"closed": {"users": 1, "think_time_ms": {"constant": {"ms": 100}}}},
                "entry": "app",
                "classes": {"search": {"request_bytes": 0, "response_bytes": 1_000_000}}
            },
            "components": {
                "app": {"kind": "service", "machine": app_machine,
                        "handlers": {"default": [{"call": "db"}]}},
                "db": {
                    "kind": "database",
                    "machine": {"cores": 1, "nic_gbps": 10},
                    "connect_ms": {"constant": {"ms": 0}},
                    "connect_cpu_ms": {"constant": {"ms": 0}},
                    "queries": {"default": {"cpu_ms": {"constant": {"ms": 1}}, "disk_ios": 0,
                                            "fan_out": true}},
                    "partitions": {"count": 2}
                }
            }
        })
    };
    let roomy = run_summary(&scenario(None), 1);
    assert_ms("second answer waits", num(&roomy, "/latency_ms/mean"), 25.0);
    assert_eq!(roomy["components"]["app"]["dropped_messages"], 0);
    let tight = run_summary(&scenario(Some(64)), 1);
    assert_ms(
        "second answer resent",
        num(&tight, "/latency_ms/mean"),
        217.0,
    );
    assert_eq!(
        tight["components"]["app"]["dropped_messages"], tight["latency_ms"]["count"],
        "one drop per search"
    );
}

/// A database's memory is its buffer pool. One user asks without pause for a query of 1 ms of
/// CPU and 10 disk reads on a disk of 100 I/O/s (10 ms each, nothing else queues); the
/// machine has 16 GiB, 1 of them taken, so 15 GiB of pages.
/// - No `data_gb`: every read goes to disk, 1 + 10 × 10 = 101 ms.
/// - 15 GiB of data: all of it fits, 1 ms.
/// - 30 GiB: half fits, so each read misses with probability ½: 1 + 10 × ½ × 10 = 51 ms on
///   average. The misses per query are binomial (10, ½): a standard deviation of 15.8 ms per
///   query, and about 560 queries in 29 s give the mean a standard error of 0.67 ms, so
///   4.5 of them (3 ms) bound it.
#[test]
fn a_database_serves_from_memory_the_share_of_its_data_that_fits() {
    let scenario = |data_gb: Option<f64>| {
        let mut db = json!({
            "kind": "database",
            "machine": {"cores": 1, "ram_gb": 16, "base_memory_gb": 1, "disk_iops": 100},
            "connect_ms": {"constant": {"ms": 0}},
                    "connect_cpu_ms": {"constant": {"ms": 0}},
            "queries": {"default": {"cpu_ms": {"constant": {"ms": 1}}, "disk_ios": 10}}
        });
        if let Some(gb) = data_gb {
            db["data_gb"] = json!(gb);
        }
        json!({
            "name": "buffer-pool",
            "duration_s": 30,
            "warmup_s": 1,
            "network": zero_latency(),
            "workload": {
                "model": {"closed": {"users": 1, "think_time_ms": {"constant": {"ms": 0}}}},
                "entry": "app",
                "classes": {"read": {"request_bytes": 0, "response_bytes": 0}}
            },
            "components": {
                "app": {"kind": "service", "machine": {"cores": 1},
                        "handlers": {"default": [{"call": "db"}]},
                        "connection_pools": {"db": {"size": 1}}},
                "db": db
            }
        })
    };
    let mean = |gb| num(&run_summary(&scenario(gb), 1), "/latency_ms/mean");
    assert_ms("all on disk", mean(None), 101.0);
    assert_ms("all in memory", mean(Some(15.0)), 1.0);
    let half = mean(Some(30.0));
    assert!(
        (half - 51.0).abs() <= 3.0,
        "half in memory: {half} ms, expected 51 ± 3"
    );
}

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

/// A load balancer runs on a machine of its own and can be the bottleneck. One core, 0.1 ms
/// of CPU per forwarded request (run to completion, first come first served), 8,000
/// requests/s (Poisson) to a backend of 64 cores doing 1 ms each (no queue there): the
/// balancer is an M/D/1 queue at ρ = 0.8, whose mean wait is ρ·S / (2 (1 − ρ)) = 0.2 ms
/// (Pollaczek–Khinchine), so a request takes 0.2 + 0.1 + 1 = 1.3 ms, and its core is 80 %
/// busy; the bottleneck line names it. Checked over replications as in `theory`.
#[test]
fn a_load_balancer_is_an_md1_queue_on_its_own_core() {
    use crate::theory::{assert_matches, replicate};
    let zero = json!({"latency_ms": {"constant": {"ms": 0}}});
    let scenario = json!({
        "name": "lb-md1",
        "duration_s": 30,
        "warmup_s": 3,
        "network": {"client_link": zero, "default_link": zero},
        "workload": {
            "model": {"open": {"rate_per_s": 8000}},
            "entry": "lb",
            "timeout_ms": 1e9,
            "classes": {"only": {"request_bytes": 0, "response_bytes": 0}}
        },
        "components": {
            "lb": {"kind": "load_balancer", "backends": ["api"], "cores": 1,
                   "forward_ms": {"constant": {"ms": 0.1}}},
            "api": {"kind": "service",
                    "machine": {"cores": 64, "memory_per_connection_kb": 0,
                                "memory_per_request_kb": 0},
                    "workers": 64, "queue_capacity": 100_000,
                    "handlers": {"default": [{"cpu_ms": {"constant": {"ms": 1}}}]}}
        }
    });
    let runs = replicate(&scenario);
    assert_matches("M/D/1 at the balancer", &runs, "/latency_ms/mean", 1.3);
    assert_matches("balancer CPU", &runs, "/components/lb/cpu_utilisation", 0.8);
    assert_eq!(
        runs[0]["bottleneck"]["component"], "lb",
        "{}",
        runs[0]["bottleneck"]
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

/// A cache's entries take its machine's memory. An LRU of `capacity_mb` 512 with entries of
/// 64 KiB holds 512 × 1024 / 64 = 8,192 keys; 20,000 keys drawn uniformly 200 times a second
/// for 100 s fill it, so its machine's memory peaks at its 1 GiB base plus 512 MiB of entries
/// (requests and connections are given no memory here): 1.5 GiB. The same cache on a
/// machine with 1.25 GiB is refused: the entries would not fit.
#[test]
fn a_cache_s_entries_take_its_memory() {
    let scenario = |ram_gb: f64| {
        json!({
            "name": "cache-memory",
            "duration_s": 100,
            "warmup_s": 10,
            "workload": {
                "model": {"open": {"rate_per_s": 200}},
                "entry": "cache",
                "classes": {"read": {"keys": {"uniform": {"count": 20_000}}}}
            },
            "components": {
                "cache": {"kind": "cache", "backing": "db",
                          "machine": {"cores": 1, "ram_gb": ram_gb, "base_memory_gb": 1,
                                      "memory_per_connection_kb": 0, "memory_per_request_kb": 0},
                          "policy": {"lru": {"capacity_mb": 512, "entry_kb": 64}}},
                "db": {"kind": "database", "machine": {"cores": 8},
                       "queries": {"default": {"cpu_ms": {"constant": {"ms": 0.1}}}}}
            }
        })
    };
    let s = run_summary(&scenario(16.0), 1);
    assert_eq!(num(&s, "/components/cache/peak_memory_gb"), 1.5);
    let out = crate::common::dsim()
        .args(["run", "--no-write"])
        .arg(crate::common::write_scenario(&scenario(1.25)))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("components.cache.policy.lru") && err.contains("raise ram_gb"),
        "{err}"
    );
}

/// A replica pays for the writes it copies: each costs its disk what it cost the primary's.
/// 200 writes/s (Poisson) of 2 disk operations on disks of 1,000 operations/s keep the
/// primary's disk 40 % busy, and its replica's too, so the database's mean disk utilisation
/// over its two machines is 40 % (it was 20 % when copies cost nothing). Over 90 s that is a
/// mean over 18,000 writes: 2 % bounds it.
#[test]
fn a_replica_s_disk_does_the_work_of_the_writes_it_copies() {
    let scenario = json!({
        "name": "replica-apply",
        "duration_s": 100,
        "warmup_s": 10,
        "workload": {
            "model": {"open": {"rate_per_s": 200}},
            "entry": "app",
            "timeout_ms": 1e9,
            "classes": {"write": {"request_bytes": 0, "response_bytes": 0}}
        },
        "components": {
            "app": {"kind": "service", "machine": {"cores": 8}, "workers": 100,
                    "handlers": {"default": [{"call": "db"}]},
                    "connection_pools": {"db": {"size": 50}}},
            "db": {"kind": "database", "machine": {"cores": 8, "disk_iops": 1000},
                   "queries": {"write": {"op": "write", "cpu_ms": {"constant": {"ms": 0.1}},
                                         "disk_ios": 2}},
                   "replication": {"replicas": 1, "mode": "async",
                                   "lag_ms": {"constant": {"ms": 5}}}}
        }
    });
    let s = run_summary(&scenario, 1);
    let disk = num(&s, "/components/db/disk_utilisation");
    assert!(
        (disk - 0.4).abs() <= 0.02 * 0.4,
        "mean disk utilisation {disk}"
    );
}

/// A replica pays the CPU of the writes it copies, on its own cores, and after a crash it
/// pays for the ones it missed. 200 writes/s (Poisson) of 2 ms CPU on one core keep the
/// primary 40 % busy, and the replica's applier too (it was 0 % when copies cost nothing).
/// The replica is down from 40 s to 60 s of a 10–100 s window: the 4,000-odd writes it missed
/// are applied when it returns, so over the window it still does every write's work and its
/// CPU utilisation is 40 % (without the catch-up, 70 s × 0.4 / 90 s = 31 %). 18,000 writes
/// make a count whose standard deviation is 0.75 %; 3 % bounds it. The same with time-sliced
/// cores and with a run-to-completion core queue.
#[test]
fn a_replica_s_cores_apply_the_writes_it_copies_and_catch_up_the_ones_it_missed() {
    let scenario = |crash: bool, scheduling: &str| {
        json!({
            "name": "replica-apply-cpu",
            "duration_s": 100,
            "warmup_s": 10,
            "workload": {
                "model": {"open": {"rate_per_s": 200}},
                "entry": "app",
                "timeout_ms": 1e9,
                "classes": {"write": {"request_bytes": 0, "response_bytes": 0}}
            },
            "components": {
                "app": {"kind": "service", "machine": {"cores": 8}, "workers": 100,
                        "handlers": {"default": [{"call": "db"}]},
                        "connection_pools": {"db": {"size": 50}}},
                "db": {"kind": "database",
                       "machine": {"cores": 1, "cpu_scheduling": scheduling},
                       "queries": {"write": {"op": "write", "cpu_ms": {"constant": {"ms": 2}},
                                             "disk_ios": 0}},
                       "replication": {"replicas": 1, "mode": "async",
                                       "lag_ms": {"constant": {"ms": 5}}}}
            },
            "faults": if crash {
                json!([{"crash": {"component": "db", "replica": 1, "at_s": 40,
                                  "recover_after_s": 20}}])
            } else {
                json!([])
            }
        })
    };
    for (crash, scheduling) in [
        (false, "time_sliced"),
        (true, "time_sliced"),
        (true, "run_to_completion"),
    ] {
        let s = run_summary(&scenario(crash, scheduling), 1);
        let machines = s["components"]["db"]["replication"]["machines"]
            .as_array()
            .expect("machines");
        let cpu = |i: usize| num(&machines[i], "/cpu_utilisation");
        for (i, who) in [(0, "primary"), (1, "replica")] {
            assert!(
                (cpu(i) - 0.4).abs() <= 0.03 * 0.4,
                "crash {crash}, {scheduling}: {who} CPU {} in {machines:#?}",
                cpu(i)
            );
        }
    }
}

/// Several queries in one round trip (the N+1-queries fix). Links of 1 ms each way, a
/// database query of 1 ms of CPU, a connection set-up of 1 ms of the database's CPU and no
/// `connect_ms`, one request a second (nothing queues; every figure is constant):
/// - five `call` steps through a pool: 5 × (1 + 1 + 1) = 15 ms;
/// - one `batch` of five through a pool: 1 + 5 × 1 + 1 = 7 ms;
/// - five calls on connections of their own: each adds the handshake's round trip and the
///   set-up's CPU, 5 × (2 + 1 + 3) = 30 ms;
/// - one batch on a connection of its own: 2 + 1 + 7 = 10 ms.
#[test]
fn a_batch_pays_one_round_trip_for_many_queries() {
    let one_ms = json!({"latency_ms": {"constant": {"ms": 1}}});
    let scenario = |steps: Value, pooled: bool| {
        let mut app = json!({"kind": "service", "machine": {"cores": 8},
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
        (&five_calls, true, 15.0),
        (&one_batch, true, 7.0),
        (&five_calls, false, 30.0),
        (&one_batch, false, 10.0),
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

/// Memory past RAM goes to swap, and CPU work slows with the share swapped out: 1 + 20 × that
/// share (docs/scenario-format.md). 1,024 users who never think each hold a request of
/// 1 MiB on a one-core server with 0.5 GiB of base memory and 1 GiB of RAM: 1.5 GiB in use,
/// a third of it swapped, so 1 ms of CPU takes 1 + 20/3 = 7.667 ms and the server answers
/// 1000 / 7.667 = 130.4 requests/s (1,000/s without swapping). The level of memory hardly
/// moves (1,024 ± 1 requests), so the rate is exact to a fraction of a percent.
#[test]
fn a_swapping_machine_runs_its_cpu_work_slower() {
    let scenario = json!({
        "name": "swap",
        "duration_s": 30,
        "warmup_s": 5,
        "network": zero_latency(),
        "workload": {
            "model": {"closed": {"users": 1024, "think_time_ms": {"constant": {"ms": 0}}}},
            "entry": "app",
            "timeout_ms": 1e9,
            "classes": {"read": {"request_bytes": 0, "response_bytes": 0}}
        },
        "components": {
            "app": {"kind": "service",
                    "machine": {"cores": 1, "ram_gb": 1, "base_memory_gb": 0.5, "swap_gb": 1,
                                "memory_per_connection_kb": 0, "memory_per_request_kb": 1024},
                    "queue_capacity": 2000,
                    "handlers": {"default": [{"cpu_ms": {"constant": {"ms": 1}}}]}}
        }
    });
    let s = run_summary(&scenario, 1);
    let rate = num(&s, "/throughput_rps");
    assert!((rate - 130.43).abs() <= 0.005 * 130.43, "throughput {rate}");
    assert_eq!(num(&s, "/components/app/peak_memory_gb"), 1.5);
}

/// With `out_of_memory: kill` nothing refuses a request, and when memory passes RAM and swap
/// the kernel kills the process: every request on it fails, and it restarts after
/// `restart_s`. 1,000 requests/s (Poisson) of 2 ms on one core, which answers 500/s: the
/// backlog grows by 500 a second, and 512 requests of 1 MiB fill the 0.5 GiB left above the
/// base in about 1.02 s. Killed then, back 10 s later, killed again 1.02 s after that: kills
/// at about 1, 12, 23, 34, 45 and 56 s — six in a 60 s run (the arrival count's noise moves
/// each fill by some 0.06 s). With `refuse` (the default) the same server is never killed:
/// it turns the excess away and answers its 500 a second.
#[test]
fn a_process_that_runs_out_of_memory_is_killed_and_restarts() {
    let scenario = |policy: &str| {
        json!({
            "name": "oom",
            "duration_s": 60,
            "warmup_s": 1,
            "network": zero_latency(),
            "workload": {
                "model": {"open": {"rate_per_s": 1000}},
                "entry": "app",
                "timeout_ms": 1e9,
                "classes": {"read": {"request_bytes": 0, "response_bytes": 0}}
            },
            "components": {
                "app": {"kind": "service",
                        "machine": {"cores": 1, "ram_gb": 1, "base_memory_gb": 0.5,
                                    "memory_per_connection_kb": 0,
                                    "memory_per_request_kb": 1024,
                                    "out_of_memory": policy, "restart_s": 10,
                                    "cpu_scheduling": "run_to_completion"},
                        "workers": 1, "queue_capacity": 100000,
                        "handlers": {"default": [{"cpu_ms": {"constant": {"ms": 2}}}]}}
            }
        })
    };
    let killed = run_summary(&scenario("kill"), 1);
    assert_eq!(num(&killed, "/components/app/oom_kills"), 6.0);
    assert!(num(&killed, "/requests/failed_by/backend_down") > 5.0 * 512.0);
    let refused = run_summary(&scenario("refuse"), 1);
    assert!(refused["components"]["app"].get("oom_kills").is_none());
    assert!(num(&refused, "/requests/rejected_by/out_of_memory") > 20_000.0);
    let rate = num(&refused, "/throughput_rps");
    assert!((rate - 500.0).abs() <= 5.0, "throughput {rate}");
}
