//! How the system failed: availability, each fault's effect read off the time series (when
//! errors started, their peak, when they stopped), and what replicated databases did
//! (writes lost, stale reads, conflicts, failovers, load per machine).
//!
//! Times read off the time series are interval boundaries, so they are exact to within the
//! scenario's `interval_s`.

use crate::engine::time::SimTime;
use crate::metrics::timeseries::IntervalRow;
use crate::model::Fault;
use crate::model::component::Component;
use crate::model::data::replication::Mode;
use crate::model::sim::Simulation;
use crate::report::{LatencySummary, round};
use serde::Serialize;
use std::collections::BTreeMap;

/// A fault's error rate is "back to normal" once it is at most this much above the error
/// rate before the fault.
pub(crate) const RECOVERY_MARGIN: f64 = 0.01;

/// The failure section of `summary.json`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct Failures {
    /// Share of measured requests that completed.
    pub availability: f64,
    /// Acknowledged writes lost by all databases.
    pub writes_lost: u64,
    /// Reads that returned stale data, all databases.
    pub stale_reads: u64,
    pub faults: Vec<FaultEffect>,
    /// Per region users live in (scenarios with regions).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub regions: BTreeMap<String, RegionAvailability>,
}

/// How the users of one region fared.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct RegionAvailability {
    pub requests: u64,
    pub completed: u64,
    pub availability: f64,
}

/// What one fault did to the users, read off the time series.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct FaultEffect {
    pub fault: String,
    pub at_s: f64,
    pub until_s: Option<f64>,
    /// Error rate before the fault (the baseline recovery is judged against).
    pub baseline_error_rate: f64,
    /// Start of the first interval from the fault on whose error rate exceeded the baseline
    /// by more than `RECOVERY_MARGIN`; None if errors never rose.
    pub errors_started_s: Option<f64>,
    pub peak_error_rate: f64,
    /// Start of the first interval after that with the error rate back to normal; None if it
    /// never came back before the run ended.
    pub recovered_at_s: Option<f64>,
    /// `recovered_at_s − at_s`.
    pub time_to_recover_s: Option<f64>,
    /// Requests that ended in error from `errors_started_s` to `recovered_at_s`.
    pub requests_failed: u64,
}

/// A replicated or sharded database's section.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct ReplicationSummary {
    pub mode: String,
    pub shards: u32,
    pub machines_per_shard: u32,
    pub writes: u64,
    /// Commit to applied on another machine, as it came out (machines apply in commit order,
    /// so a widely spread `lag_ms` comes out longer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lag_ms: Option<LatencySummary>,
    pub replica_reads: u64,
    pub stale_reads: u64,
    /// Stale reads / reads served by replicas.
    pub stale_read_ratio: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staleness_ms: Option<LatencySummary>,
    pub conflicts: u64,
    pub writes_lost: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failovers: Vec<FailoverSummary>,
    /// Shards added during the run (`partitions.add`): when data started and stopped moving.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rebalancing: Vec<RebalanceSummary>,
    pub machines: Vec<MachineSummary>,
}

/// Shards added during the run, and the time their data took to move.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct RebalanceSummary {
    pub at_s: f64,
    pub until_s: f64,
    pub shards_added: u32,
}

/// One failover.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct FailoverSummary {
    pub shard: u32,
    pub crashed_at_s: f64,
    pub detected_at_s: f64,
    /// `null` if the shard still had no primary when the run ended.
    pub promoted_at_s: Option<f64>,
    /// From the crash to the promotion (or the end of the run): writes could not succeed.
    pub write_downtime_s: f64,
    pub promoted: Option<String>,
    /// Acknowledged writes the new primary never had (0 while none is promoted).
    pub writes_lost: u64,
    /// For a failover still under way at the end: where it stood.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unfinished: Option<String>,
}

/// One machine of a replicated or sharded database.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct MachineSummary {
    pub machine: String,
    pub shard: u32,
    /// At the end of the run.
    pub role: String,
    pub throughput_rps: f64,
    pub cpu_utilisation: f64,
    /// `None` (null) for a machine that served nothing in the window.
    pub mean_service_ms: Option<f64>,
    /// Only for databases of at most 64 machines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_ms: Option<LatencySummary>,
}

fn error_rate(row: &IntervalRow) -> Option<f64> {
    let e = &row.ended;
    (e.total > 0).then(|| e.errors() as f64 / e.total as f64)
}

/// Reads a fault's effect off the time series `rows` (the measured ones): the baseline is
/// the error rate before `first_fault`, the earliest fault of the run.
pub(crate) fn fault_effect(
    fault: &Fault,
    rows: &[IntervalRow],
    first_fault: SimTime,
) -> FaultEffect {
    let (before_total, before_errors) = rows
        .iter()
        .filter(|r| r.end <= first_fault)
        .fold((0, 0), |(t, e), r| {
            (t + r.ended.total, e + r.ended.errors())
        });
    let baseline = if before_total > 0 {
        before_errors as f64 / before_total as f64
    } else {
        0.0
    };
    let threshold = baseline + RECOVERY_MARGIN;
    let after = rows.iter().filter(|r| r.end > fault.at && r.end > r.start);
    let mut started = None;
    let mut recovered = None;
    let mut peak: f64 = 0.0;
    let mut failed = 0;
    for row in after {
        // An interval in which nothing ended says nothing either way.
        let Some(rate) = error_rate(row) else {
            continue;
        };
        if started.is_none() {
            if rate > threshold {
                started = Some(row.start.max(fault.at));
            } else {
                continue;
            }
        }
        if rate <= threshold {
            recovered = Some(row.start);
            break;
        }
        peak = peak.max(rate);
        failed += row.ended.errors();
    }
    let secs = |t: SimTime| round(t.as_secs(), 6);
    FaultEffect {
        fault: fault.label.clone(),
        at_s: secs(fault.at),
        until_s: fault.until.map(secs),
        baseline_error_rate: round(baseline, 6),
        errors_started_s: started.map(secs),
        peak_error_rate: round(peak, 6),
        recovered_at_s: recovered.map(secs),
        time_to_recover_s: recovered.map(|t| secs(t.since(fault.at))),
        requests_failed: failed,
    }
}

