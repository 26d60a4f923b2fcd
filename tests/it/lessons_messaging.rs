//! The lessons of the queue scenarios, asserted on the figures docs/concepts.md points at.

use crate::common::{dsim, num, run_ok, temp_dir};
use serde_json::Value;
use std::path::PathBuf;

/// Runs scenario `stem` (with `--set` overrides) into a fresh folder: its summary and the
/// rows of its timeseries.csv, by column name.
pub(crate) fn run_with_series(
    stem: &str,
    sets: &[&str],
) -> (Value, Vec<std::collections::BTreeMap<String, String>>) {
    let out = temp_dir(stem);
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("scenarios/{stem}.json"));
    let mut cmd = dsim();
    cmd.arg("run").arg(&file).arg("--out").arg(&out).arg("-q");
    for s in sets {
        cmd.args(["--set", s]);
    }
    run_ok(&mut cmd);
    let summary =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let csv = std::fs::read_to_string(out.join("timeseries.csv")).unwrap();
    let mut lines = csv.lines();
    let head: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    let rows = lines
        .map(|l| {
            head.iter()
                .cloned()
                .zip(l.split(',').map(String::from))
                .collect()
        })
        .collect();
    (summary, rows)
}

/// Seconds from the burst's end (90 s) to the end of the first interval whose mean depth is
/// back under 20.
fn drain_after_burst(rows: &[std::collections::BTreeMap<String, String>]) -> f64 {
    rows.iter()
        .filter(|r| cell(r, "t_start_s") >= 90.0)
        .find(|r| cell(r, "jobs_mean_depth") < 20.0)
        .map(|r| cell(r, "t_end_s") - 90.0)
        .expect("the queue drains")
}

fn cell(row: &std::collections::BTreeMap<String, String>, column: &str) -> f64 {
    row[column].parse().unwrap_or(f64::NAN)
}

/// Scenario 22 against 23: the same 5x burst on the same render capacity (200 jobs/s). Done
/// synchronously, users wait seconds and many fail; behind a queue they keep fast answers
/// and none fails, while the queue holds the excess — (500 − 200)/s × 30 s = 9,000 jobs —
/// and drains it at the spare capacity, 200 − 100 = 100 jobs/s: in about 90 s.
#[test]
fn a_queue_absorbs_a_spike_that_breaks_the_synchronous_design() {
    let (sync, _) = run_with_series("22-sync-spike", &[]);
    assert!(num(&sync, "/error_rate") > 0.2, "{}", sync["error_rate"]);
    assert!(num(&sync, "/latency_ms/p99") > 1000.0);

    let (queued, rows) = run_with_series("23-queue-absorbs-spike", &[]);
    assert_eq!(num(&queued, "/error_rate"), 0.0);
    assert!(num(&queued, "/latency_ms/p99") < 50.0);
    let m = "/components/jobs/messages";
    let peak = num(&queued, &format!("{m}/peak_depth"));
    // The backlog at the burst's end: 9,000 plus the few in process, give or take the
    // Poisson noise of 15,000 arrivals (±1 %).
    assert!((8_500.0..9_600.0).contains(&peak), "peak depth {peak}");
    let drain = drain_after_burst(&rows);
    assert!(
        (80.0..100.0).contains(&drain),
        "drained {drain} s after the burst"
    );
    // Nothing is lost: every job sent is processed (a few still in process at the end).
    let run = |k: &str| num(&queued, &format!("{m}/run/{k}"));
    assert_eq!(run("lost") + run("expired") + run("dead_lettered"), 0.0);
    assert!(run("still_queued") < 20.0);
    // The last job of the burst waited for the 9,000 ahead of it at 200/s: about 45 s.
    let p999 = num(&queued, &format!("{m}/end_to_end_ms/max"));
    assert!(
        (40_000.0..55_000.0).contains(&p999),
        "longest wait {p999} ms"
    );
}

