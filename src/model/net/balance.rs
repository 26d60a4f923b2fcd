//! Load-balancing policies: which backend a request goes to. A pure function of what the
//! balancer knows (its backends' health and calls in flight, their weights, the round-robin
//! position) and, for the random policies, the balancer's random stream; it returns a
//! decision that the balancer applies.

use crate::engine::rng::{Stream, hash_pair};
use crate::model::net::health::Observed;
use crate::scenario::raw::LbPolicy;
use rand::RngExt;

/// Salt of key hashing. Not seeded: which backend owns a key is part of the design.
const KEY_HASH_SALT: u64 = 0x6b65_795f_6861_7368;

/// What a policy may read about the backends of one request's group.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    /// The backends (indices) the request may go to.
    pub group: &'a [u32],
    pub health: &'a Observed,
    /// Calls in flight through the balancer, per backend.
    pub active: &'a [u32],
    /// Per backend.
    pub weights: &'a [f64],
    /// Where round robin stands in this group.
    pub cursor: usize,
}

/// Who sent the request, for the hashing policies.
#[derive(Debug, Clone, Copy)]
pub struct Sender {
    pub user: u32,
    pub key: u64,
    pub seed: u64,
}

/// A policy's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    /// The backend, or None when no backend of the group is healthy.
    pub backend: Option<usize>,
    /// Where round robin stands next.
    pub cursor: usize,
}

