//! A fleet: a service whose replica count changes during the run, by a schedule or an
//! autoscaler. The service has `max_replicas` machines from the start; those beyond the count
//! asked for are off (down, as a crashed machine is, and billed nothing). Scaling out starts
//! machines: each is billed from then on but serves only after its start delay, when the
//! balancers sending to the service add it (with health checks, only once they have passed
//! it `healthy_threshold` times, as a cloud balancer registers a new target). Scaling in takes
//! machines still starting first, then the newest ready ones: the balancers stop sending
//! them new requests at once, the requests they hold finish (drain), and a machine still busy
//! after the drain timeout is stopped with its requests (they fail `backend_down`).
//!
//! Billing integrates machines × time (starting, ready and draining ones), so a fleet's cost
//! is what its machines cost while they existed, not its largest size.

use crate::engine::rng::{Stream, stream_for};
use crate::engine::time::SimTime;
use crate::metrics::time_weighted::TimeWeighted;
use crate::model::Scenario;
use crate::model::component::{Component, split};
use crate::model::distribution::Dist;
use crate::model::elastic::autoscaler::{AutoscaleSpec, Autoscaler};
use crate::model::elastic::deploy::{DeployRecord, DeploySpec, Rollout};
use crate::model::event::Event;
use crate::model::ids::ComponentId;
use crate::model::sim::Simulation;

/// How often a draining machine is looked at to see whether its requests have finished.
const DRAIN_POLL: SimTime = SimTime(100_000_000);

/// A validated fleet.
#[derive(Debug, Clone)]
pub struct FleetSpec {
    /// The service it scales.
    pub component: ComponentId,
    /// Replicas at the start.
    pub initial: u32,
    pub min: u32,
    /// Machines the service has: the most it can scale to.
    pub max: u32,
    pub start_delay: Dist,
    pub drain_timeout: SimTime,
    /// (when, replicas) in time order: the count from then on, or with an autoscaler its
    /// minimum from then on.
    pub schedule: Vec<(SimTime, u32)>,
    pub autoscale: Option<AutoscaleSpec>,
    /// Price of one machine per hour.
    pub price_per_hour: f64,
    /// Machines it is set up with: `max` and room for a deploy's new version.
    pub machines: u32,
    /// New versions rolled out, in time order.
    pub deploys: Vec<DeploySpec>,
}

/// Where a machine of a fleet is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MachineState {
    Off,
    Starting,
    Ready,
    Draining,
}

/// Why a fleet's size changed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reason {
    Schedule,
    /// The autoscaler, having read this value of its metric; `forecast` when the profile's
    /// expected rise raised it (predictive scaling).
    Autoscaler {
        metric: f64,
        forecast: bool,
    },
}

/// One change of the replica count asked for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScalingAction {
    pub at: SimTime,
    pub from: u32,
    pub to: u32,
    pub reason: Reason,
}

/// A fleet's live state.
#[derive(Debug)]
pub struct Fleet {
    pub spec: FleetSpec,
    pub states: Vec<MachineState>,
    /// Per machine, bumped when a start or a drain is called off, so its event is ignored.
    turns: Vec<u16>,
    /// Per machine, when its drain began.
    drain_started: Vec<SimTime>,
    /// Per machine, the version it runs; `version` is the newest.
    pub versions: Vec<u16>,
    pub version: u16,
    /// The deploy under way, and a scaling change waiting for its end.
    pub rollout: Option<Rollout>,
    pub pending: Option<(u32, Reason)>,
    /// A deploy's poll is on the clock.
    pub poll_due: bool,
    /// Deploys started: when, and when each finished.
    pub deploys_done: Vec<DeployRecord>,
    /// Start delays are drawn from the fleet's own stream.
    rng: Stream,
    /// The replica count asked for (starting and ready machines).
    pub desired: u32,
    /// The autoscaler's minimum now (the schedule moves it).
    floor: u32,
    /// Machines billed (starting, ready, draining) over time.
    pub billed: TimeWeighted,
    pub actions: Vec<ScalingAction>,
    autoscaler: Autoscaler,
    /// CPU area of each machine's host at the last evaluation.
    last_cpu: Vec<u128>,
    last_eval: SimTime,
    /// Per machine, the balancers sending to it: (balancer, its backend index).
    pub watchers: Vec<Vec<(ComponentId, u32)>>,
    /// Billed machine area at the window's start, and the mean over the window.
    window_area: u128,
    /// Billed machine area and time at the last time-series interval's end.
    tick_area: u128,
    tick_at: SimTime,
    pub mean_billed: f64,
}

