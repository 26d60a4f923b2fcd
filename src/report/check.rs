//! `dsim check`: a run held to its scenario's objectives and, optionally, to a baseline
//! `summary.json` (no headline figure worse by more than a tolerance). Pure functions from
//! results to verdicts, and from verdicts to text for people (a table), CI comments
//! (Markdown) and CI systems (JUnit XML).

use crate::model::slo::{Slo, SloMetric};
use crate::report::{LatencySummary, Results, round};
use serde_json::Value;
use std::fmt::Write;

/// Error-rate regressions smaller than this (absolute) are noise, whatever the tolerance.
pub(crate) const ERROR_RATE_SLACK: f64 = 0.0001;

/// What a check holds the run to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum CheckKind {
    /// An objective of the scenario's `slos`.
    Slo,
    /// A headline figure against the baseline summary.
    Regression,
    /// The run itself: it must simulate the whole scenario (not stop at `max_events` or
    /// the memory limit).
    Run,
}

impl CheckKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            CheckKind::Slo => "slo",
            CheckKind::Regression => "regression",
            CheckKind::Run => "run",
        }
    }
}

/// One check and how it went.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Verdict {
    pub kind: CheckKind,
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
    pub(crate) fn new(
        kind: CheckKind,
        name: String,
        actual: f64,
        limit: f64,
        floor: bool,
    ) -> Verdict {
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

    /// `≤ 200` or `≥ 0.999`; `whole` for the run.
    pub(crate) fn bound(&self) -> String {
        match self.kind {
            CheckKind::Run => "whole".into(),
            _ => format!("{} {}", if self.floor { "≥" } else { "≤" }, num(self.limit)),
        }
    }

    /// The value as shown: a number, `none` when no request completed, `cut short`/`whole`
    /// for the run.
    pub(crate) fn value(&self) -> String {
        match self.kind {
            CheckKind::Run if self.passed => "whole".into(),
            CheckKind::Run => "cut short".into(),
            _ if self.actual.is_nan() => "none".into(),
            _ => num(self.actual),
        }
    }

    /// One sentence for a CI report: the value against the limit, and why it failed.
    pub(crate) fn message(&self) -> String {
        let note = self
            .note
            .as_ref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
        match self.kind {
            CheckKind::Run => format!("the run was {}{note}", self.value()),
            _ => format!(
                "{} is {}, the limit {}{note}",
                self.name,
                self.value(),
                self.bound()
            ),
        }
    }
}

