//! The scenario's raw form for asynchronous work: a `queue` component, a service's
//! `consumes`, and a handler's `send` step (validated in `validate/queue.rs`).

use super::raw::{RawDist, RawMachine, one_u32};
use super::raw_components::default_queue_capacity;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A message sent to a queue.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSend {
    /// The queue (or log).
    pub queue: String,
    /// The message's class, one of `workload.classes` (give it `weight: 0` if users never
    /// send it themselves): its `request_bytes` is the message's size, and the consumer runs its
    /// handler for that class.
    pub message: String,
}

/// How a service consumes a queue: `concurrency` loops per replica, each receiving up to
/// `batch_size` messages, processing them one after another, deleting the processed ones;
/// or (`polling: push`) the queue pushes messages to each replica, at most `prefetch`
/// unacknowledged at a time.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawConsumes {
    /// The queue (or log).
    pub queue: String,
    /// Receive loops per replica (each takes a worker while it processes a message).
    #[serde(default = "one_u32")]
    #[schemars(range(min = 1, max = 10000))]
    pub concurrency: u32,
    /// Most messages one receive takes (SQS: 1 to 10).
    #[serde(default = "one_u32")]
    #[schemars(range(min = 1, max = 1000))]
    pub batch_size: u32,
    /// `long`: a receive with nothing to give waits at the queue up to `wait_time_s`;
    /// `short`: it answers at once, and the loop asks again after `poll_interval_ms`;
    /// `push`: no receives, the queue sends each message to a replica as it arrives.
    #[serde(default)]
    pub polling: RawPolling,
    /// Push: the most unacknowledged messages a replica holds (RabbitMQ's prefetch count);
    /// absent, no limit: the queue pushes everything it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub prefetch: Option<u32>,
    /// Long polling: the longest a receive waits for a message (SQS: up to 20 s).
    #[serde(default = "default_wait_time_s")]
    pub wait_time_s: f64,
    /// Short polling: the pause after an empty receive (0: ask again at once).
    #[serde(default)]
    pub poll_interval_ms: f64,
    /// A batch job every this many seconds instead of a loop that waits for messages: each
    /// run receives batches of up to `batch_size` (receives answer at once) until one comes
    /// back short of full, then the loop sleeps until the next run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every_s: Option<f64>,
    /// `each` (default): each message of a batch is its own call to the service, one after
    /// another. `batch`: the whole batch is one call, the handler of its first message's
    /// class running once; its `batch` steps with `queries_per_message` send that many
    /// queries per message in one round trip.
    #[serde(default)]
    pub process: RawProcess,
}

/// How a consumer processes a batch it received.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RawProcess {
    #[default]
    Each,
    Batch,
}

fn default_wait_time_s() -> f64 {
    20.0
}

/// Short or long polling.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RawPolling {
    #[default]
    Long,
    Short,
    Push,
}

/// A message queue (SQS-, RabbitMQ-like): a broker on a machine of its own. Services send
/// messages to it (`send` steps) and pull them (`consumes`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawQueue {
    /// Region it runs in (required when the scenario declares more than one region).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The broker's hardware, or `host` to share one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<RawMachine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// API calls served at once (an event-driven broker holds many: long polls wait here).
    #[serde(default = "default_queue_workers")]
    #[schemars(range(min = 1))]
    pub workers: u32,
    /// API calls waiting for a worker; one more is refused `queue_full`.
    #[serde(default = "default_queue_capacity")]
    pub queue_capacity: u32,
    /// Broker CPU per API call (send, receive or delete).
    #[serde(default = "default_request_cpu_ms")]
    pub request_cpu_ms: RawDist,
    /// Most messages held (visible and in flight); a send beyond is refused `queue_full`.
    #[serde(default = "default_max_messages")]
    pub max_messages: u64,
    /// A message not received for this long is dropped (`expired`). SQS: 4 days by default.
    #[serde(default = "default_retention_s")]
    pub retention_s: f64,
    /// A received message not deleted within this is delivered again. SQS: 30 s.
    #[serde(default = "default_visibility_timeout_s")]
    pub visibility_timeout_s: f64,
    /// Received this many times without being deleted, a message goes to the dead-letter
    /// queue (counted). Absent: it is delivered again for ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_receives: Option<u32>,
    /// The queue a message received `max_receives` times is moved to (SQS's redrive
    /// policy), where consumers can process or inspect it. Absent: it is only counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter_queue: Option<String>,
    /// Messages are written to disk (one I/O per send) and survive a crash; otherwise a crash
    /// loses them.
    #[serde(default)]
    pub persistent: bool,
    /// Price per million API calls, in dollars (SQS: 0.40).
    #[serde(default)]
    pub cost_per_million_requests: f64,
    /// A FIFO queue (SQS FIFO): messages of one message group are delivered in order, and
    /// none while another of the group is in flight.
    #[serde(default)]
    pub fifo: bool,
    /// A FIFO queue's message groups: a message's group is its sender's key (the user
    /// request's key) modulo this (1: every message in one order, one at a time). Default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000000))]
    pub message_groups: Option<u32>,
}

