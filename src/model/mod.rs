//! The model: what a validated scenario says (specs with dense ids, engine units) and how each
//! kind of component behaves, grouped by family: `compute/` (machines, servers, services),
//! `data/` (caches, databases, replication), `net/` (links, regions, balancers, DNS, health
//! checks), `client/` (the users: workload, attempts, timeouts, breakers), `messaging/`
//! (queues: the broker, its consumers' pollers, the messages).
//!
//! The simulation (`sim.rs`) is a context (`context.rs`: clock, queue, requests, frames,
//! network, liveness, metrics) plus a table of components; `component.rs` is the one door
//! through which the simulation and the components reach a component, one exhaustive match
//! per capability. Specs are built by `scenario::validate`; they never hold names on the hot
//! path, only ids. Component names stay here for reports.

pub mod client;
pub mod component;
mod component_messaging;
pub mod compute;
pub mod context;
pub mod data;
pub mod distribution;
pub mod elastic;
pub mod event;
pub mod fault;
pub mod ids;
pub mod kind;
pub mod messaging;
pub mod net;
pub mod request;
pub mod sim;
pub mod slo;

#[cfg(test)]
mod conservation_tests;

use crate::engine::time::SimTime;
use client::workload::Workload;
use compute::service::ServiceSpec;
use data::cache::CacheSpec;
use data::database::DatabaseSpec;
use net::dns::DnsSpec;
use net::load_balancer::BalancerSpec;
use net::network::Network;

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
    /// Names of the shared hosts (`ComponentSpec::host` indexes them).
    pub hosts: Vec<String>,
    pub faults: Vec<Fault>,
    /// Scheduled batch jobs.
    pub jobs: Vec<messaging::jobs::JobSpec>,
    /// Services whose replica count changes during the run.
    pub fleets: Vec<elastic::fleet::FleetSpec>,
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
    /// The shared host it runs on (an index into the scenario's `hosts`, by name), if it
    /// does not have machines of its own.
    pub host: Option<u16>,
}

/// What a component is: one variant per kind (each kind's spec lives in its own module).
#[derive(Debug, Clone)]
pub enum ComponentKind {
    Service(Box<ServiceSpec>),
    Cache(Box<CacheSpec>),
    Database(Box<DatabaseSpec>),
    Balancer(Box<BalancerSpec>),
    Dns(Box<DnsSpec>),
    Queue(Box<messaging::queue::QueueSpec>),
    Topic(Box<messaging::topic::TopicSpec>),
}
