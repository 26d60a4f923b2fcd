//! Load balancers: spread calls over the machines of backend services by a policy
//! (`balance.rs`), refuse beyond their own connection cap, and (with health checks,
//! `health.rs`) stop sending to dead backends only once enough checks have failed. A balancer
//! runs on a machine of its own: each request costs CPU on its cores (run to completion, as an
//! event-loop proxy), and requests and answers pass its NIC both ways, so it can be the
//! bottleneck.

use crate::engine::rng::Stream;
use crate::engine::time::SimTime;
use crate::metrics::outcome::{STATUS_COUNT, Status};
use crate::metrics::time_weighted::{TimeWeighted, mean_between};
use crate::metrics::timeseries::IntervalLoad;
use crate::model::compute::host::Nic;
use crate::model::compute::machine::MachineSpec;
use crate::model::context::Context;
use crate::model::distribution::Dist;
use crate::model::event::Event;
use crate::model::ids::{ComponentId, FrameId};
use crate::model::net::balance::{Sender, View, choose};
use crate::model::net::gateway::{Gateway, GatewaySpec};
use crate::model::net::health::{HealthCheck, Observed};
use crate::model::request::Frame;
use crate::scenario::raw::LbPolicy;

/// One backend: a machine of a backend component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backend {
    pub target: ComponentId,
    pub machine: u32,
}

/// A load balancer as the scenario describes it.
#[derive(Debug, Clone)]
pub struct BalancerSpec {
    /// Every backend machine.
    pub backends: Vec<Backend>,
    /// Per backend (1 each unless the scenario gives weights).
    pub weights: Vec<f64>,
    pub policy: LbPolicy,
    /// CPU time per forwarded request.
    pub forward: Dist,
    /// CPU time to accept a user's new connection.
    pub accept: Dist,
    /// Its machine: only the cores and the NIC are used.
    pub machine: MachineSpec,
    pub max_connections: u32,
    pub health_check: Option<HealthCheck>,
    pub cost_per_hour: f64,
    /// Sets of backend indices a request may go to (routing by class); without routes, one
    /// set of every backend.
    pub groups: Vec<Vec<u32>>,
    /// Per request class, its index in `groups`.
    pub class_group: Vec<u16>,
    /// An API gateway's auth step, size and rate limits (`"kind": "gateway"`).
    pub gateway: Option<GatewaySpec>,
}

impl BalancerSpec {
    /// The components it sends to, each once, in the order given.
    pub fn callees(&self) -> Vec<ComponentId> {
        let mut out: Vec<ComponentId> = self.backends.iter().map(|b| b.target).collect();
        out.dedup();
        out
    }
}

/// A load balancer's live state.
#[derive(Debug)]
pub struct Balancer {
    pub spec: BalancerSpec,
    /// What its health checks believe about each backend.
    pub health: Observed,
    /// Calls in flight through this balancer, per backend.
    pub active: Vec<u32>,
    /// Calls sent, per backend.
    pub sent: Vec<u64>,
    pub rng: Stream,
    /// Round-robin position, per group.
    cursors: Vec<usize>,
    pub connections: u32,
    pub conns: TimeWeighted,
    pub refused: [u64; STATUS_COUNT],
    /// Calls answered `Ok` during the window.
    pub served: u64,
    /// False while the balancer is down (an outage); `epoch` counts its crashes so calls it
    /// forwarded before one are recognised when their answers come back.
    pub alive: bool,
    pub epoch: u16,
    /// Outages in force (overlapping ones keep it down until the last ends).
    down: u32,
    /// When each core is next free (work runs to its end, first come first served).
    core_free: Vec<SimTime>,
    /// CPU time booked on the cores, in ns.
    cpu_booked: u64,
    /// Its NIC (the machine's other parts are unused).
    nic: Nic,
    window_area: u128,
    window_cpu: u128,
    window_nic: u128,
    window_started: SimTime,
    pub mean_connections: f64,
    /// Over the window: busy share of its cores, and of its NIC's busier direction.
    pub cpu_utilisation: f64,
    pub nic_utilisation: f64,
    last_tick_area: u128,
    last_tick: SimTime,
    /// A gateway's buckets and refusals.
    pub gateway: Option<Box<Gateway>>,
}

