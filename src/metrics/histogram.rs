//! Latency histograms: hdrhistogram's layout at 3 significant digits over 1 ns .. 2⁵⁴ ns
//! (208 days, longer than any run with its drain), so every percentile is within 0.1%.
//!
//! Recording is the hot path (several per request), so it is done here: one index computed
//! as hdrhistogram computes it and one count incremented, with no bookkeeping of minimum,
//! maximum or total. The figures are read by building an hdrhistogram from the counts (each
//! bucket's count recorded at a value of that bucket), so percentiles, mean and maximum are
//! exactly the crate's. The counts (368 KiB) are allocated at the first record, so the many
//! per-component histograms a run never uses (pool waits without pools, a component nobody
//! calls) cost a pointer each.

use crate::engine::time::SimTime;
use hdrhistogram::Histogram;

const HIGHEST_NS: u64 = 1 << 54;
/// hdrhistogram's layout for 1 .. 2⁵⁴ at 3 significant digits: sub-buckets of 2,048
/// (`2 × 10³` rounded up to a power of two), half of them 1,024; 45 buckets, each adding
/// 1,024 counts to the first's 2,048 (`a_histogram_has_the_crate_s_layout` checks these).
const SUB_BUCKET_HALF_MAGNITUDE: u32 = 10;
const SUB_BUCKET_HALF: usize = 1 << SUB_BUCKET_HALF_MAGNITUDE;
const SUB_BUCKET_MASK: u64 = (2 * SUB_BUCKET_HALF as u64) - 1;
const LEADING_ZERO_BASE: u32 = 64 - 11;
const COUNTS: usize = (45 + 1) * SUB_BUCKET_HALF;

/// The count a value goes to, as hdrhistogram's `index_for`.
#[inline]
fn index_of(value: u64) -> usize {
    let bucket = LEADING_ZERO_BASE - (value | SUB_BUCKET_MASK).leading_zeros();
    let sub_bucket = (value >> bucket) as usize;
    ((bucket as usize + 1) << SUB_BUCKET_HALF_MAGNITUDE) + sub_bucket - SUB_BUCKET_HALF
}

/// The lowest value counted at `index`, as hdrhistogram's `value_for`.
fn value_of(index: usize) -> u64 {
    let bucket = (index >> SUB_BUCKET_HALF_MAGNITUDE) as u32;
    let sub_bucket = (index & (SUB_BUCKET_HALF - 1)) + SUB_BUCKET_HALF;
    match bucket.checked_sub(1) {
        None => (sub_bucket - SUB_BUCKET_HALF) as u64,
        Some(b) => (sub_bucket as u64) << b,
    }
}

/// A latency distribution in nanoseconds.
#[derive(Debug, Clone)]
pub struct Latency {
    counts: Option<Box<[u64]>>,
    total: u64,
    /// The highest count index recorded since the last reset (reads and resets go no
    /// further).
    highest: usize,
}

impl Default for Latency {
    fn default() -> Self {
        Self::new()
    }
}

/// The figures of a `Latency`, read once (`Latency::read`).
pub struct Recorded(Histogram<u64>);

impl Recorded {
    pub fn mean_ms(&self) -> f64 {
        self.0.mean() / 1e6
    }

    /// The q-quantile (0..=1) in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        self.0.value_at_quantile(q) as f64 / 1e6
    }

    pub fn max_ms(&self) -> f64 {
        self.0.max() as f64 / 1e6
    }
}

impl Latency {
    pub const fn new() -> Latency {
        Latency {
            counts: None,
            total: 0,
            highest: 0,
        }
    }

    /// Records one duration (one beyond the last bucket, as 2⁵⁴ ns, 208 days: no run lasts
    /// that long), as hdrhistogram's `saturating_record`.
    #[inline]
    pub fn record(&mut self, d: SimTime) {
        let counts = self
            .counts
            .get_or_insert_with(|| vec![0; COUNTS].into_boxed_slice());
        let mut i = index_of(d.0);
        if i >= COUNTS {
            i = index_of(HIGHEST_NS);
        }
        counts[i] += 1;
        self.total += 1;
        self.highest = self.highest.max(i);
    }

    /// Its figures, if anything was recorded since it was made or reset: an hdrhistogram
    /// built from the counts (each count recorded at its lowest value).
    pub fn read(&self) -> Option<Recorded> {
        let counts = self.counts.as_deref().filter(|_| self.total > 0)?;
        let mut h = Histogram::new_with_bounds(1, HIGHEST_NS, 3)
            .expect("constant histogram bounds are valid");
        for (i, &n) in counts[..=self.highest].iter().enumerate() {
            if n > 0 {
                h.saturating_record_n(value_of(i), n);
            }
        }
        Some(Recorded(h))
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    pub fn mean_ms(&self) -> f64 {
        self.read().map_or(0.0, |r| r.mean_ms())
    }

    /// The q-quantile (0..=1) in milliseconds; 0 when empty.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        self.read().map_or(0.0, |r| r.quantile_ms(q))
    }

    pub fn max_ms(&self) -> f64 {
        self.read().map_or(0.0, |r| r.max_ms())
    }

    /// Empties it, keeping its counts' memory for the next records.
    pub fn reset(&mut self) {
        if let Some(c) = &mut self.counts
            && self.total > 0
        {
            c[..=self.highest].fill(0);
        }
        self.total = 0;
        self.highest = 0;
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

    /// The constants above are the crate's layout: as many counts, and every count's lowest
    /// value and the values around it land where the crate puts them.
    #[test]
    fn a_histogram_has_the_crate_s_layout() {
        let h = Histogram::<u64>::new_with_bounds(1, HIGHEST_NS, 3).expect("valid");
        assert_eq!(h.distinct_values(), COUNTS);
        for i in 0..COUNTS {
            let v = value_of(i);
            assert_eq!(index_of(v), i, "lowest value of count {i}");
            assert!(h.equivalent(v, h.lowest_equivalent(v)), "{v}");
            assert_eq!(h.lowest_equivalent(v), v, "count {i} starts at {v}");
            if i + 1 < COUNTS {
                assert_eq!(
                    index_of(value_of(i + 1) - 1),
                    i,
                    "count {i} ends below the next"
                );
            }
        }
    }

    proptest::proptest! {
        /// Any durations: every figure read is the crate's own for the same records.
        #[test]
        fn figures_are_the_crate_s(values in proptest::collection::vec(
            proptest::prop_oneof![0u64..5_000, 0u64..10_000_000_000, 0u64..u64::MAX], 1..200)) {
            let mut ours = Latency::new();
            let mut theirs = Histogram::<u64>::new_with_bounds(1, HIGHEST_NS, 3).unwrap();
            for &v in &values {
                ours.record(SimTime(v));
                theirs.saturating_record(v);
            }
            proptest::prop_assert_eq!(ours.count(), theirs.len());
            proptest::prop_assert_eq!(ours.mean_ms(), theirs.mean() / 1e6);
            proptest::prop_assert_eq!(ours.max_ms(), theirs.max() as f64 / 1e6);
            for q in [0.0, 0.25, 0.5, 0.9, 0.99, 0.999, 1.0] {
                proptest::prop_assert_eq!(ours.quantile_ms(q), theirs.value_at_quantile(q) as f64 / 1e6);
            }
        }
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
