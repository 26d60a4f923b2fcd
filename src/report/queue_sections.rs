//! The report's sections on queues (part of `sections`): what each queue's messages did, and
//! how long they took from send to processed. Absent when the scenario has no queue. Pure.

use crate::report::sections::{Grid, Section, latency_cells, rate, thousands};
use crate::report::{ComponentSummary, Results};

/// "Queues" (flow and depth per queue, and what went wrong) and "Messages, sent to
/// processed" (end-to-end latency per queue).
pub(crate) fn queues(r: &Results) -> Vec<Section> {
    let queues: Vec<_> = r
        .component_order
        .iter()
        .filter_map(|name| match r.components.get(name) {
            Some(ComponentSummary::Queue(q)) => Some((name, &q.messages)),
            _ => None,
        })
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
                    thousands(m.receives),
                    thousands(m.empty_receives),
                    m.api_cost_per_hour
                        .map_or("-".into(), |c| format!("{c:.2}")),
                ]
            })
            .collect(),
    });
    for (name, m) in &queues {
        let troubles = [
            (m.refused, "sends refused"),
            (m.redelivered, "redelivered (visibility timeout)"),
            (m.duplicates, "processed again (duplicates)"),
            (m.failed_processing, "failed processing"),
            (m.dead_lettered, "dead-lettered"),
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
        let run = &m.run;
        if run.still_queued > 0 {
            flow.lines.push(format!(
                "{name}: {} of the run's {} messages were still queued at the end",
                thousands(run.still_queued),
                thousands(run.accepted)
            ));
        }
    }
    flow.notes = vec![
        "depth: messages held (waiting or in process), time-averaged".into(),
        "  peak: most held; empty: receives that returned no message".into(),
        "  api $/h: the API calls' price per hour at the window's rate".into(),
    ];
    let mut latency = Section::new("Messages, sent to processed (ms)");
    latency.grid = Some(Grid {
        head: [
            "message ms",
            "mean",
            "p50",
            "p90",
            "p99",
            "p99.9",
            "max",
            "samples",
        ]
        .map(String::from)
        .to_vec(),
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
    vec![flow, latency]
}