impl Fleet {
    pub fn new(spec: FleetSpec, watchers: Vec<Vec<(ComponentId, u32)>>, rng: Stream) -> Fleet {
        let n = spec.machines as usize;
        let mut states = vec![MachineState::Off; n];
        states[..spec.initial as usize].fill(MachineState::Ready);
        let mut billed = TimeWeighted::default();
        billed.set(SimTime::ZERO, u64::from(spec.initial));
        Fleet {
            desired: spec.initial,
            floor: spec.min,
            states,
            turns: vec![0; n],
            drain_started: vec![SimTime::ZERO; n],
            versions: vec![0; n],
            version: 0,
            rollout: None,
            pending: None,
            poll_due: false,
            deploys_done: Vec::new(),
            rng,
            billed,
            actions: Vec::new(),
            autoscaler: Autoscaler::default(),
            last_cpu: vec![0; n],
            last_eval: SimTime::ZERO,
            watchers,
            window_area: 0,
            tick_area: 0,
            tick_at: SimTime::ZERO,
            mean_billed: 0.0,
            spec,
        }
    }

    fn count(&self, wanted: &[MachineState]) -> u32 {
        self.states.iter().filter(|s| wanted.contains(s)).count() as u32
    }

    pub fn snapshot_window_start(&mut self, now: SimTime) {
        self.window_area = self.billed.area_at(now);
    }

    pub fn snapshot_window_end(&mut self, now: SimTime, span: SimTime) {
        let area = self.billed.area_at(now);
        self.mean_billed =
            crate::metrics::time_weighted::mean_between(self.window_area, area, span);
    }

    /// Mean machines billed since the previous call (a time-series interval).
    pub fn interval_replicas(&mut self, now: SimTime) -> f64 {
        let area = self.billed.area_at(now);
        let mean =
            crate::metrics::time_weighted::mean_between(self.tick_area, area, now - self.tick_at);
        self.tick_area = area;
        self.tick_at = now;
        mean
    }

    /// Money its machines cost from the start to `now`.
    pub fn cost_until(&mut self, now: SimTime) -> f64 {
        let machine_ns = self.billed.area_at(now) as f64;
        machine_ns / 3.6e12 * self.spec.price_per_hour
    }
}

/// The live fleets of `scenario`, with the balancers sending to each machine.
pub fn build(scenario: &Scenario, components: &[Component]) -> Vec<Fleet> {
    scenario
        .fleets
        .iter()
        .map(|spec| {
            let mut watchers = vec![Vec::new(); spec.machines as usize];
            for (i, c) in components.iter().enumerate() {
                let Component::Balancer(b) = c else {
                    continue;
                };
                for (k, backend) in b.spec.backends.iter().enumerate() {
                    if backend.target == spec.component {
                        watchers[backend.machine as usize]
                            .push((ComponentId::from_index(i), k as u32));
                    }
                }
            }
            let name = &scenario.components[spec.component.index()].name;
            let rng = stream_for(scenario.seed, &format!("fleet:{name}"));
            Fleet::new(spec.clone(), watchers, rng)
        })
        .collect()
}

impl Simulation {
    /// Builds the fleets: machines beyond each one's initial count are switched off and out
    /// of its balancers, and its schedule and autoscaler are put on the clock.
    pub(crate) fn start_fleets(&mut self) {
        for f in 0..self.fleets.len() {
            let (c, initial, max) = {
                let s = &self.fleets[f].spec;
                (s.component, s.initial, s.machines)
            };
            for m in initial..max {
                self.power(c, m, false);
                self.register(f, m, false);
            }
            self.sync_serving(f);
            let spec = &self.fleets[f].spec;
            let fleet = f as u16;
            for (entry, &(at, _)) in spec.schedule.iter().enumerate() {
                let entry = entry as u32;
                self.ctx
                    .queue
                    .push(at, Event::ScaleScheduled { fleet, entry });
            }
            for (deploy, d) in spec.deploys.iter().enumerate() {
                let deploy = deploy as u32;
                self.ctx
                    .queue
                    .push(d.at, Event::DeployStart { fleet, deploy });
            }
            if let Some(a) = &spec.autoscale {
                let at = a.interval;
                self.ctx.schedule(at, Event::Autoscale { fleet });
            }
        }
    }

    /// Switches machine `m` of server `c` on (`up`) or off, as a crash and a recovery do.
    fn power(&mut self, c: ComponentId, m: u32, up: bool) {
        let (me, mut others) = split(&mut self.components, c);
        me.crash(c, &mut self.ctx, &mut others, m, !up);
    }

    /// Tells fleet `f`'s service how many of its machines are switched on now.
    fn sync_serving(&mut self, f: usize) {
        let fleet = &self.fleets[f];
        let on = fleet.count(&[MachineState::Ready, MachineState::Draining]);
        if let Component::Service(s) = &mut self.components[fleet.spec.component.index()] {
            s.server
                .serving
                .get_or_insert_with(TimeWeighted::default)
                .set(self.ctx.now, u64::from(on));
        }
    }

