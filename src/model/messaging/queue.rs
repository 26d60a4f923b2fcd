//! A message queue (`"kind": "queue"`, SQS- or RabbitMQ-like): a broker on a machine like any
//! server, whose every API call (send, receive, delete) is a call that crosses the network,
//! takes a connection's worth of memory and runs `request_cpu_ms` on the broker's cores.
//!
//! This file owns the broker's side: what a call does when its CPU is done (`QueueStep::Apply`:
//! store a message, hand out a batch, delete what was processed), the visibility timeout,
//! retention, the depth limit, a crash, and the queue's measurements. The consumers' side
//! (pollers that receive, have their service process each message, and delete) is
//! `poller.rs`; the messages themselves are `store.rs`.

use crate::engine::rng::Stream;
use crate::engine::time::SimTime;
use crate::metrics::histogram::Latency;
use crate::metrics::outcome::Status;
use crate::metrics::time_weighted::TimeWeighted;
use crate::model::compute::host::Host;
use crate::model::compute::server::{Flow, Server, ServerKind};
use crate::model::context::Context;
use crate::model::event::Event;
use crate::model::ids::{ComponentId, FrameId};
use crate::model::messaging::log::{Log, NO_KEY, offset_of};
use crate::model::messaging::poller::{Poller, PollerState};
use crate::model::messaging::store::{Delivery, Processing, Store, VisibilityEnd};
use crate::model::messaging::{Op, queue_of};
use crate::model::request::{Frame, Request};
use std::collections::VecDeque;

pub use crate::model::messaging::queue_spec::{ConsumerSpec, Polling, QueueRules, QueueSpec};

/// A broker's own step: what the call does once its CPU is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueStep {
    Apply,
}

/// A queue's counts over the measurement window.
#[derive(Debug, Default, Clone)]
pub struct QueueStats {
    /// Sends accepted.
    pub sent: u64,
    /// Sends refused: the queue was full (or the broker's memory was).
    pub refused: u64,
    /// API calls: receive calls, the ones that returned nothing, deletes.
    pub receives: u64,
    pub empty_receives: u64,
    pub deletes: u64,
    /// Messages handed out by receives (first deliveries and redeliveries).
    pub delivered: u64,
    /// Messages processed for the first time, and processed again (duplicates).
    pub processed: u64,
    pub duplicates: u64,
    /// Processings that finished after their message had left the queue unprocessed
    /// (dead-lettered, lost, expired) or been deleted: wasted work.
    pub late: u64,
    /// Deliveries whose processing failed (the consumer was down or refused it).
    pub failed_processing: u64,
    /// Messages whose visibility timeout ended before they were deleted.
    pub redelivered: u64,
    /// Pushed messages put back in line: the push failed (the consumer was down or refused
    /// it), or its channel closed unacknowledged.
    pub requeued: u64,
    pub dead_lettered: u64,
    /// Dead-lettered messages the dead-letter queue did not take (refused, or down).
    pub dead_letters_lost: u64,
    pub expired: u64,
    pub lost: u64,
}

/// A queue's live state.
#[derive(Debug)]
pub struct Broker {
    pub server: Server<QueueStep>,
    pub me: ComponentId,
    pub rules: QueueRules,
    pub store: Store,
    pub pollers: Vec<Poller>,
    /// The global id of `pollers[0]` (`Context::carrier_homes`).
    pub first_poller: u32,
    /// Pollers whose long poll waits for a message, oldest first.
    pub parked: VecDeque<u32>,
    /// The pollers that are push channels (`push.rs`), and the next to try.
    pub(super) push_channels: Vec<u32>,
    pub(super) push_cursor: usize,
    /// Messages held, over time, and the most held during the window.
    pub depth: TimeWeighted,
    pub peak_depth: u64,
    pub(super) in_window: bool,
    /// Bytes of messages held in the broker's memory (a crash wipes them; a persistent
    /// queue reads them back when it returns).
    resident: u64,
    pub(super) depth_area_at_start: u128,
    pub(super) window_start: SimTime,
    /// The depth's area at the previous time-series tick, and when.
    pub(super) tick_area: u128,
    pub(super) tick: SimTime,
    /// The longest any message received since that tick had waited.
    pub(super) tick_oldest: Option<SimTime>,
    /// The longest any message waited for a receive during the window: received, expired,
    /// or still waiting when the window closed (None: no message was held).
    pub max_age: Option<SimTime>,
    /// Messages held, time-averaged over the window (set when it closes).
    pub mean_depth: f64,
    /// Sent to processed, of messages first processed in the window.
    pub end_to_end: Latency,
    pub stats: QueueStats,
    /// A partitioned log's partitions and consumer groups (None: a queue).
    pub log: Option<Box<Log>>,
}

