//! Replicated and partitioned databases: which machine of which shard a query goes to, what
//! a write does to the other machines of its shard (applied after a lag, or waited for), which
//! reads see stale data, which writes conflict on multiple primaries, and what a failover
//! loses.
//!
//! A database with `shards` shards of `members` machines each is one server with
//! `shards × members` replicas; machine `m` of shard `s` is replica `s × members + m`.
//! Every machine applies its shard's writes in commit order, so what a machine has applied is
//! always a prefix of the log: the machine with the fewest unapplied writes is the most up to
//! date, and a failover that promotes it loses only writes no live machine had applied.
//!
//! This file holds the decisions and the bookkeeping; `steps.rs` and `fault.rs` call them
//! at the right moments. Nothing here schedules events.

use crate::engine::rng::{Stream, hash_pair};
use crate::engine::time::SimTime;
use crate::metrics::histogram::Latency;
use crate::model::distribution::Dist;
use crate::model::machine::Replica;
use crate::scenario::raw::{DuringFailover, Partitioning, ReadFrom};
use rand::RngExt;
use std::collections::VecDeque;

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
    pub shards: u32,
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
}

impl ReplicationSpec {
    /// The shard holding `key`.
    #[inline]
    pub fn shard_of(&self, key: u64) -> u32 {
        if self.shards == 1 {
            return 0;
        }
        let s = match self.partitioning {
            // A fixed hash, not seeded: where data lives does not change with the seed.
            Partitioning::Hash => hash_pair(0x05ee_d0f5_ba4d, key) % u64::from(self.shards),
            Partitioning::Range => {
                (u128::from(key) * u128::from(self.shards) / u128::from(self.key_count.max(1)))
                    as u64
            }
        };
        s.min(u64::from(self.shards) - 1) as u32
    }

    /// Shard of replica `r`.
    #[inline]
    pub fn shard_of_replica(&self, r: u32) -> u32 {
        r / self.members
    }

    /// A name for replica `r`, for reports: `s0/m1` (only the machine when unsharded).
    pub fn member_name(&self, r: u32) -> String {
        let (s, m) = (r / self.members, r % self.members);
        if self.shards > 1 {
            format!("shard {s} machine {m}")
        } else {
            format!("machine {m}")
        }
    }
}

/// A write committed on one machine and not yet applied on another.
#[derive(Debug, Clone, Copy)]
struct PendingWrite {
    /// When this machine will have applied it.
    apply: SimTime,
    /// When it committed where it was written.
    commit: SimTime,
    /// When its client was told it succeeded.
    ack: SimTime,
    key: u64,
    /// The machine it was written on.
    origin: u32,
}

/// One failover, for the report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FailoverRecord {
    pub shard: u32,
    pub crashed_at: SimTime,
    pub detected_at: SimTime,
    pub promoted_at: SimTime,
    pub promoted: u32,
    /// Acknowledged writes the new primary never received.
    pub writes_lost: u64,
}

/// Counters of one replicated database.
#[derive(Debug)]
pub struct ReplicationStats {
    /// Writes committed (counted requests only).
    pub writes: u64,
    /// Reads that could be stale: served by a machine that was not the shard's primary (any
    /// machine, with several primaries).
    pub replica_reads: u64,
    /// Reads that returned an older value than the latest acknowledged write of their key.
    pub stale_reads: u64,
    /// How old a stale read's data was: now − commit of the first write it missed.
    pub staleness: Latency,
    /// Time from a write's commit until another machine had applied it: `lag_ms`, plus the
    /// wait for earlier writes (machines apply in commit order).
    pub lag: Latency,
    /// Multi-primary: writes to a key another primary had changed but not yet copied here.
    pub conflicts: u64,
    /// Acknowledged writes lost: by failovers (single primary) or crashes (multi-primary).
    pub writes_lost: u64,
    pub failovers: Vec<FailoverRecord>,
}

