//! A queue's messages in summary.json: rates over the window, what became of them, the depth
//! and the end-to-end latency (sent to processed), beside its broker's machine figures. Pure.

use crate::model::ComponentSpec;
use crate::model::messaging::queue::Broker;
use crate::model::messaging::topic::{Subscriber, Topic};
use crate::model::sim::Simulation;
use crate::report::{LatencySummary, round};
use serde::Serialize;
use std::collections::BTreeMap;

/// What a queue did with its messages.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct MessageSummary {
    /// Over the window, per second: sends accepted, first processings, API calls (sends,
    /// receives and deletes, as a provider bills them).
    pub sent_per_s: f64,
    pub processed_per_s: f64,
    pub api_calls_per_s: f64,
    /// The API calls' price per hour at that rate; absent without `cost_per_million_requests`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_cost_per_hour: Option<f64>,
    /// Over the window, counts.
    pub refused: u64,
    pub receives: u64,
    pub empty_receives: u64,
    pub deletes: u64,
    pub delivered: u64,
    pub redelivered: u64,
    /// Pushed messages put back in line (the push failed, or its channel closed).
    pub requeued: u64,
    pub duplicates: u64,
    /// Processings that finished after their message had left the queue: wasted work.
    pub late: u64,
    pub failed_processing: u64,
    pub dead_lettered: u64,
    /// With a dead-letter queue: its name, and the dead-lettered messages it did not take
    /// (refused, or down), which are gone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dead_letter_queue: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dead_letters_lost: Option<u64>,
    pub expired: u64,
    pub lost: u64,
    /// Messages held (visible and in flight), time-averaged over the window, and the most
    /// ever held.
    pub mean_depth: f64,
    pub peak_depth: u64,
    /// The longest any message waited for a receive during the window (received, expired,
    /// or still waiting at its end), in seconds: how far behind the consumers fell. Absent
    /// when no message was held.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_age_s: Option<f64>,
    /// Sent to first processed, of messages first processed in the window; absent when none
    /// was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_to_end_ms: Option<LatencySummary>,
    /// Over the whole run: every message accepted ends in one of these, or is still queued.
    /// A log owes each record to every group: its `accepted` is records × groups.
    pub run: MessageFates,
    /// The measurement window's length in seconds, for the rates of the counts above.
    #[serde(skip)]
    pub window_s: f64,
    /// A FIFO queue's message groups; absent for a standard queue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fifo_message_groups: Option<u32>,
    /// A log's partitions and its groups' lag; absent for a queue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<super::log_messages::LogSummary>,
}

/// What became of every message the queue accepted over the run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct MessageFates {
    pub accepted: u64,
    pub processed: u64,
    pub dead_lettered: u64,
    pub expired: u64,
    pub lost: u64,
    pub still_queued: u64,
}

/// Processing this far below the sending rate, a queue is falling behind (not noise).
pub(crate) const FALLING_BEHIND: f64 = 0.98;

impl MessageSummary {
    /// Its consumers processed clearly fewer messages than were sent: a backlog that grows
    /// for as long as the run lasts.
    pub(crate) fn falling_behind(&self) -> bool {
        // Messages that left unprocessed (dead-lettered, expired, lost) are not a backlog.
        let left = (self.dead_lettered + self.expired + self.lost) as f64;
        let left_per_s = if self.window_s > 0.0 {
            left / self.window_s
        } else {
            0.0
        };
        self.sent_per_s > 0.0
            && self.processed_per_s + left_per_s < self.sent_per_s * FALLING_BEHIND
    }
}

pub(crate) fn summary(
    q: &Broker,
    all: &[ComponentSpec],
    per_s: &impl Fn(u64) -> f64,
) -> MessageSummary {
    let s = &q.stats;
    let f = q.store.fates;
    let api = s.sent + s.receives + s.deletes;
    let api_per_s = per_s(api);
    MessageSummary {
        sent_per_s: per_s(s.sent),
        processed_per_s: per_s(s.processed),
        api_calls_per_s: api_per_s,
        api_cost_per_hour: (q.rules.cost_per_million_requests > 0.0).then(|| {
            round(
                api_per_s * 3600.0 * q.rules.cost_per_million_requests / 1e6,
                4,
            )
        }),
        refused: s.refused,
        receives: s.receives,
        empty_receives: s.empty_receives,
        deletes: s.deletes,
        delivered: s.delivered,
        redelivered: s.redelivered,
        requeued: s.requeued,
        duplicates: s.duplicates,
        late: s.late,
        failed_processing: s.failed_processing,
        dead_lettered: s.dead_lettered,
        dead_letter_queue: q
            .rules
            .dead_letter_queue
            .map(|d| all[d.index()].name.clone()),
        dead_letters_lost: q.rules.dead_letter_queue.map(|_| s.dead_letters_lost),
        expired: s.expired,
        lost: s.lost,
        mean_depth: round(q.mean_depth, 4),
        peak_depth: q.peak_depth,
        max_age_s: q.max_age.map(|a| round(a.as_secs(), 3)),
        end_to_end_ms: (!q.end_to_end.is_empty()).then(|| LatencySummary::of(&q.end_to_end)),
        run: match &q.log {
            Some(log) => super::log_messages::fates(log),
            None => MessageFates {
                accepted: f.accepted,
                processed: f.processed,
                dead_lettered: f.dead_lettered,
                expired: f.expired,
                lost: f.lost,
                still_queued: q.store.unprocessed_held(),
            },
        },
        window_s: {
            let million_per_s = per_s(1_000_000);
            if million_per_s > 0.0 {
                1e6 / million_per_s
            } else {
                0.0
            }
        },
        fifo_message_groups: q.rules.message_groups,
        log: q
            .log
            .as_ref()
            .map(|log| super::log_messages::summary(q, log, all, per_s)),
    }
}

