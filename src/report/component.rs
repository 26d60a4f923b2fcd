//! A component's section of summary.json: what its machines did over the window (CPU,
//! workers, NIC, disk, queue, connections, memory, the busiest machine), read out of the
//! simulation. Pure.

use crate::metrics::histogram::Latency;
use crate::model::client::workload::Class;
use crate::model::component::Component;
use crate::model::compute::server::{Hottest, Server};
use crate::model::data::replication::ReplicationSpec;
use crate::model::net::gateway::Gateway;
use crate::model::net::health::HealthChange;
use crate::report::{LatencySummary, failures, reasons, round};
use serde::Serialize;
use std::collections::BTreeMap;

/// One component: a section per kind, each with the figures that apply to it (a balancer
/// has no CPU, a DNS no connections: those figures are absent, not 0). `kind` comes first in
/// JSON, named as in the scenario.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum ComponentSummary {
    Service(ServerSummary),
    Cache(ServerSummary),
    Database(ServerSummary),
    LoadBalancer(BalancerSummary),
    Gateway(BalancerSummary),
    Dns(DnsSummary),
    Queue(Box<QueueSummary>),
    Topic(Box<TopicSummary>),
    Log(Box<QueueSummary>),
}

/// A topic: its broker's machine, and what became of the copies it sent.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct TopicSummary {
    #[serde(flatten)]
    pub server: ServerSummary,
    pub messages: super::messages::TopicMessages,
}

/// A queue: its broker's machine, and what became of the messages.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct QueueSummary {
    #[serde(flatten)]
    pub server: ServerSummary,
    pub messages: super::messages::MessageSummary,
}

/// A service, cache or database: what its machines did over the window.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct ServerSummary {
    /// Machines (a database's: shards × machines per shard).
    pub replicas: u32,
    pub cost_per_hour: f64,
    /// Calls answered successfully during the window, per second.
    pub throughput_rps: f64,
    pub cpu_utilisation: f64,
    pub worker_utilisation: f64,
    pub nic_utilisation: f64,
    pub disk_utilisation: f64,
    pub mean_queue: f64,
    pub max_queue: u64,
    /// Share of admitted calls that found every worker busy (Erlang C's P(wait) for M/M/c).
    pub wait_probability: f64,
    pub mean_connections: f64,
    pub peak_connections: u64,
    pub max_connections: u64,
    pub peak_memory_gb: f64,
    pub ram_gb: f64,
    pub refused_by: BTreeMap<String, u64>,
    /// Messages its full receive buffers dropped (each sent again after a TCP timeout).
    #[serde(default)]
    pub dropped_messages: u64,
    /// Processes killed for want of memory over the run; only with `out_of_memory: kill`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oom_kills: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_wait_ms: Option<LatencySummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_ms: Option<LatencySummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool_wait_ms: Option<LatencySummary>,
    /// On a host it shares (`hosts`), its name: CPU, NIC, disk, queue and memory are then
    /// the host's, the same for every component on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// A service whose replica count changed during the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scaling: Option<super::scaling::ScalingSummary>,
    /// Caches only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_hit_ratio: Option<f64>,
    /// Replicated or sharded databases only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replication: Option<failures::ReplicationSummary>,
    /// Components of more than one machine: the busiest machine for CPU, NIC and disk
    /// (the figures above are means over the machines).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hottest_machine: Option<HottestMachines>,
}

/// A load balancer: no machine of its own, only connections.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct BalancerSummary {
    pub cost_per_hour: f64,
    /// Calls answered successfully during the window, per second.
    pub throughput_rps: f64,
    /// Busy share of its cores, and of its NIC's busier direction, over the window.
    pub cpu_utilisation: f64,
    pub nic_utilisation: f64,
    pub mean_connections: f64,
    pub peak_connections: u64,
    pub max_connections: u64,
    pub refused_by: BTreeMap<String, u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub health_changes: Vec<HealthChangeSummary>,
    /// A gateway's rate limits and what they refused.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<GatewayFigures>,
}

