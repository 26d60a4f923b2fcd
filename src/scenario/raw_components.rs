//! The serde mirror of components, machines and faults (see `raw.rs` for the conventions).

use super::raw::{RawDist, one_u32};
use super::raw_database::RawDatabase;
use super::raw_messaging::{RawConsumes, RawLog, RawPublish, RawQueue, RawSend, RawTopic};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

fn one() -> f64 {
    1.0
}

/// The hardware one replica runs on.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMachine {
    /// CPU cores: CPU steps of different requests run in parallel up to this many.
    #[schemars(range(min = 1))]
    pub cores: u32,
    /// Relative core speed: CPU times in the scenario are divided by it (vertical scaling).
    #[serde(default = "one")]
    #[schemars(range(min = 0.001, max = 1000))]
    pub cpu_speed: f64,
    /// Memory in GiB; `base_memory_gb` plus per-connection and per-request memory must fit.
    #[serde(default = "default_ram_gb")]
    #[schemars(range(min = 0.000001, max = 1000000))]
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
    #[schemars(range(min = 0.000001, max = 100000))]
    pub nic_gbps: f64,
    /// Most connections open at once (the seeds' 10k concurrent; 65,535 ports at most).
    #[serde(default = "default_max_connections")]
    #[schemars(range(min = 1))]
    pub max_connections: u32,
    /// Receive buffer of the network card and kernel, in KiB: a message arriving while more
    /// than this waits to be received is dropped, and sent again after a TCP timeout.
    #[serde(default = "default_rx_buffer_kb")]
    #[schemars(range(min = 1, max = 1000000000))]
    pub rx_buffer_kb: f64,
    /// Local ports for connections it opens to one destination (Linux's default range
    /// 32768–60999): a connection holds one while open and for `time_wait_s` after closing.
    #[serde(default = "default_ephemeral_ports")]
    #[schemars(range(min = 1, max = 65535))]
    pub ephemeral_ports: u32,
    /// How long a connection it closed keeps its port (TIME_WAIT), in seconds.
    #[serde(default = "default_time_wait_s")]
    #[schemars(range(min = 0, max = 3600))]
    pub time_wait_s: f64,
    /// Random disk reads/writes per second; each disk I/O step takes 1/iops on a FIFO disk.
    #[serde(default = "default_disk_iops")]
    #[schemars(range(min = 0.001, max = 1000000000))]
    pub disk_iops: f64,
    /// Price of one replica per hour, in any currency.
    #[serde(default)]
    pub cost_per_hour: f64,
    /// How runnable workers share the cores: the operating system's time slices (threads),
    /// or each CPU step run to its end in arrival order (an event loop).
    #[serde(default)]
    pub cpu_scheduling: CpuScheduling,
    /// Swap space in GiB: memory beyond `ram_gb` goes there, and CPU work slows down with
    /// the share of memory swapped out.
    #[serde(default)]
    #[schemars(range(min = 0, max = 1000000))]
    pub swap_gb: f64,
    /// When a request would take more memory than RAM and swap hold: the program refuses it
    /// (`refuse`, `out_of_memory`), or nothing stops it and the kernel kills the process,
    /// which restarts after `restart_s` (`kill`).
    #[serde(default)]
    pub out_of_memory: OutOfMemory,
    /// Seconds a process killed for want of memory takes to come back (with `kill`).
    #[serde(default = "default_restart_s")]
    #[schemars(range(min = 0, max = 1000000))]
    pub restart_s: f64,
}

fn default_restart_s() -> f64 {
    10.0
}

/// What happens when memory runs out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutOfMemory {
    /// The program refuses requests it has no memory for (`out_of_memory`).
    #[default]
    Refuse,
    /// Nothing refuses: past RAM and swap the kernel's OOM killer kills the process; every
    /// request on the machine is lost and it restarts after `restart_s`.
    Kill,
}

