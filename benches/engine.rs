//! Micro-benchmarks of the engine's hot pieces (`cargo bench`); whole-scenario figures come
//! from `scripts/bench.sh`.

use dsim::engine::event::{Event, EventKind};
use dsim::engine::queue::EventQueue;
use dsim::engine::rng::stream_for;
use dsim::engine::time::SimTime;
use dsim::metrics::histogram::Latency;
use rand::RngExt;

fn main() {
    divan::main();
}

/// One hold operation (pop the earliest, push one a random delay later) with `pending`
/// events in the queue: the classic priority-queue benchmark for simulators.
#[divan::bench(args = [1_000, 100_000, 2_000_000])]
fn queue_hold(bencher: divan::Bencher, pending: u32) {
    let mut rng = stream_for(1, "bench");
    let mut q = EventQueue::new();
    for i in 0..pending {
        q.push(
            SimTime(rng.random_range(0..10_000_000_000)),
            Event::new(EventKind::UserWake, i, 0),
        );
    }
    bencher.bench_local(|| {
        let (t, ev) = q.pop().expect("never empty");
        let delay = SimTime(rng.random_range(0..10_000_000_000));
        q.push(t + delay, ev);
    });
}

/// The same hold operation on `std::collections::BinaryHeap` with the same (time, seq) order,
/// to show what the radix heap buys at each size.
#[divan::bench(args = [1_000, 100_000, 2_000_000])]
fn binary_heap_hold(bencher: divan::Bencher, pending: u32) {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let mut rng = stream_for(1, "bench");
    let mut q = BinaryHeap::new();
    let mut seq = 0u64;
    for i in 0..pending {
        q.push(Reverse((rng.random_range(0..10_000_000_000u64), seq, i)));
        seq += 1;
    }
    bencher.bench_local(|| {
        let Reverse((t, _, i)) = q.pop().expect("never empty");
        let delay: u64 = rng.random_range(0..10_000_000_000);
        q.push(Reverse((t + delay, seq, i)));
        seq += 1;
    });
}

#[divan::bench]
fn histogram_record(bencher: divan::Bencher) {
    let mut h = Latency::new();
    let mut x = 1_000u64;
    bencher.bench_local(|| {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1) % 10_000_000_000;
        h.record(SimTime(x));
    });
}

#[divan::bench]
fn exponential_draw(bencher: divan::Bencher) {
    let d = dsim::model::distribution::Dist::from_raw(&dsim::scenario::raw::RawDist::Exponential {
        mean_ms: 5.0,
    })
    .expect("valid");
    let mut rng = stream_for(1, "bench");
    bencher.bench_local(|| d.sample(&mut rng));
}
