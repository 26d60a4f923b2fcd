//! The capacity search's terminal table, and the texts it shares with the command's messages
//! (objectives, loads, figures rounded to their uncertainty). Pure.

use crate::model::slo::Slo;
use crate::report::{self, Results};
use crate::study::capacity::{Axis, Estimate, Found};
use std::fmt::Write as _;

/// `p99_ms ≤ 200`.
pub(crate) fn objective_text(s: &Slo) -> String {
    let figure = match &s.class {
        Some(c) => format!("classes.{c}.{}", s.metric.name()),
        None => s.metric.name().to_string(),
    };
    let sign = if s.metric.is_floor() { "≥" } else { "≤" };
    format!("{figure} {sign} {}", s.limit)
}

/// A load as tried: whole users, or a rate with one decimal.
pub(crate) fn load_text(axis: Axis, load: f64) -> String {
    rounded(load, if axis == Axis::Users { 10.0 } else { 1.0 })
}

/// `x` rounded to the digits that `uncertainty` leaves meaningful (two significant digits
/// of it), with thousands separators.
pub(crate) fn rounded(x: f64, uncertainty: f64) -> String {
    let digits = if uncertainty > 0.0 && uncertainty.is_finite() {
        (1 - uncertainty.log10().floor() as i32).max(0) as usize
    } else {
        0
    };
    let text = format!("{x:.digits$}");
    let (whole, frac) = text.split_once('.').unwrap_or((&text, ""));
    let whole = whole
        .parse::<u64>()
        .map_or(whole.to_string(), crate::report::sections::thousands);
    if frac.is_empty() {
        whole
    } else {
        format!("{whole}.{frac}")
    }
}

pub(crate) fn render_table(
    name: &str,
    axis: Axis,
    slos: &[Slo],
    estimate: &Estimate,
    found: &[Found],
    at: &Results,
) -> String {
    let mut out = String::new();
    let objectives: Vec<String> = slos.iter().map(objective_text).collect();
    let _ = writeln!(
        out,
        "capacity of {} · {} · {} seeds",
        report::table::fit(name, 40),
        axis.name(),
        found.len()
    );
    let _ = writeln!(out, "objectives: {}", objectives.join(", "));
    let unit = match axis {
        Axis::Users => "users",
        Axis::RatePerS => "requests/s",
    };
    let i = &estimate.interval;
    let half = estimate.half_width();
    if found.iter().any(|f| f.unbounded) {
        // The search stopped at its limit with the objectives still met: a floor, no ±.
        let _ = writeln!(
            out,
            "capacity: at least {} {unit} (the objectives still held at the largest load \
             tried)",
            rounded(i.min, half.max(1.0))
        );
    } else {
        let _ = writeln!(
            out,
            "capacity: {} {unit} ± {} (95% interval {} to {})",
            rounded(i.mean, half),
            rounded(half, half),
            rounded((i.mean - half).max(0.0), half),
            rounded(i.mean + half, half)
        );
    }
    if estimate.resolution >= i.half_width_95 {
        let _ = writeln!(
            out,
            "± half the search's coarsest step ({}), wider than the seeds' spread: lower\n  \
             --precision for a finer answer",
            rounded(estimate.resolution * 2.0, half)
        );
    } else {
        let _ = writeln!(
            out,
            "± the seeds' 95% interval (Student t); each search resolved its load to {}",
            rounded(estimate.resolution * 2.0, half)
        );
    }
    let _ = writeln!(
        out,
        "one run at {} (seed {}): {} req/s · goodput {} req/s · p99 {}\n  errors {:.3}% · \
         {:.2}/h",
        rounded(i.mean, half),
        at.seed,
        report::sections::rate(at.throughput_rps),
        report::sections::rate(at.goodput_rps),
        at.latency_ms
            .p99
            .map_or(report::NO_LATENCY.to_string(), |p| format!("{p:.1} ms")),
        at.error_rate * 100.0,
        at.cost_per_hour
    );
    match &at.bottleneck {
        Some(b) => {
            let _ = writeln!(
                out,
                "bottleneck at capacity: {} ({} {:.0}%)",
                b.place(),
                b.resource,
                b.utilisation * 100.0
            );
        }
        None => {
            let _ = writeln!(out, "bottleneck at capacity: none measured");
        }
    }
    for line in queue_lines(at) {
        let _ = writeln!(out, "{line}");
    }
    out
}

/// A line per queue of the run at capacity: its rates, backlog and oldest message, and a
/// warning when its consumers fall behind (a backlog that grows with the run's length, which
/// objectives about the users do not see).
fn queue_lines(at: &Results) -> Vec<String> {
    let mut out = Vec::new();
    for name in &at.component_order {
        let Some(q) = at.components.get(name).and_then(|c| c.queue()) else {
            continue;
        };
        let m = &q.messages;
        out.push(format!(
            "queue {name}: sent {}/s · processed {}/s · still queued at the end {} · oldest {}",
            report::sections::rate(m.sent_per_s),
            report::sections::rate(m.processed_per_s),
            report::sections::thousands(m.run.still_queued),
            m.max_age_s.map_or("-".into(), |a| format!("{a:.1} s"))
        ));
        if m.falling_behind() {
            out.push(format!(
                "  falling behind: its backlog grows for as long as the run lasts, so this \
                 capacity depends on duration_s (its consumers manage about {} messages/s)",
                report::sections::rate(m.processed_per_s)
            ));
        }
    }
    out
}
