//! `timeseries.csv`: one row per interval (and one for the drain after the run's end);
//! columns fixed by the scenario so files diff well: totals, then every error reason, then
//! each component's utilisation, then each component's mean queue.

use crate::metrics::outcome::REJECT_REASONS;
use crate::report::Results;
use std::fmt::Write;

/// Renders the time series with a header row.
pub fn render(r: &Results) -> String {
    let mut out = String::from(
        "t_start_s,t_end_s,started,completed,throughput_rps,mean_ms,p50_ms,p90_ms,p99_ms,rejected,\
         timed_out,failed",
    );
    for reason in REJECT_REASONS {
        let _ = write!(out, ",rejected_{}", reason.name());
    }
    out.push_str(",failed_backend_down,failed_simulation_ended");
    for name in &r.component_order {
        let _ = write!(out, ",{name}_utilisation");
    }
    for name in &r.component_order {
        let _ = write!(out, ",{name}_mean_queue");
    }
    out.push('\n');
    for row in &r.timeseries {
        let span = (row.end - row.start).as_secs();
        let e = &row.ended;
        let throughput = if span > 0.0 {
            e.completed as f64 / span
        } else {
            0.0
        };
        let _ = write!(
            out,
            "{},{},{},{},{:.3},{:.3},{:.3},{:.3},{:.3},{},{},{}",
            row.start.as_secs(),
            row.end.as_secs(),
            row.started,
            e.completed,
            throughput,
            row.mean_ms,
            row.p50_ms,
            row.p90_ms,
            row.p99_ms,
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
        for l in &row.load {
            let _ = write!(out, ",{:.4}", l.utilisation);
        }
        for l in &row.load {
            let _ = write!(out, ",{:.3}", l.mean_queue);
        }
        out.push('\n');
    }
    out
}
