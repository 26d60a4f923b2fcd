//! Comparisons: several scenarios run with the same seed, their headline figures side by side
//! with each one's change against the first. Pure: takes a `SweepSummary` whose one parameter
//! is the scenario, and returns the terminal table.

use crate::report::sweep::{PointIntervals, SweepPoint, SweepSummary, plain};
use crate::report::table::fit;
use std::fmt::Write;

/// Width of the figure-name column and of each scenario's column.
const NAME_WIDTH: usize = 16;

/// The table: one row per figure, one column per scenario, and for every scenario after the
/// first its change against the first in percent (`+64.6%`), marked `*` when it is 10 % or
/// more. Columns that do not fit in 80 are dropped with a note (the JSON has them all).
pub fn render_table(s: &SweepSummary) -> String {
    let mut out = String::new();
    let names: Vec<String> = s
        .points
        .iter()
        .map(|p| p.values.first().map_or(String::new(), plain))
        .collect();
    let column = (80 - NAME_WIDTH) / names.len().clamp(1, 3) - 1;
    let shown = names.len().min(3);
    let seeds = match s.points.iter().find_map(|p| p.ci95.as_ref()) {
        Some(ci) => format!("means ± 95% over {} seeds from {}", ci.replications, s.seed),
        None => format!("seed {}", s.seed),
    };
    let _ = writeln!(
        out,
        "comparison of {} scenarios · {seeds} · change against the first",
        names.len(),
    );
    let _ = writeln!(out);
    let mut header = format!("{:<NAME_WIDTH$}", "figure");
    for name in names.iter().take(shown) {
        let _ = write!(header, " {:>column$}", fit(name, column));
    }
    let _ = writeln!(out, "{header}");
    type Figure = fn(&SweepPoint) -> f64;
    type HalfWidth = fn(&PointIntervals) -> f64;
    let rows: [(&str, Figure, Option<HalfWidth>, usize); 8] = [
        (
            "throughput_rps",
            |p| p.throughput_rps,
            Some(|c| c.throughput_rps),
            1,
        ),
        ("p50_ms", |p| p.p50_ms, Some(|c| c.p50_ms), 2),
        ("p99_ms", |p| p.p99_ms, Some(|c| c.p99_ms), 2),
        (
            "error_rate_%",
            |p| p.error_rate * 100.0,
            Some(|c| c.error_rate * 100.0),
            3,
        ),
        (
            "availability_%",
            |p| p.availability * 100.0,
            Some(|c| c.availability * 100.0),
            3,
        ),
        ("writes_lost", |p| p.writes_lost as f64, None, 0),
        ("cost_per_hour", |p| p.cost_per_hour, None, 2),
        (
            "bottleneck_%",
            |p| p.bottleneck_utilisation * 100.0,
            None,
            0,
        ),
    ];
    for (label, figure, half_width, decimals) in rows {
        let mut line = format!("{label:<NAME_WIDTH$}");
        let base = s.points.first().map_or(0.0, figure);
        for (i, p) in s.points.iter().take(shown).enumerate() {
            let x = figure(p);
            let spread = match (half_width, &p.ci95) {
                (Some(h), Some(ci)) => format!("±{:.decimals$}", h(ci)),
                _ => String::new(),
            };
            let cell = if i == 0 {
                format!("{x:.decimals$}{spread}")
            } else {
                format!("{x:.decimals$}{spread} {}", change(base, x))
            };
            let _ = write!(line, " {:>column$}", fit(&cell, column));
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
    if names.len() > shown {
        let _ = writeln!(
            out,
            "({} more scenarios in compare.json; 80 columns show three)",
            names.len() - shown
        );
    }
    out
}

/// `(+64.6%)` against `base`, with a `*` from 10 % up; `(=)` when equal; `(new)` from zero.
fn change(base: f64, x: f64) -> String {
    if x == base {
        "(=)".to_string()
    } else if base == 0.0 {
        "(new)".to_string()
    } else {
        let pct = (x - base) / base.abs() * 100.0;
        let mark = if pct.abs() >= 10.0 { "*" } else { "" };
        format!("({pct:+.1}%{mark})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_relative_to_the_first_and_big_ones_are_marked() {
        assert_eq!(change(100.0, 164.6), "(+64.6%*)");
        assert_eq!(change(100.0, 95.0), "(-5.0%)");
        assert_eq!(change(2.0, 2.0), "(=)");
        assert_eq!(change(0.0, 1.0), "(new)");
    }
}