impl Balancer {
    pub fn new(spec: BalancerSpec, rng: Stream) -> Balancer {
        let n = spec.backends.len();
        Balancer {
            gateway: spec.gateway.clone().map(|g| Box::new(Gateway::new(g))),
            core_free: vec![SimTime::ZERO; spec.machine.cores as usize],
            cpu_booked: 0,
            nic: Nic::default(),
            window_cpu: 0,
            window_nic: 0,
            cpu_utilisation: 0.0,
            nic_utilisation: 0.0,
            health: Observed::new(n),
            active: vec![0; n],
            sent: vec![0; n],
            cursors: vec![0; spec.groups.len()],
            spec,
            rng,
            connections: 0,
            conns: TimeWeighted::default(),
            refused: [0; STATUS_COUNT],
            served: 0,
            alive: true,
            epoch: 0,
            down: 0,
            window_area: 0,
            window_started: SimTime::ZERO,
            mean_connections: 0.0,
            last_tick_area: 0,
            last_tick: SimTime::ZERO,
        }
    }

    /// ∫ busy cores dt up to `now`: the work booked, less what lies beyond `now`.
    fn cpu_area(&self, now: SimTime) -> u128 {
        let ahead: u64 = self.core_free.iter().map(|&t| (t - now).0).sum();
        u128::from(self.cpu_booked.saturating_sub(ahead))
    }

    /// ∫ busy dt of the NIC's busier direction up to `now`.
    fn nic_area(&self, now: SimTime) -> u128 {
        self.nic.busy_area(now)
    }

    pub fn snapshot_window_start(&mut self, now: SimTime) {
        self.window_area = self.conns.area_at(now);
        self.window_cpu = self.cpu_area(now);
        self.window_nic = self.nic_area(now);
        self.window_started = now;
    }

    pub fn snapshot_window_end(&mut self, now: SimTime) {
        let span = now - self.window_started;
        let area = self.conns.area_at(now);
        self.mean_connections = mean_between(self.window_area, area, span);
        let cores = f64::from(self.spec.machine.cores);
        self.cpu_utilisation = mean_between(self.window_cpu, self.cpu_area(now), span) / cores;
        self.nic_utilisation = mean_between(self.window_nic, self.nic_area(now), span);
    }

    /// Runs `work`, ready at `now`, on the core free first (after the work booked before it);
    /// returns when it ends.
    fn compute(&mut self, now: SimTime, work: SimTime) -> SimTime {
        let (core, free) = self
            .core_free
            .iter()
            .copied()
            .enumerate()
            .min_by_key(|&(i, t)| (t, i))
            .expect("a balancer has a core");
        let done = free.max(now) + work;
        self.core_free[core] = done;
        self.cpu_booked = self.cpu_booked.saturating_add(work.0);
        done
    }

    /// Mean share of the connection cap in use since the previous call (a balancer has
    /// no queue: a request it cannot pass on is refused).
    pub fn interval_load(&mut self, now: SimTime) -> IntervalLoad {
        let area = self.conns.area_at(now);
        let utilisation = mean_between(self.last_tick_area, area, now - self.last_tick)
            / f64::from(self.spec.max_connections);
        self.last_tick_area = area;
        self.last_tick = now;
        IntervalLoad {
            utilisation,
            hottest_utilisation: utilisation,
            mean_queue: 0.0,
            messages: None,
            replicas: None,
        }
    }

