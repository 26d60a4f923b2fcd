//! The messages a queue holds: an arena of its own (a message is not a request), the line of
//! visible messages, and what became of every message accepted (the conservation the tests
//! check: accepted = processed + dead-lettered + expired + lost + still held).
//!
//! A message is visible (waiting for a receive) or in flight (received, invisible until it is
//! deleted or its visibility timeout ends). Its id is a slot and a generation, so an event or
//! an answer about a message that has since gone (deleted, expired) finds nothing. No hashing
//! and no allocation per message once the arena has grown to the peak depth.

use crate::engine::time::SimTime;
use std::collections::VecDeque;

/// Where a message stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Held {
    /// The slot is free.
    #[default]
    Gone,
    /// Waiting in line for a receive.
    Visible,
    /// Received; invisible until deleted or until its visibility timeout ends.
    InFlight,
}

/// One message in the queue.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Message {
    pub class: u16,
    /// Times it has been received.
    pub receives: u16,
    pub held: Held,
    /// A consumer has finished processing it at least once.
    pub processed: bool,
    /// The producer's send reached the queue (end-to-end latency starts here).
    pub sent: SimTime,
    /// Its size, taken from the broker's memory while it is held.
    pub bytes: u64,
    /// Given at its allocation: tells it from a later message in the same slot.
    pub id: u32,
    /// Given at every receive (and redelivery): names one delivery of it.
    pub receipt: u32,
}

/// A message, as named outside the store: its slot and the receipt of one delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    pub slot: u32,
    pub id: u32,
    pub receipt: u32,
}

/// What a finished processing was.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Processing {
    /// The message's first: it counts as processed.
    First(Message),
    /// The message had been processed already (a duplicate).
    Again,
    /// The message had left the queue unprocessed (dead-lettered, lost, expired), or was
    /// deleted and its slot reused: the work came too late to count.
    Late,
}

/// What the end of a visibility timeout did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisibilityEnd {
    /// The delivery was no longer current (deleted, or delivered again since).
    Nothing,
    Redelivered,
    DeadLettered {
        bytes: u64,
        unprocessed: bool,
    },
    Expired {
        bytes: u64,
        unprocessed: bool,
    },
}

/// What became of the messages a queue accepted, over the whole run. Each accepted message
/// ends in one of them or is still held unprocessed at the end: a message already processed
/// that is dead-lettered, expired or lost later counts as processed (its work was done).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fates {
    pub accepted: u64,
    /// Processed (the first time) and deleted, or processed and still in flight.
    pub processed: u64,
    pub dead_lettered: u64,
    pub expired: u64,
    /// Gone with the broker's memory in a crash (not persistent).
    pub lost: u64,
}

/// The messages of one queue.
#[derive(Debug, Default)]
pub struct Store {
    slots: Vec<Message>,
    free: Vec<u32>,
    visible: VecDeque<u32>,
    in_flight: u64,
    /// Bytes held (visible and in flight).
    pub bytes: u64,
    /// Bumped at every allocation and receive; a message's `receipt` is its value then.
    next_receipt: u32,
    pub fates: Fates,
}

impl Store {
    /// Messages held: visible and in flight.
    #[inline]
    pub fn depth(&self) -> u64 {
        self.visible.len() as u64 + self.in_flight
    }

    #[inline]
    pub fn visible(&self) -> usize {
        self.visible.len()
    }

    #[inline]
    pub fn in_flight(&self) -> u64 {
        self.in_flight
    }

    #[inline]
    pub fn get(&self, slot: u32) -> &Message {
        &self.slots[slot as usize]
    }

    /// Whether `d` still names the delivery its receipt was given to (not since deleted,
    /// expired, redelivered or dead-lettered).
    #[inline]
    pub fn current(&self, d: Delivery) -> bool {
        self.slots
            .get(d.slot as usize)
            .is_some_and(|m| m.held == Held::InFlight && m.id == d.id && m.receipt == d.receipt)
    }

    /// The delivery of the message in flight in `slot` under `receipt`, if it still is.
    pub fn delivery(&self, slot: u32, receipt: u32) -> Option<Delivery> {
        let m = self.slots.get(slot as usize)?;
        (m.held == Held::InFlight && m.receipt == receipt).then_some(Delivery {
            slot,
            id: m.id,
            receipt,
        })
    }

    fn bump(&mut self) -> u32 {
        self.next_receipt = self.next_receipt.wrapping_add(1);
        self.next_receipt
    }

