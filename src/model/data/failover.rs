//! The simulation side of replicated and sharded databases: which machine of which shard a
//! query lands on (or every shard, for a scatter-gather: `Database::fan_out`), holding or
//! refusing queries while a shard has no primary, the failover itself (noticing the primary's
//! death, then promoting a machine), and adding shards during the run. The decisions are in
//! `replica_log.rs`.

use crate::engine::time::SimTime;
use crate::metrics::outcome::Status;
use crate::model::component::{Caller, Landing};
use crate::model::compute::background;
use crate::model::context::Context;
use crate::model::data::database::Database;
use crate::model::data::replication::{Mode, Target};
use crate::model::event::Event;
use crate::model::ids::{ComponentId, FrameId, RequestId};
use crate::scenario::raw::DuringFailover;

impl Database {
    /// Door: where a query for request `r` from `caller` lands (`shard` for one call of a
    /// scatter-gather). An unreplicated database lets the caller spread its calls.
    #[inline]
    pub fn land(
        &mut self,
        ctx: &Context,
        r: RequestId,
        caller: Caller,
        shard: Option<u32>,
    ) -> Landing {
        let Some(rep) = self.replication.as_mut() else {
            return Landing::Spread(self.server.spec.machine_count);
        };
        let rs = &rep.spec;
        // Only a database spread over regions cares where the caller is.
        let caller_region = if rs.member_regions.is_empty() {
            0
        } else {
            match caller {
                Caller::User(u) => ctx.user_region(u),
                Caller::Machine(c, m) => ctx.machine_region(c, m),
            }
        };
        let req = ctx.requests.get(r);
        let route = rs.routes[usize::from(req.class)];
        let shard = shard.unwrap_or_else(|| rs.shard_of(req.key, rep.state.active_shards));
        let srv = &mut self.server;
        match rep
            .state
            .route_in_shard(rs, &srv.machines, route, shard, caller_region, &mut srv.rng)
        {
            Target::Machine(m) => Landing::Machine(m),
            Target::NoPrimary(shard) => Landing::NoPrimary(shard),
        }
    }

    /// Door: call `f`, arriving at `at`, finds `shard` without a primary: it waits for the
    /// promotion or is refused `no_primary` (the refusal takes the round trip).
    pub fn hold_or_refuse(
        &mut self,
        me: ComponentId,
        ctx: &mut Context,
        f: FrameId,
        shard: u32,
        at: SimTime,
    ) {
        let counted = ctx.requests.get(ctx.frames.get(f).request).counted;
        let Some(rep) = self.replication.as_mut() else {
            unreachable!("only a replicated database has shards without a primary")
        };
        let during = rep.spec.failover.map_or(DuringFailover::Fail, |f| f.during);
        if during == DuringFailover::Queue {
            rep.state.held[shard as usize].push_back(f);
            return;
        }
        if counted {
            self.server.stats.refused[Status::NoPrimary.index()] += 1;
        }
        let fr = ctx.frames.get_mut(f);
        fr.status = Status::NoPrimary;
        fr.received = true;
        fr.answer_received = true;
        // The refusal comes back the way the call went, without waiting again for a cut link
        // that has healed by then.
        let fr = *ctx.frames.get(f);
        let there = ctx.machine_region(me, fr.machine);
        let here = match fr.parent {
            None => ctx.user_region(ctx.requests.get(fr.request).user),
            Some(p) => {
                let p = *ctx.frames.get(p);
                ctx.machine_region(p.component, p.machine)
            }
        };
        let wait = ctx.cut_wait(here, there);
        let back = at + (at - ctx.now).since(wait);
        ctx.schedule(back, Event::FrameReturn { frame: f });
    }

    /// Machine `machine` crashed: start a failover if it was a primary.
    pub(crate) fn crashed(&mut self, ctx: &mut Context, me: ComponentId, machine: u32) {
        let Some(rep) = self.replication.as_mut() else {
            return;
        };
        let (rs, st) = (&rep.spec, &mut rep.state);
        if !st.crash(rs, &self.server.machines, machine, ctx.now) {
            return;
        }
        let due = match rs.mode {
            // Every machine is a primary: its own death is noticed after the detection delay.
            Mode::MultiPrimary => rs.failover.map(|f| ctx.now + f.detection),
            Mode::Async | Mode::Sync { .. } => {
                st.detect_due[rs.shard_of_machine(machine) as usize].map(|(due, _)| due)
            }
        };
        if let Some(due) = due {
            ctx.schedule(due, Event::FailureDetected { db: me, machine });
        }
    }

