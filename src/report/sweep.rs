//! Sweeps: one run per point of a parameter grid, side by side — `sweep.json`, `sweep.csv`
//! and a terminal table. Pure: takes the grid and the runs' `Results`, returns text.

use crate::metrics::confidence::Interval;
use crate::report::table::fit;
use crate::report::{Results, round};
use serde::Serialize;
use std::fmt::Write;

/// Version of the `sweep.json` layout: 2 since latency may be `null` (no request completed)
/// and points carry goodput and the cost per 1,000 requests/s.
pub const SWEEP_SCHEMA_VERSION: u32 = 2;

/// Above this error rate a point's latency describes only the requests that got through:
/// tables and charts mark it.
pub const FLAG_ERROR_RATE: f64 = 0.01;

/// One point of the grid and its headline figures.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct SweepPoint {
    /// The value of each swept parameter, in the order of `SweepSummary::params`.
    pub values: Vec<serde_json::Value>,
    pub throughput_rps: f64,
    /// Completions within the scenario's p99 objective (else its timeout), per second.
    pub goodput_rps: f64,
    /// That latency (for `dsim compare`, the first design's for every design).
    pub goodput_within_ms: f64,
    pub error_rate: f64,
    /// Latency of the requests that completed; `null` when none did (in some seed, when
    /// replicated).
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub cost_per_hour: f64,
    /// `cost_per_hour` over thousands of completions per second; `null` when nothing
    /// completed.
    pub cost_per_1000_rps: Option<f64>,
    /// "component resource" of the busiest resource, or "none".
    pub bottleneck: String,
    pub bottleneck_utilisation: f64,
    pub stop_reason: crate::StopReason,
    /// Share of requests that completed (summary.json's `failures.availability`).
    pub availability: f64,
    /// Acknowledged writes lost in failovers.
    pub writes_lost: u64,
    /// Scenarios with faults: the longest `time_to_recover_s` of the faults that caused
    /// errors and recovered (0 when none caused errors), and how many never recovered. With
    /// replications, the worst seed's of each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longest_recovery_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unrecovered_faults: Option<u32>,
    /// With `--replications N` (N ≥ 2): the figures above are means over N seeds, and these
    /// are their 95 % confidence half-widths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci95: Option<PointIntervals>,
}

/// 95 % half-widths of a point's figures over its replications (Student t).
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct PointIntervals {
    pub replications: usize,
    pub throughput_rps: f64,
    pub goodput_rps: f64,
    pub error_rate: f64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub availability: f64,
}

impl SweepPoint {
    /// Whether so many requests failed that the latency describes only the few that got
    /// through (more than `FLAG_ERROR_RATE`).
    pub fn flagged(&self) -> bool {
        self.error_rate > FLAG_ERROR_RATE
    }
}

/// A run's (longest recovery, faults never recovered), when it had faults.
fn recovery(r: &Results) -> Option<(f64, u32)> {
    let faults = &r.failures.faults;
    if faults.is_empty() {
        return None;
    }
    let hit = faults.iter().filter(|f| f.errors_started_s.is_some());
    let longest = hit
        .clone()
        .filter_map(|f| f.time_to_recover_s)
        .fold(0.0, f64::max);
    let never = hit.filter(|f| f.recovered_at_s.is_none()).count() as u32;
    Some((longest, never))
}

fn per_1000_rps(cost_per_hour: f64, throughput_rps: f64) -> Option<f64> {
    (throughput_rps > 0.0).then(|| round(cost_per_hour / (throughput_rps / 1000.0), 4))
}

