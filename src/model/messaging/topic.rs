//! A topic (`"kind": "topic"`, SNS-like publish/subscribe): a broker on a machine that fans
//! each published message out to every subscription, at once.
//!
//! A publish is a call (a `publish` step) that crosses the network and runs
//! `request_cpu_ms` on the topic's cores; the publisher goes on when the topic has taken the
//! message. The topic then sends one copy per subscription, each through its NIC (fan-out
//! multiplies its bytes) and over the link: to a queue (a send, which the queue keeps while
//! its consumers are down: durable) or to a service (a push, which that service's handler for
//! the message's class processes). A push that fails — the subscriber is down or refuses —
//! is tried again `retries` times after a doubling backoff, then lost: nobody acknowledges a
//! push to the publisher, so a lost one is lost for good (the seeds' lesson).

use crate::engine::rng::Stream;
use crate::engine::time::SimTime;
use crate::metrics::histogram::Latency;
use crate::metrics::outcome::Status;
use crate::model::compute::server::{Flow, Server, ServerKind, ServerSpec};
use crate::model::context::Context;
use crate::model::event::Event;
use crate::model::ids::{ComponentId, FrameId, RequestId};
use crate::model::messaging::{Op, carrier, queue_of, send_from_broker, tries_of, with_tries};
use crate::model::request::{Frame, Request};
use rand::RngExt;

/// A topic's own step: fan the published message out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicStep {
    FanOut,
}

/// Where a subscription delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subscriber {
    /// A queue: the copy is a send to it.
    Queue(ComponentId),
    /// A service's endpoint: the copy is a call its handler processes, on one of its
    /// `machines` at random.
    Push { service: ComponentId, machines: u32 },
}

/// One subscription.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SubscriptionSpec {
    pub to: Subscriber,
    /// Further tries of a failed push (a send to a queue is not retried: a queue that
    /// refuses is full or down, and the copy is lost).
    pub retries: u8,
    /// Wait before the first retry; doubled before each next.
    pub backoff: SimTime,
}

/// A topic as the scenario describes it.
#[derive(Debug, Clone)]
pub struct TopicSpec {
    pub server: ServerSpec<TopicStep>,
    pub subscriptions: Vec<SubscriptionSpec>,
}

/// One subscription's counts over the window.
#[derive(Debug, Default)]
pub struct SubscriptionStats {
    pub delivered: u64,
    pub retried: u64,
    pub lost: u64,
    /// Published to delivered (the subscriber's answer back at the topic).
    pub latency: Latency,
}

/// What became of the copies over the whole run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CopyFates {
    pub sent: u64,
    pub delivered: u64,
    pub lost: u64,
}

/// A topic's live state.
#[derive(Debug)]
pub struct Topic {
    pub server: Server<TopicStep>,
    pub me: ComponentId,
    pub subscriptions: Vec<SubscriptionSpec>,
    /// The global carrier home id of subscription 0 (`Context::carrier_homes`).
    pub first_home: u32,
    /// Messages published (accepted) in the window.
    pub published: u64,
    pub stats: Vec<SubscriptionStats>,
    pub fates: CopyFates,
    /// Crashes so far: a retry scheduled before the last one was lost with the topic.
    pub epoch: u16,
}

impl Topic {
    pub fn new(spec: TopicSpec, rng: Stream) -> Topic {
        let n = spec.subscriptions.len();
        Topic {
            server: Server::new(spec.server, rng),
            me: ComponentId::from_index(0),
            subscriptions: spec.subscriptions,
            first_home: 0,
            published: 0,
            stats: (0..n).map(|_| SubscriptionStats::default()).collect(),
            fates: CopyFates::default(),
            epoch: 0,
        }
    }

