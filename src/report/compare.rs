//! Comparisons: several scenarios run with the same seed, their headline figures side by side
//! with each one's change against the first. Pure: takes a `SweepSummary` whose one parameter
//! is the scenario, and returns the terminal table.

use crate::report::sweep::{PointIntervals, SweepPoint, SweepSummary, plain};
use crate::report::table::fit;
use std::fmt::Write;

/// Width of the figure-name column.
const NAME_WIDTH: usize = 17;
/// Most designs side by side in 80 columns.
const SHOWN: usize = 3;

/// How a figure's change against the first design reads.
#[derive(Clone, Copy, PartialEq)]
enum Change {
    /// Relative, in percent (`+64.6%`), marked `*` from 10 %.
    Relative,
    /// A share already in percent: the difference in percentage points (`+3.2 pp`), marked
    /// `*` from 1 point.
    Points,
}

type Figure = fn(&SweepPoint) -> Option<f64>;
type HalfWidth = fn(&PointIntervals) -> Option<f64>;

/// One row: label, figure, its half-width when replicated, decimals, how changes read, and
/// whether it is a latency (marked `!` where more than 1 % of requests failed).
struct Row {
    label: &'static str,
    figure: Figure,
    half_width: Option<HalfWidth>,
    decimals: usize,
    change: Change,
    latency: bool,
}

const ROWS: [Row; 10] = [
    Row {
        label: "throughput_rps",
        figure: |p| Some(p.throughput_rps),
        half_width: Some(|c| Some(c.throughput_rps)),
        decimals: 1,
        change: Change::Relative,
        latency: false,
    },
    Row {
        label: "goodput_rps",
        figure: |p| Some(p.goodput_rps),
        half_width: Some(|c| Some(c.goodput_rps)),
        decimals: 1,
        change: Change::Relative,
        latency: false,
    },
    Row {
        label: "p50_ms",
        figure: |p| p.p50_ms,
        half_width: Some(|c| c.p50_ms),
        decimals: 2,
        change: Change::Relative,
        latency: true,
    },
    Row {
        label: "p99_ms",
        figure: |p| p.p99_ms,
        half_width: Some(|c| c.p99_ms),
        decimals: 2,
        change: Change::Relative,
        latency: true,
    },
    Row {
        label: "error_rate_%",
        figure: |p| Some(p.error_rate * 100.0),
        half_width: Some(|c| Some(c.error_rate * 100.0)),
        decimals: 3,
        change: Change::Points,
        latency: false,
    },
    Row {
        label: "availability_%",
        figure: |p| Some(p.availability * 100.0),
        half_width: Some(|c| Some(c.availability * 100.0)),
        decimals: 3,
        change: Change::Points,
        latency: false,
    },
    Row {
        label: "writes_lost",
        figure: |p| Some(p.writes_lost as f64),
        half_width: None,
        decimals: 0,
        change: Change::Relative,
        latency: false,
    },
    Row {
        label: "cost_per_hour",
        figure: |p| Some(p.cost_per_hour),
        half_width: None,
        decimals: 2,
        change: Change::Relative,
        latency: false,
    },
    Row {
        label: "cost_per_1000_rps",
        figure: |p| p.cost_per_1000_rps,
        half_width: None,
        decimals: 3,
        change: Change::Relative,
        latency: false,
    },
    Row {
        label: "bottleneck_%",
        figure: |p| Some(p.bottleneck_utilisation * 100.0),
        half_width: None,
        decimals: 0,
        change: Change::Points,
        latency: false,
    },
];

/// The table: one row per figure, one column per design (numbered, with a legend of their
/// full names below, so two designs never print alike), and for every design after the
/// first its change against the first. Columns that do not fit in 80 are dropped with a
/// note (the JSON and CSV have them all).
pub(crate) fn render_table(s: &SweepSummary) -> String {
    let mut out = String::new();
    let names: Vec<String> = s
        .points
        .iter()
        .map(|p| p.values.first().map_or(String::new(), plain))
        .collect();
    let shown = names.len().min(SHOWN);
    let column = (80 - NAME_WIDTH) / shown.max(1) - 1;
    let seeds = match s.points.iter().find_map(|p| p.ci95.as_ref()) {
        Some(ci) => format!("means ± 95% over {} seeds from {}", ci.replications, s.seed),
        None => format!("seed {}", s.seed),
    };
    let _ = writeln!(
        out,
        "comparison of {} designs · {seeds} · change against [1]",
        names.len(),
    );
    let _ = writeln!(out);
    let mut header = format!("{:<NAME_WIDTH$}", "figure");
    for (i, name) in names.iter().take(shown).enumerate() {
        let label = format!("[{}] {name}", i + 1);
        let _ = write!(header, " {:>column$}", fit(&label, column));
    }
    let _ = writeln!(out, "{header}");
    let first = s.points.first();
    for row in &ROWS {
        let mut line = format!("{:<NAME_WIDTH$}", row.label);
        let base = first.and_then(row.figure);
        for (i, p) in s.points.iter().take(shown).enumerate() {
            let _ = write!(line, " {:>column$}", cell(row, p, base, i == 0, column));
        }
        let _ = writeln!(out, "{line}");
    }
    if s.points.iter().any(|p| p.longest_recovery_s.is_some()) {
        let mut line = format!("{:<NAME_WIDTH$}", "recovery_s");
        for p in s.points.iter().take(shown) {
            let cell = match (p.longest_recovery_s, p.unrecovered_faults) {
                (_, Some(n)) if n > 0 => "never".to_string(),
                (Some(s), _) => format!("{s:.1}"),
                _ => "-".to_string(),
            };
            let _ = write!(line, " {:>column$}", fit(&cell, column));
        }
        let _ = writeln!(out, "{line}");
    }
    let mut line = format!("{:<NAME_WIDTH$}", "bottleneck");
    for p in s.points.iter().take(shown) {
        let _ = write!(line, " {:>column$}", fit(&p.bottleneck, column));
    }
    let _ = writeln!(out, "{line}");
    let _ = writeln!(out);
    for (i, name) in names.iter().enumerate() {
        let _ = writeln!(out, "[{}] {name}", i + 1);
    }
    if names.len() > shown {
        let _ = writeln!(
            out,
            "(80 columns show [1] to [{shown}]; compare.json and compare.csv have all {})",
            names.len()
        );
    }
    for note in crate::report::sweep::latency_notes(&s.points[..shown]) {
        let _ = writeln!(out, "{note}");
    }
    if let Some(p) = s.points.first() {
        let _ = writeln!(
            out,
            "goodput: completed within {} ms (the first design's objective, or timeout)",
            crate::report::sections::secs(p.goodput_within_ms)
        );
    }
    let _ = writeln!(
        out,
        "changes: relative (*: 10% or more); percentages in points, pp (*: 1 point or more)"
    );
    out
}

