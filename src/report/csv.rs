//! `timeseries.csv`: one row per interval (and one for the drain after the run's end);
//! columns fixed by the scenario so files diff well: totals, then every error reason, then
//! each component's utilisation (and its busiest machine's, for a component of several),
//! then each component's mean queue. The latency columns of
//! an interval in which no request completed are empty, not 0.

use crate::metrics::outcome::REJECT_REASONS;
use crate::report::component::LoadShown;
use crate::report::{ComponentSummary, Results};
use std::fmt::Write;

/// Renders the time series with a header row.
pub(crate) fn render(r: &Results) -> String {
    let mut out = String::from(
        "t_start_s,t_end_s,started,completed,throughput_rps,goodput_rps,mean_ms,p50_ms,p90_ms,\
         p99_ms,rejected,timed_out,failed",
    );
    for reason in REJECT_REASONS {
        let _ = write!(out, ",rejected_{}", reason.name());
    }
    out.push_str(",failed_backend_down,failed_simulation_ended");
    for name in &r.component_order {
        let _ = write!(out, ",{name}_utilisation");
    }
    // Components of several machines: the busiest machine's too (a hot shard).
    let several = r.servers_where(|s| s.hottest_machine.is_some());
    for &i in &several {
        let _ = write!(out, ",{}_busiest_utilisation", r.component_order[i]);
    }
    for name in &r.component_order {
        let _ = write!(out, ",{name}_mean_queue");
    }
    // Queues: their messages held and the age of the oldest waiting.
    let queues: Vec<usize> = r
        .component_order
        .iter()
        .enumerate()
        .filter(|(_, n)| r.components.get(*n).is_some_and(|c| c.queue().is_some()))
        .map(|(i, _)| i)
        .collect();
    for &i in &queues {
        let name = &r.component_order[i];
        let _ = write!(out, ",{name}_mean_depth,{name}_oldest_age_s");
    }
    // Fleets: replicas billed over each interval, and what they cost per hour.
    let fleets: Vec<(usize, f64)> = r
        .component_order
        .iter()
        .enumerate()
        .filter_map(|(i, n)| {
            let k = r.components.get(n)?.server()?.scaling.as_ref()?;
            Some((i, k.replica_cost_per_hour))
        })
        .collect();
    for &(i, _) in &fleets {
        let name = &r.component_order[i];
        let _ = write!(out, ",{name}_replicas,{name}_cost_per_hour");
    }
    out.push('\n');
    let kinds: Vec<Option<LoadShown>> = r
        .component_order
        .iter()
        .map(|n| r.components.get(n).map(ComponentSummary::load_shown))
        .collect();
    for row in &r.timeseries {
        let span = (row.end - row.start).as_secs();
        let e = &row.ended;
        let per_s = |n: u64| if span > 0.0 { n as f64 / span } else { 0.0 };
        // No request completed in the interval: its latency is absent (an empty field).
        let ms = |x: Option<f64>| x.map_or(String::new(), |v| format!("{v:.3}"));
        let _ = write!(
            out,
            "{},{},{},{},{:.3},{:.3},{},{},{},{},{},{},{}",
            row.start.as_secs(),
            row.end.as_secs(),
            row.started,
            e.completed,
            per_s(e.completed),
            per_s(row.good),
            ms(row.mean_ms),
            ms(row.p50_ms),
            ms(row.p90_ms),
            ms(row.p99_ms),
            e.rejected(),
            e.timed_out,
            e.failed()
        );
        for reason in REJECT_REASONS {
            let _ = write!(out, ",{}", e.rejected_by[reason.index()]);
        }
        let _ = write!(
            out,
            ",{},{}",
            e.failed_backend_down, e.failed_simulation_ended
        );
        // A DNS has no utilisation, and only servers queue: those cells are empty.
        for (l, kind) in row.load.iter().zip(&kinds) {
            match kind {
                Some(LoadShown::Nothing) => out.push(','),
                Some(LoadShown::CpuAndQueue | LoadShown::ConnectionShare) | None => {
                    let _ = write!(out, ",{:.4}", l.utilisation);
                }
            }
        }
        for &i in &several {
            let busiest = row.load.get(i).map_or(0.0, |l| l.hottest_utilisation);
            let _ = write!(out, ",{busiest:.4}");
        }
        for (l, kind) in row.load.iter().zip(&kinds) {
            match kind {
                Some(LoadShown::CpuAndQueue) | None => {
                    let _ = write!(out, ",{:.3}", l.mean_queue);
                }
                Some(LoadShown::ConnectionShare | LoadShown::Nothing) => out.push(','),
            }
        }
        // No message waiting at the interval's end: its age is absent (an empty field).
        for &i in &queues {
            match row.load.get(i).and_then(|l| l.messages) {
                Some(m) => {
                    let age = m.oldest_age_s.map_or(String::new(), |a| format!("{a:.3}"));
                    let _ = write!(out, ",{:.3},{age}", m.mean_depth);
                }
                None => out.push_str(",,"),
            }
        }
        for &(i, price) in &fleets {
            match row.load.get(i).and_then(|l| l.replicas) {
                Some(n) => {
                    let _ = write!(out, ",{n:.3},{:.4}", n * price);
                }
                None => out.push_str(",,"),
            }
        }
        out.push('\n');
    }
    out
}
