//! Geographic DNS: a workload entry that sends each user to the nearest target (one entry
//! per region) that DNS believes healthy. Resolving is not a network hop; what makes DNS
//! failover slow is that users cache answers: a user sees DNS as it was up to `ttl` ago, each
//! user lagging by its own fixed share of the TTL (derived from the seed and the user id, so
//! no per-user state is kept).

use crate::engine::rng::hash_pair;
use crate::engine::time::SimTime;
use crate::model::component::Others;
use crate::model::context::Context;
use crate::model::event::Event;
use crate::model::ids::ComponentId;
use crate::model::net::health::{HealthCheck, Observed};

/// Salt that keeps the per-user TTL lag apart from other per-user hashes.
const TTL_SALT: u64 = 0x2d35_8dcc_aa6c_78a5;

/// A DNS component as the scenario describes it.
#[derive(Debug, Clone)]
pub struct DnsSpec {
    /// Target components (entries of regions).
    pub targets: Vec<ComponentId>,
    pub ttl: SimTime,
    pub health_check: HealthCheck,
    /// Per user region: target indices, nearest first.
    pub preference: Vec<Vec<u16>>,
}

/// A DNS component's live state.
#[derive(Debug)]
pub struct Dns {
    pub spec: DnsSpec,
    /// What its health checks believe about each target.
    pub health: Observed,
    /// Per target: (time, healthy) of each change of belief; healthy until the first.
    history: Vec<Vec<(SimTime, bool)>>,
    /// Answers given during the window, per target.
    pub answers: Vec<u64>,
}

impl Dns {
    pub fn new(spec: DnsSpec) -> Dns {
        let n = spec.targets.len();
        Dns {
            spec,
            health: Observed::new(n),
            history: vec![Vec::new(); n],
            answers: vec![0; n],
        }
    }

    /// Whether DNS believed target `t` healthy at `at`.
    #[inline]
    fn healthy_at(&self, t: usize, at: SimTime) -> bool {
        let history = &self.history[t];
        match history.partition_point(|&(when, _)| when <= at) {
            0 => true,
            i => history[i - 1].1,
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
            .find(|&t| self.healthy_at(t, seen))
            .unwrap_or(usize::from(order[0]))
    }

    /// Door: the component a user's request goes to now (counted as an answer in the
    /// window).
    pub fn answer(&mut self, ctx: &Context, user: u32) -> ComponentId {
        let now = ctx.now;
        let region = ctx.user_region(user);
        let t = self.resolve(ctx.scenario.seed, user, region, now);
        if ctx.window.contains(now) {
            self.answers[t] += 1;
        }
        self.spec.targets[t]
    }

    /// DNS `me` checks its targets and updates what it believes.
    pub fn health_check(&mut self, me: ComponentId, ctx: &mut Context, others: &Others) {
        let now = ctx.now;
        let up: Vec<bool> = self
            .spec
            .targets
            .iter()
            .map(|&t| others.peek(t).is_up(t, &ctx.live))
            .collect();
        let history = &mut self.history;
        self.health
            .check(&self.spec.health_check, now, &up, |t, healthy| {
                history[t].push((now, healthy))
            });
        if ctx.still_running() {
            let at = now + self.spec.health_check.interval;
            ctx.schedule(at, Event::HealthCheck { component: me });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dns(ttl_s: f64) -> Dns {
        Dns::new(DnsSpec {
            targets: vec![ComponentId::from_index(10), ComponentId::from_index(11)],
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
        d.history[0].push((SimTime::from_secs(100.0), false));
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
