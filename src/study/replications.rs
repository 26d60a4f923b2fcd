//! Replications: the same scenario run with several seeds, combined into the mean and 95 %
//! confidence interval of every headline figure (`replications.json`). The terminal table is
//! rendered in `report::replications`.

use crate::metrics::confidence::Interval;
use crate::report::{Results, round};
use serde::Serialize;
use std::collections::BTreeMap;

/// Version of the `replications.json` layout: 2 since figures may be `null` (a seed with no
/// latency, a fault never recovered), counts are rates and failure figures are in.
pub(crate) const REPLICATIONS_SCHEMA_VERSION: u32 = 2;

/// One figure over all replications.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct FigureSummary {
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
pub(crate) struct ReplicationSummary {
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

/// A queue's (or a log's) figures, named `components.NAME.messages.FIELD`: how fast its
/// consumers went, how far behind they fell, and the messages' own latency.
const QUEUE_FIGURES: [&str; 5] = [
    "processed_per_s",
    "mean_depth",
    "peak_depth",
    "max_age_s",
    "end_to_end_ms/p99",
];

impl ReplicationSummary {
    /// Summarises `runs` (at least one), which used `seeds` in that order.
    pub(crate) fn of(runs: &[Results], seeds: &[u64]) -> ReplicationSummary {
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
            if runs[0]
                .components
                .get(component)
                .is_some_and(|c| c.queue().is_some())
            {
                for field in QUEUE_FIGURES {
                    figures.push((
                        format!(
                            "components.{component}.messages.{}",
                            field.replace('/', ".")
                        ),
                        FigureSummary::of(at(&format!("/components/{component}/messages/{field}"))),
                    ));
                }
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
    pub(crate) fn to_json(&self) -> String {
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
}
