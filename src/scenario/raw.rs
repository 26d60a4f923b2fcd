//! The serde mirror of a scenario file: field names, defaults and JSON Schema, and no logic.
//!
//! Every struct denies unknown fields so a typo is an error, not a silently ignored line.
//! Doc comments here become the descriptions in `dsim schema`, so they are written for users.
//! Checking values (ranges, references between components) belongs to `validate.rs`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use super::raw_components::*;
pub use super::raw_database::*;
pub use super::raw_elastic::*;
pub use super::raw_gateway::*;
pub use super::raw_messaging::*;

/// A whole scenario: an architecture, a workload and how long to simulate it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    /// Optional link to this JSON Schema, for editors; ignored by dsim.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Short name; also the default output folder `output/<name>/`.
    pub name: String,
    /// What this scenario teaches or tests, in a sentence or two.
    #[serde(default)]
    pub description: String,
    /// Seed of every random stream; `dsim run --seed N` overrides it.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Simulated time during which users send requests, in seconds.
    #[schemars(range(min = 0.000001, max = 10000000))]
    pub duration_s: f64,
    /// Requests started before this time are simulated but left out of statistics; "auto"
    /// chooses it by MSER from a pilot run of the same scenario and seed.
    /// Left out: 0 for a run; with `dsim run --replications`, "auto".
    #[serde(default)]
    #[schemars(schema_with = "warmup_schema")]
    pub warmup_s: Option<RawWarmup>,
    /// Stop with reason `max_events` after this many events (guards runaway scenarios).
    #[serde(default = "default_max_events")]
    pub max_events: u64,
    /// Width of one row of `timeseries.csv`, in seconds.
    #[serde(default = "default_interval_s")]
    #[schemars(range(min = 0.001, max = 10000000))]
    pub interval_s: f64,
    /// Latency of the links between clients and components.
    #[serde(default)]
    pub network: RawNetwork,
    /// Geographic regions by name, with the share of users living in each. Default: one
    /// region holding everything.
    #[serde(
        deserialize_with = "super::unique::map",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub regions: BTreeMap<String, RawRegion>,
    /// Machines shared by several components, by name: a component giving `host` instead
    /// of `machine` runs on one, competing with the others there for its cores, RAM, NIC
    /// and disk (client, server and database on one laptop). Default: none.
    #[serde(
        deserialize_with = "super::unique::map",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub hosts: BTreeMap<String, RawMachine>,
    /// Who sends requests, how often, and what they ask for.
    pub workload: RawWorkload,
    /// The architecture: named components (services, load balancers, caches, databases).
    #[serde(deserialize_with = "super::unique::map")]
    pub components: BTreeMap<String, RawComponent>,
    /// Scheduled failures on the simulated clock.
    #[serde(default)]
    pub faults: Vec<RawFault>,
    /// Scheduled batch jobs (cron), by name.
    #[serde(
        deserialize_with = "super::unique::map",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub jobs: BTreeMap<String, RawJob>,
    /// Service-level objectives that `dsim check` holds the run to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slos: Option<RawSlos>,
}

/// Service-level objectives (each optional): latency ceilings in milliseconds, an error-rate
/// ceiling, and availability and throughput floors; `classes` sets them per request class.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSlos {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p50_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p90_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p999_ms: Option<f64>,
    /// Share of requests not completed (rejected, timed out or failed), at most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_rate: Option<f64>,
    /// Share of requests completed, at least.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability: Option<f64>,
    /// Requests completed per second, at least.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput_rps_min: Option<f64>,
    /// Every fault's time to recover (failures.faults), at most, in seconds; a fault whose
    /// errors never stopped fails it. Whole run only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_recover_s: Option<f64>,
    /// Acknowledged writes lost by all databases, at most. Whole run only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writes_lost: Option<f64>,
    /// The longest any message waited in any queue for a receive (its `max_age_s`), at
    /// most, in seconds: the consumers keep up. Whole run only; needs a queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_queue_age_s: Option<f64>,
    /// The most messages any queue held at once (its `peak_depth`; a log's lag), at most.
    /// Whole run only; needs a queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_queue_depth: Option<f64>,
    /// What the system costs per hour, at most (its `cost_per_hour`: fleets at their mean
    /// size over the window). Whole run only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_per_hour: Option<f64>,
    /// The same objectives for single request classes.
    #[serde(
        deserialize_with = "super::unique::map",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub classes: BTreeMap<String, RawSlos>,
}

/// `warmup_s`: seconds, or `"auto"`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum RawWarmup {
    Seconds(f64),
    Auto(AutoWord),
}

/// The word `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum AutoWord {
    #[serde(rename = "auto")]
    Auto,
}

impl Default for RawWarmup {
    fn default() -> Self {
        RawWarmup::Seconds(0.0)
    }
}

fn warmup_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "description": "Seconds (≥ 0, < duration_s), or \"auto\" to choose it by MSER. Left out: 0, or \"auto\" with dsim run --replications.",
        "oneOf": [{"type": "number", "minimum": 0}, {"const": "auto"}],
        "default": 0
    })
}

