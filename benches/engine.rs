//! Micro-benchmarks of the engine's hot pieces (`cargo bench`); whole-scenario figures come
//! from `scripts/bench.sh`.
//!
//! A small std-only harness (no benchmark crate, so `cargo test` builds nothing for it): each
//! benchmark runs batches of operations until a batch takes about 10 ms, then times 21
//! batches and prints the median, fastest and slowest nanoseconds per operation.
//! `cargo bench -- NAME` runs the benchmarks whose name contains NAME.

// Timing a command (a bench, a test's deadline) is what the wall clock is for here.
#![allow(clippy::disallowed_methods)]

use dsim::engine::queue::EventQueue;
use dsim::engine::rng::stream_for;
use dsim::engine::time::SimTime;
use dsim::metrics::histogram::Latency;
use dsim::model::event::Event;
use rand::RngExt;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Batches timed per benchmark (the median is reported).
const SAMPLES: usize = 21;
/// About how long one batch runs.
const BATCH: Duration = Duration::from_millis(10);

/// Times `op` (one operation per call) and prints one line.
fn bench(filter: &[String], name: &str, mut op: impl FnMut()) {
    if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
        return;
    }
    let mut ops: u64 = 1;
    loop {
        let started = Instant::now();
        for _ in 0..ops {
            op();
        }
        if started.elapsed() >= BATCH || ops >= 1 << 40 {
            break;
        }
        ops *= 2;
    }
    let mut per_op: Vec<f64> = (0..SAMPLES)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..ops {
                op();
            }
            started.elapsed().as_nanos() as f64 / ops as f64
        })
        .collect();
    per_op.sort_by(f64::total_cmp);
    println!(
        "{name:<36} median {:>8.2} ns/op   fastest {:>8.2}   slowest {:>8.2}   ({ops} ops × {SAMPLES})",
        per_op[SAMPLES / 2],
        per_op[0],
        per_op[SAMPLES - 1]
    );
}

fn main() {
    // `cargo bench` passes `--bench`; other words filter by name.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    for pending in [1_000, 100_000, 2_000_000] {
        queue_hold(&filter, pending);
        binary_heap_hold(&filter, pending);
    }
    histogram_record(&filter);
    exponential_draw(&filter);
}

/// One hold operation (pop the earliest, push one a random delay later) with `pending`
/// events in the queue: the classic priority-queue benchmark for simulators.
fn queue_hold(filter: &[String], pending: u32) {
    let mut rng = stream_for(1, "bench");
    let mut q = EventQueue::<Event>::new();
    for user in 0..pending {
        q.push(
            SimTime(rng.random_range(0..10_000_000_000)),
            Event::UserWake { user },
        );
    }
    bench(filter, &format!("queue_hold/{pending}"), || {
        let (t, ev) = q.pop().expect("never empty");
        let delay = SimTime(rng.random_range(0..10_000_000_000));
        q.push(t + delay, black_box(ev));
    });
}

/// The same hold operation on `std::collections::BinaryHeap` with the same (time, seq) order,
/// to show what the radix heap buys at each size.
fn binary_heap_hold(filter: &[String], pending: u32) {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let mut rng = stream_for(1, "bench");
    let mut q = BinaryHeap::new();
    let mut seq = 0u64;
    for i in 0..pending {
        q.push(Reverse((rng.random_range(0..10_000_000_000u64), seq, i)));
        seq += 1;
    }
    bench(filter, &format!("binary_heap_hold/{pending}"), || {
        let Reverse((t, _, i)) = q.pop().expect("never empty");
        let delay: u64 = rng.random_range(0..10_000_000_000);
        q.push(Reverse((t + delay, seq, black_box(i))));
        seq += 1;
    });
}

fn histogram_record(filter: &[String]) {
    let mut h = Latency::new();
    let mut x = 1_000u64;
    bench(filter, "histogram_record", || {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1) % 10_000_000_000;
        h.record(SimTime(black_box(x)));
    });
}

fn exponential_draw(filter: &[String]) {
    let d = dsim::model::distribution::Dist::from_raw(&dsim::scenario::raw::RawDist::Exponential {
        mean_ms: 5.0,
    })
    .expect("valid");
    let mut rng = stream_for(1, "bench");
    bench(filter, "exponential_draw", || {
        black_box(d.sample(&mut rng));
    });
}
