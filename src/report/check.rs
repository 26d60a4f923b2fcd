//! `dsim check`: a run held to its scenario's objectives and, optionally, to a baseline
//! `summary.json` (no headline figure worse by more than a tolerance). Pure functions from
//! results to verdicts, and from verdicts to text for people (a table), CI comments
//! (Markdown) and CI systems (JUnit XML).

use crate::model::slo::{Slo, SloMetric};
use crate::report::{LatencySummary, Results, round};
use serde_json::Value;
use std::fmt::Write;

/// Error-rate regressions smaller than this (absolute) are noise, whatever the tolerance.
pub const ERROR_RATE_SLACK: f64 = 0.0001;

/// One check and how it went.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// `slo` or `regression`.
    pub kind: &'static str,
    /// What was checked, e.g. `p99_ms` or `classes.write.p99_ms`.
    pub name: String,
    pub actual: f64,
    pub limit: f64,
    /// The figure must be at least the limit (else at most).
    pub floor: bool,
    pub passed: bool,
    /// Why it failed beyond the numbers, if anything.
    pub note: Option<String>,
}

impl Verdict {
    fn new(kind: &'static str, name: String, actual: f64, limit: f64, floor: bool) -> Verdict {
        let passed = if floor {
            actual >= limit
        } else {
            actual <= limit
        };
        Verdict {
            kind,
            name,
            actual,
            limit,
            floor,
            passed,
            note: None,
        }
    }

    /// `≤ 200` or `≥ 0.999`.
    pub fn bound(&self) -> String {
        format!("{} {}", if self.floor { "≥" } else { "≤" }, num(self.limit))
    }
}

fn num(x: f64) -> String {
    if x.is_infinite() {
        return "never".into();
    }
    let r = round(x, if x.abs() < 0.01 { 6 } else { 3 });
    if r == r.trunc() && r.abs() < 1e15 {
        format!("{r:.0}")
    } else {
        format!("{r}")
    }
}

fn latency_figure(l: &LatencySummary, m: SloMetric) -> f64 {
    match m {
        SloMetric::MeanMs => l.mean,
        SloMetric::P50Ms => l.p50,
        SloMetric::P90Ms => l.p90,
        SloMetric::P99Ms => l.p99,
        _ => l.p999,
    }
}

/// Each objective against the run's figures.
pub fn slo_verdicts(r: &Results, slos: &[Slo]) -> Vec<Verdict> {
    slos.iter()
        .map(|slo| {
            let (name, latency, total, completed, throughput) = match &slo.class {
                None => (
                    slo.metric.name().to_string(),
                    &r.latency_ms,
                    r.requests.total,
                    r.requests.completed,
                    r.throughput_rps,
                ),
                Some(c) => {
                    let k = &r.classes[c];
                    (
                        format!("classes.{c}.{}", slo.metric.name()),
                        &k.latency_ms,
                        k.requests.total,
                        k.requests.completed,
                        k.throughput_rps,
                    )
                }
            };
            let share = |n: u64| {
                if total > 0 {
                    n as f64 / total as f64
                } else {
                    0.0
                }
            };
            let mut note = None;
            let actual = match slo.metric {
                SloMetric::TimeToRecoverS => {
                    let mut worst: f64 = 0.0;
                    for f in &r.failures.faults {
                        match (f.errors_started_s, f.time_to_recover_s) {
                            (Some(_), None) => {
                                worst = f64::INFINITY;
                                // Which fault: failures.faults in summary.json.
                                note = Some("never recovered".to_string());
                            }
                            (_, Some(t)) if f.errors_started_s.is_some() => worst = worst.max(t),
                            _ => {}
                        }
                    }
                    worst
                }
                SloMetric::WritesLost => r.failures.writes_lost as f64,
                SloMetric::ErrorRate => round(share(total - completed), 6),
                SloMetric::Availability => round(if total > 0 { share(completed) } else { 1.0 }, 6),
                SloMetric::ThroughputRps => throughput,
                m => latency_figure(latency, m),
            };
            let mut v = Verdict::new("slo", name, actual, slo.limit, slo.metric.is_floor());
            v.note = note;
            let is_latency = matches!(
                slo.metric,
                SloMetric::MeanMs
                    | SloMetric::P50Ms
                    | SloMetric::P90Ms
                    | SloMetric::P99Ms
                    | SloMetric::P999Ms
            );
            if is_latency && latency.count == 0 {
                // No completed request: a latency of 0 would pass for the wrong reason.
                v.passed = false;
                v.note = Some("no request completed".into());
            }
            v
        })
        .collect()
}