fn default_seed() -> u64 {
    1
}
fn default_max_events() -> u64 {
    2_000_000_000
}
fn default_interval_s() -> f64 {
    1.0
}

/// A random duration in milliseconds. Exactly one key names the family.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RawDist {
    /// Always the same value.
    Constant { ms: f64 },
    /// Uniform between two values.
    Uniform { min_ms: f64, max_ms: f64 },
    /// Exponential (memoryless) with the given mean.
    Exponential { mean_ms: f64 },
    /// Normal, truncated at zero by resampling.
    Normal { mean_ms: f64, std_ms: f64 },
    /// Lognormal with the given mean and standard deviation (not those of its logarithm).
    Lognormal { mean_ms: f64, std_ms: f64 },
    /// Pareto (heavy tail): minimum value `scale_ms`, tail index `shape` (> 1 for a finite mean).
    Pareto { scale_ms: f64, shape: f64 },
}

/// Named link latencies, so the seeds' pictures can be drawn without looking numbers up.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LinkPreset {
    /// Same machine, unix socket or loopback: constant 0.01 ms one way.
    Ipc,
    /// Same data centre: lognormal, mean 0.25 ms, std 0.1 ms one way.
    Lan,
    /// Across a region: lognormal, mean 2 ms, std 0.5 ms one way.
    Region,
    /// Users on the internet: lognormal, mean 40 ms, std 15 ms one way.
    Internet,
}

/// The one-way latency of a link: a preset or a distribution.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawLink {
    /// One of `ipc`, `lan`, `region`, `internet`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<LinkPreset>,
    /// An explicit one-way latency distribution (instead of a preset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<RawDist>,
}

/// Which link joins which components.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawNetwork {
    /// Between the users and the entry component. Default: `internet`.
    #[serde(default = "internet_link")]
    pub client_link: RawLink,
    /// Between any two components not listed in `links`. Default: `lan`.
    #[serde(default = "lan_link")]
    pub default_link: RawLink,
    /// Overrides for pairs of components (both directions).
    #[serde(default)]
    pub links: Vec<RawLinkOverride>,
    /// One-way latency between each pair of regions (added to the links above when the two
    /// ends are in different regions). Every pair of declared regions needs one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub region_links: Vec<RawRegionLink>,
}

/// A region.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRegion {
    /// Relative share of users living here (shares need not add up to 1).
    #[serde(default = "one")]
    pub users: f64,
}

/// The latency between two regions, both directions.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRegionLink {
    /// The two region names.
    pub between: [String; 2],
    /// One-way latency.
    pub latency_ms: RawDist,
}

impl Default for RawNetwork {
    fn default() -> Self {
        RawNetwork {
            client_link: internet_link(),
            default_link: lan_link(),
            links: Vec::new(),
            region_links: Vec::new(),
        }
    }
}
fn internet_link() -> RawLink {
    RawLink {
        preset: Some(LinkPreset::Internet),
        latency_ms: None,
    }
}
fn lan_link() -> RawLink {
    RawLink {
        preset: Some(LinkPreset::Lan),
        latency_ms: None,
    }
}

/// A link between two named components, used in both directions.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLinkOverride {
    /// The two component names.
    pub between: [String; 2],
    /// One of `ipc`, `lan`, `region`, `internet`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<LinkPreset>,
    /// An explicit one-way latency distribution (instead of a preset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<RawDist>,
}

impl RawLinkOverride {
    /// The link it sets (written inline, without a nested object).
    pub fn link(&self) -> RawLink {
        RawLink {
            preset: self.preset,
            latency_ms: self.latency_ms.clone(),
        }
    }
}

/// The users.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawWorkload {
    /// Closed (a fixed number of users who think between requests) or open (an arrival rate).
    pub model: RawLoadModel,
    /// How the load changes over time (a multiplier on users or rate). Default: constant.
    #[serde(default)]
    pub profile: RawProfile,
    /// The component every request enters by, unless its class names another.
    pub entry: String,
    /// Request classes by name. Default: one class called `default`.
    #[serde(deserialize_with = "super::unique::map", default)]
    pub classes: BTreeMap<String, RawClass>,
    /// A client gives up on an attempt after this long, in milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: f64,
    /// Retries after a rejection, failure or timeout. Default: one attempt, no retry.
    #[serde(default)]
    pub retry: RawRetry,
    /// How users connect to the entry: a new connection per request (default), or one kept
    /// open between requests.
    #[serde(default)]
    pub connections: RawConnections,
}

/// How users connect to the entry.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RawConnections {
    /// Each attempt opens a connection (a TCP handshake's round trip first) and closes it
    /// when answered.
    #[default]
    PerRequest,
    /// A closed-loop user keeps its connection to one entry machine open between requests;
    /// the server closes it after `idle_timeout_s` without a request (nginx: 75 s).
    KeepAlive {
        #[serde(default = "default_idle_timeout_s")]
        idle_timeout_s: f64,
    },
}

fn default_idle_timeout_s() -> f64 {
    75.0
}

fn default_timeout_ms() -> f64 {
    30_000.0
}

