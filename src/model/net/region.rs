//! Regions: where users live and components run, and the latency between regions. A user's
//! region is derived from (seed, user id), so two million users cost no memory.
//!
//! The network adds the latency between two regions to every message whose ends are in
//! different ones; `Context::link_latency` and `user_latency` apply it (and hold messages
//! across a cut link until it heals).

use crate::engine::rng::{Stream, hash_pair};
use crate::engine::time::SimTime;
use crate::model::context::Context;
use crate::model::distribution::Dist;
use crate::model::ids::ComponentId;

/// Salt that keeps the user → region draw apart from other per-user hashes.
const REGION_SALT: u64 = 0x7e61_0a5d_3c1b_9f27;

/// The scenario's regions.
#[derive(Debug, Clone)]
pub struct Regions {
    /// Sorted by name; a region's id is its index here.
    pub names: Vec<String>,
    /// Cumulative user shares, the last one 1.
    pub user_cdf: Vec<f64>,
    /// Per component: its region.
    pub of_component: Vec<u16>,
    /// Per component: for a database spread over regions, the region of each machine of a
    /// shard (primary first); empty for the rest (all their machines are in
    /// `of_component`'s region).
    pub of_members: Vec<Vec<u16>>,
    /// `latency[a * n + b]`: one-way latency between regions a and b (None on the diagonal).
    pub latency: Vec<Option<Dist>>,
}

impl Regions {
    pub fn count(&self) -> usize {
        self.names.len()
    }

    /// The region user `user` lives in.
    #[inline]
    pub fn of_user(&self, seed: u64, user: u32) -> u16 {
        let u = (hash_pair(seed ^ REGION_SALT, u64::from(user)) >> 11) as f64 / (1u64 << 53) as f64;
        self.user_cdf
            .partition_point(|&c| c <= u)
            .min(self.count() - 1) as u16
    }

    /// One-way latency between regions `a` and `b` (zero within a region).
    #[inline]
    pub fn between(&self, a: u16, b: u16, rng: &mut Stream) -> SimTime {
        match &self.latency[usize::from(a) * self.count() + usize::from(b)] {
            Some(d) => d.sample(rng),
            None => SimTime::ZERO,
        }
    }

    /// The region of machine `machine` of component `c`.
    #[inline]
    pub fn of_machine(&self, c: ComponentId, machine: u32) -> u16 {
        match self.of_members.get(c.index()) {
            Some(members) if !members.is_empty() => members[machine as usize % members.len()],
            _ => self.of_component[c.index()],
        }
    }

    /// Mean one-way latency between regions, in nanoseconds (for "nearest").
    pub fn mean_ns(&self, a: u16, b: u16) -> f64 {
        self.latency[usize::from(a) * self.count() + usize::from(b)]
            .as_ref()
            .map_or(0.0, Dist::mean_ns)
    }
}

impl Context {
    /// Extra time a message from region `a` to region `b` takes now: the region link, and the
    /// wait for a cut link to heal.
    #[inline]
    pub(crate) fn region_hop(&mut self, a: u16, b: u16) -> SimTime {
        if a == b {
            return SimTime::ZERO;
        }
        let Some(regions) = self.scenario.network.regions.as_ref() else {
            return SimTime::ZERO;
        };
        regions.between(a, b, &mut self.net.rng) + self.cut_wait(a, b)
    }

    /// How long a message from region `a` to region `b` sent now waits for a cut link to heal.
    #[inline]
    pub(crate) fn cut_wait(&self, a: u16, b: u16) -> SimTime {
        let mut wait = SimTime::ZERO;
        for &(x, y, heal) in &self.net.cut_links {
            if (x, y) == (a, b) || (x, y) == (b, a) {
                wait = wait.max(heal.since(self.now));
            }
        }
        wait
    }

    /// The region of user `user` (0 without regions).
    #[inline]
    pub(crate) fn user_region(&self, user: u32) -> u16 {
        match &self.scenario.network.regions {
            Some(r) => r.of_user(self.scenario.seed, user),
            None => 0,
        }
    }

    /// The region of machine `machine` of component `c` (0 without regions): its component's,
    /// unless it is a machine of a database spread over regions.
    #[inline]
    pub(crate) fn machine_region(&self, c: ComponentId, machine: u32) -> u16 {
        match &self.scenario.network.regions {
            Some(r) => r.of_machine(c, machine),
            None => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_split_by_share() {
        let r = Regions {
            names: vec!["eu".into(), "us".into()],
            user_cdf: vec![0.25, 1.0],
            of_component: vec![],
            of_members: vec![],
            latency: vec![None; 4],
        };
        let n = 40_000;
        let eu = (0..n).filter(|&u| r.of_user(3, u) == 0).count();
        // Binomial(40000, 1/4): sd ≈ 87; allow 5 sd.
        assert!((eu as f64 - 10_000.0).abs() < 435.0, "{eu}");
        assert_eq!(r.of_user(3, 17), r.of_user(3, 17), "stable per user");
    }
}
