//! Asynchronous work: message queues (`queue.rs`, the broker, and `queue_spec.rs`, its
//! rules; `poller.rs`, its pulling consumers; `push.rs`, the consumers it pushes to;
//! `store.rs`, the messages; `fifo.rs`, a FIFO queue's message groups; `dead_letter.rs`, moves to a dead-letter queue), partitioned logs (`log.rs`, the partitions and the consumer
//! groups' cursors; `log_broker.rs`, the broker's side), publish/subscribe topics
//! (`topic.rs`) and scheduled jobs (`jobs.rs`).
//!
//! A message is not a request: it has its own arena (`store::Store`), outcomes (processed,
//! dead-lettered, expired, lost, still queued) and end-to-end latency, none of which touch the
//! users' figures. Its journey still crosses the same machines as a request's: each API call
//! and each processing is a call frame served by the shared server machinery, so NICs, cores,
//! connections, memory and faults apply to it unchanged. A frame names a request, so those
//! calls name a *carrier*: a request record no user sent (`user == CARRIER`) whose `attempt`
//! says which operation it carries (`Op`, low byte) and how often it was tried (high byte),
//! and whose `key` says which queue or topic it is for and where its answer goes (a global
//! *home* id: a queue's poller, or a topic's subscription; `Context::carrier_homes`).

pub mod dead_letter;
pub mod fifo;
pub mod jobs;
pub mod log;
pub mod log_broker;
pub mod poller;
pub mod push;
pub mod queue;
pub mod queue_metrics;
pub mod queue_spec;
pub mod store;
pub mod topic;

use crate::engine::time::SimTime;
use crate::model::context::Context;
use crate::model::event::Event;
use crate::model::ids::ComponentId;
use crate::model::ids::RequestId;
use crate::model::request::{Frame, Request, RequestState};

/// `Request::user` of a carrier: no user sent it.
pub const CARRIER: u32 = u32::MAX;

/// The operation a carrier carries (`Request::attempt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// A producer's send to the queue; the carrier's class is the message's.
    Send = 1,
    /// A poller's receive.
    Receive = 2,
    /// A poller's delete of the messages it processed.
    Delete = 3,
    /// A message handed to the consumer's service to process; the carrier's class is the
    /// message's.
    Deliver = 4,
    /// A scheduled job's task, run by its service; the carrier's class is the job's.
    Task = 5,
}

impl Op {
    /// The operation request `req` carries, if it is a carrier.
    #[inline]
    pub fn of(req: &Request) -> Option<Op> {
        if req.user != CARRIER {
            return None;
        }
        Some(match req.attempt & 0xff {
            1 => Op::Send,
            2 => Op::Receive,
            3 => Op::Delete,
            5 => Op::Task,
            _ => Op::Deliver,
        })
    }
}

/// Times a carrier was tried again (a topic's push).
#[inline]
pub fn tries_of(req: &Request) -> u8 {
    (req.attempt >> 8) as u8
}

/// `req`'s `attempt` with `tries` further tries.
#[inline]
pub fn with_tries(req: &Request, tries: u8) -> u16 {
    (req.attempt & 0xff) | (u16::from(tries) << 8)
}

/// The queue or topic, and the global home id, a carrier is for.
#[inline]
pub fn queue_of(req: &Request) -> (ComponentId, u32) {
    (
        ComponentId::from_index((req.key >> 32) as usize),
        req.key as u32,
    )
}

/// Carrier `r` leaves broker `from` (machine 0, on host `host`) for `to`'s machine
/// `machine`: its `bytes` pass the host's NIC and cross the link; its answer comes back
/// without a NIC (an acknowledgement's few bytes). A topic's copies and a queue's pushes.
#[allow(clippy::too_many_arguments)]
pub fn send_from_broker(
    ctx: &mut Context,
    from: ComponentId,
    host: usize,
    r: RequestId,
    to: ComponentId,
    machine: u32,
    bytes: u64,
) {
    let (sent, wire) = ctx.hosts[host].send(bytes, ctx.now);
    let latency = ctx.link_latency(from, 0, to, machine);
    let f = ctx.frames.insert(Frame {
        request: r,
        component: to,
        machine,
        fresh_connection: false,
        wire,
        answer_received: true,
        ..Frame::default()
    });
    ctx.schedule(sent + latency, Event::FrameArrive { frame: f });
}

/// A carrier of `op` for queue or topic `queue` (and global home `poller`), of message class
/// `class`, sent at `now`; `counted` when it starts inside the measurement window.
pub fn carrier(
    op: Op,
    queue: ComponentId,
    poller: u32,
    class: u16,
    now: SimTime,
    counted: bool,
) -> Request {
    Request {
        user: CARRIER,
        class,
        attempt: op as u16,
        key: ((queue.index() as u64) << 32) | u64::from(poller),
        first_start: now,
        deadline: SimTime::MAX,
        timer_prev: None,
        timer_next: None,
        state: RequestState::Free,
        counted,
    }
}