/// What a topic did with the messages published to it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct TopicMessages {
    /// Messages published per second over the window, and copies sent on (× subscriptions).
    pub published_per_s: f64,
    pub copies_per_s: f64,
    /// Per subscription, by the subscriber's name.
    pub subscriptions: BTreeMap<String, SubscriptionSummary>,
    /// Over the whole run: copies sent, delivered, lost; the rest were still on their way.
    pub run: CopyFates,
}

/// One subscription over the window.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct SubscriptionSummary {
    /// `queue` (durable) or `push` (a service's endpoint).
    pub to: &'static str,
    pub delivered: u64,
    pub retried: u64,
    pub lost: u64,
    /// Published to delivered (the subscriber's acknowledgement back at the topic); absent
    /// when none was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_ms: Option<LatencySummary>,
}

/// Copies over the run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct CopyFates {
    pub sent: u64,
    pub delivered: u64,
    pub lost: u64,
    pub in_flight: u64,
}

pub(crate) fn topic_summary(
    t: &Topic,
    all: &[ComponentSpec],
    per_s: &impl Fn(u64) -> f64,
) -> TopicMessages {
    let subscriptions = t
        .subscriptions
        .iter()
        .zip(&t.stats)
        .map(|(sub, st)| {
            let (id, to) = match sub.to {
                Subscriber::Queue(q) => (q, "queue"),
                Subscriber::Push { service, .. } => (service, "push"),
            };
            let summary = SubscriptionSummary {
                to,
                delivered: st.delivered,
                retried: st.retried,
                lost: st.lost,
                delivery_ms: (!st.latency.is_empty()).then(|| LatencySummary::of(&st.latency)),
            };
            (all[id.index()].name.clone(), summary)
        })
        .collect();
    let f = t.fates;
    TopicMessages {
        published_per_s: per_s(t.published),
        copies_per_s: per_s(t.published * t.subscriptions.len() as u64),
        subscriptions,
        run: CopyFates {
            sent: f.sent,
            delivered: f.delivered,
            lost: f.lost,
            in_flight: f.sent - f.delivered - f.lost,
        },
    }
}

/// The scheduled jobs: each one's runs, and the users' latency while any ran.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct JobsSummary {
    /// Latency of the users' requests completed in the window while a job ran; absent when
    /// none did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub users_latency_during_ms: Option<LatencySummary>,
    pub jobs: BTreeMap<String, JobSummary>,
}

/// One job.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct JobSummary {
    pub service: String,
    pub tasks_per_run: u32,
    /// Starts skipped because the previous run was still going.
    pub skipped: u32,
    pub runs: Vec<JobRunSummary>,
}

/// One run of a job (whole run, not only the window).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct JobRunSummary {
    pub start_s: f64,
    /// Absent when the simulation ended before its last task did.
    pub end_s: Option<f64>,
    pub duration_s: Option<f64>,
    pub tasks_done: u32,
    pub tasks_failed: u32,
}

pub(crate) fn jobs_summary(sim: &Simulation) -> Option<JobsSummary> {
    let sc = &sim.ctx.scenario;
    if sim.jobs.jobs.is_empty() {
        return None;
    }
    let during = &sim.ctx.metrics.latency_during_jobs;
    Some(JobsSummary {
        users_latency_during_ms: (!during.is_empty()).then(|| LatencySummary::of(during)),
        jobs: sim
            .jobs
            .jobs
            .iter()
            .map(|j| {
                let summary = JobSummary {
                    service: sc.components[j.spec.service.index()].name.clone(),
                    tasks_per_run: j.spec.tasks,
                    skipped: j.skipped,
                    runs: j
                        .runs
                        .iter()
                        .map(|r| JobRunSummary {
                            start_s: round(r.start.as_secs(), 6),
                            end_s: r.end.map(|e| round(e.as_secs(), 6)),
                            duration_s: r.end.map(|e| round((e - r.start).as_secs(), 6)),
                            tasks_done: r.done,
                            tasks_failed: r.failed,
                        })
                        .collect(),
                };
                (j.spec.name.clone(), summary)
            })
            .collect(),
    })
}
