//! A queue's dead-letter queue (`dead_letter_queue`, SQS's redrive policy): a message
//! received `max_receives` times without being deleted leaves the queue (`store.rs` counts
//! it dead-lettered) and, when the queue names a dead-letter queue, moves there as a send
//! from this broker: through its NIC and over the link to the other broker, whose CPU takes
//! it like any send. It keeps its first send time. A move the other queue refuses, or one
//! from a broker that is down, is gone (`dead_letters_lost`).

use crate::engine::time::SimTime;
use crate::model::context::Context;
use crate::model::ids::{ComponentId, RequestId};
use crate::model::messaging::queue::Broker;
use crate::model::messaging::{Op, carrier, send_from_broker};

impl Broker {
    /// A dead-lettered message of `class` and `bytes`, first sent at `sent`, moves to queue
    /// `dlq`: a send from this broker (its NIC, the link, the other broker's CPU), whose
    /// answer comes back to the home after the pollers' (`redrive_home`). Its age goes on
    /// from its first send, as SQS keeps a message's enqueue time.
    pub(super) fn redrive(
        &mut self,
        ctx: &mut Context,
        dlq: ComponentId,
        class: u16,
        sent: SimTime,
        b: u64,
    ) {
        let counted = ctx.window.contains(ctx.now);
        if !self.server.machines[0].alive {
            self.stats.dead_letters_lost += u64::from(counted);
            return;
        }
        let home = self.redrive_home();
        let r = ctx
            .requests
            .insert(carrier(Op::Send, self.me, home, class, sent, counted));
        let h = self.server.machines[0].host as usize;
        send_from_broker(ctx, self.me, h, r, dlq, 0, b);
    }

    /// The carrier home of its moves to the dead-letter queue: the one after its pollers'.
    #[inline]
    pub(super) fn redrive_home(&self) -> u32 {
        self.first_poller + self.pollers.len() as u32
    }

    /// A move to the dead-letter queue (carrier `r`) was answered; refused, the message is
    /// gone.
    pub(super) fn redrive_returned(&mut self, ctx: &mut Context, r: RequestId, ok: bool) {
        let counted = ctx.requests.get(r).counted && ctx.window.contains(ctx.now);
        ctx.requests.remove(r);
        self.stats.dead_letters_lost += u64::from(counted && !ok);
    }
}
