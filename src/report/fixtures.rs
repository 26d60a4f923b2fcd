//! Results built by hand for the renderers' tests: every figure is written here, so a test of
//! a table, a CSV or a chart checks the renderer alone, with no engine run behind it. The
//! run has a balancer, a service of two machines, a replicated database and a DNS; a fault
//! that recovered; an interval in which no request completed; two classes.

use crate::StopReason;
use crate::engine::time::SimTime;
use crate::metrics::outcome::{OutcomeCounts, Status};
use crate::metrics::timeseries::{IntervalLoad, IntervalRow};
use crate::report::component::{
    BalancerSummary, ComponentSummary, DnsSummary, HealthChangeSummary, HottestMachines,
    MachineLoad, ServerSummary,
};
use crate::report::failures::{
    FailoverSummary, Failures, FaultEffect, MachineSummary, ReplicationSummary,
};
use crate::report::sweep::{PointIntervals, SweepPoint, SweepSummary};
use crate::report::{
    Bottleneck, BreakerSummary, ClassSummary, EngineSummary, LatencySummary, LittlesLaw,
    LoadSummary, RequestSummary, Results,
};
use std::collections::BTreeMap;

fn latency(count: u64, mean: f64, p50: f64, p99: f64) -> LatencySummary {
    LatencySummary {
        count,
        mean: Some(mean),
        p50: Some(p50),
        p90: Some(p50 * 1.8),
        p99: Some(p99),
        p999: Some(p99 * 1.5),
        max: Some(p99 * 2.0),
    }
}

fn requests(total: u64, completed: u64, queue_full: u64, failed: u64) -> RequestSummary {
    let mut rejected_by = BTreeMap::new();
    if queue_full > 0 {
        rejected_by.insert("queue_full".to_string(), queue_full);
    }
    let mut failed_by = BTreeMap::new();
    if failed > 0 {
        failed_by.insert("backend_down".to_string(), failed);
    }
    RequestSummary {
        total,
        completed,
        rejected: queue_full,
        timed_out: 0,
        failed,
        rejected_by,
        failed_by,
    }
}

fn server(replicas: u32, cpu: f64, rps: f64) -> ServerSummary {
    ServerSummary {
        replicas,
        cost_per_hour: 0.2 * f64::from(replicas),
        throughput_rps: rps,
        cpu_utilisation: cpu,
        worker_utilisation: cpu * 1.1,
        nic_utilisation: 0.01,
        disk_utilisation: 0.0,
        mean_queue: 0.75,
        max_queue: 12,
        wait_probability: 0.31,
        mean_connections: 4.5,
        peak_connections: 19,
        max_connections: 10_000,
        peak_memory_gb: 2.1,
        ram_gb: 16.0,
        refused_by: BTreeMap::new(),
        dropped_messages: 0,
        oom_kills: None,
        queue_wait_ms: Some(latency(9_000, 1.2, 0.4, 9.5)),
        service_ms: Some(latency(9_000, 8.1, 7.0, 31.0)),
        pool_wait_ms: None,
        host: None,
        scaling: None,
        cache_hit_ratio: None,
        replication: None,
        hottest_machine: None,
    }
}

fn row(start: f64, started: u64, completed: u64, failed: u64, p99: Option<f64>) -> IntervalRow {
    let mut ended = OutcomeCounts {
        total: completed + failed,
        completed,
        failed_backend_down: failed,
        ..OutcomeCounts::default()
    };
    if started > completed + failed {
        // A few refused at the door.
        ended.rejected_by[Status::QueueFull.index()] = 1;
        ended.total += 1;
    }
    let load = |cpu: f64| IntervalLoad {
        utilisation: cpu,
        hottest_utilisation: cpu * 1.2,
        mean_queue: cpu * 2.0,
        messages: None,
        replicas: None,
    };
    IntervalRow {
        start: SimTime::from_secs(start),
        end: SimTime::from_secs(start + 1.0),
        started,
        ended,
        good: completed,
        mean_ms: p99.map(|p| p / 3.0),
        p50_ms: p99.map(|p| p / 4.0),
        p90_ms: p99.map(|p| p / 2.0),
        p99_ms: p99,
        // api, db, geo-dns, lb (name order).
        load: vec![load(0.6), load(0.3), load(0.0), load(0.002)],
    }
}