    /// A call reaches the balancer: its NIC receives it, then it refuses it or forwards it to
    /// a backend after its CPU work.
    pub fn arrive(&mut self, ctx: &mut Context, f: FrameId) {
        let now = ctx.now;
        let fr = *ctx.frames.get(f);
        let req = *ctx.requests.get(fr.request);
        let bytes = ctx.scenario.workload.classes[usize::from(req.class)].request_bytes;
        if fr.admitted {
            return self.forward(ctx, f, bytes);
        }
        if !self.alive {
            // A user's kept-alive connection to it is reset: the next attempt connects again.
            ctx.note_user_connection(&fr, fr.component, self.epoch, false);
            return reply(ctx, f, Status::BackendDown);
        }
        let mut fresh = fr.fresh_connection;
        if !fresh && fr.parent.is_none() && fr.epoch != self.epoch {
            // A user's kept-alive connection died when the balancer went down: it connects
            // again.
            fresh = true;
            ctx.frames.get_mut(f).fresh_connection = true;
        }
        if fresh && self.connections >= self.spec.max_connections {
            if req.counted {
                self.refused[Status::ConnectionLimit.index()] += 1;
            }
            ctx.note_user_connection(&fr, fr.component, self.epoch, false);
            return reply(ctx, f, Status::ConnectionLimit);
        }
        if let Some(gw) = self.gateway.as_deref_mut()
            && let Some(status) = gw.admit(now, req.class, req.user, bytes, req.counted)
        {
            return self.turn_away(ctx, f, fresh, bytes, status);
        }
        let g = usize::from(self.spec.class_group[usize::from(req.class)]);
        let view = View {
            group: &self.spec.groups[g],
            health: &self.health,
            active: &self.active,
            weights: &self.spec.weights,
            cursor: self.cursors[g],
        };
        let sender = Sender {
            user: req.user,
            key: req.key,
            seed: ctx.scenario.seed,
        };
        let choice = choose(self.spec.policy, view, sender, &mut self.rng);
        self.cursors[g] = choice.cursor;
        let Some(i) = choice.backend else {
            if req.counted {
                self.refused[Status::NoHealthyBackend.index()] += 1;
            }
            if fresh {
                ctx.note_user_connection(&fr, fr.component, self.epoch, false);
            }
            return reply(ctx, f, Status::NoHealthyBackend);
        };
        if fresh {
            self.connections += 1;
            self.conns.set(now, u64::from(self.connections));
            ctx.note_user_connection(&fr, fr.component, self.epoch, true);
        }
        self.active[i] += 1;
        self.sent[i] += 1;
        // Accepted: its NIC takes the request in (FIFO, so in arrival order), then a core
        // works on it; one event comes back when the work is done. (A request refused at the
        // handshake costs neither, as on a server; one a gateway rate-limits costs both.)
        let forwarded = self.read_in(ctx, f, fresh, bytes);
        let lf = ctx.frames.get_mut(f);
        lf.epoch = self.epoch;
        lf.backend = i as u32;
        lf.admitted = true;
        if forwarded > now {
            ctx.schedule(forwarded, Event::FrameArrive { frame: f });
            return;
        }
        self.forward(ctx, f, bytes);
    }

    /// Its NIC takes call `f` (of `bytes`) in, then a core forwards it (and, on a gateway,
    /// authenticates it; on a `fresh` connection from a user, accepts it first); returns when
    /// that work is done. Both are booked now, in that order, first come first served.
    fn read_in(&mut self, ctx: &mut Context, f: FrameId, fresh: bool, bytes: u64) -> SimTime {
        let now = ctx.now;
        let fr = ctx.frames.get_mut(f);
        fr.received = true;
        let (wire, root) = (fr.wire, fr.parent.is_none());
        let received = self
            .nic
            .receive(&self.spec.machine, bytes, now, wire)
            .unwrap_or(now);
        let mut work = self.spec.forward.sample(&mut self.rng);
        if fresh && root && self.spec.accept.mean_ns() > 0.0 {
            work += self.spec.accept.sample(&mut self.rng);
        }
        if let Some(gw) = &self.gateway {
            work += gw.spec.auth.sample(&mut self.rng);
        }
        self.compute(received, work)
    }

    /// A gateway refuses call `f` with `status` (`rate_limited` or `too_large`) over the
    /// connection it came on: a rate-limited request was read in and authenticated first (a
    /// client that misbehaves costs the gateway, not the backends); a too-large one is refused
    /// from its headers, before its body is read.
    fn turn_away(
        &mut self,
        ctx: &mut Context,
        f: FrameId,
        fresh: bool,
        bytes: u64,
        status: Status,
    ) {
        let now = ctx.now;
        let fr = *ctx.frames.get(f);
        if ctx.requests.get(fr.request).counted {
            self.refused[status.index()] += 1;
        }
        if fresh {
            ctx.note_user_connection(&fr, fr.component, self.epoch, true);
        }
        let done = if status == Status::RateLimited {
            self.read_in(ctx, f, fresh, bytes)
        } else {
            now
        };
        if fresh && !ctx.closes_after(&fr) {
            // Kept alive: the connection stays open after the refusal, as HTTP's does.
            self.connections += 1;
            self.conns.set(now, u64::from(self.connections));
        }
        let lf = ctx.frames.get_mut(f);
        lf.epoch = self.epoch;
        answer(ctx, f, status, done, SimTime::ZERO);
    }

    /// Its CPU is done with call `f`: the NIC sends it to the backend chosen.
    fn forward(&mut self, ctx: &mut Context, f: FrameId, bytes: u64) {
        let now = ctx.now;
        let fr = *ctx.frames.get(f);
        if fr.epoch != self.epoch || !self.alive {
            // The balancer went down meanwhile: the call died with it.
            return reply(ctx, f, Status::BackendDown);
        }
        let i = fr.backend as usize;
        let Backend { target, machine } = self.spec.backends[i];
        let (sent, wire) = self.nic.send(&self.spec.machine, bytes, now);
        let at = sent + ctx.link_latency(fr.component, 0, target, machine);
        let child = ctx.frames.insert(Frame {
            request: fr.request,
            parent: Some(f),
            component: target,
            machine,
            backend: i as u32,
            wire,
            ..Frame::default()
        });
        ctx.schedule(at, Event::FrameArrive { frame: child });
    }

