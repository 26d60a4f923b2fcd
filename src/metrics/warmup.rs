//! Choosing the warm-up automatically (`"warmup_s": "auto"`): the MSER rule (White, 1997;
//! MSER-5, White, Cobb and Spratt, 2000) on the mean latency per interval of a pilot run.
//!
//! The series is cut into batches of 5 intervals (of 1 when the run has fewer than 50); for
//! each candidate truncation d (at most half the batches) MSER(d) = Σᵢ₌d+1..n (Zᵢ − Z̄_d)² /
//! (n − d)², the squared standard error of the mean left after dropping d batches, is
//! computed, and the d that minimises it is taken: dropping the initial transient lowers the
//! variance faster than losing its batches raises it. Batches where nothing completed (an
//! outage) carry no latency and are left out of the series, but keep their place in time.

use crate::engine::time::SimTime;
use crate::metrics::timeseries::IntervalRow;

/// Fewest intervals "auto" accepts (fewer leave MSER nothing to compare).
pub const MIN_INTERVALS: u32 = 10;
/// Intervals per batch (the "5" of MSER-5) once the run has at least 10 batches of them.
const BATCH: usize = 5;

/// What the rule chose, for `summary.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct WarmupChoice {
    /// Intervals per batch (5, or 1 for short runs).
    pub batch_intervals: usize,
    /// Batches with completed requests, the series MSER saw.
    pub batches: usize,
    /// Batches dropped.
    pub truncated_batches: usize,
    /// The chosen warm-up: the start of the first batch kept.
    pub warmup: SimTime,
}

/// The index d in `0..=n/2` minimising MSER(d) for the series `z` (the smallest on ties).
pub fn mser(z: &[f64]) -> usize {
    let n = z.len();
    if n < 2 {
        return 0;
    }
    // Suffix sums let every candidate cost O(1). They are taken about the overall mean, so
    // a nearly flat series does not lose its variance to cancellation; spreads below a
    // billionth of the values' size are rounding, not data, and count as none; candidates
    // within a relative 1e-9 of the best count as ties, and the smallest cut wins.
    let centre = z.iter().sum::<f64>() / n as f64;
    let scale = z.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let (mut sum, mut sum_sq) = (0.0, 0.0);
    let mut best = (f64::INFINITY, 0);
    let mut suffix = vec![(0.0, 0.0); n + 1];
    for i in (0..n).rev() {
        let x = z[i] - centre;
        sum += x;
        sum_sq += x * x;
        suffix[i] = (sum, sum_sq);
    }
    for (d, &(s, s2)) in suffix.iter().enumerate().take(n / 2 + 1) {
        let kept = (n - d) as f64;
        let squares = (s2 - s * s / kept).max(0.0);
        let squares = if squares <= kept * (1e-9 * scale).powi(2) {
            0.0
        } else {
            squares
        };
        let statistic = squares / (kept * kept);
        if statistic < best.0 * (1.0 - 1e-9) {
            best = (statistic, d);
        }
    }
    best.1
}

/// Chooses the warm-up from a pilot run's intervals before `end` (the drain is ignored).
pub fn choose(rows: &[IntervalRow], end: SimTime) -> WarmupChoice {
    let rows: Vec<&IntervalRow> = rows.iter().filter(|w| w.start < end).collect();
    let batch = if rows.len() >= 10 * BATCH { BATCH } else { 1 };
    // (start of the batch, its mean latency weighted by completions), non-empty batches only.
    let series: Vec<(SimTime, f64)> = rows
        .chunks(batch)
        .filter_map(|chunk| {
            let completed: u64 = chunk.iter().map(|w| w.ended.completed).sum();
            let weighted: f64 = chunk
                .iter()
                .map(|w| w.mean_ms.unwrap_or(0.0) * w.ended.completed as f64)
                .sum();
            (completed > 0).then(|| (chunk[0].start, weighted / completed as f64))
        })
        .collect();
    let z: Vec<f64> = series.iter().map(|b| b.1).collect();
    let d = mser(&z);
    WarmupChoice {
        batch_intervals: batch,
        batches: series.len(),
        truncated_batches: d,
        warmup: series.get(d).map_or(SimTime::ZERO, |b| b.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flat_series_is_not_cut_by_rounding_noise() {
        // Equal up to the last bits: 5 ms ± 1 ulp, as weighted batch means come out.
        let z: Vec<f64> = (0..200)
            .map(|i| {
                if i % 7 == 0 {
                    f64::from_bits(5f64.to_bits() + 1)
                } else {
                    5.0
                }
            })
            .collect();
        assert_eq!(mser(&z), 0);
    }

    #[test]
    fn a_stationary_series_is_not_truncated() {
        let z: Vec<f64> = (0..40).map(|i| 10.0 + f64::from(i % 3) * 0.1).collect();
        assert_eq!(mser(&z), 0);
    }

    #[test]
    fn an_initial_transient_is_cut_where_it_ends() {
        // 8 batches climbing from 0 to the steady level 10, then 32 steady ones.
        let z: Vec<f64> = (0..40)
            .map(|i| {
                if i < 8 {
                    f64::from(i) * 1.25
                } else {
                    10.0 + f64::from(i % 2) * 0.2
                }
            })
            .collect();
        let d = mser(&z);
        assert!((7..=9).contains(&d), "cut at {d}");
    }

    #[test]
    fn the_cut_never_passes_half_the_series() {
        // A series that only grows: MSER would keep dropping, but stops at n/2.
        let z: Vec<f64> = (0..20).map(|i| f64::from(i * i)).collect();
        assert!(mser(&z) <= 10);
        assert_eq!(mser(&[]), 0);
        assert_eq!(mser(&[3.0]), 0);
    }
}