/// The live replication state of one database.
#[derive(Debug)]
pub struct ReplicationState {
    /// Per shard: the primary's member index, or `NO_PRIMARY`.
    pub primary: Vec<u32>,
    /// Per replica: writes from others not yet applied, in apply order.
    pending: Vec<VecDeque<PendingWrite>>,
    /// Per replica: apply time of the last write queued (replicas apply in commit order).
    last_apply: Vec<SimTime>,
    /// Per replica: acknowledged writes it will never get (its primary died first).
    missing_acked: Vec<u64>,
    /// Per shard: when its primary died and when that was noticed, while a failover is
    /// under way.
    crashed_at: Vec<Option<SimTime>>,
    detected_at: Vec<Option<SimTime>>,
    /// Per shard: calls (child frames) held until a new primary is promoted.
    pub held: Vec<VecDeque<u32>>,
    pub stats: ReplicationStats,
}

/// Where a query goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Replica(u32),
    /// The shard has no primary just now.
    NoPrimary(u32),
}

impl ReplicationState {
    pub fn new(spec: &ReplicationSpec) -> ReplicationState {
        let n = (spec.shards * spec.members) as usize;
        let shards = spec.shards as usize;
        ReplicationState {
            primary: vec![0; shards],
            pending: vec![VecDeque::new(); n],
            last_apply: vec![SimTime::ZERO; n],
            missing_acked: vec![0; n],
            crashed_at: vec![None; shards],
            detected_at: vec![None; shards],
            held: vec![VecDeque::new(); shards],
            stats: ReplicationStats {
                writes: 0,
                replica_reads: 0,
                stale_reads: 0,
                staleness: Latency::new(),
                lag: Latency::new(),
                conflicts: 0,
                writes_lost: 0,
                failovers: Vec::new(),
            },
        }
    }

    /// Bytes held by queues that grow with load.
    pub fn heap_bytes(&self) -> u64 {
        let pending: usize = self.pending.iter().map(VecDeque::capacity).sum();
        let held: usize = self.held.iter().map(VecDeque::capacity).sum();
        (pending * std::mem::size_of::<PendingWrite>() + held * 4) as u64
    }

    /// The machine a query of `route` for `key` goes to. Reads to replicas skip dead ones
    /// (the driver sees the replica set); writes go to the primary the cluster believes in,
    /// which may have died unnoticed.
    pub fn route(
        &self,
        spec: &ReplicationSpec,
        replicas: &[Replica],
        route: Route,
        key: u64,
        rng: &mut Stream,
    ) -> Target {
        let shard = spec.shard_of(key);
        let base = shard * spec.members;
        let primary = self.primary[shard as usize];
        let any_alive = |skip: u32, rng: &mut Stream| -> Option<u32> {
            let alive = (0..spec.members)
                .filter(|&m| m != skip && replicas[(base + m) as usize].alive)
                .count() as u32;
            if alive == 0 {
                return None;
            }
            let k = rng.random_range(0..alive);
            (0..spec.members)
                .filter(|&m| m != skip && replicas[(base + m) as usize].alive)
                .nth(k as usize)
        };
        let member = match (spec.mode, route) {
            (Mode::MultiPrimary, _) | (_, Route::Read(ReadFrom::Any)) => {
                any_alive(u32::MAX, rng).unwrap_or(0)
            }
            (_, Route::Write | Route::Read(ReadFrom::Primary)) => primary,
            (_, Route::Read(ReadFrom::Replicas)) => match any_alive(primary, rng) {
                Some(m) => m,
                None => primary,
            },
        };
        if member == NO_PRIMARY {
            Target::NoPrimary(shard)
        } else {
            Target::Replica(base + member)
        }
    }

    /// Forgets writes replica `r` has applied by `now`.
    fn settle(&mut self, r: usize, now: SimTime) {
        let q = &mut self.pending[r];
        while q.front().is_some_and(|w| w.apply <= now) {
            q.pop_front();
        }
    }