/// What a gateway's rate limits did (over the window, as every refusal count).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct GatewayFigures {
    pub rate_limits: Vec<RateLimitSummary>,
    /// Per request class, its requests refused `rate_limited`.
    pub rate_limited_by_class: BTreeMap<String, u64>,
}

/// One token bucket (or one kind of them: per class, per user) and what it refused.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct RateLimitSummary {
    pub per: &'static str,
    /// The classes it applies to.
    pub classes: Vec<String>,
    pub rate_per_s: f64,
    pub burst: u32,
    /// Requests it refused.
    pub rate_limited: u64,
}

/// A DNS: it answers users' lookups and checks its targets.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct DnsSummary {
    pub cost_per_hour: f64,
    /// Lookups answered during the window, per second.
    pub answers_per_s: f64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub health_changes: Vec<HealthChangeSummary>,
}

/// Connections at a component over the window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Connections {
    pub mean: f64,
    pub peak: u64,
    pub cap: u64,
}

/// What a component's per-interval load is (`timeseries.csv`, the charts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoadShown {
    /// CPU utilisation (the mean over machines, and the busiest machine's) and a queue.
    CpuAndQueue,
    /// The share of its connection cap in use; no queue.
    ConnectionShare,
    /// Nothing: it has no machine and holds no connections.
    Nothing,
}

