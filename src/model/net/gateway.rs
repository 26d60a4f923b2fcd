//! What an API gateway adds to a load balancer: an auth step's CPU cost, a request size
//! limit (`413`, counted `too_large`) and token-bucket rate limits (`429`, counted
//! `rate_limited`). Routing by class to services, the machine, connections and health checks
//! are the balancer's (`load_balancer.rs`), which calls `Gateway::admit` on each new request.
//!
//! A token bucket of rate r per second and depth b is kept as the generic cell rate algorithm
//! does (GCRA, as Envoy's, Redis-cell and Cloudflare's limiters keep theirs): one integer per
//! bucket, the theoretical arrival time `tat`. A request at t is let through when
//! t ≥ tat − (b − 1)·T, where T = 1/r is the emission interval, and then tat becomes
//! max(tat, t) + T. That is exactly a bucket holding at most b tokens, refilled one every T,
//! each request taking one; tat − t is the time the bucket needs to be full again. In integer
//! nanoseconds, so a run is reproducible; T is rounded to the nanosecond (at 1,000 requests
//! per second that is an error of 10⁻⁹).

use crate::engine::time::SimTime;
use crate::metrics::outcome::Status;
use crate::model::distribution::Dist;
use crate::model::messaging::CARRIER;

/// Whose requests one bucket counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitScope {
    /// One bucket for all the requests it applies to.
    Gateway,
    /// One bucket per request class (an API key per kind of client).
    Class,
    /// One bucket per user (closed workloads, whose users are lasting clients).
    User,
}

impl LimitScope {
    pub fn name(self) -> &'static str {
        match self {
            LimitScope::Gateway => "gateway",
            LimitScope::Class => "class",
            LimitScope::User => "user",
        }
    }
}

/// One rate limit as the scenario describes it.
#[derive(Debug, Clone)]
pub struct RateLimitSpec {
    pub scope: LimitScope,
    /// Per request class: whether this limit applies to it.
    pub applies: Vec<bool>,
    pub rate_per_s: f64,
    pub burst: u32,
    /// The emission interval T = 1/rate, in ns (at least 1).
    pub interval: u64,
    /// (burst − 1)·T: how far ahead of now `tat` may be and a request still pass.
    pub tolerance: u64,
}

impl RateLimitSpec {
    pub fn new(scope: LimitScope, applies: Vec<bool>, rate_per_s: f64, burst: u32) -> Self {
        let interval = ((1e9 / rate_per_s).round() as u64).max(1);
        RateLimitSpec {
            scope,
            applies,
            rate_per_s,
            burst,
            interval,
            tolerance: interval.saturating_mul(u64::from(burst.max(1) - 1)),
        }
    }
}

/// A gateway as the scenario describes it.
#[derive(Debug, Clone)]
pub struct GatewaySpec {
    /// CPU time of the auth step (checking a token), per request, on the gateway's cores.
    pub auth: Dist,
    /// Requests larger than this are refused before their body is read (`too_large`).
    pub max_request_bytes: Option<u64>,
    /// Every limit must let a request through; a request one refuses takes no token from
    /// the others.
    pub limits: Vec<RateLimitSpec>,
    /// Request classes, and users of a closed workload (0 for an open one): the buckets
    /// per class and per user.
    pub classes: usize,
    pub users: usize,
}

impl GatewaySpec {
    /// Bytes its buckets take in simulator memory.
    pub fn bucket_bytes(&self) -> u64 {
        let buckets: usize = self.limits.iter().map(|l| self.buckets(l.scope)).sum();
        (buckets * std::mem::size_of::<u64>()) as u64
    }

    fn buckets(&self, scope: LimitScope) -> usize {
        match scope {
            LimitScope::Gateway => 1,
            LimitScope::Class => self.classes,
            LimitScope::User => self.users + 1,
        }
    }
}

/// A gateway's live state: its buckets and what it refused.
#[derive(Debug)]
pub struct Gateway {
    pub spec: GatewaySpec,
    /// Per limit, `tat` of each bucket in ns (one, one per class, or one per user and a last
    /// one for messages carried on no user's behalf).
    tat: Vec<Vec<u64>>,
    /// Per limit, requests it refused (counted requests only, as every refusal count).
    pub limited: Vec<u64>,
    /// Per request class, requests refused `rate_limited`.
    pub limited_by_class: Vec<u64>,
}

impl Gateway {
    pub fn new(spec: GatewaySpec) -> Gateway {
        let tat = spec
            .limits
            .iter()
            .map(|l| vec![0; spec.buckets(l.scope)])
            .collect();
        Gateway {
            limited: vec![0; spec.limits.len()],
            limited_by_class: vec![0; spec.classes],
            tat,
            spec,
        }
    }

