//! The one door per component: every kind of component, and every capability the simulation
//! asks of one, as one exhaustive `match` each, with no wildcard arm. Adding a kind adds a
//! variant to `Component` (and `ComponentKind`), and the compiler then lists every capability
//! the new kind must answer.
//!
//! The behaviour itself lives in each kind's own module; this file only dispatches. A
//! component reaches another only through the doors here (`Others`): asking where a call
//! lands, opening or closing a pooled connection, asking whether it is up.

use crate::engine::time::SimTime;
use crate::metrics::outcome::Status;
use crate::metrics::timeseries::IntervalLoad;
use crate::model::compute::host::Host;
use crate::model::compute::machine::{Machine, MachineSpec, Refusal};
use crate::model::compute::service::Service;
use crate::model::compute::{background, calls, steps};
use crate::model::context::{Context, Liveness};
use crate::model::data::cache::Cache;
use crate::model::data::database::Database;
use crate::model::distribution::Dist;
use crate::model::ids::{ComponentId, FrameId, RequestId};
use crate::model::messaging::queue::Broker;
use crate::model::messaging::topic::Topic;
use crate::model::net::dns::Dns;
use crate::model::net::load_balancer::Balancer;
use std::ops::Range;

/// A component's live state.
#[derive(Debug)]
pub enum Component {
    Service(Box<Service>),
    Cache(Box<Cache>),
    Database(Box<Database>),
    Balancer(Box<Balancer>),
    Dns(Box<Dns>),
    Queue(Box<Broker>),
    Topic(Box<Topic>),
}

/// Who sends a call: a user, or machine `.1` of component `.0`.
#[derive(Debug, Clone, Copy)]
pub enum Caller {
    User(u32),
    Machine(ComponentId, u32),
}

/// Where a call to a component lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Landing {
    /// On any of this many machines: the caller spreads its calls (no balancer in between).
    Spread(u32),
    /// On this machine (the component chose).
    Machine(u32),
    /// Nowhere yet: this shard of a database has no primary.
    NoPrimary(u32),
}

/// Every component but the one handling an event, reachable only through their doors.
pub struct Others<'a> {
    before: &'a mut [Component],
    after: &'a mut [Component],
    me: usize,
}

impl<'a> Others<'a> {
    /// Every component (for the users, who are not one).
    pub fn all(components: &'a mut [Component]) -> Others<'a> {
        Others {
            before: components,
            after: &mut [],
            me: usize::MAX,
        }
    }

    /// Component `c`'s door. A component never calls itself (validated: calls are acyclic).
    #[inline]
    pub fn get(&mut self, c: ComponentId) -> &mut Component {
        let i = c.index();
        if i < self.me {
            &mut self.before[i]
        } else {
            assert!(i != self.me, "a component reached itself through a door");
            &mut self.after[i - self.me - 1]
        }
    }

    /// Component `c`, to read.
    #[inline]
    pub fn peek(&self, c: ComponentId) -> &Component {
        let i = c.index();
        if i < self.me {
            &self.before[i]
        } else {
            assert!(i != self.me, "a component reached itself through a door");
            &self.after[i - self.me - 1]
        }
    }
}

/// Component `me` and the others.
#[inline]
pub fn split(components: &mut [Component], me: ComponentId) -> (&mut Component, Others<'_>) {
    let (before, rest) = components.split_at_mut(me.index());
    let (this, after) = rest
        .split_first_mut()
        .expect("a component id names a component");
    let me = me.index();
    (this, Others { before, after, me })
}

/// Only servers (services, caches, databases) run programs, hold machines that crash one by
/// one, or are slowed down; only databases fail over or add shards; only balancers and DNS
/// check health. Validation keeps every other pairing out, so an arm that would need one is a
/// bug in the simulator.
const NOT_A_SERVER: &str = "only services, caches and databases run programs on machines";
const NOT_A_DATABASE: &str = "only databases take connections, shard and fail over";
pub(super) const NOT_A_QUEUE: &str = "only queues hold messages and pollers";
const NOT_CALLED: &str = "DNS is resolved by the users, never called";

impl Component {
    /// A call (frame `f`) reaches the component.
    #[inline]
    pub fn arrive(&mut self, ctx: &mut Context, others: &mut Others, f: FrameId) {
        match self {
            Component::Service(s) => steps::arrive(&mut **s, ctx, others, f),
            Component::Cache(c) => steps::arrive(&mut **c, ctx, others, f),
            Component::Database(d) => steps::arrive(&mut **d, ctx, others, f),
            Component::Queue(q) => super::component_messaging::queue_arrive(q, ctx, others, f),
            Component::Topic(t) => {
                super::component_messaging::out_of_line(|| steps::arrive(&mut **t, ctx, others, f))
            }
            Component::Balancer(b) => b.arrive(ctx, f),
            Component::Dns(_) => unreachable!("{NOT_CALLED}"),
        }
    }

