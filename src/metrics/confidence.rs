//! Confidence intervals over independent replications: each replication (a run with its own
//! seed) gives one value of a figure; their mean is the estimate, and Student's t with n − 1
//! degrees of freedom gives the 95% interval. Replications are independent and identically
//! distributed by construction (same scenario, independent random streams), which is what
//! the t interval needs; it does not assume anything about the distribution within a run.

/// The two-sided 95% quantile of Student's t, t(0.975, df).
pub fn t_975(df: u64) -> f64 {
    // Exact to 3 decimals for df ≤ 30; beyond, the table value at the lower end of each band
    // (t falls with df), so the interval errs on the wide side.
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::INFINITY,
        1..=30 => TABLE[df as usize - 1],
        31..=40 => 2.042,
        41..=60 => 2.021,
        61..=120 => 2.000,
        _ => 1.980,
    }
}

/// Mean, 95% half-width and range of one figure over replications.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub mean: f64,
    /// Half-width of the 95% confidence interval of the mean: mean ± this. Infinite with one
    /// value (no spread to estimate from).
    pub half_width_95: f64,
    pub min: f64,
    pub max: f64,
}

impl Interval {
    /// The interval of `values` (at least one).
    pub fn of(values: &[f64]) -> Interval {
        assert!(!values.is_empty(), "an interval needs at least one value");
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let half_width_95 = if values.len() < 2 {
            f64::INFINITY
        } else {
            let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
            t_975(values.len() as u64 - 1) * (variance / n).sqrt()
        };
        Interval {
            mean,
            half_width_95,
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }

    /// Whether `x` lies in mean ± half-width.
    pub fn contains(&self, x: f64) -> bool {
        (x - self.mean).abs() <= self.half_width_95
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn textbook_example() {
        // 5 values with mean 10 and sample variance 2.5: half-width t(0.975, 4) √(2.5/5).
        let i = Interval::of(&[8.0, 9.0, 10.0, 11.0, 12.0]);
        assert_eq!(i.mean, 10.0);
        assert!((i.half_width_95 - 2.776 * 0.5f64.sqrt()).abs() < 1e-12);
        assert_eq!((i.min, i.max), (8.0, 12.0));
        assert!(i.contains(11.9) && !i.contains(12.0));
    }

    #[test]
    fn one_value_has_no_interval() {
        let i = Interval::of(&[3.0]);
        assert_eq!(i.mean, 3.0);
        assert!(i.half_width_95.is_infinite());
    }

    /// Coverage: over many sets of 10 standard-normal draws, the interval holds the true mean
    /// 0 about 95% of the time. 2,000 sets: the share's standard error is √(0.95·0.05/2000)
    /// ≈ 0.49%, so 93.5%..96.5% is a ±3 SE band.
    #[test]
    fn intervals_cover_the_true_mean_95_percent_of_the_time() {
        use rand_distr::{Distribution, StandardNormal};
        let mut rng = crate::engine::rng::stream_for(11, "coverage");
        let sets = 2_000;
        let covered = (0..sets)
            .filter(|_| {
                let values: Vec<f64> = (0..10).map(|_| StandardNormal.sample(&mut rng)).collect();
                Interval::of(&values).contains(0.0)
            })
            .count();
        let share = covered as f64 / sets as f64;
        assert!((0.935..=0.965).contains(&share), "coverage {share}");
    }
}
