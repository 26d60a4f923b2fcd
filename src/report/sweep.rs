//! Sweeps: one run per point of a parameter grid, side by side — `sweep.json`, `sweep.csv`
//! and a terminal table. Pure: takes the grid and the runs' `Results`, returns text.

use crate::report::Results;
use crate::report::table::fit;
use serde::Serialize;
use std::fmt::Write;

/// Version of the `sweep.json` layout.
pub const SWEEP_SCHEMA_VERSION: u32 = 1;

/// One point of the grid and its headline figures.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct SweepPoint {
    /// The value of each swept parameter, in the order of `SweepSummary::params`.
    pub values: Vec<serde_json::Value>,
    pub throughput_rps: f64,
    pub error_rate: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub cost_per_hour: f64,
    /// "component resource" of the busiest resource, or "none".
    pub bottleneck: String,
    pub bottleneck_utilisation: f64,
    pub stop_reason: String,
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
    /// `params` are the swept paths; `points` pair each grid point's values with its run.
    pub fn of(
        scenario: &str,
        seed: u64,
        params: &[String],
        points: &[(Vec<serde_json::Value>, Results)],
    ) -> SweepSummary {
        let points = points
            .iter()
            .map(|(values, r)| SweepPoint {
                values: values.clone(),
                throughput_rps: r.throughput_rps,
                error_rate: r.error_rate,
                p50_ms: r.latency_ms.p50,
                p99_ms: r.latency_ms.p99,
                cost_per_hour: r.cost_per_hour,
                bottleneck: r
                    .bottleneck
                    .as_ref()
                    .map_or("none".into(), |b| format!("{} {}", b.component, b.resource)),
                bottleneck_utilisation: r.bottleneck.as_ref().map_or(0.0, |b| b.utilisation),
                stop_reason: r.stop_reason.clone(),
            })
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

    /// `sweep.csv`: one row per point, the parameters first.
    pub fn to_csv(&self) -> String {
        let mut out = self.params.join(",");
        out.push_str(
            ",throughput_rps,error_rate,p50_ms,p99_ms,cost_per_hour,bottleneck,\
             bottleneck_utilisation,stop_reason\n",
        );
        for p in &self.points {
            for v in &p.values {
                let _ = write!(out, "{},", csv_field(&plain(v)));
            }
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{}",
                p.throughput_rps,
                p.error_rate,
                p.p50_ms,
                p.p99_ms,
                p.cost_per_hour,
                csv_field(&p.bottleneck),
                p.bottleneck_utilisation,
                p.stop_reason
            );
        }
        out
    }

    /// The terminal table, 80 columns: each parameter by its last path segment, then the
    /// headline figures and the bottleneck (or, for a run that stopped early, why).
    pub fn render_table(&self) -> String {
        const FIGURES: usize = 45; // "      ok/s   p50 ms   p99 ms   err %  cost/h "
        const BOTTLENECK: usize = 16;
        let mut out = String::new();
        let points = self.points.len();
        let tail = format!(
            " · sweep of {points} point{} · seed {}",
            if points == 1 { "" } else { "s" },
            self.seed
        );
        let room = 80usize.saturating_sub(tail.chars().count()).max(8);
        let _ = writeln!(out, "{}{tail}", fit(&self.scenario, room));
        let _ = writeln!(out);
        // The parameters share what the figures and a readable bottleneck leave.
        let budget = 80 - FIGURES - BOTTLENECK;
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
        let room = 80usize
            .saturating_sub(header.chars().count() + FIGURES)
            .max(8);
        let _ = writeln!(
            out,
            "{header}{:>10} {:>8} {:>8} {:>7} {:>7} bottleneck",
            "ok/s", "p50 ms", "p99 ms", "err %", "cost/h"
        );
        for p in &self.points {
            let mut line = String::new();
            for (v, w) in p.values.iter().zip(&widths) {
                let _ = write!(line, "{:>w$} ", fit(&plain(v), *w));
            }
            let last = if p.stop_reason == "completed" {
                let pct = format!(" {:.0}%", p.bottleneck_utilisation * 100.0);
                let name = room.saturating_sub(pct.chars().count()).max(3);
                format!("{}{pct}", fit(&p.bottleneck, name))
            } else {
                fit(&format!("stopped: {}", p.stop_reason), room)
            };
            let _ = writeln!(
                out,
                "{line}{:>10.1} {:>8.2} {:>8.2} {:>7.3} {:>7.2} {last}",
                p.throughput_rps,
                p.p50_ms,
                p.p99_ms,
                p.error_rate * 100.0,
                p.cost_per_hour
            );
        }
        out
    }
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
        let points: Vec<(Vec<serde_json::Value>, Results)> = [200.0, 800.0]
            .into_iter()
            .map(|rate| (vec![json!(rate)], run(rate)))
            .collect();
        let s = SweepSummary::of(
            "sweep",
            1,
            &["workload.model.open.rate_per_s".into()],
            &points,
        );
        assert_eq!(s.points.len(), 2);
        assert_eq!(s.points[1].p99_ms, points[1].1.latency_ms.p99);
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
        let long: Vec<(Vec<serde_json::Value>, Results)> = points
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
        let wide = SweepSummary::of(&"n".repeat(60), u64::MAX, &params, &long);
        for line in wide.render_table().lines() {
            assert!(line.chars().count() <= 80, "{line}");
        }
        let csv = s.to_csv();
        assert!(csv.starts_with("workload.model.open.rate_per_s,throughput_rps,"));
        assert_eq!(csv.lines().count(), 3);
        assert!(csv.lines().nth(2).unwrap().starts_with("800.0,"), "{csv}");
    }
}