/// The replication section of server component `i`, if it is replicated or sharded.
pub(crate) fn replication_summary(
    sim: &Simulation,
    i: usize,
    per_s: impl Fn(u64) -> f64,
) -> Option<ReplicationSummary> {
    let Component::Database(d) = &sim.components[i] else {
        return None;
    };
    let rep = d.replication.as_ref()?;
    let (rs, st) = (&rep.spec, &rep.state);
    let stats = &st.stats;
    let secs = |t: SimTime| round(t.as_secs(), 6);
    let machines = rep
        .members
        .iter()
        .enumerate()
        .map(|(r, m)| {
            let r = r as u32;
            let shard = rs.shard_of_machine(r);
            let alive = d.server.machines[r as usize].alive;
            let role = if !alive {
                "down"
            } else if rs.mode == Mode::MultiPrimary || st.primary[shard as usize] == r % rs.members
            {
                "primary"
            } else {
                "replica"
            };
            MachineSummary {
                machine: rs.member_name(r),
                shard,
                role: role.into(),
                throughput_rps: per_s(m.served),
                cpu_utilisation: round(m.cpu_utilisation, 4),
                mean_service_ms: (m.service_count > 0)
                    .then(|| round(m.service_sum_ns as f64 / m.service_count as f64 / 1e6, 3)),
                service_ms: m
                    .service
                    .as_ref()
                    .filter(|h| !h.is_empty())
                    .map(LatencySummary::of),
            }
        })
        .collect();
    Some(ReplicationSummary {
        mode: match rs.mode {
            Mode::Async => "async",
            Mode::Sync { .. } => "sync",
            Mode::MultiPrimary => "multi_primary",
        }
        .into(),
        shards: rs.shards,
        machines_per_shard: rs.members,
        writes: stats.writes,
        lag_ms: (!stats.lag.is_empty()).then(|| LatencySummary::of(&stats.lag)),
        replica_reads: stats.replica_reads,
        stale_reads: stats.stale_reads,
        stale_read_ratio: if stats.replica_reads > 0 {
            round(stats.stale_reads as f64 / stats.replica_reads as f64, 6)
        } else {
            0.0
        },
        staleness_ms: (!stats.staleness.is_empty()).then(|| LatencySummary::of(&stats.staleness)),
        conflicts: stats.conflicts,
        writes_lost: stats.writes_lost,
        failovers: stats
            .failovers
            .iter()
            .copied()
            .chain(st.unfinished_failovers(rs, &d.server.machines))
            .map(|f| FailoverSummary {
                shard: f.shard,
                crashed_at_s: secs(f.crashed_at),
                detected_at_s: secs(f.detected_at),
                promoted_at_s: f.promoted_at.map(secs),
                write_downtime_s: secs(f.promoted_at.unwrap_or(sim.ctx.now).since(f.crashed_at)),
                promoted: f.promoted.map(|m| rs.member_name(m)),
                writes_lost: f.writes_lost,
                unfinished: f.unfinished.map(String::from),
            })
            .collect(),
        rebalancing: rs
            .reshards
            .iter()
            .map(|r| RebalanceSummary {
                at_s: secs(r.at),
                until_s: secs(r.at + r.move_for),
                shards_added: r.added,
            })
            .collect(),
        machines,
    })
}

/// The failure section, from the run's outcomes, faults and databases.
pub(crate) fn failures(
    sim: &Simulation,
    rows: &[IntervalRow],
    replication: &BTreeMap<String, ReplicationSummary>,
) -> Failures {
    let o = &sim.ctx.metrics.outcomes;
    Failures {
        availability: if o.total > 0 {
            round(o.completed as f64 / o.total as f64, 6)
        } else {
            1.0
        },
        writes_lost: replication.values().map(|r| r.writes_lost).sum(),
        stale_reads: replication.values().map(|r| r.stale_reads).sum(),
        faults: {
            // Rows of the measurement window (and the drain after it), as the rest of the
            // summary counts.
            let start = rows.partition_point(|r| r.end <= sim.ctx.window.start);
            let measured = &rows[start..];
            let first = sim.ctx.scenario.faults.iter().map(|f| f.at).min();
            sim.ctx
                .scenario
                .faults
                .iter()
                .map(|f| fault_effect(f, measured, first.unwrap_or(f.at)))
                .collect()
        },
        regions: match &sim.ctx.scenario.network.regions {
            Some(r) => r
                .names
                .iter()
                .zip(&sim.ctx.metrics.region_outcomes)
                .map(|(name, o)| {
                    let a = RegionAvailability {
                        requests: o.total,
                        completed: o.completed,
                        availability: if o.total > 0 {
                            round(o.completed as f64 / o.total as f64, 6)
                        } else {
                            1.0
                        },
                    };
                    (name.clone(), a)
                })
                .collect(),
            None => BTreeMap::new(),
        },
    }
}
