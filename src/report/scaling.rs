//! A fleet's section of summary.json: its size over the run, what its machines cost, every
//! change of its replica count and every deploy, read out of the simulation. Pure.

use crate::engine::time::SimTime;
use crate::metrics::timeseries::IntervalRow;
use crate::model::elastic::fleet::Fleet;
use crate::report::round;
use serde::Serialize;

/// A fleet's size over the run, what it cost, and every change asked for.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct ScalingSummary {
    pub initial_replicas: u32,
    pub min_replicas: u32,
    pub max_replicas: u32,
    /// Replicas billed (starting, ready or draining) on average over the window, and at
    /// most at once during the run.
    pub mean_replicas: f64,
    pub peak_replicas: u64,
    /// Machine-hours and their price over the whole run (warm-up and drain included).
    pub machine_hours: f64,
    pub cost_of_run: f64,
    /// Price of one replica per hour.
    pub replica_cost_per_hour: f64,
    /// Replicas asked for at the end of the run.
    pub final_replicas: u32,
    pub actions: Vec<ScalingActionSummary>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deploys: Vec<DeploySummary>,
}

/// One deploy: when it ran, and what the users saw meanwhile.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct DeploySummary {
    pub at_s: f64,
    pub strategy: &'static str,
    /// When its last old machine stopped; `null` if it had not when the run ended (or a
    /// later deploy took over).
    pub done_at_s: Option<f64>,
    pub took_s: Option<f64>,
    /// Requests that ended in error (rejected, timed out or failed) in the time-series rows
    /// from its start to its end (or the run's end), and those that completed: rows, so
    /// exact to `interval_s`.
    pub errors: u64,
    pub completed: u64,
}

/// One change of the replica count asked for.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct ScalingActionSummary {
    pub at_s: f64,
    pub from: u32,
    pub to: u32,
    /// `schedule`, `autoscaler`, or `forecast` (the autoscaler scaling ahead of a rise the
    /// load profile expects).
    pub by: &'static str,
    /// The autoscaler's metric when it decided (absent for the schedule); for `forecast`,
    /// the measured utilisation × the expected rise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<f64>,
}

/// Fleet `f`'s scaling section, up to `now` (the run's end); `rows` is the time series.
pub(super) fn scaling_summary(f: &mut Fleet, now: SimTime, rows: &[IntervalRow]) -> ScalingSummary {
    use crate::model::elastic::fleet::Reason;
    let cost = f.cost_until(now);
    ScalingSummary {
        initial_replicas: f.spec.initial,
        min_replicas: f.spec.min,
        max_replicas: f.spec.max,
        mean_replicas: round(f.mean_billed, 4),
        peak_replicas: f.billed.max(),
        machine_hours: round(f.billed.area_at(now) as f64 / 3.6e12, 6),
        cost_of_run: round(cost, 6),
        replica_cost_per_hour: f.spec.price_per_hour,
        final_replicas: f.desired,
        actions: f
            .actions
            .iter()
            .map(|a| ScalingActionSummary {
                at_s: round(a.at.as_secs(), 6),
                from: a.from,
                to: a.to,
                by: match a.reason {
                    Reason::Schedule => "schedule",
                    Reason::Autoscaler {
                        forecast: false, ..
                    } => "autoscaler",
                    Reason::Autoscaler { forecast: true, .. } => "forecast",
                },
                metric: match a.reason {
                    Reason::Schedule => None,
                    Reason::Autoscaler { metric, .. } => Some(round(metric, 4)),
                },
            })
            .collect(),
        deploys: f
            .deploys_done
            .iter()
            .map(|d| {
                let until = d.done_at.unwrap_or(now);
                let during = rows.iter().filter(|r| r.end > d.at && r.start < until);
                let (errors, completed) = during.fold((0, 0), |(e, c), r| {
                    let o = &r.ended;
                    (e + o.rejected() + o.timed_out + o.failed(), c + o.completed)
                });
                DeploySummary {
                    at_s: round(d.at.as_secs(), 6),
                    strategy: d.strategy.name(),
                    done_at_s: d.done_at.map(|t| round(t.as_secs(), 6)),
                    took_s: d.done_at.map(|t| round((t - d.at).as_secs(), 6)),
                    errors,
                    completed,
                }
            })
            .collect(),
    }
}