impl ComponentSummary {
    /// The kind, as the scenario names it.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            ComponentSummary::Service(_) => "service",
            ComponentSummary::Cache(_) => "cache",
            ComponentSummary::Database(_) => "database",
            ComponentSummary::LoadBalancer(_) => "load_balancer",
            ComponentSummary::Gateway(_) => "gateway",
            ComponentSummary::Dns(_) => "dns",
            ComponentSummary::Queue(_) => "queue",
            ComponentSummary::Topic(_) => "topic",
            ComponentSummary::Log(_) => "log",
        }
    }

    /// A queue's or a log's broker and messages.
    pub(crate) fn queue(&self) -> Option<&QueueSummary> {
        match self {
            ComponentSummary::Queue(q) | ComponentSummary::Log(q) => Some(q),
            _ => None,
        }
    }

    /// The kind, as the components table shows it.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            ComponentSummary::LoadBalancer(_) => "lb",
            ComponentSummary::Gateway(_) => "gateway",
            ComponentSummary::Service(_)
            | ComponentSummary::Cache(_)
            | ComponentSummary::Database(_)
            | ComponentSummary::Dns(_)
            | ComponentSummary::Queue(_)
            | ComponentSummary::Log(_)
            | ComponentSummary::Topic(_) => self.kind(),
        }
    }

    /// The components table's rate: calls answered successfully per second, or for a DNS
    /// lookups answered.
    pub(crate) fn rate_per_s(&self) -> f64 {
        match self {
            ComponentSummary::Dns(d) => d.answers_per_s,
            ComponentSummary::Service(_)
            | ComponentSummary::Cache(_)
            | ComponentSummary::Database(_)
            | ComponentSummary::LoadBalancer(_)
            | ComponentSummary::Gateway(_)
            | ComponentSummary::Queue(_)
            | ComponentSummary::Log(_)
            | ComponentSummary::Topic(_) => self.throughput_rps().unwrap_or(0.0),
        }
    }

    /// The line the components table's legend gains when this kind is in it.
    pub(crate) fn legend(&self) -> Option<&'static str> {
        match self {
            ComponentSummary::LoadBalancer(_) => Some("lb: load balancer"),
            ComponentSummary::Gateway(_) => None,
            ComponentSummary::Dns(_) => Some("a dns's rps: lookups it answered per second"),
            ComponentSummary::Queue(_) => {
                Some("a queue's rps: API calls (send, receive, delete) it answered per second")
            }
            ComponentSummary::Topic(_) => Some("a topic's rps: messages published per second"),
            ComponentSummary::Log(_) => {
                Some("a log's rps: API calls (append, fetch, commit) it answered per second")
            }
            ComponentSummary::Service(_)
            | ComponentSummary::Cache(_)
            | ComponentSummary::Database(_) => None,
        }
    }

    /// What its per-interval load is.
    pub(crate) fn load_shown(&self) -> LoadShown {
        match self {
            ComponentSummary::Service(_)
            | ComponentSummary::Cache(_)
            | ComponentSummary::Database(_)
            | ComponentSummary::Queue(_)
            | ComponentSummary::Log(_)
            | ComponentSummary::Topic(_) => LoadShown::CpuAndQueue,
            ComponentSummary::LoadBalancer(_) | ComponentSummary::Gateway(_) => {
                LoadShown::ConnectionShare
            }
            ComponentSummary::Dns(_) => LoadShown::Nothing,
        }
    }

    /// The machine figures of a service, cache or database.
    pub(crate) fn server(&self) -> Option<&ServerSummary> {
        match self {
            ComponentSummary::Service(s)
            | ComponentSummary::Cache(s)
            | ComponentSummary::Database(s) => Some(s),
            ComponentSummary::Queue(q) | ComponentSummary::Log(q) => Some(&q.server),
            ComponentSummary::Topic(t) => Some(&t.server),
            ComponentSummary::LoadBalancer(_)
            | ComponentSummary::Gateway(_)
            | ComponentSummary::Dns(_) => None,
        }
    }

    pub(crate) fn server_mut(&mut self) -> Option<&mut ServerSummary> {
        match self {
            ComponentSummary::Service(s)
            | ComponentSummary::Cache(s)
            | ComponentSummary::Database(s) => Some(s),
            ComponentSummary::Queue(q) | ComponentSummary::Log(q) => Some(&mut q.server),
            ComponentSummary::Topic(t) => Some(&mut t.server),
            ComponentSummary::LoadBalancer(_)
            | ComponentSummary::Gateway(_)
            | ComponentSummary::Dns(_) => None,
        }
    }

    /// Calls answered successfully per second; a DNS answers lookups, not calls (None).
    pub(crate) fn throughput_rps(&self) -> Option<f64> {
        match self {
            ComponentSummary::Service(s)
            | ComponentSummary::Cache(s)
            | ComponentSummary::Database(s) => Some(s.throughput_rps),
            ComponentSummary::Queue(q) | ComponentSummary::Log(q) => Some(q.server.throughput_rps),
            ComponentSummary::Topic(t) => Some(t.server.throughput_rps),
            ComponentSummary::LoadBalancer(b) | ComponentSummary::Gateway(b) => {
                Some(b.throughput_rps)
            }
            ComponentSummary::Dns(_) => None,
        }
    }

    /// Connections in use and the cap (per machine for a server); None for a DNS.
    pub(crate) fn connections(&self) -> Option<Connections> {
        match self {
            ComponentSummary::Service(s)
            | ComponentSummary::Cache(s)
            | ComponentSummary::Database(s) => Some(Connections {
                mean: s.mean_connections,
                peak: s.peak_connections,
                cap: s.max_connections,
            }),
            ComponentSummary::Queue(q) | ComponentSummary::Log(q) => Some(Connections {
                mean: q.server.mean_connections,
                peak: q.server.peak_connections,
                cap: q.server.max_connections,
            }),
            ComponentSummary::Topic(t) => Some(Connections {
                mean: t.server.mean_connections,
                peak: t.server.peak_connections,
                cap: t.server.max_connections,
            }),
            ComponentSummary::LoadBalancer(b) | ComponentSummary::Gateway(b) => Some(Connections {
                mean: b.mean_connections,
                peak: b.peak_connections,
                cap: b.max_connections,
            }),
            ComponentSummary::Dns(_) => None,
        }
    }
}

