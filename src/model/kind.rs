//! What a kind of component is before a run: the live state it starts as (`instantiate`),
//! its cost, its callees, its machines, and what its fixed state costs in simulator memory.
//! One exhaustive `match` per question, like the run-time doors in `component.rs`.

use crate::engine::rng::stream_for;
use crate::model::component::Component;
use crate::model::compute::machine::MachineSpec;
use crate::model::compute::server::Server;
use crate::model::compute::service::Service;
use crate::model::data::cache::{Cache, CachePolicy};
use crate::model::data::database::Database;
use crate::model::data::replica_log::ReplicationState;
use crate::model::data::replication::ReplicationSpec;
use crate::model::ids::ComponentId;
use crate::model::messaging::queue::Broker;
use crate::model::messaging::topic::{Subscriber, Topic};
use crate::model::net::dns::Dns;
use crate::model::net::load_balancer::Balancer;
use crate::model::{ComponentKind, ComponentSpec};

/// The machines of a component, as the scenario describes them.
#[derive(Debug, Clone, Copy)]
pub struct Fleet<'a> {
    pub machine: &'a MachineSpec,
    pub count: u32,
    pub workers: u32,
    /// For a replicated or sharded database.
    pub replication: Option<&'a ReplicationSpec>,
}

/// What a component's fixed state costs in simulator memory (`compute::memory`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FixedHeap {
    /// Latency histograms it may fill.
    pub histograms: u64,
    /// Its machines' state and per-machine tables, in bytes.
    pub machine_bytes: u64,
    /// Tables sized by the key space (an LRU), in bytes.
    pub key_tables: u64,
}

impl ComponentSpec {
    /// The live state for a run with `seed`.
    pub fn instantiate(&self, seed: u64) -> Component {
        let rng = stream_for(seed, &self.name);
        match &self.kind {
            ComponentKind::Service(spec) => Component::Service(Box::new(Service {
                server: Server::new(spec.as_ref().clone(), rng),
            })),
            ComponentKind::Cache(spec) => {
                Component::Cache(Box::new(Cache::new(spec.as_ref().clone(), rng)))
            }
            ComponentKind::Database(spec) => {
                Component::Database(Box::new(Database::new(spec.as_ref().clone(), rng)))
            }
            ComponentKind::Balancer(spec) => {
                Component::Balancer(Box::new(Balancer::new(spec.as_ref().clone(), rng)))
            }
            ComponentKind::Dns(spec) => Component::Dns(Box::new(Dns::new(spec.as_ref().clone()))),
            ComponentKind::Topic(spec) => {
                Component::Topic(Box::new(Topic::new(spec.as_ref().clone(), rng)))
            }
            // Its id and its pollers' first global id are set when the simulation is built.
            ComponentKind::Queue(spec) => Component::Queue(Box::new(Broker::new(
                spec.as_ref().clone(),
                ComponentId::from_index(0),
                0,
                rng,
            ))),
        }
    }
}

