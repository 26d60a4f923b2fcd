//! The users: closed or open load, the load profile over time, request classes with their
//! keys and sizes, and the client's timeout and retry policy.
//!
//! Users are not objects: a closed-loop user is an index with one pending wake-up event, and
//! whatever else a user needs (its affinity hash) is derived from (seed, user id) on demand.

use crate::engine::rng::Stream;
use crate::engine::time::SimTime;
use crate::model::client::breaker::BreakerSpec;
use crate::model::distribution::Dist;
use crate::model::ids::ComponentId;
use crate::scenario::raw::Jitter;
use rand::RngExt;
use rand_distr::{Distribution, Zipf};

/// Closed or open.
#[derive(Debug, Clone)]
pub enum LoadModel {
    Closed { users: u64, think: Dist },
    Open { rate_per_s: f64 },
}

/// A load multiplier over simulated time.
#[derive(Debug, Clone)]
pub enum Profile {
    Constant,
    /// (start, level), sorted by start; validation puts the first step at time 0.
    Steps(Vec<(SimTime, f64)>),
    Ramp {
        from: f64,
        to: f64,
        start: SimTime,
        end: SimTime,
    },
    Spike {
        base: f64,
        peak: f64,
        start: SimTime,
        end: SimTime,
    },
}

impl Profile {
    /// The level at `t`.
    pub fn level(&self, t: SimTime) -> f64 {
        match self {
            Profile::Constant => 1.0,
            Profile::Steps(steps) => {
                let i = steps.partition_point(|(at, _)| *at <= t);
                if i == 0 { 0.0 } else { steps[i - 1].1 }
            }
            Profile::Ramp {
                from,
                to,
                start,
                end,
            } => {
                if t <= *start {
                    *from
                } else if t >= *end {
                    *to
                } else {
                    let f = (t - *start).0 as f64 / (*end - *start).0 as f64;
                    from + (to - from) * f
                }
            }
            Profile::Spike {
                base,
                peak,
                start,
                end,
            } => {
                if t >= *start && t < *end {
                    *peak
                } else {
                    *base
                }
            }
        }
    }

    /// The highest level reached, for thinning and memory estimates.
    pub fn max_level(&self) -> f64 {
        match self {
            Profile::Constant => 1.0,
            Profile::Steps(steps) => steps.iter().map(|(_, l)| *l).fold(0.0, f64::max),
            Profile::Ramp { from, to, .. } => from.max(*to),
            Profile::Spike { base, peak, .. } => base.max(*peak),
        }
    }
}

/// How request keys are drawn.
#[derive(Debug, Clone)]
pub enum Keys {
    Uniform { count: u64 },
    Zipf { count: u64, dist: Zipf<f64> },
}

impl Keys {
    /// A key in 0..count.
    #[inline]
    pub fn sample(&self, rng: &mut Stream) -> u64 {
        match self {
            Keys::Uniform { count } => rng.random_range(0..*count),
            Keys::Zipf { count, dist } => {
                let k = dist.sample(rng) as u64; // 1..=count
                k.clamp(1, *count) - 1
            }
        }
    }

    pub fn count(&self) -> u64 {
        match self {
            Keys::Uniform { count } | Keys::Zipf { count, .. } => *count,
        }
    }
}

/// A request class.
#[derive(Debug, Clone)]
pub struct Class {
    pub name: String,
    pub weight: f64,
    pub entry: ComponentId,
    pub request_bytes: u64,
    pub response_bytes: u64,
    pub keys: Keys,
    pub breaker: Option<BreakerSpec>,
    /// Its own load over time: its level multiplies its weight (None: constant).
    pub profile: Option<Profile>,
    /// Whether an attempt refused `rate_limited` is retried (else it ends the request).
    pub retry_rate_limited: bool,
}

/// Client retry policy.
#[derive(Debug, Clone)]
pub struct Retry {
    pub max_attempts: u32,
    pub initial: SimTime,
    pub multiplier: f64,
    pub max: SimTime,
    pub jitter: Jitter,
}

impl Retry {
    /// Backoff before attempt `next_attempt` (2 for the first retry).
    pub fn backoff(&self, next_attempt: u32, rng: &mut Stream) -> SimTime {
        let exponent = next_attempt.saturating_sub(2) as i32;
        let base = (self.initial.0 as f64 * self.multiplier.powi(exponent)).min(self.max.0 as f64);
        let ns = match self.jitter {
            Jitter::None => base,
            Jitter::Full => base * rng.random::<f64>(),
            Jitter::Equal => base / 2.0 + base / 2.0 * rng.random::<f64>(),
        };
        SimTime::from_ns_f64(ns)
    }

    /// The longest a logical request can take: every attempt timing out after its backoff.
    pub fn worst_case(&self, timeout: SimTime) -> SimTime {
        SimTime(
            timeout
                .0
                .saturating_add(self.max.0)
                .saturating_mul(u64::from(self.max_attempts)),
        )
    }
}

/// The whole workload.
#[derive(Debug, Clone)]
pub struct Workload {
    pub model: LoadModel,
    pub profile: Profile,
    pub classes: Vec<Class>,
    /// Running sums of class weights, for picking a class with one uniform draw.
    pub cumulative_weights: Vec<f64>,
    /// Some class has a profile of its own (the mix changes over time).
    pub class_profiles: bool,
    pub timeout: SimTime,
    pub retry: Retry,
    /// Keep-alive connections: how long the server keeps an idle one open; `None` when every
    /// attempt opens its own.
    pub keep_alive: Option<SimTime>,
}