/// Scenario 23's description: one job per receive pays a receive and a delete round trip
/// per 20 ms job (about 6 % of the render time), so the spare capacity is smaller and the
/// same backlog drains in about 110 s instead of 90.
#[test]
fn a_receive_per_message_costs_capacity_that_batches_save() {
    let (one, rows) = run_with_series(
        "23-queue-absorbs-spike",
        &["components.render.consumes.batch_size=1"],
    );
    let drain = drain_after_burst(&rows);
    assert!(
        (100.0..120.0).contains(&drain),
        "drained {drain} s after the burst"
    );
    let busy = rows
        .iter()
        .filter(|r| (100.0..160.0).contains(&cell(r, "t_start_s")))
        .map(|r| cell(r, "render_utilisation"))
        .fold(0.0, f64::max);
    assert!(busy < 0.97, "render never above {busy} while draining");
    // Two API calls per job (plus the send) instead of two per ten.
    let api = num(&one, "/components/jobs/messages/api_calls_per_s");
    let sent = num(&one, "/components/jobs/messages/sent_per_s");
    assert!(api > 2.8 * sent, "{api} API calls/s for {sent} sends/s");
}

fn run_json(stem: &str, sets: &[&str]) -> Value {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("scenarios/{stem}.json"));
    let mut cmd = dsim();
    cmd.args(["run", "--no-write", "--format", "json"])
        .arg(&file);
    for s in sets {
        cmd.args(["--set", s]);
    }
    serde_json::from_slice(&run_ok(&mut cmd).stdout).unwrap()
}

/// Scenario 24: short polling every 20 ms with 20 loops asks about 1,000 times a second for
/// 20 messages (1,000 × $0.40 per million × 3,600 s ≈ $1.44/h); long polling asks once per
/// message (a send, a receive and a delete: about 60 calls/s), none empty, the same
/// throughput, and end-to-end latency no worse.
#[test]
fn long_polling_stops_paying_for_empty_receives() {
    let short = run_json("24-short-polling", &[]);
    let long = run_json(
        "24-short-polling",
        &["components.mailer.consumes.polling=long"],
    );
    let m = |v: &Value, k: &str| num(v, &format!("/components/outbox/messages/{k}"));
    let (short_calls, long_calls) = (m(&short, "api_calls_per_s"), m(&long, "api_calls_per_s"));
    assert!(
        (900.0..1100.0).contains(&short_calls),
        "short polling: {short_calls} calls/s"
    );
    assert!(
        short_calls > 10.0 * long_calls,
        "{short_calls} vs {long_calls} calls/s"
    );
    assert!(m(&short, "empty_receives") > 0.95 * m(&short, "receives"));
    assert_eq!(m(&long, "empty_receives"), 0.0);
    let cost = m(&short, "api_cost_per_hour");
    assert!((1.3..1.6).contains(&cost), "short polling costs {cost} $/h");
    assert!(m(&long, "api_cost_per_hour") < cost / 10.0);
    assert!((m(&short, "processed_per_s") - m(&long, "processed_per_s")).abs() < 0.5);
    assert!(m(&long, "end_to_end_ms/mean") <= m(&short, "end_to_end_ms/mean"));
}