/// The busiest machine of a component, resource by resource (over the window).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct HottestMachines {
    pub cpu: MachineLoad,
    pub nic: MachineLoad,
    pub disk: MachineLoad,
}

/// One machine's utilisation of one resource.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct MachineLoad {
    /// `replica 3`, or for a replicated or sharded database `shard 2 machine 0`.
    pub machine: String,
    pub utilisation: f64,
}

/// A backend taken out of or put back into rotation by health checks.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct HealthChangeSummary {
    pub at_s: f64,
    pub backend: String,
    pub healthy: bool,
}

/// Peak share of the memory left for work (RAM less the machine's base memory) that
/// connections and in-flight requests took: 1 means requests were refused `out_of_memory`.
/// The base memory is left out so an idle machine does not rank as a bottleneck.
pub(super) fn working_memory_share(state: &Component) -> f64 {
    fn share<S>(s: &Server<S>) -> f64 {
        let m = &s.spec.machine;
        let room = m.ram_bytes.saturating_sub(m.base_bytes);
        let used = s.peak_memory_bytes().saturating_sub(m.base_bytes);
        if room > 0 {
            used as f64 / room as f64
        } else {
            0.0
        }
    }
    match state {
        Component::Service(s) => share(&s.server),
        Component::Cache(c) => share(&c.server),
        Component::Database(d) => share(&d.server),
        Component::Queue(q) => share(&q.server),
        Component::Topic(t) => share(&t.server),
        Component::Balancer(_) | Component::Dns(_) => 0.0,
    }
}

/// The summary of a server; `replication` names a database's machines.
fn server_summary<S>(
    s: &Server<S>,
    replication: Option<&ReplicationSpec>,
    cost_per_hour: f64,
    per_s: impl Fn(u64) -> f64,
) -> ServerSummary {
    const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
    let w = s.window;
    let k = &s.spec;
    let non_empty = |l: &Latency| (!l.is_empty()).then(|| LatencySummary::of(l));
    ServerSummary {
        replicas: k.machine_count,
        cost_per_hour: round(cost_per_hour, 4),
        throughput_rps: per_s(s.stats.served),
        cpu_utilisation: round(w.cpu_utilisation, 4),
        worker_utilisation: round(w.worker_utilisation, 4),
        nic_utilisation: round(w.nic_utilisation, 4),
        disk_utilisation: round(w.disk_utilisation, 4),
        mean_queue: round(w.mean_queue, 4),
        max_queue: s.max_queue(),
        wait_probability: if s.stats.admitted > 0 {
            round(s.stats.waited as f64 / s.stats.admitted as f64, 6)
        } else {
            0.0
        },
        mean_connections: round(w.mean_connections, 4),
        peak_connections: s.peak_connections(),
        max_connections: u64::from(k.machine.max_connections),
        peak_memory_gb: round(s.peak_memory_bytes() as f64 / GIB, 4),
        ram_gb: round(k.machine.ram_bytes as f64 / GIB, 4),
        refused_by: reasons(&s.stats.refused),
        dropped_messages: s.stats.dropped,
        oom_kills: k.machine.oom_kill.then_some(s.stats.oom_kills),
        queue_wait_ms: non_empty(&s.stats.queue_wait),
        service_ms: non_empty(&s.stats.service),
        pool_wait_ms: non_empty(&s.stats.pool_wait),
        host: None,
        scaling: None,
        cache_hit_ratio: None,
        replication: None,
        hottest_machine: (k.machine_count > 1).then(|| {
            let name = |machine: u32| match replication {
                Some(r) => r.member_name(machine),
                None => format!("replica {machine}"),
            };
            let load = |h: Hottest| MachineLoad {
                machine: name(h.machine),
                utilisation: round(h.utilisation, 4),
            };
            HottestMachines {
                cpu: load(w.hottest_cpu),
                nic: load(w.hottest_nic),
                disk: load(w.hottest_disk),
            }
        }),
    }
}

