//! The serde mirror of a scenario file: field names, defaults and JSON Schema, and no logic.
//!
//! Every struct denies unknown fields so a typo is an error, not a silently ignored line.
//! Doc comments here become the descriptions in `dsim schema`, so they are written for users.
//! Checking values (ranges, references between components) belongs to `validate.rs`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
    pub duration_s: f64,
    /// Requests started before this time are simulated but left out of statistics.
    #[serde(default)]
    pub warmup_s: f64,
    /// Stop with reason `max_events` after this many events (guards runaway scenarios).
    #[serde(default = "default_max_events")]
    pub max_events: u64,
    /// Width of one row of `timeseries.csv`, in seconds.
    #[serde(default = "default_interval_s")]
    pub interval_s: f64,
    /// Latency of the links between clients and components.
    #[serde(default)]
    pub network: RawNetwork,
    /// Who sends requests, how often, and what they ask for.
    pub workload: RawWorkload,
    /// The architecture: named components (services, load balancers, caches, databases).
    pub components: BTreeMap<String, RawComponent>,
    /// Scheduled failures on the simulated clock.
    #[serde(default)]
    pub faults: Vec<RawFault>,
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
}

impl Default for RawNetwork {
    fn default() -> Self {
        RawNetwork {
            client_link: internet_link(),
            default_link: lan_link(),
            links: Vec::new(),
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
    #[serde(flatten)]
    pub link: RawLink,
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
    #[serde(default)]
    pub classes: BTreeMap<String, RawClass>,
    /// A client gives up on an attempt after this long, in milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: f64,
    /// Retries after a rejection, failure or timeout. Default: one attempt, no retry.
    #[serde(default)]
    pub retry: RawRetry,
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
    /// Which key each request touches (drives caches and, later, shards).
    #[serde(default)]
    pub keys: RawKeys,
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

fn one_u32() -> u32 {
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

/// The hardware one replica runs on.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMachine {
    /// CPU cores: CPU steps of different requests run in parallel up to this many.
    pub cores: u32,
    /// Relative core speed: CPU times in the scenario are divided by it (vertical scaling).
    #[serde(default = "one")]
    pub cpu_speed: f64,
    /// Memory in GiB; `base_memory_gb` plus per-connection and per-request memory must fit.
    #[serde(default = "default_ram_gb")]
    pub ram_gb: f64,
    /// Memory taken by the OS and the program before any request, in GiB.
    #[serde(default = "default_base_memory_gb")]
    pub base_memory_gb: f64,
    /// Memory held by each open connection (socket buffers), in KiB.
    #[serde(default = "default_memory_per_connection_kb")]
    pub memory_per_connection_kb: f64,
    /// Memory held by each request in flight on this machine, in KiB.
    #[serde(default = "default_memory_per_request_kb")]
    pub memory_per_request_kb: f64,
    /// Network card bandwidth in Gbit/s; bytes in and out take serialisation time.
    #[serde(default = "default_nic_gbps")]
    pub nic_gbps: f64,
    /// Most connections open at once (the seeds' 10k concurrent; 65,535 ports at most).
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
    /// Random disk reads/writes per second; each disk I/O step takes 1/iops on a FIFO disk.
    #[serde(default = "default_disk_iops")]
    pub disk_iops: f64,
    /// Price of one replica per hour, in any currency.
    #[serde(default)]
    pub cost_per_hour: f64,
}

fn default_ram_gb() -> f64 {
    16.0
}
fn default_base_memory_gb() -> f64 {
    1.0
}
fn default_memory_per_connection_kb() -> f64 {
    64.0
}
fn default_memory_per_request_kb() -> f64 {
    256.0
}
fn default_nic_gbps() -> f64 {
    10.0
}
fn default_max_connections() -> u32 {
    10_000
}
fn default_disk_iops() -> f64 {
    10_000.0
}

/// A component of the architecture. `kind` must be the first key.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RawComponent {
    Service(RawService),
    LoadBalancer(RawLoadBalancer),
    Cache(RawCache),
    Database(RawDatabase),
}

/// The kinds a component can have, in the order error messages list them.
pub const COMPONENT_KINDS: [&str; 4] = ["service", "load_balancer", "cache", "database"];

/// Application servers: `replicas` identical machines running the same handlers.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    pub machine: RawMachine,
    /// Identical machines; a load balancer spreads requests over them.
    #[serde(default = "one_u32")]
    pub replicas: u32,
    /// Requests handled at once per replica (thread pool); a worker is held through calls.
    #[serde(default = "default_workers")]
    pub workers: u32,
    /// Requests waiting for a worker per replica; one more is rejected with `queue_full`.
    #[serde(default = "default_queue_capacity")]
    pub queue_capacity: u32,
    /// Steps per request class; the key `default` serves classes without their own handler.
    pub handlers: BTreeMap<String, Vec<RawStep>>,
    /// Connection pools towards databases, by database name. Without one, every call opens
    /// (and pays for) a new connection.
    #[serde(default)]
    pub connection_pools: BTreeMap<String, RawPool>,
}

fn default_workers() -> u32 {
    64
}
fn default_queue_capacity() -> u32 {
    1_000
}

/// One step of a handler. Exactly one key.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RawStep {
    /// Work on a CPU core for this long (divided by the machine's `cpu_speed`).
    CpuMs(RawDist),
    /// Call another component and wait for its answer.
    Call(String),
    /// This many random disk I/Os on this machine's disk.
    DiskIos(u32),
}