    /// A copy of a write of class `class` reaches machine `machine`: it queues for the
    /// machine's applier, which spends the write's CPU on the machine's cores and then its
    /// disk work (a machine that crashed since lost the copy with its log; its catch-up pays
    /// instead).
    pub(crate) fn replica_apply(
        &mut self,
        ctx: &mut Context,
        machine: u16,
        epoch: u16,
        class: u16,
    ) {
        let m = &self.server.machines[usize::from(machine)];
        if m.alive && m.epoch == epoch {
            let (work, ios) = self.sample_apply(class);
            background::queue(&mut self.server, ctx, u32::from(machine), work, ios);
        }
    }

    /// Machine `machine` is back: it catches up from a live primary (its disk doing the
    /// missed writes' work at once), and a shard whose last promotion found no live machine
    /// can now promote it.
    pub(crate) fn recovered(&mut self, ctx: &mut Context, me: ComponentId, machine: u32) {
        let now = ctx.now;
        let (write_cpu_ns, write_ios) = self.write_cost();
        let Some(rep) = self.replication.as_mut() else {
            return;
        };
        let (rs, st) = (&rep.spec, &mut rep.state);
        let missed = st.recover(rs, &self.server.machines, machine, now);
        if missed > 0 && (write_cpu_ns > 0.0 || write_ios > 0) {
            // The missed writes, applied as one job: their mean CPU and their disk work.
            let work = SimTime::from_ns_f64(write_cpu_ns * missed as f64);
            let ios =
                u32::try_from(missed.saturating_mul(u64::from(write_ios))).unwrap_or(u32::MAX);
            background::queue(&mut self.server, ctx, machine, work, ios);
        }
        let shard = rs.shard_of_machine(machine);
        if st.needs_promotion(shard)
            && let Some(f) = rs.failover
        {
            let due = now + f.promotion;
            st.promote_due[shard as usize] = Some(due);
            ctx.schedule(due, Event::Promote { db: me, shard });
        }
    }

    /// The detection of primary `machine`'s death is due. Stale ones (a later crash or
    /// recovery) are ignored.
    pub(crate) fn failure_detected(&mut self, ctx: &mut Context, me: ComponentId, machine: u32) {
        let Some(rep) = self.replication.as_mut() else {
            return;
        };
        let (rs, st) = (&rep.spec, &mut rep.state);
        let shard = rs.shard_of_machine(machine);
        if st.detect(rs, &self.server.machines, machine, ctx.now)
            && let Some(due) = st.promote_due[shard as usize]
        {
            ctx.schedule(due, Event::Promote { db: me, shard });
        }
    }

    /// The promotion of a new primary in `shard` is due: held queries go to it.
    pub(crate) fn promote(&mut self, ctx: &mut Context, me: ComponentId, shard: u32) {
        let now = ctx.now;
        let Some(rep) = self.replication.as_mut() else {
            return;
        };
        let (rs, st) = (&rep.spec, &mut rep.state);
        let Some(held) = st.promote(rs, &self.server.machines, shard, now) else {
            return;
        };
        let primary = shard * rs.members + st.primary[shard as usize];
        for g in held {
            ctx.frames.get_mut(g).machine = primary;
            let fr = *ctx.frames.get(g);
            let latency = match fr.parent {
                None => ctx.user_latency(fr.request, me, primary),
                Some(p) => {
                    let from = *ctx.frames.get(p);
                    ctx.link_latency(from.component, from.machine, me, primary)
                }
            };
            ctx.schedule(now + latency, Event::FrameArrive { frame: g });
        }
    }

    /// Shards are added (reshard number `reshard`): while data moves (`start`) every
    /// machine's CPU work takes longer; once moved, keys spread over the new count.
    pub(crate) fn reshard(
        &mut self,
        ctx: &mut Context,
        me: ComponentId,
        reshard: u32,
        start: bool,
    ) {
        let Some(rep) = self.replication.as_mut() else {
            return;
        };
        let Some(r) = rep.spec.reshards.get(reshard as usize).copied() else {
            return;
        };
        let factor = 1.0 + r.overhead;
        for m in self.server.machines.iter_mut() {
            m.slow_down(factor, start);
        }
        if start {
            ctx.schedule(ctx.now + r.move_for, Event::ReshardDone { db: me, reshard });
        } else {
            rep.state.active_shards = (rep.state.active_shards + r.added).min(rep.spec.shards);
        }
    }
}
