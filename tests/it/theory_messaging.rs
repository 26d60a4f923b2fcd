//! Queues against queueing theory and conservation, with the replications and tolerances of
//! `theory.rs` (8 seeds, 4.5 standard errors, standard error under 2 %).
//!
//! A queue whose consumers long-poll over links that take no time, with a broker that costs
//! a microsecond per call, is an M/M/c station: the `c` poller loops are its servers (each
//! processes one message at a time), the queue's line is the waiting room. The overheads of
//! a message's trip (a send, a receive and a delete of 1 µs each) are below 0.03 % of a
//! 15 ms service time, far inside the tolerance.

use crate::common::{num, run_summary, zero_latency};
use crate::theory::{assert_matches, erlang_c, exponential, open, replicate};
use serde_json::{Value, json};

/// Users send `rate_per_s` messages per second through `api` (which does nothing else) to
/// `jobs`; `worker` has `pollers` loops, each processing one message at a time with
/// exponential work of `service_ms` on a core of its own.
fn pipeline(rate_per_s: f64, pollers: u32, service_ms: f64, duration_s: f64) -> Value {
    consumed(
        rate_per_s,
        pollers,
        service_ms,
        duration_s,
        json!({"queue": "jobs", "concurrency": pollers}),
    )
}

/// The pipeline above, `worker` consuming as `consumes` says with `workers` workers.
fn consumed(
    rate_per_s: f64,
    workers: u32,
    service_ms: f64,
    duration_s: f64,
    consumes: Value,
) -> Value {
    let pollers = workers;
    let machine = json!({
        "cores": pollers,
        "memory_per_connection_kb": 0,
        "memory_per_request_kb": 0
    });
    json!({
        "name": "queue-theory",
        "duration_s": duration_s,
        "warmup_s": duration_s / 10.0,
        "network": zero_latency(),
        "workload": {
            "model": open(rate_per_s),
            "entry": "api",
            "timeout_ms": 1e9,
            "classes": {
                "order": {"request_bytes": 0, "response_bytes": 0},
                "work": {"weight": 0, "request_bytes": 0, "response_bytes": 0}
            }
        },
        "components": {
            "api": {
                "kind": "service",
                "machine": machine,
                "workers": 1000,
                "handlers": {"default": [{"send": {"queue": "jobs", "message": "work"}}]}
            },
            "jobs": {
                "kind": "queue",
                "machine": machine,
                "request_cpu_ms": {"constant": {"ms": 0.001}}
            },
            "worker": {
                "kind": "service",
                "machine": machine,
                "workers": pollers,
                "queue_capacity": 100_000,
                "consumes": consumes,
                "handlers": {"default": [{"cpu_ms": exponential(service_ms)}]}
            }
        }
    })
}

/// Four pollers of 15 ms work at 200 messages/s (a = 3, ρ = 0.75): a message's end-to-end
/// latency is Erlang C's sojourn, W = 1/μ + C(4, 3)/(4μ − λ) = 15 + 0.5094/(266.7 − 200)
/// s ≈ 22.64 ms; the messages held (in line and being processed) follow Little's law, L = λW.
#[test]
fn consumers_of_a_queue_are_an_mmc_station() {
    let (lambda, c, service_ms) = (200.0, 4, 15.0);
    let mu = 1000.0 / service_ms;
    let p_wait = erlang_c(c, lambda / mu);
    let w_ms = service_ms + p_wait / (f64::from(c) * mu - lambda) * 1000.0;
    let runs = replicate(&pipeline(lambda, c, service_ms, 200.0));
    assert_matches(
        "queue end-to-end mean",
        &runs,
        "/components/jobs/messages/end_to_end_ms/mean",
        w_ms,
    );
    assert_matches(
        "queue depth (Little)",
        &runs,
        "/components/jobs/messages/mean_depth",
        lambda * w_ms / 1000.0,
    );
    assert_matches(
        "queue throughput",
        &runs,
        "/components/jobs/messages/processed_per_s",
        lambda,
    );
    assert_matches(
        "worker utilisation",
        &runs,
        "/components/worker/cpu_utilisation",
        lambda / (f64::from(c) * mu),
    );
}

