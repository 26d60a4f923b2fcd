//! Validation of what joins components: call cycles and network links.

use super::Checker;
use crate::model::ComponentSpec;
use crate::model::net::network::Network;

/// Calls must form a DAG: a cycle would nest frames without end. An iterative depth-first
/// search, O(components + calls), so a chain of any length cannot overflow the stack. A
/// queue or a topic ends the nesting (a send returns once the message is taken), so a loop
/// through one is allowed: `lint.rs` warns of it.
pub(super) fn check_call_cycles(c: &mut Checker, components: &[ComponentSpec]) {
    let edges = call_edges(components, false);
    if let Some(cycle) = find_cycle(&edges) {
        let names: Vec<&str> = cycle.iter().map(|&i| components[i].name.as_str()).collect();
        c.problem(
            format!("components.{}", names[0]),
            format!("calls go round in a cycle: {}", names.join(" → ")),
        );
    }
}

/// Who calls whom, by component index; `through_messages`: a queue's and a topic's edges to
/// their consumers and subscribers too.
pub(crate) fn call_edges(components: &[ComponentSpec], through_messages: bool) -> Vec<Vec<u32>> {
    components
        .iter()
        .map(|c| {
            if !through_messages && c.kind.passes_messages() {
                return Vec::new();
            }
            c.kind
                .callees()
                .iter()
                .map(|id| id.index() as u32)
                .collect()
        })
        .collect()
}

/// The first cycle found in a directed graph, as the nodes on it with the first repeated at
/// the end; edges to nodes that do not exist are ignored.
pub(crate) fn find_cycle(edges: &[Vec<u32>]) -> Option<Vec<usize>> {
    const UNVISITED: u8 = 0;
    const ON_PATH: u8 = 1;
    const DONE: u8 = 2;
    let mut state = vec![UNVISITED; edges.len()];
    // The path from the root: each node with the index of its next edge to follow.
    let mut path: Vec<(usize, usize)> = Vec::new();
    for root in 0..edges.len() {
        if state[root] != UNVISITED {
            continue;
        }
        state[root] = ON_PATH;
        path.push((root, 0));
        while let Some(&mut (v, ref mut next)) = path.last_mut() {
            let Some(&w) = edges[v].get(*next) else {
                state[v] = DONE;
                path.pop();
                continue;
            };
            *next += 1;
            let w = w as usize;
            match state.get(w) {
                Some(&ON_PATH) => {
                    let from = path.iter().position(|&(x, _)| x == w).unwrap_or(0);
                    let mut cycle: Vec<usize> = path[from..].iter().map(|&(x, _)| x).collect();
                    cycle.push(w);
                    return Some(cycle);
                }
                Some(&UNVISITED) => {
                    state[w] = ON_PATH;
                    path.push((w, 0));
                }
                _ => {}
            }
        }
    }
    None
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
        let a = c
            .component(&format!("{path}.between[0]"), &l.between[0])
            .index();
        let b = c
            .component(&format!("{path}.between[1]"), &l.between[1])
            .index();
        links.push(c.link(&path, &l.link()));
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

#[cfg(test)]
mod tests {
    use super::find_cycle;

    #[test]
    fn cycles_are_found_and_long_chains_do_not_overflow() {
        assert_eq!(
            find_cycle(&[vec![1], vec![2], vec![0]]),
            Some(vec![0, 1, 2, 0])
        );
        assert_eq!(find_cycle(&[vec![1, 2], vec![2], vec![]]), None);
        assert_eq!(find_cycle(&[vec![], vec![1]]), Some(vec![1, 1]));
        // A million-long chain, then the same closed into a loop.
        let n = 1_000_000;
        let mut chain: Vec<Vec<u32>> = (0..n).map(|i| vec![i as u32 + 1]).collect();
        chain[n - 1].clear();
        assert_eq!(find_cycle(&chain), None);
        chain[n - 1].push(0);
        assert_eq!(find_cycle(&chain).map(|c| c.len()), Some(n + 1));
    }
}
