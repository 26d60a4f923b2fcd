//! Time-weighted levels (busy cores, queue length, connections): the integral of a level over
//! simulated time, from which means and utilisations over any window follow by differences.

use crate::engine::time::SimTime;

/// A level that changes at event times; `area` is ∫ level dt in level·nanoseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct TimeWeighted {
    level: u64,
    last: SimTime,
    area: u128,
    max: u64,
}

impl TimeWeighted {
    /// Sets the level from `now` on.
    #[inline]
    pub fn set(&mut self, now: SimTime, level: u64) {
        self.advance(now);
        self.level = level;
        self.max = self.max.max(level);
    }

    #[inline]
    pub fn add(&mut self, now: SimTime, delta: i64) {
        let level = self.level.saturating_add_signed(delta);
        self.set(now, level);
    }

    /// Accounts for the time up to `now` at the current level.
    #[inline]
    pub fn advance(&mut self, now: SimTime) {
        if now > self.last {
            self.area += u128::from(self.level) * u128::from((now - self.last).0);
            self.last = now;
        }
    }

    /// ∫ level dt from time 0 to `now`.
    pub fn area_at(&mut self, now: SimTime) -> u128 {
        self.advance(now);
        self.area
    }

    pub fn level(&self) -> u64 {
        self.level
    }

    /// Highest level ever set.
    pub fn max(&self) -> u64 {
        self.max
    }
}

/// Busy time of a FIFO device (NIC, disk) whose work is booked ahead when it is queued.
/// A span is counted when booked, so a window's figure may include the tail of work that
/// ends just after it; over many spans the error is one span at most.
#[derive(Debug, Clone, Copy, Default)]
pub struct BusyTime {
    booked_ns: u64,
}

impl BusyTime {
    #[inline]
    pub fn add_span(&mut self, _start: SimTime, span: SimTime) {
        self.booked_ns = self.booked_ns.saturating_add(span.0);
    }

    pub fn booked(&self) -> u128 {
        u128::from(self.booked_ns)
    }
}

/// Mean level between two area snapshots taken `span` apart.
pub fn mean_between(area_start: u128, area_end: u128, span: SimTime) -> f64 {
    if span.0 == 0 {
        0.0
    } else {
        area_end.saturating_sub(area_start) as f64 / span.0 as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integrates_piecewise_constant_levels() {
        let mut tw = TimeWeighted::default();
        tw.set(SimTime(0), 2); // 2 for 10 ns
        tw.set(SimTime(10), 5); // 5 for 5 ns
        tw.add(SimTime(15), -5); // 0 for 5 ns
        assert_eq!(tw.area_at(SimTime(20)), 2 * 10 + 5 * 5);
        assert_eq!(tw.max(), 5);
        assert!((mean_between(0, 45, SimTime(20)) - 2.25).abs() < 1e-12);
    }
}