fn default_queue_workers() -> u32 {
    10_000
}
fn default_request_cpu_ms() -> RawDist {
    RawDist::Constant { ms: 0.1 }
}
fn default_max_messages() -> u64 {
    10_000_000
}
fn default_retention_s() -> f64 {
    345_600.0
}
fn default_visibility_timeout_s() -> f64 {
    30.0
}

/// A partitioned log (Kafka-like): a broker whose messages are appended to partitions by
/// key and kept for `retention_s` whoever reads them; each service that `consumes` it is a
/// consumer group that reads every message once, in order within a partition.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLog {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<RawMachine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// API calls served at once.
    #[serde(default = "default_queue_workers")]
    #[schemars(range(min = 1))]
    pub workers: u32,
    /// API calls waiting for a worker; one more is refused `queue_full`.
    #[serde(default = "default_queue_capacity")]
    pub queue_capacity: u32,
    /// Broker CPU per API call (append, fetch or commit).
    #[serde(default = "default_request_cpu_ms")]
    pub request_cpu_ms: RawDist,
    /// Partitions: a message goes to the one its key hashes to; a group reads each with one
    /// member.
    #[schemars(range(min = 1, max = 10000))]
    pub partitions: u32,
    /// Messages older than this are deleted, read or not (Kafka: 7 days by default).
    #[serde(default = "default_log_retention_s")]
    pub retention_s: f64,
}

fn default_log_retention_s() -> f64 {
    604_800.0
}

/// A message published to a topic.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPublish {
    /// The topic.
    pub topic: String,
    /// The message's class, one of `workload.classes` (as for `send`).
    pub message: String,
}

/// A publish/subscribe topic (SNS-like): a broker on a machine that sends each published
/// message on to every subscription at once.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTopic {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<RawMachine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Publishes served at once.
    #[serde(default = "default_queue_workers")]
    #[schemars(range(min = 1))]
    pub workers: u32,
    /// Publishes waiting for a worker; one more is refused `queue_full`.
    #[serde(default = "default_queue_capacity")]
    pub queue_capacity: u32,
    /// Topic CPU per publish.
    #[serde(default = "default_request_cpu_ms")]
    pub request_cpu_ms: RawDist,
    /// Where each message goes: `{"queue": NAME}` or `{"service": NAME}` (a push).
    pub subscribers: Vec<RawSubscription>,
}

/// One subscription: a queue, or a service's endpoint pushed to.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSubscription {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// A push that fails is tried again this many times (0: lost at once).
    #[serde(default)]
    pub retries: u32,
    /// Wait before the first retry, doubled before each next.
    #[serde(default = "default_retry_backoff_ms")]
    pub retry_backoff_ms: f64,
}

fn default_retry_backoff_ms() -> f64 {
    1_000.0
}

/// A batch job run on a schedule (cron): `tasks` tasks of class `task` on `service`,
/// `concurrency` at a time, starting at each of `at_s` (and every `every_s` after the last).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawJob {
    /// The service that runs the tasks (its handler for the class `task`).
    pub service: String,
    /// The request class whose handler each task runs (usually `weight: 0`).
    pub task: String,
    /// Tasks per run.
    pub tasks: u32,
    /// Tasks in flight at once.
    #[serde(default = "one_u32")]
    pub concurrency: u32,
    /// Start times, in seconds.
    pub at_s: Vec<f64>,
    /// After the last start, start again every this many seconds until the run's end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every_s: Option<f64>,
}