    /// The answer to child call `child` (sent by this component) came back.
    #[inline]
    pub fn answer_returned(&mut self, ctx: &mut Context, others: &mut Others, child: FrameId) {
        match self {
            Component::Service(s) => calls::answer_returned(&mut **s, ctx, others, child),
            Component::Cache(c) => calls::answer_returned(&mut **c, ctx, others, child),
            Component::Database(d) => calls::answer_returned(&mut **d, ctx, others, child),
            Component::Balancer(b) => b.answer_returned(ctx, child),
            Component::Queue(_) | Component::Topic(_) => {
                unreachable!("queues and topics call no one")
            }
            Component::Dns(_) => unreachable!("{NOT_CALLED}"),
        }
    }

    /// A CPU step of frame `f` ended.
    #[inline]
    pub fn cpu_done(&mut self, ctx: &mut Context, others: &mut Others, f: FrameId) {
        match self {
            Component::Service(s) => steps::cpu_done(&mut **s, ctx, others, f),
            Component::Cache(c) => steps::cpu_done(&mut **c, ctx, others, f),
            Component::Database(d) => steps::cpu_done(&mut **d, ctx, others, f),
            Component::Queue(q) => super::component_messaging::queue_cpu_done(q, ctx, others, f),
            Component::Topic(t) => super::component_messaging::out_of_line(|| {
                steps::cpu_done(&mut **t, ctx, others, f)
            }),
            Component::Balancer(_) | Component::Dns(_) => unreachable!("{NOT_A_SERVER}"),
        }
    }

    /// A user's kept-alive connection to machine `r`, accepted at `epoch`, reached its idle
    /// timeout: the machine closes it (unless it crashed since).
    pub fn close_idle(&mut self, ctx: &mut Context, r: u32, epoch: u16) {
        let now = ctx.now;
        match self {
            Component::Service(s) => s.server.close_idle(&mut ctx.hosts, r, epoch, now),
            Component::Cache(c) => c.server.close_idle(&mut ctx.hosts, r, epoch, now),
            Component::Database(d) => d.server.close_idle(&mut ctx.hosts, r, epoch, now),
            Component::Queue(q) => q.server.close_idle(&mut ctx.hosts, r, epoch, now),
            Component::Topic(t) => t.server.close_idle(&mut ctx.hosts, r, epoch, now),
            Component::Balancer(b) => b.close_idle(now, epoch),
            Component::Dns(_) => unreachable!("{NOT_CALLED}"),
        }
    }

    /// A process killed for want of memory on machine `r` restarts.
    pub fn restart(&mut self, me: ComponentId, ctx: &mut Context, r: u32, epoch: u16) {
        match self {
            Component::Service(s) => steps::restart(&mut **s, me, ctx, r, epoch),
            Component::Cache(c) => steps::restart(&mut **c, me, ctx, r, epoch),
            Component::Database(d) => steps::restart(&mut **d, me, ctx, r, epoch),
            Component::Queue(q) => steps::restart(&mut **q, me, ctx, r, epoch),
            Component::Topic(t) => steps::restart(&mut **t, me, ctx, r, epoch),
            Component::Balancer(_) | Component::Dns(_) => unreachable!("{NOT_A_SERVER}"),
        }
    }