    /// Accepts a message of `class` and `bytes`, sent at `sent`; it joins the back of the line.
    pub fn push(&mut self, class: u16, bytes: u64, sent: SimTime) {
        let id = self.bump();
        let m = Message {
            class,
            receives: 0,
            held: Held::Visible,
            processed: false,
            sent,
            bytes,
            id,
            receipt: id,
        };
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = m;
                s
            }
            None => {
                self.slots.push(m);
                (self.slots.len() - 1) as u32
            }
        };
        self.visible.push_back(slot);
        self.bytes += bytes;
        self.fates.accepted += 1;
    }

    /// When the message at the front of the line was sent, if any is visible.
    pub fn oldest_visible(&self) -> Option<SimTime> {
        self.visible.front().map(|&s| self.slots[s as usize].sent)
    }

    /// Drops visible messages sent before `cutoff` from the front of the line (retention);
    /// returns their bytes and count.
    pub fn expire_before(&mut self, cutoff: SimTime) -> (u64, u64) {
        let (mut bytes, mut n) = (0, 0);
        while let Some(&s) = self.visible.front() {
            if self.slots[s as usize].sent >= cutoff {
                break;
            }
            self.visible.pop_front();
            n += u64::from(!self.slots[s as usize].processed);
            bytes += self.release(s);
        }
        self.fates.expired += n;
        (bytes, n)
    }

    /// Receives the message at the front of the line: it goes in flight under a new receipt.
    pub fn receive(&mut self) -> Option<(Delivery, Message)> {
        let slot = self.visible.pop_front()?;
        let receipt = self.bump();
        let m = &mut self.slots[slot as usize];
        m.held = Held::InFlight;
        m.receives = m.receives.saturating_add(1);
        m.receipt = receipt;
        self.in_flight += 1;
        let id = m.id;
        Some((Delivery { slot, id, receipt }, *m))
    }

    /// The delivery `d` was processed: the message's first processing, a repeat, or work on
    /// a message that had left the queue unprocessed (or whose slot holds another since).
    pub fn processed(&mut self, d: Delivery) -> Processing {
        let Some(m) = self.slots.get_mut(d.slot as usize) else {
            return Processing::Late;
        };
        // Redelivered since (a stale receipt) it is still the same message: its first
        // processing counts whoever finishes it.
        if m.id != d.id {
            return Processing::Late;
        }
        match (m.held, m.processed) {
            (_, true) => Processing::Again,
            (Held::Gone, false) => Processing::Late,
            (Held::Visible | Held::InFlight, false) => {
                m.processed = true;
                self.fates.processed += 1;
                Processing::First(*m)
            }
        }
    }

    /// Deletes delivery `d` if it is still current; returns the bytes freed.
    pub fn delete(&mut self, d: Delivery) -> Option<u64> {
        if !self.current(d) {
            return None;
        }
        self.in_flight -= 1;
        Some(self.release(d.slot))
    }

    /// The visibility timeout of delivery `d` ended. A message still in flight under it
    /// goes back to the front of the line; unless it was sent before `cutoff` (retention
    /// covers messages in flight too) or has been received `max_receives` times (to the
    /// dead-letter queue).
    pub fn visibility_ended(
        &mut self,
        d: Delivery,
        max_receives: Option<u16>,
        cutoff: SimTime,
    ) -> VisibilityEnd {
        if !self.current(d) {
            return VisibilityEnd::Nothing;
        }
        self.in_flight -= 1;
        let receipt = self.bump();
        let m = &mut self.slots[d.slot as usize];
        let unprocessed = !m.processed;
        if m.sent < cutoff {
            self.fates.expired += u64::from(unprocessed);
            let bytes = self.release(d.slot);
            return VisibilityEnd::Expired { bytes, unprocessed };
        }
        if max_receives.is_some_and(|n| m.receives >= n) {
            self.fates.dead_lettered += u64::from(unprocessed);
            let bytes = self.release(d.slot);
            return VisibilityEnd::DeadLettered { bytes, unprocessed };
        }
        m.held = Held::Visible;
        m.receipt = receipt;
        self.visible.push_front(d.slot);
        VisibilityEnd::Redelivered
    }

    /// Every message is gone with the broker's memory (a crash, not persistent): returns
    /// the bytes freed and how many were lost.
    pub fn lose_all(&mut self) -> (u64, u64) {
        let (mut bytes, mut n) = (0, 0);
        for s in 0..self.slots.len() {
            if self.slots[s].held != Held::Gone {
                n += u64::from(!self.slots[s].processed);
                bytes += self.release(s as u32);
            }
        }
        self.visible.clear();
        self.in_flight = 0;
        self.fates.lost += n;
        (bytes, n)
    }

    /// Messages still held that no consumer has processed (the conservation's "still queued").
    pub fn unprocessed_held(&self) -> u64 {
        self.slots
            .iter()
            .filter(|m| m.held != Held::Gone && !m.processed)
            .count() as u64
    }

    /// Frees `slot`; returns its bytes.
    fn release(&mut self, slot: u32) -> u64 {
        let m = &mut self.slots[slot as usize];
        let bytes = m.bytes;
        m.held = Held::Gone;
        self.bytes -= bytes;
        self.free.push(slot);
        bytes
    }

    /// Bytes of heap it holds.
    pub fn heap_bytes(&self) -> u64 {
        (self.slots.capacity() * std::mem::size_of::<Message>()
            + (self.free.capacity() + self.visible.capacity()) * 4) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: f64) -> SimTime {
        SimTime::from_secs(x)
    }

    #[test]
    fn a_message_received_and_deleted_leaves_with_its_bytes() {
        let mut st = Store::default();
        st.push(0, 100, s(1.0));
        st.push(1, 50, s(2.0));
        assert_eq!((st.depth(), st.bytes), (2, 150));
        let (d, m) = st.receive().unwrap();
        assert_eq!(
            (m.class, m.receives, st.visible(), st.in_flight()),
            (0, 1, 1, 1)
        );
        assert!(matches!(st.processed(d), Processing::First(_)));
        assert_eq!(st.processed(d), Processing::Again);
        assert_eq!(st.delete(d), Some(100));
        assert_eq!(st.delete(d), None, "deleted once");
        assert_eq!((st.depth(), st.bytes, st.fates.processed), (1, 50, 1));
    }

    #[test]
    fn a_timeout_redelivers_at_the_front_and_stales_the_old_receipt() {
        let mut st = Store::default();
        st.push(0, 10, s(1.0));
        st.push(0, 10, s(2.0));
        let (first, _) = st.receive().unwrap();
        assert_eq!(
            st.visibility_ended(first, None, s(0.0)),
            VisibilityEnd::Redelivered
        );
        // The old receipt no longer deletes, and the message is first in line again.
        assert_eq!(st.delete(first), None);
        let (again, m) = st.receive().unwrap();
        assert_eq!((again.slot, m.receives), (first.slot, 2));
        // Whoever finishes first counts; the other is a duplicate.
        assert!(matches!(st.processed(first), Processing::First(_)));
        assert_eq!(st.processed(again), Processing::Again);
    }

    #[test]
    fn max_receives_dead_letters_and_retention_expires_in_flight_too() {
        let mut st = Store::default();
        st.push(0, 10, s(1.0));
        let (d, _) = st.receive().unwrap();
        assert_eq!(
            st.visibility_ended(d, Some(1), s(0.0)),
            VisibilityEnd::DeadLettered {
                bytes: 10,
                unprocessed: true
            }
        );
        assert_eq!(st.processed(d), Processing::Late);
        st.push(0, 10, s(1.0));
        let (d, _) = st.receive().unwrap();
        assert_eq!(
            st.visibility_ended(d, None, s(5.0)),
            VisibilityEnd::Expired {
                bytes: 10,
                unprocessed: true
            }
        );
        st.push(0, 10, s(1.0));
        st.push(0, 10, s(9.0));
        assert_eq!(st.expire_before(s(5.0)), (10, 1));
        assert_eq!(st.depth(), 1);
    }

    #[test]
    fn every_accepted_message_ends_in_one_fate() {
        let mut st = Store::default();
        for i in 0..10 {
            st.push(0, 1, s(f64::from(i)));
        }
        let (a, _) = st.receive().unwrap();
        st.processed(a);
        st.delete(a);
        let (b, _) = st.receive().unwrap();
        st.visibility_ended(b, Some(1), s(0.0));
        st.expire_before(s(2.5));
        let (c, _) = st.receive().unwrap();
        st.processed(c);
        let (lost_bytes, lost) = st.lose_all();
        let f = st.fates;
        // Held at the crash: the processed message 3 (not lost: its work was done) and 4..9.
        assert_eq!((lost, lost_bytes, st.depth(), st.bytes), (6, 7, 0, 0));
        assert_eq!(
            f.accepted,
            f.processed + f.dead_lettered + f.expired + f.lost + st.unprocessed_held()
        );
    }
}
