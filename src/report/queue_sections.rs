//! The report's sections on queues and topics (part of `sections`): what each queue's
//! messages did, and how long they took from send to processed; what each topic's
//! subscriptions got. Absent when the scenario has none. Pure.

use crate::report::sections::{Grid, Section, latency_cells, latency_head, rate, thousands};
use crate::report::{ComponentSummary, Results};

/// "Queues" (flow and depth per queue, and what went wrong) and "Messages, sent to
/// processed" (end-to-end latency per queue).
pub(crate) fn queues(r: &Results) -> Vec<Section> {
    let mut out = queue_sections(r);
    out.extend(topics(r));
    out.extend(jobs(r));
    out
}

/// "Jobs": every run of every scheduled job, and the users' latency while one ran.
fn jobs(r: &Results) -> Option<Section> {
    let j = r.jobs.as_ref()?;
    let mut s = Section::new("Jobs");
    let p99 = |l: Option<f64>| l.map_or("-".to_string(), |v| format!("{v:.2} ms"));
    s.lines.push(format!(
        "users' p99 while a job ran: {}; over the whole window: {}",
        p99(j.users_latency_during_ms.as_ref().and_then(|l| l.p99)),
        p99(r.latency_ms.p99)
    ));
    /// Runs listed per job; summary.json has them all.
    const SHOWN: usize = 20;
    let mut rows = Vec::new();
    for (name, job) in &j.jobs {
        if job.runs.len() > SHOWN {
            s.notes.push(format!(
                "{name}: the first {SHOWN} of its {} runs (all are in summary.json)",
                job.runs.len()
            ));
        }
        for run in job.runs.iter().take(SHOWN) {
            rows.push(vec![
                name.clone(),
                format!("{:.1}", run.start_s),
                run.duration_s
                    .map_or("unfinished".into(), |d| format!("{d:.1}")),
                thousands(u64::from(run.tasks_done)),
                thousands(u64::from(run.tasks_failed)),
            ]);
        }
        if job.skipped > 0 {
            s.notes.push(format!(
                "{name}: {} starts skipped (the previous run was still going)",
                job.skipped
            ));
        }
    }
    s.grid = Some(Grid {
        head: ["job", "start s", "took s", "tasks done", "failed"]
            .map(String::from)
            .to_vec(),
        rows,
    });
    Some(s)
}

