//! Sweeps: one run per point of a parameter grid (every combination of the swept values,
//! the first parameter varying slowest), each point's runs combined into its headline
//! figures: `sweep.json`. Comparisons are sweeps whose parameter is the scenario. The table
//! and `sweep.csv` are rendered in `report::sweep`.

use crate::metrics::confidence::Interval;
use crate::report::{Results, round};
use serde::Serialize;

/// Version of the `sweep.json` layout: 2 since latency may be `null` (no request completed)
/// and points carry goodput and the cost per 1,000 requests/s.
pub(crate) const SWEEP_SCHEMA_VERSION: u32 = 2;

/// Above this error rate a point's latency describes only the requests that got through:
/// tables and charts mark it.
pub(crate) const FLAG_ERROR_RATE: f64 = 0.01;

/// One point of the grid and its headline figures.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub(crate) struct SweepPoint {
    /// The value of each swept parameter, in the order of `SweepSummary::params`.
    pub values: Vec<serde_json::Value>,
    pub throughput_rps: f64,
    /// Completions within the scenario's p99 objective (else its timeout), per second.
    pub goodput_rps: f64,
    /// That latency (for `dsim compare`, the first design's for every design).
    pub goodput_within_ms: f64,
    pub error_rate: f64,
    /// Latency of the requests that completed; `null` when none did (in some seed, when
    /// replicated).
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub cost_per_hour: f64,
    /// `cost_per_hour` over thousands of completions per second; `null` when nothing
    /// completed.
    pub cost_per_1000_rps: Option<f64>,
    /// "component resource" of the busiest resource, or "none".
    pub bottleneck: String,
    pub bottleneck_utilisation: f64,
    pub stop_reason: crate::StopReason,
    /// Share of requests that completed (summary.json's `failures.availability`).
    pub availability: f64,
    /// Acknowledged writes lost in failovers.
    pub writes_lost: u64,
    /// Scenarios with faults: the longest `time_to_recover_s` of the faults that caused
    /// errors and recovered (0 when none caused errors), and how many never recovered. With
    /// replications, the worst seed's of each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longest_recovery_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unrecovered_faults: Option<u32>,
    /// Scenarios with queues: what their consumers kept up with (a backlog the users'
    /// figures do not show).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<PointMessages>,
    /// With `--replications N` (N ≥ 2): the figures above are means over N seeds, and these
    /// are their 95 % confidence half-widths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci95: Option<PointIntervals>,
}

/// A point's queues, all together. With replications: the mean over the seeds of the
/// rate and the backlog, and the worst seed's age.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub(crate) struct PointMessages {
    /// Messages processed (the first time) per second over the window, all queues.
    pub processed_per_s: f64,
    /// The longest any message waited for a receive in any queue (`max_age_s`); absent
    /// when no message was held.
    pub max_queue_age_s: Option<f64>,
    /// Messages accepted over the run and not processed by its end, all queues.
    pub still_queued: u64,
}

impl PointMessages {
    /// A run's queues, if it has any.
    fn of(r: &Results) -> Option<PointMessages> {
        let mut queues = r
            .components
            .values()
            .filter_map(|c| c.queue().map(|q| &q.messages));
        let first = queues.next()?;
        let mut m = PointMessages {
            processed_per_s: first.processed_per_s,
            max_queue_age_s: first.max_age_s,
            still_queued: first.run.still_queued,
        };
        for q in queues {
            m.processed_per_s += q.processed_per_s;
            m.max_queue_age_s = match (m.max_queue_age_s, q.max_age_s) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            m.still_queued += q.run.still_queued;
        }
        m.processed_per_s = round(m.processed_per_s, 3);
        Some(m)
    }

