//! The simulation side of replicated and sharded databases: routing a call to a machine of
//! the right shard (or to every shard, for a scatter-gather), holding or refusing calls while
//! a shard has no primary, the failover itself (noticing the primary's death, then promoting a
//! replica), and adding shards during the run. The decisions are in `replica_log.rs`.

use crate::engine::event::EventKind;
use crate::engine::sim::{Component, NO_PARENT, NO_POOL, Simulation};
use crate::engine::time::SimTime;
use crate::metrics::outcome::Status;
use crate::model::machine::Replica;
use crate::model::replica_log::ReplicationState;
use crate::model::replication::ReplicationSpec;
use crate::model::replication::Target;
use crate::model::server::Server;
use crate::model::steps::server_of;
use crate::scenario::raw::DuringFailover;

/// Who sends a query: a user, or replica `.1` of component `.0`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Caller {
    User(u32),
    Machine(u32, u32),
}

/// `EventKind::Failover` phases, in the low bit of `b`.
const DETECT: u32 = 0;
const PROMOTE: u32 = 1;

/// The replication spec, live state and machines of component `c`, if it is a replicated
/// or sharded database.
fn replicated(
    components: &mut [Component],
    c: u32,
) -> Option<(&ReplicationSpec, &mut ReplicationState, &mut [Replica])> {
    let Component::Server(db) = &mut components[c as usize] else {
        return None;
    };
    let Server {
        spec,
        replication,
        replicas,
        ..
    } = &mut **db;
    Some((spec.replication.as_ref()?, replication.as_mut()?, replicas))
}

impl Simulation {
    /// Where a call for request `slot` to component `target` lands, if `target` is a
    /// replicated or sharded database (None otherwise: the caller spreads calls itself).
    #[inline]
    pub(crate) fn database_route(
        &mut self,
        target: u32,
        slot: u32,
        caller: Caller,
        shard: Option<u32>,
    ) -> Option<Target> {
        let Component::Server(t) = &self.components[target as usize] else {
            return None;
        };
        let rs = t.spec.replication.as_ref()?;
        // Only a database spread over regions cares where the caller is.
        let caller_region = if rs.member_regions.is_empty() {
            0
        } else {
            match caller {
                Caller::User(u) => self.user_region(u),
                Caller::Machine(c, r) => self.machine_region(c, r),
            }
        };
        let Component::Server(t) = &mut self.components[target as usize] else {
            return None;
        };
        let Server {
            spec,
            replication,
            replicas,
            rng,
            ..
        } = &mut **t;
        let (rs, st) = (spec.replication.as_ref()?, replication.as_ref()?);
        let req = self.requests.get(slot);
        let route = rs.routes[usize::from(req.class)];
        let shard = shard.unwrap_or_else(|| rs.shard_of(req.key, st.active_shards));
        Some(st.route_in_shard(rs, replicas, route, shard, caller_region, rng))
    }

    /// If the class of frame `f`'s request fans its queries out over the shards of database
    /// `target`, sends one call per shard and returns true. Through a pool, the scatter holds
    /// one pooled connection until its last shard has answered (as a proxy would); without
    /// one, every call opens its own.
    pub(crate) fn scatter(
        &mut self,
        f: u32,
        target: u32,
        pool: u16,
        fresh: bool,
        connect: bool,
    ) -> bool {
        let class = usize::from(self.requests.get(self.frames.get(f).request).class);
        let shards = match replicated(&mut self.components, target) {
            Some((rs, st, _)) if rs.fan_out.get(class) == Some(&true) => st.active_shards,
            _ => return false,
        };
        self.frames.get_mut(f).pending_children = shards as u16;
        let pooled = pool != NO_POOL;
        for s in 0..shards {
            // Every call names the pool; only the last one back gives the connection back.
            let (fresh, connect) = if s == 0 || !pooled {
                (fresh, connect)
            } else {
                (false, false)
            };
            self.send_one(f, target, Some(s), pool, fresh, connect);
        }
        true
    }

