//! Replications: the same scenario run with several seeds, summarised as mean and 95%
//! confidence interval for every headline figure (`replications.json` and a terminal table).
//! Pure: takes the runs' `Results`, in seed order, and returns values and text.

use crate::metrics::confidence::Interval;
use crate::report::{Results, round};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Version of the `replications.json` layout: 2 since figures may be `null` (a seed with no
/// latency, a fault never recovered), counts are rates and failure figures are in.
pub const REPLICATIONS_SCHEMA_VERSION: u32 = 2;

/// One figure over all replications.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FigureSummary {
    /// `null` when a seed had no value (a latency where no request completed, a fault that
    /// never recovered): a mean over the others would hide it.
    pub mean: Option<f64>,
    /// Half-width of the 95% confidence interval: the figure is `mean ± ci95`.
    pub ci95: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// One value per replication, in seed order (`null` where it had none).
    pub values: Vec<Option<f64>>,
}

impl FigureSummary {
    fn of(values: Vec<Option<f64>>) -> FigureSummary {
        let all: Option<Vec<f64>> = values.iter().copied().collect();
        let i = all.as_deref().map(Interval::of);
        FigureSummary {
            mean: i.map(|i| round(i.mean, 6)),
            ci95: i.map(|i| {
                if i.half_width_95.is_finite() {
                    round(i.half_width_95, 6)
                } else {
                    0.0
                }
            }),
            min: i.map(|i| i.min),
            max: i.map(|i| i.max),
            values,
        }
    }
}

/// `replications.json`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReplicationSummary {
    pub schema_version: u32,
    pub dsim_version: String,
    pub scenario: String,
    pub replications: usize,
    pub seeds: Vec<u64>,
    pub method: String,
    /// Figure name (a dotted path into summary.json, or `requests_per_s.*` for counts made
    /// rates) → its interval. In display order.
    pub figures: Vec<(String, FigureSummary)>,
    /// Bottleneck component (resource) → how many replications named it.
    pub bottlenecks: BTreeMap<String, usize>,
    /// How each seed chose its warm-up (`figures.warmup_s`), when the scenario left it out
    /// or said "auto".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warmup_method: Option<String>,
}

/// Headline figures: (name, JSON pointer into summary.json).
const HEADLINES: [(&str, &str); 13] = [
    ("throughput_rps", "/throughput_rps"),
    ("goodput_rps", "/goodput_rps"),
    ("error_rate", "/error_rate"),
    ("latency_ms.mean", "/latency_ms/mean"),
    ("latency_ms.p50", "/latency_ms/p50"),
    ("latency_ms.p90", "/latency_ms/p90"),
    ("latency_ms.p99", "/latency_ms/p99"),
    ("latency_ms.p999", "/latency_ms/p999"),
    ("latency_ms.max", "/latency_ms/max"),
    ("failures.availability", "/failures/availability"),
    ("failures.writes_lost", "/failures/writes_lost"),
    ("failures.stale_reads", "/failures/stale_reads"),
    ("retries", "/retries"),
];

/// Request counts, reported per second of each run's own window: with warm-ups chosen per
/// seed the windows differ in length, and totals would not compare.
const COUNTS: [&str; 5] = ["total", "completed", "rejected", "timed_out", "failed"];

/// Per-component figures, named `components.NAME.FIELD`.
const COMPONENT_FIGURES: [&str; 2] = ["cpu_utilisation", "worker_utilisation"];