/// How a machine's cores are shared among workers that want to run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CpuScheduling {
    /// Every runnable worker progresses at once, each at cores ÷ runnable of a core
    /// (processor sharing): threads on a real operating system.
    #[default]
    TimeSliced,
    /// A CPU step holds its core until it is done; steps wait for a core first come, first
    /// served: an event loop, or one worker per core.
    RunToCompletion,
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
fn default_ephemeral_ports() -> u32 {
    28_232
}
fn default_time_wait_s() -> f64 {
    60.0
}
fn default_rx_buffer_kb() -> f64 {
    4096.0
}
fn default_disk_iops() -> f64 {
    10_000.0
}

/// A component of the architecture, tagged by `kind` (first, for exact error positions).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RawComponent {
    Service(RawService),
    LoadBalancer(RawLoadBalancer),
    /// An API gateway: a load balancer with an auth step, size and rate limits.
    Gateway(RawLoadBalancer),
    Cache(RawCache),
    Database(RawDatabase),
    Dns(RawDns),
    Queue(RawQueue),
    Topic(RawTopic),
    Log(RawLog),
}

/// The kinds a component can have, in the order error messages list them.
pub const COMPONENT_KINDS: [&str; 9] = [
    "service",
    "load_balancer",
    "gateway",
    "cache",
    "database",
    "dns",
    "queue",
    "topic",
    "log",
];

/// Geographic DNS: sends each user to the nearest healthy target (the entry of a region).
/// It is a workload entry only; resolving costs no hop, but users cache answers for `ttl_s`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDns {
    /// Entry components, typically one load balancer per region.
    pub targets: Vec<String>,
    /// How long users keep a resolved answer: after DNS takes a target out, a user moves
    /// within this many seconds (each user at its own moment).
    #[serde(default = "default_ttl_s")]
    pub ttl_s: f64,
    /// How DNS decides a target is down: it is up while it (and, for a load balancer, at
    /// least one of its backends) is alive.
    #[serde(default = "default_dns_check")]
    pub health_check: RawHealthCheck,
}

fn default_ttl_s() -> f64 {
    60.0
}
fn default_dns_check() -> RawHealthCheck {
    RawHealthCheck {
        interval_ms: 10_000.0,
        unhealthy_threshold: 3,
        healthy_threshold: 2,
    }
}

/// Application servers: `replicas` identical machines running the same handlers.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    /// Region it runs in (required when the scenario declares more than one region).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Its hardware. Leave it out and give `host` to run it on a machine it shares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<RawMachine>,
    /// A machine from the scenario's `hosts` that it shares with the other components
    /// naming it (their cores, RAM, NIC and disk), instead of a `machine` of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Identical machines; a load balancer spreads requests over them.
    #[serde(default = "one_u32")]
    #[schemars(range(min = 1, max = 10000))]
    pub replicas: u32,
    /// A replica count that changes during the run (schedule, autoscaler); `replicas` is
    /// the count at the start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaling: Option<super::raw_elastic::RawScaling>,
    /// New versions rolled out during the run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deploys: Vec<super::raw_elastic::RawDeploy>,
    /// Requests handled at once per replica (thread pool); a worker is held through calls.
    #[serde(default = "default_workers")]
    #[schemars(range(min = 1))]
    pub workers: u32,
    /// Requests waiting for a worker per replica; one more is rejected with `queue_full`.
    #[serde(default = "default_queue_capacity")]
    pub queue_capacity: u32,
    /// Steps per request class; the key `default` serves classes without their own handler.
    #[serde(deserialize_with = "super::unique::map")]
    pub handlers: BTreeMap<String, Vec<RawStep>>,
    /// Connection pools towards databases, by database name. Without one, every call opens
    /// (and pays for) a new connection.
    #[serde(deserialize_with = "super::unique::map", default)]
    pub connection_pools: BTreeMap<String, RawPool>,
    /// CPU to accept a user's new connection, before its first request (the kernel's
    /// accept is microseconds; a TLS handshake about a millisecond). Default 0.
    #[serde(default = "zero_ms")]
    pub accept_cpu_ms: RawDist,
    /// Pull messages from a queue and process each with the handler of its class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumes: Option<RawConsumes>,
}

