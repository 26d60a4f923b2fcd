//! The machine between the queues: network cards, connections and replication, each against
//! a figure worked out by hand in the test. Links are constant and one user is alone in the
//! system unless a test says otherwise, so every latency is exact up to the histograms'
//! resolution (three significant digits: 0.1 %).

use crate::common::zero_latency;
use crate::common::{num, run_summary};
use serde_json::{Value, json};

/// Asserts `got` equals the hand-worked `want` (ms) within the histograms' resolution.
pub(crate) fn assert_ms(what: &str, got: f64, want: f64) {
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

/// A replica pays for the writes it copies, on its own cores and disk, and after a crash it
/// pays for the ones it missed. 200 writes/s (Poisson) of 2 ms CPU on one core and 2 disk
/// operations on a disk of 1,000 a second keep the primary's core and disk 40 % busy, and the
/// replica's too (0 % when copies cost nothing, so 20 % as the database's mean disk
/// utilisation). The replica is down from 40 s to 60 s of a 10–100 s window: the 4,000-odd
/// writes it missed are applied when it returns, so over the window it still does every
/// write's work and its CPU utilisation is 40 % (without the catch-up, 70 s × 0.4 / 90 s =
/// 31 %). 18,000 writes make a count whose standard deviation is 0.75 %; 3 % bounds it. The
/// same with time-sliced cores and with a run-to-completion core queue.
#[test]
fn a_replica_s_cores_and_disk_apply_the_writes_it_copies_and_catch_up_the_ones_it_missed() {
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
                       "machine": {"cores": 1, "cpu_scheduling": scheduling,
                                   "disk_iops": 1000},
                       "queries": {"write": {"op": "write", "cpu_ms": {"constant": {"ms": 2}},
                                             "disk_ios": 2}},
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
        let disk = num(&s, "/components/db/disk_utilisation");
        assert!(
            (disk - 0.4).abs() <= 0.03 * 0.4,
            "crash {crash}, {scheduling}: mean disk utilisation {disk}"
        );
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