/// A client-side pool of database connections, per replica of the calling service.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPool {
    /// Connections kept open; callers beyond it wait for one (that wait is measured).
    pub size: u32,
}

/// Spreads requests over the replicas of one or more services.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLoadBalancer {
    /// Service names; every replica of each becomes a backend.
    pub backends: Vec<String>,
    /// How a backend is chosen.
    #[serde(default)]
    pub policy: LbPolicy,
    /// For `weighted`: one weight per entry of `backends` (shared by its replicas).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<Vec<f64>>,
    /// Time to forward a request.
    #[serde(default = "default_forward")]
    pub forward_ms: RawDist,
    /// Most requests in flight through the balancer; one more is rejected (`connection_limit`).
    #[serde(default = "default_lb_connections")]
    pub max_connections: u32,
    /// Active health checks; without them a dead backend is never taken out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<RawHealthCheck>,
    /// Price per hour.
    #[serde(default)]
    pub cost_per_hour: f64,
}

fn default_forward() -> RawDist {
    RawDist::Constant { ms: 0.05 }
}
fn default_lb_connections() -> u32 {
    100_000
}

/// Backend choice.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LbPolicy {
    #[default]
    RoundRobin,
    LeastConnections,
    /// The same user always lands on the same backend (while it is healthy).
    IpHash,
    Random,
    Weighted,
    /// Pick two backends at random, send to the one with fewer connections.
    PowerOfTwoChoices,
}

/// How a load balancer notices dead backends.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawHealthCheck {
    /// Time between two checks of a backend.
    #[serde(default = "default_check_interval_ms")]
    pub interval_ms: f64,
    /// Consecutive failed checks before a backend is taken out.
    #[serde(default = "default_unhealthy")]
    pub unhealthy_threshold: u32,
    /// Consecutive passed checks before it is put back.
    #[serde(default = "default_healthy")]
    pub healthy_threshold: u32,
}

fn default_check_interval_ms() -> f64 {
    5_000.0
}
fn default_unhealthy() -> u32 {
    3
}
fn default_healthy() -> u32 {
    2
}

/// A cache in front of another component: hits answer at once, misses call `backing`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCache {
    pub machine: RawMachine,
    /// CPU time of one lookup.
    #[serde(default = "default_lookup")]
    pub lookup_ms: RawDist,
    /// Component called on a miss.
    pub backing: String,
    /// A fixed hit ratio, or a real LRU over request keys.
    pub policy: RawCachePolicy,
    /// Lookups served at once.
    #[serde(default = "default_cache_workers")]
    pub workers: u32,
    /// Lookups waiting; one more is rejected with `queue_full`.
    #[serde(default = "default_queue_capacity")]
    pub queue_capacity: u32,
}

fn default_lookup() -> RawDist {
    RawDist::Constant { ms: 0.1 }
}
fn default_cache_workers() -> u32 {
    1_024
}

/// Whether a lookup hits.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RawCachePolicy {
    /// Each lookup hits with this probability, whatever its key.
    HitRatio(f64),
    /// Least-recently-used over request keys, holding at most `capacity_keys`.
    Lru { capacity_keys: u64 },
}

/// A database server: connections, query costs, an index switch.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDatabase {
    /// Its machine; `machine.max_connections` is the database's connection cap.
    pub machine: RawMachine,
    /// Query cost per request class; the key `default` serves the others.
    pub queries: BTreeMap<String, RawQuery>,
    /// With `false`, reads scan instead of seeking: CPU and disk I/O multiply by
    /// `unindexed_factor`.
    #[serde(default = "yes")]
    pub indexed: bool,
    /// How much dearer an unindexed read is.
    #[serde(default = "default_unindexed_factor")]
    pub unindexed_factor: f64,
    /// Time to open a new connection (handshake, auth, backend start).
    #[serde(default = "default_connect")]
    pub connect_ms: RawDist,
}

fn yes() -> bool {
    true
}
fn default_unindexed_factor() -> f64 {
    20.0
}
fn default_connect() -> RawDist {
    RawDist::Constant { ms: 3.0 }
}

/// The cost of one query.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawQuery {
    /// `read` or `write`; only reads use the index.
    #[serde(default)]
    pub op: QueryOp,
    /// CPU time on the database machine.
    pub cpu_ms: RawDist,
    /// Random disk I/Os.
    #[serde(default)]
    pub disk_ios: u32,
}

/// Read or write.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum QueryOp {
    #[default]
    Read,
    Write,
}

/// A scheduled failure.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RawFault {
    /// One replica of a component stops at `at_s`; it comes back after `recover_after_s`
    /// (never, if absent). Work on it is lost.
    Crash {
        component: String,
        #[serde(default)]
        replica: u32,
        at_s: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        recover_after_s: Option<f64>,
    },
}