    /// Puts machine `m` of fleet `f` into (`on`) or out of rotation at its balancers.
    fn register(&mut self, f: usize, m: u32, on: bool) {
        for &(lb, backend) in &self.fleets[f].watchers[m as usize] {
            if let Component::Balancer(b) = &mut self.components[lb.index()] {
                b.health.register(backend as usize, on);
            }
        }
    }

    /// The schedule's `entry` is due.
    pub(crate) fn scale_scheduled(&mut self, f: u16, entry: u32) {
        let fleet = &mut self.fleets[usize::from(f)];
        let (_, n) = fleet.spec.schedule[entry as usize];
        if fleet.spec.autoscale.is_some() {
            // With an autoscaler the schedule sets its minimum (as a scheduled action
            // does), and the fleet grows to it at once.
            fleet.floor = n;
            if fleet.desired >= n {
                return;
            }
        }
        self.scale_to(usize::from(f), n, Reason::Schedule);
    }

    /// Fleet `f`'s autoscaler evaluates.
    pub(crate) fn autoscale(&mut self, f: u16) {
        let now = self.ctx.now;
        let fi = usize::from(f);
        let c = self.fleets[fi].spec.component;
        let Some(spec) = self.fleets[fi].spec.autoscale.clone() else {
            return;
        };
        // Mean CPU utilisation of the machines that served through the interval.
        let (mut busy, mut ready) = (0u128, 0u32);
        let Some((machine, machines)) = self.components[c.index()].server_machines() else {
            return;
        };
        let cores = u128::from(machine.cores);
        let fleet = &mut self.fleets[fi];
        let span = u128::from((now - fleet.last_eval).0);
        for (m, state) in fleet.states.iter().enumerate() {
            let area = self.ctx.hosts[machines[m].host as usize].cpu.area_at(now);
            if *state == MachineState::Ready {
                busy += area - fleet.last_cpu[m].min(area);
                ready += 1;
            }
            fleet.last_cpu[m] = area;
        }
        fleet.last_eval = now;
        let measured = if ready == 0 || span == 0 {
            0.0
        } else {
            busy as f64 / (span * cores * u128::from(ready)) as f64
        };
        // Predictive: what the load now will be at now + lead, by the profile; only ever
        // scaling out ahead of a rise (a fall is left to the reactive rule).
        let metric = match spec.predictive_lead {
            Some(lead) => {
                let w = &self.ctx.scenario.workload;
                let (then, now_level) = (w.load_level(now + lead), w.load_level(now));
                let ratio = if now_level > 0.0 {
                    then / now_level
                } else {
                    1.0
                };
                measured * ratio.max(1.0)
            }
            None => measured,
        };
        let bounds = (fleet.floor.max(fleet.spec.min), fleet.spec.max);
        let current = fleet.desired;
        let n = fleet
            .autoscaler
            .recommend(&spec, now, ready, metric, current, bounds);
        // While a deploy replaces the machines the autoscaler holds still.
        if n != current && self.fleets[fi].rollout.is_none() {
            let forecast = metric > measured;
            self.scale_to(fi, n, Reason::Autoscaler { metric, forecast });
        }
        if self.ctx.still_running() {
            self.ctx
                .schedule(now + spec.interval, Event::Autoscale { fleet: f });
        }
    }

    /// Asks fleet `f` for `n` replicas: starts or stops machines to get there (after the
    /// deploy under way, if one is).
    pub(crate) fn scale_to(&mut self, f: usize, n: u32, reason: Reason) {
        let now = self.ctx.now;
        let fleet = &mut self.fleets[f];
        if fleet.rollout.is_some() {
            // A deploy is replacing the machines: the change waits for its end.
            fleet.pending = Some((n, reason));
            return;
        }
        let n = n.min(fleet.spec.max);
        let from = fleet.desired;
        if n == from {
            return;
        }
        fleet.actions.push(ScalingAction {
            at: now,
            from,
            to: n,
            reason,
        });
        fleet.desired = n;
        if n > from {
            for _ in from..n {
                let fleet = &mut self.fleets[f];
                // A draining machine is kept instead (it is warm); else the first off one.
                if let Some(m) = fleet
                    .states
                    .iter()
                    .position(|&s| s == MachineState::Draining)
                {
                    fleet.states[m] = MachineState::Ready;
                    fleet.turns[m] = fleet.turns[m].wrapping_add(1);
                    self.register(f, m as u32, true);
                    continue;
                }
                let delay = fleet.spec.start_delay;
                if !self.start_machine(f, &delay) {
                    break;
                }
            }
            return;
        }
        for _ in n..from {
            let fleet = &mut self.fleets[f];
            // Machines still starting go first (the newest), then the newest ready one.
            let pick = |s: MachineState| fleet.states.iter().rposition(|&x| x == s);
            if let Some(m) = pick(MachineState::Starting) {
                self.cancel_start(f, m);
                continue;
            }
            let Some(m) = pick(MachineState::Ready) else {
                break;
            };
            self.drain_machine(f, m);
        }
    }

