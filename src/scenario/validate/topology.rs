//! Validation of what joins components: call cycles, network links, and faults.

use super::Checker;
use crate::engine::time::SimTime;
use crate::model::network::Network;
use crate::model::{ComponentKind, ComponentSpec, Fault};
use crate::scenario::raw::*;

/// Calls must form a DAG: a cycle would nest frames without end.
pub(super) fn check_call_cycles(c: &mut Checker, components: &[ComponentSpec]) {
    let edges: Vec<Vec<u32>> = components.iter().map(ComponentSpec::callees).collect();
    // 0 = unvisited, 1 = on the stack, 2 = done.
    let mut state = vec![0u8; components.len()];
    let mut stack: Vec<usize> = Vec::new();
    fn visit(
        v: usize,
        edges: &[Vec<u32>],
        state: &mut [u8],
        stack: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        state[v] = 1;
        stack.push(v);
        for &w in &edges[v] {
            let w = w as usize;
            if w >= state.len() {
                continue;
            }
            if state[w] == 1 {
                let from = stack.iter().position(|&x| x == w).unwrap_or(0);
                let mut cycle = stack[from..].to_vec();
                cycle.push(w);
                return Some(cycle);
            }
            if state[w] == 0
                && let Some(cycle) = visit(w, edges, state, stack)
            {
                return Some(cycle);
            }
        }
        stack.pop();
        state[v] = 2;
        None
    }
    for v in 0..components.len() {
        if state[v] == 0
            && let Some(cycle) = visit(v, &edges, &mut state, &mut stack)
        {
            let names: Vec<&str> = cycle.iter().map(|&i| components[i].name.as_str()).collect();
            c.problem(
                format!("components.{}", names[0]),
                format!("calls go round in a cycle: {}", names.join(" → ")),
            );
            return;
        }
    }
}

pub(super) fn network(c: &mut Checker) -> Network {
    let n = c.names.len();
    let raw = &c.raw.network;
    let client = c.link("network.client_link", &raw.client_link);
    let default = c.link("network.default_link", &raw.default_link);
    let mut links = vec![default];
    let mut table = vec![0u16; n * n];
    for (i, l) in raw.links.iter().enumerate() {
        let path = format!("network.links[{i}]");
        let a = c.component(&format!("{path}.between[0]"), &l.between[0]) as usize;
        let b = c.component(&format!("{path}.between[1]"), &l.between[1]) as usize;
        links.push(c.link(&path, &l.link));
        let id = (links.len() - 1) as u16;
        if a < n && b < n {
            table[a * n + b] = id;
            table[b * n + a] = id;
        }
    }
    Network {
        client,
        links,
        table,
        n,
    }
}

pub(super) fn faults(c: &mut Checker, components: &[ComponentSpec]) -> Vec<Fault> {
    let mut out = Vec::new();
    for (i, f) in c.raw.faults.iter().enumerate() {
        let RawFault::Crash {
            component,
            replica,
            at_s,
            recover_after_s,
        } = f;
        let path = format!("faults[{i}].crash");
        let id = c.component(&format!("{path}.component"), component);
        match components.get(id as usize).map(|s| &s.kind) {
            Some(ComponentKind::Server(s)) if *replica >= s.replicas => {
                c.problem(
                    format!("{path}.replica"),
                    format!(
                        "`{component}` has replicas 0..{}, got {replica}",
                        s.replicas - 1
                    ),
                );
            }
            Some(ComponentKind::Balancer(_)) if c.names.contains(&component.as_str()) => {
                c.problem(
                    format!("{path}.component"),
                    "load balancers cannot crash yet; crash a backend replica",
                );
            }
            _ => {}
        }
        let at = SimTime::from_secs(c.non_negative(&format!("{path}.at_s"), *at_s));
        let recover_at = recover_after_s
            .map(|r| at + SimTime::from_secs(c.positive(&format!("{path}.recover_after_s"), r)));
        out.push(Fault::Crash {
            component: id,
            replica: *replica,
            at,
            recover_at,
        });
    }
    out
}