/// Chooses a healthy backend of `v.group` for a request from `sender` by `policy`.
pub fn choose(policy: LbPolicy, v: View, sender: Sender, rng: &mut Stream) -> Choice {
    let group = v.group;
    let n = group.len();
    let healthy_ones = || {
        group
            .iter()
            .map(|&i| i as usize)
            .filter(|&i| v.health.healthy(i))
    };
    let mut cursor = v.cursor;
    // Counting is only needed once some backend is out.
    let healthy = if v.health.all_healthy() {
        n
    } else {
        healthy_ones().count()
    };
    let backend = if healthy == 0 {
        None
    } else {
        match policy {
            LbPolicy::RoundRobin => {
                let mut found = None;
                for _ in 0..n {
                    let k = cursor % n;
                    cursor = (k + 1) % n;
                    let i = group[k] as usize;
                    if v.health.healthy(i) {
                        found = Some(i);
                        break;
                    }
                }
                found
            }
            LbPolicy::LeastConnections => healthy_ones().min_by_key(|&i| (v.active[i], i)),
            LbPolicy::IpHash | LbPolicy::KeyHash => {
                let h = if policy == LbPolicy::IpHash {
                    hash_pair(sender.seed, u64::from(sender.user))
                } else {
                    hash_pair(KEY_HASH_SALT, sender.key)
                };
                let start = (h % n as u64) as usize;
                (0..n)
                    .map(|k| group[(start + k) % n] as usize)
                    .find(|&i| v.health.healthy(i))
            }
            LbPolicy::Random => {
                let k = rng.random_range(0..healthy);
                healthy_ones().nth(k)
            }
            LbPolicy::Weighted => {
                let total: f64 = healthy_ones().map(|i| v.weights[i]).sum();
                let mut x = rng.random::<f64>() * total;
                let mut last = None;
                let mut found = None;
                for i in healthy_ones() {
                    last = Some(i);
                    x -= v.weights[i];
                    if x < 0.0 {
                        found = Some(i);
                        break;
                    }
                }
                found.or(last)
            }
            LbPolicy::PowerOfTwoChoices => {
                let a = healthy_ones().nth(rng.random_range(0..healthy));
                let b = healthy_ones().nth(rng.random_range(0..healthy));
                match (a, b) {
                    (Some(a), Some(b)) => Some(if v.active[b] < v.active[a] { b } else { a }),
                    _ => None,
                }
            }
        }
    };
    Choice { backend, cursor }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::stream_for;

    /// A balancer's knowledge of `n` backends with weights 1, 2, …, n.
    struct Fixture {
        group: Vec<u32>,
        health: Observed,
        active: Vec<u32>,
        weights: Vec<f64>,
        cursor: usize,
        rng: Stream,
    }

    impl Fixture {
        fn new(n: u32) -> Fixture {
            Fixture {
                group: (0..n).collect(),
                health: Observed::new(n as usize),
                active: vec![0; n as usize],
                weights: (1..=n).map(f64::from).collect(),
                cursor: 0,
                rng: stream_for(1, "lb"),
            }
        }

        fn pick(&mut self, policy: LbPolicy, user: u32, key: u64) -> Option<usize> {
            let view = View {
                group: &self.group,
                health: &self.health,
                active: &self.active,
                weights: &self.weights,
                cursor: self.cursor,
            };
            let sender = Sender { user, key, seed: 9 };
            let c = choose(policy, view, sender, &mut self.rng);
            self.cursor = c.cursor;
            c.backend
        }
    }

    #[test]
    fn round_robin_cycles_and_skips_unhealthy() {
        let mut b = Fixture::new(3);
        let picks: Vec<_> = (0..4)
            .map(|_| b.pick(LbPolicy::RoundRobin, 0, 0).unwrap())
            .collect();
        assert_eq!(picks, [0, 1, 2, 0]);
        b.health.set(1, false);
        let picks: Vec<_> = (0..3)
            .map(|_| b.pick(LbPolicy::RoundRobin, 0, 0).unwrap())
            .collect();
        assert_eq!(picks, [2, 0, 2]);
    }

    #[test]
    fn least_connections_picks_the_idlest() {
        let mut b = Fixture::new(3);
        b.active = vec![5, 2, 7];
        assert_eq!(b.pick(LbPolicy::LeastConnections, 0, 0), Some(1));
    }

    #[test]
    fn ip_hash_is_sticky_and_fails_over() {
        let mut b = Fixture::new(4);
        let home = b.pick(LbPolicy::IpHash, 42, 0).unwrap();
        assert!((0..10).all(|_| b.pick(LbPolicy::IpHash, 42, 0) == Some(home)));
        b.health.set(home, false);
        let other = b.pick(LbPolicy::IpHash, 42, 0).unwrap();
        assert_ne!(other, home);
    }

    #[test]
    fn key_hash_keeps_a_key_on_one_backend_and_spreads_keys() {
        let mut b = Fixture::new(4);
        let home = b.pick(LbPolicy::KeyHash, 1, 77).unwrap();
        assert!(
            (0..50).all(|u| b.pick(LbPolicy::KeyHash, u, 77) == Some(home)),
            "any user, same key"
        );
        let mut seen = [0; 4];
        for k in 0..4000 {
            seen[b.pick(LbPolicy::KeyHash, 0, k).unwrap()] += 1;
        }
        // Binomial(4000, 1/4): sd ≈ 27; allow 5 sd.
        assert!(seen.iter().all(|&c| (c - 1000_i32).abs() < 137), "{seen:?}");
    }

    #[test]
    fn weighted_follows_weights() {
        let mut b = Fixture::new(2); // weights 1 and 2
        let n = 30_000;
        let second = (0..n)
            .filter(|_| b.pick(LbPolicy::Weighted, 0, 0) == Some(1))
            .count();
        // Expect 2/3; binomial sd = sqrt(n·2/9) ≈ 82, allow 5 sd.
        assert!(
            (second as f64 - n as f64 * 2.0 / 3.0).abs() < 410.0,
            "{second}"
        );
    }

    #[test]
    fn power_of_two_choices_takes_the_idler_of_two() {
        let mut b = Fixture::new(2);
        b.active = vec![9, 0];
        // Each pick draws two backends at random: both are backend 0 a quarter of the time.
        let n = 40_000;
        let first = (0..n)
            .filter(|_| b.pick(LbPolicy::PowerOfTwoChoices, 0, 0) == Some(0))
            .count();
        // Binomial(n, 1/4): sd ≈ 87; allow 5 sd.
        assert!((first as f64 - n as f64 / 4.0).abs() < 435.0, "{first}");
    }

    #[test]
    fn no_healthy_backend_is_none() {
        for policy in [
            LbPolicy::RoundRobin,
            LbPolicy::LeastConnections,
            LbPolicy::IpHash,
            LbPolicy::KeyHash,
            LbPolicy::Random,
            LbPolicy::PowerOfTwoChoices,
            LbPolicy::Weighted,
        ] {
            let mut b = Fixture::new(2);
            (0..2).for_each(|i| b.health.set(i, false));
            assert_eq!(b.pick(policy, 0, 0), None, "{policy:?}");
        }
    }
}
