//! Results of a run and their renderers. `Results` is the `summary.json` contract
//! (versioned by `schema_version`); the renderers (`table`, `csv`) are pure functions from
//! results to text. Nothing here writes files.

pub(crate) mod capacity;
pub(crate) mod charts;
pub(crate) mod check;
pub(crate) mod compare;
pub(crate) mod component;
pub(crate) mod csv;
pub(crate) mod elastic_sections;
pub(crate) mod failures;
pub(crate) mod html;
pub(crate) mod junit;
pub(crate) mod log_messages;
pub(crate) mod messages;
pub(crate) mod queue_sections;
pub(crate) mod replications;
pub(crate) mod scaling;
pub(crate) mod sections;
pub(crate) mod sweep;
pub(crate) mod table;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod snapshot_tests;

use crate::metrics::histogram::Latency;
use crate::metrics::outcome::{OutcomeCounts, REJECT_REASONS, STATUS_COUNT};
use crate::metrics::timeseries::IntervalRow;
use crate::model::sim::{Simulation, StopReason};
pub(crate) use component::{ComponentSummary, MachineLoad};
use component::{component_summary, working_memory_share};
use serde::Serialize;
use std::collections::BTreeMap;

/// Version of the `summary.json` layout; bump on any incompatible change. 2: latency
/// figures are `null` where no request completed, and the bottleneck is the busiest machine
/// of a component of several (with `machine` and `mean_utilisation`). 3: each component
/// has the figures of its kind only: a load balancer no machine figures (`replicas`, CPU,
/// workers, NIC, disk, queue, memory), a DNS no connections either and `answers_per_s`
/// where it had `throughput_rps`.
pub(crate) const SCHEMA_VERSION: u32 = 4;

/// Rounds to `digits` decimals so summaries read cleanly (and stay byte-stable).
pub(crate) fn round(x: f64, digits: i32) -> f64 {
    if !x.is_finite() {
        return 0.0;
    }
    let p = 10f64.powi(digits);
    (x * p).round() / p
}

/// What the views print where no request completed, so there is no latency.
pub(crate) const NO_LATENCY: &str = "no request completed";

/// Latency percentiles in milliseconds. With nothing measured (`count` 0) every figure is
/// absent (`null` in JSON), never 0: no request took 0 ms.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct LatencySummary {
    pub count: u64,
    pub mean: Option<f64>,
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub p99: Option<f64>,
    pub p999: Option<f64>,
    pub max: Option<f64>,
}

impl LatencySummary {
    pub(crate) fn of(l: &Latency) -> LatencySummary {
        let r = l.read();
        let some = |f: &dyn Fn(&crate::metrics::histogram::Recorded) -> f64| {
            r.as_ref().map(|r| round(f(r), 3))
        };
        LatencySummary {
            count: l.count(),
            mean: some(&|r| r.mean_ms()),
            p50: some(&|r| r.quantile_ms(0.5)),
            p90: some(&|r| r.quantile_ms(0.9)),
            p99: some(&|r| r.quantile_ms(0.99)),
            p999: some(&|r| r.quantile_ms(0.999)),
            max: some(&|r| r.max_ms()),
        }
    }

    /// The figures in table order: mean, p50, p90, p99, p99.9, max.
    pub(crate) fn figures(&self) -> [Option<f64>; 6] {
        [self.mean, self.p50, self.p90, self.p99, self.p999, self.max]
    }
}

/// Outcome counts with reasons.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct RequestSummary {
    pub total: u64,
    pub completed: u64,
    pub rejected: u64,
    pub timed_out: u64,
    pub failed: u64,
    pub rejected_by: BTreeMap<String, u64>,
    pub failed_by: BTreeMap<String, u64>,
}

impl RequestSummary {
    pub(crate) fn of(c: &OutcomeCounts) -> RequestSummary {
        RequestSummary {
            total: c.total,
            completed: c.completed,
            rejected: c.rejected(),
            timed_out: c.timed_out,
            failed: c.failed(),
            rejected_by: reasons(&c.rejected_by),
            failed_by: [
                ("backend_down", c.failed_backend_down),
                ("simulation_ended", c.failed_simulation_ended),
            ]
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| (k.to_string(), n))
            .collect(),
        }
    }
}

fn reasons(by: &[u64; STATUS_COUNT]) -> BTreeMap<String, u64> {
    REJECT_REASONS
        .iter()
        .filter(|s| by[s.index()] > 0)
        .map(|s| (s.name().to_string(), by[s.index()]))
        .collect()
}