impl ComponentKind {
    /// The name a scenario gives this kind (`"kind": …`).
    pub fn name(&self) -> &'static str {
        match self {
            ComponentKind::Service(_) => "service",
            ComponentKind::Cache(_) => "cache",
            ComponentKind::Database(_) => "database",
            ComponentKind::Balancer(b) if b.gateway.is_some() => "gateway",
            ComponentKind::Balancer(_) => "load_balancer",
            ComponentKind::Dns(_) => "dns",
            ComponentKind::Queue(q) if q.partitions.is_some() => "log",
            ComponentKind::Queue(_) => "queue",
            ComponentKind::Topic(_) => "topic",
        }
    }

    /// Whether it passes messages on (a queue to its consumers, a topic to its subscribers)
    /// rather than calling and waiting.
    pub fn passes_messages(&self) -> bool {
        matches!(self, ComponentKind::Queue(_) | ComponentKind::Topic(_))
    }

    /// The components this one calls, each once: a server's call steps in id order, a
    /// balancer's backends in the order given, a DNS's targets.
    pub fn callees(&self) -> Vec<ComponentId> {
        match self {
            ComponentKind::Service(s) => s.callees(),
            ComponentKind::Cache(c) => c.server.callees(),
            ComponentKind::Database(d) => d.server.callees(),
            ComponentKind::Balancer(b) => b.callees(),
            ComponentKind::Dns(d) => d.targets.clone(),
            // Its consumers pull, but each message it holds becomes work at them.
            ComponentKind::Queue(q) => {
                let mut out: Vec<ComponentId> = q.consumers.iter().map(|c| c.service).collect();
                out.sort_unstable();
                out.dedup();
                out
            }
            // It sends each message on to its subscribers.
            ComponentKind::Topic(t) => {
                let mut out: Vec<ComponentId> = t
                    .subscriptions
                    .iter()
                    .map(|s| match s.to {
                        Subscriber::Queue(q) => q,
                        Subscriber::Push { service, .. } => service,
                    })
                    .collect();
                out.sort_unstable();
                out.dedup();
                out
            }
        }
    }

    /// Price of the component per hour (all its machines).
    pub fn cost_per_hour(&self) -> f64 {
        match self {
            ComponentKind::Service(s) => s.cost_per_hour(),
            ComponentKind::Cache(c) => c.server.cost_per_hour(),
            ComponentKind::Database(d) => d.server.cost_per_hour(),
            ComponentKind::Balancer(b) => b.cost_per_hour,
            ComponentKind::Dns(_) => 0.0,
            ComponentKind::Queue(q) => q.server.cost_per_hour(),
            ComponentKind::Topic(t) => t.server.cost_per_hour(),
        }
    }

    /// The spec of its machines, to change (a server's; none for a balancer or a DNS).
    pub fn machine_mut(&mut self) -> Option<&mut MachineSpec> {
        match self {
            ComponentKind::Service(s) => Some(&mut s.machine),
            ComponentKind::Cache(c) => Some(&mut c.server.machine),
            ComponentKind::Database(d) => Some(&mut d.server.machine),
            ComponentKind::Queue(q) => Some(&mut q.server.machine),
            ComponentKind::Topic(t) => Some(&mut t.server.machine),
            ComponentKind::Balancer(_) | ComponentKind::Dns(_) => None,
        }
    }

    /// Its machines, if it has any of its own.
    pub fn fleet(&self) -> Option<Fleet<'_>> {
        let (s, replication) = match self {
            ComponentKind::Service(s) => (
                Fleet {
                    machine: &s.machine,
                    count: s.machine_count,
                    workers: s.workers,
                    replication: None,
                },
                None,
            ),
            ComponentKind::Cache(c) => (
                Fleet {
                    machine: &c.server.machine,
                    count: c.server.machine_count,
                    workers: c.server.workers,
                    replication: None,
                },
                None,
            ),
            ComponentKind::Database(d) => (
                Fleet {
                    machine: &d.server.machine,
                    count: d.server.machine_count,
                    workers: d.server.workers,
                    replication: None,
                },
                d.replication.as_ref(),
            ),
            ComponentKind::Queue(q) => (
                Fleet {
                    machine: &q.server.machine,
                    count: q.server.machine_count,
                    workers: q.server.workers,
                    replication: None,
                },
                None,
            ),
            ComponentKind::Topic(t) => (
                Fleet {
                    machine: &t.server.machine,
                    count: t.server.machine_count,
                    workers: t.server.workers,
                    replication: None,
                },
                None,
            ),
            ComponentKind::Balancer(_) | ComponentKind::Dns(_) => return None,
        };
        Some(Fleet { replication, ..s })
    }

    /// The mean CPU time, in milliseconds, of the program this component runs for request
    /// class `class` (as written, at the machine's speed); None if it runs no programs.
    pub fn program_cpu_ms(&self, class: usize) -> Option<f64> {
        fn sum<S>(programs: &[Vec<crate::model::compute::server::Step<S>>], class: usize) -> f64 {
            programs
                .get(class)
                .map_or(0.0, |p| p.iter().map(|s| s.cpu_ms()).sum())
        }
        match self {
            ComponentKind::Service(s) => Some(sum(&s.programs, class)),
            ComponentKind::Cache(c) => Some(sum(&c.server.programs, class)),
            ComponentKind::Database(d) => Some(sum(&d.server.programs, class)),
            ComponentKind::Queue(q) => Some(sum(&q.server.programs, class)),
            ComponentKind::Topic(t) => Some(sum(&t.server.programs, class)),
            ComponentKind::Balancer(_) | ComponentKind::Dns(_) => None,
        }
    }

    /// What its fixed state costs in simulator memory.
    pub fn fixed_heap(&self) -> FixedHeap {
        use crate::model::compute::machine::Machine;
        use crate::model::compute::pool::Pool;
        use crate::model::data::database::MEMBER_HISTOGRAMS;
        // Every server keeps queue-wait, service and pool-wait histograms, and each machine
        // its state and pools.
        let server = |count: u32, pools: usize| FixedHeap {
            histograms: 3,
            machine_bytes: u64::from(count)
                * (std::mem::size_of::<Machine>() + pools * std::mem::size_of::<Pool>()) as u64,
            key_tables: 0,
        };
        match self {
            ComponentKind::Service(s) => server(s.machine_count, s.pools.len()),
            ComponentKind::Cache(c) => FixedHeap {
                // prev, next (u32) and present (bool) per key.
                key_tables: match c.policy {
                    CachePolicy::Lru { key_count, .. } => key_count * 9,
                    CachePolicy::HitRatio(_) => 0,
                },
                ..server(c.server.machine_count, c.server.pools.len())
            },
            ComponentKind::Database(d) => {
                let count = d.server.machine_count;
                let base = server(count, d.server.pools.len());
                match &d.replication {
                    // Staleness and lag, one per machine when they are few, and each
                    // machine's log filter.
                    Some(_) => FixedHeap {
                        histograms: base.histograms
                            + 2
                            + if count <= MEMBER_HISTOGRAMS {
                                u64::from(count)
                            } else {
                                0
                            },
                        machine_bytes: base.machine_bytes
                            + u64::from(count) * ReplicationState::BYTES_PER_MACHINE,
                        key_tables: 0,
                    },
                    None => base,
                }
            }
            ComponentKind::Balancer(b) => FixedHeap {
                key_tables: b.gateway.as_ref().map_or(0, |g| g.bucket_bytes()),
                ..FixedHeap::default()
            },
            ComponentKind::Dns(_) => FixedHeap::default(),
            // A latency histogram per subscription.
            ComponentKind::Topic(t) => FixedHeap {
                histograms: 3 + t.subscriptions.len() as u64,
                ..server(t.server.machine_count, 0)
            },
            // Its end-to-end latency, and each poller's batch and list to delete.
            ComponentKind::Queue(q) => {
                let base = server(q.server.machine_count, 0);
                let per_poller = 2
                    * u64::from(q.consumers.iter().map(|c| c.batch).max().unwrap_or(1))
                    * std::mem::size_of::<crate::model::messaging::store::Delivery>() as u64
                    + std::mem::size_of::<crate::model::messaging::poller::Poller>() as u64;
                FixedHeap {
                    histograms: base.histograms + 1,
                    machine_bytes: base.machine_bytes + u64::from(q.poller_count()) * per_poller,
                    key_tables: 0,
                }
            }
        }
    }
}