impl Broker {
    pub fn new(spec: QueueSpec, me: ComponentId, first_poller: u32, rng: Stream) -> Broker {
        let pollers = spec
            .consumers
            .iter()
            .flat_map(|c| {
                (0..c.machines).flat_map(move |m| {
                    (0..c.loops())
                        .map(move |_| Poller::new(c.service, m, c.batch, c.polling, c.batch_call))
                })
            })
            .collect::<Vec<Poller>>();
        let push_channels = (0..pollers.len() as u32)
            .filter(|&p| matches!(pollers[p as usize].polling, Polling::Push { .. }))
            .collect();
        let log = spec.partitions.map(|n| {
            // Each consuming service is a group; its pollers, in order, its members.
            let mut groups = Vec::new();
            let mut next = 0u32;
            for c in &spec.consumers {
                let count = c.machines.saturating_mul(c.loops());
                groups.push((next..next + count).collect());
                next += count;
            }
            Box::new(Log::new(n, groups, pollers.len()))
        });
        Broker {
            server: Server::new(spec.server, rng),
            me,
            store: match spec.rules.message_groups {
                Some(groups) => Store::fifo(groups),
                None => Store::default(),
            },
            rules: spec.rules,

            pollers,
            first_poller,
            parked: VecDeque::new(),
            push_channels,
            push_cursor: 0,
            depth: TimeWeighted::default(),
            peak_depth: 0,
            in_window: false,
            resident: 0,
            depth_area_at_start: 0,
            window_start: SimTime::ZERO,
            tick_area: 0,
            tick: SimTime::ZERO,
            tick_oldest: None,
            max_age: None,
            mean_depth: 0.0,
            end_to_end: Latency::new(),
            stats: QueueStats::default(),
            log,
        }
    }

    /// Messages held: a queue's visible and in flight; a log's lag (appended and not
    /// committed, summed over its groups).
    #[inline]
    pub(super) fn held(&self) -> u64 {
        match &self.log {
            Some(log) => log.lag,
            None => self.store.depth(),
        }
    }

    /// The class of the message delivery `d` names.
    pub(super) fn class_of(&self, d: Delivery) -> u16 {
        match &self.log {
            Some(log) => log.partitions[d.slot as usize]
                .get(offset_of(d))
                .map_or(0, |r| r.class),
            None => self.store.get(d.slot).class,
        }
    }

    /// A message had waited `age` (received, or expired) during the window.
    #[inline]
    pub(super) fn note_age(&mut self, age: SimTime) {
        if self.in_window {
            self.max_age = Some(self.max_age.map_or(age, |a| a.max(age)));
        }
    }

    #[inline]
    pub(super) fn note_depth(&mut self, now: SimTime) {
        let depth = self.held();
        self.depth.set(now, depth);
        if self.in_window {
            self.peak_depth = self.peak_depth.max(depth);
        }
    }

    /// Gives back the broker's memory for `bytes` of messages that left (none of what a
    /// crash already wiped).
    pub(super) fn free_memory(&mut self, hosts: &mut [Host], bytes: u64) {
        let bytes = bytes.min(self.resident);
        if bytes > 0 {
            self.resident -= bytes;
            hosts[self.server.machines[0].host as usize].give_memory(bytes);
        }
    }

    /// Messages sent before this are past retention.
    pub(super) fn retention_cutoff(&self, now: SimTime) -> SimTime {
        SimTime(now.0.saturating_sub(self.rules.retention.0))
    }

    /// Drops the waiting messages retention no longer keeps (at every call, and at every
    /// time-series tick, so a queue nobody calls still expires them).
    pub(super) fn expire(&mut self, hosts: &mut [Host], now: SimTime) {
        if self.log.is_some() {
            // A log's retention runs at the ticks only (`interval_load`).
            return;
        }
        let (bytes, n) = self.store.expire_before(self.retention_cutoff(now));
        if n > 0 || bytes > 0 {
            if self.in_window {
                self.stats.expired += n;
            }
            if n > 0 {
                self.note_age(self.rules.retention);
            }
            self.free_memory(hosts, bytes);
            self.note_depth(now);
        }
    }