/// One request class.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct ClassSummary {
    pub requests: RequestSummary,
    /// Completions during the measurement window per second.
    pub throughput_rps: f64,
    pub latency_ms: LatencySummary,
    /// Classes with a circuit breaker: how often it opened, and the attempts it refused
    /// (whole run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub circuit_breaker: Option<BreakerSummary>,
}

/// What a class's circuit breaker did.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct BreakerSummary {
    pub opened: u64,
    pub refused: u64,
}

/// The most utilised resource of the run: on a component of several machines, its busiest
/// machine (an average over a database's machines would hide the one hot shard).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct Bottleneck {
    pub component: String,
    /// The machine, for a component of several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub machine: Option<String>,
    pub resource: String,
    pub utilisation: f64,
    /// The component's mean over its machines, for a component of several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_utilisation: Option<f64>,
    /// The shared host whose resource it is (cpu, nic, disk or memory of a component on a
    /// host: every component there shows the same figure, and `component` is the first of
    /// them by name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

impl Bottleneck {
    /// `db shard 2 machine 0`, `api`, or `host laptop`.
    pub(crate) fn place(&self) -> String {
        match (&self.host, &self.machine) {
            (Some(h), _) => format!("host {h}"),
            (None, Some(m)) => format!("{} {m}", self.component),
            (None, None) => self.component.clone(),
        }
    }
}

/// The resources of one component that can be a bottleneck, with their utilisation (the
/// busiest machine's, the machine, and the mean over machines, for a component of several)
/// and the weight it is ranked by. Busy workers are often only waiting for something
/// downstream, so on a tie a physical resource (CPU, NIC, disk, connections) is named
/// instead. Peaks (connections, memory) are already the busiest machine's.
#[allow(clippy::type_complexity)]
fn busy_resources(
    c: &ComponentSummary,
    memory: f64,
) -> Vec<(&'static str, (f64, Option<String>, Option<f64>), f64)> {
    let connections = c
        .connections()
        .map_or(0.0, |k| k.peak as f64 / k.cap.max(1) as f64);
    let Some(s) = c.server() else {
        let mut out = vec![("connections", (connections, None, None), 1.0)];
        if let ComponentSummary::LoadBalancer(b) | ComponentSummary::Gateway(b) = c {
            out.push(("cpu", (b.cpu_utilisation, None, None), 1.0));
            out.push(("nic", (b.nic_utilisation, None, None), 1.0));
        }
        return out;
    };
    let hot = s.hottest_machine.as_ref();
    let on_machine = |m: Option<&MachineLoad>, mean: f64| match m {
        Some(m) => (m.utilisation, Some(m.machine.clone()), Some(round(mean, 4))),
        None => (mean, None, None),
    };
    vec![
        (
            "cpu",
            on_machine(hot.map(|h| &h.cpu), s.cpu_utilisation),
            1.0,
        ),
        (
            "nic",
            on_machine(hot.map(|h| &h.nic), s.nic_utilisation),
            1.0,
        ),
        (
            "disk",
            on_machine(hot.map(|h| &h.disk), s.disk_utilisation),
            1.0,
        ),
        ("connections", (connections, None, None), 1.0),
        ("memory", (memory, None, None), 1.0),
        ("workers", (s.worker_utilisation, None, None), 0.99),
    ]
}

/// Little's law on this run: mean number in system L against λ·W.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct LittlesLaw {
    pub mean_in_system: f64,
    pub arrival_rate_rps: f64,
    pub mean_time_in_system_s: f64,
    /// |L − λW| / L.
    pub relative_error: f64,
}

/// The automatic warm-up: MSER on batch means of the latency of a pilot run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct AutoWarmup {
    /// "MSER-5" (batches of 5 intervals), or "MSER" (batches of 1, for runs under 50
    /// intervals).
    pub method: String,
    pub batch_s: f64,
    /// Batches with completed requests, the series the rule saw.
    pub batches: usize,
    pub truncated_batches: usize,
}

impl AutoWarmup {
    pub(crate) fn of(
        c: &crate::metrics::warmup::WarmupChoice,
        interval: crate::engine::time::SimTime,
    ) -> Self {
        AutoWarmup {
            method: if c.batch_intervals == 1 {
                "MSER"
            } else {
                "MSER-5"
            }
            .to_string(),
            batch_s: round(interval.as_secs() * c.batch_intervals as f64, 6),
            batches: c.batches,
            truncated_batches: c.truncated_batches,
        }
    }
}

/// The load a scenario declares (its load profile scales it over time): what, with the
/// scenario, seed and window, makes two summaries comparable.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "model", rename_all = "snake_case")]
pub(crate) enum LoadSummary {
    Closed { users: u64 },
    Open { rate_per_s: f64 },
}