    /// Whether a request of `class` from `user`, of `bytes`, arriving at `now` passes: `None`
    /// if it does (taking a token from every limit that applies), else the status it is
    /// refused with. `counted`: it is in the measurement window's counts.
    pub fn admit(
        &mut self,
        now: SimTime,
        class: u16,
        user: u32,
        bytes: u64,
        counted: bool,
    ) -> Option<Status> {
        if self.spec.max_request_bytes.is_some_and(|max| bytes > max) {
            return Some(Status::TooLarge);
        }
        let t = now.0;
        let c = usize::from(class);
        let mut refused_by = None;
        for (i, l) in self.spec.limits.iter().enumerate() {
            if !l.applies[c] {
                continue;
            }
            let tat = self.tat[i][bucket(l.scope, class, user, self.tat[i].len())];
            if t.saturating_add(l.tolerance) < tat {
                refused_by = Some(i);
                break;
            }
        }
        if let Some(i) = refused_by {
            if counted {
                self.limited[i] += 1;
                self.limited_by_class[c] += 1;
            }
            return Some(Status::RateLimited);
        }
        for (i, l) in self.spec.limits.iter().enumerate() {
            if l.applies[c] {
                let b = bucket(l.scope, class, user, self.tat[i].len());
                let tat = &mut self.tat[i][b];
                *tat = (*tat).max(t).saturating_add(l.interval);
            }
        }
        None
    }
}

/// Which of a limit's `len` buckets counts a request of `class` from `user`.
fn bucket(scope: LimitScope, class: u16, user: u32, len: usize) -> usize {
    match scope {
        LimitScope::Gateway => 0,
        LimitScope::Class => usize::from(class),
        LimitScope::User if user == CARRIER => len - 1,
        LimitScope::User => (user as usize).min(len - 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gateway(rate_per_s: f64, burst: u32, scope: LimitScope) -> Gateway {
        let spec = GatewaySpec {
            auth: Dist::Constant(SimTime::ZERO),
            max_request_bytes: Some(1000),
            limits: vec![RateLimitSpec::new(
                scope,
                vec![true, true],
                rate_per_s,
                burst,
            )],
            classes: 2,
            users: 3,
        };
        Gateway::new(spec)
    }

    fn ms(x: u64) -> SimTime {
        SimTime(x * 1_000_000)
    }

    /// 10 per second with a burst of 3: three at once pass, the fourth is refused; one
    /// token comes back every 100 ms, never more than three.
    #[test]
    fn a_bucket_lets_its_burst_through_then_one_per_interval() {
        let mut g = gateway(10.0, 3, LimitScope::Gateway);
        let at = |g: &mut Gateway, t: u64| g.admit(ms(t), 0, 0, 10, true);
        assert_eq!([0, 0, 0].map(|t| at(&mut g, t)), [None; 3]);
        assert_eq!(at(&mut g, 0), Some(Status::RateLimited));
        assert_eq!(at(&mut g, 99), Some(Status::RateLimited));
        assert_eq!(at(&mut g, 100), None);
        assert_eq!(at(&mut g, 150), Some(Status::RateLimited));
        // A long quiet spell refills the bucket to its depth, not beyond.
        assert_eq!(
            [5000, 5000, 5000, 5000].map(|t| at(&mut g, t)),
            [None, None, None, Some(Status::RateLimited)]
        );
        assert_eq!(g.limited, vec![4]);
        assert_eq!(g.limited_by_class, vec![4, 0]);
    }

    /// Over a long busy run, what passes is at most burst + rate × time, and at least
    /// rate × time when requests never stop coming.
    #[test]
    fn a_saturated_bucket_passes_its_rate() {
        let mut g = gateway(250.0, 20, LimitScope::Gateway);
        let passed = (0..100_000u64)
            .filter(|i| g.admit(SimTime(i * 100_000), 0, 0, 1, false).is_none())
            .count() as f64;
        // 10 s of one request every 0.1 ms: 250/s for 10 s, plus the first burst.
        assert!((2500.0..=2520.0).contains(&passed), "{passed}");
    }

    #[test]
    fn buckets_per_class_and_per_user_are_separate() {
        let mut g = gateway(1.0, 1, LimitScope::Class);
        assert_eq!(g.admit(ms(0), 0, 0, 1, true), None);
        assert_eq!(g.admit(ms(0), 1, 0, 1, true), None);
        assert_eq!(g.admit(ms(1), 0, 1, 1, true), Some(Status::RateLimited));
        let mut g = gateway(1.0, 1, LimitScope::User);
        assert_eq!(g.admit(ms(0), 0, 0, 1, true), None);
        assert_eq!(g.admit(ms(0), 1, 1, 1, true), None);
        assert_eq!(g.admit(ms(0), 0, CARRIER, 1, true), None);
        assert_eq!(g.admit(ms(1), 1, 0, 1, true), Some(Status::RateLimited));
    }

    /// A request refused by one limit takes no token from another, and a too-large one
    /// takes none at all.
    #[test]
    fn a_refusal_takes_no_tokens() {
        let spec = GatewaySpec {
            auth: Dist::Constant(SimTime::ZERO),
            max_request_bytes: Some(1000),
            limits: vec![
                RateLimitSpec::new(LimitScope::Gateway, vec![true], 1.0, 2),
                RateLimitSpec::new(LimitScope::User, vec![true], 1.0, 1),
            ],
            classes: 1,
            users: 2,
        };
        let mut g = Gateway::new(spec);
        assert_eq!(g.admit(ms(0), 0, 0, 5000, true), Some(Status::TooLarge));
        assert_eq!(g.admit(ms(0), 0, 0, 1, true), None);
        assert_eq!(g.admit(ms(0), 0, 0, 1, true), Some(Status::RateLimited));
        // User 1 still finds the gateway's second token.
        assert_eq!(g.admit(ms(0), 0, 1, 1, true), None);
        assert_eq!(g.limited, vec![0, 1]);
    }
}
