//! Client-side circuit breakers, one per request class that asks for one: after too many
//! failed attempts among the last few, stop sending for a while (refusing at once with
//! `circuit_open`), then let a few probes through and close again if they succeed.
//!
//! One breaker serves all users of a class, as a breaker in an API gateway or in the client
//! library of a front-end fleet would.

use crate::engine::time::SimTime;

/// A breaker as the scenario describes it.
#[derive(Debug, Clone)]
pub struct BreakerSpec {
    /// Attempts remembered.
    pub window: u32,
    /// Open when at least this share of the remembered attempts failed (window full).
    pub failure_ratio: f64,
    /// How long it stays open before probing.
    pub open_for: SimTime,
    /// Attempts let through while half-open; all must succeed to close.
    pub probes: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed,
    Open { until: SimTime },
    HalfOpen { sent: u32, passed: u32 },
}

/// A breaker's live state.
#[derive(Debug, Clone)]
pub struct Breaker {
    pub spec: BreakerSpec,
    state: State,
    /// The last `window` results, true = failed, as a ring.
    ring: Vec<bool>,
    next: usize,
    filled: usize,
    failures: u32,
    /// When it last went half-open or closed: answers to attempts sent before that belong to
    /// an earlier state and are ignored.
    since: SimTime,
    /// Times it opened, and attempts it refused (whole run).
    pub opened: u64,
    pub refused: u64,
}

impl Breaker {
    pub fn new(spec: BreakerSpec) -> Breaker {
        let n = spec.window.max(1) as usize;
        Breaker {
            spec,
            state: State::Closed,
            ring: vec![false; n],
            next: 0,
            filled: 0,
            failures: 0,
            since: SimTime::ZERO,
            opened: 0,
            refused: 0,
        }
    }

    /// Whether an attempt may be sent at `now` (counts a refusal if not).
    pub fn allow(&mut self, now: SimTime) -> bool {
        if let State::Open { until } = self.state
            && now >= until
        {
            self.state = State::HalfOpen { sent: 0, passed: 0 };
            self.since = now;
        }
        let ok = match &mut self.state {
            State::Closed => true,
            State::Open { .. } => false,
            State::HalfOpen { sent, .. } => {
                let ok = *sent < self.spec.probes;
                *sent += u32::from(ok);
                ok
            }
        };
        self.refused += u64::from(!ok);
        ok
    }

    /// An attempt sent through the breaker at `sent` ended at `now`, `failed` or not.
    pub fn record(&mut self, failed: bool, sent: SimTime, now: SimTime) {
        if sent < self.since {
            return;
        }
        match &mut self.state {
            State::Closed => {
                let n = self.ring.len();
                if self.filled == n {
                    self.failures -= u32::from(self.ring[self.next]);
                } else {
                    self.filled += 1;
                }
                self.ring[self.next] = failed;
                self.failures += u32::from(failed);
                self.next = (self.next + 1) % n;
                if self.filled == n
                    && f64::from(self.failures) >= self.spec.failure_ratio * n as f64
                {
                    self.trip(now);
                }
            }
            // A late answer to an attempt sent before it opened.
            State::Open { .. } => {}
            State::HalfOpen { passed, .. } => {
                if failed {
                    self.trip(now);
                } else {
                    *passed += 1;
                    if *passed >= self.spec.probes {
                        self.state = State::Closed;
                        self.since = now;
                        self.ring.fill(false);
                        self.filled = 0;
                        self.failures = 0;
                    }
                }
            }
        }
    }

    fn trip(&mut self, now: SimTime) {
        self.state = State::Open {
            until: now + self.spec.open_for,
        };
        self.opened += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker() -> Breaker {
        Breaker::new(BreakerSpec {
            window: 4,
            failure_ratio: 0.5,
            open_for: SimTime::from_secs(1.0),
            probes: 2,
        })
    }

    fn s(x: f64) -> SimTime {
        SimTime::from_secs(x)
    }

    #[test]
    fn opens_on_a_full_window_of_enough_failures_then_probes_and_closes() {
        let mut b = breaker();
        for failed in [true, true, false] {
            assert!(b.allow(s(0.0)));
            b.record(failed, s(0.0), s(0.0));
        }
        assert!(b.allow(s(0.0)), "window not full yet");
        b.record(false, s(0.0), s(0.0)); // 2 of 4 failed: opens
        assert_eq!(b.opened, 1);
        assert!(!b.allow(s(0.5)));
        assert!(b.allow(s(1.0)) && b.allow(s(1.0)), "two probes");
        assert!(!b.allow(s(1.0)), "no more than the probes");
        b.record(true, s(0.9), s(1.05)); // sent before it went half-open: ignored
        b.record(false, s(1.0), s(1.1));
        b.record(false, s(1.0), s(1.1));
        assert!(b.allow(s(1.2)), "closed again");
        assert_eq!(b.refused, 2);
    }

    #[test]
    fn a_failed_probe_opens_it_again() {
        let mut b = breaker();
        for _ in 0..4 {
            b.allow(s(0.0));
            b.record(true, s(0.0), s(0.0));
        }
        assert!(b.allow(s(1.0)));
        b.record(true, s(1.0), s(1.0));
        assert_eq!(b.opened, 2);
        assert!(!b.allow(s(1.5)));
        assert!(b.allow(s(2.0)));
    }
}
