//! Validation of components: machines, services, caches and databases, compiled into the
//! model's server specs (programs of steps, pools); each kind is dispatched here, load
//! balancers to `balancer.rs`, DNS to `dns.rs`.

use super::dns::{dns, not_dns};
use super::hosts::server_machine;
use super::replication::replication;
use super::{Checker, MAX_LRU_KEYS};
use crate::engine::time::SimTime;
use crate::model::ComponentKind;
use crate::model::compute::machine::MachineSpec;
use crate::model::compute::server::{ServerSpec, Step};
use crate::model::compute::service::ServiceSpec;
use crate::model::data::cache::{CachePolicy, CacheSpec, CacheStep};
use crate::model::data::database::{DatabaseSpec, DbStep, Query, query_program};
use crate::model::distribution::Dist;
use crate::model::ids::PoolId;
use crate::scenario::raw::*;
use crate::scenario::suggest::hint;
use std::collections::BTreeMap;

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// Most memory a connection or a request may take, in KiB (about a terabyte).
const MAX_MEMORY_KB: f64 = 1e9;
/// Most a machine or a balancer may cost per hour (a fleet of 10,000 stays far from
/// overflow when summed).
pub(super) const MAX_COST_PER_HOUR: f64 = 1e6;
/// Most disk operations of one step or query, and the largest full-scan factor: their
/// product stays a whole number of operations.
const MAX_DISK_IOS: u32 = 100_000;
/// Queries in one `batch` step.
const MAX_UNINDEXED_FACTOR: f64 = 10_000.0;

pub(super) fn machine(c: &mut Checker, path: &str, m: &RawMachine) -> MachineSpec {
    let cores = c.at_least(&format!("{path}.cores"), u64::from(m.cores), 1) as u32;
    let speed = c.positive(&format!("{path}.cpu_speed"), m.cpu_speed);
    c.within(&format!("{path}.cpu_speed"), speed, 0.001, 1000.0);
    let ram = c.positive(&format!("{path}.ram_gb"), m.ram_gb);
    c.within(&format!("{path}.ram_gb"), ram, 1e-6, 1e6);
    let base = c.non_negative(&format!("{path}.base_memory_gb"), m.base_memory_gb);
    if base >= ram {
        c.problem(
            format!("{path}.base_memory_gb"),
            format!("must be less than ram_gb ({ram}), got {base}"),
        );
    }
    // Kilobytes to bytes: at most about a terabyte each, so sums of them stay exact.
    let per_conn = c.number(
        &format!("{path}.memory_per_connection_kb"),
        m.memory_per_connection_kb,
        0.0,
        MAX_MEMORY_KB,
    );
    let per_req = c.number(
        &format!("{path}.memory_per_request_kb"),
        m.memory_per_request_kb,
        0.0,
        MAX_MEMORY_KB,
    );
    let nic = c.positive(&format!("{path}.nic_gbps"), m.nic_gbps);
    c.within(&format!("{path}.nic_gbps"), nic, 1e-6, 1e5);
    let conns = c.at_least(
        &format!("{path}.max_connections"),
        u64::from(m.max_connections),
        1,
    ) as u32;
    let rx_buffer_kb = c.positive(&format!("{path}.rx_buffer_kb"), m.rx_buffer_kb);
    c.within(&format!("{path}.rx_buffer_kb"), rx_buffer_kb, 1.0, 1e9);
    let iops = c.positive(&format!("{path}.disk_iops"), m.disk_iops);
    c.within(&format!("{path}.disk_iops"), iops, 0.001, 1e9);
    let cost = c.number(
        &format!("{path}.cost_per_hour"),
        m.cost_per_hour,
        0.0,
        MAX_COST_PER_HOUR,
    );
    let mut spec = MachineSpec::new(
        cores,
        speed.max(0.001),
        ram,
        base,
        per_conn,
        per_req,
        nic.max(1e-9),
        conns,
        iops.max(1e-9),
        cost,
    );
    spec.time_sliced = m.cpu_scheduling == CpuScheduling::TimeSliced;
    spec.rx_buffer = spec.wire_time((rx_buffer_kb.clamp(1.0, 1e9) * 1024.0) as u64);
    spec.ephemeral_ports = c.count(
        &format!("{path}.ephemeral_ports"),
        u64::from(m.ephemeral_ports),
        1,
        65_535,
    ) as u32;
    let time_wait = c.number(&format!("{path}.time_wait_s"), m.time_wait_s, 0.0, 3600.0);
    spec.time_wait = SimTime::from_secs(time_wait);
    let swap = c.number(&format!("{path}.swap_gb"), m.swap_gb, 0.0, 1e6);
    spec.swap_bytes = (swap * 1024.0 * 1024.0 * 1024.0) as u64;
    spec.oom_kill = m.out_of_memory == OutOfMemory::Kill;
    let restart = c.number(&format!("{path}.restart_s"), m.restart_s, 0.0, 1e6);
    spec.restart = SimTime::from_secs(restart);
    spec
}

