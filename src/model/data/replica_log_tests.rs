//! Unit tests of `replica_log.rs`: staleness, sync acknowledgements, lost writes at failover,
//! stale failover events, multi-primary conflicts and routing.

use super::*;
use crate::engine::rng::stream_for;
use crate::model::compute::machine::Machine;
use crate::model::data::replication::Failover;
use crate::model::distribution::Dist;
use crate::scenario::raw::{DuringFailover, Partitioning};

fn spec(mode: Mode, members: u32, lag_ms: f64) -> ReplicationSpec {
    ReplicationSpec {
        shards: 1,
        initial_shards: 1,
        pinned: vec![],
        reshards: vec![],
        members,
        partitioning: Partitioning::Hash,
        key_count: 100,
        mode,
        lag: Dist::Constant(SimTime::from_ms(lag_ms)),
        failover: Some(Failover {
            detection: SimTime::from_ms(100.0),
            promotion: SimTime::from_ms(100.0),
            during: DuringFailover::Fail,
        }),
        routes: vec![Route::Write, Route::Read(ReadFrom::Replicas)],
        fan_out: vec![false, false],
        member_regions: vec![],
        member_latency: vec![],
        local_link: Dist::Constant(SimTime::ZERO),
    }
}

fn machines(n: u32) -> Vec<Machine> {
    (0..n).map(|_| Machine::new(&[])).collect()
}

fn ms(x: f64) -> SimTime {
    SimTime::from_ms(x)
}

/// Crashes machine `r` at `at` and runs the failover to its end; returns the promotion.
fn fail_over(
    st: &mut ReplicationState,
    s: &ReplicationSpec,
    reps: &mut [Machine],
    r: u32,
    at: SimTime,
) -> Option<VecDeque<FrameId>> {
    reps[r as usize].alive = false;
    assert!(st.crash(s, reps, r, at));
    let (due, who) = st.detect_due[0].unwrap();
    assert!(st.detect(s, reps, who, due));
    let due = st.promote_due[0].unwrap();
    st.promote(s, reps, 0, due)
}

#[test]
fn async_reads_are_stale_until_the_lag_has_passed() {
    let s = spec(Mode::Async, 2, 10.0);
    let reps = machines(2);
    let mut st = ReplicationState::new(&s);
    let mut rng = stream_for(1, "t");
    assert_eq!(
        st.replicate(&s, &reps, 0, 7, ms(0.0), true, &mut rng, &[]),
        ms(0.0)
    );
    st.read(&s, 1, 7, ms(4.0), true);
    st.read(&s, 1, 8, ms(4.0), true); // another key: fresh
    st.read(&s, 0, 7, ms(4.0), true); // the primary: fresh, not a replica read
    st.read(&s, 1, 7, ms(10.0), true); // applied
    assert_eq!(st.stats.replica_reads, 3);
    assert_eq!(st.stats.stale_reads, 1);
    assert!((st.stats.staleness.mean_ms() - 4.0).abs() < 0.01);
}

#[test]
fn sync_waits_for_the_kth_ack_and_loses_nothing_on_failover() {
    let mut s = spec(Mode::Sync { acks: 1 }, 3, 0.0);
    s.lag = Dist::Uniform {
        min_ns: 1e6,
        max_ns: 9e6,
    };
    let mut reps = machines(3);
    let mut st = ReplicationState::new(&s);
    let mut rng = stream_for(1, "t");
    for i in 0..50_u32 {
        let now = ms(f64::from(i) * 0.5);
        let ack = st.replicate(&s, &reps, 0, i.into(), now, true, &mut rng, &[]);
        assert!(ack > now && ack <= now + ms(9.0));
    }
    // Crash while the last writes are still waiting for their acks.
    assert!(fail_over(&mut st, &s, &mut reps, 0, ms(24.6)).is_some());
    assert_eq!(
        st.stats.writes_lost, 0,
        "sync never loses an acknowledged write"
    );
    assert_ne!(st.primary[0], 0);
}

#[test]
fn async_failover_loses_what_the_best_replica_had_not_applied() {
    let s = spec(Mode::Async, 3, 10.0);
    let mut reps = machines(3);
    let mut st = ReplicationState::new(&s);
    let mut rng = stream_for(1, "t");
    // Writes at 0, 1, …, 9 ms apply at 10, 11, …, 19 ms on both replicas.
    for i in 0..10 {
        st.replicate(&s, &reps, 0, i, ms(i as f64), true, &mut rng, &[]);
    }
    // By 14.5 ms writes 0..=4 are applied: 5 acknowledged writes never arrive.
    fail_over(&mut st, &s, &mut reps, 0, ms(14.5)).unwrap();
    assert_eq!(st.stats.writes_lost, 5);
    let f = st.stats.failovers[0];
    assert_eq!(
        (f.crashed_at, f.detected_at, f.promoted_at, f.promoted),
        (ms(14.5), ms(114.5), Some(ms(214.5)), Some(1))
    );
}