impl ReplicationSummary {
    /// Summarises `runs` (at least one), which used `seeds` in that order.
    pub fn of(runs: &[Results], seeds: &[u64]) -> ReplicationSummary {
        let values: Vec<serde_json::Value> = runs
            .iter()
            .map(|r| serde_json::to_value(r).unwrap_or_default())
            .collect();
        let at = |pointer: &str| -> Vec<Option<f64>> {
            values
                .iter()
                .map(|v| v.pointer(pointer).and_then(serde_json::Value::as_f64))
                .collect()
        };
        let mut figures: Vec<(String, FigureSummary)> = Vec::new();
        // A warm-up chosen per seed is a figure of its own, and so is the window it leaves.
        let warmup_method = runs[0].warmup_auto.as_ref().map(|a| a.method.clone());
        if warmup_method.is_some() {
            figures.push(("warmup_s".into(), FigureSummary::of(at("/warmup_s"))));
            figures.push(("measured_s".into(), FigureSummary::of(at("/measured_s"))));
        }
        for (name, pointer) in HEADLINES {
            figures.push((name.to_string(), FigureSummary::of(at(pointer))));
        }
        for count in COUNTS {
            let rates = runs
                .iter()
                .zip(at(&format!("/requests/{count}")))
                .map(|(r, n)| {
                    n.filter(|_| r.measured_s > 0.0)
                        .map(|n| round(n / r.measured_s, 6))
                })
                .collect();
            figures.push((format!("requests_per_s.{count}"), FigureSummary::of(rates)));
        }
        // Each fault's time to recover: 0 where it caused no errors, null where it never
        // recovered.
        for (k, fault) in runs[0].failures.faults.iter().enumerate() {
            let recovery = runs
                .iter()
                .map(|r| {
                    r.failures
                        .faults
                        .get(k)
                        .and_then(|f| match f.errors_started_s {
                            None => Some(0.0),
                            Some(_) => f.time_to_recover_s,
                        })
                })
                .collect();
            figures.push((
                format!("time_to_recover_s: {}", fault.fault),
                FigureSummary::of(recovery),
            ));
        }
        for component in &runs[0].component_order {
            // A balancer or a DNS has no CPU or workers of its own.
            if runs[0]
                .components
                .get(component)
                .is_some_and(|c| c.server().is_none())
            {
                continue;
            }
            for field in COMPONENT_FIGURES {
                figures.push((
                    format!("components.{component}.{field}"),
                    FigureSummary::of(at(&format!("/components/{component}/{field}"))),
                ));
            }
        }
        let mut bottlenecks = BTreeMap::new();
        for r in runs {
            let key = r.bottleneck.as_ref().map_or("none".to_string(), |b| {
                format!("{} ({})", b.place(), b.resource)
            });
            *bottlenecks.entry(key).or_insert(0) += 1;
        }
        ReplicationSummary {
            schema_version: REPLICATIONS_SCHEMA_VERSION,
            dsim_version: env!("CARGO_PKG_VERSION").to_string(),
            scenario: runs[0].scenario.clone(),
            replications: runs.len(),
            seeds: seeds.to_vec(),
            method: "mean over independent replications (one seed each) with a Student t 95% \
                     confidence interval, n - 1 degrees of freedom"
                .to_string(),
            figures,
            bottlenecks,
            warmup_method,
        }
    }

    /// `replications.json`: pretty, with a trailing newline; figures as an object in display
    /// order.
    pub fn to_json(&self) -> String {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        let figures: serde_json::Map<String, serde_json::Value> = self
            .figures
            .iter()
            .map(|(k, f)| (k.clone(), serde_json::to_value(f).unwrap_or_default()))
            .collect();
        v["figures"] = serde_json::Value::Object(figures);
        let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
        s.push('\n');
        s
    }

    /// The terminal table (80 columns).
    pub fn render_table(&self) -> String {
        let mut out = String::new();
        let seeds = match (self.seeds.first(), self.seeds.last()) {
            (Some(a), Some(b)) => format!("seeds {a}..{b}"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "{} · {} replications ({seeds}) · mean and 95% interval",
            super::table::fit(&self.scenario, 30),
            self.replications
        );
        if let Some(method) = &self.warmup_method {
            let _ = writeln!(out, "warm-up chosen per seed by {method} (warmup_s below)");
        }
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<30} {:>11} {:>11} {:>11} {:>11}",
            "figure", "mean", "± 95%", "min", "max"
        );
        for (name, f) in &self.figures {
            let label = super::table::fit(&display_name(name), 30);
            match (f.mean, f.ci95, f.min, f.max) {
                (Some(mean), Some(ci), Some(min), Some(max)) => {
                    let _ = writeln!(
                        out,
                        "{label:<30} {:>11} {:>11} {:>11} {:>11}",
                        number(mean),
                        number(ci),
                        number(min),
                        number(max)
                    );
                }
                _ => {
                    let missing = f.values.iter().filter(|v| v.is_none()).count();
                    let why = if name.starts_with("time_to_recover_s") {
                        "never recovered"
                    } else {
                        "none (no request completed)"
                    };
                    let _ = writeln!(
                        out,
                        "{label:<30} {}",
                        super::table::fit(
                            &format!("{why} in {missing} of {} seeds", f.values.len()),
                            47
                        )
                    );
                }
            }
        }
        let _ = writeln!(out);
        let named: Vec<String> = self
            .bottlenecks
            .iter()
            .map(|(k, n)| format!("{k} ×{n}"))
            .collect();
        let _ = writeln!(out, "bottleneck: {}", named.join(", "));
        out
    }
}

