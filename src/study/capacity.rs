//! Capacity search: the largest load (closed-model users, or open-model arrivals per second)
//! at which a scenario still meets every objective, for one seed. Bracketing (doubling or
//! halving the scenario's own load) then bisection to a relative precision. Pure: a scenario
//! in, a load out; the CLI runs one search per seed in parallel and puts an interval on them.
//!
//! The search assumes the objectives fail beyond some load and hold below it (monotone), as
//! latency, error rate and availability objectives do for a system that only gets busier.

use crate::metrics::confidence::Interval;
use crate::model::Scenario;
use crate::model::client::workload::LoadModel;
use crate::model::slo::Slo;
use crate::report::check::slo_verdicts;
use serde_json::json;

/// Most closed-model users a search will try (the engine's own limit is higher).
pub(crate) const MAX_USERS: f64 = 20_000_000.0;
/// Most open-model arrivals per second a search will try.
pub(crate) const MAX_RATE: f64 = 1e8;

/// Which load a search moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Axis {
    Users,
    RatePerS,
}

impl Axis {
    pub(crate) fn of(s: &Scenario) -> Axis {
        match s.workload.model {
            LoadModel::Closed { .. } => Axis::Users,
            LoadModel::Open { .. } => Axis::RatePerS,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Axis::Users => "users",
            Axis::RatePerS => "rate_per_s",
        }
    }

    /// The scenario's own load on this axis.
    pub(crate) fn load(self, s: &Scenario) -> f64 {
        match s.workload.model {
            LoadModel::Closed { users, .. } => users as f64,
            LoadModel::Open { rate_per_s } => rate_per_s,
        }
    }

    /// `s` with its load set to `load` (users rounded to a whole number, at least 1).
    pub(crate) fn with_load(self, s: &Scenario, load: f64) -> Scenario {
        let mut s = s.clone();
        match &mut s.workload.model {
            LoadModel::Closed { users, .. } => *users = load.round().max(1.0) as u64,
            LoadModel::Open { rate_per_s } => *rate_per_s = load.max(1e-6),
        }
        s
    }

    fn max(self) -> f64 {
        match self {
            Axis::Users => MAX_USERS,
            Axis::RatePerS => MAX_RATE,
        }
    }
}

/// One evaluated load.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Probe {
    pub load: f64,
    pub holds: bool,
}

/// The outcome of one search.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Found {
    /// The largest load seen to meet every objective (0 if even the smallest tried did not).
    pub load: f64,
    /// Every load evaluated, in order.
    pub probes: Vec<Probe>,
    /// The objectives still held at the largest load tried: the capacity is at least `load`.
    pub unbounded: bool,
}

impl Found {
    /// Whether some load met every objective.
    pub(crate) fn any_held(&self) -> bool {
        self.probes.iter().any(|p| p.holds)
    }

    /// The smallest load tried.
    pub(crate) fn smallest_tried(&self) -> Option<f64> {
        self.probes.iter().map(|p| p.load).min_by(f64::total_cmp)
    }

    /// The smallest load seen to fail (the search resolution is `fails_at − load`).
    pub(crate) fn fails_at(&self) -> Option<f64> {
        self.probes
            .iter()
            .filter(|p| !p.holds && p.load > self.load)
            .map(|p| p.load)
            .min_by(f64::total_cmp)
    }
}