/// Scenario 25: with a 2 s visibility timeout, a 1.5 s (exponential) job outlives its
/// receipt with probability e^(−2/1.5) ≈ 26 % per delivery (more with queueing for a core),
/// so a third of the jobs run twice or more and the transcoders burn CPU on repeats; a 60 s
/// timeout leaves none, and the same jobs need only their own 1.5 s × 1.5/s ÷ 4 cores = 56 %.
#[test]
fn a_visibility_timeout_shorter_than_the_work_duplicates_it() {
    let short = run_json("25-visibility-timeout", &[]);
    let long = run_json(
        "25-visibility-timeout",
        &["components.jobs.visibility_timeout_s=60"],
    );
    let m = |v: &Value, k: &str| num(v, &format!("/components/jobs/messages/{k}"));
    let processed = m(&short, "processed_per_s") * 540.0;
    let dup = m(&short, "duplicates");
    assert!(
        dup > 0.2 * processed,
        "{dup} duplicates of {processed} jobs"
    );
    assert!(m(&short, "redelivered") >= dup);
    assert_eq!(m(&long, "duplicates"), 0.0);
    assert_eq!(m(&long, "redelivered"), 0.0);
    let cpu = |v: &Value| num(v, "/components/transcoder/cpu_utilisation");
    assert!((0.5..0.62).contains(&cpu(&long)), "{}", cpu(&long));
    assert!(
        cpu(&short) > cpu(&long) + 0.15,
        "{} vs {}",
        cpu(&short),
        cpu(&long)
    );
}

/// Scenario 26: both subscribers of the topic are down for 30 s at 50 orders/s. The pushes
/// to the email service fail and are lost, about 50 × 30 = 1,500 (±3 σ of the Poisson count,
/// ±120); the queue subscription keeps analytics' copies (its depth peaks near 1,500) and
/// loses none. With five retries, 1 + 2 + 4 + 8 + 16 = 31 s of them outlast the outage and
/// no email is lost, the last delivered about 31 s late.
#[test]
fn a_push_nobody_answers_is_lost_where_a_queue_keeps_it() {
    let s = run_json("26-pub-sub-fan-out", &[]);
    let topic = "/components/orders/messages";
    let email = |v: &Value, k: &str| num(v, &format!("{topic}/subscriptions/email/{k}"));
    let lost = email(&s, "lost");
    assert!((1_380.0..1_620.0).contains(&lost), "emails lost {lost}");
    assert_eq!(
        num(&s, &format!("{topic}/subscriptions/analytics-queue/lost")),
        0.0
    );
    let q = "/components/analytics-queue/messages";
    let peak = num(&s, &format!("{q}/peak_depth"));
    assert!(
        (1_350.0..1_650.0).contains(&peak),
        "analytics backlog {peak}"
    );
    assert_eq!(num(&s, &format!("{q}/run/lost")), 0.0);
    assert!(num(&s, &format!("{q}/run/still_queued")) < 10.0);
    // Fan-out: two copies per order.
    let published = num(&s, &format!("{topic}/published_per_s"));
    assert!((num(&s, &format!("{topic}/copies_per_s")) - 2.0 * published).abs() < 0.01);
    // The shop never knew.
    assert_eq!(num(&s, "/error_rate"), 0.0);

    let retried = run_json(
        "26-pub-sub-fan-out",
        &["components.orders.subscribers[0].retries=5"],
    );
    assert_eq!(email(&retried, "lost"), 0.0);
    assert!(email(&retried, "retried") > lost);
    let late = email(&retried, "delivery_ms/max");
    assert!(
        (29_000.0..33_000.0).contains(&late),
        "latest email {late} ms"
    );

    // The copies waiting for a retry live in the topic's memory: a half-second crash of
    // the topic at 75 s loses those of the outage so far, about 50/s × 15 s = 750.
    let crashed = run_json(
        "26-pub-sub-fan-out",
        &[
            "components.orders.subscribers[0].retries=5",
            concat!(
                r#"faults=[{"outage": {"component": "email", "at_s": 60, "recover_after_s": 30}},"#,
                r#"{"outage": {"component": "analytics", "at_s": 60, "recover_after_s": 30}},"#,
                r#"{"crash": {"component": "orders", "at_s": 75, "recover_after_s": 0.5}}]"#
            ),
        ],
    );
    let lost = email(&crashed, "lost");
    assert!(
        (600.0..900.0).contains(&lost),
        "lost in the topic's crash {lost}"
    );
}

