//! Databases: a server whose program per class is "CPU, then disk I/O" (with the index
//! switch), whose machine's `max_connections` is its connection cap, and which callers reach
//! through connections that cost `connect_ms` to open (pooled ones once: `compute::pool`).
//!
//! A database may be replicated and sharded: then its own steps copy writes and check reads
//! for staleness (`replica_log.rs` keeps the log), and it decides which machine a query lands
//! on, holds queries while a shard has no primary, fails over and adds shards
//! (`failover.rs`). This file holds its state and the doors callers use.

use crate::engine::rng::Stream;
use crate::engine::time::SimTime;
use crate::metrics::histogram::Latency;
use crate::metrics::outcome::Status;
use crate::metrics::time_weighted::mean_between;
use crate::model::compute::host::Host;
use crate::model::compute::machine::Refusal;
use crate::model::compute::server::{Flow, Server, ServerKind, ServerSpec, Step};
use crate::model::context::Context;
use crate::model::data::replica_log::ReplicationState;
use crate::model::data::replication::ReplicationSpec;
use crate::model::distribution::Dist;
use crate::model::event::Event;
use crate::model::ids::{ComponentId, FrameId};
use crate::model::request::{Frame, Request};
use crate::scenario::raw::QueryOp;

/// A database's own steps (replicated databases only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbStep {
    /// Copy the write to the shard's other machines (and, if sync, wait for their
    /// acknowledgements).
    Replicate,
    /// Note whether this read saw stale data.
    ReadCheck,
}

/// A database as the scenario describes it.
#[derive(Debug, Clone)]
pub struct DatabaseSpec {
    pub server: ServerSpec<DbStep>,
    /// Cost of opening a connection.
    pub connect: Dist,
    /// Databases with replicas or shards.
    pub replication: Option<ReplicationSpec>,
}

/// Databases with more machines than this keep only the mean service time per machine (a
/// latency histogram takes about 370 KiB).
pub const MEMBER_HISTOGRAMS: u32 = 64;

/// What one machine of a replicated or sharded database did.
#[derive(Debug)]
pub struct MemberStats {
    /// Calls answered `Ok` during the window.
    pub served: u64,
    /// Service times of counted calls: their sum and number, and (small databases) their
    /// distribution.
    pub service_sum_ns: u128,
    pub service_count: u64,
    pub service: Option<Latency>,
    cpu_area_at_start: u128,
    pub cpu_utilisation: f64,
}

/// A replicated or sharded database's spec, log and per-machine figures.
#[derive(Debug)]
pub struct Replicated {
    pub spec: ReplicationSpec,
    pub state: ReplicationState,
    /// Per machine.
    pub members: Vec<MemberStats>,
}

/// A database's live state.
#[derive(Debug)]
pub struct Database {
    pub server: Server<DbStep>,
    pub connect: Dist,
    pub replication: Option<Replicated>,
}

/// A query's cost as the scenario gives it, before the index switch and machine speed.
#[derive(Debug, Clone)]
pub struct Query {
    pub op: QueryOp,
    pub cpu: Dist,
    pub disk_ios: u32,
}

/// The program a database runs for one query: CPU, then (if any) disk I/O.
/// Without an index, reads scan: their CPU and I/O grow by `unindexed_factor`.
pub fn query_program(
    q: &Query,
    indexed: bool,
    unindexed_factor: f64,
    cpu_speed: f64,
) -> Vec<Step<DbStep>> {
    let scan = if !indexed && q.op == QueryOp::Read {
        unindexed_factor
    } else {
        1.0
    };
    let mut program = vec![Step::Cpu(q.cpu.scaled(scan / cpu_speed))];
    let ios = (f64::from(q.disk_ios) * scan).round() as u32;
    if ios > 0 {
        program.push(Step::Disk(ios));
    }
    program
}

