//! The live state of a replicated database: each machine's place in its shard's write log,
//! the writes on their way to each machine, and the failover state machine (crash → noticed →
//! promoted). From these come stale reads, conflicts and lost writes.
//!
//! Every machine applies its shard's writes in commit order, so what a machine has applied is
//! a prefix of the log, its *position*. Acknowledgements are in log order too (a sync write is
//! answered when its `acks`-th machine has applied it, and each machine applies in order), so
//! what clients were told is also a prefix. A failover promotes the live machine with the
//! highest position; the acknowledged writes above it are lost. A machine that was down
//! misses writes; it catches up when it comes back only if its shard's primary is alive.
//!
//! With several primaries there is no single log: each machine receives the others' writes
//! in order, and when one dies, the writes of its that no live machine had applied are lost.

use crate::engine::rng::Stream;
use crate::engine::time::SimTime;
use crate::metrics::histogram::Latency;
use crate::model::compute::machine::Machine;
use crate::model::data::replication::{
    MAX_MEMBERS, Mode, NO_PRIMARY, ReplicationSpec, Route, Target,
};
use crate::model::ids::FrameId;
use crate::scenario::raw::ReadFrom;
use rand::RngExt;
use std::collections::VecDeque;

/// Counters per machine of pending writes by key hash: a read whose counter is 0 is fresh
/// without scanning the machine's pending writes.
const FILTER: usize = 512;

#[inline]
fn bucket(key: u64) -> usize {
    (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 55) as usize % FILTER
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
    /// Its place in the shard's log.
    seq: u64,
    /// The machine it was written on.
    origin: u32,
}

/// One failover, for the report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FailoverRecord {
    pub shard: u32,
    pub crashed_at: SimTime,
    pub detected_at: SimTime,
    /// None while the shard is still without a primary at the end of the run.
    pub promoted_at: Option<SimTime>,
    pub promoted: Option<u32>,
    /// Acknowledged writes the new primary never had.
    pub writes_lost: u64,
    /// For a failover still under way when the run ended: where it stood.
    pub unfinished: Option<&'static str>,
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

/// A primary's death, from the crash to the promotion.
#[derive(Debug, Clone, Copy)]
struct Failing {
    crashed_at: SimTime,
    /// Writes acknowledged by the crash (a prefix of the log).
    acked: u64,
    detected_at: Option<SimTime>,
}

/// The live replication state of one database.
#[derive(Debug)]
pub struct ReplicationState {
    /// Per shard: the primary's member index, or `NO_PRIMARY`.
    pub primary: Vec<u32>,
    /// Shards in use (keys are spread over these).
    pub active_shards: u32,
    /// Per shard: writes committed (the log's length).
    committed: Vec<u64>,
    /// Per shard: ack times of sync writes not yet acknowledged (for the acknowledged prefix).
    unacked: Vec<VecDeque<SimTime>>,
    /// Per machine: its position (the last write it has applied).
    applied: Vec<u64>,
    /// Per machine: writes from others not yet applied, in apply order.
    pending: Vec<VecDeque<PendingWrite>>,
    /// Per machine: `FILTER` counters of its pending writes by key bucket.
    filter: Vec<u32>,
    /// Per machine: apply time of the last write queued (machines apply in commit order).
    last_apply: Vec<SimTime>,
    /// Per shard: a primary death being handled.
    failing: Vec<Option<Failing>>,
    /// Per shard: the one detection or promotion event that is still valid: (due, machine
    /// for a detection). Events that do not match are stale and ignored.
    pub(crate) detect_due: Vec<Option<(SimTime, u32)>>,
    /// Multi-primary: per machine, when its death will be noticed, and whether it has been
    /// (writes stop going to it only then).
    notice_due: Vec<Option<SimTime>>,
    noticed_down: Vec<bool>,
    /// The copies the last `replicate` sent: (machine, when it applies the write). Reused.
    pub applies: Vec<(u32, SimTime)>,
    pub(crate) promote_due: Vec<Option<SimTime>>,
    /// Per shard: calls (child frames) held until a new primary is promoted.
    pub held: Vec<VecDeque<FrameId>>,
    pub stats: ReplicationStats,
}

impl ReplicationState {
    /// Heap each machine of a replicated database takes before any write (its filter and
    /// its per-machine entries), for the memory estimate.
    pub const BYTES_PER_MACHINE: u64 = (FILTER * std::mem::size_of::<u32>()
        + std::mem::size_of::<u64>()
        + std::mem::size_of::<VecDeque<PendingWrite>>()
        + std::mem::size_of::<SimTime>()) as u64;

