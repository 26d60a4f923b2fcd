//! Deploys: a new version replacing a fleet's machines during the run. Rolling replaces a
//! few at a time (at most `max_surge` new ones beyond the count asked for, at most
//! `max_unavailable` below it out of service), as a Kubernetes Deployment does; recreate
//! stops every old machine at once and starts the new ones (downtime: the start delay);
//! blue/green starts a whole new fleet beside the old and switches to it when every new
//! machine is ready. Old machines leave by draining (`fleet.rs`), so a rolling deploy drops
//! nothing. While a deploy runs the autoscaler holds still and a scheduled change waits for
//! its end.

use crate::engine::time::SimTime;
use crate::model::component::Component;
use crate::model::distribution::Dist;
use crate::model::elastic::fleet::MachineState;
use crate::model::event::Event;
use crate::model::sim::Simulation;

/// How often a deploy waiting for new machines to pass their health checks looks again.
const DEPLOY_POLL: SimTime = SimTime(1_000_000_000);

/// How a deploy replaces the machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    Rolling,
    Recreate,
    BlueGreen,
}

impl Strategy {
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Rolling => "rolling",
            Strategy::Recreate => "recreate",
            Strategy::BlueGreen => "blue_green",
        }
    }
}

/// A validated deploy.
#[derive(Debug, Clone)]
pub struct DeploySpec {
    pub at: SimTime,
    pub strategy: Strategy,
    pub max_surge: u32,
    pub max_unavailable: u32,
    /// A new machine's start and readiness.
    pub start_delay: Dist,
}

/// The deploy under way.
#[derive(Debug, Clone)]
pub struct Rollout {
    pub spec: DeploySpec,
    /// Its index in `deploys_done`.
    pub record: usize,
}

/// A deploy for the report: when it started, and when its last old machine stopped.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeployRecord {
    pub at: SimTime,
    pub strategy: Strategy,
    pub done_at: Option<SimTime>,
}

impl Simulation {
    /// Fleet `f`'s deploy `d` starts: the machines running now are the old version. One that
    /// finds the previous deploy still going takes over from it (that one is reported
    /// unfinished): every machine not of the new version is old.
    pub(crate) fn deploy_start(&mut self, f: u16, d: u32) {
        let fi = usize::from(f);
        let now = self.ctx.now;
        let fleet = &mut self.fleets[fi];
        let spec = fleet.spec.deploys[d as usize].clone();
        fleet.version = fleet.version.wrapping_add(1);
        fleet.deploys_done.push(DeployRecord {
            at: now,
            strategy: spec.strategy,
            done_at: None,
        });
        let record = fleet.deploys_done.len() - 1;
        fleet.rollout = Some(Rollout { spec, record });
        self.deploy_step(fi);
    }

    /// Moves fleet `f`'s deploy on as far as its limits allow: starts new machines, calls
    /// off old ones still starting, drains old ready ones; ends it when no old one is left.
    pub(crate) fn deploy_step(&mut self, f: usize) {
        let Some(r) = self.fleets[f].rollout.clone() else {
            return;
        };
        let d = self.fleets[f].desired;
        let (surge, unavailable) = match r.spec.strategy {
            Strategy::Rolling => (r.spec.max_surge, r.spec.max_unavailable.min(d)),
            Strategy::Recreate => (d, d),
            Strategy::BlueGreen => (d, 0),
        };
        loop {
            let serving = self.in_service(f);
            let fleet = &self.fleets[f];
            let v = fleet.version;
            let count = |old: bool, states: &[MachineState]| {
                fleet
                    .states
                    .iter()
                    .zip(&fleet.versions)
                    .filter(|&(s, &x)| (x != v) == old && states.contains(s))
                    .count() as u32
            };
            use MachineState::{Draining, Ready, Starting};
            let old_live = count(true, &[Ready, Starting]);
            let old_draining = count(true, &[Draining]);
            let new_live = count(false, &[Ready, Starting]);
            // Ready means taking requests: up, and passed by its balancers' health checks.
            let in_service = |old: bool| {
                serving
                    .iter()
                    .zip(&fleet.versions)
                    .filter(|&(&s, &x)| s && (x != v) == old)
                    .count() as u32
            };
            let new_ready = in_service(false);
            let ready = new_ready + in_service(true);
            if old_live == 0 && old_draining == 0 && new_ready >= d.min(new_live) {
                let now = self.ctx.now;
                let fleet = &mut self.fleets[f];
                fleet.deploys_done[r.record].done_at = Some(now);
                fleet.rollout = None;
                if let Some((n, reason)) = fleet.pending.take() {
                    self.scale_to(f, n, reason);
                }
                return;
            }
            if new_live < d
                && old_live + new_live < d + surge
                && self.start_machine(f, &r.spec.start_delay)
            {
                continue;
            }
            if old_live == 0 {
                return self.poll_deploy(f);
            }
            let fleet = &self.fleets[f];
            let old = |state: MachineState| {
                fleet
                    .states
                    .iter()
                    .zip(&fleet.versions)
                    .position(|(&s, &x)| x != v && s == state)
            };
            if let Some(m) = old(Starting) {
                self.cancel_start(f, m);
                continue;
            }
            let may_drain = match r.spec.strategy {
                Strategy::BlueGreen => new_ready >= d,
                Strategy::Rolling | Strategy::Recreate => ready + unavailable > d,
            };
            match old(Ready) {
                Some(m) if may_drain => self.drain_machine(f, m),
                _ => return self.poll_deploy(f),
            }
        }
    }

    /// Whether each machine of fleet `f` takes requests: ready, and believed healthy (and in
    /// rotation) by every balancer that sends to it.
    fn in_service(&self, f: usize) -> Vec<bool> {
        let fleet = &self.fleets[f];
        fleet
            .states
            .iter()
            .zip(&fleet.watchers)
            .map(|(&s, watchers)| {
                s == MachineState::Ready
                    && watchers
                        .iter()
                        .all(|&(lb, backend)| match &self.components[lb.index()] {
                            Component::Balancer(b) => b.health.healthy(backend as usize),
                            _ => true,
                        })
            })
            .collect()
    }

    /// A deploy waiting on its balancers' health checks looks again in a second.
    fn poll_deploy(&mut self, f: usize) {
        let fleet = &mut self.fleets[f];
        if fleet.rollout.is_some() && !fleet.poll_due {
            fleet.poll_due = true;
            let at = self.ctx.now + DEPLOY_POLL;
            self.ctx.schedule(at, Event::DeployPoll { fleet: f as u16 });
        }
    }

    /// The poll is due.
    pub(crate) fn deploy_poll(&mut self, f: u16) {
        self.fleets[usize::from(f)].poll_due = false;
        self.deploy_step(usize::from(f));
    }
}