/// Headline figures that must not get worse than a baseline, and whether higher is better.
const HEADLINE: [(&str, bool); 5] = [
    ("throughput_rps", true),
    ("error_rate", false),
    ("latency_ms.p50", false),
    ("latency_ms.p99", false),
    ("latency_ms.p999", false),
];

fn figure(v: &Value, dotted: &str) -> Option<f64> {
    dotted
        .split('.')
        .try_fold(v, |v, key| v.get(key))
        .and_then(Value::as_f64)
}

/// Each headline figure against `baseline` (an earlier summary.json), allowing `tolerance`
/// (0.05 = 5 %) of change for the worse. Errors say what is wrong with the baseline.
pub fn regression_verdicts(
    r: &Results,
    baseline: &Value,
    tolerance: f64,
) -> Result<Vec<Verdict>, String> {
    if baseline.get("schema_version").is_none() {
        return Err("is not a dsim summary.json (no schema_version)".into());
    }
    let now = serde_json::to_value(r).map_err(|e| e.to_string())?;
    HEADLINE
        .iter()
        .map(|&(name, higher_is_better)| {
            let base =
                figure(baseline, name).ok_or_else(|| format!("has no number at `{name}`"))?;
            let actual = figure(&now, name).unwrap_or(0.0);
            let limit = if higher_is_better {
                base * (1.0 - tolerance)
            } else if name == "error_rate" {
                base * (1.0 + tolerance) + ERROR_RATE_SLACK
            } else {
                base * (1.0 + tolerance)
            };
            let mut v = Verdict::new(
                "regression",
                name.into(),
                actual,
                round(limit, 6),
                higher_is_better,
            );
            v.note = Some(format!("was {}", num(base)));
            Ok(v)
        })
        .collect()
}

/// For people: one line per check, failures marked, and a verdict.
pub fn render_table(scenario: &str, verdicts: &[Verdict]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "check of {scenario}");
    let _ = writeln!(
        out,
        "{:<4} {:<10} {:<22} {:>10} {:>12}",
        "", "kind", "figure", "value", "limit"
    );
    for v in verdicts {
        let note = v
            .note
            .as_deref()
            .map(|n| format!("  {}", crate::report::table::fit(n, 16)));
        let _ = writeln!(
            out,
            "{:<4} {:<10} {:<22} {:>10} {:>12}{}",
            if v.passed { "ok" } else { "FAIL" },
            v.kind,
            crate::report::table::fit(&v.name, 22),
            num(v.actual),
            v.bound(),
            note.unwrap_or_default()
        );
    }
    let failed = verdicts.iter().filter(|v| !v.passed).count();
    if failed == 0 {
        let _ = writeln!(out, "passed: all {} checks held", verdicts.len());
    } else {
        let _ = writeln!(out, "FAILED: {failed} of {} checks", verdicts.len());
    }
    out
}