/// A replica that was down missed writes; with the primary dead it cannot catch up, so
/// promoting it loses them, sync or not.
#[test]
fn a_replica_that_was_down_loses_the_writes_it_missed() {
    let s = spec(Mode::Sync { acks: 1 }, 2, 1.0);
    let mut reps = machines(2);
    let mut st = ReplicationState::new(&s);
    let mut rng = stream_for(1, "t");
    st.replicate(&s, &reps, 0, 1, ms(0.0), true, &mut rng, &[]);
    reps[1].alive = false;
    st.crash(&s, &reps, 1, ms(5.0));
    for i in 0..4 {
        // No live replica: answered at once.
        assert_eq!(
            st.replicate(&s, &reps, 0, i, ms(10.0 + i as f64), true, &mut rng, &[]),
            ms(10.0 + i as f64)
        );
    }
    reps[0].alive = false;
    assert!(st.crash(&s, &reps, 0, ms(20.0)));
    reps[1].alive = true;
    st.recover(&s, &reps, 1, ms(21.0)); // the primary is dead: no catching up
    let (due, who) = st.detect_due[0].unwrap();
    assert!(st.detect(&s, &reps, who, due));
    st.promote(&s, &reps, 0, st.promote_due[0].unwrap())
        .unwrap();
    assert_eq!(st.stats.writes_lost, 4);
}

#[test]
fn a_stale_detection_of_an_earlier_crash_is_ignored() {
    let s = spec(Mode::Async, 2, 1.0);
    let mut reps = machines(2);
    let mut st = ReplicationState::new(&s);
    reps[0].alive = false;
    assert!(st.crash(&s, &reps, 0, ms(0.0))); // detection due at 100 ms
    reps[0].alive = true; // back at 50 ms
    reps[0].alive = false;
    assert!(st.crash(&s, &reps, 0, ms(60.0))); // detection due at 160 ms
    assert!(
        !st.detect(&s, &reps, 0, ms(100.0)),
        "the first crash's event is stale"
    );
    assert_eq!(st.primary[0], 0);
    assert!(st.detect(&s, &reps, 0, ms(160.0)));
    assert_eq!(st.promote_due[0], Some(ms(260.0)));
    assert!(st.promote(&s, &reps, 0, ms(200.0)).is_none(), "not due yet");
    st.promote(&s, &reps, 0, ms(260.0)).unwrap();
    assert_eq!(st.stats.failovers[0].crashed_at, ms(60.0));
}

#[test]
fn multi_primary_counts_conflicts_and_loses_only_what_no_live_machine_has() {
    let s = spec(Mode::MultiPrimary, 3, 10.0);
    let mut reps = machines(3);
    let mut st = ReplicationState::new(&s);
    let mut rng = stream_for(1, "t");
    st.replicate(&s, &reps, 0, 5, ms(0.0), true, &mut rng, &[]);
    st.replicate(&s, &reps, 1, 5, ms(3.0), true, &mut rng, &[]); // 0's write not here yet
    st.replicate(&s, &reps, 1, 5, ms(20.0), true, &mut rng, &[]); // it is now
    st.replicate(&s, &reps, 1, 6, ms(21.0), true, &mut rng, &[]);
    assert_eq!(st.stats.conflicts, 1);
    // Machine 1's writes at 20 and 21 ms reach the others at 30 and 31 ms.
    reps[1].alive = false;
    assert!(
        st.crash(&s, &reps, 1, ms(25.0)),
        "its death is to be noticed"
    );
    assert_eq!(st.stats.writes_lost, 2);
    // Until it is noticed (100 ms later) writes still go to it; after, never.
    let writes_to_1 = |st: &ReplicationState, rng: &mut Stream| {
        (0..300)
            .filter(|&k| st.route(&s, &reps, Route::Write, k, 0, rng) == Target::Machine(1))
            .count()
    };
    assert!(writes_to_1(&st, &mut rng) > 50);
    assert!(!st.detect(&s, &reps, 1, ms(124.0)), "not due yet: stale");
    assert!(writes_to_1(&st, &mut rng) > 50);
    st.detect(&s, &reps, 1, ms(125.0));
    assert_eq!(writes_to_1(&st, &mut rng), 0);
}

#[test]
fn reads_to_replicas_skip_dead_ones_and_fall_back_to_the_primary() {
    let s = spec(Mode::Async, 3, 10.0);
    let mut reps = machines(3);
    let st = ReplicationState::new(&s);
    let mut rng = stream_for(1, "t");
    let read = Route::Read(ReadFrom::Replicas);
    let mut seen = [0; 3];
    for k in 0..300 {
        let Target::Machine(r) = st.route(&s, &reps, read, k, 0, &mut rng) else {
            panic!()
        };
        seen[r as usize] += 1;
    }
    assert_eq!(seen[0], 0);
    assert!(seen[1] > 100 && seen[2] > 100, "{seen:?}");
    reps[1].alive = false;
    reps[2].alive = false;
    assert_eq!(
        st.route(&s, &reps, read, 1, 0, &mut rng),
        Target::Machine(0)
    );
}