    /// Run to completion: the background job on machine `r` leaves its core.
    pub fn background_done(&mut self, ctx: &mut Context, r: u32, epoch: u16) {
        match self {
            Component::Service(s) => background::core_done(&mut s.server, ctx, r, epoch),
            Component::Cache(c) => background::core_done(&mut c.server, ctx, r, epoch),
            Component::Database(d) => background::core_done(&mut d.server, ctx, r, epoch),
            Component::Queue(q) => background::core_done(&mut q.server, ctx, r, epoch),
            Component::Topic(t) => background::core_done(&mut t.server, ctx, r, epoch),
            Component::Balancer(_) | Component::Dns(_) => unreachable!("{NOT_A_SERVER}"),
        }
    }

    /// Time-sliced: the background job on machine `r` has had its share of the cores.
    pub fn background_sliced(&mut self, ctx: &mut Context, r: u32) {
        match self {
            Component::Service(s) => background::cpu_finished(&mut s.server, ctx, r),
            Component::Cache(c) => background::cpu_finished(&mut c.server, ctx, r),
            Component::Database(d) => background::cpu_finished(&mut d.server, ctx, r),
            Component::Queue(q) => background::cpu_finished(&mut q.server, ctx, r),
            Component::Topic(t) => background::cpu_finished(&mut t.server, ctx, r),
            Component::Balancer(_) | Component::Dns(_) => unreachable!("{NOT_A_SERVER}"),
        }
    }

    /// Time-sliced: frame `f`'s CPU step has had its share of the cores.
    #[inline]
    pub fn slice_finished(&mut self, ctx: &mut Context, others: &mut Others, f: FrameId) {
        match self {
            Component::Service(s) => steps::slice_finished(&mut **s, ctx, others, f),
            Component::Cache(c) => steps::slice_finished(&mut **c, ctx, others, f),
            Component::Database(d) => steps::slice_finished(&mut **d, ctx, others, f),
            Component::Queue(q) => {
                super::component_messaging::queue_slice_finished(q, ctx, others, f)
            }
            Component::Topic(t) => super::component_messaging::out_of_line(|| {
                steps::slice_finished(&mut **t, ctx, others, f)
            }),
            Component::Balancer(_) | Component::Dns(_) => unreachable!("{NOT_A_SERVER}"),
        }
    }

    /// A wait of frame `f` (disk, replication acks) ended.
    #[inline]
    pub fn wait_done(&mut self, ctx: &mut Context, others: &mut Others, f: FrameId) {
        match self {
            Component::Service(s) => steps::wait_done(&mut **s, ctx, others, f),
            Component::Cache(c) => steps::wait_done(&mut **c, ctx, others, f),
            Component::Database(d) => steps::wait_done(&mut **d, ctx, others, f),
            Component::Queue(q) => super::component_messaging::queue_wait_done(q, ctx, others, f),
            Component::Topic(t) => super::component_messaging::out_of_line(|| {
                steps::wait_done(&mut **t, ctx, others, f)
            }),
            Component::Balancer(_) | Component::Dns(_) => unreachable!("{NOT_A_SERVER}"),
        }
    }

    /// Its periodic health check is due.
    pub fn health_check(&mut self, me: ComponentId, ctx: &mut Context, others: &Others) {
        match self {
            Component::Balancer(b) => b.health_check(me, ctx),
            Component::Dns(d) => d.health_check(me, ctx, others),
            Component::Service(_)
            | Component::Cache(_)
            | Component::Database(_)
            | Component::Queue(_)
            | Component::Topic(_) => unreachable!("only balancers and DNS check health"),
        }
    }

    /// How often it checks health, if it does.
    pub fn health_check_interval(&self) -> Option<SimTime> {
        match self {
            Component::Balancer(b) => b.spec.health_check.as_ref().map(|h| h.interval),
            Component::Dns(d) => Some(d.spec.health_check.interval),
            Component::Service(_)
            | Component::Cache(_)
            | Component::Database(_)
            | Component::Queue(_)
            | Component::Topic(_) => None,
        }
    }

