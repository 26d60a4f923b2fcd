//! The simulation side of replicated databases: routing a call to a machine of the right
//! shard, holding or refusing calls while a shard has no primary, and the failover itself
//! (noticing the primary's death, then promoting a replica). The decisions are in
//! `replication.rs`.

use crate::engine::event::EventKind;
use crate::engine::sim::{Component, NO_PARENT, Simulation};
use crate::engine::time::SimTime;
use crate::metrics::outcome::Status;
use crate::model::replication::Target;
use crate::model::server::Server;
use crate::model::steps::server_of;
use crate::scenario::raw::DuringFailover;

/// `EventKind::Failover` phases, in the low bit of `b`.
const DETECT: u32 = 0;
const PROMOTE: u32 = 1;

impl Simulation {
    /// Where a call for request `slot` to component `target` lands, if `target` is a
    /// replicated or sharded database (None otherwise: the caller spreads calls itself).
    #[inline]
    pub(crate) fn database_route(&mut self, target: u32, slot: u32) -> Option<Target> {
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
        Some(st.route(
            rs,
            replicas,
            rs.routes[usize::from(req.class)],
            req.key,
            rng,
        ))
    }

    /// Frame `f`, sent to database `target`, finds `shard` without a primary: it waits for
    /// the promotion or is refused `no_primary` (the caller hears at `at`, when it would have
    /// arrived).
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
        self.schedule(at, EventKind::FrameReturn, f, 0);
    }

    /// Replica `r` of database `c` crashed: start a failover if it was a primary.
    pub(crate) fn database_crashed(&mut self, c: u32, r: u32) {
        let now = self.now;
        let db = server_of(&mut self.components, c);
        let (Some(rs), Some(st)) = (db.spec.replication.as_ref(), db.replication.as_mut()) else {
            return;
        };
        if st.crash(rs, r, now)
            && let Some(f) = rs.failover
        {
            self.schedule(now + f.detection, EventKind::Failover, c, r << 1 | DETECT);
        }
    }

    /// Replica `r` of database `c` is back: a shard left without any live machine can now
    /// promote it.
    pub(crate) fn database_recovered(&mut self, c: u32, r: u32) {
        let db = server_of(&mut self.components, c);
        let (Some(rs), Some(st)) = (db.spec.replication.as_ref(), db.replication.as_ref()) else {
            return;
        };
        let shard = rs.shard_of_replica(r);
        if st.orphaned(shard)
            && let Some(f) = rs.failover
        {
            let at = self.now + f.promotion;
            self.schedule(at, EventKind::Failover, c, shard << 1 | PROMOTE);
        }
    }

    /// A failover step of database `c`: `b` holds the phase and a replica (detect) or a
    /// shard (promote).
    pub(crate) fn failover(&mut self, c: u32, b: u32) {
        let now = self.now;
        let db = server_of(&mut self.components, c);
        let Server {
            spec,
            replication,
            replicas,
            ..
        } = &mut *db;
        let (Some(rs), Some(st)) = (spec.replication.as_ref(), replication.as_mut()) else {
            return;
        };
        let Some(f) = rs.failover else { return };
        if b & 1 == DETECT {
            let r = b >> 1;
            if st.detect(rs, replicas, r, now) {
                let shard = rs.shard_of_replica(r);
                self.schedule(
                    now + f.promotion,
                    EventKind::Failover,
                    c,
                    shard << 1 | PROMOTE,
                );
            }
            return;
        }
        let shard = b >> 1;
        if !st.orphaned(shard) {
            return;
        }
        let Some(held) = st.promote(rs, replicas, shard, now) else {
            return;
        };
        let primary = shard * rs.members + st.primary[shard as usize];
        for g in held {
            self.frames.get_mut(g).replica = primary;
            let parent = self.frames.get(g).parent;
            let latency = if parent == NO_PARENT {
                self.user_latency()
            } else {
                let from = self.frames.get(parent).component;
                self.link_latency(from, c)
            };
            self.schedule(now + latency, EventKind::FrameArrive, g, 0);
        }
    }
}