/// Every message accepted over the run is processed, dead-lettered, expired, lost or still
/// queued; with long polling no receive comes back empty while messages keep arriving, and
/// each receive of one message is followed by one delete.
#[test]
fn every_message_is_accounted_for() {
    let s = run_summary(&pipeline(200.0, 4, 15.0, 30.0), 7);
    let run = |k: &str| num(&s, &format!("/components/jobs/messages/run/{k}"));
    let accepted = run("accepted");
    assert!(accepted > 5000.0, "{accepted}");
    let ends = run("processed")
        + run("dead_lettered")
        + run("expired")
        + run("lost")
        + run("still_queued");
    assert_eq!(accepted, ends, "{s}");
    let m = |k: &str| num(&s, &format!("/components/jobs/messages/{k}"));
    assert_eq!(m("duplicates"), 0.0);
    assert_eq!(m("redelivered"), 0.0);
    // Users' requests return once the message is accepted: their latency is the send's.
    assert!(num(&s, "/latency_ms/p99") < 1.0, "{s}");
}

/// Pushed instead of pulled, the same station: without a prefetch limit the messages wait
/// in the worker's own queue for one of its 4 workers, with a prefetch of 4 they wait at the
/// broker until an acknowledgement (a 1 µs call over a link that takes no time) frees a
/// place. Either way a message waits for one of 4 servers in arrival order: Erlang C's
/// sojourn, 22.64 ms, as for the pollers above.
#[test]
fn pushed_consumers_are_the_same_mmc_station() {
    let (lambda, c, service_ms) = (200.0, 4, 15.0);
    let mu = 1000.0 / service_ms;
    let w_ms = service_ms + erlang_c(c, lambda / mu) / (f64::from(c) * mu - lambda) * 1000.0;
    for consumes in [
        json!({"queue": "jobs", "polling": "push"}),
        json!({"queue": "jobs", "polling": "push", "prefetch": c}),
    ] {
        let runs = replicate(&consumed(lambda, c, service_ms, 200.0, consumes.clone()));
        assert_matches(
            &format!("pushed end-to-end mean ({consumes})"),
            &runs,
            "/components/jobs/messages/end_to_end_ms/mean",
            w_ms,
        );
        assert_matches(
            &format!("pushed queue depth, Little ({consumes})"),
            &runs,
            "/components/jobs/messages/mean_depth",
            lambda * w_ms / 1000.0,
        );
        for s in &runs {
            let m = |k: &str| num(s, &format!("/components/jobs/messages/{k}"));
            // Nobody asks: no receives; every message is delivered once.
            assert_eq!(m("receives"), 0.0);
            assert_eq!(m("requeued") + m("redelivered") + m("duplicates"), 0.0);
        }
    }
}

/// A log's partitions are one member's each: with uniformly spread keys, 4 partitions read
/// by 4 members (one record per fetch) are 4 M/M/1 queues of λ/4 each, not one M/M/4. At
/// 200 records/s and 10 ms of work, W = 1/(μ − λ/4) = 1/(100 − 50) s = 20 ms, where the
/// pooled M/M/4 of a queue would give 10 + C(4, 2)/(400 − 200) s ≈ 10.87 ms. Key hashing
/// splits 1,000,000 uniform keys within a fraction of a percent of a quarter each.
#[test]
fn a_log_partition_is_an_mm1_queue() {
    let (lambda, service_ms) = (200.0, 10.0);
    let mut scenario = consumed(
        lambda,
        4,
        service_ms,
        200.0,
        json!({"queue": "jobs", "concurrency": 4}),
    );
    scenario["components"]["jobs"] = json!({
        "kind": "log",
        "partitions": 4,
        "machine": scenario["components"]["jobs"]["machine"].clone(),
        "request_cpu_ms": {"constant": {"ms": 0.001}}
    });
    let runs = replicate(&scenario);
    let mu = 1000.0 / service_ms;
    let w_ms = 1000.0 / (mu - lambda / 4.0);
    assert_matches(
        "log end-to-end mean (4 × M/M/1)",
        &runs,
        "/components/jobs/messages/end_to_end_ms/mean",
        w_ms,
    );
    assert_matches(
        "log lag (Little)",
        &runs,
        "/components/jobs/messages/mean_depth",
        lambda * w_ms / 1000.0,
    );
}

