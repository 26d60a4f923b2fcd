//! A queue's consumers: pollers, `concurrency` per machine of each consuming service, each a
//! loop of receive → process each message of the batch, one after another → delete the
//! processed ones → receive again (the loop of an SQS or a RabbitMQ pull client).
//!
//! Every step of the loop is a call frame: a receive or a delete crosses the network to the
//! broker and runs its CPU there; processing a message is a call to the consumer's own
//! service, which runs its handler for the message's class (CPU, disk, calls to databases)
//! on one of its workers, its bytes passing the consumer's NIC. A poller whose machine is
//! down, or whose receive failed, tries again after `RETRY_AFTER`. The loop keeps no
//! connection count at the broker (its connection is opened once, at the start).

use crate::engine::time::SimTime;
use crate::metrics::outcome::Status;
use crate::model::context::Context;
use crate::model::event::Event;
use crate::model::ids::{ComponentId, FrameId, RequestId};
use crate::model::messaging::queue::{Broker, Polling};
use crate::model::messaging::store::Delivery;
use crate::model::messaging::{Op, carrier};
use crate::model::request::Frame;
use std::collections::VecDeque;

/// How long a poller waits before trying again when its machine is down or a receive failed.
pub const RETRY_AFTER: SimTime = SimTime(1_000_000_000);

/// What a poller is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollerState {
    /// Not started, or waiting to poll again.
    Idle,
    /// A receive call is out.
    Receiving,
    /// Its long poll waits at the broker for a message.
    Parked,
    /// Its service processes a message of the batch.
    Processing,
    /// A delete call is out.
    Deleting,
}

/// One consumer loop.
#[derive(Debug)]
pub struct Poller {
    pub consumer: ComponentId,
    pub machine: u32,
    pub batch_size: u16,
    pub polling: Polling,
    /// The request record its calls name (made at its first receive).
    pub carrier: Option<RequestId>,
    /// The messages of its last receive, and the next to process.
    pub batch: Vec<Delivery>,
    pub next: usize,
    /// Processed messages of the batch, to delete.
    pub done: Vec<Delivery>,
    pub state: PollerState,
    /// Names its pending `Event::Poller`; a stale one finds another value.
    pub seq: u32,
    /// Its receive frame while parked at the broker.
    pub parked_frame: Option<FrameId>,
    /// A push channel's messages on their way to its machine or being processed there, in
    /// the order pushed, each with the carrier that took it (`push.rs`).
    pub pushed: VecDeque<(RequestId, Delivery)>,
    /// A push channel's processed messages in the acknowledgement that is out.
    pub acking: Vec<Delivery>,
    /// A push channel closed after a failed push; it opens again at its timer.
    pub paused: bool,
    /// A FIFO queue's group whose message failed in this batch: the batch's later messages
    /// of it are left to their visibility timeout, to come back in order.
    pub blocked_group: Option<u32>,
    /// Its whole batch is one call to its service (`process: batch`).
    pub batch_call: bool,
    /// A batch job's (`Polling::Every`) next run.
    pub next_run: SimTime,
}

impl Poller {
    pub fn new(
        consumer: ComponentId,
        machine: u32,
        batch_size: u16,
        polling: Polling,
        batch_call: bool,
    ) -> Poller {
        Poller {
            consumer,
            machine,
            batch_size,
            polling,
            carrier: None,
            batch: Vec::with_capacity(usize::from(batch_size)),
            next: 0,
            done: Vec::with_capacity(usize::from(batch_size)),
            state: PollerState::Idle,
            seq: 0,
            parked_frame: None,
            pushed: VecDeque::new(),
            acking: Vec::new(),
            paused: false,
            blocked_group: None,
            batch_call,
            next_run: SimTime::ZERO,
        }
    }
}

impl Broker {
    /// The pollers' first events: every loop starts at time 0.
    pub fn start_pollers(&mut self, ctx: &mut Context) {
        for p in 0..self.pollers.len() as u32 {
            let ev = Event::Poller {
                queue: self.me.index() as u16,
                poller: p,
                seq: 0,
            };
            ctx.schedule(SimTime::ZERO, ev);
        }
    }

    /// Poller `p`'s timer (`Event::Poller` with `seq`): its long poll has waited long enough,
    /// or it is time to poll again.
    pub fn poller_due(&mut self, ctx: &mut Context, p: u32, seq: u32) {
        let poller = &self.pollers[p as usize];
        if poller.seq != seq {
            return;
        }
        if matches!(poller.polling, Polling::Push { .. }) {
            return self.channel_due(ctx, p);
        }
        match poller.state {
            PollerState::Parked => self.long_poll_expired(ctx, p),
            PollerState::Idle => {
                if let Polling::Every { every } = poller.polling
                    && ctx.now >= poller.next_run
                {
                    // A batch job's run starts: the next one is due `every` from now (a
                    // retry within a run keeps the timetable).
                    self.pollers[p as usize].next_run = ctx.now + every;
                }
                self.receive_next(ctx, p)
            }
            PollerState::Receiving | PollerState::Processing | PollerState::Deleting => {}
        }
    }

