//! What failures do to messages, each against a figure worked out in its comment: a
//! consumer crash redelivers, a broker crash loses what it held in memory, a persistent
//! broker loses nothing.

use crate::common::{num, run_summary, zero_latency};
use serde_json::{Value, json};

/// 50 messages/s sent to `jobs`, consumed by `worker` (4 loops, 40 ms each on 4 cores:
/// 50 % busy) for 100 s; `faults` and `queue` fields added as given.
fn pipeline(queue: Value, faults: Value) -> Value {
    let machine = json!({"cores": 4, "memory_per_connection_kb": 0, "memory_per_request_kb": 0});
    let mut q = json!({"kind": "queue", "machine": machine, "visibility_timeout_s": 5});
    for (k, v) in queue.as_object().unwrap() {
        q[k] = v.clone();
    }
    json!({
        "name": "queue-faults",
        "duration_s": 100,
        "warmup_s": 0,
        "network": zero_latency(),
        "workload": {
            "model": {"open": {"rate_per_s": 50}},
            "entry": "api",
            "classes": {
                "order": {"request_bytes": 0, "response_bytes": 0},
                "work": {"weight": 0, "request_bytes": 1000, "response_bytes": 0}
            }
        },
        "components": {
            "api": {"kind": "service", "machine": machine, "workers": 1000,
                    "handlers": {"default": [{"send": {"queue": "jobs", "message": "work"}}]}},
            "jobs": q,
            "worker": {"kind": "service", "machine": machine, "workers": 4,
                       "consumes": {"queue": "jobs", "concurrency": 4},
                       "handlers": {"default": [{"cpu_ms": {"constant": {"ms": 40}}}]}}
        },
        "faults": faults
    })
}

fn messages(s: &Value, k: &str) -> f64 {
    num(s, &format!("/components/jobs/messages/{k}"))
}

/// The consumer crashes at 50 s for 10 s. The 4 messages it was processing fail with it and
/// stay in flight until their 5 s visibility timeout: redelivered, not lost. Meanwhile the
/// queue holds what arrives (50/s × 10 s = 500) and every message is processed in the end.
#[test]
fn a_consumer_crash_redelivers_its_messages() {
    let s = run_summary(
        &pipeline(
            json!({}),
            json!([{"crash": {"component": "worker", "at_s": 50, "recover_after_s": 10}}]),
        ),
        3,
    );
    let redelivered = messages(&s, "redelivered");
    assert!(
        (1.0..=4.0).contains(&redelivered),
        "redelivered {redelivered}"
    );
    assert!(messages(&s, "failed_processing") >= 1.0);
    assert_eq!(messages(&s, "lost"), 0.0);
    assert!(
        messages(&s, "peak_depth") >= 450.0,
        "{}",
        messages(&s, "peak_depth")
    );
    let accepted = messages(&s, "run/accepted");
    assert_eq!(
        messages(&s, "run/processed") + messages(&s, "run/still_queued"),
        accepted
    );
    // The users never noticed: their sends were accepted throughout.
    assert_eq!(num(&s, "/error_rate"), 0.0);
    // The first message sent after the crash waits for the consumer's return (10 s) and
    // its loops' next try (within RETRY_AFTER, 1 s): the oldest waited 10 to 11 s, plus
    // the 40 ms a loop may still be busy.
    let age = messages(&s, "max_age_s");
    assert!((10.0..=11.1).contains(&age), "max_age_s {age}");
}

/// `dsim check` holds the consumers to keeping up (`max_queue_age_s`): the crash above
/// makes a message wait about 10 s, which fails a 5 s objective and passes a 15 s one; its
/// backlog (`max_queue_depth`) fails 300 and passes 1,000.
#[test]
fn check_fails_a_queue_age_objective_the_crash_breaks() {
    let mut scenario = pipeline(
        json!({}),
        json!([{"crash": {"component": "worker", "at_s": 50, "recover_after_s": 10}}]),
    );
    // `dsim check` of the scenario with objectives `slos`: its exit code and its report.
    let mut check = |slos: Value| {
        scenario["slos"] = slos;
        let path = crate::common::write_scenario(&scenario);
        let out = crate::common::dsim()
            .args(["check", "--no-write"])
            .arg(&path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        (out.status.code(), text)
    };
    let (code, text) = check(json!({"max_queue_age_s": 5}));
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("max_queue_age_s"), "{text}");
    // The backlog of the 10 s outage: about 500 messages held at its peak.
    let (code, text) = check(json!({"max_queue_age_s": 15, "max_queue_depth": 300}));
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("max_queue_depth"), "{text}");
    let (code, text) = check(json!({"max_queue_age_s": 15, "max_queue_depth": 1000}));
    assert_eq!(code, Some(0), "{text}");
}

