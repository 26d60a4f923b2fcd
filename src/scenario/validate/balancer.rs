//! Validation of load balancers: backends and routes by class, weights, health checks, and
//! the balancer's own machine (cores and NIC), compiled into a `BalancerSpec`.

use super::Checker;
use super::components::MAX_COST_PER_HOUR;
use super::dns::health_check;
use crate::model::compute::machine::MachineSpec;
use crate::model::net::load_balancer::{Backend, BalancerSpec};
use crate::scenario::raw::*;
use crate::scenario::suggest::hint;
use std::collections::BTreeMap;

pub(super) fn balancer(
    c: &mut Checker,
    path: &str,
    b: &RawLoadBalancer,
    gateway: bool,
) -> BalancerSpec {
    if b.backends.is_empty() && b.routes.is_empty() {
        c.problem(
            format!("{path}.backends"),
            "needs at least one backend service",
        );
    }
    if let Some(w) = &b.weights {
        if w.len() != b.backends.len() {
            c.problem(
                format!("{path}.weights"),
                format!(
                    "needs one weight per backend ({}), got {}",
                    b.backends.len(),
                    w.len()
                ),
            );
        }
        for (i, x) in w.iter().enumerate() {
            c.positive(&format!("{path}.weights[{i}]"), *x);
            c.within(&format!("{path}.weights[{i}]"), *x, 1e-9, 1e9);
        }
    } else if b.policy == LbPolicy::Weighted {
        c.problem(
            format!("{path}.weights"),
            "policy `weighted` needs `weights`, one per backend",
        );
    }
    // Every service named in `backends` or `routes`, once, with the backend indices of its
    // replicas.
    let mut backends = Vec::new();
    let mut weights = Vec::new();
    let mut by_name: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    let named = b
        .backends
        .iter()
        .enumerate()
        .map(|(i, n)| (format!("{path}.backends[{i}]"), n, i));
    let routed = b.routes.iter().flat_map(|(class, names)| {
        names
            .iter()
            .enumerate()
            .map(move |(i, n)| (format!("{path}.routes.{class}[{i}]"), n, usize::MAX))
    });
    for (p, name, i) in named.chain(routed).collect::<Vec<_>>() {
        if by_name.contains_key(name.as_str()) {
            continue;
        }
        let id = c.component(&p, name);
        let weight = b
            .weights
            .as_ref()
            .and_then(|w| w.get(i))
            .copied()
            .unwrap_or(1.0);
        let replicas = match c.raw.components.get(name) {
            // A service that scales has a backend for every replica it may have; its fleet
            // keeps those it has not started out of rotation.
            Some(RawComponent::Service(s)) => s.machines(),
            Some(RawComponent::Database(d))
                if d.replication.is_some() || d.partitions.is_some() =>
            {
                c.problem(
                    &p,
                    format!("`{name}` is replicated or sharded and routes queries itself; call it from a service"),
                );
                0
            }
            Some(RawComponent::Cache(_) | RawComponent::Database(_)) => 1,
            Some(RawComponent::LoadBalancer(_) | RawComponent::Gateway(_)) => {
                c.problem(
                    &p,
                    format!("`{name}` is a load balancer or gateway; backends are services"),
                );
                0
            }
            Some(RawComponent::Dns(_)) => {
                c.problem(&p, format!("`{name}` is a dns; backends are services"));
                0
            }
            Some(RawComponent::Queue(_) | RawComponent::Log(_)) => {
                c.problem(
                    &p,
                    format!("`{name}` is a queue or log; services send to it with a `send` step"),
                );
                0
            }
            Some(RawComponent::Topic(_)) => {
                c.problem(
                    &p,
                    format!("`{name}` is a topic; services publish to it with a `publish` step"),
                );
                0
            }
            None => 0,
        };
        let first = backends.len() as u32;
        backends.extend((0..replicas).map(|machine| Backend {
            target: id,
            machine,
        }));
        weights.extend((0..replicas).map(|_| weight));
        by_name.insert(name, (first..first + replicas).collect());
    }
    let group_of = |names: &[String]| -> Vec<u32> {
        names
            .iter()
            .flat_map(|n| by_name.get(n.as_str()).cloned().unwrap_or_default())
            .collect()
    };
    let mut groups = vec![group_of(&b.backends)];
    let mut class_group = Vec::new();
    for class in &c.class_names.clone() {
        let Some(names) = b.routes.get(class) else {
            if b.backends.is_empty() {
                c.problem(
                    format!("{path}.routes"),
                    format!("no route for request class `{class}` and no `backends` for the rest: add one"),
                );
            }
            class_group.push(0);
            continue;
        };
        if names.is_empty() {
            c.problem(
                format!("{path}.routes.{class}"),
                "needs at least one backend service",
            );
        }
        let group = group_of(names);
        let g = groups.iter().position(|x| *x == group).unwrap_or_else(|| {
            groups.push(group);
            groups.len() - 1
        });
        class_group.push(g as u16);
    }
    for class in b.routes.keys() {
        if !c.class_names.contains(class) {
            let h = hint(class, c.class_names.iter().map(String::as_str));
            c.problem(
                format!("{path}.routes.{class}"),
                format!(
                    "no request class named `{class}`{h} (classes are declared in workload.classes)"
                ),
            );
        }
    }
    let health_check = b
        .health_check
        .as_ref()
        .map(|h| health_check(c, &format!("{path}.health_check"), h));
    let cores = c.at_least(&format!("{path}.cores"), u64::from(b.cores), 1) as u32;
    let nic = c.positive(&format!("{path}.nic_gbps"), b.nic_gbps);
    c.within(&format!("{path}.nic_gbps"), nic, 1e-6, 1e5);
    // Only the cores and the NIC of its machine are used.
    let machine = MachineSpec::new(
        cores.clamp(1, 1 << 20),
        1.0,
        1.0,
        0.0,
        0.0,
        0.0,
        nic.max(1e-9),
        u32::MAX,
        1.0,
        0.0,
    );
    BalancerSpec {
        backends,
        weights,
        policy: b.policy,
        forward: c.dist(&format!("{path}.forward_ms"), &b.forward_ms),
        accept: c.dist(&format!("{path}.accept_cpu_ms"), &b.accept_cpu_ms),
        machine,
        max_connections: c.at_least(
            &format!("{path}.max_connections"),
            u64::from(b.max_connections),
            1,
        ) as u32,
        health_check,
        cost_per_hour: c.number(
            &format!("{path}.cost_per_hour"),
            b.cost_per_hour,
            0.0,
            MAX_COST_PER_HOUR,
        ),
        gateway: if gateway {
            Some(super::gateway::gateway(c, path, b))
        } else {
            for field in gateway_fields_given(b) {
                c.problem(
                    format!("{path}.{field}"),
                    format!("`{field}` is what an API gateway does: make this component `\"kind\": \"gateway\"`"),
                );
            }
            None
        },
        groups,
        class_group,
    }
}