/// The verdict on the run itself: whole, or cut short (which fails the gate: the figures
/// would cover only part of the scenario).
pub(crate) fn run_verdict(r: &Results) -> Verdict {
    let completed = matches!(
        r.stop_reason,
        crate::StopReason::Completed | crate::StopReason::DrainLimit
    );
    let mut v = Verdict::new(
        CheckKind::Run,
        "run_completed".into(),
        f64::from(u8::from(completed)),
        1.0,
        true,
    );
    if !completed {
        v.note = Some(format!(
            "stopped by {} at {} s of simulated time after {} events; the figures cover only that part",
            r.stop_reason,
            num(r.sim_time_s),
            r.engine.events
        ));
    }
    v
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

/// The figure, or NaN when no request completed (NaN fails every bound).
fn latency_figure(l: &LatencySummary, m: SloMetric) -> f64 {
    match m {
        SloMetric::MeanMs => l.mean,
        SloMetric::P50Ms => l.p50,
        SloMetric::P90Ms => l.p90,
        SloMetric::P99Ms => l.p99,
        _ => l.p999,
    }
    .unwrap_or(f64::NAN)
}

/// Each objective against the run's figures.
pub(crate) fn slo_verdicts(r: &Results, slos: &[Slo]) -> Vec<Verdict> {
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
                SloMetric::MaxQueueAgeS => {
                    let ages = r
                        .components
                        .values()
                        .filter_map(|c| c.queue().map(|q| q.messages.max_age_s));
                    let (mut queues, mut worst) = (0, None::<f64>);
                    for age in ages {
                        queues += 1;
                        worst = match (worst, age) {
                            (Some(w), Some(a)) => Some(w.max(a)),
                            (w, a) => w.or(a),
                        };
                    }
                    match (queues, worst) {
                        (0, _) => {
                            note = Some("the scenario has no queue".into());
                            f64::NAN
                        }
                        (_, None) => {
                            note = Some("no message was queued".into());
                            0.0
                        }
                        (_, Some(w)) => w,
                    }
                }
                SloMetric::MaxQueueDepth => {
                    let depths: Vec<u64> = r
                        .components
                        .values()
                        .filter_map(|c| c.queue().map(|q| q.messages.peak_depth))
                        .collect();
                    match depths.iter().max() {
                        None => {
                            note = Some("the scenario has no queue".into());
                            f64::NAN
                        }
                        Some(&d) => d as f64,
                    }
                }
                SloMetric::CostPerHour => r.cost_per_hour,
                SloMetric::ErrorRate => round(share(total - completed), 6),
                SloMetric::Availability => round(if total > 0 { share(completed) } else { 1.0 }, 6),
                SloMetric::ThroughputRps => throughput,
                m => latency_figure(latency, m),
            };
            let mut v = Verdict::new(
                CheckKind::Slo,
                name,
                actual,
                slo.limit,
                slo.metric.is_floor(),
            );
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
                // No completed request: there is no latency, and none can pass.
                v.actual = f64::NAN;
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
pub(crate) fn regression_verdicts(
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
            let base = figure(baseline, name).ok_or_else(|| {
                format!("has no number at `{name}` (a run in which no request completed?)")
            })?;
            // No request completed now: no latency to compare, which fails.
            let actual = figure(&now, name).unwrap_or(f64::NAN);
            let limit = if higher_is_better {
                base * (1.0 - tolerance)
            } else if name == "error_rate" {
                base * (1.0 + tolerance) + ERROR_RATE_SLACK
            } else {
                base * (1.0 + tolerance)
            };
            let mut v = Verdict::new(
                CheckKind::Regression,
                name.into(),
                actual,
                round(limit, 6),
                higher_is_better,
            );
            v.note = Some(if actual.is_nan() {
                format!("was {}; no request completed", num(base))
            } else {
                format!("was {}", num(base))
            });
            Ok(v)
        })
        .collect()
}

/// Why a baseline cannot judge this run: the figures that make two summaries comparable
/// (the scenario, the seed, the measured window, the load and the request classes), each
/// difference in a phrase. Empty when they match.
pub(crate) fn incomparable(r: &Results, baseline: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let text = |v: &Value, key: &str| v.get(key).map(|x| x.to_string());
    let now = serde_json::to_value(r).unwrap_or_default();
    // A figure missing on one side is a difference too (a baseline from an older dsim).
    let differs =
        |out: &mut Vec<String>, what: &str, key: &str| match (text(baseline, key), text(&now, key))
        {
            (Some(a), Some(b)) if a != b => out.push(format!("{what} {a} against {b} now")),
            (None, Some(_)) => out.push(format!("{what} absent from the baseline")),
            _ => {}
        };
    differs(&mut out, "layout (schema_version)", "schema_version");
    differs(&mut out, "scenario", "scenario");
    differs(&mut out, "seed", "seed");
    differs(&mut out, "load", "load");
    // A warm-up chosen per run (MSER) may differ in length; how it was chosen may not.
    let auto = |v: &Value| v.get("warmup_auto").is_some_and(|a| !a.is_null());
    match (auto(baseline), r.warmup_auto.is_some()) {
        (false, false) => differs(&mut out, "warm-up (s)", "warmup_s"),
        (true, true) => {}
        (was, _) => out.push(format!(
            "warm-up {} in the baseline and {} now",
            if was { "chosen by MSER" } else { "fixed" },
            if was { "fixed" } else { "chosen by MSER" }
        )),
    }
    let whole = |reason: Option<&str>| matches!(reason, Some("completed" | "drain_limit"));
    if whole(baseline.get("stop_reason").and_then(Value::as_str))
        && whole(Some(r.stop_reason.name()))
    {
        differs(&mut out, "simulated time (s)", "sim_time_s");
    }
    let classes = |v: &Value| {
        v.get("classes")
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect::<Vec<_>>())
    };
    if let (Some(a), Some(b)) = (classes(baseline), classes(&now))
        && a != b
    {
        out.push(format!(
            "request classes {} against {} now",
            a.join(", "),
            b.join(", ")
        ));
    }
    out
}

