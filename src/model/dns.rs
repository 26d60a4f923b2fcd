//! Geographic DNS: a workload entry that sends each user to the nearest target (one entry
//! per region) that DNS believes healthy. Resolving is not a network hop; what makes DNS
//! failover slow is that users cache answers: a user sees DNS as it was up to `ttl` ago, each
//! user lagging by its own fixed share of the TTL (derived from the seed and the user id, so
//! no per-user state is kept).

use crate::engine::event::EventKind;
use crate::engine::rng::hash_pair;
use crate::engine::sim::{Component, Simulation};
use crate::engine::time::SimTime;
use crate::model::load_balancer::{CheckRecord, HealthChange, HealthCheck};

/// Salt that keeps the per-user TTL lag apart from other per-user hashes.
const TTL_SALT: u64 = 0x2d35_8dcc_aa6c_78a5;

/// A DNS component as the scenario describes it.
#[derive(Debug, Clone)]
pub struct DnsSpec {
    /// Target components (entries of regions).
    pub targets: Vec<u32>,
    pub ttl: SimTime,
    pub health_check: HealthCheck,
    /// Per user region: target indices, nearest first.
    pub preference: Vec<Vec<u16>>,
}

/// What DNS believes about one target.
#[derive(Debug, Clone, Default)]
pub struct TargetHealth {
    pub checks: CheckRecord,
    /// (time, healthy) from the start: the target was healthy until the first change.
    pub history: Vec<(SimTime, bool)>,
}

impl TargetHealth {
    /// Whether DNS believed the target healthy at `t`.
    #[inline]
    fn healthy_at(&self, t: SimTime) -> bool {
        match self.history.partition_point(|&(at, _)| at <= t) {
            0 => true,
            i => self.history[i - 1].1,
        }
    }
}

/// A DNS component's live state.
#[derive(Debug)]
pub struct Dns {
    pub spec: DnsSpec,
    pub targets: Vec<TargetHealth>,
    pub changes: Vec<HealthChange>,
    /// Answers given during the window, per target.
    pub answers: Vec<u64>,
}

impl Dns {
    pub fn new(spec: DnsSpec) -> Dns {
        let n = spec.targets.len();
        Dns {
            spec,
            targets: vec![TargetHealth::default(); n],
            changes: Vec::new(),
            answers: vec![0; n],
        }
    }

    /// The target user `user` of region `region` is sent to at `now`.
    pub fn resolve(&self, seed: u64, user: u32, region: u16, now: SimTime) -> usize {
        let lag = if self.spec.ttl.0 == 0 {
            0
        } else {
            hash_pair(seed ^ TTL_SALT, u64::from(user)) % self.spec.ttl.0
        };
        let seen = SimTime(now.0.saturating_sub(lag));
        let order = &self.spec.preference[usize::from(region)];
        order
            .iter()
            .map(|&t| usize::from(t))
            .find(|&t| self.targets[t].healthy_at(seen))
            .unwrap_or(usize::from(order[0]))
    }
}

impl Simulation {
    /// DNS component `c` checks its targets and updates what it believes.
    pub(crate) fn dns_health_check(&mut self, c: u32) {
        let now = self.now;
        let Component::Dns(dns) = &self.components[c as usize] else {
            return;
        };
        let up: Vec<bool> = dns
            .spec
            .targets
            .iter()
            .map(|&t| self.target_alive(t))
            .collect();
        let Component::Dns(dns) = &mut self.components[c as usize] else {
            return;
        };
        let hc = dns.spec.health_check.clone();
        for (i, up) in up.into_iter().enumerate() {
            let t = &mut dns.targets[i];
            if let Some(healthy) = hc.observe(&mut t.checks, up) {
                t.history.push((now, healthy));
                dns.changes.push(HealthChange {
                    at: now,
                    backend: i,
                    healthy,
                });
            }
        }
        if self.accepting || self.outstanding > 0 {
            self.schedule(now + hc.interval, EventKind::HealthCheck, c, 0);
        }
    }

    /// Whether component `t` can serve: a live replica, or a live balancer with a live backend.
    pub(crate) fn target_alive(&self, t: u32) -> bool {
        match &self.components[t as usize] {
            Component::Server(s) => s.replicas.iter().any(|r| r.alive),
            Component::Balancer(b) => {
                b.alive
                    && b.spec
                        .backends
                        .iter()
                        .any(|&(s, r, _)| match &self.components[s as usize] {
                            Component::Server(srv) => srv.replicas[r as usize].alive,
                            _ => true,
                        })
            }
            Component::Dns(_) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dns(ttl_s: f64) -> Dns {
        Dns::new(DnsSpec {
            targets: vec![10, 11],
            ttl: SimTime::from_secs(ttl_s),
            health_check: HealthCheck {
                interval: SimTime::from_secs(1.0),
                unhealthy_threshold: 1,
                healthy_threshold: 1,
            },
            preference: vec![vec![0, 1], vec![1, 0]],
        })
    }

    #[test]
    fn users_go_to_their_nearest_healthy_target() {
        let d = dns(0.0);
        let t = SimTime::from_secs(5.0);
        assert_eq!(d.resolve(1, 7, 0, t), 0);
        assert_eq!(d.resolve(1, 7, 1, t), 1);
    }

    #[test]
    fn after_a_target_is_taken_out_users_move_within_the_ttl() {
        let mut d = dns(60.0);
        d.targets[0]
            .history
            .push((SimTime::from_secs(100.0), false));
        let moved_by = |t: f64| {
            (0..10_000)
                .filter(|&u| d.resolve(1, u, 0, SimTime::from_secs(t)) == 1)
                .count()
        };
        assert_eq!(moved_by(99.0), 0);
        assert_eq!(moved_by(160.0), 10_000, "everyone within the TTL");
        // Lags are uniform over the TTL: half have moved 30 s in (sd of a binomial(10⁴, ½)
        // is 50; allow 5 sd).
        assert!((moved_by(130.0) as i64 - 5_000).abs() < 250);
    }
}