    /// Machine `machine` crashes (`start`) or comes back.
    pub fn crash(
        &mut self,
        me: ComponentId,
        ctx: &mut Context,
        others: &mut Others,
        machine: u32,
        start: bool,
    ) {
        match self {
            Component::Service(s) => crash_or_recover(&mut **s, me, ctx, others, machine, start),
            Component::Cache(c) => crash_or_recover(&mut **c, me, ctx, others, machine, start),
            Component::Database(d) => crash_or_recover(&mut **d, me, ctx, others, machine, start),
            Component::Queue(q) => crash_or_recover(&mut **q, me, ctx, others, machine, start),
            Component::Topic(t) => crash_or_recover(&mut **t, me, ctx, others, machine, start),
            Component::Balancer(_) | Component::Dns(_) => unreachable!("{NOT_A_SERVER}"),
        }
    }

    /// The whole component stops (`start`) or comes back.
    pub fn outage(&mut self, me: ComponentId, ctx: &mut Context, others: &mut Others, start: bool) {
        match self {
            Component::Service(s) => steps::outage(&mut **s, me, ctx, others, start),
            Component::Cache(c) => steps::outage(&mut **c, me, ctx, others, start),
            Component::Database(d) => steps::outage(&mut **d, me, ctx, others, start),
            Component::Queue(q) => steps::outage(&mut **q, me, ctx, others, start),
            Component::Topic(t) => steps::outage(&mut **t, me, ctx, others, start),
            Component::Balancer(b) => b.power(me, ctx, !start),
            // A DNS cannot fail (validated): its targets do.
            Component::Dns(_) => {}
        }
    }

    /// A server's machine spec and machines (to put them on hosts); none for a balancer or
    /// a DNS.
    pub fn server_machines(&mut self) -> Option<(&MachineSpec, &mut [Machine])> {
        match self {
            Component::Service(s) => Some((&s.server.spec.machine, &mut s.server.machines)),
            Component::Cache(c) => Some((&c.server.spec.machine, &mut c.server.machines)),
            Component::Database(d) => Some((&d.server.spec.machine, &mut d.server.machines)),
            Component::Queue(q) => Some((&q.server.spec.machine, &mut q.server.machines)),
            Component::Topic(t) => Some((&t.server.spec.machine, &mut t.server.machines)),
            Component::Balancer(_) | Component::Dns(_) => None,
        }
    }

    /// CPU work on machines `machines` takes `factor` times longer (`start`), or no longer.
    pub fn slow_down(&mut self, machines: Range<u32>, factor: f64, start: bool) {
        let Some((_, fleet)) = self.server_machines() else {
            unreachable!("{NOT_A_SERVER}")
        };
        for m in machines {
            fleet[m as usize].slow_down(factor, start);
        }
    }

    /// A copy of a write of class `class` reaches machine `machine` of this database: it
    /// queues for the machine's applier.
    pub fn replica_apply(&mut self, ctx: &mut Context, machine: u16, epoch: u16, class: u16) {
        match self {
            Component::Database(d) => d.replica_apply(ctx, machine, epoch, class),
            Component::Service(_)
            | Component::Cache(_)
            | Component::Balancer(_)
            | Component::Dns(_)
            | Component::Queue(_)
            | Component::Topic(_) => unreachable!("{NOT_A_DATABASE}"),
        }
    }

    /// A database's failover step: the death of primary `machine` is noticed.
    pub fn failure_detected(&mut self, me: ComponentId, ctx: &mut Context, machine: u32) {
        self.database().failure_detected(ctx, me, machine);
    }

    /// A database's failover step: a new primary for `shard`.
    pub fn promote(&mut self, me: ComponentId, ctx: &mut Context, shard: u32) {
        self.database().promote(ctx, me, shard);
    }

    /// A database adds shards: data starts (`start`) or finishes moving.
    pub fn reshard(&mut self, me: ComponentId, ctx: &mut Context, reshard: u32, start: bool) {
        self.database().reshard(ctx, me, reshard, start);
    }

