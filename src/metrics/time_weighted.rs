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
/// Such a device is busy without a break from now until its `free_at`, so the busy time up to
/// `now` is exactly what was booked minus what lies beyond `now`.
#[derive(Debug, Clone, Copy, Default)]
pub struct BusyTime {
    booked_ns: u64,
}

impl BusyTime {
    #[inline]
    pub fn book(&mut self, span: SimTime) {
        self.booked_ns = self.booked_ns.saturating_add(span.0);
    }

    /// The work booked beyond `now` on a device free again at `free_at` will not be done
    /// (it stopped): it is taken off.
    pub fn cancel_beyond(&mut self, now: SimTime, free_at: SimTime) {
        self.booked_ns = self.booked_ns.saturating_sub((free_at - now).0);
    }

    /// ∫ busy dt from 0 to `now`, for a device that is free again at `free_at`.
    pub fn busy_until(&self, now: SimTime, free_at: SimTime) -> u128 {
        u128::from(self.booked_ns.saturating_sub((free_at - now).0))
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

    #[test]
    fn busy_time_excludes_work_booked_beyond_now() {
        let mut b = BusyTime::default();
        b.book(SimTime(10)); // busy 0..10
        b.book(SimTime(10)); // queued behind it: busy 10..20
        assert_eq!(b.busy_until(SimTime(15), SimTime(20)), 15);
        assert_eq!(b.busy_until(SimTime(30), SimTime(20)), 20);
    }
}