    /// A send of class `class`, sent at `sent`, reaches the store.
    fn accept(&mut self, ctx: &mut Context, fr: &Frame, req: &Request) -> Result<(), Status> {
        let now = ctx.now;
        let counted = ctx.window.contains(now);
        if let Some(log) = &mut self.log {
            // A send's carrier names its sender's key; a topic's copy names the topic.
            let (to, home) = queue_of(req);
            let key = if to == self.me { home } else { NO_KEY };
            let k = log.append(req.class, req.first_start, key, counted);
            self.stats.sent += u64::from(counted);
            self.note_depth(now);
            self.wake_owners(ctx, k);
            return Ok(());
        }
        self.expire(&mut ctx.hosts, now);
        if self.store.depth() >= self.rules.max_messages {
            self.stats.refused += u64::from(counted);
            return Err(Status::QueueFull);
        }
        let bytes = ctx.scenario.workload.classes[usize::from(req.class)].request_bytes;
        let host = &mut ctx.hosts[self.server.machines[fr.machine as usize].host as usize];
        if !host.take_memory(bytes) {
            self.stats.refused += u64::from(counted);
            return Err(Status::OutOfMemory);
        }
        self.resident += bytes;
        // A FIFO queue groups by the key a log would partition by.
        let (to, home) = queue_of(req);
        let key = if to == self.me { home } else { NO_KEY };
        self.store
            .push(req.class, bytes, req.first_start, key, NO_KEY);
        self.stats.sent += u64::from(counted);
        self.note_depth(now);
        self.wake_parked(ctx);
        self.push_more(ctx);
        Ok(())
    }

    /// Takes up to poller `p`'s batch of visible messages into its batch; each is invisible
    /// until its visibility timeout. Their bytes leave the broker's NIC. Returns how many.
    pub(super) fn hand_out(&mut self, ctx: &mut Context, p: u32) -> usize {
        if self.log.is_some() {
            return self.fetch(ctx, p);
        }
        let now = ctx.now;
        let counted = ctx.window.contains(now);
        let poller = &mut self.pollers[p as usize];
        poller.batch.clear();
        poller.next = 0;
        poller.blocked_group = None;
        let mut bytes = 0;
        while poller.batch.len() < usize::from(poller.batch_size) {
            let after = poller.batch.last().map(|d| d.slot);
            let Some((d, m)) = self.store.receive(after) else {
                break;
            };
            poller.batch.push(d);
            bytes += m.bytes;
            let waited = now - m.sent.min(now);
            self.tick_oldest = Some(self.tick_oldest.map_or(waited, |o| o.max(waited)));
            if self.in_window {
                self.max_age = Some(self.max_age.map_or(waited, |a| a.max(waited)));
            }
            let ev = Event::Visibility {
                queue: self.me.index() as u16,
                slot: d.slot,
                receipt: d.receipt,
            };
            ctx.schedule(now + self.rules.visibility_timeout, ev);
        }
        let n = poller.batch.len();
        self.stats.delivered += if counted { n as u64 } else { 0 };
        if bytes > 0 {
            let h = self.server.machines[0].host as usize;
            ctx.hosts[h].send(bytes, now);
        }
        n
    }

    /// Messages arrived: long polls waiting for them get them, oldest first.
    fn wake_parked(&mut self, ctx: &mut Context) {
        if !self.server.machines[0].alive {
            // Its long polls fail with it (`machine_crashed`).
            return;
        }
        while self.store.receivable() {
            let Some(p) = self.parked.pop_front() else {
                return;
            };
            self.hand_out(ctx, p);
            let poller = &mut self.pollers[p as usize];
            let f = poller.parked_frame.take();
            poller.state = PollerState::Receiving;
            if let Some(f) = f {
                ctx.schedule(ctx.now, Event::WaitDone { frame: f });
            }
        }
    }