    /// A write to `key` commits on replica `r` at `now`: every other live machine of its
    /// shard will apply it after a lag. Returns when the client may be answered.
    #[allow(clippy::too_many_arguments)]
    pub fn replicate(
        &mut self,
        spec: &ReplicationSpec,
        replicas: &[Replica],
        r: u32,
        key: u64,
        now: SimTime,
        counted: bool,
        rng: &mut Stream,
    ) -> SimTime {
        let base = spec.shard_of_replica(r) * spec.members;
        if counted {
            self.stats.writes += 1;
        }
        if spec.mode == Mode::MultiPrimary {
            self.settle(r as usize, now);
            if self.pending[r as usize].iter().any(|w| w.key == key) && counted {
                self.stats.conflicts += 1;
            }
        }
        let mut applies = [SimTime::MAX; MAX_MEMBERS];
        let mut n = 0;
        for q in base..base + spec.members {
            if q == r || !replicas[q as usize].alive {
                continue;
            }
            let qi = q as usize;
            self.settle(qi, now);
            let apply = self.last_apply[qi].max(now + spec.lag.sample(rng));
            self.last_apply[qi] = apply;
            if counted {
                self.stats.lag.record(apply - now);
            }
            self.pending[qi].push_back(PendingWrite {
                apply,
                commit: now,
                ack: now,
                key,
                origin: r,
            });
            applies[n] = apply;
            n += 1;
        }
        let ack = match spec.mode {
            Mode::Sync { acks } if n > 0 => {
                // The acks-th machine to apply it; fewer live machines: all of them.
                let k = (acks as usize).min(n);
                applies[..n].sort_unstable();
                applies[k - 1]
            }
            _ => now,
        };
        if ack > now {
            for q in base..base + spec.members {
                if let Some(w) = self.pending[q as usize].back_mut()
                    && w.commit == now
                    && w.origin == r
                    && w.key == key
                {
                    w.ack = ack;
                }
            }
        }
        ack
    }

    /// A read of `key` on replica `r` at `now`: counts it if it is stale.
    pub fn read(&mut self, spec: &ReplicationSpec, r: u32, key: u64, now: SimTime, counted: bool) {
        let shard = spec.shard_of_replica(r);
        let is_primary = self.primary[shard as usize] == r % spec.members;
        if is_primary && spec.mode != Mode::MultiPrimary {
            return;
        }
        self.settle(r as usize, now);
        if !counted {
            return;
        }
        // With several primaries every machine may lag behind the others.
        if !is_primary || spec.mode == Mode::MultiPrimary {
            self.stats.replica_reads += 1;
        }
        // Only writes already acknowledged make a read stale: one still waiting for its
        // acks has not happened yet as far as any client knows.
        if let Some(w) = self.pending[r as usize]
            .iter()
            .find(|w| w.key == key && w.ack <= now)
        {
            self.stats.stale_reads += 1;
            self.stats.staleness.record(now - w.commit);
        }
    }

    /// Replica `r` crashed at `now`: writes it originated stop flowing to the others. Returns
    /// true if it was its shard's primary and a failover should start.
    pub fn crash(&mut self, spec: &ReplicationSpec, r: u32, now: SimTime) -> bool {
        let shard = spec.shard_of_replica(r);
        let base = shard * spec.members;
        self.pending[r as usize].clear();
        if spec.mode != Mode::MultiPrimary && spec.failover.is_none() {
            // Nobody takes over: the primary keeps its log and the replicas catch up when it
            // is back, so nothing is lost.
            return false;
        }
        let mut lost_outright = 0;
        for q in base..base + spec.members {
            let qi = q as usize;
            if q == r {
                continue;
            }
            self.settle(qi, now);
            let before = self.pending[qi].len();
            let mut missing = 0;
            self.pending[qi].retain(|w| {
                let gone = w.origin == r;
                if gone && w.ack <= now {
                    missing += 1;
                }
                !gone
            });
            if self.pending[qi].len() != before {
                self.last_apply[qi] = self.pending[qi].back().map_or(now, |w| w.apply);
            }
            self.missing_acked[qi] += missing;
            lost_outright = lost_outright.max(missing);
        }
        if spec.mode == Mode::MultiPrimary {
            // No promotion: the others carry on without what only the dead one had. A write
            // is lost once however many machines missed it, so count the worst machine.
            self.stats.writes_lost += lost_outright;
            for q in base..base + spec.members {
                self.missing_acked[q as usize] = 0;
            }
            return false;
        }
        let is_primary = self.primary[shard as usize] == r - base;
        if is_primary {
            self.crashed_at[shard as usize] = Some(now);
        }
        is_primary && spec.failover.is_some()
    }

    /// The primary's death (replica `r`) is noticed: the shard has no primary until
    /// `promote`. Returns false if it came back before anyone noticed.
    pub fn detect(
        &mut self,
        spec: &ReplicationSpec,
        replicas: &[Replica],
        r: u32,
        now: SimTime,
    ) -> bool {
        let shard = spec.shard_of_replica(r) as usize;
        if replicas[r as usize].alive || self.primary[shard] != r % spec.members {
            // Back before anyone noticed: nothing was lost after all.
            self.crashed_at[shard] = None;
            let base = shard * spec.members as usize;
            self.missing_acked[base..base + spec.members as usize].fill(0);
            return false;
        }
        self.primary[shard] = NO_PRIMARY;
        self.detected_at[shard] = Some(now);
        true
    }

