//! dsim: a deterministic discrete-event simulator for distributed-system designs.
//!
//! A scenario (JSON) describes machines, load balancers, services, caches, databases, faults
//! and a workload; [`run`] replays it and returns [`report::Results`]: latency percentiles,
//! throughput, utilisation, and how the system failed. Same scenario and seed ⇒ same bytes.
//!
//! Layers, dependencies pointing one way: `cli → scenario → engine ⇄ model → metrics →
//! report`. Only `cli` touches files, the terminal or the wall clock.

pub mod capacity;
pub mod chart;
pub mod cli;
pub mod engine;
pub mod metrics;
pub mod model;
pub mod report;
pub mod scenario;

pub use engine::sim::{Progress, StopReason};
pub use model::Scenario;

/// Simulates `scenario` to the end, reporting progress to `observer`.
pub fn run(scenario: Scenario, observer: &mut dyn FnMut(Progress)) -> report::Results {
    run_with_limit(scenario, None, observer)
}

/// As [`run`], but stops with [`StopReason::MemoryLimit`] once the simulator's own heap
/// passes `memory_limit` bytes (checked every 65,536 events).
pub fn run_with_limit(
    scenario: Scenario,
    memory_limit: Option<u64>,
    observer: &mut dyn FnMut(Progress),
) -> report::Results {
    let mut sim = engine::sim::Simulation::new(scenario);
    sim.memory_limit = memory_limit;
    let stop = sim.run(observer);
    report::Results::from_simulation(&mut sim, stop)
}