/// Why a baseline summary cannot serve as one at all, if it cannot.
pub(crate) fn unusable_baseline(baseline: &Value) -> Option<String> {
    if baseline.get("schema_version").is_none() {
        return Some("is not a dsim summary.json (no schema_version)".into());
    }
    match baseline.get("stop_reason").and_then(Value::as_str) {
        Some("completed") | Some("drain_limit") | None => None,
        Some(reason) => Some(format!(
            "is of a run cut short ({reason}), whose figures cover only part of the scenario"
        )),
    }
}

/// For people: one line per check, failures marked, and a verdict.
pub(crate) fn render_table(scenario: &str, verdicts: &[Verdict]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "check of {}", crate::report::table::fit(scenario, 70));
    let _ = writeln!(
        out,
        "{:<4} {:<10} {:<22} {:>10} {:>12}",
        "", "kind", "figure", "value", "limit"
    );
    for v in verdicts {
        let row = format!(
            "{:<4} {:<10} {:<22} {:>10} {:>12}",
            if v.passed { "ok" } else { "FAIL" },
            v.kind.name(),
            crate::report::table::fit(&v.name, 22),
            v.value(),
            v.bound(),
        );
        // A note is never cut: beside the row when it fits, else under it.
        match v.note.as_deref() {
            Some(n) if row.chars().count() + 2 + n.chars().count() <= 80 => {
                let _ = writeln!(out, "{row}  {n}");
            }
            Some(n) => {
                let _ = writeln!(out, "{row}\n     ({n})");
            }
            None => {
                let _ = writeln!(out, "{row}");
            }
        }
    }
    let failed = verdicts.iter().filter(|v| !v.passed).count();
    if failed == 0 {
        let _ = writeln!(out, "passed: all {} checks held", verdicts.len());
    } else {
        let _ = writeln!(out, "FAILED: {failed} of {} checks", verdicts.len());
        for v in verdicts
            .iter()
            .filter(|v| !v.passed && v.kind == CheckKind::Run)
        {
            let _ = writeln!(out, "{}", v.message());
        }
    }
    out
}

/// For a CI comment: a Markdown table and a verdict line.
pub(crate) fn render_markdown(scenario: &str, seed: u64, verdicts: &[Verdict]) -> String {
    let failed = verdicts.iter().filter(|v| !v.passed).count();
    let cell = |s: &str| s.replace('|', "\\|").replace(['\n', '\r'], " ");
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### dsim check: `{}` (seed {seed}) {}",
        cell(scenario).replace('`', "'"),
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
            v.kind.name(),
            cell(&v.name).replace('`', "'"),
            v.value(),
            v.bound(),
            cell(v.note.as_deref().unwrap_or(""))
        );
    }
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
        let p99 = r.latency_ms.p99.unwrap_or(0.0);
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
        base["latency_ms"]["p99"] = (r.latency_ms.p99.unwrap_or(0.0) / 1.2).into();
        let v = regression_verdicts(&r, &base, 0.05).unwrap();
        let failed: Vec<&str> = v
            .iter()
            .filter(|v| !v.passed)
            .map(|v| v.name.as_str())
            .collect();
        assert_eq!(failed, ["latency_ms.p99"]);
        assert!(regression_verdicts(&r, &serde_json::json!({"x": 1}), 0.05).is_err());
    }
}