    /// Over seeds: the mean rate and backlog, the worst age.
    fn of_runs(runs: &[Results]) -> Option<PointMessages> {
        let each: Vec<PointMessages> = runs.iter().filter_map(PointMessages::of).collect();
        if each.is_empty() {
            return None;
        }
        let n = each.len() as f64;
        Some(PointMessages {
            processed_per_s: round(each.iter().map(|m| m.processed_per_s).sum::<f64>() / n, 3),
            max_queue_age_s: each
                .iter()
                .filter_map(|m| m.max_queue_age_s)
                .reduce(f64::max),
            still_queued: (each.iter().map(|m| m.still_queued).sum::<u64>() as f64 / n).round()
                as u64,
        })
    }
}

/// 95 % half-widths of a point's figures over its replications (Student t).
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub(crate) struct PointIntervals {
    pub replications: usize,
    pub throughput_rps: f64,
    pub goodput_rps: f64,
    pub error_rate: f64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub availability: f64,
}

impl SweepPoint {
    /// Whether so many requests failed that the latency describes only the few that got
    /// through (more than `FLAG_ERROR_RATE`).
    pub(crate) fn flagged(&self) -> bool {
        self.error_rate > FLAG_ERROR_RATE
    }
}

/// A run's (longest recovery, faults never recovered), when it had faults.
fn recovery(r: &Results) -> Option<(f64, u32)> {
    let faults = &r.failures.faults;
    if faults.is_empty() {
        return None;
    }
    let hit = faults.iter().filter(|f| f.errors_started_s.is_some());
    let longest = hit
        .clone()
        .filter_map(|f| f.time_to_recover_s)
        .fold(0.0, f64::max);
    let never = hit.filter(|f| f.recovered_at_s.is_none()).count() as u32;
    Some((longest, never))
}

fn per_1000_rps(cost_per_hour: f64, throughput_rps: f64) -> Option<f64> {
    (throughput_rps > 0.0).then(|| round(cost_per_hour / (throughput_rps / 1000.0), 4))
}