    /// Promotes the most up-to-date live machine of `shard`. Returns the held calls to
    /// release, or None if no machine is alive (the shard stays without a primary).
    pub fn promote(
        &mut self,
        spec: &ReplicationSpec,
        replicas: &[Replica],
        shard: u32,
        now: SimTime,
    ) -> Option<VecDeque<u32>> {
        let base = shard * spec.members;
        let best = (base..base + spec.members)
            .filter(|&q| replicas[q as usize].alive)
            .min_by_key(|&q| (self.missing_acked[q as usize], q))?;
        let lost = self.missing_acked[best as usize];
        self.stats.writes_lost += lost;
        for q in base..base + spec.members {
            let qi = q as usize;
            self.missing_acked[qi] = 0;
            // The others resynchronise from the new primary.
            self.pending[qi].clear();
            self.last_apply[qi] = now;
        }
        self.primary[shard as usize] = best - base;
        let detected_at = self.detected_at[shard as usize].take().unwrap_or(now);
        self.stats.failovers.push(FailoverRecord {
            shard,
            crashed_at: self.crashed_at[shard as usize]
                .take()
                .unwrap_or(detected_at),
            detected_at,
            promoted_at: now,
            promoted: best,
            writes_lost: lost,
        });
        Some(std::mem::take(&mut self.held[shard as usize]))
    }