pub(crate) fn zero_ms() -> RawDist {
    RawDist::Constant { ms: 0.0 }
}

fn default_workers() -> u32 {
    64
}
pub(super) fn default_queue_capacity() -> u32 {
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
    /// Call `call`; if that fails (down, refused), call `fallback` instead (cache-aside).
    CallWithFallback(RawFallbackCall),
    /// This many random disk I/Os on this machine's disk.
    DiskIos(u32),
    /// Send `queries` queries of the request's class to database `call` in one round trip on
    /// one connection, and wait for all their answers.
    Batch(RawBatch),
    /// Send a message to a queue and go on once the queue has accepted it; its consumers
    /// process it later.
    Send(RawSend),
    /// Publish a message to a topic and go on once the topic has taken it; it sends a copy
    /// to every subscriber.
    Publish(RawPublish),
}

/// Several queries to one database in one round trip.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBatch {
    /// The database.
    pub call: String,
    /// How many queries (each runs the class's query on the database, one after another on
    /// one worker); the call and its answer are that many times the class's sizes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub queries: Option<u32>,
    /// Instead of `queries`, in the handler of a consumer that processes whole batches
    /// (`consumes.process: batch`): this many queries per message of the batch (one bulk
    /// write of all its rows); 1 message for any other call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub queries_per_message: Option<u32>,
}

/// A call with a second choice.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFallbackCall {
    /// Called first.
    pub call: String,
    /// Called when the first call fails.
    pub fallback: String,
}

/// A client-side pool of database connections, per replica of the calling service.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPool {
    /// Connections kept open; callers beyond it wait for one (that wait is measured).
    #[schemars(range(min = 1))]
    pub size: u32,
}

/// Spreads requests over the replicas of one or more services (`load_balancer`); a
/// `gateway` is one with an auth step, size and rate limits.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLoadBalancer {
    /// Region it runs in (required when the scenario declares more than one region).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Service names; every replica of each becomes a backend.
    #[serde(default)]
    pub backends: Vec<String>,
    /// Routing by request class (expansion): a class named here goes only to these
    /// services; the other classes go to `backends`.
    #[serde(
        deserialize_with = "super::unique::map",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub routes: BTreeMap<String, Vec<String>>,
    /// How a backend is chosen.
    #[serde(default)]
    pub policy: LbPolicy,
    /// For `weighted`: one weight per entry of `backends` (shared by its replicas).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<Vec<f64>>,
    /// CPU time to forward a request, on one of its `cores` (an event-loop proxy: each
    /// request's work runs to its end, first come first served).
    #[serde(default = "default_forward")]
    pub forward_ms: RawDist,
    /// CPU to accept a user's new connection, on top of forwarding its first request (a
    /// TLS handshake terminated here: about a millisecond). Default 0.
    #[serde(default = "zero_ms")]
    pub accept_cpu_ms: RawDist,
    /// Cores of its machine.
    #[serde(default = "default_lb_cores")]
    #[schemars(range(min = 1))]
    pub cores: u32,
    /// Its network card's bandwidth in Gbit/s: requests and answers pass it both ways.
    #[serde(default = "default_nic_gbps")]
    #[schemars(range(min = 0.000001, max = 100000))]
    pub nic_gbps: f64,
    /// Most connections open through the balancer (one per request in flight, or per user
    /// with `keep_alive`); one more is rejected (`connection_limit`).
    #[serde(default = "default_lb_connections")]
    #[schemars(range(min = 1))]
    pub max_connections: u32,
    /// Active health checks; without them a dead backend is never taken out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<RawHealthCheck>,
    /// Price per hour.
    #[serde(default)]
    pub cost_per_hour: f64,
    /// Gateway only: CPU time of the auth step (verifying a token) per request, on its
    /// cores, on top of `forward_ms`. Default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_cpu_ms: Option<RawDist>,
    /// Gateway only: requests larger than this many bytes are refused from their headers
    /// (`too_large`, HTTP 413), before their body is read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_request_bytes: Option<u64>,
    /// Gateway only: token buckets; a request passes when every one that applies to it has
    /// a token, else it is refused `rate_limited` (HTTP 429).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rate_limits: Vec<super::raw_gateway::RawRateLimit>,
}

