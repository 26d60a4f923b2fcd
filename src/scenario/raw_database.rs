//! The serde mirror of a database: its queries, replication, failover and partitions (see
//! `raw.rs` for the conventions).

use super::raw::{RawDist, one_u32};
use super::raw_components::RawMachine;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A database server: connections, query costs, an index switch.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDatabase {
    /// Region it runs in (required when the scenario declares more than one region).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Its machine; `machine.max_connections` is the database's connection cap. Leave it
    /// out and give `host` to run it on a machine it shares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<RawMachine>,
    /// A machine from the scenario's `hosts` that it shares with the other components
    /// naming it (their cores, RAM, NIC and disk), instead of a `machine` of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Query cost per request class; the key `default` serves the others.
    #[serde(deserialize_with = "super::unique::map")]
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
    /// CPU the database spends setting up a new connection (a backend process or thread,
    /// authentication), before the connection's first query.
    #[serde(default = "default_connect_cpu")]
    pub connect_cpu_ms: RawDist,
    /// Size of the data the queries touch, in GiB (split evenly over the shards). With it the
    /// machine's memory beyond `base_memory_gb` is a buffer pool holding that share of the
    /// data, and only the rest of the disk I/Os go to disk. Default: every I/O goes to disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.000001, max = 1000000000))]
    pub data_gb: Option<f64>,
    /// Copies of the data on other machines (read replicas, master-slave, master-master),
    /// and what happens when a primary dies. Default: one machine, no copies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication: Option<RawReplication>,
    /// Splits the data into shards by request key; each shard has its own machine (and its
    /// own replicas). Default: one shard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitions: Option<RawPartitions>,
}

/// How a database keeps copies of its data.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawReplication {
    /// Machines per shard besides the primary: read replicas, or (for `multi_primary`) the
    /// other primaries.
    #[schemars(range(min = 1, max = 15))]
    pub replicas: u32,
    /// `async`: a write is answered once the primary has it, replicas apply it after
    /// `lag_ms`. `sync`: a write waits until `acks` replicas have applied it.
    /// `multi_primary`: every machine takes writes and copies them to the others.
    #[serde(default)]
    pub mode: ReplicationMode,
    /// For `sync`: how many replicas must have applied a write before it is answered.
    #[serde(default = "one_u32")]
    #[schemars(range(min = 1, max = 15))]
    pub acks: u32,
    /// Time from a write's commit on one machine until another has applied it.
    #[serde(default = "default_lag")]
    pub lag_ms: RawDist,
    /// Where reads go, unless a class's query says otherwise.
    #[serde(default)]
    pub reads_from: ReadFrom,
    /// The region of each machine of a shard, primary first (`replicas + 1` names): copies far
    /// away survive a regional outage, and their lag and sync acknowledgements cross the
    /// region link. Default: all in the database's `region`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regions: Option<Vec<String>>,
    /// Promote a replica when the primary dies. Without it the primary stays down (and
    /// writes fail) until it recovers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover: Option<RawFailover>,
}

fn default_lag() -> RawDist {
    RawDist::Exponential { mean_ms: 50.0 }
}

/// Replication styles.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ReplicationMode {
    #[default]
    Async,
    Sync,
    MultiPrimary,
}

/// Which machines of a shard serve reads.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ReadFrom {
    /// Always the primary: never stale, never spread.
    Primary,
    /// A live replica at random (the primary if none is alive): spread, maybe stale.
    #[default]
    Replicas,
    /// Any live machine of the shard at random, the primary included.
    Any,
    /// A live machine in the caller's region, the primary included (else as `replicas`).
    Nearest,
}

/// Automatic failover (master-slave promotion).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFailover {
    /// Time until the primary's death is noticed; writes sent to it meanwhile fail.
    #[serde(default = "default_detection_ms")]
    pub detection_ms: f64,
    /// Time to promote the most up-to-date live replica once the death is noticed.
    /// Default 5,000 ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotion_ms: Option<f64>,
    /// What writes do between detection and promotion: `fail` (rejected `no_primary`) or
    /// `queue` (held until the new primary is up; the client's timeout still runs).
    /// Default `fail`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub during: Option<DuringFailover>,
}

fn default_detection_ms() -> f64 {
    10_000.0
}

/// Writes while a shard has no primary.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DuringFailover {
    #[default]
    Fail,
    Queue,
}

/// How data is split into shards.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPartitions {
    /// Number of shards.
    #[schemars(range(min = 1, max = 1024))]
    pub count: u32,
    /// `hash`: a key's shard is a hash of it (hot keys still make hot shards). `range`:
    /// contiguous key ranges, so the hottest keys (the lowest under zipf) share a shard.
    #[serde(default)]
    pub by: Partitioning,
    /// Shards added during the run (rebalancing), in time order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<RawReshard>,
    /// Keys placed by hand: key (a number, as a string) → shard. These keys ignore `by`, e.g.
    /// to give a celebrity's key a shard of its own.
    #[serde(
        deserialize_with = "super::unique::map",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub pinned: BTreeMap<String, u32>,
}

/// Adding shards at a point of the run: data moves for `move_s`, then keys spread over all.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawReshard {
    /// When the move starts.
    pub at_s: f64,
    /// Shards added.
    #[schemars(range(min = 1))]
    pub shards: u32,
    /// How long moving the data takes; queries use the old layout until it is done.
    pub move_s: f64,
    /// Extra CPU work on every machine of the database while data moves: 0.5 makes each
    /// query's CPU time 1.5 times longer.
    #[serde(default = "half")]
    pub move_overhead: f64,
}

fn half() -> f64 {
    0.5
}

/// Shard choice.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Partitioning {
    #[default]
    Hash,
    Range,
}

fn yes() -> bool {
    true
}
fn default_unindexed_factor() -> f64 {
    20.0
}
fn default_connect_cpu() -> RawDist {
    RawDist::Constant { ms: 1.0 }
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
    /// For reads of a replicated database: overrides its `replication.reads_from`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_from: Option<ReadFrom>,
    /// Sharded databases: the query runs on every shard at once and is answered when the last
    /// shard has answered (a scatter-gather, e.g. a search); the key does not matter.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fan_out: bool,
}

/// Read or write.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum QueryOp {
    #[default]
    Read,
    Write,
}