    /// Starts the first machine of fleet `f` that is off, of its current version, ready
    /// after a delay drawn from `delay`; false if every machine is in use.
    pub(crate) fn start_machine(&mut self, f: usize, delay: &Dist) -> bool {
        let now = self.ctx.now;
        let fleet = &mut self.fleets[f];
        let Some(m) = fleet.states.iter().position(|&s| s == MachineState::Off) else {
            return false;
        };
        fleet.states[m] = MachineState::Starting;
        fleet.versions[m] = fleet.version;
        fleet.billed.add(now, 1);
        let delay = delay.sample(&mut fleet.rng);
        let turn = fleet.turns[m];
        self.ctx.schedule(
            now + delay,
            Event::FleetReady {
                fleet: f as u16,
                turn,
                machine: m as u32,
            },
        );
        true
    }

    /// Calls off the start of machine `m` of fleet `f`.
    pub(crate) fn cancel_start(&mut self, f: usize, m: usize) {
        let now = self.ctx.now;
        let fleet = &mut self.fleets[f];
        fleet.states[m] = MachineState::Off;
        fleet.turns[m] = fleet.turns[m].wrapping_add(1);
        fleet.billed.add(now, -1);
    }

    /// Takes ready machine `m` of fleet `f` out of rotation to drain it.
    pub(crate) fn drain_machine(&mut self, f: usize, m: usize) {
        let now = self.ctx.now;
        let fleet = &mut self.fleets[f];
        fleet.states[m] = MachineState::Draining;
        fleet.turns[m] = fleet.turns[m].wrapping_add(1);
        fleet.drain_started[m] = now;
        let turn = fleet.turns[m];
        self.register(f, m as u32, false);
        self.ctx.schedule(
            now,
            Event::FleetDrain {
                fleet: f as u16,
                turn,
                machine: m as u32,
            },
        );
    }

    /// Machine `m` of fleet `f` has started: it serves, and its balancers add it.
    pub(crate) fn fleet_ready(&mut self, f: u16, turn: u16, m: u32) {
        let fi = usize::from(f);
        let fleet = &mut self.fleets[fi];
        if fleet.turns[m as usize] != turn || fleet.states[m as usize] != MachineState::Starting {
            return;
        }
        fleet.states[m as usize] = MachineState::Ready;
        let c = fleet.spec.component;
        self.power(c, m, true);
        self.register(fi, m, true);
        self.sync_serving(fi);
        self.deploy_step(fi);
    }

    /// Machine `m` of fleet `f` is draining: off once its requests are done, or at the
    /// drain timeout with whatever it still holds.
    pub(crate) fn fleet_drain(&mut self, f: u16, turn: u16, m: u32) {
        let fi = usize::from(f);
        let now = self.ctx.now;
        let fleet = &self.fleets[fi];
        if fleet.turns[m as usize] != turn || fleet.states[m as usize] != MachineState::Draining {
            return;
        }
        let c = fleet.spec.component;
        let deadline = fleet.drain_started[m as usize] + fleet.spec.drain_timeout;
        // Replies still leaving hold their connections; `settle` lets go of those sent.
        let busy = match &mut self.components[c.index()] {
            Component::Service(s) => {
                let srv = &mut s.server;
                let machine = &mut srv.machines[m as usize];
                let host = &mut self.ctx.hosts[machine.host as usize];
                machine.settle(&srv.spec.machine, host, now);
                machine.connections > 0 || machine.busy_workers > 0
            }
            _ => false,
        };
        // A call a balancer has sent it may still be on the wire: the balancer's count of
        // calls in flight to it says (as a balancer's deregistration delay waits for them).
        let sent = self.fleets[fi].watchers[m as usize]
            .iter()
            .any(|&(lb, backend)| match &self.components[lb.index()] {
                Component::Balancer(b) => b.active[backend as usize] > 0,
                _ => false,
            });
        let busy = busy || sent;
        if busy && now < deadline {
            let at = (now + DRAIN_POLL).min(deadline);
            self.ctx.schedule(
                at,
                Event::FleetDrain {
                    fleet: f,
                    turn,
                    machine: m,
                },
            );
            return;
        }
        let fleet = &mut self.fleets[fi];
        fleet.states[m as usize] = MachineState::Off;
        fleet.billed.add(now, -1);
        self.power(c, m, false);
        self.sync_serving(fi);
        self.deploy_step(fi);
    }
}