    /// Poller `p` waits `after`, then polls again.
    pub(super) fn poll_after(&mut self, ctx: &mut Context, p: u32, after: SimTime) {
        self.pollers[p as usize].state = PollerState::Idle;
        self.wake_after(ctx, p, after);
    }

    /// Poller `p`'s timer rings after `after` (a pending one is forgotten).
    pub(super) fn wake_after(&mut self, ctx: &mut Context, p: u32, after: SimTime) {
        let poller = &mut self.pollers[p as usize];
        poller.seq = poller.seq.wrapping_add(1);
        let ev = Event::Poller {
            queue: self.me.index() as u16,
            poller: p,
            seq: poller.seq,
        };
        ctx.schedule(ctx.now + after, ev);
    }

    /// Poller `p` has finished a batch: it receives again, unless it is a batch job whose
    /// last receive came back short of a full batch (the backlog is drained): that one
    /// sleeps until its next run.
    fn after_batch(&mut self, ctx: &mut Context, p: u32) {
        let poller = &self.pollers[p as usize];
        if matches!(poller.polling, Polling::Every { .. })
            && poller.batch.len() < usize::from(poller.batch_size)
        {
            return self.until_next_run(ctx, p);
        }
        self.receive_next(ctx, p)
    }

    /// A batch job's poller `p` sleeps until its next run (at once if this one overran).
    fn until_next_run(&mut self, ctx: &mut Context, p: u32) {
        let wait =
            self.pollers[p as usize].next_run - self.pollers[p as usize].next_run.min(ctx.now);
        self.poll_after(ctx, p, wait);
    }

    /// Poller `p` sends a receive, unless its machine is down.
    fn receive_next(&mut self, ctx: &mut Context, p: u32) {
        if self.log.as_ref().is_some_and(|log| !log.has_partitions(p)) {
            // A group member beyond the partition count has nothing to read: it idles.
            return;
        }
        let poller = &self.pollers[p as usize];
        if !ctx.live.machine_up(poller.consumer, poller.machine) {
            return self.poll_after(ctx, p, RETRY_AFTER);
        }
        self.pollers[p as usize].state = PollerState::Receiving;
        self.call_broker(ctx, p, Op::Receive);
    }

    /// Poller `p`'s carrier, set for `op` on message class `class` from now.
    fn carrier_for(&mut self, ctx: &mut Context, p: u32, op: Op, class: u16) -> RequestId {
        let now = ctx.now;
        let counted = ctx.window.contains(now);
        let record = carrier(op, self.me, self.first_poller + p, class, now, counted);
        match self.pollers[p as usize].carrier {
            Some(r) => {
                *ctx.requests.get_mut(r) = record;
                r
            }
            None => {
                let r = ctx.requests.insert(record);
                self.pollers[p as usize].carrier = Some(r);
                r
            }
        }
    }

    /// Poller `p` calls the broker (machine 0) with `op`; the call's own bytes are not
    /// counted (a receive's messages are, on the NICs, `Broker::hand_out`). A poller's calls
    /// are marked `answer_received` from the start: their answers pass no NIC (the carrier's
    /// mark for `Context::send_back` and the simulation's dispatch).
    pub(super) fn call_broker(&mut self, ctx: &mut Context, p: u32, op: Op) {
        let request = self.carrier_for(ctx, p, op, 0);
        let poller = &self.pollers[p as usize];
        let latency = ctx.link_latency(poller.consumer, poller.machine, self.me, 0);
        let f = ctx.frames.insert(Frame {
            request,
            component: self.me,
            machine: 0,
            fresh_connection: false,
            queries: 0,
            answer_received: true,
            ..Frame::default()
        });
        ctx.schedule(ctx.now + latency, Event::FrameArrive { frame: f });
    }

