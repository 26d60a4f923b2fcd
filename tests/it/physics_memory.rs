//! Memory, against figures worked out by hand: a database's buffer pool, a cache's entries,
//! swap that slows the CPU, and the OOM killer.

use crate::common::{num, run_summary, zero_latency};
use crate::physics::assert_ms;
use serde_json::json;

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
