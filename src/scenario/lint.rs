//! Warnings: a scenario that is valid but almost surely a slip — a client timeout shorter
//! than the round trip to the entry (every request would time out), a think time far below
//! the work a request needs (a unit mistake: milliseconds for seconds). They do not stop a
//! run; `dsim validate` and `dsim run` print them, located like errors.

use crate::model::client::workload::LoadModel;
use crate::model::{Scenario, distribution::show};
use crate::scenario::{Diagnostic, locate};

/// A think time below this share of a request's own CPU work looks like a unit slip.
const THINK_SHARE: f64 = 0.01;

/// `x` to two decimals, for a message.
fn ms(x: f64) -> String {
    show((x * 100.0).round() / 100.0)
}

/// The warnings for `scenario`, read from `text` (for their positions).
pub fn warnings(text: &str, scenario: &Scenario) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut warn = |path: &str, message: String| {
        let (line, column) = locate::locate(text, path);
        out.push(Diagnostic {
            path: path.to_string(),
            line,
            column,
            message,
        });
    };
    let w = &scenario.workload;
    let round_trip_ms = 2.0 * scenario.network.client.mean_ns() / 1e6;
    let timeout_ms = w.timeout.as_ms();
    if timeout_ms < round_trip_ms {
        warn(
            "workload.timeout_ms",
            format!(
                "{} ms is shorter than a round trip between the users and the entry ({} ms on \
                 average over network.client_link): nearly every request will time out",
                ms(timeout_ms),
                ms(round_trip_ms)
            ),
        );
    }
    if let LoadModel::Closed { think, .. } = &w.model {
        let think_ms = think.mean_ns() / 1e6;
        // The CPU work of the first class at its entry (its handler's steps, as written).
        let class = &w.classes[0];
        let work_ms = scenario
            .components
            .get(class.entry.index())
            .and_then(|c| c.kind.program_cpu_ms(0))
            .unwrap_or(0.0);
        if work_ms > 0.0 && think_ms < THINK_SHARE * work_ms {
            warn(
                "workload.model.closed.think_time_ms",
                format!(
                    "the mean think time, {} ms, is far below the {} ms of CPU a request needs \
                     at its entry: users send again at once, as if they never thought (is it \
                     in seconds?)",
                    ms(think_ms),
                    ms(work_ms)
                ),
            );
        }
    }
    if let Some(names) = message_loop(scenario) {
        warn(
            &format!("components.{}", names[0]),
            format!(
                "messages go round in a loop: {}. Each message processed can send another, \
                 for as long as the run lasts: make sure some class ends the chain",
                names.join(" → ")
            ),
        );
    }
    out
}

/// A loop through a queue or a topic (a consumer feeding its own queue, directly or not), as
/// the names on it; call cycles without one are refused by validation.
fn message_loop(scenario: &Scenario) -> Option<Vec<&str>> {
    let edges = crate::scenario::validate::call_edges(&scenario.components, true);
    let cycle = crate::scenario::validate::find_cycle(&edges)?;
    Some(
        cycle
            .iter()
            .map(|&i| scenario.components[i].name.as_str())
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    fn warnings(text: &str) -> Vec<String> {
        let s = crate::scenario::load(text).expect("valid");
        super::warnings(text, &s)
            .into_iter()
            .map(|d| d.to_string())
            .collect()
    }

    #[test]
    fn slips_are_warned_about_and_sound_scenarios_are_not() {
        let with = |timeout: f64, think: f64| {
            format!(
                r#"{{"name": "w", "duration_s": 10,
                "workload": {{"model": {{"closed": {{"users": 10,
                    "think_time_ms": {{"constant": {{"ms": {think}}}}}}}}}, "entry": "api",
                    "timeout_ms": {timeout}}},
                "components": {{"api": {{"kind": "service", "machine": {{"cores": 1}},
                    "handlers": {{"default": [{{"cpu_ms": {{"constant": {{"ms": 200}}}}}}]}}}}}}}}"#
            )
        };
        assert!(warnings(&with(2000.0, 1000.0)).is_empty());
        let short = warnings(&with(20.0, 1000.0));
        assert_eq!(short.len(), 1, "{short:?}");
        assert!(short[0].contains("workload.timeout_ms: 20 ms is shorter than a round trip"));
        let hasty = warnings(&with(2000.0, 1.0));
        assert_eq!(hasty.len(), 1, "{hasty:?}");
        assert!(
            hasty[0].contains("think_time_ms: the mean think time, 1 ms, is far below the 200 ms")
        );
    }

    /// A consumer that sends to its own queue is allowed (a send does not wait for the
    /// processing) and warned of; the same loop through calls is refused by validation.
    #[test]
    fn a_loop_through_a_queue_is_warned_of() {
        let with = |worker_sends: bool| {
            let tail = if worker_sends {
                r#", {"send": {"queue": "jobs", "message": "default"}}"#
            } else {
                ""
            };
            format!(
                r#"{{"name": "w", "duration_s": 10,
                "workload": {{"model": {{"open": {{"rate_per_s": 1}}}}, "entry": "api"}},
                "components": {{
                  "api": {{"kind": "service", "machine": {{"cores": 1}},
                    "handlers": {{"default": [{{"send": {{"queue": "jobs", "message": "default"}}}}]}}}},
                  "jobs": {{"kind": "queue", "machine": {{"cores": 1}}}},
                  "worker": {{"kind": "service", "machine": {{"cores": 1}},
                    "consumes": {{"queue": "jobs"}},
                    "handlers": {{"default": [{{"cpu_ms": {{"constant": {{"ms": 1}}}}}}{tail}]}}}}}}}}"#
            )
        };
        assert!(warnings(&with(false)).is_empty());
        let looping = warnings(&with(true));
        assert_eq!(looping.len(), 1, "{looping:?}");
        assert!(
            looping[0]
                .contains("components.jobs: messages go round in a loop: jobs → worker → jobs"),
            "{looping:?}"
        );
    }
}