/// For each class, the item of `map` named after it, else `default`, else a problem.
fn per_class<'m, T>(
    c: &mut Checker,
    path: &str,
    map: &'m BTreeMap<String, T>,
    what: &str,
) -> Vec<Option<&'m T>> {
    for key in map.keys() {
        if key != "default" && !c.class_names.contains(key) {
            let h = hint(key, c.class_names.iter().map(String::as_str));
            c.problem(
                format!("{path}.{key}"),
                format!(
                    "no request class named `{key}`{h} (classes are declared in workload.classes)"
                ),
            );
        }
    }
    let class_names = c.class_names.clone();
    class_names
        .iter()
        .map(|class| {
            let found = map.get(class).or_else(|| map.get("default"));
            if found.is_none() {
                c.problem(
                    path,
                    if class == "default" {
                        format!("no {what}: add one named `default`")
                    } else {
                        format!("no {what} for request class `{class}`; add `{class}` or `default`")
                    },
                );
            }
            found
        })
        .collect()
}

pub(super) fn component(
    c: &mut Checker,
    name: &str,
    comp: &RawComponent,
    key_space: u64,
) -> ComponentKind {
    let path = format!("components.{name}");
    match comp {
        RawComponent::Service(s) => ComponentKind::Service(Box::new(service(c, &path, name, s))),
        RawComponent::Cache(k) => ComponentKind::Cache(Box::new(cache(c, &path, k, key_space))),
        RawComponent::Database(d) => {
            ComponentKind::Database(Box::new(database(c, &path, d, key_space)))
        }
        RawComponent::LoadBalancer(b) => {
            ComponentKind::Balancer(Box::new(super::balancer::balancer(c, &path, b, false)))
        }
        RawComponent::Gateway(b) => {
            ComponentKind::Balancer(Box::new(super::balancer::balancer(c, &path, b, true)))
        }
        RawComponent::Dns(d) => ComponentKind::Dns(Box::new(dns(c, &path, d))),
        RawComponent::Topic(t) => ComponentKind::Topic(Box::new(super::queue::topic(c, &path, t))),
        RawComponent::Queue(q) => {
            ComponentKind::Queue(Box::new(super::queue::queue(c, &path, name, q)))
        }
        RawComponent::Log(l) => {
            ComponentKind::Queue(Box::new(super::queue::log(c, &path, name, l)))
        }
    }
}

