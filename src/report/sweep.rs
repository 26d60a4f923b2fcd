//! Sweeps side by side: `sweep.csv` and the terminal table of a `SweepSummary` (combined in
//! `study::sweep`). Pure: a summary in, text out.

use crate::report::table::fit;
pub(crate) use crate::study::sweep::{FLAG_ERROR_RATE, PointIntervals, SweepPoint, SweepSummary};
use std::fmt::Write;

impl SweepSummary {
    /// `sweep.csv`: one row per point, the parameters first; with replications, each
    /// figure's 95 % half-width at the end. Absent figures (no latency when no request
    /// completed) are empty fields.
    pub(crate) fn to_csv(&self) -> String {
        let replicated = self.points.iter().any(|p| p.ci95.is_some());
        let opt = |x: Option<f64>| x.map_or(String::new(), |v| v.to_string());
        let mut out = self.params.join(",");
        out.push_str(
            ",throughput_rps,goodput_rps,goodput_within_ms,error_rate,p50_ms,p99_ms,\
             cost_per_hour,cost_per_1000_rps,bottleneck,bottleneck_utilisation,stop_reason,\
             availability,writes_lost,longest_recovery_s,unrecovered_faults",
        );
        let queued = self.points.iter().any(|p| p.messages.is_some());
        if queued {
            out.push_str(",messages_processed_per_s,max_queue_age_s,messages_still_queued");
        }
        if replicated {
            out.push_str(
                ",replications,throughput_rps_ci95,goodput_rps_ci95,error_rate_ci95,\
                 p50_ms_ci95,p99_ms_ci95,availability_ci95",
            );
        }
        out.push('\n');
        for p in &self.points {
            for v in &p.values {
                let _ = write!(out, "{},", csv_field(&plain(v)));
            }
            let _ = write!(
                out,
                "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                p.throughput_rps,
                p.goodput_rps,
                p.goodput_within_ms,
                p.error_rate,
                opt(p.p50_ms),
                opt(p.p99_ms),
                p.cost_per_hour,
                opt(p.cost_per_1000_rps),
                csv_field(&p.bottleneck),
                p.bottleneck_utilisation,
                p.stop_reason,
                p.availability,
                p.writes_lost,
                opt(p.longest_recovery_s),
                p.unrecovered_faults
                    .map_or(String::new(), |n| n.to_string())
            );
            match &p.messages {
                Some(m) => {
                    let _ = write!(
                        out,
                        ",{},{},{}",
                        m.processed_per_s,
                        opt(m.max_queue_age_s),
                        m.still_queued
                    );
                }
                None if queued => out.push_str(",,,"),
                None => {}
            }
            if let Some(ci) = &p.ci95 {
                let _ = write!(
                    out,
                    ",{},{},{},{},{},{},{}",
                    ci.replications,
                    ci.throughput_rps,
                    ci.goodput_rps,
                    ci.error_rate,
                    opt(ci.p50_ms),
                    opt(ci.p99_ms),
                    ci.availability
                );
            } else if replicated {
                out.push_str(",1,,,,,,");
            }
            out.push('\n');
        }
        out
    }

