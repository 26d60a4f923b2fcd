//! Validation of what joins components: call cycles and network links.

use super::Checker;
use crate::model::ComponentSpec;
use crate::model::network::Network;

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
    let regions = super::regions::regions(c);
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
        regions,
    }
}