/// For a CI comment: a Markdown table and a verdict line.
pub fn render_markdown(scenario: &str, seed: u64, verdicts: &[Verdict]) -> String {
    let failed = verdicts.iter().filter(|v| !v.passed).count();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### dsim check: `{scenario}` (seed {seed}) {}",
        if failed == 0 {
            "✅ passed".to_string()
        } else {
            format!("❌ {failed} of {} failed", verdicts.len())
        }
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "| | check | figure | value | limit | note |");
    let _ = writeln!(out, "|---|---|---|---:|---:|---|");
    for v in verdicts {
        let _ = writeln!(
            out,
            "| {} | {} | `{}` | {} | {} | {} |",
            if v.passed { "✅" } else { "❌" },
            v.kind,
            v.name,
            num(v.actual),
            v.bound(),
            v.note.as_deref().unwrap_or("")
        );
    }
    out
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// For CI systems: JUnit XML, one test case per check.
pub fn render_junit(scenario: &str, verdicts: &[Verdict]) -> String {
    let failed = verdicts.iter().filter(|v| !v.passed).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"dsim check\" tests=\"{}\" failures=\"{failed}\">",
        verdicts.len()
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\">",
        xml(scenario),
        verdicts.len()
    );
    for v in verdicts {
        let name = xml(&format!("{} {}", v.name, v.bound()));
        if v.passed {
            let _ = writeln!(
                out,
                "    <testcase classname=\"{}\" name=\"{name}\"/>",
                v.kind
            );
        } else {
            let message = format!(
                "{} is {}, the limit {}{}",
                v.name,
                num(v.actual),
                v.bound(),
                v.note
                    .as_ref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            );
            let _ = writeln!(
                out,
                "    <testcase classname=\"{}\" name=\"{name}\">\n      <failure message=\"{}\"/>\n    </testcase>",
                v.kind,
                xml(&message)
            );
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn results() -> Results {
        let text = r#"{"name": "c", "duration_s": 20, "warmup_s": 2,
            "workload": {"model": {"open": {"rate_per_s": 200}}, "entry": "api",
                         "classes": {"read": {"weight": 3}, "write": {}}},
            "components": {"api": {"kind": "service", "machine": {"cores": 2},
                "handlers": {"default": [{"cpu_ms": {"exponential": {"mean_ms": 5}}}]}}}}"#;
        crate::run(crate::scenario::load(text).expect("valid"), &mut |_| {})
    }

    #[test]
    fn objectives_pass_and_fail_on_the_right_side_of_their_limits() {
        let r = results();
        let p99 = r.latency_ms.p99;
        let slos = vec![
            Slo {
                class: None,
                metric: SloMetric::P99Ms,
                limit: p99 + 1.0,
            },
            Slo {
                class: None,
                metric: SloMetric::P99Ms,
                limit: p99 - 1.0,
            },
            Slo {
                class: None,
                metric: SloMetric::ThroughputRps,
                limit: 150.0,
            },
            Slo {
                class: None,
                metric: SloMetric::ThroughputRps,
                limit: 250.0,
            },
            Slo {
                class: Some("write".into()),
                metric: SloMetric::Availability,
                limit: 0.999,
            },
        ];
        let passed: Vec<bool> = slo_verdicts(&r, &slos).iter().map(|v| v.passed).collect();
        assert_eq!(passed, [true, false, true, false, true]);
    }

    #[test]
    fn a_regression_is_a_change_for_the_worse_beyond_the_tolerance() {
        let r = results();
        let mut base: Value = serde_json::from_str(&r.to_json()).unwrap();
        assert!(
            regression_verdicts(&r, &base, 0.05)
                .unwrap()
                .iter()
                .all(|v| v.passed)
        );
        // The baseline was 20 % faster at p99: the run regressed.
        base["latency_ms"]["p99"] = (r.latency_ms.p99 / 1.2).into();
        let v = regression_verdicts(&r, &base, 0.05).unwrap();
        let failed: Vec<&str> = v
            .iter()
            .filter(|v| !v.passed)
            .map(|v| v.name.as_str())
            .collect();
        assert_eq!(failed, ["latency_ms.p99"]);
        assert!(regression_verdicts(&r, &serde_json::json!({"x": 1}), 0.05).is_err());
    }

    #[test]
    fn junit_escapes_and_counts_failures() {
        let v = vec![
            Verdict::new("slo", "p99_ms".into(), 250.0, 200.0, false),
            Verdict::new("slo", "classes.a<b>.p50_ms".into(), 1.0, 2.0, false),
        ];
        let x = render_junit("s&t", &v);
        assert!(x.contains("tests=\"2\" failures=\"1\""), "{x}");
        assert!(x.contains("name=\"s&amp;t\""), "{x}");
        assert!(x.contains("a&lt;b&gt;"), "{x}");
        assert!(
            x.contains("<failure message=\"p99_ms is 250, the limit ≤ 200\"/>"),
            "{x}"
        );
    }
}