/// A run of scenario `shop`.
pub(crate) fn results() -> Results {
    let mut api = server(2, 0.62, 95.5);
    api.hottest_machine = Some(HottestMachines {
        cpu: MachineLoad {
            machine: "replica 1".into(),
            utilisation: 0.71,
        },
        nic: MachineLoad {
            machine: "replica 0".into(),
            utilisation: 0.01,
        },
        disk: MachineLoad {
            machine: "replica 0".into(),
            utilisation: 0.0,
        },
    });
    api.refused_by.insert("queue_full".into(), 3);
    let mut db = server(2, 0.31, 95.5);
    db.disk_utilisation = 0.12;
    let busiest = |utilisation: f64| MachineLoad {
        machine: "machine 1".into(),
        utilisation,
    };
    db.hottest_machine = Some(HottestMachines {
        cpu: busiest(0.42),
        nic: busiest(0.01),
        disk: busiest(0.15),
    });
    db.replication = Some(ReplicationSummary {
        mode: "async".into(),
        shards: 1,
        machines_per_shard: 2,
        writes: 2_400,
        lag_ms: Some(latency(2_400, 5.0, 4.8, 9.9)),
        replica_reads: 4_000,
        stale_reads: 40,
        stale_read_ratio: 0.01,
        staleness_ms: Some(latency(40, 2.0, 1.5, 4.0)),
        conflicts: 0,
        writes_lost: 2,
        failovers: vec![FailoverSummary {
            shard: 0,
            crashed_at_s: 4.0,
            detected_at_s: 4.5,
            promoted_at_s: Some(5.0),
            write_downtime_s: 1.0,
            promoted: Some("machine 1".into()),
            writes_lost: 2,
            unfinished: None,
        }],
        rebalancing: Vec::new(),
        machines: vec![
            MachineSummary {
                machine: "machine 0".into(),
                shard: 0,
                role: "down".into(),
                throughput_rps: 40.0,
                cpu_utilisation: 0.2,
                mean_service_ms: Some(2.5),
                service_ms: Some(latency(400, 2.5, 2.0, 9.0)),
            },
            MachineSummary {
                machine: "machine 1".into(),
                shard: 0,
                role: "primary".into(),
                throughput_rps: 55.5,
                cpu_utilisation: 0.42,
                mean_service_ms: Some(2.6),
                service_ms: Some(latency(555, 2.6, 2.1, 9.5)),
            },
        ],
    });
    let mut components = BTreeMap::new();
    components.insert("api".to_string(), ComponentSummary::Service(api));
    components.insert("db".to_string(), ComponentSummary::Database(db.clone()));
    components.insert(
        "geo-dns".to_string(),
        ComponentSummary::Dns(DnsSummary {
            cost_per_hour: 0.0,
            answers_per_s: 100.0,
            health_changes: Vec::new(),
        }),
    );
    components.insert(
        "lb".to_string(),
        ComponentSummary::LoadBalancer(BalancerSummary {
            cost_per_hour: 0.1,
            throughput_rps: 95.5,
            cpu_utilisation: 0.0125,
            nic_utilisation: 0.004,
            mean_connections: 8.25,
            peak_connections: 40,
            max_connections: 100_000,
            refused_by: BTreeMap::new(),
            health_changes: vec![HealthChangeSummary {
                at_s: 4.5,
                backend: "api[1]".into(),
                healthy: false,
            }],
            gateway: None,
        }),
    );
    let mut classes = BTreeMap::new();
    classes.insert(
        "read".to_string(),
        ClassSummary {
            requests: requests(700, 690, 2, 8),
            throughput_rps: 69.0,
            latency_ms: latency(690, 10.5, 8.0, 42.0),
            circuit_breaker: None,
        },
    );
    classes.insert(
        "write".to_string(),
        ClassSummary {
            requests: requests(300, 265, 1, 34),
            throughput_rps: 26.5,
            latency_ms: latency(265, 12.0, 9.0, 55.0),
            circuit_breaker: Some(BreakerSummary {
                opened: 1,
                refused: 0,
            }),
        },
    );
    Results {
        jobs: None,
        schema_version: crate::report::SCHEMA_VERSION,
        dsim_version: "0.0.0-fixture".into(),
        scenario: "shop".into(),
        description: "A fixture: a balancer, two app machines, a replicated database.".into(),
        seed: 7,
        load: LoadSummary::Open { rate_per_s: 100.0 },
        sim_time_s: 10.0,
        warmup_s: 0.0,
        warmup_auto: None,
        measured_s: 10.0,
        stop_reason: StopReason::Completed,
        requests: requests(1_000, 955, 3, 42),
        retries: 0,
        throughput_rps: 95.5,
        goodput_rps: 95.5,
        goodput_within_ms: 30_000.0,
        error_rate: 0.045,
        latency_ms: latency(955, 10.9, 8.3, 47.0),
        classes,
        components,
        bottleneck: Some(Bottleneck {
            component: "api".into(),
            machine: Some("replica 1".into()),
            resource: "cpu".into(),
            utilisation: 0.71,
            mean_utilisation: Some(0.62),
            host: None,
        }),
        cost_per_hour: 0.9,
        littles_law: LittlesLaw {
            mean_in_system: 1.04,
            arrival_rate_rps: 100.0,
            mean_time_in_system_s: 0.0104,
            relative_error: 0.0,
        },
        failures: Failures {
            availability: 0.955,
            writes_lost: 2,
            stale_reads: 40,
            faults: vec![FaultEffect {
                fault: "crash db machine 0".into(),
                at_s: 4.0,
                until_s: None,
                baseline_error_rate: 0.0,
                errors_started_s: Some(4.0),
                peak_error_rate: 0.42,
                recovered_at_s: Some(5.0),
                time_to_recover_s: Some(1.0),
                requests_failed: 42,
            }],
            regions: BTreeMap::new(),
        },
        engine: EngineSummary {
            events: 12_345,
            peak_requests: 9,
            peak_frames: 21,
        },
        timeseries: vec![
            row(0.0, 100, 100, 0, Some(40.0)),
            row(1.0, 101, 100, 0, Some(41.0)),
            row(2.0, 100, 100, 0, Some(39.0)),
            row(3.0, 100, 100, 0, Some(40.0)),
            row(4.0, 100, 0, 42, None),
            row(5.0, 100, 95, 0, Some(60.0)),
            row(6.0, 100, 100, 0, Some(44.0)),
            row(7.0, 99, 100, 0, Some(40.0)),
            row(8.0, 100, 100, 0, Some(40.0)),
            row(9.0, 100, 60, 0, Some(42.0)),
        ],
        component_order: vec!["api".into(), "db".into(), "geo-dns".into(), "lb".into()],
    }
}