fn service(c: &mut Checker, path: &str, name: &str, s: &RawService) -> ServiceSpec {
    let machine = server_machine(c, path, s.machine.as_ref(), s.host.as_ref());
    let replicas = c.at_least(&format!("{path}.replicas"), u64::from(s.replicas), 1) as u32;
    if replicas > 10_000 {
        c.problem(
            format!("{path}.replicas"),
            format!("at most 10000, got {replicas}"),
        );
    }
    let workers = c.at_least(&format!("{path}.workers"), u64::from(s.workers), 1) as u32;
    let mut pools = Vec::new();
    for (target, pool) in &s.connection_pools {
        let p = format!("{path}.connection_pools.{target}");
        let id = c.component(&p, target);
        if c.kind_of(id)
            .is_some_and(|k| !matches!(k, RawComponent::Database(_)))
            && c.names.contains(&target.as_str())
        {
            c.problem(
                &p,
                format!("`{target}` is not a database; pools hold database connections"),
            );
        }
        let size = c.at_least(&format!("{p}.size"), u64::from(pool.size), 1) as u32;
        pools.push((id, size));
    }
    let handlers = per_class(c, &format!("{path}.handlers"), &s.handlers, "handler");
    // A called component (not a DNS, not itself) and this service's pool towards it.
    let callee = |c: &mut Checker, at: &str, target: &String| {
        let id = c.component(at, target);
        not_dns(c, at, target);
        super::queue::not_a_queue(c, at, target);
        if target == name {
            c.problem(at, "a service cannot call itself");
        }
        let pool = pools
            .iter()
            .position(|&(t, _)| t == id)
            .map(PoolId::from_index);
        (id, pool)
    };
    let mut programs = Vec::new();
    for (class_name, handler) in c.class_names.clone().iter().zip(handlers) {
        let Some(steps) = handler else {
            programs.push(Vec::new());
            continue;
        };
        let key = if s.handlers.contains_key(class_name) {
            class_name.as_str()
        } else {
            "default"
        };
        let hpath = format!("{path}.handlers.{key}");
        if steps.is_empty() {
            c.problem(
                &hpath,
                "needs at least one step (cpu_ms, disk_ios, call, call_with_fallback, batch, send or publish)",
            );
        }
        c.at_most_items(&hpath, steps.len(), super::MAX_STEPS, "steps");
        let program = steps
            .iter()
            .enumerate()
            .map(|(i, step)| match step {
                RawStep::CpuMs(d) => Step::Cpu(
                    c.dist(&format!("{hpath}[{i}].cpu_ms"), d)
                        .scaled(1.0 / machine.cpu_speed),
                ),
                RawStep::DiskIos(n) => Step::Disk(c.count(
                    &format!("{hpath}[{i}].disk_ios"),
                    u64::from(*n),
                    0,
                    u64::from(MAX_DISK_IOS),
                ) as u32),
                RawStep::Call(target) => {
                    let (target, pool) = callee(c, &format!("{hpath}[{i}].call"), target);
                    Step::Call {
                        target,
                        pool,
                        fallback: None,
                        queries: 1,
                        per_message: false,
                    }
                }
                RawStep::Batch(b) => {
                    let p = format!("{hpath}[{i}].batch");
                    let (target, pool) = callee(c, &format!("{p}.call"), &b.call);
                    if c.raw
                        .components
                        .get(&b.call)
                        .is_some_and(|t| !matches!(t, RawComponent::Database(_)))
                    {
                        c.problem(
                            format!("{p}.call"),
                            format!(
                                "`{}` is not a database: a batch sends several queries to one \
                                 database in one round trip; use `call` for anything else",
                                b.call
                            ),
                        );
                    }
                    let (queries, per_message) = super::batching::batch_queries(c, &p, b);
                    Step::Call {
                        target,
                        pool,
                        fallback: None,
                        queries,
                        per_message,
                    }
                }
                RawStep::Send(s) => super::queue::send_step(c, &format!("{hpath}[{i}].send"), s),
                RawStep::Publish(p) => {
                    super::queue::publish_step(c, &format!("{hpath}[{i}].publish"), p)
                }
                RawStep::CallWithFallback(f) => {
                    let p = format!("{hpath}[{i}].call_with_fallback");
                    let (target, pool) = callee(c, &format!("{p}.call"), &f.call);
                    let fallback = callee(c, &format!("{p}.fallback"), &f.fallback);
                    if f.call == f.fallback {
                        c.problem(
                            format!("{p}.fallback"),
                            "the fallback must be another component than the first call",
                        );
                    }
                    Step::Call {
                        target,
                        pool,
                        fallback: Some(fallback),
                        queries: 1,
                        per_message: false,
                    }
                }
            })
            .collect();
        programs.push(program);
    }
    if let Some(k) = &s.consumes {
        super::queue::consumes(c, path, k);
        super::batching::consumer_batching(c, &format!("{path}.consumes"), k, &s.handlers);
    }
    let accept = c.dist(&format!("{path}.accept_cpu_ms"), &s.accept_cpu_ms);
    let connect_programs = with_setup(&programs, accept, machine.cpu_speed);
    // A fleet has a machine for each replica it may have, and room for a deploy's.
    let machine_count = if s.scaling.is_some() || !s.deploys.is_empty() {
        s.machines()
    } else {
        replicas
    };
    ServerSpec {
        machine,
        machine_count,
        workers,
        queue_capacity: s.queue_capacity,
        programs,
        connect_programs,
        pools,
        disk_in_memory: 0.0,
    }
}

