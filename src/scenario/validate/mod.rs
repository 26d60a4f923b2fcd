//! Validation: raw serde types → the model's typed `Scenario`, resolving names to ids and
//! converting units, while collecting *every* problem with its JSON path so a user fixes a
//! file in one pass instead of one error per run.

use crate::engine::time::SimTime;
use crate::model::distribution::{Dist, show};
use crate::model::ids::ComponentId;
use crate::model::net::network::preset_dist;
use crate::model::{ComponentSpec, Scenario, Warmup};
use components::component;
use faults::faults;
use topology::{check_call_cycles, network};
use workload::workload;

mod balancer;
mod batching;
mod components;
mod dns;
mod faults;
mod fleets;
mod gateway;
mod hosts;
mod queue;
mod regions;
mod replication;
mod slos;
mod topology;
pub(crate) use topology::{call_edges, find_cycle};
mod workload;
use crate::scenario::raw::*;
use crate::scenario::suggest::hint;

/// One thing wrong with a scenario, at a JSON path such as `components.api.machine.cores`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

/// The id given to a reference that does not resolve (validation fails, so it is never run).
pub(super) const UNKNOWN: ComponentId = ComponentId::from_index(u32::MAX as usize);

/// The largest LRU key space: its arrays take about 9 bytes per key.
pub(super) const MAX_LRU_KEYS: u64 = 50_000_000;
/// Closed-model users are indices in events (u32); keep well inside.
pub(super) const MAX_USERS: u64 = 100_000_000;
/// Most components: each costs up to three latency histograms (1.1 MiB when all are used),
/// so 1,000 bound the run to about a gigabyte of them; replicas, shards and users are
/// counts, not components.
pub(super) const MAX_COMPONENTS: usize = 1_000;
/// Longest scenario name in bytes: output folders are named after it (`NAME-capacity`,
/// `A-vs-B`, a hidden staging folder beside them) within a file system's 255 bytes.
const MAX_NAME_BYTES: usize = 100;

pub(super) struct Checker<'a> {
    pub(super) raw: &'a RawScenario,
    problems: Vec<Problem>,
    /// The problems already recorded, to keep one of each in O(log n).
    seen: std::collections::BTreeSet<(String, String)>,
    pub(super) names: Vec<&'a str>,
    pub(super) class_names: Vec<String>,
    /// The machines of `hosts`, in name order, once checked.
    pub(super) host_specs: Vec<crate::model::compute::machine::MachineSpec>,
}

impl<'a> Checker<'a> {
    /// Records a problem once: a part checked for several classes (the `default` handler
    /// compiled for each) reports the same mistake only once.
    pub(super) fn problem(&mut self, path: impl Into<String>, message: impl Into<String>) {
        let p = Problem {
            path: path.into(),
            message: message.into(),
        };
        if self.seen.insert((p.path.clone(), p.message.clone())) {
            self.problems.push(p);
        }
    }

    pub(super) fn positive(&mut self, path: &str, v: f64) -> f64 {
        if !(v.is_finite() && v > 0.0) {
            self.problem(
                path,
                format!("must be a finite number > 0, got {}", show(v)),
            );
        }
        v
    }

    pub(super) fn non_negative(&mut self, path: &str, v: f64) -> f64 {
        if !(v.is_finite() && v >= 0.0) {
            self.problem(
                path,
                format!("must be a finite number ≥ 0, got {}", show(v)),
            );
        }
        v
    }

    /// Checks `min ≤ v ≤ max` for a finite `v` (non-finite values are reported by
    /// `positive`/`non_negative`, which callers run first). The bounds keep every duration and
    /// rate inside what integer nanoseconds and the event queue can represent.
    pub(super) fn within(&mut self, path: &str, v: f64, min: f64, max: f64) -> f64 {
        // Zero, negatives and non-finite values were reported by the caller's first check.
        if v.is_finite() && v > 0.0 && !(min..=max).contains(&v) {
            self.problem(
                path,
                format!(
                    "must be between {} and {}, got {}",
                    show(min),
                    show(max),
                    show(v)
                ),
            );
        }
        v
    }

