//! Push delivery (`"polling": "push"`, RabbitMQ's `basic.consume`): the broker sends each
//! message to a consumer machine as soon as it is visible, round robin over the machines
//! whose channel holds fewer than `prefetch` unacknowledged messages (`basic.qos`; without
//! one, no limit). Nobody asks: no receive calls, no empty receives, and the broker's CPU
//! pays only the acknowledgements.
//!
//! A channel is a `Poller` in push mode, one per consumer machine. A pushed message leaves
//! through the broker's NIC, crosses the link and arrives at the machine as a call its
//! handler for the message's class processes: it takes a connection's worth of memory and a
//! place in the service's queue like any call, so a consumer pushed more than it can take
//! fills its queue (refusing the rest), or its memory (refused, or killed by the OOM killer).
//! Each processed message is acknowledged: a call to the broker (its CPU), which deletes it
//! and gives the channel its credit back; acknowledgements of messages processed while one
//! is out go together in the next. A message stays with its channel until acknowledged:
//! there is no visibility timeout. A push that fails (the machine is down, or refused it)
//! puts the message back at the front of the line (counted as requeued, and as a receive
//! towards `max_receives`) and closes the channel; the consumer opens it again after
//! `RETRY_AFTER`. A persistent broker's crash closes every channel: what they held
//! unacknowledged goes back in line, and is processed again when it had been (duplicates).

use crate::model::context::Context;
use crate::model::ids::RequestId;
use crate::model::messaging::poller::{PollerState, RETRY_AFTER};
use crate::model::messaging::queue::{Broker, Polling};
use crate::model::messaging::store::Delivery;
use crate::model::messaging::{Op, carrier, send_from_broker};
use crate::model::request::Request;

impl Broker {
    /// Pushes visible messages to the channels with credit, round robin, until the line is
    /// empty or no channel can take one.
    pub(super) fn push_more(&mut self, ctx: &mut Context) {
        let n = self.push_channels.len();
        if n == 0 || !self.server.machines[0].alive {
            return;
        }
        let mut skipped = 0;
        while self.store.receivable() && skipped < n {
            let p = self.push_channels[self.push_cursor];
            self.push_cursor = (self.push_cursor + 1) % n;
            let poller = &self.pollers[p as usize];
            let Polling::Push { prefetch } = poller.polling else {
                unreachable!("push_channels lists push channels")
            };
            let unacked = poller.pushed.len() + poller.done.len() + poller.acking.len();
            if poller.paused || unacked >= prefetch as usize {
                skipped += 1;
                continue;
            }
            if !ctx.live.machine_up(poller.consumer, poller.machine) {
                self.close_channel(ctx, p);
                skipped += 1;
                continue;
            }
            self.push_one(ctx, p);
            skipped = 0;
        }
    }

    /// Sends the message at the front of the line to channel `p`'s machine.
    fn push_one(&mut self, ctx: &mut Context, p: u32) {
        let now = ctx.now;
        let Some((d, m)) = self.store.receive(None) else {
            return;
        };
        let waited = now - m.sent.min(now);
        self.tick_oldest = Some(self.tick_oldest.map_or(waited, |o| o.max(waited)));
        self.note_age(waited);
        let counted = ctx.window.contains(now);
        self.stats.delivered += u64::from(counted);
        let home = self.first_poller + p;
        let r = ctx
            .requests
            .insert(carrier(Op::Deliver, self.me, home, m.class, now, counted));
        let poller = &mut self.pollers[p as usize];
        poller.pushed.push_back((r, d));
        let (consumer, machine) = (poller.consumer, poller.machine);
        let h = self.server.machines[0].host as usize;
        send_from_broker(ctx, self.me, h, r, consumer, machine, m.bytes);
    }