fn default_forward() -> RawDist {
    RawDist::Constant { ms: 0.05 }
}
fn default_lb_cores() -> u32 {
    4
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
    /// The same request key always lands on the same backend (while it is healthy): routing
    /// keys to groups, or keeping each key's data warm in one server's memory.
    KeyHash,
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
    /// Region it runs in (required when the scenario declares more than one region).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Its hardware. Leave it out and give `host` to run it on a machine it shares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<RawMachine>,
    /// A machine from the scenario's `hosts` that it shares with the other components
    /// naming it (their cores, RAM, NIC and disk), instead of a `machine` of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// CPU time of one lookup.
    #[serde(default = "default_lookup")]
    pub lookup_ms: RawDist,
    /// Component called on a miss.
    pub backing: String,
    /// A fixed hit ratio, or a real LRU over request keys.
    pub policy: RawCachePolicy,
    /// Lookups served at once.
    #[serde(default = "default_cache_workers")]
    #[schemars(range(min = 1))]
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
    /// Least-recently-used over request keys, holding at most `capacity_keys`, or as many
    /// entries of `entry_kb` as `capacity_mb` holds. Its entries take the machine's memory.
    Lru {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1))]
        capacity_keys: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 0.000001, max = 1000000000))]
        capacity_mb: Option<f64>,
        /// Memory one entry takes, in KiB.
        #[serde(default = "default_entry_kb")]
        #[schemars(range(min = 0, max = 1000000000))]
        entry_kb: f64,
    },
}

fn default_entry_kb() -> f64 {
    1.0
}

/// A scheduled failure.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RawFault {
    /// One machine stops at `at_s`; it comes back (empty) after `recover_after_s`, or never.
    /// Work on it is lost. For a sharded database, `shard` and `replica` name the machine
    /// (replica 0 is the shard's first primary).
    Crash {
        component: String,
        #[serde(default)]
        shard: u32,
        #[serde(default)]
        replica: u32,
        at_s: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        recover_after_s: Option<f64>,
    },
    /// Every machine of a component stops at once (a power outage), and comes back after
    /// `recover_after_s`, or never.
    Outage {
        component: String,
        at_s: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        recover_after_s: Option<f64>,
    },
    /// CPU work on a machine (or, without `replica`, every machine of the component) takes
    /// `factor` times longer from `at_s`, for `duration_s` (or to the end).
    Slow {
        component: String,
        /// For a sharded database: the shard of `replica`.
        #[serde(default)]
        shard: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replica: Option<u32>,
        factor: f64,
        at_s: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration_s: Option<f64>,
    },
    /// Every machine and load balancer in a region stops at once (a power outage).
    RegionOutage {
        region: String,
        at_s: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        recover_after_s: Option<f64>,
    },
    /// The network between two regions is cut from `at_s` for `duration_s`: messages across
    /// wait (TCP retransmits) and arrive once it heals.
    Partition {
        between: [String; 2],
        at_s: f64,
        duration_s: f64,
    },
    /// Messages between two components (or, without `between`, between the users and the
    /// system) take `extra_ms` longer from `at_s` for `duration_s`.
    LatencySpike {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        between: Option<[String; 2]>,
        extra_ms: f64,
        at_s: f64,
        duration_s: f64,
    },
}