fn cache(c: &mut Checker, path: &str, k: &RawCache, key_space: u64) -> CacheSpec {
    let machine = server_machine(c, path, k.machine.as_ref(), k.host.as_ref());
    let lookup = c
        .dist(&format!("{path}.lookup_ms"), &k.lookup_ms)
        .scaled(1.0 / machine.cpu_speed);
    let backing = c.component(&format!("{path}.backing"), &k.backing);
    not_dns(c, &format!("{path}.backing"), &k.backing);
    super::queue::not_a_queue(c, &format!("{path}.backing"), &k.backing);
    let policy = match k.policy {
        RawCachePolicy::HitRatio(r) => {
            if !(0.0..=1.0).contains(&r) {
                c.problem(
                    format!("{path}.policy.hit_ratio"),
                    format!("must be between 0 and 1, got {r}"),
                );
            }
            CachePolicy::HitRatio(r)
        }
        RawCachePolicy::Lru {
            capacity_keys,
            capacity_mb,
            entry_kb,
        } => {
            let lpath = format!("{path}.policy.lru");
            let entry_kb = c.number(&format!("{lpath}.entry_kb"), entry_kb, 0.0, MAX_MEMORY_KB);
            let entry_bytes = (entry_kb * 1024.0) as u64;
            let capacity_keys = match (capacity_keys, capacity_mb) {
                (Some(keys), None) => c.at_least(&format!("{lpath}.capacity_keys"), keys, 1),
                (None, Some(mb)) => {
                    let mb = c.positive(&format!("{lpath}.capacity_mb"), mb);
                    if entry_bytes == 0 {
                        c.problem(
                            format!("{lpath}.entry_kb"),
                            "a capacity in MB needs entries of some size: give entry_kb > 0",
                        );
                        1
                    } else {
                        ((mb * 1024.0 * 1024.0) / entry_bytes as f64)
                            .floor()
                            .max(1.0) as u64
                    }
                }
                (Some(_), Some(_)) | (None, None) => {
                    c.problem(
                        &lpath,
                        "give the LRU's size once: capacity_keys or capacity_mb",
                    );
                    1
                }
            };
            let free = machine.ram_bytes.saturating_sub(machine.base_bytes);
            if capacity_keys.saturating_mul(entry_bytes) > free {
                c.problem(
                    &lpath,
                    format!(
                        "{capacity_keys} entries of {entry_kb} KiB need {:.3} GiB, more than the {:.3} GiB the machine has beyond base_memory_gb: raise ram_gb or shrink the cache",
                        (capacity_keys.saturating_mul(entry_bytes)) as f64 / GIB,
                        free as f64 / GIB
                    ),
                );
            }
            if key_space > MAX_LRU_KEYS {
                c.problem(
                    format!("{path}.policy.lru"),
                    format!("an LRU tracks every key: the workload has {key_space} keys, at most {MAX_LRU_KEYS}; use hit_ratio or fewer keys"),
                );
            }
            CachePolicy::Lru {
                capacity: capacity_keys,
                key_count: key_space.min(MAX_LRU_KEYS),
                entry_bytes,
            }
        }
    };
    let workers = c.at_least(&format!("{path}.workers"), u64::from(k.workers), 1) as u32;
    // A read-through cache keeps its connections to a database open: one per worker.
    let pools = match c.raw.components.get(&k.backing) {
        Some(RawComponent::Database(_)) => vec![(backing, workers)],
        _ => Vec::new(),
    };
    let program = vec![
        Step::Cpu(lookup),
        Step::Own(CacheStep::Lookup),
        Step::Call {
            target: backing,
            pool: (!pools.is_empty()).then_some(PoolId::from_index(0)),
            fallback: None,
            queries: 1,
            per_message: false,
        },
        Step::Own(CacheStep::Fill),
    ];
    CacheSpec {
        server: ServerSpec {
            machine,
            machine_count: 1,
            workers,
            queue_capacity: k.queue_capacity,
            programs: vec![program; c.class_names.len()],
            connect_programs: Vec::new(),
            pools,
            disk_in_memory: 0.0,
        },
        policy,
    }
}