/// Closed or open load.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RawLoadModel {
    /// `users` each send a request, wait for its outcome, think, and repeat.
    Closed { users: u64, think_time_ms: RawDist },
    /// Requests arrive as a Poisson process of `rate_per_s` requests per second.
    Open { rate_per_s: f64 },
}

/// A load multiplier over time: on the arrival rate (open) or the share of active users
/// (closed, at most 1).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RawProfile {
    /// Level 1 all the time.
    #[default]
    Constant,
    /// Piecewise constant: each step holds its level from `at_s` until the next step.
    Steps(Vec<RawStepLevel>),
    /// Straight line from `from` at `start_s` to `to` at `end_s`, flat outside.
    Ramp {
        from: f64,
        to: f64,
        start_s: f64,
        end_s: f64,
    },
    /// Level `base`, except `peak` from `start_s` for `duration_s`.
    Spike {
        base: f64,
        peak: f64,
        start_s: f64,
        duration_s: f64,
    },
}

/// One step of a `steps` profile.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStepLevel {
    pub at_s: f64,
    pub level: f64,
}

/// A kind of request.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawClass {
    /// Relative share of requests (weights need not add up to 1).
    #[serde(default = "one")]
    pub weight: f64,
    /// Entry component for this class; default: the workload's `entry`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
    /// Bytes sent by the client.
    #[serde(default = "default_request_bytes")]
    pub request_bytes: u64,
    /// Bytes sent back.
    #[serde(default = "default_response_bytes")]
    pub response_bytes: u64,
    /// Which key each request touches (drives caches and shards).
    #[serde(default)]
    pub keys: RawKeys,
    /// This class's own load over time (a daily curve for one kind of traffic): its level
    /// multiplies the class's weight at each moment, on top of `workload.profile`. Absent:
    /// constant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<RawProfile>,
    /// Stop sending this class's requests for a while when too many recent attempts failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circuit_breaker: Option<RawCircuitBreaker>,
    /// Retry this class's attempts a gateway refused `rate_limited` (HTTP 429), like any
    /// other error. Default false: a client told to slow down does not send again at once.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retry_rate_limited: bool,
}

/// A client-side circuit breaker for one class.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCircuitBreaker {
    /// How many recent attempts it remembers.
    #[serde(default = "default_breaker_window")]
    #[schemars(range(min = 1, max = 100000))]
    pub window: u32,
    /// It opens when at least this share of them failed (rejected, failed or timed out).
    #[serde(default = "half")]
    pub failure_ratio: f64,
    /// While open, attempts are refused at once (`circuit_open`) for this long.
    #[serde(default = "default_open_ms")]
    pub open_ms: f64,
    /// Then this many attempts are let through; if all succeed it closes, else it opens again.
    #[serde(default = "one_u32")]
    #[schemars(range(min = 1, max = 100000))]
    pub half_open_probes: u32,
}

fn default_breaker_window() -> u32 {
    20
}
fn half() -> f64 {
    0.5
}
fn default_open_ms() -> f64 {
    5_000.0
}

fn one() -> f64 {
    1.0
}
fn default_request_bytes() -> u64 {
    1_000
}
fn default_response_bytes() -> u64 {
    10_000
}

/// How request keys are drawn.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RawKeys {
    /// Every one of `count` keys equally likely.
    Uniform { count: u64 },
    /// Key k (1-based) has probability proportional to 1/k^exponent: a few hot keys.
    Zipf { count: u64, exponent: f64 },
}

impl Default for RawKeys {
    fn default() -> Self {
        RawKeys::Uniform { count: 1_000_000 }
    }
}

/// Client retry policy: exponential backoff with jitter.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRetry {
    /// Attempts in all, including the first; 1 means never retry.
    #[serde(default = "one_u32")]
    #[schemars(range(min = 1, max = 100))]
    pub max_attempts: u32,
    /// Backoff before the first retry, in milliseconds.
    #[serde(default = "default_backoff_ms")]
    pub initial_backoff_ms: f64,
    /// Each further retry waits this many times longer.
    #[serde(default = "two")]
    pub multiplier: f64,
    /// Backoff never exceeds this, in milliseconds.
    #[serde(default = "default_max_backoff_ms")]
    pub max_backoff_ms: f64,
    /// `full`: uniform in [0, backoff]; `equal`: backoff/2 + uniform in [0, backoff/2]; `none`.
    #[serde(default)]
    pub jitter: Jitter,
}

impl Default for RawRetry {
    fn default() -> Self {
        RawRetry {
            max_attempts: 1,
            initial_backoff_ms: default_backoff_ms(),
            multiplier: 2.0,
            max_backoff_ms: default_max_backoff_ms(),
            jitter: Jitter::Full,
        }
    }
}

pub(super) fn one_u32() -> u32 {
    1
}
fn two() -> f64 {
    2.0
}
fn default_backoff_ms() -> f64 {
    100.0
}
fn default_max_backoff_ms() -> f64 {
    10_000.0
}

/// Randomisation of a retry backoff.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Jitter {
    #[default]
    Full,
    Equal,
    None,
}