/// The table of `compare --param`: a sweep's table in which each design is its number
/// (`[1]`, `[2]`, …), with a legend of their full names, so two never print alike however
/// narrow the column.
pub(crate) fn render_grid_table(s: &SweepSummary) -> String {
    let mut names: Vec<String> = Vec::new();
    let mut numbered = s.clone();
    for p in &mut numbered.points {
        let name = p.values.first().map_or(String::new(), plain);
        let k = match names.iter().position(|n| *n == name) {
            Some(k) => k,
            None => {
                names.push(name);
                names.len() - 1
            }
        };
        if let Some(v) = p.values.first_mut() {
            *v = serde_json::Value::String(format!("[{}]", k + 1));
        }
    }
    let mut out = numbered.render_table();
    for (k, name) in names.iter().enumerate() {
        let _ = writeln!(out, "[{}] {name}", k + 1);
    }
    out
}

/// One cell of at most `width` characters: the figure (± when replicated, `none` when
/// absent, `!` on a latency where many failed) and, after the first design, its change. A
/// number is never cut: what does not fit is left out, the change first, then the ±.
fn cell(row: &Row, p: &SweepPoint, base: Option<f64>, first: bool, width: usize) -> String {
    let d = row.decimals;
    let Some(x) = (row.figure)(p) else {
        return "none".into();
    };
    let spread = match (row.half_width, &p.ci95) {
        (Some(h), Some(ci)) => h(ci).map_or(String::new(), |h| format!("±{h:.d$}")),
        _ => String::new(),
    };
    let mark = if row.latency && p.flagged() { "!" } else { "" };
    let delta = match (first, base) {
        (true, _) => String::new(),
        (false, Some(b)) => format!(" {}", change(row.change, b, x)),
        (false, None) => " (new)".into(),
    };
    // Thousands separated, as in the run's table.
    let number = |x: f64| match d {
        0 if x >= 0.0 => crate::report::sections::thousands(x.round() as u64),
        1 => crate::report::sections::rate(x),
        _ => format!("{x:.d$}"),
    };
    let value = number(x);
    [
        format!("{value}{spread}{mark}{delta}"),
        format!("{value}{spread}{mark}"),
        format!("{value}{mark}"),
    ]
    .into_iter()
    .find(|c| c.chars().count() <= width)
    .unwrap_or(format!("{value}{mark}"))
}

/// `(+64.6%)` or `(+3.2 pp)` against `base`, with a `*` when big; `(=)` when equal; `(new)`
/// from a relative zero.
fn change(how: Change, base: f64, x: f64) -> String {
    if x == base {
        return "(=)".to_string();
    }
    match how {
        Change::Points => {
            let d = x - base;
            let mark = if d.abs() >= 1.0 { "*" } else { "" };
            format!("({d:+.1} pp{mark})")
        }
        Change::Relative if base == 0.0 => "(new)".to_string(),
        Change::Relative => {
            let pct = (x - base) / base.abs() * 100.0;
            let mark = if pct.abs() >= 10.0 { "*" } else { "" };
            format!("({pct:+.1}%{mark})")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_relative_to_the_first_and_big_ones_are_marked() {
        assert_eq!(change(Change::Relative, 100.0, 164.6), "(+64.6%*)");
        assert_eq!(change(Change::Relative, 100.0, 95.0), "(-5.0%)");
        assert_eq!(change(Change::Relative, 2.0, 2.0), "(=)");
        assert_eq!(change(Change::Relative, 0.0, 1.0), "(new)");
        // Shares change in points: 31 % → 100 % availability is +69 points, not +222 %.
        assert_eq!(change(Change::Points, 31.0, 100.0), "(+69.0 pp*)");
        assert_eq!(change(Change::Points, 0.2, 0.5), "(+0.3 pp)");
    }
}