impl LoadSummary {
    pub(crate) fn of(model: &crate::model::client::workload::LoadModel) -> LoadSummary {
        match *model {
            crate::model::client::workload::LoadModel::Closed { users, .. } => {
                LoadSummary::Closed { users }
            }
            crate::model::client::workload::LoadModel::Open { rate_per_s } => LoadSummary::Open {
                rate_per_s: round(rate_per_s, 6),
            },
        }
    }
}

/// Engine counters (deterministic; wall-clock figures never go here).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct EngineSummary {
    pub events: u64,
    pub peak_requests: usize,
    pub peak_frames: usize,
}

/// Everything a run reports; serialised as `summary.json`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct Results {
    pub schema_version: u32,
    pub dsim_version: String,
    pub scenario: String,
    pub description: String,
    pub seed: u64,
    pub load: LoadSummary,
    pub sim_time_s: f64,
    pub warmup_s: f64,
    /// How the warm-up was chosen, when the scenario said `"warmup_s": "auto"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warmup_auto: Option<AutoWarmup>,
    pub measured_s: f64,
    pub stop_reason: StopReason,
    pub requests: RequestSummary,
    pub retries: u64,
    /// Requests completed during the measurement window, per second (whenever they started:
    /// in an overloaded run, requests started in the window may finish long after it).
    pub throughput_rps: f64,
    /// Of those, the ones that took at most `goodput_within_ms`, per second.
    pub goodput_rps: f64,
    /// The scenario's overall p99 objective, else its client timeout.
    pub goodput_within_ms: f64,
    pub error_rate: f64,
    pub latency_ms: LatencySummary,
    pub classes: BTreeMap<String, ClassSummary>,
    pub components: BTreeMap<String, ComponentSummary>,
    pub bottleneck: Option<Bottleneck>,
    pub cost_per_hour: f64,
    pub littles_law: LittlesLaw,
    pub failures: failures::Failures,
    /// Scheduled jobs; absent without them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jobs: Option<messages::JobsSummary>,
    pub engine: EngineSummary,
    #[serde(skip)]
    pub timeseries: Vec<IntervalRow>,
    #[serde(skip)]
    pub component_order: Vec<String>,
}

