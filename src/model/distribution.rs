//! Random durations: the six families a scenario can name, validated and ready to sample
//! in integer nanoseconds.
//!
//! Parameters arrive in milliseconds and are converted once here. Sampling never allocates.

use crate::engine::rng::Stream;
use crate::engine::time::SimTime;
use crate::scenario::raw::RawDist;
use rand::RngExt;
use rand_distr::{Distribution, Exp1, Normal, StandardNormal};

/// The largest duration parameter a scenario may give, in milliseconds (about 11.6 days):
/// far beyond any request's life, and far inside what integer nanoseconds can hold.
pub const MAX_MS: f64 = 1e9;
/// A lognormal's largest standard deviation, as a multiple of its mean.
pub const MAX_SPREAD: f64 = 1_000.0;

/// A number as a user would write it: plain when of ordinary size, in exponent form when huge
/// or tiny (so `1e300` is not printed as 301 digits).
pub fn show(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 || !a.is_finite() || (1e-4..1e15).contains(&a) {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}

/// A validated distribution over durations, parameters in nanoseconds.
#[derive(Debug, Clone, Copy)]
pub enum Dist {
    Constant(SimTime),
    Uniform {
        min_ns: f64,
        max_ns: f64,
    },
    Exponential {
        mean_ns: f64,
    },
    /// Resampled while negative (truncation at zero), up to a bound, then clamped.
    Normal(Normal<f64>),
    /// exp(mu + sigma·Z) with Z standard normal; mu in log-nanoseconds.
    LogNormal {
        mu: f64,
        sigma: f64,
    },
    /// scale·U^(-1/shape): inverse transform of the Pareto tail.
    Pareto {
        scale_ns: f64,
        shape: f64,
    },
}

/// Why a distribution's parameters are unusable; the message names the field.
pub type DistProblem = (&'static str, String);

impl Dist {
    /// Checks the parameters and converts them to nanoseconds.
    pub fn from_raw(raw: &RawDist) -> Result<Dist, DistProblem> {
        let finite_non_negative = |field: &'static str, v: f64| {
            if v.is_finite() && (0.0..=MAX_MS).contains(&v) {
                Ok(v)
            } else {
                Err((
                    field,
                    format!(
                        "must be a number from 0 to {}, got {}",
                        show(MAX_MS),
                        show(v)
                    ),
                ))
            }
        };
        let positive = |field: &'static str, v: f64| {
            if v.is_finite() && v > 0.0 && v <= MAX_MS {
                Ok(v)
            } else {
                Err((
                    field,
                    format!(
                        "must be a number > 0 and at most {}, got {}",
                        show(MAX_MS),
                        show(v)
                    ),
                ))
            }
        };
        Ok(match *raw {
            RawDist::Constant { ms } => {
                Dist::Constant(SimTime::from_ms(finite_non_negative("ms", ms)?))
            }
            RawDist::Uniform { min_ms, max_ms } => {
                let min = finite_non_negative("min_ms", min_ms)?;
                let max = finite_non_negative("max_ms", max_ms)?;
                if max < min {
                    return Err(("max_ms", format!("must be ≥ min_ms ({min}), got {max}")));
                }
                Dist::Uniform {
                    min_ns: min * 1e6,
                    max_ns: max * 1e6,
                }
            }
            RawDist::Exponential { mean_ms } => {
                let mean = positive("mean_ms", mean_ms)?;
                Dist::Exponential {
                    mean_ns: mean * 1e6,
                }
            }
            RawDist::Normal { mean_ms, std_ms } => {
                let mean = finite_non_negative("mean_ms", mean_ms)?;
                let std = finite_non_negative("std_ms", std_ms)?;
                Dist::Normal(
                    Normal::new(mean * 1e6, std * 1e6).map_err(|e| ("std_ms", e.to_string()))?,
                )
            }
            RawDist::Lognormal { mean_ms, std_ms } => {
                let mean = positive("mean_ms", mean_ms)? * 1e6;
                let std = finite_non_negative("std_ms", std_ms)? * 1e6;
                // A wider spread makes sigma infinite and every draw 0 or NaN.
                if std > MAX_SPREAD * mean {
                    return Err((
                        "std_ms",
                        format!(
                            "must be at most {} × mean_ms ({}), got {}",
                            show(MAX_SPREAD),
                            show(MAX_SPREAD * mean / 1e6),
                            show(std / 1e6)
                        ),
                    ));
                }
                // Moments of the lognormal: sigma² = ln(1 + (s/m)²), mu = ln m - sigma²/2.
                let sigma2 = (1.0 + (std / mean).powi(2)).ln();
                let mu = mean.ln() - sigma2 / 2.0;
                Dist::LogNormal {
                    mu,
                    sigma: sigma2.sqrt(),
                }
            }
            RawDist::Pareto { scale_ms, shape } => {
                let scale = positive("scale_ms", scale_ms)?;
                if !(shape.is_finite() && (0.01..=100.0).contains(&shape)) {
                    return Err((
                        "shape",
                        format!("must be from 0.01 to 100, got {}", show(shape)),
                    ));
                }
                Dist::Pareto {
                    scale_ns: scale * 1e6,
                    shape,
                }
            }
        })
    }

    /// One draw, rounded to whole nanoseconds.
    #[inline]
    pub fn sample(&self, rng: &mut Stream) -> SimTime {
        let ns = match self {
            Dist::Constant(t) => return *t,
            Dist::Uniform { min_ns, max_ns } => min_ns + (max_ns - min_ns) * rng.random::<f64>(),
            Dist::Exponential { mean_ns } => {
                mean_ns * <Exp1 as Distribution<f64>>::sample(&Exp1, rng)
            }
            Dist::Normal(d) => {
                let mut x = d.sample(rng);
                let mut tries = 0;
                while x < 0.0 && tries < 64 {
                    x = d.sample(rng);
                    tries += 1;
                }
                x
            }
            Dist::LogNormal { mu, sigma } => {
                let z: f64 = StandardNormal.sample(rng);
                (mu + sigma * z).exp()
            }
            Dist::Pareto { scale_ns, shape } => {
                // 1 - U lies in (0, 1], so the power is finite.
                let u: f64 = 1.0 - rng.random::<f64>();
                scale_ns * u.powf(-1.0 / shape)
            }
        };
        // A heavy tail (a Pareto of shape below 1, a wide lognormal) can draw more than
        // integer nanoseconds hold: draws are capped at the largest duration a field may
        // take, 10⁹ ms.
        SimTime::from_ns_f64(ns.min(MAX_MS * 1e6))
    }

    /// The mean in nanoseconds (of the untruncated family for `Normal`), for capacity estimates
    /// and theory checks.
    pub fn mean_ns(&self) -> f64 {
        match self {
            Dist::Constant(t) => t.0 as f64,
            Dist::Uniform { min_ns, max_ns } => (min_ns + max_ns) / 2.0,
            Dist::Exponential { mean_ns } => *mean_ns,
            Dist::Normal(d) => d.mean(),
            Dist::LogNormal { mu, sigma } => (mu + sigma * sigma / 2.0).exp(),
            Dist::Pareto { scale_ns, shape } => {
                if *shape > 1.0 {
                    scale_ns * shape / (shape - 1.0)
                } else {
                    f64::INFINITY
                }
            }
        }
    }

    /// The same distribution with every duration multiplied by `factor` (> 0).
    pub fn scaled(&self, factor: f64) -> Dist {
        match *self {
            Dist::Constant(t) => Dist::Constant(SimTime::from_ns_f64(t.0 as f64 * factor)),
            Dist::Uniform { min_ns, max_ns } => Dist::Uniform {
                min_ns: min_ns * factor,
                max_ns: max_ns * factor,
            },
            Dist::Exponential { mean_ns } => Dist::Exponential {
                mean_ns: mean_ns * factor,
            },
            Dist::Normal(d) => {
                Dist::Normal(Normal::new(d.mean() * factor, d.std_dev() * factor).unwrap_or(d))
            }
            Dist::LogNormal { mu, sigma } => Dist::LogNormal {
                mu: mu + factor.ln(),
                sigma,
            },
            Dist::Pareto { scale_ns, shape } => Dist::Pareto {
                scale_ns: scale_ns * factor,
                shape,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::stream_for;

    fn sample_mean(d: &Dist, n: usize) -> f64 {
        let mut rng = stream_for(3, "dist-test");
        (0..n).map(|_| d.sample(&mut rng).0 as f64).sum::<f64>() / n as f64
    }

    /// Sample means within 5 standard errors of the family's mean (n = 200,000: the standard
    /// error is σ/√n ≈ 0.22% of σ), so a wrong parameterisation fails and noise does not.
    #[test]
    fn sample_means_match_the_families() {
        let n = 200_000;
        let cases = [
            (RawDist::Exponential { mean_ms: 5.0 }, 5.0),
            (
                RawDist::Uniform {
                    min_ms: 1.0,
                    max_ms: 3.0,
                },
                2.0 / 12f64.sqrt(),
            ),
            (
                RawDist::Lognormal {
                    mean_ms: 10.0,
                    std_ms: 4.0,
                },
                4.0,
            ),
            (
                RawDist::Normal {
                    mean_ms: 10.0,
                    std_ms: 1.0,
                },
                1.0,
            ),
            (
                RawDist::Pareto {
                    scale_ms: 1.0,
                    shape: 3.0,
                },
                (3.0f64 / (4.0 * 1.0)).sqrt(),
            ),
        ];
        for (raw, sigma_ms) in cases {
            let d = Dist::from_raw(&raw).unwrap();
            let got = sample_mean(&d, n);
            let tolerance = 5.0 * sigma_ms * 1e6 / (n as f64).sqrt();
            assert!(
                (got - d.mean_ns()).abs() < tolerance,
                "{raw:?}: mean {got} vs {}",
                d.mean_ns()
            );
        }
    }

    #[test]
    fn known_means() {
        let mean = |raw| Dist::from_raw(&raw).unwrap().mean_ns() / 1e6;
        assert!(
            (mean(RawDist::Lognormal {
                mean_ms: 10.0,
                std_ms: 4.0
            }) - 10.0)
                .abs()
                < 1e-9
        );
        assert!(
            (mean(RawDist::Pareto {
                scale_ms: 2.0,
                shape: 2.0
            }) - 4.0)
                .abs()
                < 1e-9
        );
        assert_eq!(mean(RawDist::Constant { ms: 1.5 }), 1.5);
    }

    #[test]
    fn truncated_normal_never_goes_negative() {
        let d = Dist::from_raw(&RawDist::Normal {
            mean_ms: 0.1,
            std_ms: 5.0,
        })
        .unwrap();
        let mut rng = stream_for(1, "n");
        for _ in 0..10_000 {
            let _ = d.sample(&mut rng); // SimTime cannot be negative; this checks no panic
        }
    }

    #[test]
    fn bad_parameters_name_their_field() {
        let err = |raw| Dist::from_raw(&raw).unwrap_err().0;
        assert_eq!(err(RawDist::Exponential { mean_ms: 0.0 }), "mean_ms");
        assert_eq!(
            err(RawDist::Uniform {
                min_ms: 3.0,
                max_ms: 1.0
            }),
            "max_ms"
        );
        assert_eq!(err(RawDist::Constant { ms: f64::NAN }), "ms");
        assert_eq!(
            err(RawDist::Pareto {
                scale_ms: 1.0,
                shape: -1.0
            }),
            "shape"
        );
    }

    #[test]
    fn scaling_scales_the_mean() {
        for raw in [
            RawDist::Exponential { mean_ms: 4.0 },
            RawDist::Lognormal {
                mean_ms: 4.0,
                std_ms: 1.0,
            },
            RawDist::Constant { ms: 4.0 },
            RawDist::Pareto {
                scale_ms: 1.0,
                shape: 3.0,
            },
        ] {
            let d = Dist::from_raw(&raw).unwrap();
            assert!(
                (d.scaled(0.5).mean_ns() - d.mean_ns() / 2.0).abs() < 1.0,
                "{raw:?}"
            );
        }
    }
}