    fn database(&mut self) -> &mut Database {
        match self {
            Component::Database(d) => d,
            Component::Service(_)
            | Component::Cache(_)
            | Component::Balancer(_)
            | Component::Dns(_)
            | Component::Queue(_)
            | Component::Topic(_) => unreachable!("{NOT_A_DATABASE}"),
        }
    }

    // Doors: what another component (or the users) may ask of this one.

    /// Door: where a call for request `r` from `caller` lands (`shard` for one call of a
    /// scatter-gather).
    #[inline]
    pub fn land(
        &mut self,
        ctx: &Context,
        r: RequestId,
        caller: Caller,
        shard: Option<u32>,
    ) -> Landing {
        match self {
            Component::Service(s) => Landing::Spread(s.server.spec.machine_count),
            Component::Cache(c) => Landing::Spread(c.server.spec.machine_count),
            Component::Database(d) => d.land(ctx, r, caller, shard),
            Component::Queue(_) | Component::Topic(_) => Landing::Machine(0),
            Component::Balancer(_) => Landing::Spread(1),
            Component::Dns(_) => unreachable!("{NOT_CALLED}"),
        }
    }

    /// Door: the shards a query of `class` fans out to, if it does.
    #[inline]
    pub fn fan_out(&self, class: usize) -> Option<u32> {
        match self {
            Component::Database(d) => d.fan_out(class),
            Component::Service(_)
            | Component::Cache(_)
            | Component::Balancer(_)
            | Component::Queue(_)
            | Component::Topic(_) => None,
            Component::Dns(_) => unreachable!("{NOT_CALLED}"),
        }
    }

    /// Door: the cost of opening a connection here, if opening one costs anything.
    #[inline]
    pub fn connect_cost(&self) -> Option<Dist> {
        match self {
            Component::Database(d) => Some(d.connect),
            Component::Service(_)
            | Component::Cache(_)
            | Component::Balancer(_)
            | Component::Queue(_)
            | Component::Topic(_) => None,
            Component::Dns(_) => unreachable!("{NOT_CALLED}"),
        }
    }

    /// Door: a caller's pool opens its `opened`-th connection here.
    pub fn open_pooled(
        &mut self,
        hosts: &mut [Host],
        now: SimTime,
        opened: u32,
    ) -> Result<(), Refusal> {
        self.database().open_pooled(hosts, now, opened)
    }

    /// Door: a caller's machine that held `n` pooled connections here crashed.
    pub fn close_pooled(&mut self, hosts: &mut [Host], now: SimTime, n: u32) {
        self.database().close_pooled(hosts, now, n);
    }

    /// Door: a call here was refused before it was sent (no connection could be opened).
    pub fn count_refusal(&mut self, status: Status) {
        self.database().count_refusal(status);
    }

    /// Door: call `f`, landing at `at` on `shard` that has no primary, waits or is refused.
    pub fn hold_or_refuse(
        &mut self,
        me: ComponentId,
        ctx: &mut Context,
        f: FrameId,
        shard: u32,
        at: SimTime,
    ) {
        self.database().hold_or_refuse(me, ctx, f, shard, at);
    }

    /// Door (for the users): the component a DNS entry sends `user` to; None for the others,
    /// which are called directly.
    #[inline]
    pub fn resolve(&mut self, ctx: &Context, user: u32) -> Option<ComponentId> {
        match self {
            Component::Dns(d) => Some(d.answer(ctx, user)),
            Component::Service(_)
            | Component::Cache(_)
            | Component::Database(_)
            | Component::Balancer(_)
            | Component::Queue(_)
            | Component::Topic(_) => None,
        }
    }

    /// Whether component `me` can serve, as health checks see it.
    pub fn is_up(&self, me: ComponentId, live: &Liveness) -> bool {
        match self {
            Component::Service(_)
            | Component::Cache(_)
            | Component::Database(_)
            | Component::Queue(_)
            | Component::Topic(_) => live.any_up(me),
            Component::Balancer(b) => b.is_up(live),
            Component::Dns(_) => true,
        }
    }