/// Scenario 27: the same 20,000-chunk report at peak and off-peak. At peak the database's
/// cores are shared with 600 users' requests a second: their p99 while it runs is about
/// twice what it is with the report off-peak, and the report takes about twice as long. The
/// work is equal.
#[test]
fn a_job_at_peak_hurts_the_users_and_takes_longer() {
    let peak = run_json("27-cron-at-peak", &[]);
    let off = run_json("27-cron-at-peak", &["jobs.report.at_s=[140]"]);
    let during = |v: &Value| num(v, "/jobs/users_latency_during_ms/p99");
    assert!(
        during(&peak) > 1.6 * during(&off),
        "{} vs {}",
        during(&peak),
        during(&off)
    );
    let took = |v: &Value| num(v, "/jobs/jobs/report/runs/0/duration_s");
    assert!(
        took(&peak) > 1.5 * took(&off),
        "{} vs {} s",
        took(&peak),
        took(&off)
    );
    for v in [&peak, &off] {
        assert_eq!(num(v, "/jobs/jobs/report/runs/0/tasks_done"), 20_000.0);
        assert_eq!(num(v, "/error_rate"), 0.0);
    }
}

/// Scenario 28: push without a prefetch limit overruns a consumer that slows down; a prefetch
/// limit, or pulling, keeps the backlog at the queue. Slowed 4×, the two replicas process
/// 100 invoices/s of the 200 sent: the backlog grows by 100/s for 60 s. Pushed it all, each
/// replica fills its free 1 GB at 1 MB an invoice and is killed, again at every restart
/// (the backlog outgrows what it can hold): the crash loop leaves most invoices queued at
/// the end, and none is lost. Bounded, the backlog (≈ 6,000) waits at the queue and drains
/// at the 200/s to spare; the longest wait is the invoice sent half-way through the
/// slowdown, 30 s (it waits for the 3,000 ahead of it at 100/s).
#[test]
fn push_without_prefetch_overruns_a_slow_consumer_and_pull_does_not() {
    let m = |v: &Value, k: &str| num(v, &format!("/components/invoices/messages/{k}"));
    let kills = |v: &Value| num(v, "/components/billing/oom_kills");
    let push = run_json("28-push-overruns-consumer", &[]);
    assert!(kills(&push) >= 4.0, "OOM kills {}", kills(&push));
    assert!(m(&push, "requeued") > 1000.0, "{}", m(&push, "requeued"));
    let accepted = m(&push, "run/accepted");
    assert!(m(&push, "run/still_queued") > 0.5 * accepted, "{push}");
    assert_eq!(m(&push, "run/lost"), 0.0);
    let prefetch = run_json(
        "28-push-overruns-consumer",
        &["components.billing.consumes.prefetch=20"],
    );
    let pull = run_json(
        "28-push-overruns-consumer",
        &[
            "components.billing.consumes.polling=long",
            "components.billing.consumes.concurrency=8",
        ],
    );
    for v in [&prefetch, &pull] {
        assert_eq!(kills(v), 0.0);
        assert_eq!(m(v, "requeued") + m(v, "redelivered"), 0.0);
        assert!(m(v, "run/still_queued") < 50.0, "{v}");
        let peak = m(v, "peak_depth");
        assert!((5_000.0..7_000.0).contains(&peak), "peak depth {peak}");
        let age = m(v, "max_age_s");
        assert!((25.0..33.0).contains(&age), "oldest {age} s");
    }
    // Push pays one acknowledgement per invoice (fewer: they go together), pull a receive
    // and a delete.
    let calls = |v: &Value| m(v, "receives") + m(v, "deletes");
    assert!(
        calls(&pull) > 1.9 * calls(&prefetch),
        "{} vs {}",
        calls(&pull),
        calls(&prefetch)
    );
}

