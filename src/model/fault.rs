//! Scheduled faults on the simulated clock: machines crashing and recovering (one, a whole
//! component, or everything in a region at once), machines turning slow, links turning slow,
//! and the network between two regions cut. A fault starts at `at`
//! and, if it has an `until`, ends then.
//!
//! What a crash does to the work on a machine is in `compute/steps.rs`; what it does to a
//! replicated database (failover) is in `data/failover.rs`. Faults reach components through
//! `component.rs` like everything else.

use crate::engine::time::SimTime;
use crate::model::component::split;
use crate::model::context::Context;
use crate::model::event::Event;
use crate::model::ids::ComponentId;
use crate::model::sim::Simulation;
use std::ops::Range;

/// A validated fault.
#[derive(Debug, Clone)]
pub struct Fault {
    /// What happened, for reports: `crash db machine 0`, `outage app`, …
    pub label: String,
    pub at: SimTime,
    pub until: Option<SimTime>,
    pub kind: FaultKind,
}

/// What a fault does while it lasts.
#[derive(Debug, Clone)]
pub enum FaultKind {
    /// These machines of a server component stop (and restart, empty, at `until`).
    Crash {
        component: ComponentId,
        machines: Range<u32>,
    },
    /// Whole components stop at once (every machine of servers, and load balancers), and
    /// single machines (of databases spread over regions).
    Outage {
        components: Vec<ComponentId>,
        machines: Vec<(ComponentId, u32)>,
    },
    /// Messages between two regions wait until `until`.
    Partition { regions: (u16, u16) },
    /// CPU work on these machines takes `factor` times longer.
    Slow {
        component: ComponentId,
        machines: Range<u32>,
        factor: f64,
    },
    /// Messages on a link take `extra` longer: between two components, or (None) between the
    /// users and the system.
    LatencySpike {
        link: Option<(ComponentId, ComponentId)>,
        extra: SimTime,
    },
}

/// What a crash of machine `m` of `c` takes down: its host, with every process on it.
fn on_same_host(ctx: &Context, c: ComponentId, m: u32) -> Vec<(ComponentId, u32)> {
    match ctx.host_of(c, m) {
        Some(h) if ctx.shared_hosts => ctx.hosts[h as usize].processes.clone(),
        _ => vec![(c, m)],
    }
}

impl Simulation {
    /// Fault `index` starts (`start`) or ends.
    pub(crate) fn fault(&mut self, index: u32, start: bool) {
        let ctx = &mut self.ctx;
        let fault = ctx.scenario.faults[index as usize].clone();
        if start && let Some(until) = fault.until {
            ctx.schedule(until, Event::FaultEnd { fault: index });
        }
        let comps = &mut self.components;
        match fault.kind {
            FaultKind::Crash {
                component,
                machines,
            } => {
                for m in machines {
                    for (c, r) in on_same_host(ctx, component, m) {
                        let (me, mut others) = split(comps, c);
                        me.crash(c, ctx, &mut others, r, start);
                    }
                }
            }
            FaultKind::Outage {
                components,
                machines,
            } => {
                for (c, m) in machines {
                    for (c, r) in on_same_host(ctx, c, m) {
                        let (me, mut others) = split(comps, c);
                        me.crash(c, ctx, &mut others, r, start);
                    }
                }
                for c in components {
                    let (me, mut others) = split(comps, c);
                    me.outage(c, ctx, &mut others, start);
                    // A component on a shared host takes the host down, and the others on it.
                    for (o, r) in on_same_host(ctx, c, 0) {
                        if o != c {
                            let (me, mut others) = split(comps, o);
                            me.crash(o, ctx, &mut others, r, start);
                        }
                    }
                }
            }
            FaultKind::Partition { regions: (a, b) } => {
                let heal = fault.until.unwrap_or(SimTime::MAX);
                let cut = &mut ctx.net.cut_links;
                if start {
                    cut.push((a, b, heal));
                } else if let Some(i) = cut.iter().position(|&l| l == (a, b, heal)) {
                    cut.remove(i);
                }
            }
            FaultKind::Slow {
                component,
                machines,
                factor,
            } => comps[component.index()].slow_down(machines, factor, start),
            FaultKind::LatencySpike { link, extra } => {
                let n = ctx.scenario.network.n;
                let extra_latency = &mut ctx.net.extra_latency;
                if extra_latency.is_empty() {
                    *extra_latency = vec![SimTime::ZERO; n * n + 1];
                }
                let slots = match link {
                    Some((a, b)) if a != b => {
                        vec![a.index() * n + b.index(), b.index() * n + a.index()]
                    }
                    Some((a, _)) => vec![a.index() * n + a.index()],
                    None => vec![n * n],
                };
                for i in slots {
                    let e = &mut extra_latency[i];
                    *e = if start { *e + extra } else { e.since(extra) };
                }
            }
        }
    }
}