impl Workload {
    /// Picks a class by weight.
    #[inline]
    pub fn pick_class(&self, rng: &mut Stream, t: SimTime) -> Option<u16> {
        if !self.class_profiles {
            if self.classes.len() == 1 {
                return Some(0);
            }
            let total = *self.cumulative_weights.last().unwrap_or(&1.0);
            let x = rng.random::<f64>() * total;
            let i = self.cumulative_weights.partition_point(|&c| c <= x);
            return Some(i.min(self.classes.len() - 1) as u16);
        }
        // Some class has a profile: its weight now is weight × level(t).
        let now = |c: &Class| c.weight * c.profile.as_ref().map_or(1.0, |p| p.level(t));
        let total: f64 = self.classes.iter().map(now).sum();
        if total <= 0.0 {
            return None;
        }
        let mut x = rng.random::<f64>() * total;
        for (i, c) in self.classes.iter().enumerate() {
            let w = now(c);
            if x < w {
                return Some(i as u16);
            }
            x -= w;
        }
        self.classes
            .iter()
            .rposition(|c| now(c) > 0.0)
            .map(|i| i as u16)
    }

    /// The classes' profiles' combined level at `t`: their weights × levels over their
    /// weights (1 when no class has a profile).
    pub fn mix_level(&self, t: SimTime) -> f64 {
        self.mix(|p| p.level(t))
    }

    /// The load the scenario's profiles set at `t`, relative to level 1: the workload's
    /// profile × the classes' mix.
    pub fn load_level(&self, t: SimTime) -> f64 {
        self.profile.level(t) * self.mix_level(t)
    }

    /// The most `mix_level` can be (an upper bound: each class at its own peak).
    pub fn mix_peak(&self) -> f64 {
        self.mix(Profile::max_level)
    }

    fn mix(&self, level: impl Fn(&Profile) -> f64) -> f64 {
        if !self.class_profiles {
            return 1.0;
        }
        let total: f64 = self.classes.iter().map(|c| c.weight).sum();
        let now: f64 = self
            .classes
            .iter()
            .map(|c| c.weight * c.profile.as_ref().map_or(1.0, &level))
            .sum();
        if total > 0.0 { now / total } else { 0.0 }
    }

    /// Per class, which of the distinct entries it goes to, and how many there are: a user
    /// keeps one connection alive per entry.
    pub fn entry_slots(&self) -> (Vec<u16>, u32) {
        let mut entries: Vec<ComponentId> = Vec::new();
        let slots = self
            .classes
            .iter()
            .map(|c| match entries.iter().position(|&e| e == c.entry) {
                Some(i) => i as u16,
                None => {
                    entries.push(c.entry);
                    (entries.len() - 1) as u16
                }
            })
            .collect();
        (slots, entries.len() as u32)
    }

    /// Users active at `t` in a closed model.
    pub fn active_users(&self, t: SimTime) -> u64 {
        match self.model {
            LoadModel::Closed { users, .. } => {
                (users as f64 * self.profile.level(t).min(1.0)).ceil() as u64
            }
            LoadModel::Open { .. } => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::stream_for;

    #[test]
    fn profiles_give_their_levels() {
        let s = SimTime::from_secs;
        let steps = Profile::Steps(vec![(s(0.0), 0.5), (s(10.0), 1.0), (s(20.0), 0.2)]);
        assert_eq!(steps.level(s(5.0)), 0.5);
        assert_eq!(steps.level(s(10.0)), 1.0);
        assert_eq!(steps.level(s(99.0)), 0.2);
        assert_eq!(steps.max_level(), 1.0);
        let ramp = Profile::Ramp {
            from: 0.0,
            to: 1.0,
            start: s(10.0),
            end: s(20.0),
        };
        assert_eq!(ramp.level(s(0.0)), 0.0);
        assert!((ramp.level(s(15.0)) - 0.5).abs() < 1e-12);
        assert_eq!(ramp.level(s(30.0)), 1.0);
        let spike = Profile::Spike {
            base: 1.0,
            peak: 4.0,
            start: s(5.0),
            end: s(6.0),
        };
        assert_eq!(spike.level(s(5.5)), 4.0);
        assert_eq!(spike.level(s(6.0)), 1.0);
    }

    #[test]
    fn backoff_grows_caps_and_jitters() {
        let r = Retry {
            max_attempts: 5,
            initial: SimTime::from_ms(100.0),
            multiplier: 2.0,
            max: SimTime::from_ms(300.0),
            jitter: Jitter::None,
        };
        let mut rng = stream_for(1, "retry");
        assert_eq!(r.backoff(2, &mut rng), SimTime::from_ms(100.0));
        assert_eq!(r.backoff(3, &mut rng), SimTime::from_ms(200.0));
        assert_eq!(r.backoff(4, &mut rng), SimTime::from_ms(300.0), "capped");
        let full = Retry {
            jitter: Jitter::Full,
            ..r.clone()
        };
        let equal = Retry {
            jitter: Jitter::Equal,
            ..r
        };
        for _ in 0..1000 {
            assert!(full.backoff(3, &mut rng) <= SimTime::from_ms(200.0));
            let e = equal.backoff(3, &mut rng);
            assert!(e >= SimTime::from_ms(100.0) && e <= SimTime::from_ms(200.0));
        }
    }

    #[test]
    fn zipf_keys_are_skewed_and_in_range() {
        let keys = Keys::Zipf {
            count: 1000,
            dist: Zipf::new(1000.0, 1.1).unwrap(),
        };
        let mut rng = stream_for(2, "keys");
        let mut hits_on_first = 0;
        for _ in 0..10_000 {
            let k = keys.sample(&mut rng);
            assert!(k < 1000);
            hits_on_first += u32::from(k == 0);
        }
        // P(k=1) = 1/H(1000, 1.1) ≈ 0.18; uniform would give 0.001.
        assert!(hits_on_first > 1200, "{hits_on_first}");
    }
}