impl Database {
    /// What the costliest write of any class costs a replica to apply, on average: CPU (at
    /// the machine's speed) and disk operations (what a missed copy costs at catch-up).
    pub(crate) fn write_cost(&self) -> (f64, u32) {
        let writes = self
            .server
            .spec
            .programs
            .iter()
            .filter(|p| matches!(p.last(), Some(Step::Own(DbStep::Replicate))));
        let (mut cpu_ns, mut ios) = (0.0f64, 0u32);
        for p in writes {
            cpu_ns = cpu_ns.max(p.iter().map(|s| s.cpu_ms() * 1e6).sum());
            ios = ios.max(p.iter().map(|s| s.disk_ios()).sum());
        }
        (cpu_ns, ios)
    }

    /// One copy of a write of class `class`, as a replica applies it: the write's CPU
    /// (sampled) and its disk operations.
    pub(crate) fn sample_apply(&mut self, class: u16) -> (SimTime, u32) {
        let srv = &mut self.server;
        let (mut work, mut ios) = (SimTime::ZERO, 0u32);
        for s in &srv.spec.programs[usize::from(class)] {
            match s {
                Step::Cpu(d) => work += d.sample(&mut srv.rng),
                Step::Disk(n) => ios = ios.saturating_add(*n),
                Step::Call { .. } | Step::Send { .. } | Step::Own(_) => {}
            }
        }
        (work, ios)
    }

    pub fn new(spec: DatabaseSpec, rng: Stream) -> Database {
        let count = spec.server.machine_count;
        let replication = spec.replication.map(|rs| Replicated {
            state: ReplicationState::new(&rs),
            members: (0..count)
                .map(|_| MemberStats {
                    served: 0,
                    service_sum_ns: 0,
                    service_count: 0,
                    service: (count <= MEMBER_HISTOGRAMS).then(Latency::new),
                    cpu_area_at_start: 0,
                    cpu_utilisation: 0.0,
                })
                .collect(),
            spec: rs,
        });
        Database {
            server: Server::new(spec.server, rng),
            connect: spec.connect,
            replication,
        }
    }

    /// Door: a caller's pool opens its `opened`-th connection here (spread over the machines
    /// in turn).
    pub fn open_pooled(
        &mut self,
        hosts: &mut [Host],
        now: SimTime,
        opened: u32,
    ) -> Result<(), Refusal> {
        let srv = &mut self.server;
        let member = opened as usize % srv.machines.len();
        let m = &mut srv.machines[member];
        m.open_connection(&srv.spec.machine, &mut hosts[m.host as usize], now)
    }

    /// Door: a caller's machine crashed with `n` pooled connections open here.
    pub fn close_pooled(&mut self, hosts: &mut [Host], now: SimTime, n: u32) {
        let srv = &mut self.server;
        let members = srv.machines.len();
        for k in 0..n as usize {
            let m = &mut srv.machines[k % members];
            m.close_connection(&srv.spec.machine, &mut hosts[m.host as usize], now);
        }
    }

    /// Door: a call to this database was refused with `status` before it was sent (its
    /// caller's pool could not open a connection).
    pub fn count_refusal(&mut self, status: Status) {
        self.server.stats.refused[status.index()] += 1;
    }

    /// Door: how many shards a query of `class` goes to, if it fans out.
    pub fn fan_out(&self, class: usize) -> Option<u32> {
        let r = self.replication.as_ref()?;
        (r.spec.fan_out.get(class) == Some(&true)).then_some(r.state.active_shards)
    }

    pub fn snapshot_window_start(&mut self, hosts: &mut [Host], now: SimTime) {
        self.server.snapshot_window_start(hosts, now);
        if let Some(r) = &mut self.replication {
            for (m, machine) in r.members.iter_mut().zip(&self.server.machines) {
                m.cpu_area_at_start = hosts[machine.host as usize].cpu.area_at(now);
            }
        }
    }

