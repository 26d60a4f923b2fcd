//! Scheduled faults on the simulated clock: machines crashing and recovering (one, a whole
//! component, or everything in a region at once), machines turning slow, links turning slow,
//! and the network between two regions cut. A fault starts at `at`
//! and, if it has an `until`, ends then.
//!
//! What a crash does to the work on a machine is in `steps.rs`; what it does to a replicated
//! database (failover) is in `failover.rs`.

use crate::engine::event::EventKind;
use crate::engine::sim::{Component, Simulation};
use crate::engine::time::SimTime;
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
    /// These replicas of a server component stop (and restart, empty, at `until`).
    Crash {
        component: u32,
        replicas: Range<u32>,
    },
    /// Whole components stop at once (every replica of servers, and load balancers), and
    /// single machines (of databases spread over regions).
    Outage {
        components: Vec<u32>,
        machines: Vec<(u32, u32)>,
    },
    /// Messages between two regions wait until `until`.
    Partition { regions: (u16, u16) },
    /// CPU work on these replicas takes `factor` times longer.
    Slow {
        component: u32,
        replicas: Range<u32>,
        factor: f64,
    },
    /// Messages on a link take `extra` longer: between two components, or (None) between the
    /// users and the system.
    LatencySpike {
        link: Option<(u32, u32)>,
        extra: SimTime,
    },
}

impl Simulation {
    /// Fault `index` starts (`phase` 0) or ends (`phase` 1).
    pub(crate) fn fault(&mut self, index: u32, phase: u32) {
        let fault = self.scenario.faults[index as usize].clone();
        let start = phase == 0;
        if start && let Some(until) = fault.until {
            self.schedule(until, EventKind::Fault, index, 1);
        }
        match fault.kind {
            FaultKind::Crash {
                component,
                replicas,
            } => {
                for r in replicas {
                    if start {
                        self.crash_replica(component, r);
                    } else {
                        self.recover_replica(component, r);
                    }
                }
            }
            FaultKind::Outage {
                components,
                machines,
            } => {
                for (c, r) in machines {
                    if start {
                        self.crash_replica(c, r);
                    } else {
                        self.recover_replica(c, r);
                    }
                }
                for c in components {
                    match &self.components[c as usize] {
                        Component::Server(s) => {
                            for r in 0..s.replicas.len() as u32 {
                                if start {
                                    self.crash_replica(c, r);
                                } else {
                                    self.recover_replica(c, r);
                                }
                            }
                        }
                        Component::Balancer(_) => self.balancer_power(c, !start),
                        Component::Dns(_) => {}
                    }
                }
            }
            FaultKind::Partition { regions: (a, b) } => {
                let heal = fault.until.unwrap_or(SimTime::MAX);
                if start {
                    self.cut_links.push((a, b, heal));
                } else if let Some(i) = self.cut_links.iter().position(|&l| l == (a, b, heal)) {
                    self.cut_links.remove(i);
                }
            }
            FaultKind::Slow {
                component,
                replicas,
                factor,
            } => {
                if let Component::Server(s) = &mut self.components[component as usize] {
                    for r in replicas {
                        s.replicas[r as usize].slow_down(factor, start);
                    }
                }
            }
            FaultKind::LatencySpike { link, extra } => {
                let n = self.scenario.network.n;
                if self.extra_latency.is_empty() {
                    self.extra_latency = vec![SimTime::ZERO; n * n + 1];
                }
                let slots = match link {
                    Some((a, b)) if a != b => {
                        vec![a as usize * n + b as usize, b as usize * n + a as usize]
                    }
                    Some((a, _)) => vec![a as usize * n + a as usize],
                    None => vec![n * n],
                };
                for i in slots {
                    let e = &mut self.extra_latency[i];
                    *e = if start { *e + extra } else { e.since(extra) };
                }
            }
        }
    }
}
