//! Validation of shared hosts: the scenario's `hosts`, a component's `host` in place of its
//! own `machine`, and the rules of sharing one (one machine per component, one bill, IPC
//! between the processes).

use super::components::machine;
use super::{Checker, listed};
use crate::model::compute::machine::MachineSpec;
use crate::model::data::cache::CachePolicy;
use crate::model::distribution::Dist;
use crate::model::net::network::{Network, preset_dist};
use crate::model::{ComponentKind, ComponentSpec};
use crate::scenario::raw::{LinkPreset, RawComponent, RawMachine};
use crate::scenario::suggest::hint;

/// Checks every entry of `hosts` once; their specs, in name order (`Checker::host_specs`).
pub(super) fn hosts(c: &mut Checker) -> Vec<MachineSpec> {
    let raw = c.raw;
    raw.hosts
        .iter()
        .map(|(name, m)| machine(c, &format!("hosts.{name}"), m))
        .collect()
}

/// Stands in for a machine that could not be read (the scenario has problems and will not
/// run).
fn placeholder() -> MachineSpec {
    MachineSpec::new(1, 1.0, 16.0, 1.0, 64.0, 256.0, 10.0, 10_000, 1000.0, 0.0)
}

/// The machine a service, cache or database at `path` runs on: its own `machine`, or the
/// shared one its `host` names (a copy of the host's hardware).
pub(super) fn server_machine(
    c: &mut Checker,
    path: &str,
    own: Option<&RawMachine>,
    host: Option<&String>,
) -> MachineSpec {
    match (own, host) {
        (Some(m), None) => machine(c, &format!("{path}.machine"), m),
        (None, Some(h)) => match c.raw.hosts.keys().position(|k| k == h) {
            Some(i) => c.host_specs[i].clone(),
            None => {
                let names: Vec<&str> = c.raw.hosts.keys().map(String::as_str).collect();
                let more = if names.is_empty() {
                    format!(
                        "; the scenario declares none: add \"hosts\": {{\"{h}\": {{\"cores\": 4}}}}"
                    )
                } else {
                    let close = hint(h, names.iter().copied());
                    if close.is_empty() {
                        format!("; the hosts are {}", listed(&names))
                    } else {
                        close
                    }
                };
                c.problem(format!("{path}.host"), format!("no host named `{h}`{more}"));
                placeholder()
            }
        },
        (Some(m), Some(_)) => {
            c.problem(
                path,
                "give `machine` (hardware of its own) or `host` (a machine from `hosts` it \
                 shares), not both",
            );
            machine(c, &format!("{path}.machine"), m)
        }
        (None, None) => {
            c.problem(
                format!("{path}.machine"),
                "missing: give its hardware, e.g. \"machine\": {\"cores\": 4}, or a `host` \
                 named in the scenario's `hosts`",
            );
            placeholder()
        }
    }
}

fn region_of(comp: &RawComponent) -> Option<&String> {
    match comp {
        RawComponent::Service(s) => s.region.as_ref(),
        RawComponent::Cache(k) => k.region.as_ref(),
        RawComponent::Database(d) => d.region.as_ref(),
        RawComponent::Queue(q) => q.region.as_ref(),
        RawComponent::Topic(t) => t.region.as_ref(),
        RawComponent::Log(l) => l.region.as_ref(),
        RawComponent::LoadBalancer(_) | RawComponent::Gateway(_) | RawComponent::Dns(_) => None,
    }
}

pub(super) fn host_of(comp: &RawComponent) -> Option<&String> {
    match comp {
        RawComponent::Service(s) => s.host.as_ref(),
        RawComponent::Cache(k) => k.host.as_ref(),
        RawComponent::Database(d) => d.host.as_ref(),
        RawComponent::Queue(q) => q.host.as_ref(),
        RawComponent::Topic(t) => t.host.as_ref(),
        RawComponent::Log(l) => l.host.as_ref(),
        RawComponent::LoadBalancer(_) | RawComponent::Gateway(_) | RawComponent::Dns(_) => None,
    }
}

