//! Replicated and partitioned databases, as the scenario describes them: how many shards and
//! machines, the replication mode, lag and failover settings, each class's route, and which
//! shard a key lives on. The live state (positions, pending writes, failovers) is in
//! `replica_log.rs`; the simulation side in `failover.rs`.
//!
//! A database with `shards` shards of `members` machines each is one server with
//! `shards × members` machines; machine `m` of shard `s` is machine `s × members + m`. Its
//! *replicas* are the members of a shard other than the primary.

use crate::engine::rng::hash_pair;
use crate::engine::time::SimTime;
use crate::model::distribution::Dist;
use crate::scenario::raw::{DuringFailover, Partitioning, ReadFrom};

/// Most machines in one shard (a primary and 15 replicas): sync acks are ranked on the stack.
pub const MAX_MEMBERS: usize = 16;
/// Marks a shard without a primary (between detection and promotion).
pub const NO_PRIMARY: u32 = u32::MAX;

/// Replication styles, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Async,
    /// A write waits until `acks` other machines have applied it.
    Sync {
        acks: u32,
    },
    MultiPrimary,
}

/// What a class's query does, for routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Write,
    Read(ReadFrom),
}

/// Shards added during the run.
#[derive(Debug, Clone, Copy)]
pub struct Reshard {
    pub at: SimTime,
    pub added: u32,
    pub move_for: SimTime,
    /// CPU work on the database's machines is `1 + overhead` times longer while data moves.
    pub overhead: f64,
}

/// Automatic failover, validated.
#[derive(Debug, Clone, Copy)]
pub struct Failover {
    pub detection: SimTime,
    pub promotion: SimTime,
    pub during: DuringFailover,
}

/// A database's replication and partitioning, as the scenario describes it.
#[derive(Debug, Clone)]
pub struct ReplicationSpec {
    /// Shards at the end of the run (machines for all exist from the start).
    pub shards: u32,
    /// Shards in use at the start; `reshards` add the rest.
    pub initial_shards: u32,
    /// Keys placed by hand (key, shard), sorted by key.
    pub pinned: Vec<(u64, u32)>,
    pub reshards: Vec<Reshard>,
    /// Machines per shard (1 + replicas).
    pub members: u32,
    pub partitioning: Partitioning,
    /// The workload's key space (for range partitioning).
    pub key_count: u64,
    pub mode: Mode,
    pub lag: Dist,
    pub failover: Option<Failover>,
    /// Per request class.
    pub routes: Vec<Route>,
    /// Per request class: the query goes to every shard.
    pub fan_out: Vec<bool>,
    /// Per machine of a shard (primary first): its region; empty when all are in the
    /// database's region.
    pub member_regions: Vec<u16>,
    /// `members × members`: the one-way latency between two machines of a shard in different
    /// regions (None within a region), added to the lag and to a sync write's acknowledgement.
    pub member_latency: Vec<Option<Dist>>,
    /// One-way latency of the database's own link (between two of its machines in one
    /// region): the trip a sync write's acknowledgement makes back to the primary there.
    pub local_link: Dist,
}

impl ReplicationSpec {
    /// The shard holding `key` while `active` shards are in use.
    #[inline]
    pub fn shard_of(&self, key: u64, active: u32) -> u32 {
        if !self.pinned.is_empty()
            && let Ok(i) = self.pinned.binary_search_by_key(&key, |&(k, _)| k)
        {
            return self.pinned[i].1;
        }
        if active <= 1 {
            return 0;
        }
        let n = u64::from(active);
        let s = match self.partitioning {
            // A fixed hash, not seeded: where data lives does not change with the seed.
            Partitioning::Hash => hash_pair(0x05ee_d0f5_ba4d, key) % n,
            Partitioning::Range => {
                (u128::from(key) * u128::from(n) / u128::from(self.key_count.max(1))) as u64
            }
        };
        s.min(n - 1) as u32
    }

    /// Shard of machine `r`.
    #[inline]
    pub fn shard_of_machine(&self, r: u32) -> u32 {
        r / self.members
    }

    /// A name for machine `r`, for reports: `shard 0 machine 1` (`machine 1` when unsharded).
    pub fn member_name(&self, r: u32) -> String {
        let (s, m) = (r / self.members, r % self.members);
        if self.shards > 1 {
            format!("shard {s} machine {m}")
        } else {
            format!("machine {m}")
        }
    }
}

/// Where a query goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Machine(u32),
    /// The shard has no primary just now.
    NoPrimary(u32),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_partitioning_keeps_neighbours_together_and_hash_spreads_them() {
        let mut s = ReplicationSpec {
            shards: 4,
            initial_shards: 4,
            pinned: vec![(999, 0)],
            reshards: vec![],
            members: 1,
            partitioning: Partitioning::Range,
            key_count: 1000,
            mode: Mode::Async,
            lag: Dist::Constant(SimTime::ZERO),
            failover: None,
            routes: vec![],
            fan_out: vec![],
            member_regions: vec![],
            member_latency: vec![],
            local_link: Dist::Constant(SimTime::ZERO),
        };
        assert_eq!(
            (s.shard_of(0, 4), s.shard_of(249, 4), s.shard_of(250, 4)),
            (0, 0, 1)
        );
        assert_eq!(s.shard_of(998, 4), 3);
        assert_eq!(s.shard_of(998, 2), 1, "fewer shards in use: wider ranges");
        assert_eq!(s.shard_of(999, 4), 0, "pinned by hand");
        s.partitioning = Partitioning::Hash;
        let mut count = [0; 4];
        for k in 0..4000 {
            count[s.shard_of(k, 4) as usize] += 1;
        }
        // Binomial(4000, 1/4): sd ≈ 27; allow 5 sd.
        assert!(
            count.iter().all(|&c| (c - 1000_i32).abs() < 137),
            "{count:?}"
        );
    }
}