    /// Whether `shard` is waiting for a machine to come back to promote.
    pub fn orphaned(&self, shard: u32) -> bool {
        self.primary[shard as usize] == NO_PRIMARY
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::stream_for;
    use crate::model::machine::Machine;

    fn spec(mode: Mode, members: u32, lag_ms: f64) -> ReplicationSpec {
        ReplicationSpec {
            shards: 1,
            members,
            partitioning: Partitioning::Hash,
            key_count: 100,
            mode,
            lag: Dist::Constant(SimTime::from_ms(lag_ms)),
            failover: Some(Failover {
                detection: SimTime::from_ms(100.0),
                promotion: SimTime::from_ms(100.0),
                during: DuringFailover::Fail,
            }),
            routes: vec![Route::Write, Route::Read(ReadFrom::Replicas)],
        }
    }

    fn machines(n: u32) -> Vec<Replica> {
        let m = Machine::new(1, 1.0, 1.0, 0.5, 1.0, 1.0, 1.0, 10, 1000.0, 0.0);
        (0..n).map(|_| Replica::new(&[], &m)).collect()
    }

    fn ms(x: f64) -> SimTime {
        SimTime::from_ms(x)
    }

    #[test]
    fn async_reads_are_stale_until_the_lag_has_passed() {
        let s = spec(Mode::Async, 2, 10.0);
        let reps = machines(2);
        let mut st = ReplicationState::new(&s);
        let mut rng = stream_for(1, "t");
        assert_eq!(
            st.replicate(&s, &reps, 0, 7, ms(0.0), true, &mut rng),
            ms(0.0)
        );
        st.read(&s, 1, 7, ms(4.0), true);
        st.read(&s, 1, 8, ms(4.0), true); // another key: fresh
        st.read(&s, 0, 7, ms(4.0), true); // the primary: fresh, not a replica read
        st.read(&s, 1, 7, ms(10.0), true); // applied
        assert_eq!(st.stats.replica_reads, 3);
        assert_eq!(st.stats.stale_reads, 1);
        assert!((st.stats.staleness.mean_ms() - 4.0).abs() < 0.01);
    }

    #[test]
    fn sync_waits_for_the_kth_ack_and_loses_nothing_on_failover() {
        let mut s = spec(Mode::Sync { acks: 1 }, 3, 0.0);
        s.lag = Dist::Uniform {
            min_ns: 1e6,
            max_ns: 9e6,
        };
        let mut reps = machines(3);
        let mut st = ReplicationState::new(&s);
        let mut rng = stream_for(1, "t");
        let mut acks = Vec::new();
        for i in 0..50_u32 {
            let now = ms(f64::from(i) * 0.5);
            let ack = st.replicate(&s, &reps, 0, i.into(), now, true, &mut rng);
            assert!(ack > now && ack <= now + ms(9.0));
            acks.push(ack);
        }
        // Crash just after the last acknowledgement but while writes are still in flight.
        let crash = ms(24.6);
        reps[0].alive = false;
        assert!(st.crash(&s, 0, crash));
        assert!(st.detect(&s, &reps, 0, ms(30.0)));
        assert_eq!(
            st.route(&s, &reps, Route::Write, 1, &mut rng),
            Target::NoPrimary(0)
        );
        st.promote(&s, &reps, 0, ms(40.0)).unwrap();
        assert_eq!(
            st.stats.writes_lost, 0,
            "sync never loses an acknowledged write"
        );
        assert_ne!(st.primary[0], 0);
    }

    #[test]
    fn async_failover_loses_what_the_best_replica_had_not_applied() {
        let s = spec(Mode::Async, 3, 10.0);
        let mut reps = machines(3);
        let mut st = ReplicationState::new(&s);
        let mut rng = stream_for(1, "t");
        // Writes at 0, 1, …, 9 ms apply at 10, 11, …, 19 ms on both replicas.
        for i in 0..10 {
            st.replicate(&s, &reps, 0, i, ms(i as f64), true, &mut rng);
        }
        reps[0].alive = false;
        assert!(
            st.crash(&s, 0, ms(14.5)),
            "writes applied by 14.5 ms: 0..=4"
        );
        assert!(st.detect(&s, &reps, 0, ms(20.0)));
        st.promote(&s, &reps, 0, ms(25.0)).unwrap();
        assert_eq!(st.stats.writes_lost, 5);
        let f = st.stats.failovers[0];
        assert_eq!(
            (f.crashed_at, f.promoted_at, f.promoted),
            (ms(14.5), ms(25.0), 1)
        );
    }

    #[test]
    fn multi_primary_counts_conflicts_on_the_same_key() {
        let s = spec(Mode::MultiPrimary, 2, 10.0);
        let reps = machines(2);
        let mut st = ReplicationState::new(&s);
        let mut rng = stream_for(1, "t");
        st.replicate(&s, &reps, 0, 5, ms(0.0), true, &mut rng);
        st.replicate(&s, &reps, 1, 5, ms(3.0), true, &mut rng); // 0's write not here yet
        st.replicate(&s, &reps, 1, 5, ms(20.0), true, &mut rng); // it is now
        st.replicate(&s, &reps, 1, 6, ms(21.0), true, &mut rng);
        assert_eq!(st.stats.conflicts, 1);
    }

    #[test]
    fn reads_to_replicas_skip_dead_ones_and_fall_back_to_the_primary() {
        let s = spec(Mode::Async, 3, 10.0);
        let mut reps = machines(3);
        let st = ReplicationState::new(&s);
        let mut rng = stream_for(1, "t");
        let read = Route::Read(ReadFrom::Replicas);
        let mut seen = [0; 3];
        for k in 0..300 {
            let Target::Replica(r) = st.route(&s, &reps, read, k, &mut rng) else {
                panic!()
            };
            seen[r as usize] += 1;
        }
        assert_eq!(seen[0], 0);
        assert!(seen[1] > 100 && seen[2] > 100, "{seen:?}");
        reps[1].alive = false;
        reps[2].alive = false;
        assert_eq!(st.route(&s, &reps, read, 1, &mut rng), Target::Replica(0));
    }

    #[test]
    fn range_partitioning_keeps_neighbours_together_and_hash_spreads_them() {
        let mut s = spec(Mode::Async, 1, 0.0);
        s.shards = 4;
        s.key_count = 1000;
        s.partitioning = Partitioning::Range;
        assert_eq!((s.shard_of(0), s.shard_of(249), s.shard_of(250)), (0, 0, 1));
        assert_eq!(s.shard_of(999), 3);
        s.partitioning = Partitioning::Hash;
        let mut count = [0; 4];
        for k in 0..4000 {
            count[s.shard_of(k) as usize] += 1;
        }
        // Binomial(4000, 1/4): sd ≈ 27; allow 5 sd.
        assert!(
            count.iter().all(|&c| (c - 1000_i32).abs() < 137),
            "{count:?}"
        );
    }
}