    pub fn snapshot_window_end(&mut self, hosts: &mut [Host], now: SimTime) {
        let span = now - self.server.window_started_at;
        if let Some(r) = &mut self.replication {
            let cores = f64::from(self.server.spec.machine.cores);
            for (m, machine) in r.members.iter_mut().zip(&self.server.machines) {
                let area = hosts[machine.host as usize].cpu.area_at(now);
                m.cpu_utilisation = mean_between(m.cpu_area_at_start, area, span) / cores;
            }
        }
        self.server.snapshot_window_end(hosts, now);
    }

    /// Bytes of heap in queues that grow with load.
    pub fn queue_heap_bytes(&self) -> u64 {
        self.server.queue_heap_bytes()
            + self
                .replication
                .as_ref()
                .map_or(0, |r| r.state.heap_bytes())
    }
}

impl ServerKind for Database {
    type Own = DbStep;

    #[inline]
    fn server(&mut self) -> &mut Server<DbStep> {
        &mut self.server
    }

    fn own_step(
        &mut self,
        ctx: &mut Context,
        f: FrameId,
        fr: &Frame,
        req: &Request,
        step: DbStep,
        _: u16,
    ) -> Flow {
        let now = ctx.now;
        let Some(r) = self.replication.as_mut() else {
            return Flow::Next(fr.step + 1);
        };
        match step {
            DbStep::Replicate => {
                let ack = r.state.replicate(
                    &r.spec,
                    &self.server.machines,
                    fr.machine,
                    req.key,
                    now,
                    req.counted,
                    &mut self.server.rng,
                    &ctx.net.cut_links,
                );
                // Each copy costs its machine the write's CPU and disk work when its applier
                // gets to it.
                for &(q, at) in &r.state.applies {
                    // Machines per database stay below 2¹⁶ (validated).
                    let epoch = self.server.machines[q as usize].epoch;
                    ctx.schedule(
                        at,
                        Event::ReplicaApply {
                            db: fr.component,
                            machine: q as u16,
                            epoch,
                            class: req.class,
                        },
                    );
                }
                if ack > now {
                    ctx.schedule(ack, Event::WaitDone { frame: f });
                    return Flow::Wait;
                }
            }
            DbStep::ReadCheck => r.state.read(&r.spec, fr.machine, req.key, now, req.counted),
        }
        Flow::Next(fr.step + 1)
    }

    fn served(&mut self, machine: u32, took: SimTime, counted: bool, ok: bool) {
        let Some(m) = self
            .replication
            .as_mut()
            .and_then(|r| r.members.get_mut(machine as usize))
        else {
            return;
        };
        if counted {
            m.service_sum_ns += u128::from(took.0);
            m.service_count += 1;
            if let Some(h) = m.service.as_mut() {
                h.record(took);
            }
        }
        if ok {
            m.served += 1;
        }
    }

    fn machine_crashed(&mut self, ctx: &mut Context, me: ComponentId, machine: u32) {
        self.crashed(ctx, me, machine);
    }

    fn machine_recovered(&mut self, ctx: &mut Context, me: ComponentId, machine: u32) {
        self.recovered(ctx, me, machine);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unindexed_reads_scan_but_writes_do_not() {
        let q = |op| Query {
            op,
            cpu: Dist::Constant(SimTime::from_ms(1.0)),
            disk_ios: 2,
        };
        let cost = |program: &[Step<DbStep>]| match program {
            [Step::Cpu(d), Step::Disk(n)] => (d.mean_ns() / 1e6, *n),
            _ => panic!("unexpected program {program:?}"),
        };
        assert_eq!(
            cost(&query_program(&q(QueryOp::Read), true, 20.0, 1.0)),
            (1.0, 2)
        );
        assert_eq!(
            cost(&query_program(&q(QueryOp::Read), false, 20.0, 1.0)),
            (20.0, 40)
        );
        assert_eq!(
            cost(&query_program(&q(QueryOp::Write), false, 20.0, 1.0)),
            (1.0, 2)
        );
        assert_eq!(
            cost(&query_program(&q(QueryOp::Read), true, 20.0, 2.0)),
            (0.5, 2),
            "faster CPU"
        );
    }
}
