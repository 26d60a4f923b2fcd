//! Asynchronous work: message queues now (`queue.rs`, the broker; `poller.rs`, its consumers;
//! `store.rs`, the messages), topics and logs to come.
//!
//! A message is not a request: it has its own arena (`store::Store`), outcomes (processed,
//! dead-lettered, expired, lost, still queued) and end-to-end latency, none of which touch the
//! users' figures. Its journey still crosses the same machines as a request's: each API call
//! and each processing is a call frame served by the shared server machinery, so NICs, cores,
//! connections, memory and faults apply to it unchanged. A frame names a request, so those
//! calls name a *carrier*: a request record no user sent (`user == CARRIER`) whose `attempt`
//! says which operation it carries (`Op`) and whose `key` says for which queue and poller.

pub mod poller;
pub mod queue;
pub mod store;

use crate::engine::time::SimTime;
use crate::model::ids::ComponentId;
use crate::model::request::{Request, RequestState};

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
}

impl Op {
    /// The operation request `req` carries, if it is a carrier.
    #[inline]
    pub fn of(req: &Request) -> Option<Op> {
        if req.user != CARRIER {
            return None;
        }
        Some(match req.attempt {
            1 => Op::Send,
            2 => Op::Receive,
            3 => Op::Delete,
            _ => Op::Deliver,
        })
    }
}

/// The queue and the global poller id a carrier is for.
#[inline]
pub fn queue_of(req: &Request) -> (ComponentId, u32) {
    (
        ComponentId::from_index((req.key >> 32) as usize),
        req.key as u32,
    )
}

/// A carrier of `op` for `queue` (and global poller `poller`), of message class `class`,
/// starting at `now`; `counted` when it starts inside the measurement window.
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