/// Long polling's empty receives against their closed form. One loop, polls of W = 0.5 s,
/// Poisson sends at λ = 2/s, work and links that take no time: the loop is always waiting,
/// so every message ends a poll and a poll ends empty when nothing comes within W, with
/// probability e^(−λW). Polls end at λ/(1 − e^(−λW)) per second, empty ones at
/// λ·e^(−λW)/(1 − e^(−λW)) = 2·0.3679/0.6321 ≈ 1.164/s: about 1,048 in the 900 s window.
#[test]
fn long_poll_empty_receives_match_their_closed_form() {
    let (lambda, wait_s, window_s) = (2.0, 0.5, 900.0);
    let mut scenario = consumed(
        lambda,
        1,
        0.001,
        1000.0,
        json!({"queue": "jobs", "concurrency": 1, "wait_time_s": wait_s}),
    );
    scenario["warmup_s"] = json!(100.0);
    let runs = replicate(&scenario);
    let p_empty = f64::exp(-lambda * wait_s);
    let empty_per_s = lambda * p_empty / (1.0 - p_empty);
    assert_matches(
        "long-poll empty receives",
        &runs,
        "/components/jobs/messages/empty_receives",
        empty_per_s * window_s,
    );
}

/// A FIFO queue delivers one message of a group at a time. With one group, four pollers
/// are one server: 50 messages/s of 10 ms work (ρ = 0.5) is M/M/1, W = S/(1 − ρ) = 20 ms,
/// where a standard queue's four would give 10.17 ms (the unlocking delete and the next
/// receive cost 3 µs). With 100,000 groups over a million uniform keys two messages held
/// at once almost never share a group (about 5 held among 100,000 groups: a collision in
/// well under 0.1 % of messages), and the same pollers are M/M/4 again at 200 messages/s.
#[test]
fn a_fifo_group_is_served_one_message_at_a_time() {
    let fifo = |lambda: f64, groups: u32| {
        let mut s = pipeline(lambda, 4, if groups == 1 { 10.0 } else { 15.0 }, 200.0);
        s["components"]["jobs"]["fifo"] = json!(true);
        s["components"]["jobs"]["message_groups"] = json!(groups);
        s["workload"]["classes"]["order"]["keys"] = json!({"uniform": {"count": 1_000_000}});
        s
    };
    let one = replicate(&fifo(50.0, 1));
    assert_matches(
        "one group: M/M/1 end-to-end mean",
        &one,
        "/components/jobs/messages/end_to_end_ms/mean",
        10.0 / (1.0 - 0.5),
    );
    assert_matches(
        "one group: depth (Little)",
        &one,
        "/components/jobs/messages/mean_depth",
        50.0 * 0.020,
    );
    let many = replicate(&fifo(200.0, 100_000));
    let mu = 1000.0 / 15.0;
    let w_ms = 15.0 + erlang_c(4, 200.0 / mu) / (4.0 * mu - 200.0) * 1000.0;
    assert_matches(
        "100,000 groups: M/M/4 end-to-end mean",
        &many,
        "/components/jobs/messages/end_to_end_ms/mean",
        w_ms,
    );
    for s in one.iter().chain(&many) {
        let m = |k: &str| num(s, &format!("/components/jobs/messages/{k}"));
        assert_eq!(m("duplicates") + m("redelivered"), 0.0, "{s}");
    }
}

/// A batch job every T takes everything queued at each run: with Poisson sends a message
/// waits from its send to the next run, uniform on (0, T), so its end-to-end mean is T/2 and
/// the messages held average λ·T/2 (Little). T = 2 s, λ = 50/s, one batch of up to 1,000
/// processed as one call of negligible work: W = 1,000 ms, L = 50. Run after run the batch
/// takes only what waited: one receive per run when it comes back short of full.
#[test]
fn a_batch_job_every_t_makes_messages_wait_half_of_t() {
    let (lambda, every_s) = (50.0, 2.0);
    let scenario = consumed(
        lambda,
        1,
        0.001,
        200.0,
        json!({"queue": "jobs", "every_s": every_s, "batch_size": 1000, "process": "batch"}),
    );
    let runs = replicate(&scenario);
    assert_matches(
        "batch every T: end-to-end mean T/2",
        &runs,
        "/components/jobs/messages/end_to_end_ms/mean",
        every_s * 1000.0 / 2.0,
    );
    assert_matches(
        "batch every T: depth (Little)",
        &runs,
        "/components/jobs/messages/mean_depth",
        lambda * every_s / 2.0,
    );
    for s in &runs {
        let m = |k: &str| num(s, &format!("/components/jobs/messages/{k}"));
        // One receive per run (180 s of window: 90 runs), each a full drain; the worker's
        // service answered one call per run, not one per message.
        assert!((89.0..=91.0).contains(&m("receives")), "{}", m("receives"));
        assert!(m("end_to_end_ms/max") <= every_s * 1000.0 + 1.0, "{s}");
        let calls = num(s, "/components/worker/throughput_rps");
        assert!((0.49..=0.51).contains(&calls), "{calls} calls/s");
    }
}