    pub fn new(spec: &ReplicationSpec) -> ReplicationState {
        let n = (spec.shards * spec.members) as usize;
        let shards = spec.shards as usize;
        ReplicationState {
            primary: vec![0; shards],
            active_shards: spec.initial_shards,
            committed: vec![0; shards],
            unacked: vec![VecDeque::new(); shards],
            applied: vec![0; n],
            pending: vec![VecDeque::new(); n],
            filter: vec![0; n * FILTER],
            last_apply: vec![SimTime::ZERO; n],
            failing: vec![None; shards],
            detect_due: vec![None; shards],
            notice_due: vec![None; n],
            noticed_down: vec![false; n],
            applies: Vec::new(),
            promote_due: vec![None; shards],
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
        let unacked: usize = self.unacked.iter().map(VecDeque::capacity).sum();
        (pending * std::mem::size_of::<PendingWrite>() + held * 4 + unacked * 8) as u64
    }

    /// The machine a query of `route` for `key` goes to. Reads to replicas skip dead ones
    /// (the driver sees the replica set); writes go to the primary the cluster believes in,
    /// which may have died unnoticed.
    #[allow(clippy::too_many_arguments)]
    pub fn route(
        &self,
        spec: &ReplicationSpec,
        machines: &[Machine],
        route: Route,
        key: u64,
        caller_region: u16,
        rng: &mut Stream,
    ) -> Target {
        self.route_in_shard(
            spec,
            machines,
            route,
            spec.shard_of(key, self.active_shards),
            caller_region,
            rng,
        )
    }

    /// The machine of `shard` a query of `route` goes to.
    #[allow(clippy::too_many_arguments)]
    pub fn route_in_shard(
        &self,
        spec: &ReplicationSpec,
        machines: &[Machine],
        route: Route,
        shard: u32,
        caller_region: u16,
        rng: &mut Stream,
    ) -> Target {
        let base = shard * spec.members;
        let primary = self.primary[shard as usize];
        let noticed_down = &self.noticed_down;
        // Multi-primary routes by what it has noticed: a dead machine keeps getting calls
        // until its death is detected. The others see deaths at once.
        let up = |q: usize| match spec.mode {
            Mode::MultiPrimary => !noticed_down[q],
            Mode::Async | Mode::Sync { .. } => machines[q].alive,
        };
        let pick = |ok: &dyn Fn(u32) -> bool, rng: &mut Stream| -> Option<u32> {
            let usable = |m: &u32| ok(*m) && up((base + m) as usize);
            let n = (0..spec.members).filter(usable).count() as u32;
            if n == 0 {
                return None;
            }
            let k = rng.random_range(0..n);
            (0..spec.members).filter(usable).nth(k as usize)
        };
        let local = |m: u32| {
            spec.member_regions
                .get(m as usize)
                .is_none_or(|&r| r == caller_region)
        };
        let member = match (spec.mode, route) {
            (Mode::MultiPrimary, Route::Read(ReadFrom::Nearest) | Route::Write) => {
                pick(&local, rng)
                    .or_else(|| pick(&|_| true, rng))
                    .unwrap_or(0)
            }
            (Mode::MultiPrimary, _) | (_, Route::Read(ReadFrom::Any)) => {
                pick(&|_| true, rng).unwrap_or(0)
            }
            (_, Route::Write | Route::Read(ReadFrom::Primary)) => primary,
            (_, Route::Read(ReadFrom::Nearest)) => pick(&local, rng)
                .or_else(|| pick(&|m| m != primary, rng))
                .unwrap_or(primary),
            (_, Route::Read(ReadFrom::Replicas)) => pick(&|m| m != primary, rng).unwrap_or(primary),
        };
        if member == NO_PRIMARY {
            Target::NoPrimary(shard)
        } else {
            Target::Machine(base + member)
        }
    }

    fn push(&mut self, q: usize, w: PendingWrite) {
        self.filter[q * FILTER + bucket(w.key)] += 1;
        self.pending[q].push_back(w);
    }

    /// Forgets writes machine `q` has applied by `now`, moving its position.
    fn settle(&mut self, q: usize, now: SimTime) {
        while let Some(w) = self.pending[q].front().copied() {
            if w.apply > now {
                break;
            }
            self.pending[q].pop_front();
            self.filter[q * FILTER + bucket(w.key)] -= 1;
            self.applied[q] = self.applied[q].max(w.seq);
        }
    }

    /// Drops machine `q`'s pending writes that `keep` rejects; returns how many of them had
    /// been acknowledged by `now`.
    fn drop_pending(
        &mut self,
        q: usize,
        now: SimTime,
        keep: impl Fn(&PendingWrite) -> bool,
    ) -> u64 {
        let mut acked = 0;
        let mut kept = VecDeque::new();
        std::mem::swap(&mut kept, &mut self.pending[q]);
        kept.retain(|w| {
            if keep(w) {
                return true;
            }
            self.filter[q * FILTER + bucket(w.key)] -= 1;
            acked += u64::from(w.ack <= now);
            false
        });
        self.last_apply[q] = kept.back().map_or(now, |w| w.apply);
        self.pending[q] = kept;
        acked
    }

    /// The first pending write to `key` on machine `q` acknowledged by `now`, if any.
    #[inline]
    fn pending_write(&self, q: usize, key: u64, now: SimTime) -> Option<&PendingWrite> {
        if self.filter[q * FILTER + bucket(key)] == 0 {
            return None;
        }
        self.pending[q]
            .iter()
            .find(|w| w.key == key && w.ack <= now)
    }

    /// A write to `key` commits on machine `r` at `now`: every other live machine of its
    /// shard will apply it after a lag. Returns when the client may be answered.
    #[allow(clippy::too_many_arguments)]
    /// Region pairs in `cut_links` (with the time each heals) hold the copy back until then.
    pub fn replicate(
        &mut self,
        spec: &ReplicationSpec,
        machines: &[Machine],
        r: u32,
        key: u64,
        now: SimTime,
        counted: bool,
        rng: &mut Stream,
        cut_links: &[(u16, u16, SimTime)],
    ) -> SimTime {
        let shard = spec.shard_of_machine(r) as usize;
        let base = shard as u32 * spec.members;
        if counted {
            self.stats.writes += 1;
        }
        if spec.mode == Mode::MultiPrimary {
            self.settle(r as usize, now);
            if counted && self.pending_write(r as usize, key, SimTime::MAX).is_some() {
                self.stats.conflicts += 1;
            }
        }
        self.applies.clear();
        self.committed[shard] += 1;
        let seq = self.committed[shard];
        self.applied[r as usize] = seq;
        let mut applies = [SimTime::MAX; MAX_MEMBERS];
        let mut n = 0;
        for q in base..base + spec.members {
            if q == r || !machines[q as usize].alive {
                continue;
            }
            let qi = q as usize;
            self.settle(qi, now);
            let (from, to) = ((r - base) as usize, (q - base) as usize);
            let far = |a: usize, b: usize, rng: &mut Stream| match spec
                .member_latency
                .get(a * spec.members as usize + b)
            {
                Some(Some(d)) => d.sample(rng),
                _ => SimTime::ZERO,
            };
            // A cut between the two machines' regions holds the stream until it heals.
            let held = match (spec.member_regions.get(from), spec.member_regions.get(to)) {
                (Some(&a), Some(&b)) if a != b => cut_links
                    .iter()
                    .filter(|&&(x, y, _)| (x, y) == (a, b) || (x, y) == (b, a))
                    .map(|&(_, _, heal)| heal.since(now))
                    .max()
                    .unwrap_or(SimTime::ZERO),
                _ => SimTime::ZERO,
            };
            let shipped = now + held + spec.lag.sample(rng) + far(from, to, rng);
            let apply = self.last_apply[qi].max(shipped);
            self.last_apply[qi] = apply;
            if counted {
                self.stats.lag.record(apply - now);
            }
            // A sync write's acknowledgement travels back to the primary: across regions on
            // their link, within one on the database's own.
            let acked = match spec.mode {
                Mode::Sync { .. } => {
                    apply
                        + match spec.member_latency.get(to * spec.members as usize + from) {
                            Some(Some(d)) => d.sample(rng),
                            _ => spec.local_link.sample(rng),
                        }
                }
                _ => apply + far(to, from, rng),
            };
            let w = PendingWrite {
                apply,
                commit: now,
                ack: now,
                key,
                seq,
                origin: r,
            };
            self.push(qi, w);
            self.applies.push((q, apply));
            applies[n] = acked;
            n += 1;
        }
        let ack = match spec.mode {
            // The acks-th acknowledgement to come back; with fewer live machines, all of them;
            // with none, at once (like MySQL's semi-sync falling back to async).
            Mode::Sync { acks } if n > 0 => {
                let k = (acks as usize).min(n);
                applies[..n].sort_unstable();
                applies[k - 1]
            }
            _ => now,
        };
        if ack > now {
            let unacked = &mut self.unacked[shard];
            while unacked.front().is_some_and(|&t| t <= now) {
                unacked.pop_front();
            }
            unacked.push_back(ack);
            for q in base..base + spec.members {
                if let Some(w) = self.pending[q as usize].back_mut()
                    && w.seq == seq
                {
                    w.ack = ack;
                }
            }
        }
        ack
    }

    /// A read of `key` on machine `r` at `now`: counts it if it is stale.
    pub fn read(&mut self, spec: &ReplicationSpec, r: u32, key: u64, now: SimTime, counted: bool) {
        let shard = spec.shard_of_machine(r);
        let is_primary = self.primary[shard as usize] == r % spec.members;
        if is_primary && spec.mode != Mode::MultiPrimary {
            return;
        }
        self.settle(r as usize, now);
        if !counted {
            return;
        }
        self.stats.replica_reads += 1;
        // Only acknowledged writes make a read stale: one still waiting for its acks has not
        // happened yet as far as any client knows.
        if let Some(commit) = self.pending_write(r as usize, key, now).map(|w| w.commit) {
            self.stats.stale_reads += 1;
            self.stats.staleness.record(now - commit);
        }
    }
}

#[path = "replica_log_failover.rs"]
mod failover;

#[cfg(test)]
#[path = "replica_log_tests.rs"]
mod tests;
