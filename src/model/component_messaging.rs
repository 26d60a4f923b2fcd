//! The doors of `component.rs` that only queues and topics open (their pollers, visibility
//! timeouts, answers to their own calls, a topic's retries), and the out-of-line copies of
//! the server machinery for them.

use crate::model::component::{Component, NOT_A_QUEUE, Others};
use crate::model::compute::steps;
use crate::model::context::Context;
use crate::model::ids::{FrameId, RequestId};
use crate::model::messaging::queue::Broker;
use crate::model::messaging::topic::Topic;

impl Component {
    /// The queue this is, to set up its pollers (None for every other kind).
    pub fn as_queue(&mut self) -> Option<&mut Broker> {
        match self {
            Component::Queue(q) => Some(q),
            Component::Service(_)
            | Component::Topic(_)
            | Component::Cache(_)
            | Component::Database(_)
            | Component::Balancer(_)
            | Component::Dns(_) => None,
        }
    }

    /// The topic this is, to set up its subscriptions (None for every other kind).
    pub fn as_topic(&mut self) -> Option<&mut Topic> {
        match self {
            Component::Topic(t) => Some(t),
            Component::Service(_)
            | Component::Cache(_)
            | Component::Database(_)
            | Component::Balancer(_)
            | Component::Dns(_)
            | Component::Queue(_) => None,
        }
    }

    fn queue(&mut self) -> &mut Broker {
        self.as_queue()
            .unwrap_or_else(|| unreachable!("{NOT_A_QUEUE}"))
    }

    /// A queue's poller `poller` is due (`seq` names its timer).
    pub fn poller_due(&mut self, ctx: &mut Context, poller: u32, seq: u32) {
        self.queue().poller_due(ctx, poller, seq);
    }

    /// A queue's visibility timeout for the message in `slot` under `receipt` ends.
    pub fn visibility_ends(&mut self, ctx: &mut Context, slot: u32, receipt: u32) {
        self.queue().visibility_ends(ctx, slot, receipt);
    }

    /// A call of one of a queue's pollers, or a copy a topic sent, answered.
    pub fn op_returned(&mut self, ctx: &mut Context, f: FrameId) {
        match self {
            Component::Queue(q) => q.op_returned(ctx, f),
            Component::Topic(t) => t.op_returned(ctx, f),
            Component::Service(_)
            | Component::Cache(_)
            | Component::Database(_)
            | Component::Balancer(_)
            | Component::Dns(_) => unreachable!("{NOT_A_QUEUE}"),
        }
    }

    /// A topic's copy `r` is due to be tried again.
    pub fn redeliver(&mut self, ctx: &mut Context, r: RequestId, epoch: u16) {
        match self {
            Component::Topic(t) => t.redeliver(ctx, r, epoch),
            Component::Service(_)
            | Component::Cache(_)
            | Component::Database(_)
            | Component::Balancer(_)
            | Component::Dns(_)
            | Component::Queue(_) => unreachable!("only topics push copies"),
        }
    }
}

// A queue's copies of the server machinery stay out of line, so the hot doors above keep
// the copies of the other kinds inlined where the simulation dispatches.
/// Runs `f` out of line (a topic's copy of the server machinery, like a queue's).
#[inline(never)]
pub(super) fn out_of_line(f: impl FnOnce()) {
    f();
}

#[inline(never)]
pub(super) fn queue_arrive(q: &mut Broker, ctx: &mut Context, others: &mut Others, f: FrameId) {
    steps::arrive(q, ctx, others, f);
}

#[inline(never)]
pub(super) fn queue_cpu_done(q: &mut Broker, ctx: &mut Context, others: &mut Others, f: FrameId) {
    steps::cpu_done(q, ctx, others, f);
}

#[inline(never)]
pub(super) fn queue_slice_finished(
    q: &mut Broker,
    ctx: &mut Context,
    others: &mut Others,
    f: FrameId,
) {
    steps::slice_finished(q, ctx, others, f);
}

#[inline(never)]
pub(super) fn queue_wait_done(q: &mut Broker, ctx: &mut Context, others: &mut Others, f: FrameId) {
    steps::wait_done(q, ctx, others, f);
}