    /// Poller `p` hands the next message of its batch to its service, or, the batch done,
    /// deletes what it processed (or polls again when nothing was).
    fn process_next(&mut self, ctx: &mut Context, p: u32) {
        let poller = &mut self.pollers[p as usize];
        let Some(&d) = poller.batch.get(poller.next) else {
            if poller.done.is_empty() {
                return self.after_batch(ctx, p);
            }
            poller.state = PollerState::Deleting;
            return self.call_broker(ctx, p, Op::Delete);
        };
        poller.next += 1;
        if self.log.as_ref().is_some_and(|log| log.gone(d)) {
            // Retention dropped it while it waited in the batch (counted as expired): there
            // is nothing left to process.
            return self.process_next(ctx, p);
        }
        if poller.blocked_group.is_some()
            && self.log.is_none()
            && self.store.group_of(d.slot) == poller.blocked_group
        {
            // An earlier message of its group failed: processing it now would break the
            // group's order (SQS FIFO asks consumers to stop there).
            return self.process_next(ctx, p);
        }
        let poller = &mut self.pollers[p as usize];
        poller.state = PollerState::Processing;
        let (consumer, machine) = (poller.consumer, poller.machine);
        // Processed whole, the batch is one call (it starts at the batch's first message).
        let messages = if poller.batch_call {
            let n = poller.batch.len() - (poller.next - 1);
            poller.next = poller.batch.len();
            n as u16
        } else {
            1
        };
        let class = self.class_of(d);
        let request = self.carrier_for(ctx, p, Op::Deliver, class);
        ctx.carrier_messages[(self.first_poller + p) as usize] = messages;
        let f = ctx.frames.insert(Frame {
            request,
            component: consumer,
            machine,
            fresh_connection: false,
            answer_received: true,
            ..Frame::default()
        });
        ctx.schedule(ctx.now, Event::FrameArrive { frame: f });
    }

    /// A call of one of this queue's pollers answered (frame `f`, which goes).
    pub fn op_returned(&mut self, ctx: &mut Context, f: FrameId) {
        let fr = *ctx.frames.get(f);
        ctx.frames.remove(f);
        let req = *ctx.requests.get(fr.request);
        let p = (req.key as u32) - self.first_poller;
        let ok = fr.status == Status::Ok;
        if req.key as u32 == self.redrive_home() {
            return self.redrive_returned(ctx, fr.request, ok);
        }
        if matches!(self.pollers[p as usize].polling, Polling::Push { .. }) {
            return self.channel_returned(ctx, fr.request, &req, p, ok);
        }
        match Op::of(&req) {
            Some(Op::Receive) => {
                let poller = &mut self.pollers[p as usize];
                if !ok {
                    // Fetched (a batch nothing was taken from yet) but never received: the
                    // partition is read again from its committed offset (a queue gets its
                    // messages back at their visibility timeout).
                    if let (Some(log), Some(d), 0) =
                        (self.log.as_mut(), poller.batch.first(), poller.next)
                    {
                        log.seek_back(p, d.slot);
                    }
                    poller.batch.clear();
                    return self.poll_after(ctx, p, RETRY_AFTER);
                }
                // A log member whose commit failed commits again before its next fetch.
                if !poller.batch.is_empty() || !poller.done.is_empty() {
                    return self.process_next(ctx, p);
                }
                match poller.polling {
                    Polling::Short { interval } if interval > SimTime::ZERO => {
                        self.poll_after(ctx, p, interval)
                    }
                    Polling::Every { .. } => self.until_next_run(ctx, p),
                    Polling::Short { .. } | Polling::Long { .. } | Polling::Push { .. } => {
                        self.receive_next(ctx, p)
                    }
                }
            }
            Some(Op::Deliver) if self.pollers[p as usize].batch_call => {
                // The whole batch was one call: every message of it succeeded or failed.
                ctx.carrier_messages[(self.first_poller + p) as usize] = 1;
                let batch = std::mem::take(&mut self.pollers[p as usize].batch);
                for &d in &batch {
                    if ok {
                        self.pollers[p as usize].done.push(d);
                    }
                    self.processing_done(ctx, p, d, ok);
                }
                self.pollers[p as usize].batch = batch;
                self.process_next(ctx, p)
            }
            Some(Op::Deliver) => {
                let poller = &mut self.pollers[p as usize];
                let d = poller.batch[poller.next - 1];
                if ok {
                    poller.done.push(d);
                } else if self.log.is_none() && self.store.holds(d) {
                    // Still held (even if its timeout has ended and it is back in line):
                    // the rest of its group in this batch must wait for it.
                    poller.blocked_group = self.store.group_of(d.slot);
                }
                self.processing_done(ctx, p, d, ok);
                if !ok && self.log.is_some() {
                    // Sought back to the committed offset: the rest of the batch, and what
                    // it processed and did not commit, come again after a pause.
                    let poller = &mut self.pollers[p as usize];
                    poller.next = poller.batch.len();
                    poller.done.clear();
                    return self.poll_after(ctx, p, RETRY_AFTER);
                }
                self.process_next(ctx, p)
            }
            Some(Op::Delete) => {
                // A failed delete leaves a queue's messages to their visibility timeout; a
                // log member keeps its offsets to commit with the next batch (the lag would
                // otherwise stay above 0 for good when no record follows).
                if ok || self.log.is_none() {
                    self.pollers[p as usize].done.clear();
                    return self.after_batch(ctx, p);
                }
                self.poll_after(ctx, p, RETRY_AFTER)
            }
            Some(Op::Send | Op::Task) | None => {
                unreachable!("a poller sends receives, deliveries, deletes")
            }
        }
    }
}
