//! Load balancers: spread calls over the machines of backend services by a policy
//! (`balance.rs`), refuse beyond their own connection cap, and (with health checks,
//! `health.rs`) stop sending to dead backends only once enough checks have failed.

use crate::engine::rng::Stream;
use crate::engine::time::SimTime;
use crate::metrics::outcome::{STATUS_COUNT, Status};
use crate::metrics::time_weighted::{TimeWeighted, mean_between};
use crate::metrics::timeseries::IntervalLoad;
use crate::model::context::Context;
use crate::model::distribution::Dist;
use crate::model::event::Event;
use crate::model::ids::{ComponentId, FrameId};
use crate::model::net::balance::{Sender, View, choose};
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
    pub forward: Dist,
    pub max_connections: u32,
    pub health_check: Option<HealthCheck>,
    pub cost_per_hour: f64,
    /// Sets of backend indices a request may go to (routing by class); without routes, one
    /// set of every backend.
    pub groups: Vec<Vec<u32>>,
    /// Per request class, its index in `groups`.
    pub class_group: Vec<u16>,
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
    pub epoch: u32,
    /// Outages in force (overlapping ones keep it down until the last ends).
    down: u32,
    window_area: u128,
    window_started: SimTime,
    pub mean_connections: f64,
    last_tick_area: u128,
    last_tick: SimTime,
}

impl Balancer {
    pub fn new(spec: BalancerSpec, rng: Stream) -> Balancer {
        let n = spec.backends.len();
        Balancer {
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

    pub fn snapshot_window_start(&mut self, now: SimTime) {
        self.window_area = self.conns.area_at(now);
        self.window_started = now;
    }

    pub fn snapshot_window_end(&mut self, now: SimTime) {
        let area = self.conns.area_at(now);
        self.mean_connections = mean_between(self.window_area, area, now - self.window_started);
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
        }
    }

    /// A call reaches the balancer: refuse it or forward it to a backend.
    pub fn arrive(&mut self, ctx: &mut Context, f: FrameId) {
        let now = ctx.now;
        ctx.frames.get_mut(f).received = true;
        let fr = *ctx.frames.get(f);
        let req = *ctx.requests.get(fr.request);
        if !self.alive {
            return reply(ctx, f, Status::BackendDown);
        }
        if self.connections >= self.spec.max_connections {
            if req.counted {
                self.refused[Status::ConnectionLimit.index()] += 1;
            }
            return reply(ctx, f, Status::ConnectionLimit);
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
            return reply(ctx, f, Status::NoHealthyBackend);
        };
        self.connections += 1;
        self.conns.set(now, u64::from(self.connections));
        self.active[i] += 1;
        self.sent[i] += 1;
        let Backend { target, machine } = self.spec.backends[i];
        let mut at = now + self.spec.forward.sample(&mut self.rng);
        at += ctx.link_latency(fr.component, 0, target, machine);
        ctx.frames.get_mut(f).epoch = self.epoch;
        let child = ctx.frames.insert(Frame {
            request: fr.request,
            parent: Some(f),
            component: target,
            machine,
            backend: i as u32,
            // No NIC of its own: the call goes on as the caller's NIC sent it.
            wire: fr.wire,
            ..Frame::default()
        });
        ctx.schedule(at, Event::FrameArrive { frame: child });
    }

    /// The backend's answer to child call `child` came back: pass it on.
    pub fn answer_returned(&mut self, ctx: &mut Context, child: FrameId) {
        let now = ctx.now;
        let c = *ctx.frames.get(child);
        ctx.frames.remove(child);
        let p = c.parent.expect("an answer returns to its caller");
        if ctx.frames.get(p).epoch != self.epoch {
            // Forwarded before the balancer went down: its connection died with it.
            return reply(ctx, p, Status::BackendDown);
        }
        self.connections -= 1;
        self.conns.set(now, u64::from(self.connections));
        self.active[c.backend as usize] -= 1;
        if c.status == Status::Ok && ctx.window.contains(now) {
            self.served += 1;
        }
        reply(ctx, p, c.status);
        // The answer goes on as the backend's NIC sent it.
        ctx.frames.get_mut(p).wire = c.wire;
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
        if !up {
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

/// The balancer's answer to call `f`: at once, no time of its own.
fn reply(ctx: &mut Context, f: FrameId, status: Status) {
    let fr = ctx.frames.get_mut(f);
    fr.status = status;
    fr.wire = SimTime::ZERO;
    ctx.send_back(f, ctx.now);
}
