//! Latency histograms: hdrhistogram at 3 significant digits over 1 ns .. 2⁵⁴ ns (208 days,
//! longer than any run with its drain), so every percentile is within 0.1% and recording
//! costs a few nanoseconds with no allocation after the first. The counts (368 KiB) are
//! allocated at the first record, so the many per-component histograms that a run never
//! uses (pool waits without pools, a component nobody calls) cost a pointer each.

use crate::engine::time::SimTime;
use hdrhistogram::Histogram;

const HIGHEST_NS: u64 = 1 << 54;

/// A latency distribution in nanoseconds.
#[derive(Debug, Clone)]
pub struct Latency {
    h: Option<Box<Histogram<u64>>>,
}

impl Default for Latency {
    fn default() -> Self {
        Self::new()
    }
}

impl Latency {
    pub const fn new() -> Latency {
        Latency { h: None }
    }

    /// Records one duration (beyond 208 days, as 208 days: no run lasts that long).
    #[inline]
    pub fn record(&mut self, d: SimTime) {
        self.h
            .get_or_insert_with(|| {
                Box::new(
                    Histogram::new_with_bounds(1, HIGHEST_NS, 3)
                        .expect("constant histogram bounds are valid"),
                )
            })
            .saturating_record(d.0);
    }

    /// The histogram, if anything was recorded since it was made or reset.
    fn recorded(&self) -> Option<&Histogram<u64>> {
        self.h.as_deref().filter(|h| !h.is_empty())
    }

    pub fn count(&self) -> u64 {
        self.recorded().map_or(0, Histogram::len)
    }

    pub fn is_empty(&self) -> bool {
        self.recorded().is_none()
    }

    pub fn mean_ms(&self) -> f64 {
        self.recorded().map_or(0.0, |h| h.mean() / 1e6)
    }

    /// The q-quantile (0..=1) in milliseconds; 0 when empty.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        self.recorded()
            .map_or(0.0, |h| h.value_at_quantile(q) as f64 / 1e6)
    }

    pub fn max_ms(&self) -> f64 {
        self.recorded().map_or(0.0, |h| h.max() as f64 / 1e6)
    }

    /// Empties it, keeping its counts' memory for the next records.
    pub fn reset(&mut self) {
        if let Some(h) = &mut self.h {
            h.reset();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_known_sequence() {
        let mut l = Latency::new();
        for ms in 1..=1000 {
            l.record(SimTime::from_ms(f64::from(ms)));
        }
        assert_eq!(l.count(), 1000);
        let within = |got: f64, want: f64| (got - want).abs() <= want * 0.001 + 1e-9;
        assert!(within(l.quantile_ms(0.5), 500.0), "{}", l.quantile_ms(0.5));
        assert!(
            within(l.quantile_ms(0.99), 990.0),
            "{}",
            l.quantile_ms(0.99)
        );
        assert!(within(l.max_ms(), 1000.0));
        assert!(within(l.mean_ms(), 500.5));
    }

    #[test]
    fn empty_is_all_zeros_and_huge_values_saturate() {
        let mut l = Latency::new();
        assert_eq!(
            (l.mean_ms(), l.quantile_ms(0.99), l.max_ms()),
            (0.0, 0.0, 0.0)
        );
        // Longer than an hour is still itself (within 0.1 %), not an hour.
        l.record(SimTime::from_secs(10_000.0));
        assert!(
            (l.max_ms() - 10_000_000.0).abs() <= 10_000.0,
            "{}",
            l.max_ms()
        );
    }

    /// The memory estimate's figure for a histogram covers what one takes.
    #[test]
    fn a_histogram_fits_its_estimate() {
        let h = Histogram::<u64>::new_with_bounds(1, HIGHEST_NS, 3).expect("valid");
        let bytes = (h.distinct_values() * std::mem::size_of::<u64>()) as u64;
        assert!(
            bytes <= crate::model::compute::memory::HISTOGRAM_BYTES,
            "{bytes}"
        );
        assert!(
            bytes * 10 >= crate::model::compute::memory::HISTOGRAM_BYTES * 9,
            "{bytes}: not far under"
        );
    }
}