/// A sweep of the users of `shop` over three loads: the last one overloaded (errors above
/// 1 %, flagged) with no request completing in one seed (no latency), with replications.
pub(crate) fn sweep() -> SweepSummary {
    let point = |users: u64, rps: f64, errors: f64, p99: Option<f64>| SweepPoint {
        values: vec![serde_json::json!(users)],
        throughput_rps: rps,
        goodput_rps: rps * (1.0 - errors),
        goodput_within_ms: 200.0,
        error_rate: errors,
        p50_ms: p99.map(|p| p / 4.0),
        p99_ms: p99,
        cost_per_hour: 0.9,
        cost_per_1000_rps: (rps > 0.0).then(|| 0.9 / (rps / 1000.0)),
        bottleneck: "api cpu".into(),
        bottleneck_utilisation: (rps / 1000.0).min(1.0),
        stop_reason: StopReason::Completed,
        availability: 1.0 - errors,
        writes_lost: 0,
        longest_recovery_s: None,
        unrecovered_faults: None,
        messages: None,
        ci95: Some(PointIntervals {
            replications: 3,
            throughput_rps: rps / 50.0,
            goodput_rps: rps / 40.0,
            error_rate: errors / 10.0,
            p50_ms: p99.map(|p| p / 40.0),
            p99_ms: p99.map(|p| p / 10.0),
            availability: errors / 10.0,
        }),
    };
    SweepSummary {
        schema_version: crate::study::sweep::SWEEP_SCHEMA_VERSION,
        dsim_version: "0.0.0-fixture".into(),
        scenario: "shop".into(),
        seed: 7,
        params: vec!["workload.model.closed.users".into()],
        points: vec![
            point(20, 19.8, 0.0, Some(31.0)),
            point(2_000, 640.0, 0.02, Some(180.0)),
            point(200_000, 910.0, 0.63, None),
        ],
    }
}
