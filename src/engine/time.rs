//! Simulated time: integer nanoseconds, so runs are exact and reproducible on every machine.
//!
//! Floats appear only at the edges: milliseconds and seconds read from a scenario are converted
//! once with rounding, and reports convert back. Nothing here reads a wall clock.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// A point on the simulated clock, or a span of it, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SimTime(pub u64);

impl SimTime {
    pub const ZERO: SimTime = SimTime(0);
    pub const MAX: SimTime = SimTime(u64::MAX);

    /// Nanoseconds from milliseconds, rounded to the nearest nanosecond; negatives clamp to 0.
    pub fn from_ms(ms: f64) -> SimTime {
        SimTime::from_ns_f64(ms * 1e6)
    }

    /// Nanoseconds from seconds, rounded; negatives clamp to 0.
    pub fn from_secs(s: f64) -> SimTime {
        SimTime::from_ns_f64(s * 1e9)
    }

    /// Rounds a float nanosecond count; NaN and negatives become 0, overflow saturates.
    #[inline]
    pub fn from_ns_f64(ns: f64) -> SimTime {
        if (0.5..4.5e15).contains(&ns) {
            // From 0.5 to 2^52, truncating ns + 0.5 rounds ties up exactly as the general
            // path below does (the sum may round, but never across an integer); through
            // i64, which x86 converts in one instruction. Below 0.5 the sum can round up to
            // 1, so those take the general path.
            return SimTime((ns + 0.5) as i64 as u64);
        }
        if ns.is_nan() || ns <= 0.0 {
            SimTime(0)
        } else if ns >= u64::MAX as f64 {
            SimTime(u64::MAX)
        } else {
            // `f64::round` without the libm call (it is on the hot path of every draw): for
            // 0 < ns < 2^64 the truncation and the fraction are exact, and ties go up, as
            // `round` does for positive numbers.
            let whole = ns as u64;
            let fraction = ns - whole as f64;
            SimTime(whole + u64::from(fraction >= 0.5))
        }
    }

    pub fn as_ms(self) -> f64 {
        self.0 as f64 / 1e6
    }

    pub fn as_secs(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// Time elapsed since `earlier`, zero if `earlier` is later.
    pub fn since(self, earlier: SimTime) -> SimTime {
        SimTime(self.0.saturating_sub(earlier.0))
    }
}

impl Add for SimTime {
    type Output = SimTime;
    #[inline]
    fn add(self, rhs: SimTime) -> SimTime {
        SimTime(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign for SimTime {
    #[inline]
    fn add_assign(&mut self, rhs: SimTime) {
        self.0 = self.0.saturating_add(rhs.0);
    }
}

impl Sub for SimTime {
    type Output = SimTime;
    #[inline]
    fn sub(self, rhs: SimTime) -> SimTime {
        self.since(rhs)
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.3}s", self.as_secs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_round_to_the_nearest_nanosecond() {
        assert_eq!(SimTime::from_ms(1.5), SimTime(1_500_000));
        assert_eq!(SimTime::from_secs(2.0), SimTime(2_000_000_000));
        assert_eq!(SimTime::from_ns_f64(0.4), SimTime(0));
        assert_eq!(SimTime::from_ns_f64(0.49999999999999994), SimTime(0));
        assert_eq!(SimTime::from_ns_f64(0.5), SimTime(1));
        assert_eq!(SimTime::from_ns_f64(2.4999999999999996), SimTime(2));
        assert_eq!(SimTime::from_ns_f64(0.6), SimTime(1));
        assert_eq!(SimTime::from_ms(-3.0), SimTime(0));
        assert_eq!(SimTime::from_ns_f64(f64::NAN), SimTime(0));
        assert_eq!(SimTime::from_ns_f64(1e30), SimTime::MAX);
    }

    proptest::proptest! {
        /// The hand-rolled rounding agrees with `f64::round` everywhere it is used.
        #[test]
        fn rounding_matches_f64_round(
            ns in 0.0f64..1e19,
            small in 0.0f64..2.0,
            tie in 0u64..1_000_000,
        ) {
            let expected = |x: f64| SimTime(x.round() as u64);
            proptest::prop_assert_eq!(SimTime::from_ns_f64(ns), expected(ns));
            proptest::prop_assert_eq!(SimTime::from_ns_f64(small), expected(small));
            let half = tie as f64 + 0.5;
            proptest::prop_assert_eq!(SimTime::from_ns_f64(half), expected(half));
            // The largest float below a half rounds down.
            let below = f64::from_bits(half.to_bits() - 1);
            proptest::prop_assert_eq!(SimTime::from_ns_f64(below), expected(below));
        }
    }

    #[test]
    fn arithmetic_saturates_instead_of_wrapping() {
        assert_eq!(SimTime::MAX + SimTime(1), SimTime::MAX);
        assert_eq!(SimTime(3) - SimTime(5), SimTime(0));
        assert_eq!(SimTime(5).since(SimTime(3)), SimTime(2));
    }
}