    /// Entries it needs in the liveness table: one per machine, or one for itself.
    pub fn liveness_slots(&self) -> usize {
        match self {
            Component::Service(s) => s.server.machines.len(),
            Component::Cache(c) => c.server.machines.len(),
            Component::Database(d) => d.server.machines.len(),
            Component::Queue(q) => q.server.machines.len(),
            Component::Topic(t) => t.server.machines.len(),
            Component::Balancer(_) | Component::Dns(_) => 1,
        }
    }

    // Measurements.

    pub fn snapshot_window_start(&mut self, hosts: &mut [Host], now: SimTime) {
        match self {
            Component::Service(s) => s.server.snapshot_window_start(hosts, now),
            Component::Cache(c) => c.server.snapshot_window_start(hosts, now),
            Component::Database(d) => d.snapshot_window_start(hosts, now),
            Component::Queue(q) => {
                q.server.snapshot_window_start(hosts, now);
                q.snapshot_window_start(now);
            }
            Component::Topic(t) => t.server.snapshot_window_start(hosts, now),
            Component::Balancer(b) => b.snapshot_window_start(now),
            Component::Dns(_) => {}
        }
    }

    pub fn snapshot_window_end(&mut self, hosts: &mut [Host], now: SimTime) {
        match self {
            Component::Service(s) => s.server.snapshot_window_end(hosts, now),
            Component::Cache(c) => c.server.snapshot_window_end(hosts, now),
            Component::Database(d) => d.snapshot_window_end(hosts, now),
            Component::Queue(q) => {
                q.server.snapshot_window_end(hosts, now);
                q.snapshot_window_end(now);
            }
            Component::Topic(t) => t.server.snapshot_window_end(hosts, now),
            Component::Balancer(b) => b.snapshot_window_end(now),
            Component::Dns(_) => {}
        }
    }

    /// Utilisation and queue since the previous call, for the time series.
    pub fn interval_load(&mut self, hosts: &mut [Host], now: SimTime) -> IntervalLoad {
        match self {
            Component::Service(s) => s.server.interval_load(hosts, now),
            Component::Cache(c) => c.server.interval_load(hosts, now),
            Component::Database(d) => d.server.interval_load(hosts, now),
            Component::Queue(q) => q.interval_load(hosts, now),
            Component::Topic(t) => t.server.interval_load(hosts, now),
            Component::Balancer(b) => b.interval_load(now),
            Component::Dns(_) => IntervalLoad::default(),
        }
    }

    /// The run is over: keeps its hosts' peaks (memory, queue) for the report.
    pub fn record_peaks(&mut self, hosts: &[Host]) {
        match self {
            Component::Service(s) => s.server.record_peaks(hosts),
            Component::Cache(c) => c.server.record_peaks(hosts),
            Component::Database(d) => d.server.record_peaks(hosts),
            Component::Queue(q) => q.server.record_peaks(hosts),
            Component::Topic(t) => t.server.record_peaks(hosts),
            Component::Balancer(_) | Component::Dns(_) => {}
        }
    }

    /// Bytes of heap in queues that grow with load (waiting requests), for the memory guard.
    pub fn queue_heap_bytes(&self) -> u64 {
        match self {
            Component::Service(s) => s.server.queue_heap_bytes(),
            Component::Cache(c) => c.server.queue_heap_bytes(),
            Component::Database(d) => d.queue_heap_bytes(),
            Component::Queue(q) => q.queue_heap_bytes(),
            Component::Topic(t) => t.server.queue_heap_bytes(),
            Component::Balancer(_) | Component::Dns(_) => 0,
        }
    }
}

fn crash_or_recover<K: crate::model::compute::server::ServerKind>(
    k: &mut K,
    me: ComponentId,
    ctx: &mut Context,
    others: &mut Others,
    machine: u32,
    start: bool,
) {
    if start {
        steps::crash_machine(k, me, ctx, others, machine);
    } else {
        steps::recover_machine(k, me, ctx, machine);
    }
}
