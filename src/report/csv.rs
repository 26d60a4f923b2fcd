//! `timeseries.csv`: one row per interval; columns fixed by the scenario so files diff well.

use crate::report::Results;
use std::fmt::Write;

/// Renders the time series with a header row.
pub fn render(r: &Results) -> String {
    let mut out = String::from(
        "t_start_s,t_end_s,started,completed,throughput_rps,p50_ms,p99_ms,rejected,timed_out,failed",
    );
    for name in &r.component_order {
        let _ = write!(out, ",{name}_utilisation");
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
            "{},{},{},{},{:.3},{:.3},{:.3},{},{},{}",
            row.start.as_secs(),
            row.end.as_secs(),
            row.started,
            e.completed,
            throughput,
            row.p50_ms,
            row.p99_ms,
            e.rejected(),
            e.timed_out,
            e.failed()
        );
        for u in &row.utilisation {
            let _ = write!(out, ",{u:.4}");
        }
        out.push('\n');
    }
    out
}
