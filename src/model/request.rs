//! The records the slabs hold: one attempt of a logical request, and one call being served by
//! one component on its behalf.

use crate::engine::time::SimTime;
use crate::metrics::outcome::Status;
use crate::model::ids::{ComponentId, FrameId, PoolId, RequestId};

/// Where a logical request's current attempt stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RequestState {
    #[default]
    Free,
    /// Waiting out a retry backoff.
    Backoff,
    /// Sent, waiting for its answer or its timeout.
    InFlight,
    /// Given up by the client (timed out); the slot lives until the orphaned work returns.
    Abandoned,
}

/// One attempt of a logical request. A retry gets a new slot; the old one may still have work
/// in flight (an orphan) that will be discarded when it returns.
#[derive(Debug, Clone, Copy, Default)]
pub struct Request {
    pub user: u32,
    pub class: u16,
    pub attempt: u16,
    pub key: u64,
    /// When the user sent the first attempt: latency is measured from here.
    pub first_start: SimTime,
    /// When the client gives up on this attempt.
    pub deadline: SimTime,
    /// Links in the list of attempts waiting for their deadline (`model::client::timeouts`).
    pub timer_prev: Option<RequestId>,
    pub timer_next: Option<RequestId>,
    pub state: RequestState,
    /// Started inside the measurement window.
    pub counted: bool,
}

/// One call being served by one component on behalf of a request.
#[derive(Debug, Clone, Copy)]
pub struct Frame {
    pub request: RequestId,
    /// The caller's frame; None when a client sent the call.
    pub parent: Option<FrameId>,
    pub component: ComponentId,
    /// Which of the component's machines serves it.
    pub machine: u32,
    /// The machine's epoch at admission; a crash bumps the machine's epoch.
    pub epoch: u16,
    /// Next handler step.
    pub step: u16,
    /// Pool of the caller's machine this call's connection came from, if pooled.
    pub pool: Option<PoolId>,
    /// A scatter-gather call: child calls still out (0 or 1 for an ordinary call).
    pub pending_children: u16,
    /// Load balancer: which backend this child frame went to. A server's call to a database
    /// on a connection of its own: the machine its local port is towards (`u32::MAX` when the
    /// call took no port).
    pub backend: u32,
    pub status: Status,
    /// The call opened a connection of its own at the callee (counts against its cap).
    pub fresh_connection: bool,
    /// The call opens a new connection at the callee (pooled or not), whose set-up costs
    /// the callee's CPU first.
    pub connecting: bool,
    /// The call has passed the callee's receiving NIC.
    pub received: bool,
    /// The answer has passed the caller's receiving NIC.
    pub answer_received: bool,
    pub admitted: bool,
    pub has_worker: bool,
    pub arrived: SimTime,
    pub started: SimTime,
    /// Wire time of the message now travelling to this frame's receiver (the call, then its
    /// answer) at the NIC that sent it; zero for a user's call. The receiving NIC works on
    /// the same bits while they arrive, so a message costs the slower NIC's time, not both.
    pub wire: SimTime,
    /// Times the message now travelling to this frame's receiver was dropped by a full
    /// receive buffer and sent again (TCP retransmission).
    pub retransmits: u8,
    /// Queries this call carries in one round trip (a `batch` step; 1 for any other call):
    /// the callee runs its program that many times, and both messages are that many times
    /// the class's size.
    pub queries: u16,
    /// Of them, the ones the callee has finished.
    pub queries_done: u16,
}

impl Default for Frame {
    fn default() -> Self {
        Frame {
            request: RequestId::from_slot(std::num::NonZeroU32::MIN),
            parent: None,
            component: ComponentId::from_index(0),
            machine: 0,
            epoch: 0,
            queries: 1,
            queries_done: 0,
            step: 0,
            pool: None,
            pending_children: 0,
            backend: u32::MAX,
            status: Status::Ok,
            fresh_connection: true,
            connecting: false,
            received: false,
            answer_received: false,
            admitted: false,
            has_worker: false,
            arrived: SimTime::ZERO,
            started: SimTime::ZERO,
            wire: SimTime::ZERO,
            retransmits: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn records_stay_small() {
        // Two million requests in flight hold one of each per call on their path.
        assert!(std::mem::size_of::<super::Frame>() <= 64);
        assert!(std::mem::size_of::<super::Request>() <= 48);
    }
}