/// The table's label for a figure: `components.api.cpu_utilisation` reads `api cpu`.
fn display_name(name: &str) -> String {
    match name.strip_prefix("components.") {
        Some(rest) => rest
            .replace(".cpu_utilisation", " cpu")
            .replace(".worker_utilisation", " workers"),
        None => name.to_string(),
    }
}

/// A number in at most 11 columns with about 5 significant digits.
fn number(x: f64) -> String {
    let a = x.abs();
    if a == 0.0 {
        "0".to_string()
    } else if a >= 1e9 {
        format!("{x:.3e}")
    } else if a >= 1000.0 {
        format!("{x:.1}")
    } else if a >= 1.0 {
        format!("{x:.3}")
    } else {
        format!("{x:.5}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(seed: u64) -> Results {
        let text = r#"{"name": "rep", "duration_s": 20, "warmup_s": 2,
            "workload": {"model": {"open": {"rate_per_s": 800}}, "entry": "api"},
            "components": {"api": {"kind": "service", "machine": {"cores": 1},
                "workers": 1, "queue_capacity": 100000,
                "handlers": {"default": [{"cpu_ms": {"exponential": {"mean_ms": 1}}}]}}}}"#;
        let mut s = crate::scenario::load(text).unwrap();
        s.seed = seed;
        crate::run(s, &mut |_| {})
    }

    /// Figures are the per-seed values in order, their mean and a t interval; the table fits
    /// 80 columns and names the bottleneck with its count.
    #[test]
    fn summarises_each_figure_over_seeds() {
        let seeds = [1, 2, 3, 4];
        let runs: Vec<Results> = seeds.iter().map(|&s| run(s)).collect();
        let r = ReplicationSummary::of(&runs, &seeds);
        let (name, p99) = &r.figures[6];
        assert_eq!(name, "latency_ms.p99");
        let xs: Vec<f64> = runs.iter().filter_map(|r| r.latency_ms.p99).collect();
        assert_eq!(p99.values, xs.iter().map(|&x| Some(x)).collect::<Vec<_>>());
        let i = Interval::of(&xs);
        let (mean, ci) = (p99.mean.unwrap_or(0.0), p99.ci95.unwrap_or(0.0));
        assert!((mean - i.mean).abs() < 1e-6 && (ci - i.half_width_95).abs() < 1e-6);
        assert!(ci > 0.0, "different seeds give different values");
        // Counts come as rates of each run's own window.
        let (name, total) = r
            .figures
            .iter()
            .find(|(n, _)| n == "requests_per_s.total")
            .expect("request rates");
        assert_eq!(name, "requests_per_s.total");
        let rate = runs[0].requests.total as f64 / runs[0].measured_s;
        assert!((total.values[0].unwrap_or(0.0) - rate).abs() < 1e-3);
        let table = r.render_table();
        for line in table.lines() {
            assert!(line.chars().count() <= 80, "{line}");
        }
        assert!(table.contains("bottleneck: api (cpu) ×4"), "{table}");
        assert!(table.contains("\napi cpu "), "{table}");
        assert!(
            r.figures
                .iter()
                .any(|(n, _)| n == "components.api.cpu_utilisation")
        );
        let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(
            json["figures"]["throughput_rps"]["values"]
                .as_array()
                .unwrap()
                .len(),
            4
        );
    }
}