    /// A receive call of poller `p` (frame `f`) is served.
    fn receive(&mut self, ctx: &mut Context, f: FrameId, p: u32, end: u16) -> Flow {
        self.expire(&mut ctx.hosts, ctx.now);
        let counted = ctx.window.contains(ctx.now);
        self.stats.receives += u64::from(counted);
        if self.hand_out(ctx, p) > 0 {
            return Flow::Next(end);
        }
        let poller = &mut self.pollers[p as usize];
        match poller.polling {
            Polling::Long { wait } if wait > SimTime::ZERO => {
                poller.state = PollerState::Parked;
                poller.parked_frame = Some(f);
                poller.seq = poller.seq.wrapping_add(1);
                self.parked.push_back(p);
                let ev = Event::Poller {
                    queue: self.me.index() as u16,
                    poller: p,
                    seq: poller.seq,
                };
                ctx.schedule(ctx.now + wait, ev);
                Flow::Park
            }
            _ => {
                self.stats.empty_receives += u64::from(counted);
                Flow::Next(end)
            }
        }
    }

    /// A long poll of poller `p` has waited its time: it answers empty.
    pub(super) fn long_poll_expired(&mut self, ctx: &mut Context, p: u32) {
        if let Some(i) = self.parked.iter().position(|&q| q == p) {
            self.parked.remove(i);
        }
        let counted = ctx.window.contains(ctx.now);
        self.stats.empty_receives += u64::from(counted);
        let poller = &mut self.pollers[p as usize];
        poller.batch.clear();
        poller.next = 0;
        poller.state = PollerState::Receiving;
        if let Some(f) = poller.parked_frame.take() {
            ctx.schedule(ctx.now, Event::WaitDone { frame: f });
        }
    }

    /// A delete call of poller `p` (a push channel's acknowledgement): its processed
    /// messages leave the queue (those whose receipt is still current; a message delivered
    /// again since stays). A channel's credit comes back: the broker pushes more.
    fn delete(&mut self, ctx: &mut Context, p: u32) {
        let counted = ctx.window.contains(ctx.now);
        self.stats.deletes += u64::from(counted);
        if self.log.is_some() {
            return self.commit(ctx, p);
        }
        let mut freed = 0;
        let poller = &mut self.pollers[p as usize];
        let push = matches!(poller.polling, Polling::Push { .. });
        let mut done = if push {
            std::mem::take(&mut poller.acking)
        } else {
            std::mem::take(&mut poller.done)
        };
        for &d in &done {
            freed += self.store.delete(d).unwrap_or(0);
        }
        done.clear();
        let poller = &mut self.pollers[p as usize];
        if push {
            poller.acking = done;
        } else {
            poller.done = done;
        }
        self.free_memory(&mut ctx.hosts, freed);
        self.note_depth(ctx.now);
        // In a FIFO queue a delete unlocks its message's group.
        self.wake_parked(ctx);
        self.push_more(ctx);
    }

    /// The visibility timeout of the delivery `(slot, receipt)` ended.
    pub fn visibility_ends(&mut self, ctx: &mut Context, slot: u32, receipt: u32) {
        let Some(d) = self.store.delivery(slot, receipt) else {
            return;
        };
        self.back_in_line(ctx, d, false);
    }

    /// Delivery `d`, if still current, goes back to the front of the line (counted as
    /// redelivered, or as requeued when it had been `pushed`), unless it is to be
    /// dead-lettered or has expired.
    pub(super) fn back_in_line(&mut self, ctx: &mut Context, d: Delivery, pushed: bool) {
        let counted = self.in_window;
        let cutoff = self.retention_cutoff(ctx.now);
        match self
            .store
            .visibility_ended(d, self.rules.max_receives, cutoff)
        {
            VisibilityEnd::Nothing => return,
            VisibilityEnd::Redelivered => {
                if pushed {
                    self.stats.requeued += u64::from(counted);
                } else {
                    self.stats.redelivered += u64::from(counted);
                }
            }
            VisibilityEnd::DeadLettered {
                bytes,
                unprocessed,
                class,
                sent,
            } => {
                self.stats.dead_lettered += u64::from(counted && unprocessed);
                self.free_memory(&mut ctx.hosts, bytes);
                // One already processed (its delete was lost) is not moved: its work is done.
                if let Some(dlq) = self.rules.dead_letter_queue
                    && unprocessed
                {
                    self.redrive(ctx, dlq, class, sent, bytes);
                }
            }
            VisibilityEnd::Expired { bytes, unprocessed } => {
                self.stats.expired += u64::from(counted && unprocessed);
                if unprocessed {
                    self.note_age(self.rules.retention);
                }
                self.free_memory(&mut ctx.hosts, bytes);
            }
        }
        self.note_depth(ctx.now);
        // Back in line, or (in a FIFO queue) gone and its group unlocked: a message to give.
        self.wake_parked(ctx);
        self.push_more(ctx);
    }

