//! A queue as the scenario describes it: its rules (limits, timeouts, persistence, price),
//! its broker's server, and how each consuming service takes its messages (pulled by
//! polling loops, or pushed).

use crate::engine::time::SimTime;
use crate::model::compute::server::ServerSpec;
use crate::model::ids::ComponentId;
use crate::model::messaging::queue::QueueStep;

/// How a consumer asks for messages.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Polling {
    /// A receive answers at once, empty or not; an empty one is followed by the next after
    /// `interval`.
    Short { interval: SimTime },
    /// A receive with nothing to give waits at the broker up to `wait` for a message.
    Long { wait: SimTime },
    /// No receives: the broker pushes each message to a consumer machine as it arrives, while
    /// the machine holds fewer than `prefetch` unacknowledged (RabbitMQ's `basic.consume`
    /// with `basic.qos`; `u32::MAX`: no limit). `push.rs`.
    Push { prefetch: u32 },
    /// A batch job every `every`: each run receives (answered at once) until a receive comes
    /// back short of a full batch, then the loop sleeps until the next run.
    Every { every: SimTime },
}

/// A service that pulls from the queue, or that the queue pushes to.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumerSpec {
    pub service: ComponentId,
    /// The service's machines; each runs `concurrency` pollers (pushed to: one channel).
    pub machines: u32,
    pub concurrency: u32,
    /// Most messages one receive takes.
    pub batch: u16,
    pub polling: Polling,
    /// The whole batch is one call to the service (`consumes.process: batch`).
    pub batch_call: bool,
}

/// What a queue holds its messages to.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueRules {
    /// Most messages held (visible and in flight); a send beyond is refused `queue_full`.
    pub max_messages: u64,
    /// A message older than this is dropped (`expired`).
    pub retention: SimTime,
    /// A received message not deleted within this is delivered again.
    pub visibility_timeout: SimTime,
    /// Received this many times without being deleted: to the dead-letter queue (None:
    /// delivered again for ever).
    pub max_receives: Option<u16>,
    /// Messages are written to disk (one I/O per send) and survive a crash.
    pub persistent: bool,
    /// Price per million API calls (send, receive, delete), in dollars.
    pub cost_per_million_requests: f64,
    /// Where a message received `max_receives` times goes (None: it is only counted).
    pub dead_letter_queue: Option<ComponentId>,
    /// A FIFO queue of this many message groups (`fifo.rs`); None: a standard queue.
    pub message_groups: Option<u32>,
}

/// A queue as the scenario describes it.
#[derive(Debug, Clone)]
pub struct QueueSpec {
    pub server: ServerSpec<QueueStep>,
    pub rules: QueueRules,
    pub consumers: Vec<ConsumerSpec>,
    /// A partitioned log (`"kind": "log"`, `log.rs`) of this many partitions; None: a queue.
    pub partitions: Option<u32>,
}

impl ConsumerSpec {
    /// Loops per machine: `concurrency` pollers, or the one channel a push goes through.
    pub fn loops(&self) -> u32 {
        match self.polling {
            Polling::Push { .. } => 1,
            Polling::Short { .. } | Polling::Long { .. } | Polling::Every { .. } => {
                self.concurrency
            }
        }
    }
}

impl QueueSpec {
    /// Pollers in all: every consumer machine's concurrency (one channel per machine
    /// pushed to).
    pub fn poller_count(&self) -> u32 {
        self.consumers
            .iter()
            .map(|c| c.machines.saturating_mul(c.loops()))
            .sum()
    }
}