    pub(super) fn at_least(&mut self, path: &str, v: u64, min: u64) -> u64 {
        if v < min {
            self.problem(path, format!("must be ≥ {min}, got {v}"));
        }
        v
    }

    /// Checks a whole number against `min..=max`; returns it clamped into the range (the
    /// scenario is refused anyway when it was outside).
    pub(super) fn count(&mut self, path: &str, v: u64, min: u64, max: u64) -> u64 {
        if !(min..=max).contains(&v) {
            self.problem(path, format!("must be from {min} to {max}, got {v}"));
        }
        v.clamp(min, max)
    }

    /// Checks a number against `min..=max` (finite): one message with the range.
    pub(super) fn number(&mut self, path: &str, v: f64, min: f64, max: f64) -> f64 {
        if !(v.is_finite() && (min..=max).contains(&v)) {
            self.problem(
                path,
                format!(
                    "must be a number from {} to {}, got {}",
                    show(min),
                    show(max),
                    show(v)
                ),
            );
        }
        v.clamp(min, max)
    }

    /// Checks that a list has at most `max` items.
    pub(super) fn at_most_items(&mut self, path: &str, len: usize, max: usize, what: &str) {
        if len > max {
            self.problem(path, format!("at most {max} {what}, got {len}"));
        }
    }

    pub(super) fn dist(&mut self, path: &str, raw: &RawDist) -> Dist {
        match Dist::from_raw(raw) {
            Ok(d) => d,
            Err((field, msg)) => {
                let family = serde_json::to_value(raw)
                    .ok()
                    .and_then(|v| v.as_object().and_then(|o| o.keys().next().cloned()))
                    .unwrap_or_default();
                self.problem(format!("{path}.{family}.{field}"), msg);
                Dist::Constant(SimTime::ZERO)
            }
        }
    }

    /// The id of component `name`, or `UNKNOWN` and a problem with a suggestion.
    pub(super) fn component(&mut self, path: &str, name: &str) -> ComponentId {
        match self.names.binary_search(&name) {
            Ok(i) => ComponentId::from_index(i),
            Err(_) => {
                let mut h = hint(name, self.names.iter().copied());
                if h.is_empty() {
                    h = format!("; the components are {}", listed(&self.names));
                }
                self.problem(path, format!("no component named `{name}`{h}"));
                UNKNOWN
            }
        }
    }

    pub(super) fn kind_of(&self, id: ComponentId) -> Option<&'a RawComponent> {
        self.raw.components.values().nth(id.index())
    }

    pub(super) fn link(&mut self, path: &str, link: &RawLink) -> Dist {
        match (&link.preset, &link.latency_ms) {
            (Some(p), None) => {
                Dist::from_raw(&preset_dist(*p)).unwrap_or(Dist::Constant(SimTime::ZERO))
            }
            (None, Some(d)) => self.dist(&format!("{path}.latency_ms"), d),
            _ => {
                self.problem(
                    path,
                    "give exactly one of `preset` (ipc, lan, region, internet) or `latency_ms`",
                );
                Dist::Constant(SimTime::ZERO)
            }
        }
    }
}

/// `a`, `b` and `c`, or the first eight and how many more.
pub(super) fn listed(names: &[&str]) -> String {
    const SHOWN: usize = 8;
    let quoted: Vec<String> = names.iter().take(SHOWN).map(|n| format!("`{n}`")).collect();
    match names.len() {
        0 => "none".into(),
        1 => quoted[0].clone(),
        n if n <= SHOWN => format!("{} and {}", quoted[..n - 1].join(", "), quoted[n - 1]),
        n => format!("{} and {} more", quoted.join(", "), n - SHOWN),
    }
}

/// Longest run: about 115 days of simulated time.
pub(super) const MAX_DURATION_S: f64 = 1e7;
/// Most request classes (each has its histogram and its copy of every handler).
pub(super) const MAX_CLASSES: usize = 100;
/// Most regions (their latencies form a table of regions²).
pub(super) const MAX_REGIONS: usize = 64;
/// Most scheduled faults (overlapping slow-downs and spikes compound).
pub(super) const MAX_FAULTS: usize = 1_000;
/// Most steps in one handler.
pub(super) const MAX_STEPS: usize = 1_000;
/// Most link overrides in `network.links`.
pub(super) const MAX_LINKS: usize = 10_000;
/// Most steps of all handlers together, each counted once per request class it serves.
const MAX_COMPILED_STEPS: usize = 1_000_000;