fn database(c: &mut Checker, path: &str, d: &RawDatabase, key_space: u64) -> DatabaseSpec {
    let machine = server_machine(c, path, d.machine.as_ref(), d.host.as_ref());
    c.number(
        &format!("{path}.unindexed_factor"),
        d.unindexed_factor,
        1.0,
        MAX_UNINDEXED_FACTOR,
    );
    let connect = c.dist(&format!("{path}.connect_ms"), &d.connect_ms);
    let queries = per_class(c, &format!("{path}.queries"), &d.queries, "query");
    let replication = replication(c, path, d, &queries, key_space);
    let names = c.class_names.clone();
    let programs: Vec<Vec<Step<DbStep>>> = names
        .iter()
        .zip(queries)
        .map(|(class, q)| match q {
            Some(q) => {
                let key = if d.queries.contains_key(class) {
                    class.as_str()
                } else {
                    "default"
                };
                let cpu = c.dist(&format!("{path}.queries.{key}.cpu_ms"), &q.cpu_ms);
                let query = Query {
                    op: q.op,
                    cpu,
                    disk_ios: c.count(
                        &format!("{path}.queries.{key}.disk_ios"),
                        u64::from(q.disk_ios),
                        0,
                        u64::from(MAX_DISK_IOS),
                    ) as u32,
                };
                let mut program = query_program(
                    &query,
                    d.indexed,
                    d.unindexed_factor.clamp(1.0, MAX_UNINDEXED_FACTOR),
                    machine.cpu_speed,
                );
                if replication.as_ref().is_some_and(|r| r.members > 1) {
                    program.push(Step::Own(match q.op {
                        QueryOp::Write => DbStep::Replicate,
                        QueryOp::Read => DbStep::ReadCheck,
                    }));
                }
                program
            }
            None => Vec::new(),
        })
        .collect();
    for (name, q) in &d.queries {
        if q.fan_out && q.op == QueryOp::Write {
            c.problem(
                format!("{path}.queries.{name}.fan_out"),
                "a write goes to its key's shard: `fan_out` is for reads",
            );
        } else if q.fan_out && d.partitions.as_ref().is_none_or(|p| p.count < 2) {
            c.problem(
                format!("{path}.queries.{name}.fan_out"),
                "only a database with two or more `partitions` can fan a query out",
            );
        }
        if q.op == QueryOp::Write && q.read_from.is_some() {
            c.problem(
                format!("{path}.queries.{name}.read_from"),
                "writes always go to the primary: `read_from` is for reads",
            );
        }
    }
    if let Some(r) = d.queries.values().find_map(|q| q.read_from)
        && d.replication.is_none()
    {
        c.problem(
            format!("{path}.queries"),
            format!(
                "`read_from: {}` needs `replication`; drop it or add replicas",
                read_from_name(r)
            ),
        );
    }
    let disk_in_memory = buffer_pool_share(c, path, d, &machine);
    let connect_cpu = c.dist(&format!("{path}.connect_cpu_ms"), &d.connect_cpu_ms);
    let connect_programs = with_setup(&programs, connect_cpu, machine.cpu_speed);
    DatabaseSpec {
        server: ServerSpec {
            workers: machine.max_connections,
            machine,
            machine_count: replication.as_ref().map_or(1, |r| r.shards * r.members),
            queue_capacity: 0,
            programs,
            connect_programs,
            pools: Vec::new(),
            disk_in_memory,
        },
        connect,
        replication,
    }
}

/// The share of a database's disk I/Os its buffer pool serves: the machine's memory beyond
/// `base_memory_gb` holds that share of each machine's data (`data_gb` over the shards),
/// queries touching the data uniformly. No `data_gb`: every I/O goes to disk.
fn buffer_pool_share(c: &mut Checker, path: &str, d: &RawDatabase, m: &MachineSpec) -> f64 {
    let Some(data_gb) = d.data_gb else {
        return 0.0;
    };
    let data_gb = c.positive(&format!("{path}.data_gb"), data_gb);
    let shards = d.partitions.as_ref().map_or(1, |p| p.count.max(1));
    let per_machine = data_gb / f64::from(shards) * GIB;
    let pool = m.ram_bytes.saturating_sub(m.base_bytes) as f64;
    if per_machine > 0.0 {
        (pool / per_machine).min(1.0)
    } else {
        1.0
    }
}

fn read_from_name(r: ReadFrom) -> &'static str {
    match r {
        ReadFrom::Primary => "primary",
        ReadFrom::Replicas => "replicas",
        ReadFrom::Any => "any",
        ReadFrom::Nearest => "nearest",
    }
}

/// The programs run by a call that opens its connection: each with the set-up's CPU first;
/// none when the set-up costs nothing.
fn with_setup<S: Copy>(
    programs: &[Vec<Step<S>>],
    setup: Dist,
    cpu_speed: f64,
) -> Vec<Vec<Step<S>>> {
    if setup.mean_ns() <= 0.0 {
        return Vec::new();
    }
    let setup = Step::Cpu(setup.scaled(1.0 / cpu_speed));
    programs
        .iter()
        .map(|p| std::iter::once(setup).chain(p.iter().copied()).collect())
        .collect()
}