    /// The terminal table, 80 columns: each parameter by its last path segment, then the
    /// headline figures (`±` half-widths when replicated) and the bottleneck (or, for a run
    /// that stopped early, why). Latency of a point where more than 1 % of requests failed
    /// is marked `!`, and absent latency reads `none`, each explained under the table.
    pub(crate) fn render_table(&self) -> String {
        let mut out = String::new();
        let points = self.points.len();
        let seeds = match self.points.iter().find_map(|p| p.ci95.as_ref()) {
            Some(ci) => format!(
                "means ± 95% of seeds {}…{}",
                self.seed,
                self.seed
                    .wrapping_add((ci.replications as u64).saturating_sub(1))
            ),
            None => format!("seed {}", self.seed),
        };
        let tail = format!(
            " · sweep of {points} point{} · {seeds}",
            if points == 1 { "" } else { "s" },
        );
        let room = WIDTH.saturating_sub(tail.chars().count()).max(8);
        let _ = writeln!(out, "{}{tail}", fit(&self.scenario, room));
        let _ = writeln!(out);
        let columns = figure_columns(&self.points);
        let mut figures: Vec<&FigureColumn> = columns.iter().collect();
        // Fit: the parameters get at least a short column each, the bottleneck 12.
        let params_min: usize = self.params.len() * 7;
        let width = |cols: &[&FigureColumn]| cols.iter().map(|c| c.width + 1).sum::<usize>();
        for optional in ["p50 ms", "msgs/s", "cost/h"] {
            if params_min + width(&figures) + 12 > WIDTH {
                figures.retain(|c| c.head != optional);
            }
        }
        let budget = WIDTH.saturating_sub(width(&figures) + 12);
        let share = (budget / self.params.len().max(1)).saturating_sub(1).max(3);
        let widths: Vec<usize> = self
            .params
            .iter()
            .enumerate()
            .map(|(i, path)| {
                let values = self
                    .points
                    .iter()
                    .map(|p| plain(&p.values[i]).chars().count());
                values
                    .chain([short(path).chars().count()])
                    .max()
                    .unwrap_or(1)
                    .min(share)
            })
            .collect();
        let mut header = String::new();
        for (path, w) in self.params.iter().zip(&widths) {
            let _ = write!(header, "{:>w$} ", fit(short(path), *w));
        }
        for c in &figures {
            let _ = write!(header, "{:>w$} ", c.head, w = c.width);
        }
        let room = WIDTH.saturating_sub(header.chars().count()).max(8);
        let _ = writeln!(out, "{header}bottleneck");
        for (k, p) in self.points.iter().enumerate() {
            let mut line = String::new();
            for (v, w) in p.values.iter().zip(&widths) {
                let _ = write!(line, "{:>w$} ", fit(&plain(v), *w));
            }
            for c in &figures {
                let _ = write!(line, "{:>w$} ", c.cells[k], w = c.width);
            }
            let last = if p.stop_reason == crate::StopReason::Completed {
                let pct = format!(" {:.0}%", p.bottleneck_utilisation * 100.0);
                let name = room.saturating_sub(pct.chars().count()).max(3);
                format!("{}{pct}", fit(&p.bottleneck, name))
            } else {
                fit(&format!("stopped: {}", p.stop_reason), room)
            };
            let _ = writeln!(out, "{line}{last}");
        }
        notes_under(&mut out, &self.points, &figures);
        out
    }
}

/// The table's width.
const WIDTH: usize = 80;

/// One figure column of the sweep table: its heading, its cells and their width.
struct FigureColumn {
    head: &'static str,
    cells: Vec<String>,
    width: usize,
}

/// `x` with `digits` decimals (a rate of one decimal with thousands separated), and `±h`
/// when replicated.
fn with_spread(x: f64, h: Option<f64>, digits: usize) -> String {
    let number = |v: f64| match digits {
        1 => crate::report::sections::rate(v),
        _ => format!("{v:.digits$}"),
    };
    match h {
        Some(h) => format!("{}±{}", number(x), number(h)),
        None => number(x),
    }
}

/// A latency cell: `none` when absent, `!` when the point lost more than 1 %.
fn latency_cell(p: &SweepPoint, x: Option<f64>, h: Option<f64>) -> String {
    match x {
        None => "none".into(),
        Some(x) => {
            let mark = if p.flagged() { "!" } else { "" };
            format!("{}{mark}", with_spread(x, h, 1))
        }
    }
}