    /// The backend's answer to child call `child` came back: its NIC receives it, and sends
    /// it on.
    pub fn answer_returned(&mut self, ctx: &mut Context, child: FrameId) {
        let now = ctx.now;
        let c = *ctx.frames.get(child);
        let bytes = if c.status == Status::Ok {
            ctx.class_of(c.request).response_bytes
        } else {
            0
        };
        if !c.answer_received {
            ctx.frames.get_mut(child).answer_received = true;
            if self.alive {
                let done = self
                    .nic
                    .receive(&self.spec.machine, bytes, now, c.wire)
                    .unwrap_or(now);
                if done > now {
                    ctx.schedule(done, Event::FrameReturn { frame: child });
                    return;
                }
            }
        }
        ctx.frames.remove(child);
        let p = c.parent.expect("an answer returns to its caller");
        if ctx.frames.get(p).epoch != self.epoch {
            // Forwarded before the balancer went down: its connection died with it.
            return reply(ctx, p, Status::BackendDown);
        }
        if ctx.closes_after(ctx.frames.get(p)) {
            self.connections -= 1;
            self.conns.set(now, u64::from(self.connections));
        }
        self.active[c.backend as usize] -= 1;
        if c.status == Status::Ok && ctx.window.contains(now) {
            self.served += 1;
        }
        let (sent, wire) = if self.alive {
            self.nic.send(&self.spec.machine, bytes, now)
        } else {
            (now, SimTime::ZERO)
        };
        answer(ctx, p, c.status, sent, wire);
    }

    /// A user's kept-alive connection, accepted at `epoch`, reached its idle timeout.
    pub fn close_idle(&mut self, now: SimTime, epoch: u16) {
        if epoch == self.epoch && self.alive && self.connections > 0 {
            self.connections -= 1;
            self.conns.set(now, u64::from(self.connections));
        }
    }

    /// The balancer `me` goes down (`up` false) or comes back: calls in flight through it
    /// fail.
    pub fn power(&mut self, me: ComponentId, ctx: &mut Context, up: bool) {
        if up {
            self.down = self.down.saturating_sub(1);
        } else {
            self.down += 1;
        }
        if self.alive == (self.down == 0) {
            return;
        }
        self.alive = self.down == 0;
        ctx.live.set(me, 0, self.alive);
        if up {
            // Back empty: the work of calls that died with it is no longer booked.
            let now = ctx.now;
            for free in &mut self.core_free {
                if *free > now {
                    self.cpu_booked = self.cpu_booked.saturating_sub((*free - now).0);
                    *free = now;
                }
            }
        } else {
            self.epoch = self.epoch.wrapping_add(1);
            self.connections = 0;
            self.conns.set(ctx.now, 0);
            self.active.fill(0);
        }
    }

    /// Probes every backend; marks it down or up after enough consecutive results.
    pub fn health_check(&mut self, me: ComponentId, ctx: &mut Context) {
        let now = ctx.now;
        let Some(hc) = self.spec.health_check.as_ref() else {
            return;
        };
        let up: Vec<bool> = self
            .spec
            .backends
            .iter()
            .map(|b| ctx.live.machine_up(b.target, b.machine))
            .collect();
        self.health.check(hc, now, &up, |_, _| {});
        if ctx.still_running() {
            ctx.schedule(now + hc.interval, Event::HealthCheck { component: me });
        }
    }

    /// Whether the balancer can serve: it is up and some backend machine is.
    pub fn is_up(&self, live: &crate::model::context::Liveness) -> bool {
        self.alive
            && self
                .spec
                .backends
                .iter()
                .any(|b| live.machine_up(b.target, b.machine))
    }
}

/// The balancer's own answer to call `f` (a refusal): at once, with no bytes.
fn reply(ctx: &mut Context, f: FrameId, status: Status) {
    answer(ctx, f, status, ctx.now, SimTime::ZERO);
}

/// Sends the answer to call `f`, which leaves its NIC at `sent` after `wire` on the wire.
fn answer(ctx: &mut Context, f: FrameId, status: Status, sent: SimTime, wire: SimTime) {
    let fr = ctx.frames.get_mut(f);
    fr.status = status;
    fr.wire = wire;
    ctx.send_back(f, sent);
}