/// Searches the largest load of `scenario` (with its own seed) meeting every one of `slos`,
/// to within `precision` (0.02 = 2 %) of the load. A run that passes `memory_limit` bytes
/// counts as not meeting them. `on_probe` is told of each load evaluated (for progress).
pub(crate) fn search(
    scenario: &Scenario,
    slos: &[Slo],
    precision: f64,
    memory_limit: Option<u64>,
    on_probe: &(dyn Fn(Probe) + Sync),
) -> Found {
    let axis = Axis::of(scenario);
    let mut probes = Vec::new();
    // Users are whole: every load tried (and reported) is a whole number of them.
    let whole = |load: f64| {
        if axis == Axis::Users {
            load.round()
        } else {
            load
        }
    };
    let mut holds = |load: f64| {
        let load = whole(load);
        let s = axis.with_load(scenario, load);
        // A load whose idle users alone would not fit is not tried: it cannot be evaluated.
        let fits = memory_limit.is_none_or(|limit| s.memory_estimate().base_bytes <= limit);
        let ok = fits && {
            let r = crate::run_with_limit(s, memory_limit, &mut |_| {});
            r.stop_reason == crate::StopReason::Completed
                && slo_verdicts(&r, slos).iter().all(|v| v.passed)
        };
        let probe = Probe { load, holds: ok };
        on_probe(probe);
        probes.push(probe);
        ok
    };
    let start = axis.load(scenario).max(1.0);
    let (mut lo, mut hi);
    if holds(start) {
        lo = start;
        hi = (start * 2.0).min(axis.max());
        // Never beyond the axis' limit: a held load there is reported as "at least".
        while hi > lo && holds(hi) {
            lo = hi;
            hi = (hi * 2.0).min(axis.max());
        }
        if hi <= lo {
            return Found {
                load: whole(lo),
                probes,
                unbounded: true,
            };
        }
    } else {
        hi = start;
        lo = start / 2.0;
        while !holds(lo) {
            hi = lo;
            lo /= 2.0;
            if lo < 1.0 {
                return Found {
                    load: 0.0,
                    probes,
                    unbounded: false,
                };
            }
        }
    }
    // Users are whole: stop at neighbours.
    let done =
        |lo: f64, hi: f64| hi - lo <= precision * lo || (axis == Axis::Users && hi - lo <= 1.0);
    while !done(lo, hi) {
        let mut mid = (lo + hi) / 2.0;
        if axis == Axis::Users {
            mid = mid.round();
        }
        if holds(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Found {
        load: whole(lo),
        probes,
        unbounded: false,
    }
}

/// Version of the `capacity.json` layout.
pub(crate) const CAPACITY_SCHEMA_VERSION: u32 = 1;

/// An objective as data: the figure, its class (`null` for the whole run) and its bound.
pub(crate) fn objective_json(s: &Slo) -> serde_json::Value {
    let bound = if s.metric.is_floor() {
        "at_least"
    } else {
        "at_most"
    };
    json!({"figure": s.metric.name(), "class": s.class, bound: s.limit})
}

/// The capacity found over the seeds: the interval of their loads, and how finely the
/// search resolved each (the largest gap between a load that held and the next that
/// failed), so the reported uncertainty is never finer than the search.
pub(crate) struct Estimate {
    pub interval: Interval,
    /// Half of the coarsest search step: the least uncertainty the answer can claim.
    pub resolution: f64,
}

impl Estimate {
    pub(crate) fn of(found: &[Found]) -> Estimate {
        let loads: Vec<f64> = found.iter().map(|f| f.load).collect();
        let step = found
            .iter()
            .filter_map(|f| f.fails_at().map(|x| x - f.load))
            .fold(0.0, f64::max);
        Estimate {
            interval: Interval::of(&loads),
            resolution: step / 2.0,
        }
    }

    /// The ± reported: the 95 % half-width, or half the search step if that is coarser.
    pub(crate) fn half_width(&self) -> f64 {
        self.interval.half_width_95.max(self.resolution)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::slo::SloMetric;

    /// One server, 1 ms of CPU per request, open arrivals: the error rate is 0 until the
    /// queue of 50 overflows, which a search with `error_rate ≤ 1 %` puts near (but below)
    /// 1,000 requests/s.
    #[test]
    fn bracketing_then_bisection_finds_the_edge() {
        let text = r#"{"name": "cap", "duration_s": 20, "warmup_s": 2,
            "workload": {"model": {"open": {"rate_per_s": 100}}, "entry": "api"},
            "network": {"client_link": {"latency_ms": {"constant": {"ms": 0}}}},
            "components": {"api": {"kind": "service", "machine": {"cores": 1},
                "workers": 1, "queue_capacity": 50,
                "handlers": {"default": [{"cpu_ms": {"constant": {"ms": 1}}}]}}}}"#;
        let s = crate::scenario::load(text).expect("valid");
        let slo = Slo {
            class: None,
            metric: SloMetric::ErrorRate,
            limit: 0.01,
        };
        let found = search(&s, &[slo], 0.02, None, &|_| {});
        assert!((900.0..1_020.0).contains(&found.load), "{found:?}");
        assert!(!found.unbounded);
        // Doubling from 100: 200, 400, 800 hold, 1,600 does not; then bisection.
        let first: Vec<bool> = found.probes.iter().take(5).map(|p| p.holds).collect();
        assert_eq!(first, [true, true, true, true, false]);
    }
}