impl Results {
    /// Indices in `component_order` of the servers whose summary passes `keep`.
    pub(crate) fn servers_where(
        &self,
        keep: impl Fn(&component::ServerSummary) -> bool,
    ) -> Vec<usize> {
        self.component_order
            .iter()
            .enumerate()
            .filter(|(_, n)| {
                self.components
                    .get(*n)
                    .and_then(|c| c.server())
                    .is_some_and(&keep)
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// Reads the results out of a finished simulation.
    pub(crate) fn from_simulation(sim: &mut Simulation, stop: StopReason) -> Results {
        // Fleets: their scaling sections, and what they cost per hour over the window.
        let end = sim.ctx.now;
        let rows = &sim.ctx.metrics.timeseries.rows;
        let mut scaled: Vec<Option<(scaling::ScalingSummary, f64, u32)>> =
            vec![None; sim.components.len()];
        for f in &mut sim.fleets {
            let cost = f.mean_billed * f.spec.price_per_hour;
            scaled[f.spec.component.index()] =
                Some((scaling::scaling_summary(f, end, rows), cost, f.spec.max));
        }
        let sc = &sim.ctx.scenario;
        let measured = sim.ctx.window.span().as_secs();
        let per_s = |n: u64| {
            if measured > 0.0 {
                round(n as f64 / measured, 3)
            } else {
                0.0
            }
        };
        let m = &sim.ctx.metrics;
        let classes =
            sc.workload
                .classes
                .iter()
                .enumerate()
                // A class of weight 0 is a message class: users never send it.
                .filter(|(_, c)| c.weight > 0.0)
                .map(|(i, c)| {
                    let o = &m.class_outcomes[i];
                    let summary = ClassSummary {
                        requests: RequestSummary::of(o),
                        throughput_rps: per_s(m.class_completed_in_window[i]),
                        latency_ms: LatencySummary::of(if m.class_latency.len() > 1 {
                            &m.class_latency[i]
                        } else {
                            &m.latency
                        }),
                        circuit_breaker: sim.client.breakers.get(i).and_then(Option::as_ref).map(
                            |b| BreakerSummary {
                                opened: b.opened,
                                refused: b.refused,
                            },
                        ),
                    };
                    (c.name.clone(), summary)
                })
                .collect();
        let mut components = BTreeMap::new();
        let mut bottleneck: Option<(Bottleneck, f64)> = None;
        let mut replication = BTreeMap::new();
        for (i, (spec, state)) in sc.components.iter().zip(&sim.components).enumerate() {
            let mut summary = component_summary(spec, state, sc, per_s);
            if let Some((scaling, cost, max)) = scaled[i].clone()
                && let Some(s) = summary.server_mut()
            {
                // It cost what its machines cost while they existed, not its largest size.
                s.cost_per_hour = round(cost, 4);
                s.replicas = max;
                s.scaling = Some(scaling);
            }
            if let (Some(h), Some(s)) = (spec.host, summary.server_mut()) {
                s.host = Some(sc.hosts[usize::from(h)].clone());
            }
            if let ComponentSummary::Database(d) = &mut summary {
                d.replication = failures::replication_summary(sim, i, per_s);
                if let Some(r) = &d.replication {
                    replication.insert(spec.name.clone(), r.clone());
                }
            }
            let memory = working_memory_share(state);
            let host = spec.host.map(|h| sc.hosts[usize::from(h)].clone());
            for (resource, (u, machine, mean), rank) in busy_resources(&summary, memory) {
                let score = u * rank;
                if u > 0.0 && bottleneck.as_ref().is_none_or(|(_, best)| score > *best) {
                    let of_host = matches!(resource, "cpu" | "nic" | "disk" | "memory");
                    let b = Bottleneck {
                        component: spec.name.clone(),
                        machine,
                        resource: resource.into(),
                        utilisation: round(u, 4),
                        mean_utilisation: mean,
                        host: host.clone().filter(|_| of_host),
                    };
                    bottleneck = Some((b, score));
                }
            }
            components.insert(spec.name.clone(), summary);
        }
        let in_system = crate::metrics::time_weighted::mean_between(
            m.in_system_area_at_start,
            m.in_system_area_at_end,
            sim.ctx.window.span(),
        );
        let arrival = if measured > 0.0 {
            m.outcomes.total as f64 / measured
        } else {
            0.0
        };
        let sojourn = if m.outcomes.total > 0 {
            m.sojourn_sum_ns as f64 / 1e9 / m.outcomes.total as f64
        } else {
            0.0
        };
        let predicted = arrival * sojourn;
        let relative_error = if in_system > 0.0 {
            (in_system - predicted).abs() / in_system
        } else {
            0.0
        };
        Results {
            schema_version: SCHEMA_VERSION,
            dsim_version: env!("CARGO_PKG_VERSION").to_string(),
            scenario: sc.name.clone(),
            description: sc.description.clone(),
            seed: sc.seed,
            load: LoadSummary::of(&sc.workload.model),
            // The window as run: a `max_events` stop cuts it short.
            sim_time_s: sim.ctx.window.end.as_secs(),
            warmup_s: sim.ctx.window.start.as_secs(),
            warmup_auto: None,
            measured_s: measured,
            stop_reason: stop,
            requests: RequestSummary::of(&m.outcomes),
            retries: m.retries,
            throughput_rps: per_s(m.completed_in_window),
            goodput_rps: per_s(m.good_in_window),
            goodput_within_ms: round(m.good_within.as_ms(), 6),
            error_rate: if m.outcomes.total > 0 {
                round(m.outcomes.errors() as f64 / m.outcomes.total as f64, 6)
            } else {
                0.0
            },
            latency_ms: LatencySummary::of(&m.latency),
            classes,
            components,
            // An empty window (stopped during warm-up) measured nothing to rank.
            bottleneck: bottleneck.filter(|_| measured > 0.0).map(|(b, _)| b),
            cost_per_hour: round(
                sc.components
                    .iter()
                    .zip(&scaled)
                    .map(|(c, f)| f.as_ref().map_or_else(|| c.kind.cost_per_hour(), |f| f.1))
                    .sum(),
                4,
            ),
            failures: failures::failures(sim, &m.timeseries.rows, &replication),
            jobs: messages::jobs_summary(sim),
            littles_law: LittlesLaw {
                mean_in_system: round(in_system, 4),
                arrival_rate_rps: round(arrival, 4),
                mean_time_in_system_s: round(sojourn, 6),
                relative_error: round(relative_error, 6),
            },
            engine: EngineSummary {
                events: sim.events,
                peak_requests: sim.ctx.requests.peak(),
                peak_frames: sim.ctx.frames.peak(),
            },
            timeseries: m.timeseries.rows.clone(),
            component_order: sc.components.iter().map(|c| c.name.clone()).collect(),
        }
    }

    /// `summary.json`: pretty, with a trailing newline.
    pub(crate) fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self)
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        s.push('\n');
        s
    }
}
