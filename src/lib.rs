//! dsim: a deterministic discrete-event simulator for distributed-system designs.
//!
//! A scenario (JSON) describes machines, load balancers, services, caches, databases, faults
//! and a workload; `run_with_limit` replays it and returns `report::Results`: latency percentiles,
//! throughput, utilisation, and how the system failed. Same scenario and seed ⇒ same bytes.
//!
//! Layers: `cli` parses and prints; `scenario` reads and validates files into the model's
//! specs; `model` simulates (over `engine`, a leaf: time, event queue, random streams,
//! slabs); `metrics` measures; `report` turns results into summary.json, tables, CSV and
//! charts; `study` plans, runs and combines many runs (replications, sweeps, comparisons,
//! capacity). Only `cli` touches files, the terminal or the wall clock. ARCHITECTURE.md
//! walks through it.

// What other crates see: the binary's entry (`cli::main_with_args`, `cli::exit`) and the
// simulation's building blocks (scenario → model → engine, metrics), which the benchmarks
// use. Everything else is the crate's own: `pub(crate)`.
#![warn(unreachable_pub)]

pub(crate) mod chart;
pub mod cli;
pub mod engine;
pub mod metrics;
pub mod model;
pub(crate) mod report;
pub mod scenario;
pub(crate) mod study;

pub use model::Scenario;
pub use model::sim::{Progress, StopReason};

/// Simulates `scenario` to the end, reporting progress to `observer` (the tests' shorthand
/// for [`run_with_limit`] without a limit).
#[cfg(test)]
pub(crate) fn run(scenario: Scenario, observer: &mut dyn FnMut(Progress)) -> report::Results {
    run_with_limit(scenario, None, observer)
}

/// As [`run`], but stops with [`StopReason::MemoryLimit`] once the simulator's own heap
/// passes `memory_limit` bytes (checked every 65,536 events).
///
/// A scenario with `"warmup_s": "auto"` runs twice: a pilot measured from 0, whose
/// per-interval latencies choose the warm-up (`metrics::warmup`, MSER), then the run itself
/// with that warm-up. Both are deterministic, so the choice is too. A pilot cut short
/// (`max_events`, memory) is returned as it is.
pub(crate) fn run_with_limit(
    scenario: Scenario,
    memory_limit: Option<u64>,
    observer: &mut dyn FnMut(Progress),
) -> report::Results {
    if scenario.warmup != model::Warmup::Auto {
        return run_fixed(scenario, memory_limit, observer);
    }
    let mut pilot = scenario.clone();
    pilot.warmup = model::Warmup::Fixed(engine::time::SimTime::ZERO);
    let first = run_fixed(pilot, memory_limit, observer);
    let cut_short = [StopReason::MaxEvents, StopReason::MemoryLimit];
    if cut_short.contains(&first.stop_reason) {
        return first;
    }
    let choice = metrics::warmup::choose(&first.timeseries, scenario.duration);
    let interval = scenario.interval;
    if choice.warmup == engine::time::SimTime::ZERO {
        // Nothing to drop: the pilot is the run.
        let mut results = first;
        results.warmup_auto = Some(report::AutoWarmup::of(&choice, interval));
        return results;
    }
    let mut measured = scenario;
    measured.warmup = model::Warmup::Fixed(choice.warmup);
    let mut results = run_fixed(measured, memory_limit, observer);
    results.warmup_auto = Some(report::AutoWarmup::of(&choice, interval));
    results
}

fn run_fixed(
    scenario: Scenario,
    memory_limit: Option<u64>,
    observer: &mut dyn FnMut(Progress),
) -> report::Results {
    let mut sim = model::sim::Simulation::new(scenario);
    sim.memory_limit = memory_limit;
    let stop = sim.run(observer);
    report::Results::from_simulation(&mut sim, stop)
}