impl SweepPoint {
    /// A grid point from its runs (one per seed, in seed order, at least one): with one run
    /// its figures; with more, their means, the most frequent bottleneck (the first seed's on
    /// a tie) and the first stop reason that is not `completed`. A latency is absent if any
    /// seed had none (a mean over the seeds that had one would hide the others).
    pub(crate) fn of(values: Vec<serde_json::Value>, runs: &[Results]) -> SweepPoint {
        let bottleneck = |r: &Results| {
            r.bottleneck.as_ref().map_or("none".into(), |b| {
                let on = b
                    .host
                    .as_ref()
                    .map_or(b.component.clone(), |h| format!("host {h}"));
                format!("{on} {}", b.resource)
            })
        };
        let first = &runs[0];
        if runs.len() == 1 {
            return SweepPoint {
                values,
                throughput_rps: first.throughput_rps,
                goodput_rps: first.goodput_rps,
                goodput_within_ms: first.goodput_within_ms,
                error_rate: first.error_rate,
                p50_ms: first.latency_ms.p50,
                p99_ms: first.latency_ms.p99,
                cost_per_hour: first.cost_per_hour,
                cost_per_1000_rps: per_1000_rps(first.cost_per_hour, first.throughput_rps),
                bottleneck: bottleneck(first),
                bottleneck_utilisation: first.bottleneck.as_ref().map_or(0.0, |b| b.utilisation),
                stop_reason: first.stop_reason,
                availability: first.failures.availability,
                writes_lost: first.failures.writes_lost,
                longest_recovery_s: recovery(first).map(|r| r.0),
                unrecovered_faults: recovery(first).map(|r| r.1),
                messages: PointMessages::of(first),
                ci95: None,
            };
        }
        let interval = |f: fn(&Results) -> f64| {
            let xs: Vec<f64> = runs.iter().map(f).collect();
            Interval::of(&xs)
        };
        let latency = |f: fn(&Results) -> Option<f64>| {
            let xs: Option<Vec<f64>> = runs.iter().map(f).collect();
            xs.map(|xs| Interval::of(&xs))
        };
        let names: Vec<String> = runs.iter().map(bottleneck).collect();
        let mut busiest = (0, names[0].clone());
        for name in &names {
            let count = names.iter().filter(|m| *m == name).count();
            if count > busiest.0 {
                busiest = (count, name.clone());
            }
        }
        let busiest = busiest.1;
        let share_of_busiest = interval(|r| r.bottleneck.as_ref().map_or(0.0, |b| b.utilisation));
        let (throughput, goodput, errors, availability) = (
            interval(|r| r.throughput_rps),
            interval(|r| r.goodput_rps),
            interval(|r| r.error_rate),
            interval(|r| r.failures.availability),
        );
        let (p50, p99) = (latency(|r| r.latency_ms.p50), latency(|r| r.latency_ms.p99));
        let mean = |i: &Option<Interval>| i.map(|i| round(i.mean, 3));
        let half = |i: &Option<Interval>| i.map(|i| round(i.half_width_95, 3));
        SweepPoint {
            values,
            throughput_rps: round(throughput.mean, 3),
            goodput_rps: round(goodput.mean, 3),
            goodput_within_ms: first.goodput_within_ms,
            error_rate: round(errors.mean, 6),
            p50_ms: mean(&p50),
            p99_ms: mean(&p99),
            cost_per_hour: first.cost_per_hour,
            cost_per_1000_rps: per_1000_rps(first.cost_per_hour, throughput.mean),
            bottleneck: busiest,
            bottleneck_utilisation: round(share_of_busiest.mean, 4),
            stop_reason: runs
                .iter()
                .map(|r| r.stop_reason)
                .find(|&s| s != crate::StopReason::Completed)
                .unwrap_or(first.stop_reason),
            availability: round(availability.mean, 6),
            // The mean, rounded to a whole write.
            writes_lost: (runs.iter().map(|r| r.failures.writes_lost).sum::<u64>() as f64
                / runs.len() as f64)
                .round() as u64,
            longest_recovery_s: runs
                .iter()
                .filter_map(recovery)
                .map(|r| r.0)
                .reduce(f64::max),
            unrecovered_faults: runs.iter().filter_map(recovery).map(|r| r.1).max(),
            messages: PointMessages::of_runs(runs),
            ci95: Some(PointIntervals {
                replications: runs.len(),
                throughput_rps: round(throughput.half_width_95, 3),
                goodput_rps: round(goodput.half_width_95, 3),
                error_rate: round(errors.half_width_95, 6),
                p50_ms: half(&p50),
                p99_ms: half(&p99),
                availability: round(availability.half_width_95, 6),
            }),
        }
    }
}

/// `sweep.json`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct SweepSummary {
    pub schema_version: u32,
    pub dsim_version: String,
    pub scenario: String,
    pub seed: u64,
    /// The swept paths, slowest-varying first.
    pub params: Vec<String>,
    pub points: Vec<SweepPoint>,
}

impl SweepSummary {
    /// `params` are the swept paths; `points` pair each grid point's values with its runs
    /// (one per seed).
    pub(crate) fn of(
        scenario: &str,
        seed: u64,
        params: &[String],
        points: Vec<(Vec<serde_json::Value>, Vec<Results>)>,
    ) -> SweepSummary {
        let points = points
            .into_iter()
            .map(|(values, runs)| SweepPoint::of(values, &runs))
            .collect();
        SweepSummary {
            schema_version: SWEEP_SCHEMA_VERSION,
            dsim_version: env!("CARGO_PKG_VERSION").to_string(),
            scenario: scenario.to_string(),
            seed,
            params: params.to_vec(),
            points,
        }
    }

    pub(crate) fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// Every combination of the swept values, the first parameter varying slowest.
pub(crate) fn grid(params: &[(String, Vec<String>)]) -> Vec<Vec<String>> {
    params.iter().fold(vec![Vec::new()], |acc, (_, values)| {
        acc.iter()
            .flat_map(|prefix| {
                values.iter().map(move |v| {
                    let mut p = prefix.clone();
                    p.push(v.clone());
                    p
                })
            })
            .collect()
    })
}