    /// A message of `req`'s class, published at `req.first_start`, goes to every subscription.
    fn fan_out(&mut self, ctx: &mut Context, req: &Request) {
        let counted = ctx.window.contains(ctx.now);
        self.published += u64::from(counted);
        for i in 0..self.subscriptions.len() as u32 {
            let op = match self.subscriptions[i as usize].to {
                Subscriber::Queue(_) => Op::Send,
                Subscriber::Push { .. } => Op::Deliver,
            };
            let copy = carrier(
                op,
                self.me,
                self.first_home + i,
                req.class,
                req.first_start,
                counted,
            );
            let r = ctx.requests.insert(copy);
            self.fates.sent += 1;
            self.send_copy(ctx, r, i);
        }
    }

    /// Copy `r` leaves for subscription `i`: through the topic's NIC, over the link.
    fn send_copy(&mut self, ctx: &mut Context, r: RequestId, i: u32) {
        let (target, machine) = match self.subscriptions[i as usize].to {
            Subscriber::Queue(q) => (q, 0),
            Subscriber::Push { service, machines } => {
                (service, self.server.rng.random_range(0..machines.max(1)))
            }
        };
        let bytes = ctx.class_of(r).request_bytes;
        let h = self.server.machines[0].host as usize;
        send_from_broker(ctx, self.me, h, r, target, machine, bytes);
    }

    /// A copy's answer came back (frame `f`, which goes): delivered, tried again, or lost.
    pub fn op_returned(&mut self, ctx: &mut Context, f: FrameId) {
        let now = ctx.now;
        let fr = *ctx.frames.get(f);
        ctx.frames.remove(f);
        let r = fr.request;
        let req = *ctx.requests.get(r);
        let i = queue_of(&req).1 - self.first_home;
        let counted = ctx.window.contains(now);
        let stats = &mut self.stats[i as usize];
        if fr.status == Status::Ok {
            if counted {
                stats.delivered += 1;
                stats.latency.record(now - req.first_start);
            }
            self.fates.delivered += 1;
            ctx.requests.remove(r);
            return;
        }
        let sub = self.subscriptions[i as usize];
        let tries = tries_of(&req);
        let push = matches!(sub.to, Subscriber::Push { .. });
        // A failed copy coming back to a topic that is down has nobody to try it again.
        if push && tries < sub.retries && self.server.machines[0].alive {
            stats.retried += u64::from(counted);
            ctx.requests.get_mut(r).attempt = with_tries(&req, tries + 1);
            let wait = SimTime(sub.backoff.0.saturating_mul(1 << tries.min(30)));
            let ev = Event::Redeliver {
                topic: self.me.index() as u16,
                epoch: self.epoch,
                request: r,
            };
            ctx.schedule(now + wait, ev);
            return;
        }
        stats.lost += u64::from(counted);
        self.fates.lost += 1;
        ctx.requests.remove(r);
    }

    /// Copy `r`'s retry, scheduled at `epoch`, is due: the topic sends it again, unless it
    /// has crashed since (the copy waited in its memory) or is down (lost).
    pub fn redeliver(&mut self, ctx: &mut Context, r: RequestId, epoch: u16) {
        let i = queue_of(ctx.requests.get(r)).1 - self.first_home;
        if self.server.machines[0].alive && epoch == self.epoch {
            return self.send_copy(ctx, r, i);
        }
        self.stats[i as usize].lost += u64::from(ctx.window.contains(ctx.now));
        self.fates.lost += 1;
        ctx.requests.remove(r);
    }
}

impl ServerKind for Topic {
    type Own = TopicStep;

    #[inline]
    fn server(&mut self) -> &mut Server<TopicStep> {
        &mut self.server
    }

    fn own_step(
        &mut self,
        ctx: &mut Context,
        _: FrameId,
        _: &Frame,
        req: &Request,
        step: TopicStep,
        end: u16,
    ) -> Flow {
        let TopicStep::FanOut = step;
        self.fan_out(ctx, req);
        Flow::Next(end)
    }

    /// The copies waiting for a retry were in its memory: they are lost (when their retry
    /// comes due).
    fn machine_crashed(&mut self, _: &mut Context, _: ComponentId, _: u32) {
        self.epoch = self.epoch.wrapping_add(1);
    }
}