/// The steps the services' handlers compile to: per class, the class's handler or `default`.
fn compiled_steps(raw: &RawScenario) -> usize {
    let classes: Vec<&str> = if raw.workload.classes.is_empty() {
        vec!["default"]
    } else {
        raw.workload.classes.keys().map(String::as_str).collect()
    };
    raw.components
        .values()
        .map(|c| match c {
            RawComponent::Service(s) => classes
                .iter()
                .map(|class| {
                    s.handlers
                        .get(*class)
                        .or_else(|| s.handlers.get("default"))
                        .map_or(0, Vec::len)
                })
                .sum(),
            _ => classes.len() * 4,
        })
        .sum()
}

/// Most cells of timeseries.csv (rows × components): its rows are kept in memory.
const MAX_SERIES_CELLS: f64 = 5e6;
/// Most rows in timeseries.csv.
const MAX_INTERVALS: f64 = 1e6;

/// Checks `raw` and builds the typed scenario, or returns every problem found.
pub fn validate(raw: &RawScenario) -> Result<Scenario, Vec<Problem>> {
    let mut names: Vec<&str> = raw.components.keys().map(String::as_str).collect();
    names.sort_unstable();
    let class_names: Vec<String> = if raw.workload.classes.is_empty() {
        vec!["default".to_string()]
    } else {
        raw.workload.classes.keys().cloned().collect()
    };
    let mut c = Checker {
        raw,
        problems: Vec::new(),
        seen: std::collections::BTreeSet::new(),
        names,
        class_names,
        host_specs: Vec::new(),
    };
    if raw.name.trim().is_empty() {
        c.problem("name", "must not be empty");
    } else if raw.name.contains(['/', '\\']) || raw.name.starts_with('.') {
        c.problem(
            "name",
            "is used as a folder name: no slashes and no leading dot",
        );
    } else if raw.name.chars().any(char::is_control) {
        c.problem(
            "name",
            "is used as a folder name: no control characters (tabs, line breaks, NUL)",
        );
    } else if raw.name.len() > MAX_NAME_BYTES {
        c.problem(
            "name",
            format!(
                "is used as a folder name: at most {MAX_NAME_BYTES} bytes, got {}",
                raw.name.len()
            ),
        );
    }
    let duration = c.positive("duration_s", raw.duration_s);
    c.within("duration_s", duration, 1e-6, MAX_DURATION_S);
    let warmup = match raw.warmup_s.unwrap_or_default() {
        RawWarmup::Seconds(s) => {
            let warmup = c.non_negative("warmup_s", s);
            if duration > 0.0 && warmup >= duration {
                c.problem(
                    "warmup_s",
                    format!("must be shorter than duration_s ({duration}), got {warmup}"),
                );
            }
            Warmup::Fixed(SimTime::from_secs(warmup))
        }
        RawWarmup::Auto(_) => {
            // Only when both lengths are valid (their own problems are reported anyway).
            let rows = duration / raw.interval_s;
            let lengths_valid = duration > 0.0 && raw.interval_s >= 0.001;
            if lengths_valid
                && rows.is_finite()
                && rows < f64::from(crate::metrics::warmup::MIN_INTERVALS)
            {
                c.problem(
                    "warmup_s",
                    format!(
                        "\"auto\" needs at least {} intervals of the run to choose from, \
                         got {rows:.2} (duration_s / interval_s): lower interval_s or give \
                         the warm-up in seconds",
                        crate::metrics::warmup::MIN_INTERVALS
                    ),
                );
            }
            Warmup::Auto
        }
    };
    let interval = c.positive("interval_s", raw.interval_s);
    c.within("interval_s", interval, 0.001, MAX_DURATION_S);
    if interval >= 0.001 && duration / interval > MAX_INTERVALS {
        c.problem(
            "interval_s",
            format!(
                "gives {:.0} rows of timeseries.csv, at most {MAX_INTERVALS}: use an interval_s of at least {}",
                (duration / interval).ceil(),
                duration / MAX_INTERVALS
            ),
        );
    }
    let rows = duration / interval;
    let cells = rows * (raw.components.len() as f64 + 1.0);
    if interval >= 0.001 && rows <= MAX_INTERVALS && cells > MAX_SERIES_CELLS {
        c.problem(
            "interval_s",
            format!(
                "gives {:.0} rows × {} components of timeseries.csv, more than {MAX_SERIES_CELLS} \
                 cells: use an interval_s of at least {}",
                rows.ceil(),
                raw.components.len(),
                show(duration * (raw.components.len() as f64 + 1.0) / MAX_SERIES_CELLS)
            ),
        );
    }
    c.at_least("max_events", raw.max_events, 1);
    c.at_most_items("faults", raw.faults.len(), MAX_FAULTS, "faults");
    c.at_most_items("regions", raw.regions.len(), MAX_REGIONS, "regions");
    c.at_most_items(
        "network.links",
        raw.network.links.len(),
        MAX_LINKS,
        "link overrides",
    );
    c.at_most_items(
        "workload.classes",
        raw.workload.classes.len(),
        MAX_CLASSES,
        "request classes",
    );
    let over = raw.regions.len() > MAX_REGIONS
        || raw.workload.classes.len() > MAX_CLASSES
        || raw.faults.len() > MAX_FAULTS
        || raw.network.links.len() > MAX_LINKS;
    if over {
        // Too many to check one by one (or to build tables over): said once, and no more.
        return Err(c.problems);
    }
    let steps = compiled_steps(raw);
    if steps > MAX_COMPILED_STEPS {
        c.problem(
            "components",
            format!(
                "the handlers compile to {steps} steps (each class gets its own copy of its \
                 handler, `default` included), at most {MAX_COMPILED_STEPS}: fewer classes, \
                 components or steps"
            ),
        );
        return Err(c.problems);
    }
    if raw.components.is_empty() {
        c.problem("components", "needs at least one component");
    }
    if raw.components.len() > MAX_COMPONENTS {
        // Everything else about them would take long to check and much memory to run.
        c.problem(
            "components",
            format!(
                "at most {MAX_COMPONENTS} components, got {}: give one component replicas \
                 (\"replicas\": N) rather than N components",
                raw.components.len()
            ),
        );
        return Err(c.problems);
    }
    for name in raw.components.keys() {
        if name.is_empty()
            || !name
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-')
        {
            c.problem(
                format!("components.{name}"),
                "names use letters, digits, `_` and `-` only",
            );
        }
    }
    let workload = workload(&mut c);
    let key_space = workload
        .classes
        .iter()
        .map(|k| k.keys.count())
        .max()
        .unwrap_or(1);
    c.host_specs = hosts::hosts(&mut c);
    let mut components: Vec<ComponentSpec> = raw
        .components
        .iter()
        .map(|(name, comp)| ComponentSpec {
            name: name.clone(),
            kind: component(&mut c, name, comp, key_space),
            host: None,
        })
        .collect();
    check_call_cycles(&mut c, &components);
    let mut network = network(&mut c);
    hosts::place(&mut c, &mut components, &mut network);
    regions::dns_preferences(&mut components, network.regions.as_ref());
    replication::member_latencies(&mut components, &mut network);
    let faults = faults(&mut c, &components, network.regions.as_ref());
    let slos = slos::slos(&mut c);
    let jobs = queue::jobs(&mut c, duration);
    let fleets = fleets::fleets(&mut c, &components, duration);
    if !c.problems.is_empty() {
        return Err(c.problems);
    }
    Ok(Scenario {
        name: raw.name.clone(),
        description: raw.description.clone(),
        seed: raw.seed,
        duration: SimTime::from_secs(duration),
        warmup,
        warmup_given: raw.warmup_s.is_some(),
        max_events: raw.max_events,
        interval: SimTime::from_secs(raw.interval_s),
        network,
        workload,
        components,
        hosts: raw.hosts.keys().cloned().collect(),
        faults,
        jobs,
        fleets,
        slos,
        goodput_limit: None,
    })
}
