//! The reactive autoscaler's rule, as Kubernetes' Horizontal Pod Autoscaler applies it: at
//! each evaluation, desired = ⌈ready replicas × metric ÷ target⌉, ignored while the ratio is
//! within a tolerance of 1; a scale-up happens at once but adds at most max(4, ready) replicas
//! per evaluation (HPA's default policy: double, or four pods); a scale-in takes the highest
//! recommendation of the stabilisation window, so a short lull does not shrink the fleet.
//! Pure: the fleet (`fleet.rs`) measures the metric and applies the answer.

use crate::engine::time::SimTime;
use std::collections::VecDeque;

/// What the autoscaler tracks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Mean CPU utilisation of the ready replicas over the last interval (HPA's
    /// `Utilization` target on CPU).
    Cpu,
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Metric::Cpu => "cpu",
        }
    }
}

/// A validated autoscaler.
#[derive(Debug, Clone)]
pub struct AutoscaleSpec {
    pub metric: Metric,
    /// The metric's target per replica (a utilisation in (0, 1]).
    pub target: f64,
    pub interval: SimTime,
    /// Scale-in uses the highest recommendation of this long a window (HPA: 300 s).
    pub scale_in_window: SimTime,
    /// No change while |metric ÷ target − 1| is at most this (HPA: 0.1).
    pub tolerance: f64,
    /// Predictive: scale for the load the profile expects this far ahead (the metric is
    /// multiplied by load(t + lead) ÷ load(t) when that is above 1).
    pub predictive_lead: Option<SimTime>,
}

/// The autoscaler's memory: its recent recommendations.
#[derive(Debug, Clone, Default)]
pub struct Autoscaler {
    recent: VecDeque<(SimTime, u32)>,
}

impl Autoscaler {
    /// The replica count to have, given `ready` replicas measuring `metric` at `now`, the
    /// count currently asked for (`current`, starting ones included) and the bounds.
    pub fn recommend(
        &mut self,
        spec: &AutoscaleSpec,
        now: SimTime,
        ready: u32,
        metric: f64,
        current: u32,
        (min, max): (u32, u32),
    ) -> u32 {
        let ratio = metric / spec.target;
        let raw = if ready == 0 || (ratio - 1.0).abs() <= spec.tolerance {
            current
        } else {
            (f64::from(ready) * ratio).ceil().min(f64::from(u32::MAX)) as u32
        };
        let wanted = raw.clamp(min, max);
        self.recent.push_back((now, wanted));
        while self
            .recent
            .front()
            .is_some_and(|&(t, _)| t + spec.scale_in_window < now)
        {
            self.recent.pop_front();
        }
        if wanted > current {
            let step = ready.max(4);
            return wanted.min(current.saturating_add(step));
        }
        // Scale in only as far as the highest recommendation of the window allows.
        let highest = self.recent.iter().map(|&(_, n)| n).max().unwrap_or(wanted);
        highest.min(current).max(wanted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> AutoscaleSpec {
        AutoscaleSpec {
            metric: Metric::Cpu,
            target: 0.5,
            interval: SimTime::from_secs(15.0),
            scale_in_window: SimTime::from_secs(60.0),
            tolerance: 0.1,
            predictive_lead: None,
        }
    }

    #[test]
    fn it_scales_to_bring_the_metric_to_its_target() {
        let mut a = Autoscaler::default();
        let t = SimTime::from_secs;
        // 4 ready at 90 % against 50 %: ⌈4 × 1.8⌉ = 8.
        assert_eq!(a.recommend(&spec(), t(0.0), 4, 0.9, 4, (1, 20)), 8);
        // Within the tolerance: no change.
        assert_eq!(a.recommend(&spec(), t(15.0), 8, 0.53, 8, (1, 20)), 8);
        // Bounded by max, and a step of at most max(4, ready).
        assert_eq!(a.recommend(&spec(), t(30.0), 2, 5.0, 2, (1, 20)), 6);
        assert_eq!(a.recommend(&spec(), t(45.0), 10, 5.0, 10, (1, 12)), 12);
    }

    #[test]
    fn scale_in_waits_for_the_stabilisation_window() {
        let mut a = Autoscaler::default();
        let t = SimTime::from_secs;
        assert_eq!(a.recommend(&spec(), t(0.0), 8, 0.5, 8, (1, 20)), 8);
        // Load drops to a quarter: 2 would do, but 8 was recommended within the window.
        assert_eq!(a.recommend(&spec(), t(15.0), 8, 0.125, 8, (1, 20)), 8);
        assert_eq!(a.recommend(&spec(), t(45.0), 8, 0.125, 8, (1, 20)), 8);
        // 75 s on, the 8 of t = 0 has left the 60 s window; the rest recommend 2.
        assert_eq!(a.recommend(&spec(), t(75.0), 8, 0.125, 8, (1, 20)), 2);
        // Never below min.
        assert_eq!(a.recommend(&spec(), t(200.0), 2, 0.01, 2, (2, 20)), 2);
    }
}