/// "Topics": per subscription, copies delivered, retried and lost, and the delivery p99.
fn topics(r: &Results) -> Option<Section> {
    let mut rows = Vec::new();
    for name in &r.component_order {
        let Some(ComponentSummary::Topic(t)) = r.components.get(name) else {
            continue;
        };
        for (sub, s) in &t.messages.subscriptions {
            rows.push(vec![
                name.clone(),
                format!("{sub} ({})", s.to),
                thousands(s.delivered),
                thousands(s.retried),
                thousands(s.lost),
                s.delivery_ms
                    .as_ref()
                    .and_then(|l| l.p99)
                    .map_or("-".into(), |p| format!("{p:.2}")),
            ]);
        }
    }
    if rows.is_empty() {
        return None;
    }
    let mut s = Section::new("Topics");
    s.grid = Some(Grid {
        head: [
            "topic",
            "subscriber",
            "delivered",
            "retried",
            "lost",
            "p99 ms",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    });
    s.notes = vec![
        "lost: copies a subscriber never took (a push after its retries, or a full queue)".into(),
        "  p99 ms: published to delivered".into(),
    ];
    Some(s)
}

fn queue_sections(r: &Results) -> Vec<Section> {
    let queues: Vec<_> = r
        .component_order
        .iter()
        .filter_map(|name| Some((name, &r.components.get(name)?.queue()?.messages)))
        .collect();
    if queues.is_empty() {
        return Vec::new();
    }
    let mut flow = Section::new("Queues");
    flow.grid = Some(Grid {
        head: [
            "queue",
            "sent/s",
            "processed/s",
            "depth",
            "peak",
            "oldest s",
            "receives",
            "empty",
            "api $/h",
        ]
        .map(String::from)
        .to_vec(),
        rows: queues
            .iter()
            .map(|(name, m)| {
                vec![
                    (*name).clone(),
                    rate(m.sent_per_s),
                    rate(m.processed_per_s),
                    format!("{:.1}", m.mean_depth),
                    thousands(m.peak_depth),
                    m.max_age_s.map_or("-".into(), |a| format!("{a:.1}")),
                    thousands(m.receives),
                    thousands(m.empty_receives),
                    m.api_cost_per_hour
                        .map_or("-".into(), |c| format!("{c:.2}")),
                ]
            })
            .collect(),
    });
    for (name, m) in &queues {
        let dead = match &m.dead_letter_queue {
            Some(dlq) => format!("dead-lettered (moved to {dlq})"),
            None => "dead-lettered (dropped: no dead_letter_queue)".into(),
        };
        let troubles = [
            (m.refused, "sends refused"),
            (m.redelivered, "redelivered (visibility timeout)"),
            (m.requeued, "pushes failed and put back in line"),
            (m.duplicates, "processed again (duplicates)"),
            (m.late, "processed after leaving the queue"),
            (m.failed_processing, "failed processing"),
            (m.dead_lettered, dead.as_str()),
            (
                m.dead_letters_lost.unwrap_or(0),
                "dead-lettered and refused by the dead-letter queue (gone)",
            ),
            (m.expired, "expired"),
            (m.lost, "lost in a crash"),
        ];
        let said: Vec<String> = troubles
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{} {what}", thousands(*n)))
            .collect();
        if !said.is_empty() {
            flow.lines.push(format!("{name}: {}", said.join(", ")));
        }
        if let Some(g) = m.fifo_message_groups {
            flow.lines.push(format!(
                "{name}: FIFO, {} message group{}: each group's messages in order, to one consumer \
                 at a time",
                thousands(u64::from(g)),
                if g == 1 { "" } else { "s" }
            ));
        }
        let run = &m.run;
        if run.still_queued > 0 {
            flow.lines.push(format!(
                "{name}: still queued at the end: {} of the run's {} messages",
                thousands(run.still_queued),
                thousands(run.accepted)
            ));
        }
    }
    let has_log = queues.iter().any(|(_, m)| m.log.is_some());
    flow.notes = vec![
        "depth: messages held (waiting or in process), time-averaged".into(),
        "  peak: most held; empty: receives that returned no message".into(),
        "  oldest s: the longest a message waited to be taken (- when none was held)".into(),
        "  api $/h: the API calls' price per hour at the window's rate".into(),
    ];
    if has_log {
        flow.notes.push(
            "  a log's depth: its groups' lag (appended, not committed); receives: fetches".into(),
        );
    }
    let mut latency = Section::new("Messages, sent to processed (ms)");
    latency.grid = Some(Grid {
        head: latency_head("message ms"),
        rows: queues
            .iter()
            .map(|(name, m)| match &m.end_to_end_ms {
                Some(l) => latency_cells(name, l),
                None => {
                    let mut row = vec![(*name).clone()];
                    row.extend(std::iter::repeat_n("-".to_string(), 6));
                    row.push("none processed".into());
                    row
                }
            })
            .collect(),
    });
    let mut out = vec![flow, latency];
    out.extend(partitions(&queues));
    out
}

/// "Partitions": per log and consumer group, the lag of each partition at the run's end and
/// at its peak, with its records per second; the 10 most lagging when there are more.
fn partitions(queues: &[(&String, &crate::report::messages::MessageSummary)]) -> Option<Section> {
    /// Partitions listed per group; summary.json has them all.
    const SHOWN: usize = 10;
    let mut rows = Vec::new();
    let mut lines = Vec::new();
    let mut hidden = false;
    for (name, m) in queues {
        let Some(log) = &m.log else {
            continue;
        };
        for (group, lag) in &log.groups {
            if let Some(line) = hot_partition(name, group, log, lag) {
                lines.push(line);
            }
            let mut order: Vec<usize> = (0..lag.partition_lag.len()).collect();
            order.sort_by_key(|&k| (std::cmp::Reverse(lag.partition_lag[k]), k));
            hidden |= order.len() > SHOWN;
            order.truncate(SHOWN);
            order.sort_unstable();
            for k in order {
                rows.push(vec![
                    format!("{name} → {group}"),
                    k.to_string(),
                    rate(log.appended_per_s[k]),
                    thousands(lag.partition_peak_lag[k]),
                    thousands(lag.partition_lag[k]),
                ]);
            }
        }
    }
    if rows.is_empty() {
        return None;
    }
    let mut s = Section::new("Partitions");
    s.lines = lines;
    s.grid = Some(Grid {
        head: [
            "log → group",
            "partition",
            "records/s",
            "peak lag",
            "lag at end",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    });
    s.notes = vec!["lag: records appended and not yet committed by the group".into()];
    if hidden {
        s.notes.push(format!(
            "  the {SHOWN} most lagging partitions per group; summary.json has all"
        ));
    }
    Some(s)
}

/// A line when one partition holds nearly all of a group's lag (90 % of at least 1,000
/// records): a hot key, which no number of members spreads.
fn hot_partition(
    name: &str,
    group: &str,
    log: &crate::report::log_messages::LogSummary,
    lag: &crate::report::log_messages::GroupLag,
) -> Option<String> {
    let (k, &worst) = lag
        .partition_lag
        .iter()
        .enumerate()
        .max_by_key(|&(k, l)| (*l, std::cmp::Reverse(k)))?;
    if worst < 1_000 || (worst as f64) < 0.9 * lag.lag as f64 {
        return None;
    }
    let total: f64 = log.appended_per_s.iter().sum();
    let share = if total > 0.0 {
        100.0 * log.appended_per_s[k] / total
    } else {
        0.0
    };
    Some(format!(
        "{name} → {group}: partition {k} holds {:.0} % of the lag; it takes {:.0} % of the \
         records and one member reads it, however many the group has (a hot key)",
        100.0 * worst as f64 / lag.lag as f64,
        share
    ))
}

/// A line for each queue whose consumers fall behind: a limit no machine's utilisation shows
/// when it is a FIFO queue's message groups.
pub(crate) fn falling_behind(r: &Results) -> Vec<String> {
    let mut out = Vec::new();
    for name in &r.component_order {
        let Some(m) = r
            .components
            .get(name)
            .and_then(|c| c.queue())
            .map(|q| &q.messages)
        else {
            continue;
        };
        if !m.falling_behind() {
            continue;
        }
        let why = match m.fifo_message_groups {
            Some(g) => format!(
                "a FIFO queue of {} message group{}: at most {} message{} processed at once \
                 whatever the consumers (more message_groups, if the order allows)",
                thousands(u64::from(g)),
                if g == 1 { "" } else { "s" },
                thousands(u64::from(g)),
                if g == 1 { "" } else { "s" }
            ),
            None => "its consumers cannot keep up".into(),
        };
        out.push(format!(
            "  {name} falls behind: processed {}/s of {}/s sent; {why}",
            rate(m.processed_per_s),
            rate(m.sent_per_s)
        ));
    }
    out
}