/// Puts each component naming a host on it (`ComponentSpec::host`) and holds the sharing to
/// its rules: a component on a host runs one machine; the components of a host are in one
/// region; their LRU caches fit its memory together; the host is billed once, to the first
/// component on it by name; the OOM killer's choice among several processes is not modelled;
/// messages between processes on one host take the IPC preset unless a link says otherwise;
/// and a host nobody runs on is a mistake.
pub(super) fn place(c: &mut Checker, components: &mut [ComponentSpec], network: &mut Network) {
    let raw = c.raw;
    let mut on_host: Vec<Vec<usize>> = vec![Vec::new(); raw.hosts.len()];
    for (i, (name, comp)) in raw.components.iter().enumerate() {
        let Some(k) = host_of(comp).and_then(|h| raw.hosts.keys().position(|n| n == h)) else {
            continue;
        };
        components[i].host = Some(k as u16);
        on_host[k].push(i);
        let count = components[i].kind.fleet().map_or(1, |f| f.count);
        if count > 1 {
            c.problem(
                format!("components.{name}.host"),
                format!(
                    "a component on a shared host runs one machine, and this one has {count} \
                     (replicas, shards or replication members): give it a `machine` of its own"
                ),
            );
        }
    }
    let n = network.n;
    let mut ipc = None;
    for ((host, on), spec) in raw.hosts.keys().zip(&on_host).zip(&c.host_specs.clone()) {
        if on.is_empty() {
            c.problem(
                format!("hosts.{host}"),
                "no component runs on it: name it as a component's \"host\", or remove it",
            );
            continue;
        }
        let names: Vec<&String> = raw.components.keys().collect();
        let region = |i: usize| region_of(&raw.components[names[i]]);
        if let Some(&other) = on.iter().find(|&&i| region(i) != region(on[0])) {
            let show =
                |r: Option<&String>| r.map_or("no region".to_string(), |r| format!("region `{r}`"));
            c.problem(
                format!("components.{}.region", names[other]),
                format!(
                    "on host `{host}` with `{}` ({}), it cannot be in {}: the components of one \
                     host are in one region",
                    names[on[0]],
                    show(region(on[0])),
                    show(region(other))
                ),
            );
        }
        let caches: u64 = on
            .iter()
            .filter_map(|&i| match &components[i].kind {
                ComponentKind::Cache(k) => match k.policy {
                    CachePolicy::Lru {
                        capacity,
                        entry_bytes,
                        ..
                    } => Some(capacity.saturating_mul(entry_bytes)),
                    CachePolicy::HitRatio(_) => None,
                },
                _ => None,
            })
            .fold(0, u64::saturating_add);
        let free = spec.ram_bytes.saturating_sub(spec.base_bytes);
        if on.len() > 1 && caches > free {
            const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
            c.problem(
                format!("hosts.{host}"),
                format!(
                    "its LRU caches need {:.3} GiB together, more than the {:.3} GiB it has \
                     beyond base_memory_gb: raise ram_gb or shrink the caches",
                    caches as f64 / GIB,
                    free as f64 / GIB
                ),
            );
        }
        if on.len() > 1 && spec.oom_kill {
            c.problem(
                format!("hosts.{host}.out_of_memory"),
                "\"kill\" needs a machine of its own: on a shared host the OOM killer picks one \
                 process of several, which dsim does not model; use \"refuse\"",
            );
        }
        for &i in &on[1..] {
            if let Some(m) = components[i].kind.machine_mut() {
                m.cost_per_hour = 0.0;
            }
        }
        for &a in on {
            for &b in on {
                if a != b && network.table[a * n + b] == 0 {
                    let id = *ipc.get_or_insert_with(|| {
                        let d = Dist::from_raw(&preset_dist(LinkPreset::Ipc));
                        network
                            .links
                            .push(d.unwrap_or(Dist::Constant(Default::default())));
                        (network.links.len() - 1) as u16
                    });
                    network.table[a * n + b] = id;
                }
            }
        }
    }
}
