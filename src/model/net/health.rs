//! Health checks, one observer for every kind that checks what it sends to (load balancers
//! their backends, DNS its targets): the settings, each target's run of results, the belief
//! that follows from them, and the changes for the report.
//!
//! A target is believed down only after `unhealthy_threshold` failed checks in a row, and up
//! again after `healthy_threshold` passed ones: until then calls still go to a dead target,
//! which is exactly what the results should show.

use crate::engine::time::SimTime;

/// Validated health-check settings.
#[derive(Debug, Clone)]
pub struct HealthCheck {
    pub interval: SimTime,
    pub unhealthy_threshold: u32,
    pub healthy_threshold: u32,
}

/// Consecutive check results of one target, and what the checker believes about it.
#[derive(Debug, Clone, Copy)]
pub struct CheckRecord {
    pub healthy: bool,
    pub failed_checks: u32,
    pub passed_checks: u32,
    /// Taken out of rotation by its fleet (draining, starting or off), whatever the checks
    /// say.
    pub out: bool,
}

impl Default for CheckRecord {
    fn default() -> Self {
        CheckRecord {
            healthy: true,
            failed_checks: 0,
            passed_checks: 0,
            out: false,
        }
    }
}

impl HealthCheck {
    /// Records one check that found the target `up`; returns the new belief if it changed
    /// (after enough consecutive results the other way).
    pub fn observe(&self, r: &mut CheckRecord, up: bool) -> Option<bool> {
        if up {
            r.failed_checks = 0;
            r.passed_checks = r.passed_checks.saturating_add(1);
            if !r.healthy && r.passed_checks >= self.healthy_threshold {
                r.healthy = true;
                return Some(true);
            }
        } else {
            r.passed_checks = 0;
            r.failed_checks = r.failed_checks.saturating_add(1);
            if r.healthy && r.failed_checks >= self.unhealthy_threshold {
                r.healthy = false;
                return Some(false);
            }
        }
        None
    }
}

/// A change of belief about one target, for the report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HealthChange {
    pub at: SimTime,
    /// The target's index in the checker's list.
    pub target: usize,
    pub healthy: bool,
}

/// What one checker believes about its targets (all healthy until checks say otherwise).
#[derive(Debug, Clone, Default)]
pub struct Observed {
    records: Vec<CheckRecord>,
    /// Targets not in use: believed unhealthy, or out of rotation.
    unhealthy: u32,
    pub changes: Vec<HealthChange>,
}

impl Observed {
    pub fn new(targets: usize) -> Observed {
        Observed {
            records: vec![CheckRecord::default(); targets],
            unhealthy: 0,
            changes: Vec::new(),
        }
    }

    /// Whether target `i` is in use: believed healthy and in rotation.
    #[inline]
    pub fn healthy(&self, i: usize) -> bool {
        let r = &self.records[i];
        r.healthy && !r.out
    }

    /// Whether every target is in use.
    #[inline]
    pub fn all_healthy(&self) -> bool {
        self.unhealthy == 0
    }

    /// One round of checks at `now`; `up[i]` is what the check of target `i` found. Calls
    /// `changed(i, healthy)` for each target whose belief changed.
    pub fn check(
        &mut self,
        hc: &HealthCheck,
        now: SimTime,
        up: &[bool],
        mut changed: impl FnMut(usize, bool),
    ) {
        for (i, &up) in up.iter().enumerate() {
            if let Some(healthy) = hc.observe(&mut self.records[i], up) {
                if !self.records[i].out {
                    self.count(healthy);
                }
                self.changes.push(HealthChange {
                    at: now,
                    target: i,
                    healthy,
                });
                changed(i, healthy);
            }
        }
    }

    /// Believes target `i` is `healthy` whatever the checks said (no change is recorded).
    pub fn set(&mut self, i: usize, healthy: bool) {
        let r = &mut self.records[i];
        if r.healthy != healthy {
            r.healthy = healthy;
            if !r.out {
                self.count(healthy);
            }
        }
    }

    /// Puts target `i` into rotation (`on`) or takes it out, whatever the checks believe.
    pub fn register(&mut self, i: usize, on: bool) {
        let r = &mut self.records[i];
        if r.out != on {
            return;
        }
        r.out = !on;
        if r.healthy {
            self.count(on);
        }
    }

    fn count(&mut self, healthy: bool) {
        if healthy {
            self.unhealthy -= 1;
        } else {
            self.unhealthy += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn belief_changes_only_after_enough_checks_in_a_row() {
        let hc = HealthCheck {
            interval: SimTime::from_secs(1.0),
            unhealthy_threshold: 2,
            healthy_threshold: 3,
        };
        let mut o = Observed::new(2);
        let t = SimTime::from_secs;
        o.check(&hc, t(1.0), &[false, true], |_, _| {});
        assert!(o.healthy(0), "one failure is not enough");
        o.check(&hc, t(2.0), &[false, true], |_, _| {});
        assert!(!o.healthy(0) && !o.all_healthy());
        for s in 3..5 {
            o.check(&hc, t(f64::from(s)), &[true, true], |_, _| {});
        }
        assert!(!o.healthy(0), "two passes of three");
        let mut seen = Vec::new();
        o.check(&hc, t(5.0), &[true, true], |i, h| seen.push((i, h)));
        assert_eq!(seen, [(0, true)]);
        assert!(o.all_healthy());
        let at: Vec<_> = o.changes.iter().map(|c| (c.at, c.healthy)).collect();
        assert_eq!(at, [(t(2.0), false), (t(5.0), true)]);
    }
}