impl SweepPoint {
    /// A grid point from its runs (one per seed, in seed order, at least one): with one run
    /// its figures; with more, their means, the most frequent bottleneck (the first seed's on
    /// a tie) and the first stop reason that is not `completed`. A latency is absent if any
    /// seed had none (a mean over the seeds that had one would hide the others).
    pub fn of(values: Vec<serde_json::Value>, runs: &[Results]) -> SweepPoint {
        let bottleneck = |r: &Results| {
            r.bottleneck
                .as_ref()
                .map_or("none".into(), |b| format!("{} {}", b.component, b.resource))
        };
        let first = &runs[0];
        if runs.len() == 1 {
            return SweepPoint {
                values,
                throughput_rps: first.throughput_rps,
                goodput_rps: first.goodput_rps,
                goodput_within_ms: first.goodput_within_ms,
                error_rate: first.error_rate,
                p50_ms: first.latency_ms.p50,
                p99_ms: first.latency_ms.p99,
                cost_per_hour: first.cost_per_hour,
                cost_per_1000_rps: per_1000_rps(first.cost_per_hour, first.throughput_rps),
                bottleneck: bottleneck(first),
                bottleneck_utilisation: first.bottleneck.as_ref().map_or(0.0, |b| b.utilisation),
                stop_reason: first.stop_reason,
                availability: first.failures.availability,
                writes_lost: first.failures.writes_lost,
                longest_recovery_s: recovery(first).map(|r| r.0),
                unrecovered_faults: recovery(first).map(|r| r.1),
                ci95: None,
            };
        }
        let interval = |f: fn(&Results) -> f64| {
            let xs: Vec<f64> = runs.iter().map(f).collect();
            Interval::of(&xs)
        };
        let latency = |f: fn(&Results) -> Option<f64>| {
            let xs: Option<Vec<f64>> = runs.iter().map(f).collect();
            xs.map(|xs| Interval::of(&xs))
        };
        let names: Vec<String> = runs.iter().map(bottleneck).collect();
        let mut busiest = (0, names[0].clone());
        for name in &names {
            let count = names.iter().filter(|m| *m == name).count();
            if count > busiest.0 {
                busiest = (count, name.clone());
            }
        }
        let busiest = busiest.1;
        let share_of_busiest = interval(|r| r.bottleneck.as_ref().map_or(0.0, |b| b.utilisation));
        let (throughput, goodput, errors, availability) = (
            interval(|r| r.throughput_rps),
            interval(|r| r.goodput_rps),
            interval(|r| r.error_rate),
            interval(|r| r.failures.availability),
        );
        let (p50, p99) = (latency(|r| r.latency_ms.p50), latency(|r| r.latency_ms.p99));
        let mean = |i: &Option<Interval>| i.map(|i| round(i.mean, 3));
        let half = |i: &Option<Interval>| i.map(|i| round(i.half_width_95, 3));
        SweepPoint {
            values,
            throughput_rps: round(throughput.mean, 3),
            goodput_rps: round(goodput.mean, 3),
            goodput_within_ms: first.goodput_within_ms,
            error_rate: round(errors.mean, 6),
            p50_ms: mean(&p50),
            p99_ms: mean(&p99),
            cost_per_hour: first.cost_per_hour,
            cost_per_1000_rps: per_1000_rps(first.cost_per_hour, throughput.mean),
            bottleneck: busiest,
            bottleneck_utilisation: round(share_of_busiest.mean, 4),
            stop_reason: runs
                .iter()
                .map(|r| r.stop_reason)
                .find(|&s| s != crate::StopReason::Completed)
                .unwrap_or(first.stop_reason),
            availability: round(availability.mean, 6),
            // The mean, rounded to a whole write.
            writes_lost: (runs.iter().map(|r| r.failures.writes_lost).sum::<u64>() as f64
                / runs.len() as f64)
                .round() as u64,
            longest_recovery_s: runs
                .iter()
                .filter_map(recovery)
                .map(|r| r.0)
                .reduce(f64::max),
            unrecovered_faults: runs.iter().filter_map(recovery).map(|r| r.1).max(),
            ci95: Some(PointIntervals {
                replications: runs.len(),
                throughput_rps: round(throughput.half_width_95, 3),
                goodput_rps: round(goodput.half_width_95, 3),
                error_rate: round(errors.half_width_95, 6),
                p50_ms: half(&p50),
                p99_ms: half(&p99),
                availability: round(availability.half_width_95, 6),
            }),
        }
    }
}

/// `sweep.json`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SweepSummary {
    pub schema_version: u32,
    pub dsim_version: String,
    pub scenario: String,
    pub seed: u64,
    /// The swept paths, slowest-varying first.
    pub params: Vec<String>,
    pub points: Vec<SweepPoint>,
}

impl SweepSummary {
    /// `params` are the swept paths; `points` pair each grid point's values with its runs
    /// (one per seed).
    pub fn of(
        scenario: &str,
        seed: u64,
        params: &[String],
        points: Vec<(Vec<serde_json::Value>, Vec<Results>)>,
    ) -> SweepSummary {
        let points = points
            .into_iter()
            .map(|(values, runs)| SweepPoint::of(values, &runs))
            .collect();
        SweepSummary {
            schema_version: SWEEP_SCHEMA_VERSION,
            dsim_version: env!("CARGO_PKG_VERSION").to_string(),
            scenario: scenario.to_string(),
            seed,
            params: params.to_vec(),
            points,
        }
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// `sweep.csv`: one row per point, the parameters first; with replications, each
    /// figure's 95 % half-width at the end. Absent figures (no latency when no request
    /// completed) are empty fields.
    pub fn to_csv(&self) -> String {
        let replicated = self.points.iter().any(|p| p.ci95.is_some());
        let opt = |x: Option<f64>| x.map_or(String::new(), |v| v.to_string());
        let mut out = self.params.join(",");
        out.push_str(
            ",throughput_rps,goodput_rps,goodput_within_ms,error_rate,p50_ms,p99_ms,\
             cost_per_hour,cost_per_1000_rps,bottleneck,bottleneck_utilisation,stop_reason,\
             availability,writes_lost,longest_recovery_s,unrecovered_faults",
        );
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
    pub fn render_table(&self) -> String {
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
        for optional in ["p50 ms", "cost/h"] {
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
    specs
        .iter()
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
    let hidden: Vec<&str> = ["p50 ms", "cost/h"]
        .into_iter()
        .filter(|h| !shown(h))
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
    }
}
