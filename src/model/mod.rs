//! The model: what a validated scenario says (specs with dense ids, engine units) and how each
//! kind of component behaves (as `impl Simulation` blocks, one file per kind).
//!
//! Specs are built by `scenario::validate`; they never hold names on the hot path, only
//! indices. Component names stay here for reports.

pub mod breaker;
pub mod cache;
pub mod client;
pub mod database;
pub mod distribution;
pub mod dns;
pub mod failover;
pub mod fault;
pub mod load_balancer;
pub mod machine;
pub mod memory;
pub mod network;
pub mod region;
pub mod replica_log;
pub mod replication;
pub mod server;
pub mod slo;
pub mod steps;
pub mod timeouts;
pub mod workload;

use crate::engine::rng::stream_for;
use crate::engine::sim::Component;
use crate::engine::time::SimTime;
use dns::{Dns, DnsSpec};
use load_balancer::{Balancer, BalancerSpec};
use network::Network;
use server::{Server, ServerSpec};
use workload::Workload;

pub use fault::{Fault, FaultKind};

/// A validated scenario: every reference resolved to an index, every unit converted.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    pub seed: u64,
    pub duration: SimTime,
    pub warmup: Warmup,
    /// Whether the file (or `--set`) gave `warmup_s`; replications choose it when not.
    pub warmup_given: bool,
    pub max_events: u64,
    pub interval: SimTime,
    pub network: Network,
    pub workload: Workload,
    /// Sorted by name; a component's id is its index here.
    pub components: Vec<ComponentSpec>,
    pub faults: Vec<Fault>,
    /// What `dsim check` holds a run to.
    pub slos: Vec<slo::Slo>,
    /// Goodput's latency when set from outside (`dsim compare` holds every design to the
    /// first's); else `goodput_within` derives it.
    pub goodput_limit: Option<SimTime>,
}

impl Scenario {
    /// The latency within which a completed request counts as good (goodput): the
    /// scenario's overall p99 objective if it declares one, else the client timeout.
    pub fn goodput_within(&self) -> SimTime {
        self.goodput_limit.unwrap_or_else(|| {
            self.slos
                .iter()
                .find(|s| s.class.is_none() && s.metric == slo::SloMetric::P99Ms)
                .map_or(self.workload.timeout, |s| SimTime::from_ms(s.limit))
        })
    }
}

/// Where the measurement window starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Warmup {
    Fixed(SimTime),
    /// Chosen by MSER from a pilot run (see `metrics::warmup`); `crate::run` resolves it
    /// before the engine starts.
    Auto,
}

impl Warmup {
    /// The fixed warm-up; an unresolved `Auto` measures from 0.
    pub fn fixed(self) -> SimTime {
        match self {
            Warmup::Fixed(t) => t,
            Warmup::Auto => SimTime::ZERO,
        }
    }
}

/// One named component.
#[derive(Debug, Clone)]
pub struct ComponentSpec {
    pub name: String,
    pub kind: ComponentKind,
}

/// What a component is.
#[derive(Debug, Clone)]
pub enum ComponentKind {
    Server(Box<ServerSpec>),
    Balancer(BalancerSpec),
    Dns(DnsSpec),
}

impl ComponentSpec {
    /// The live state for a run with `seed`.
    pub fn instantiate(&self, seed: u64) -> Component {
        let rng = stream_for(seed, &self.name);
        match &self.kind {
            ComponentKind::Server(spec) => {
                Component::Server(Box::new(Server::new(spec.as_ref().clone(), rng)))
            }
            ComponentKind::Balancer(spec) => {
                Component::Balancer(Box::new(Balancer::new(spec.clone(), rng)))
            }
            ComponentKind::Dns(spec) => Component::Dns(Box::new(Dns::new(spec.clone()))),
        }
    }

    /// The components this one calls, each once: a service's call steps in id order, a
    /// balancer's backends in the order given.
    pub fn callees(&self) -> Vec<u32> {
        match &self.kind {
            ComponentKind::Server(s) => {
                let mut out: Vec<u32> = s
                    .programs
                    .iter()
                    .flatten()
                    .filter_map(|step| match step {
                        server::Step::Call { target, .. } => Some(*target),
                        _ => None,
                    })
                    .collect();
                out.sort_unstable();
                out.dedup();
                out
            }
            ComponentKind::Balancer(b) => {
                let mut out: Vec<u32> = b.backends.iter().map(|&(t, _, _)| t).collect();
                out.dedup();
                out
            }
            ComponentKind::Dns(d) => d.targets.clone(),
        }
    }

    /// Price of the component per hour (all replicas).
    pub fn cost_per_hour(&self) -> f64 {
        match &self.kind {
            ComponentKind::Server(s) => s.machine.cost_per_hour * f64::from(s.replicas),
            ComponentKind::Balancer(b) => b.cost_per_hour,
            ComponentKind::Dns(_) => 0.0,
        }
    }
}

impl Component {
    pub fn snapshot_window_start(&mut self, now: SimTime) {
        match self {
            Component::Server(s) => s.snapshot_window_start(now),
            Component::Balancer(b) => b.snapshot_window_start(now),
            Component::Dns(_) => {}
        }
    }

    pub fn snapshot_window_end(&mut self, now: SimTime) {
        match self {
            Component::Server(s) => s.snapshot_window_end(now),
            Component::Balancer(b) => b.snapshot_window_end(now),
            Component::Dns(_) => {}
        }
    }

    /// Bytes of heap in queues that grow with load (waiting requests), for the memory guard.
    pub fn queue_heap_bytes(&self) -> u64 {
        match self {
            Component::Server(s) => {
                s.replicas
                    .iter()
                    .map(|r| {
                        r.wait_queue.capacity() * std::mem::size_of::<u32>()
                            + r.core_queue.capacity() * std::mem::size_of::<(u32, SimTime)>()
                    })
                    .sum::<usize>() as u64
                    + s.replication.as_ref().map_or(0, |r| r.heap_bytes())
            }
            Component::Balancer(_) | Component::Dns(_) => 0,
        }
    }

    /// Utilisation and queue since the previous call, for the time series.
    pub fn interval_load(&mut self, now: SimTime) -> crate::metrics::timeseries::IntervalLoad {
        match self {
            Component::Server(s) => s.interval_load(now),
            Component::Balancer(b) => b.interval_load(now),
            Component::Dns(_) => Default::default(),
        }
    }
}