fn figure_columns(points: &[SweepPoint]) -> Vec<FigureColumn> {
    type Cell = fn(&SweepPoint) -> String;
    let specs: [(&'static str, Cell); 6] = [
        ("rps", |p| {
            with_spread(
                p.throughput_rps,
                p.ci95.as_ref().map(|c| c.throughput_rps),
                1,
            )
        }),
        ("good/s", |p| {
            with_spread(p.goodput_rps, p.ci95.as_ref().map(|c| c.goodput_rps), 1)
        }),
        ("p50 ms", |p| {
            latency_cell(p, p.p50_ms, p.ci95.as_ref().and_then(|c| c.p50_ms))
        }),
        ("p99 ms", |p| {
            latency_cell(p, p.p99_ms, p.ci95.as_ref().and_then(|c| c.p99_ms))
        }),
        ("err %", |p| {
            with_spread(
                p.error_rate * 100.0,
                p.ci95.as_ref().map(|c| c.error_rate * 100.0),
                2,
            )
        }),
        ("cost/h", |p| format!("{:.2}", p.cost_per_hour)),
    ];
    let queues: [(&'static str, Cell); 2] = [
        ("msgs/s", |p| {
            p.messages.as_ref().map_or("-".into(), |m| {
                crate::report::sections::rate(m.processed_per_s)
            })
        }),
        ("q age s", |p| match &p.messages {
            Some(m) => m.max_queue_age_s.map_or("-".into(), |a| format!("{a:.1}")),
            None => "-".into(),
        }),
    ];
    let has_queues = points.iter().any(|p| p.messages.is_some());
    specs
        .iter()
        .chain(queues.iter().filter(|_| has_queues))
        .map(|&(head, cell)| {
            let cells: Vec<String> = points.iter().map(cell).collect();
            let width = cells
                .iter()
                .map(|c| c.chars().count())
                .chain([head.chars().count()])
                .max()
                .unwrap_or(1);
            FigureColumn { head, cells, width }
        })
        .collect()
}

/// The lines under a sweep table explaining its marks, when it has any.
fn notes_under(out: &mut String, points: &[SweepPoint], figures: &[&FigureColumn]) {
    let shown = |head: &str| figures.iter().any(|c| c.head == head);
    let mut within: Vec<f64> = points.iter().map(|p| p.goodput_within_ms).collect();
    within.sort_by(f64::total_cmp);
    within.dedup();
    let good = match within[..] {
        [ms] => format!(
            "good/s: completed within {} ms (the p99 objective, else the timeout)",
            crate::report::sections::secs(ms)
        ),
        _ => "good/s: completed within each point's p99 objective (else its timeout)".into(),
    };
    let _ = writeln!(
        out,
        "rps: requests completed per second (throughput_rps)\n{good}"
    );
    for note in latency_notes(points) {
        let _ = writeln!(out, "{note}");
    }
    if shown("msgs/s") {
        let _ = writeln!(out, "msgs/s: messages processed per second (all queues)");
    }
    if shown("q age s") {
        let _ = writeln!(out, "q age s: the longest a message waited in a queue");
    }
    let has_queues = points.iter().any(|p| p.messages.is_some());
    let hidden: Vec<&str> = ["p50 ms", "msgs/s", "cost/h"]
        .into_iter()
        .filter(|h| !shown(h) && (*h != "msgs/s" || has_queues))
        .collect();
    if !hidden.is_empty() {
        let _ = writeln!(
            out,
            "({} left out to fit 80 columns: see sweep.csv)",
            hidden.join(" and ")
        );
    }
}

/// What the marks on latency cells mean, for the points that have them: `!` (many failed)
/// and `none` (nothing completed). Shared by sweep and compare tables.
pub(crate) fn latency_notes(points: &[SweepPoint]) -> Vec<String> {
    let mut notes = Vec::new();
    if points
        .iter()
        .any(|p| p.flagged() && (p.p50_ms.is_some() || p.p99_ms.is_some()))
    {
        notes.push(format!(
            "! more than {:.0}% of requests failed: the latency is that of the few that \
             completed",
            FLAG_ERROR_RATE * 100.0
        ));
    }
    if points
        .iter()
        .any(|p| p.p99_ms.is_none() || p.p50_ms.is_none())
    {
        notes.push("none: no request completed, so there is no latency".into());
    }
    notes
}

/// The last segment of a dotted path: `workload.model.closed.users` → `users`.
pub(crate) fn short(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}

/// A JSON value as a user wrote it: strings without quotes.
pub(crate) fn plain(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Quotes a CSV field when it holds a comma, a quote or a line break.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Results;
    use serde_json::json;

    fn run(rate: f64) -> Results {
        let text = format!(
            r#"{{"name": "sweep", "duration_s": 5, "warmup_s": 1,
            "workload": {{"model": {{"open": {{"rate_per_s": {rate}}}}}, "entry": "api"}},
            "components": {{"api": {{"kind": "service", "machine": {{"cores": 1}},
                "workers": 1, "queue_capacity": 100000,
                "handlers": {{"default": [{{"cpu_ms": {{"exponential": {{"mean_ms": 1}}}}}}]}}}}}}}}"#
        );
        crate::run(crate::scenario::load(&text).unwrap(), &mut |_| {})
    }

    /// Rows follow the grid, figures come from each run, and the table fits 80 columns.
    #[test]
    fn one_row_per_point_with_its_figures() {
        let points: Vec<(Vec<serde_json::Value>, Vec<Results>)> = [200.0, 800.0]
            .into_iter()
            .map(|rate| (vec![json!(rate)], vec![run(rate)]))
            .collect();
        let s = SweepSummary::of(
            "sweep",
            1,
            &["workload.model.open.rate_per_s".into()],
            points.clone(),
        );
        assert_eq!(s.points.len(), 2);
        assert_eq!(s.points[1].p99_ms, points[1].1[0].latency_ms.p99);
        assert!(
            s.points[1].p99_ms > s.points[0].p99_ms,
            "more load, longer tail"
        );
        let table = s.render_table();
        for line in table.lines() {
            assert!(line.chars().count() <= 80, "{line}");
        }
        assert!(table.contains("rate_per_s"), "{table}");
        // Four parameters with long values and a huge seed still fit.
        let long: Vec<(Vec<serde_json::Value>, Vec<Results>)> = points
            .iter()
            .map(|(_, r)| {
                (
                    vec![json!("a-rather-long-value-for-a-column"); 4],
                    r.clone(),
                )
            })
            .collect();
        let params: Vec<String> = (0..4)
            .map(|i| format!("components.api.field_{i}"))
            .collect();
        let wide = SweepSummary::of(&"n".repeat(60), u64::MAX, &params, long);
        for line in wide.render_table().lines() {
            assert!(line.chars().count() <= 80, "{line}");
        }
        let csv = s.to_csv();
        assert!(csv.starts_with("workload.model.open.rate_per_s,throughput_rps,"));
        assert_eq!(csv.lines().count(), 3);
        assert!(csv.lines().nth(2).unwrap().starts_with("800.0,"), "{csv}");
        assert!(!csv.contains("max_queue_age_s") && !table.contains("q age"));
    }

    /// A queue's backlog is in the sweep: one loop of 10 ms (and two 0.1 ms calls to the
    /// broker) manages 98 messages/s; at 150/s
    /// for 5 s the backlog reaches about 50 × 5 = 250 messages, 2.5 s of work, where 50/s
    /// keeps none.
    #[test]
    fn a_queue_backlog_shows_in_the_sweep() {
        let run = |rate: f64| {
            let text = format!(
                r#"{{"name": "q", "duration_s": 6, "warmup_s": 1,
                "network": {{"client_link": {{"latency_ms": {{"constant": {{"ms": 0}}}}}},
                    "default_link": {{"latency_ms": {{"constant": {{"ms": 0}}}}}}}},
                "workload": {{"model": {{"open": {{"rate_per_s": {rate}}}}}, "entry": "api",
                    "classes": {{"default": {{}}, "work": {{"weight": 0}}}}}},
                "components": {{
                  "api": {{"kind": "service", "machine": {{"cores": 4}},
                    "handlers": {{"default": [{{"send": {{"queue": "q", "message": "work"}}}}]}}}},
                  "q": {{"kind": "queue", "machine": {{"cores": 1}}}},
                  "w": {{"kind": "service", "machine": {{"cores": 1}}, "workers": 1,
                    "consumes": {{"queue": "q"}},
                    "handlers": {{"default": [{{"cpu_ms": {{"constant": {{"ms": 10}}}}}}]}}}}}}}}"#
            );
            crate::run(crate::scenario::load(&text).unwrap(), &mut |_| {})
        };
        let points = [50.0, 150.0]
            .into_iter()
            .map(|rate| (vec![json!(rate)], vec![run(rate)]))
            .collect();
        let s = SweepSummary::of("q", 1, &["workload.model.open.rate_per_s".into()], points);
        let age = |i: usize| {
            s.points[i]
                .messages
                .as_ref()
                .and_then(|m| m.max_queue_age_s)
                .unwrap()
        };
        assert!(age(0) < 0.5, "{}", age(0));
        assert!((1.5..4.0).contains(&age(1)), "{}", age(1));
        let behind = s.points[1].messages.as_ref().unwrap();
        assert!(behind.still_queued > 100, "{behind:?}");
        assert!(
            (95.0..=99.0).contains(&behind.processed_per_s),
            "{behind:?}"
        );
        let table = s.render_table();
        assert!(table.contains("q age s"), "{table}");
        for line in table.lines() {
            assert!(line.chars().count() <= 80, "{line}");
        }
        let csv = s.to_csv();
        let head: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
        let at = head.iter().position(|h| *h == "max_queue_age_s").unwrap();
        let row: Vec<&str> = csv.lines().nth(2).unwrap().split(',').collect();
        assert_eq!(row[at].parse::<f64>().unwrap(), age(1));
    }
}
