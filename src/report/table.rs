//! The terminal summary: the run's sections (`sections`) laid out in 80 columns, ending by
//! naming the bottleneck. report.html renders the same sections.

use crate::report::Results;
use crate::report::sections::{self, Grid, secs};
use std::fmt::Write;

/// The table's width.
const WIDTH: usize = 80;

/// Shortens `s` to `n` characters by cutting its middle, so that names that differ only at
/// the end (`frontend-eu`, `frontend-us`) stay apart.
pub(crate) fn fit(s: &str, n: usize) -> String {
    let len = s.chars().count();
    if len <= n {
        return s.to_string();
    }
    let n = n.max(3);
    let head = (n - 1).div_ceil(2);
    let tail = n - 1 - head;
    let mut t: String = s.chars().take(head).collect();
    t.push('…');
    t.extend(s.chars().skip(len - tail));
    t
}

/// `text` wrapped at `WIDTH`, continuation lines indented by two: between its ` · `
/// separated items where it can (a label stays with its number), else between words.
fn wrapped(out: &mut String, text: &str) {
    let mut line = String::new();
    let mut push = |line: &mut String, piece: &str, sep: &str| {
        let len = line.chars().count();
        if len > 2 && len + sep.len() + piece.chars().count() > WIDTH {
            let _ = writeln!(out, "{}", line.trim_end());
            *line = format!("  {piece}");
        } else {
            if len > 0 {
                line.push_str(sep);
            }
            line.push_str(piece);
        }
    };
    for item in text.split(" · ") {
        let sep = if line.is_empty() { "" } else { " · " };
        let len = item.chars().count();
        // Whole on this line, or whole on the next: only an item longer than a line breaks.
        if line.chars().count() + sep.len() + len <= WIDTH || len + 2 <= WIDTH {
            push(&mut line, item, sep);
            continue;
        }
        for (i, word) in item.split(' ').enumerate() {
            push(&mut line, word, if i == 0 { sep } else { " " });
        }
    }
    let _ = writeln!(out, "{line}");
}

/// A grid in 80 columns: every column as wide as its widest cell, the first (names) cut in
/// the middle if the row would not fit, figures right-aligned.
fn grid(out: &mut String, g: &Grid) {
    let columns = g.head.len();
    let mut widths: Vec<usize> = (0..columns)
        .map(|i| {
            g.rows
                .iter()
                .filter_map(|r| r.get(i))
                .chain([&g.head[i]])
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let total = widths.iter().sum::<usize>() + columns.saturating_sub(1);
    if total > WIDTH {
        widths[0] = widths[0].saturating_sub(total - WIDTH).max(8);
    }
    let line = |cells: &[String]| {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i == 0 {
                let _ = write!(text, "{:<w$}", fit(cell, *w));
            } else {
                let _ = write!(text, " {:>w$}", fit(cell, *w));
            }
        }
        text.trim_end().to_string()
    };
    let _ = writeln!(out, "{}", line(&g.head));
    for row in &g.rows {
        let _ = writeln!(out, "{}", line(row));
    }
}

/// Renders the summary table.
pub(crate) fn render(r: &Results) -> String {
    let mut out = String::new();
    let how = r
        .warmup_auto
        .as_ref()
        .map_or(String::new(), |a| format!(" by {}", a.method));
    let tail = format!(
        "seed {} · {} s ({} s warm-up{how}) · {}",
        r.seed,
        secs(r.sim_time_s),
        secs(r.warmup_s),
        r.stop_reason
    );
    let room = WIDTH.saturating_sub(tail.chars().count() + 3);
    if room >= 12 {
        let _ = writeln!(out, "{} · {tail}", fit(&r.scenario, room));
    } else {
        let _ = writeln!(out, "{}\n{tail}", fit(&r.scenario, WIDTH));
    }
    if r.stop_reason == crate::StopReason::MaxEvents {
        let _ = writeln!(
            out,
            "stopped early by max_events: the figures cover {} s to {} s only",
            secs(r.warmup_s),
            secs(r.sim_time_s)
        );
    }
    for (i, s) in sections::of(r).iter().enumerate() {
        // The outcomes follow the heading line directly; every other section is set apart.
        if i > 0 {
            let _ = writeln!(out);
        }
        for l in &s.lines {
            wrapped(&mut out, l);
        }
        if let Some(g) = &s.grid {
            grid(&mut out, g);
        }
        for n in &s.notes {
            wrapped(&mut out, n);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_fits(table: &str) {
        for line in table.lines() {
            let n = line.chars().count();
            assert!(n <= WIDTH, "{n} columns: {line}\n{table}");
        }
    }

    /// Long names, a huge seed, fractional times and several refusal reasons still fit 80
    /// columns, and names that differ only at the end stay apart.
    #[test]
    fn fits_in_80_columns_and_keeps_long_names_apart() {
        let mut r = crate::report::fixtures::results();
        r.scenario = "a-rather-long-scenario-name-for-the-table-header-that-goes-on".into();
        r.seed = u64::MAX;
        (r.sim_time_s, r.warmup_s) = (3.25, 0.125);
        for (reason, n) in [("queue_full", 1_385_474), ("connection_limit", 1_385_462)] {
            r.requests.rejected_by.insert(reason.into(), n);
        }
        let classes = std::mem::take(&mut r.classes);
        for (k, (_, class)) in classes.into_iter().enumerate() {
            r.classes
                .insert(format!("a-very-long-class-name-{k}"), class);
        }
        let api = r.components.remove("api").expect("the fixture has an api");
        r.component_order.clear();
        for suffix in ["a", "b"] {
            let name = format!("the-frontend-service-with-a-long-name-{suffix}");
            r.components.insert(name.clone(), api.clone());
            r.component_order.push(name);
        }
        r.component_order.push("lb".into());
        let table = render(&r);
        assert_fits(&table);
        assert!(table.contains("queue_full"), "{table}");
        assert!(table.contains("connection_limit"), "{table}");
        let rows: Vec<&str> = table.lines().filter(|l| l.starts_with("the-fr")).collect();
        assert_eq!(rows.len(), 2, "{table}");
        let name = |row: &str| row.split_whitespace().next().unwrap_or("").to_string();
        assert_ne!(name(rows[0]), name(rows[1]), "{table}");
        assert!(table.contains("lb ") && table.contains(" - "), "{table}");
    }

    #[test]
    fn fit_keeps_both_ends() {
        assert_eq!(fit("short", 16), "short");
        assert_eq!(fit("frontend-service-eu", 10), "front…e-eu");
        assert_eq!(fit("frontend-service-eu", 10).chars().count(), 10);
    }

    #[test]
    fn long_sentences_wrap_under_an_indent() {
        let mut out = String::new();
        let items = "rejected: connection_limit 1,385,462, no_healthy_backend 799,995, \
                     out_of_memory 12, queue_full 1,385,474";
        wrapped(&mut out, items);
        assert_fits(&out);
        assert_eq!(out.lines().count(), 2, "{out}");
        assert!(out.lines().nth(1).unwrap().starts_with("  "), "{out}");
    }
}
