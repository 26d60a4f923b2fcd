//! How much memory a run will need, worked out from the scenario before it starts, so that a
//! scenario too big for the machine is refused with a clear message instead of being killed.
//!
//! The figures are the simulator's own heap (histograms, caches' key tables, pending events,
//! requests and call frames), not the simulated machines' RAM. The engine measures the same
//! things while running (`Simulation::heap_bytes`) and stops when a limit is passed.

use crate::engine::queue::EventQueue;
use crate::model::Scenario;
use crate::model::client::workload::LoadModel;
use crate::model::event::Event;
use crate::model::kind::FixedHeap;
use crate::model::request::{Frame, Request};

/// Heap of one latency histogram (hdrhistogram, 3 significant digits over 1 ns .. 2⁵⁴ ns).
pub const HISTOGRAM_BYTES: u64 = 368 * 1024;

/// What a scenario will cost in simulator memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// Needed whatever happens: histograms, cache key tables, and one pending wake-up per
    /// closed-model user.
    pub base_bytes: u64,
    /// Each request in flight adds about this much (the request, one frame per call on its
    /// deepest path, and a few pending events).
    pub per_request_bytes: u64,
    /// Requests in flight if every closed-model user waits at once (0 for an open model,
    /// whose backlog has no such bound).
    pub all_users_waiting: u64,
}

impl MemoryEstimate {
    /// The most the run can need when the in-flight requests are bounded by the users.
    pub fn worst_case_bytes(&self) -> u64 {
        self.base_bytes + self.per_request_bytes * self.all_users_waiting
    }
}

impl Scenario {
    /// Simulator memory this scenario needs (see [`MemoryEstimate`]).
    pub fn memory_estimate(&self) -> MemoryEstimate {
        let classes = self.workload.classes.len() as u64;
        let fixed = self.components.iter().map(|c| c.kind.fixed_heap()).fold(
            FixedHeap::default(),
            |a, b| FixedHeap {
                histograms: a.histograms + b.histograms,
                machine_bytes: a.machine_bytes + b.machine_bytes,
                key_tables: a.key_tables + b.key_tables,
            },
        );
        // Overall + per class + the time series; and each component's.
        let histograms = 2 + classes + fixed.histograms;
        let machines = fixed.machine_bytes;
        // The time series: one row per interval, one entry per component in each.
        let rows = (self.duration.as_secs() / self.interval.as_secs()).ceil() as u64 + 2;
        let series = rows
            * (std::mem::size_of::<crate::metrics::timeseries::IntervalRow>()
                + self.components.len()
                    * std::mem::size_of::<crate::metrics::timeseries::IntervalLoad>())
                as u64;
        let cache_tables = fixed.key_tables;
        let users = match self.workload.model {
            LoadModel::Closed { users, .. } => users,
            LoadModel::Open { .. } => 0,
        };
        let depth = self.deepest_call_chain();
        let entry = EventQueue::<Event>::ENTRY_BYTES as u64;
        // A kept-alive connection's record per user, and its idle-close event.
        let per_user = if self.workload.keep_alive.is_some() {
            let entries = u64::from(self.workload.entry_slots().1);
            let record = std::mem::size_of::<crate::model::context::KeptConnection>() as u64;
            entry * 2 + record * entries
        } else {
            entry
        };
        MemoryEstimate {
            base_bytes: histograms * HISTOGRAM_BYTES
                + cache_tables
                + machines
                + series
                + users * per_user,
            per_request_bytes: std::mem::size_of::<Request>() as u64
                + depth * std::mem::size_of::<Frame>() as u64
                + 3 * entry,
            all_users_waiting: users,
        }
    }

    /// Frames alive at once for the deepest call chain: a component plus its deepest chain
    /// of callees. Calls are acyclic (validated); computed without recursion (callees before
    /// callers, by an explicit stack), so a chain of any length is fine, in time linear in
    /// the number of calls.
    fn deepest_call_chain(&self) -> u64 {
        let edges: Vec<Vec<usize>> = self
            .components
            .iter()
            .map(|c| c.kind.callees().iter().map(|id| id.index()).collect())
            .collect();
        // 0: not reached; u64::MAX: its callees are on the stack; else its depth.
        const OPEN: u64 = u64::MAX;
        let mut depth: Vec<u64> = vec![0; edges.len()];
        let mut stack: Vec<usize> = Vec::new();
        for root in 0..edges.len() {
            stack.push(root);
            while let Some(&v) = stack.last() {
                if depth[v] == 0 {
                    depth[v] = OPEN;
                    let reached = |w: &&usize| depth.get(**w) == Some(&0);
                    stack.extend(edges[v].iter().filter(reached).copied());
                    continue;
                }
                stack.pop();
                if depth[v] == OPEN {
                    // Callees done (a cycle, which validation refuses, would count as 0).
                    let callee = |w: &usize| depth.get(*w).copied().filter(|&d| d != OPEN);
                    depth[v] = 1 + edges[v].iter().filter_map(callee).max().unwrap_or(0);
                }
            }
        }
        depth.into_iter().max().unwrap_or(1)
    }
}

#[cfg(test)]
mod tests {
    fn load(text: &str) -> crate::model::Scenario {
        crate::scenario::load(text).expect("valid scenario")
    }

    /// Two million idle users cost one pending event each, and the worst case adds a request
    /// and a frame per call level for each of them.
    #[test]
    fn idle_users_cost_one_pending_event_each() {
        let s = load(
            r#"{"name": "m", "duration_s": 1,
            "workload": {"model": {"closed": {"users": 2000000,
                "think_time_ms": {"exponential": {"mean_ms": 1000}}}}, "entry": "lb"},
            "components": {
              "lb": {"kind": "load_balancer", "backends": ["api"]},
              "api": {"kind": "service", "machine": {"cores": 1},
                "handlers": {"default": [{"call": "db"}]}},
              "db": {"kind": "database", "machine": {"cores": 1},
                "queries": {"default": {"cpu_ms": {"constant": {"ms": 1}}}}}}}"#,
        );
        let e = s.memory_estimate();
        let entry =
            crate::engine::queue::EventQueue::<crate::model::event::Event>::ENTRY_BYTES as u64;
        let histograms = (2 + 1 + 3 * 2) * super::HISTOGRAM_BYTES;
        // Two machines: the service's and the database's (no pools).
        let machines = 2 * std::mem::size_of::<crate::model::compute::machine::Machine>();
        // Three time-series rows (one interval, the drain, one spare) of three components.
        let series = 3
            * (std::mem::size_of::<crate::metrics::timeseries::IntervalRow>()
                + 3 * std::mem::size_of::<crate::metrics::timeseries::IntervalLoad>());
        assert_eq!(
            e.base_bytes,
            histograms + (machines + series) as u64 + 2_000_000 * entry
        );
        let frame = std::mem::size_of::<crate::model::request::Frame>() as u64;
        let request = std::mem::size_of::<crate::model::request::Request>() as u64;
        assert_eq!(e.per_request_bytes, request + 3 * frame + 3 * entry);
        assert_eq!(e.all_users_waiting, 2_000_000);
        assert!(
            e.base_bytes / 2_000_000 <= 64,
            "idle users stay under 64 bytes each"
        );
    }
}
