//! Validation of `slos`: limits in range, classes that exist, no nesting.

use super::Checker;
use crate::model::slo::{Slo, SloMetric};
use crate::scenario::raw::RawSlos;
use crate::scenario::suggest::hint;

/// The objectives of `raw` at `path`, for `class` (None: the whole run).
fn objectives(c: &mut Checker, path: &str, raw: &RawSlos, class: Option<&str>) -> Vec<Slo> {
    let fields = [
        (SloMetric::MeanMs, raw.mean_ms),
        (SloMetric::P50Ms, raw.p50_ms),
        (SloMetric::P90Ms, raw.p90_ms),
        (SloMetric::P99Ms, raw.p99_ms),
        (SloMetric::P999Ms, raw.p999_ms),
        (SloMetric::ErrorRate, raw.error_rate),
        (SloMetric::Availability, raw.availability),
        (SloMetric::ThroughputRps, raw.throughput_rps_min),
        (SloMetric::TimeToRecoverS, raw.time_to_recover_s),
        (SloMetric::WritesLost, raw.writes_lost),
        (SloMetric::MaxQueueAgeS, raw.max_queue_age_s),
        (SloMetric::MaxQueueDepth, raw.max_queue_depth),
        (SloMetric::CostPerHour, raw.cost_per_hour),
    ];
    let mut out = Vec::new();
    for (metric, limit) in fields {
        let Some(limit) = limit else { continue };
        let p = format!("{path}.{}", metric.name());
        let limit = c.non_negative(&p, limit);
        if class.is_some() && metric.whole_run_only() {
            c.problem(
                &p,
                "is about the whole run: put it in `slos`, not under a class",
            );
        }
        if matches!(metric, SloMetric::ErrorRate | SloMetric::Availability) && limit > 1.0 {
            c.problem(
                &p,
                format!("is a share between 0 and 1 (0.001 = 0.1 %), got {limit}"),
            );
        }
        let has_queue = c.raw.components.values().any(|k| {
            matches!(
                k,
                crate::scenario::raw::RawComponent::Queue(_)
                    | crate::scenario::raw::RawComponent::Log(_)
            )
        });
        if metric.about_queues() && !has_queue {
            c.problem(
                &p,
                "is about queues and the scenario has none: remove it, or add a component of kind `queue`",
            );
        }
        out.push(Slo {
            class: class.map(String::from),
            metric,
            limit,
        });
    }
    out
}

pub(super) fn slos(c: &mut Checker) -> Vec<Slo> {
    let Some(raw) = c.raw.slos.as_ref() else {
        return Vec::new();
    };
    let mut out = objectives(c, "slos", raw, None);
    for (class, per) in &raw.classes {
        let path = format!("slos.classes.{class}");
        if !c.class_names.contains(class) {
            let h = hint(class, c.class_names.iter().map(String::as_str));
            c.problem(
                &path,
                format!(
                    "no request class named `{class}`{h} (classes are declared in workload.classes)"
                ),
            );
        }
        let message_only = c
            .raw
            .workload
            .classes
            .get(class)
            .is_some_and(|k| k.weight == 0.0);
        if message_only {
            c.problem(
                &path,
                format!("`{class}` has weight 0: users never send it, so it has no latency or errors of theirs to hold"),
            );
        }
        if !per.classes.is_empty() {
            c.problem(format!("{path}.classes"), "classes do not nest");
        }
        out.extend(objectives(c, &path, per, Some(class)));
    }
    out
}