/// The summary of component `spec` (live state `state`; `all` names the others).
pub(super) fn component_summary(
    spec: &crate::model::ComponentSpec,
    state: &Component,
    sc: &crate::model::Scenario,
    per_s: impl Fn(u64) -> f64,
) -> ComponentSummary {
    let all = &sc.components;
    let cost = spec.kind.cost_per_hour();
    let changes = |changes: &[HealthChange], name: &dyn Fn(usize) -> String| {
        changes
            .iter()
            .map(|c| HealthChangeSummary {
                at_s: round(c.at.as_secs(), 6),
                backend: name(c.target),
                healthy: c.healthy,
            })
            .collect()
    };
    match state {
        Component::Service(s) => {
            ComponentSummary::Service(server_summary(&s.server, None, cost, per_s))
        }
        Component::Cache(c) => {
            let lookups = c.hits + c.misses;
            ComponentSummary::Cache(ServerSummary {
                cache_hit_ratio: (lookups > 0).then(|| round(c.hits as f64 / lookups as f64, 4)),
                ..server_summary(&c.server, None, cost, per_s)
            })
        }
        Component::Database(d) => {
            let replication = d.replication.as_ref().map(|r| &r.spec);
            ComponentSummary::Database(server_summary(&d.server, replication, cost, per_s))
        }
        Component::Balancer(b) => {
            let summary = BalancerSummary {
                cost_per_hour: round(cost, 4),
                throughput_rps: per_s(b.served),
                cpu_utilisation: round(b.cpu_utilisation, 4),
                nic_utilisation: round(b.nic_utilisation, 4),
                mean_connections: round(b.mean_connections, 4),
                peak_connections: b.conns.max(),
                max_connections: u64::from(b.spec.max_connections),
                refused_by: reasons(&b.refused),
                health_changes: changes(&b.health.changes, &|i| {
                    let backend = b.spec.backends[i];
                    format!("{}[{}]", all[backend.target.index()].name, backend.machine)
                }),
                gateway: b
                    .gateway
                    .as_deref()
                    .map(|g| gateway_figures(g, &sc.workload.classes)),
            };
            if summary.gateway.is_some() {
                ComponentSummary::Gateway(summary)
            } else {
                ComponentSummary::LoadBalancer(summary)
            }
        }
        Component::Queue(q) => {
            let summary = Box::new(QueueSummary {
                server: server_summary(&q.server, None, cost, &per_s),
                messages: super::messages::summary(q, all, &per_s),
            });
            if q.log.is_some() {
                ComponentSummary::Log(summary)
            } else {
                ComponentSummary::Queue(summary)
            }
        }
        Component::Topic(t) => ComponentSummary::Topic(Box::new(TopicSummary {
            server: server_summary(&t.server, None, cost, &per_s),
            messages: super::messages::topic_summary(t, all, &per_s),
        })),
        Component::Dns(d) => ComponentSummary::Dns(DnsSummary {
            cost_per_hour: round(cost, 4),
            answers_per_s: per_s(d.answers.iter().sum()),
            health_changes: changes(&d.health.changes, &|i| {
                all[d.spec.targets[i].index()].name.clone()
            }),
        }),
    }
}

/// A gateway's limits and refusals, classes named by `classes`.
fn gateway_figures(g: &Gateway, classes: &[Class]) -> GatewayFigures {
    GatewayFigures {
        rate_limits: g
            .spec
            .limits
            .iter()
            .zip(&g.limited)
            .map(|(l, &n)| RateLimitSummary {
                per: l.scope.name(),
                classes: classes
                    .iter()
                    .zip(&l.applies)
                    .filter(|(_, a)| **a)
                    .map(|(c, _)| c.name.clone())
                    .collect(),
                rate_per_s: l.rate_per_s,
                burst: l.burst,
                rate_limited: n,
            })
            .collect(),
        rate_limited_by_class: classes
            .iter()
            .map(|c| c.name.clone())
            .zip(g.limited_by_class.iter().copied())
            .collect(),
    }
}