    /// Frame `f`, sent to database `target`, finds `shard` without a primary: it waits for
    /// the promotion or is refused `no_primary` (the refusal takes the round trip).
    pub(crate) fn no_primary(&mut self, f: u32, target: u32, shard: u32, at: SimTime) {
        let counted = self.requests.get(self.frames.get(f).request).counted;
        let db = server_of(&mut self.components, target);
        let during = db
            .spec
            .replication
            .as_ref()
            .and_then(|r| r.failover)
            .map_or(DuringFailover::Fail, |f| f.during);
        if let (DuringFailover::Queue, Some(st)) = (during, db.replication.as_mut()) {
            st.held[shard as usize].push_back(f);
            return;
        }
        if counted {
            db.stats.refused[Status::NoPrimary.index()] += 1;
        }
        let fr = self.frames.get_mut(f);
        fr.status = Status::NoPrimary;
        fr.received = true;
        fr.answer_received = true;
        // The refusal comes back the way the call went, without waiting again for a cut link
        // that has healed by then.
        let fr = *self.frames.get(f);
        let there = self.machine_region(target, fr.replica);
        let here = if fr.parent == NO_PARENT {
            self.user_region(self.requests.get(fr.request).user)
        } else {
            let p = *self.frames.get(fr.parent);
            self.machine_region(p.component, p.replica)
        };
        let wait = self.cut_wait(here, there);
        let back = at + (at - self.now).since(wait);
        self.schedule(back, EventKind::FrameReturn, f, 0);
    }

    /// Replica `r` of database `c` crashed: start a failover if it was a primary.
    pub(crate) fn database_crashed(&mut self, c: u32, r: u32) {
        let now = self.now;
        let Some((rs, st, replicas)) = replicated(&mut self.components, c) else {
            return;
        };
        if st.crash(rs, replicas, r, now)
            && let Some((due, _)) = st.detect_due[rs.shard_of_replica(r) as usize]
        {
            self.schedule(due, EventKind::Failover, c, r << 1 | DETECT);
        }
    }

    /// Replica `r` of database `c` is back: it catches up from a live primary, and a shard
    /// whose last promotion found no live machine can now promote it.
    pub(crate) fn database_recovered(&mut self, c: u32, r: u32) {
        let now = self.now;
        let Some((rs, st, replicas)) = replicated(&mut self.components, c) else {
            return;
        };
        st.recover(rs, replicas, r, now);
        let shard = rs.shard_of_replica(r);
        if st.needs_promotion(shard)
            && let Some(f) = rs.failover
        {
            let due = now + f.promotion;
            st.promote_due[shard as usize] = Some(due);
            self.schedule(due, EventKind::Failover, c, shard << 1 | PROMOTE);
        }
    }

    /// A failover step of database `c`: `b` holds the phase and a replica (detect) or a
    /// shard (promote). Steps that a later crash or recovery made stale are ignored.
    pub(crate) fn failover(&mut self, c: u32, b: u32) {
        let now = self.now;
        let Some((rs, st, replicas)) = replicated(&mut self.components, c) else {
            return;
        };
        if b & 1 == DETECT {
            let r = b >> 1;
            let shard = rs.shard_of_replica(r);
            if st.detect(rs, replicas, r, now)
                && let Some(due) = st.promote_due[shard as usize]
            {
                self.schedule(due, EventKind::Failover, c, shard << 1 | PROMOTE);
            }
            return;
        }
        let shard = b >> 1;
        let Some(held) = st.promote(rs, replicas, shard, now) else {
            return;
        };
        let primary = shard * rs.members + st.primary[shard as usize];
        for g in held {
            self.frames.get_mut(g).replica = primary;
            let parent = self.frames.get(g).parent;
            let latency = if parent == NO_PARENT {
                let slot = self.frames.get(g).request;
                self.user_latency(slot, c, primary)
            } else {
                let from = *self.frames.get(parent);
                self.link_latency(from.component, from.replica, c, primary)
            };
            self.schedule(now + latency, EventKind::FrameArrive, g, 0);
        }
    }

    /// Database `c` adds shards (reshard `b >> 1`): while data moves (`b & 1` = 0 starts it)
    /// every machine's CPU work takes longer; once moved, keys spread over the new count.
    pub(crate) fn reshard(&mut self, c: u32, b: u32) {
        let now = self.now;
        let Some((rs, st, replicas)) = replicated(&mut self.components, c) else {
            return;
        };
        let Some(r) = rs.reshards.get((b >> 1) as usize).copied() else {
            return;
        };
        let factor = 1.0 + r.overhead;
        let moving = b & 1 == 0;
        for rep in replicas.iter_mut() {
            rep.slow_down(factor, moving);
        }
        if moving {
            self.schedule(now + r.move_for, EventKind::Reshard, c, b | 1);
        } else {
            st.active_shards = (st.active_shards + r.added).min(rs.shards);
        }
    }
}
