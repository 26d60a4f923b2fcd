//! Running many scenarios: copies of one with successive seeds, and a pool of threads that
//! runs them and collects the results by index, so the results do not depend on the thread
//! count (each run is a pure function of its scenario).

use crate::model::Scenario;
use crate::report::Results;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// `scenario` once per seed `seed`, `seed + 1`, …: the seeds and the copies.
pub(crate) fn seeded_copies(scenario: &Scenario, n: usize) -> (Vec<u64>, Vec<Scenario>) {
    let seeds: Vec<u64> = (0..n as u64)
        .map(|i| scenario.seed.wrapping_add(i))
        .collect();
    let copies = seeds
        .iter()
        .map(|&seed| Scenario {
            seed,
            ..scenario.clone()
        })
        .collect();
    (seeds, copies)
}

/// `work` on every item, on `threads` threads; results in input order (so they do not depend
/// on the threads when `work` is a pure function of its item).
pub(crate) fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    work: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let r = work(item);
                    if let Ok(mut slots) = slots.lock() {
                        slots[i] = Some(r);
                    }
                }
            });
        }
    });
    slots
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.expect("every item was worked on"))
        .collect()
}

/// Runs every scenario on `threads` threads (each run a pure function of its scenario);
/// results in input order. `done` is told of each finished run (a progress bar), from the
/// thread that ran it. Shared by replications, sweeps and comparisons.
pub(crate) fn run_parallel(
    scenarios: &[Scenario],
    threads: usize,
    memory_limit: Option<u64>,
    done: &(dyn Fn() + Sync),
) -> Vec<Results> {
    parallel_map(scenarios, threads, |s| {
        let r = crate::run_with_limit(s.clone(), memory_limit, &mut |_| {});
        done();
        r
    })
}