/// `dsim capacity` with a queue: the users' objectives alone do not see a backlog, so it
/// says so; with `max_queue_age_s<3` the search stops where the consumers keep up. Their
/// rate: 4 loops of 40 ms (plus two 0.1 ms broker calls) = 99.5 messages/s. Above it, the
/// backlog after the 30 s window is (λ − 99.5) × 30 messages, waiting that ÷ 99.5 s: 3 s
/// at λ = 109.5. Below it the age is the random walk's (about √(λT)/μ ≈ 0.5 s): the
/// capacity lies between 90 and 110 per second.
#[test]
fn capacity_with_a_queue_age_objective_stops_where_the_consumers_keep_up() {
    let mut scenario = pipeline(json!({}), json!([]));
    scenario["duration_s"] = json!(30);
    let path = crate::common::write_scenario(&scenario);
    let out = crate::common::dsim()
        .args(["capacity", "--no-write", "--replications", "2"])
        .args(["--slo", "p99_ms<0.000001"])
        .arg(&path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("add --slo max_queue_age_s<30"), "{err}");
    let out = crate::common::run_ok(
        crate::common::dsim()
            .args(["capacity", "--no-write", "--replications", "2"])
            .args(["--format", "json", "--slo", "max_queue_age_s<3"])
            .arg(&path),
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let capacity = doc["capacity"]["mean"].as_f64().unwrap();
    assert!((90.0..=110.0).contains(&capacity), "capacity {capacity}");
}

/// The broker crashes at 50 s for 5 s: the messages it held in memory, waiting or in
/// process, are lost (at 50 % load a handful); sends meanwhile fail (50/s × 5 s ≈ 250 user
/// errors). A persistent queue writes each message to disk first (one I/O at 10,000 IOPS,
/// 0.1 ms) and loses none.
#[test]
fn a_broker_crash_loses_what_only_its_memory_held() {
    let crash = json!([{"crash": {"component": "jobs", "at_s": 50, "recover_after_s": 5}}]);
    let volatile = run_summary(&pipeline(json!({}), crash.clone()), 4);
    let lost = messages(&volatile, "lost");
    assert!(lost >= 1.0, "lost {lost}");
    let errors = num(&volatile, "/requests/failed") + num(&volatile, "/requests/rejected");
    assert!((180.0..320.0).contains(&errors), "{errors} sends failed");
    let persistent = run_summary(&pipeline(json!({"persistent": true}), crash), 4);
    assert_eq!(messages(&persistent, "lost"), 0.0);
    assert!(num(&persistent, "/components/jobs/disk_utilisation") > 0.0);
    let run = |s: &Value, k: &str| messages(s, &format!("run/{k}"));
    for s in [&volatile, &persistent] {
        let ends = run(s, "processed")
            + run(s, "lost")
            + run(s, "still_queued")
            + run(s, "dead_lettered")
            + run(s, "expired");
        assert_eq!(run(s, "accepted"), ends);
    }
}

/// A queue of at most 100 messages with no consumer: the first 100 sends are accepted, and
/// every one after is refused `queue_full` and fails the user's request.
#[test]
fn a_full_queue_refuses_sends() {
    let mut s = pipeline(json!({"max_messages": 100}), json!([]));
    s["components"]["worker"]
        .as_object_mut()
        .unwrap()
        .remove("consumes");
    let r = run_summary(&s, 1);
    assert_eq!(messages(&r, "run/accepted"), 100.0);
    assert_eq!(messages(&r, "run/still_queued"), 100.0);
    let refused = num(&r, "/requests/rejected_by/queue_full");
    assert!(refused > 4_500.0, "{refused}");
    assert_eq!(messages(&r, "refused"), refused);
}

/// Retention 2 s and no consumer for the first 20 s (it is down): every message older than
/// 2 s when the consumer comes back (about 50/s × 18 s = 900) has expired.
#[test]
fn retention_drops_messages_nobody_received() {
    let s = run_summary(
        &pipeline(
            json!({"retention_s": 2}),
            json!([{"outage": {"component": "worker", "at_s": 0, "recover_after_s": 20}}]),
        ),
        2,
    );
    let expired = messages(&s, "run/expired");
    assert!((800.0..1000.0).contains(&expired), "expired {expired}");
    assert_eq!(messages(&s, "run/lost"), 0.0);
}

/// A job of 100 tasks of 10 ms (constant) on an idle 4-core service, 4 at a time, over
/// links that take no time: 25 rounds of 10 ms, 250 ms exactly. Its second start, at 0.1 s,
/// comes while the first run is still going and is skipped; its third, at 1 s, runs again.
#[test]
fn a_job_runs_its_tasks_concurrency_at_a_time() {
    let machine = json!({"cores": 4, "memory_per_connection_kb": 0, "memory_per_request_kb": 0});
    let s = json!({
        "name": "job",
        "duration_s": 10,
        "network": zero_latency(),
        "workload": {
            "model": {"open": {"rate_per_s": 1}},
            "entry": "api",
            "classes": {"ping": {}, "chunk": {"weight": 0}}
        },
        "components": {
            "api": {"kind": "service", "machine": machine, "workers": 4,
                    "handlers": {"default": [{"cpu_ms": {"constant": {"ms": 10}}}]}}
        },
        "jobs": {"batch": {"service": "api", "task": "chunk", "tasks": 100,
                           "concurrency": 4, "at_s": [0.05, 0.1, 1.0]}}
    });
    let r = run_summary(&s, 1);
    let run = |i: usize, k: &str| num(&r, &format!("/jobs/jobs/batch/runs/{i}/{k}"));
    assert_eq!(num(&r, "/jobs/jobs/batch/skipped"), 1.0);
    for i in 0..2 {
        assert_eq!(run(i, "tasks_done"), 100.0);
        // A user's request (one a second) may take a core for 10 ms meanwhile.
        let took = run(i, "duration_s");
        assert!((0.25..=0.26).contains(&took), "run {i} took {took} s");
    }
    assert_eq!(run(1, "start_s"), 1.0);
}

/// The pipeline above with the queue pushing to `worker` (no prefetch limit).
fn pushed(queue: Value, faults: Value) -> Value {
    let mut s = pipeline(queue, faults);
    s["components"]["worker"]["consumes"] = json!({"queue": "jobs", "polling": "push"});
    s
}

/// Pushed, the consumer's crash at 50 s (for 10 s) fails what it held and the broker puts
/// each back in line at once (requeued: no visibility timeout to wait for), then pushes
/// nothing to the dead machine; its channel opens again within a second (`RETRY_AFTER`) of
/// its return. As with pollers, the oldest message waited 10 to 11 s, nothing is lost, and
/// nothing is processed twice.
#[test]
fn a_pushed_consumer_crash_puts_its_messages_back_at_once() {
    let s = run_summary(
        &pushed(
            json!({}),
            json!([{"crash": {"component": "worker", "at_s": 50, "recover_after_s": 10}}]),
        ),
        3,
    );
    let requeued = messages(&s, "requeued");
    assert!((1.0..=20.0).contains(&requeued), "requeued {requeued}");
    assert_eq!(messages(&s, "failed_processing"), requeued);
    assert_eq!(messages(&s, "redelivered"), 0.0);
    assert_eq!(messages(&s, "duplicates"), 0.0);
    assert_eq!(messages(&s, "receives"), 0.0);
    assert_eq!(messages(&s, "lost"), 0.0);
    assert_eq!(
        messages(&s, "run/processed") + messages(&s, "run/still_queued"),
        messages(&s, "run/accepted")
    );
    let age = messages(&s, "max_age_s");
    assert!((10.0..=11.1).contains(&age), "max_age_s {age}");
}

/// A persistent broker's crash (50 s, for 5 s) closes the channels: what the consumer held
/// unacknowledged goes back in line, and the consumer, which did not crash, finishes it
/// anyway; its acknowledgements find the broker down. Each of those messages is pushed and
/// processed again after the broker's return: duplicates, exactly as many as were put back
/// (the link takes no time, so none was on the wire). Nothing is lost.
#[test]
fn a_persistent_broker_crash_sends_back_what_its_consumers_held_unacknowledged() {
    let s = run_summary(
        &pushed(
            json!({"persistent": true}),
            json!([{"crash": {"component": "jobs", "at_s": 50, "recover_after_s": 5}}]),
        ),
        3,
    );
    let requeued = messages(&s, "requeued");
    assert!(requeued >= 1.0, "requeued {requeued}");
    assert_eq!(messages(&s, "duplicates"), requeued);
    assert_eq!(messages(&s, "lost"), 0.0);
    assert_eq!(
        messages(&s, "run/processed") + messages(&s, "run/still_queued"),
        messages(&s, "run/accepted")
    );
}
