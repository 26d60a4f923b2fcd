//! Service-level objectives declared in a scenario (k6-style thresholds): what `dsim check`
//! holds a run to. Evaluating them against results is in `report/check.rs`.

/// A figure an objective bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SloMetric {
    MeanMs,
    P50Ms,
    P90Ms,
    P99Ms,
    P999Ms,
    ErrorRate,
    /// At least.
    Availability,
    /// At least.
    ThroughputRps,
    /// The longest time to recover of any fault (whole run only).
    TimeToRecoverS,
    /// Acknowledged writes lost by all databases (whole run only).
    WritesLost,
    /// The longest any message waited in any queue for a receive (whole run only).
    MaxQueueAgeS,
    /// The most messages any queue held at once, a log's lag (whole run only).
    MaxQueueDepth,
    /// What the system costs per hour over the window, fleets at their mean size (whole
    /// run only).
    CostPerHour,
}

impl SloMetric {
    /// The name in scenario files and reports.
    pub fn name(self) -> &'static str {
        match self {
            SloMetric::MeanMs => "mean_ms",
            SloMetric::P50Ms => "p50_ms",
            SloMetric::P90Ms => "p90_ms",
            SloMetric::P99Ms => "p99_ms",
            SloMetric::P999Ms => "p999_ms",
            SloMetric::ErrorRate => "error_rate",
            SloMetric::Availability => "availability",
            SloMetric::ThroughputRps => "throughput_rps_min",
            SloMetric::TimeToRecoverS => "time_to_recover_s",
            SloMetric::WritesLost => "writes_lost",
            SloMetric::MaxQueueAgeS => "max_queue_age_s",
            SloMetric::MaxQueueDepth => "max_queue_depth",
            SloMetric::CostPerHour => "cost_per_hour",
        }
    }

    /// Whether the objective is a floor (the figure must be at least the limit).
    pub fn is_floor(self) -> bool {
        matches!(self, SloMetric::Availability | SloMetric::ThroughputRps)
    }

    /// Whether the objective is about the whole run only (not per class).
    pub fn whole_run_only(self) -> bool {
        matches!(
            self,
            SloMetric::TimeToRecoverS
                | SloMetric::WritesLost
                | SloMetric::MaxQueueAgeS
                | SloMetric::MaxQueueDepth
                | SloMetric::CostPerHour
        )
    }

    /// Whether the objective is about queues (and needs one).
    pub fn about_queues(self) -> bool {
        matches!(self, SloMetric::MaxQueueAgeS | SloMetric::MaxQueueDepth)
    }
}

/// One objective: `metric` of the whole run, or of one request class, within `limit`.
#[derive(Debug, Clone, PartialEq)]
pub struct Slo {
    /// Class name, or None for the whole run.
    pub class: Option<String>,
    pub metric: SloMetric,
    pub limit: f64,
}