    /// Channel `p` closes (its machine is down, or refused a push) and opens again after
    /// `RETRY_AFTER`.
    fn close_channel(&mut self, ctx: &mut Context, p: u32) {
        // Its state is left alone: an acknowledgement may be out (`Deleting`), and its answer
        // must find the state it left.
        self.pollers[p as usize].paused = true;
        self.wake_after(ctx, p, RETRY_AFTER);
    }

    /// Channel `p`'s timer: it opens again (its first, at time 0, opens it), unless its
    /// machine is still down.
    pub(super) fn channel_due(&mut self, ctx: &mut Context, p: u32) {
        let poller = &self.pollers[p as usize];
        if !ctx.live.machine_up(poller.consumer, poller.machine) {
            return self.close_channel(ctx, p);
        }
        self.pollers[p as usize].paused = false;
        self.push_more(ctx);
    }

    /// A call of channel `p` answered: a pushed message's processing (carrier `r`), or its
    /// acknowledgement.
    pub(super) fn channel_returned(
        &mut self,
        ctx: &mut Context,
        r: RequestId,
        req: &Request,
        p: u32,
        ok: bool,
    ) {
        match Op::of(req) {
            Some(Op::Deliver) => {
                let poller = &mut self.pollers[p as usize];
                // Answers come back nearly in the order pushed: the search is short.
                let Some(i) = poller.pushed.iter().position(|&(c, _)| c == r) else {
                    unreachable!("a pushed message's carrier is in its channel's list")
                };
                let (_, d) = poller.pushed.remove(i).unwrap_or_else(|| unreachable!());
                ctx.requests.remove(r);
                self.processing_done(ctx, p, d, ok);
                if ok {
                    self.pollers[p as usize].done.push(d);
                    if self.pollers[p as usize].state != PollerState::Deleting {
                        self.acknowledge(ctx, p);
                    }
                } else {
                    // Closed first, so the message it gives back goes to another channel.
                    if !self.pollers[p as usize].paused {
                        self.close_channel(ctx, p);
                    }
                    self.give_back(ctx, d);
                }
            }
            Some(Op::Delete) => {
                // A failed acknowledgement leaves its messages unacknowledged: back in line.
                let mut acking = std::mem::take(&mut self.pollers[p as usize].acking);
                if !ok {
                    for &d in &acking {
                        self.give_back(ctx, d);
                    }
                }
                acking.clear();
                let poller = &mut self.pollers[p as usize];
                poller.acking = acking;
                poller.state = PollerState::Idle;
                if !poller.done.is_empty() {
                    self.acknowledge(ctx, p);
                }
                self.push_more(ctx);
            }
            Some(Op::Send | Op::Receive | Op::Task) | None => {
                unreachable!("a push channel's calls are deliveries and acknowledgements")
            }
        }
    }

    /// Channel `p` acknowledges the messages it has processed, in one call.
    fn acknowledge(&mut self, ctx: &mut Context, p: u32) {
        let poller = &mut self.pollers[p as usize];
        std::mem::swap(&mut poller.done, &mut poller.acking);
        poller.state = PollerState::Deleting;
        self.call_broker(ctx, p, Op::Delete);
    }

    /// Delivery `d` goes back to the front of the line, if it is still the current one (as at
    /// the end of a visibility timeout: or to the dead-letter count, or expired).
    fn give_back(&mut self, ctx: &mut Context, d: Delivery) {
        self.back_in_line(ctx, d, true);
    }

    /// Every channel's unacknowledged messages go back in line (their channels closed with
    /// the broker).
    pub(super) fn requeue_unacknowledged(&mut self, ctx: &mut Context) {
        for k in 0..self.push_channels.len() {
            let p = self.push_channels[k] as usize;
            let held: Vec<Delivery> = self.pollers[p]
                .pushed
                .iter()
                .map(|&(_, d)| d)
                .chain(self.pollers[p].done.iter().copied())
                .chain(self.pollers[p].acking.iter().copied())
                .collect();
            for d in held {
                self.give_back(ctx, d);
            }
        }
    }
}