    /// Delivery `d` was processed (`ok`) or failed by the consumer.
    pub(super) fn processing_done(&mut self, ctx: &mut Context, p: u32, d: Delivery, ok: bool) {
        let now = ctx.now;
        let counted = ctx.window.contains(now);
        if let Some(log) = &mut self.log {
            let processing = log.processed(p, d, ok);
            return self.log_processing_done(ctx, processing, ok);
        }
        if !ok {
            self.stats.failed_processing += u64::from(counted);
            return;
        }
        match self.store.processed(d) {
            Processing::First(m) => {
                if counted {
                    self.stats.processed += 1;
                    self.end_to_end.record(now - m.sent);
                }
            }
            Processing::Again => self.stats.duplicates += u64::from(counted),
            Processing::Late => self.stats.late += u64::from(counted),
        }
    }

    pub fn queue_heap_bytes(&self) -> u64 {
        let pushed: usize = self
            .push_channels
            .iter()
            .map(|&p| self.pollers[p as usize].pushed.capacity() * 24)
            .sum();
        self.server.queue_heap_bytes()
            + self.store.heap_bytes()
            + self.log.as_ref().map_or(0, |log| log.heap_bytes())
            + (self.parked.capacity() * 4 + pushed) as u64
    }
}

impl ServerKind for Broker {
    type Own = QueueStep;

    #[inline]
    fn server(&mut self) -> &mut Server<QueueStep> {
        &mut self.server
    }

    fn own_step(
        &mut self,
        ctx: &mut Context,
        f: FrameId,
        fr: &Frame,
        req: &Request,
        step: QueueStep,
        end: u16,
    ) -> Flow {
        let QueueStep::Apply = step;
        match Op::of(req) {
            Some(Op::Send) => match self.accept(ctx, fr, req) {
                Err(status) => Flow::Answer(status),
                Ok(()) if self.rules.persistent => {
                    let h = self.server.machines[fr.machine as usize].host as usize;
                    let done = ctx.hosts[h].disk(1, ctx.now);
                    ctx.schedule(done, Event::WaitDone { frame: f });
                    Flow::Wait
                }
                Ok(()) => Flow::Next(end),
            },
            Some(Op::Receive) => {
                let p = queue_of(req).1 - self.first_poller;
                self.receive(ctx, f, p, end)
            }
            Some(Op::Delete) => {
                let p = queue_of(req).1 - self.first_poller;
                self.delete(ctx, p);
                Flow::Next(end)
            }
            Some(Op::Deliver | Op::Task) | None => {
                unreachable!("only sends, receives and deletes reach a queue")
            }
        }
    }

    /// Its messages lived in the crashed broker's memory, unless they were persistent; long
    /// polls waiting there fail.
    fn machine_crashed(&mut self, ctx: &mut Context, _: ComponentId, _: u32) {
        let now = ctx.now;
        // The crash has reset the machine's memory: nothing to give back.
        self.resident = 0;
        if self.rules.persistent {
            // The channels closed: what they held unacknowledged goes back in line.
            self.requeue_unacknowledged(ctx);
        } else {
            let (_, n) = self.store.lose_all();
            self.stats.lost += if ctx.window.contains(now) { n } else { 0 };
            self.note_depth(now);
        }
        while let Some(p) = self.parked.pop_front() {
            let poller = &mut self.pollers[p as usize];
            poller.state = PollerState::Receiving;
            poller.seq = poller.seq.wrapping_add(1);
            if let Some(f) = poller.parked_frame.take() {
                // Its epoch has changed: the wait ends in a failed answer.
                ctx.schedule(now, Event::WaitDone { frame: f });
            }
        }
    }

    /// Persistent messages are read back into memory; pushes start again.
    fn machine_recovered(&mut self, ctx: &mut Context, _: ComponentId, machine: u32) {
        let bytes = self.store.bytes;
        if bytes > 0 {
            let h = self.server.machines[machine as usize].host as usize;
            ctx.hosts[h].memory_bytes += bytes;
            ctx.hosts[h].memory_peak = ctx.hosts[h].memory_peak.max(ctx.hosts[h].memory_bytes);
            self.resident = bytes;
        }
        self.push_more(ctx);
    }
}