/// Scenario 29: a hot key makes one partition of a log lag while the others stay near zero.
/// The hottest key's partition takes about 29 % of 1,200 records/s (≈ 350/s) and its one
/// member processes 250/s: its lag grows by about 100/s over 170 s. More members change
/// nothing (a partition is one member's); spreading the keys evenly removes the lag.
#[test]
fn a_hot_key_makes_one_partition_lag() {
    let lags = |v: &Value| -> Vec<f64> {
        v.pointer("/components/clicks/messages/log/groups/analytics/partition_lag")
            .and_then(Value::as_array)
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let hot = run_json("29-log-hot-key", &[]);
    assert_eq!(hot["components"]["clicks"]["kind"], "log");
    let lag = lags(&hot);
    assert_eq!(lag.len(), 8);
    let worst = lag.iter().cloned().fold(0.0, f64::max);
    assert!((12_000.0..25_000.0).contains(&worst), "{lag:?}");
    assert_eq!(lag.iter().filter(|&&l| l > 100.0).count(), 1, "{lag:?}");
    let more = run_json("29-log-hot-key", &["components.analytics.replicas=4"]);
    let more_worst = lags(&more).iter().cloned().fold(0.0, f64::max);
    assert!(
        (more_worst - worst).abs() < 0.1 * worst,
        "{more_worst} vs {worst}"
    );
    let spread = run_json(
        "29-log-hot-key",
        &[r#"workload.classes.click.keys={"uniform":{"count":1000}}"#],
    );
    assert!(
        lags(&spread).iter().all(|&l| l < 100.0),
        "{:?}",
        lags(&spread)
    );
    let run = |v: &Value, k: &str| num(v, &format!("/components/clicks/messages/run/{k}"));
    for v in [&hot, &spread] {
        assert_eq!(
            run(v, "accepted"),
            run(v, "processed") + run(v, "expired") + run(v, "still_queued")
        );
    }
}

/// Scenario 30: a FIFO queue of one message group processes one message at a time however
/// many loops consume it: 8 ms of exponential work is 125 messages/s at most (the receive
/// and delete of a batch of 10 add a fraction of a millisecond per 10 messages), against
/// 400 sent; the backlog grows all run and the table says why. Grouped by account (64
/// groups) the same 8 loops keep up, as a standard queue does.
#[test]
fn one_fifo_group_is_one_message_at_a_time() {
    let one = run_json("30-fifo-one-group", &[]);
    let m = |v: &Value, k: &str| num(v, &format!("/components/events/messages/{k}"));
    assert_eq!(
        one["components"]["events"]["messages"]["fifo_message_groups"],
        1
    );
    let rate = m(&one, "processed_per_s");
    assert!((118.0..=127.0).contains(&rate), "{rate}/s");
    assert!(m(&one, "max_age_s") > 60.0, "{one}");
    assert!(m(&one, "run/still_queued") > 25_000.0);
    let grouped = run_json(
        "30-fifo-one-group",
        &["components.events.message_groups=64"],
    );
    let standard = run_json(
        "30-fifo-one-group",
        &[
            "components.events.fifo=false",
            "components.events.message_groups=null",
        ],
    );
    for v in [&grouped, &standard] {
        assert!(m(v, "processed_per_s") > 0.98 * m(v, "sent_per_s"), "{v}");
        assert!(m(v, "max_age_s") < 1.0, "{v}");
    }
    assert!(
        standard["components"]["events"]["messages"]
            .get("fifo_message_groups")
            .is_none()
    );
    // The terminal table names the limit no utilisation shows.
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios/30-fifo-one-group.json");
    let out = run_ok(dsim().args(["run", "--no-write"]).arg(&file)).stdout;
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("events falls behind"), "{text}");
    assert!(text.contains("events: FIFO, 1 message group"), "{text}");
    assert!(!text.contains("nothing is near a limit"), "{text}");
}

/// Scenario 31: during a 60 s relay outage at 20 emails/s, emails fail three times (5 s
/// visibility timeout apart) and are dead-lettered: about the outage's 1,200 less those sent
/// in its last 10 s or so, which get a try after it. With a dead-letter queue they move there
/// and the replayer sends them all once the relay is back; without, they are dropped.
#[test]
fn a_dead_letter_queue_keeps_what_max_receives_would_drop() {
    let kept = run_json("31-dead-letter-queue", &[]);
    let dropped = run_json(
        "31-dead-letter-queue",
        &["components.emails.dead_letter_queue=null"],
    );
    let m = |v: &Value, q: &str, k: &str| num(v, &format!("/components/{q}/messages/{k}"));
    let dead = m(&kept, "emails", "dead_lettered");
    assert!((900.0..1_200.0).contains(&dead), "{dead}");
    assert_eq!(
        m(&dropped, "emails", "dead_lettered"),
        dead,
        "the same failures"
    );
    // Kept: every dead letter reached the dead-letter queue, and was sent after the outage.
    assert_eq!(m(&kept, "emails", "dead_letters_lost"), 0.0);
    assert_eq!(m(&kept, "emails-dlq", "run/accepted"), dead);
    assert_eq!(m(&kept, "emails-dlq", "run/processed"), dead);
    assert_eq!(
        kept["components"]["emails"]["messages"]["dead_letter_queue"],
        "emails-dlq"
    );
    // Its end-to-end time runs from the first send: past the outage's end for all of them.
    assert!(m(&kept, "emails-dlq", "end_to_end_ms/p50") > 30_000.0);
    // Dropped: nothing reaches the dead-letter queue; the emails are gone.
    assert_eq!(m(&dropped, "emails-dlq", "run/accepted"), 0.0);
    assert!(
        dropped["components"]["emails"]["messages"]
            .get("dead_letters_lost")
            .is_none()
    );
    let emails_sent =
        |v: &Value| m(v, "emails", "run/processed") + m(v, "emails-dlq", "run/processed");
    assert!(emails_sent(&kept) - emails_sent(&dropped) > 900.0);
}

/// Scenario 32: the same 400 orders/s written per request (each its own transaction: a disk
/// write on a disk of 500/s, 80 % busy) or queued and bulk-written every 5 s. Batched, the
/// users wait for the API alone and the database does a fraction of the work in about one
/// call a second; an order reaches the database about T/2 = 2.5 s later (plus the batch's
/// own time), never much more than T. Synchronous, it is there at once but the users wait
/// for the disk.
#[test]
fn batching_every_few_seconds_trades_freshness_for_the_users_and_the_database() {
    let batched = run_json("32-batch-vs-sync", &[]);
    let sync = run_json(
        "32-batch-vs-sync",
        &[r#"components.api.handlers.default=[{"cpu_ms":{"constant":{"ms":1}}},{"call":"db"}]"#],
    );
    let p99 = |v: &Value| num(v, "/latency_ms/p99");
    assert!(
        p99(&sync) > 2.0 * p99(&batched),
        "{} vs {}",
        p99(&sync),
        p99(&batched)
    );
    let db = |v: &Value, k: &str| num(v, &format!("/components/db/{k}"));
    assert!(db(&sync, "disk_utilisation") > 0.7, "{sync}");
    assert_eq!(db(&batched, "disk_utilisation"), 0.0);
    assert!(db(&batched, "cpu_utilisation") < db(&sync, "cpu_utilisation") / 3.0);
    // One database call per batch (two or three a run), against one per order.
    assert!(db(&batched, "throughput_rps") < 1.0, "{batched}");
    assert!(db(&sync, "throughput_rps") > 390.0);
    let e2e = |k: &str| {
        num(
            &batched,
            &format!("/components/orders/messages/end_to_end_ms/{k}"),
        )
    };
    assert!((2_300.0..3_000.0).contains(&e2e("mean")), "{}", e2e("mean"));
    assert!(e2e("max") < 5_700.0, "{}", e2e("max"));
    // The same orders reach the database: all but those of the last run.
    let rows = num(&batched, "/components/orders/messages/processed_per_s");
    assert!((rows - 399.0).abs() < 8.0, "{rows}");
}
