//! The messages a queue holds: an arena of its own (a message is not a request), the line of
//! visible messages, and what became of every message accepted (the conservation the tests
//! check: accepted = processed + dead-lettered + expired + lost + still held).
//!
//! A message is visible (waiting for a receive) or in flight (received, invisible until it is
//! deleted or its visibility timeout ends). Its id is a slot and a generation, so an event or
//! an answer about a message that has since gone (deleted, expired) finds nothing. No hashing
//! and no allocation per message once the arena has grown to the peak depth.
//!
//! A standard queue keeps one line of visible messages; a FIFO queue keeps its message groups
//! instead (`fifo.rs`), and the line is unused.

use crate::engine::time::SimTime;
use crate::model::messaging::fifo::{Fifo, NONE};
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
        class: u16,
        sent: SimTime,
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
    /// Messages held (visible and in flight), and of them in flight.
    held: u64,
    in_flight: u64,
    /// A FIFO queue's message groups (None: a standard queue).
    fifo: Option<Box<Fifo>>,
    /// Bytes held (visible and in flight).
    pub bytes: u64,
    /// Bumped at every allocation and receive; a message's `receipt` is its value then.
    next_receipt: u32,
    pub fates: Fates,
}

impl Store {
    /// The store of a FIFO queue of `groups` message groups.
    pub fn fifo(groups: u32) -> Store {
        Store {
            fifo: Some(Box::new(Fifo::new(groups))),
            ..Store::default()
        }
    }

    /// Messages held: visible and in flight.
    #[inline]
    pub fn depth(&self) -> u64 {
        self.held
    }

    /// A FIFO queue's `arrival` line's length (tests: it stays within twice the depth).
    #[cfg(test)]
    pub fn arrival_len(&self) -> usize {
        self.fifo.as_ref().map_or(0, |f| f.arrival.len())
    }

    /// Whether the message `d` names is still held (visible or in flight), under whatever
    /// receipt.
    #[inline]
    pub fn holds(&self, d: Delivery) -> bool {
        self.slots
            .get(d.slot as usize)
            .is_some_and(|m| m.held != Held::Gone && m.id == d.id)
    }

    /// A FIFO queue's next message to receive (`Store::receive`), its group locked.
    #[inline(never)]
    fn fifo_next(&mut self, after: Option<u32>) -> Option<u32> {
        let fifo = self.fifo.as_mut()?;
        let slots = &self.slots;
        let s = fifo.next_to_receive(after, |s| slots[s as usize].held == Held::Visible);
        if s == NONE {
            return None;
        }
        fifo.taken(s);
        Some(s)
    }

    /// The message group of the message in `slot` (None: a standard queue).
    #[inline]
    pub fn group_of(&self, slot: u32) -> Option<u32> {
        self.fifo.as_ref().map(|f| f.links[slot as usize].group)
    }

    /// Whether a receive would get a message: one is visible (in a FIFO queue, at the head
    /// of a group with none in flight).
    #[inline]
    pub fn receivable(&self) -> bool {
        match &self.fifo {
            None => !self.visible.is_empty(),
            Some(fifo) => !fifo.ready.is_empty(),
        }
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

    /// Accepts a message of `class` and `bytes`, sent at `sent`; it joins the back of the line
    /// (of a FIFO queue: of its group, by its sender's key home `key`, `no_key` for none).
    pub fn push(&mut self, class: u16, bytes: u64, sent: SimTime, key: u32, no_key: u32) {
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
        match &mut self.fifo {
            None => self.visible.push_back(slot),
            Some(fifo) => {
                let g = fifo.group_of(key, no_key);
                fifo.append(slot, id, g);
            }
        }
        self.held += 1;
        self.bytes += bytes;
        self.fates.accepted += 1;
        if let Some(fifo) = &mut self.fifo
            && fifo.arrival.len() as u64 > 2 * self.held + 64
        {
            // Stale entries behind a long-held front outnumber the messages: drop them
            // (in order), so the line stays within twice the depth.
            let slots = &self.slots;
            fifo.arrival.retain(|&(s, id)| {
                slots[s as usize].held != Held::Gone && slots[s as usize].id == id
            });
        }
    }

    /// When the oldest visible message was sent, if any is visible (of a FIFO queue: the
    /// oldest waiting, whether its group is locked or not).
    pub fn oldest_visible(&self) -> Option<SimTime> {
        match &self.fifo {
            None => self.visible.front().map(|&s| self.slots[s as usize].sent),
            Some(fifo) => fifo
                .arrival
                .iter()
                .map(|&(s, id)| (&self.slots[s as usize], id))
                .find(|&(m, id)| m.held == Held::Visible && m.id == id)
                .map(|(m, _)| m.sent),
        }
    }

    /// Drops visible messages sent before `cutoff` from the front of the line (retention);
    /// returns their bytes and count.
    pub fn expire_before(&mut self, cutoff: SimTime) -> (u64, u64) {
        if self.fifo.is_some() {
            return self.expire_fifo_before(cutoff);
        }
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

    /// A FIFO queue's retention: drops the visible messages sent before `cutoff`, oldest
    /// first, stopping at the first younger one (messages in flight expire at the end of
    /// their visibility timeout); stale entries at the front of `arrival` leave it.
    fn expire_fifo_before(&mut self, cutoff: SimTime) -> (u64, u64) {
        let (mut bytes, mut n) = (0, 0);
        let mut i = 0;
        loop {
            let Some(fifo) = &mut self.fifo else {
                unreachable!("called for a FIFO queue")
            };
            let Some(&(s, id)) = fifo.arrival.get(i) else {
                break;
            };
            let m = self.slots[s as usize];
            if m.held == Held::Gone || m.id != id {
                if i == 0 {
                    fifo.arrival.pop_front();
                } else {
                    i += 1;
                }
                continue;
            }
            // Accepted in about the order sent: the first young one ends the search.
            if m.sent >= cutoff {
                break;
            }
            if m.held == Held::InFlight {
                i += 1;
                continue;
            }
            n += u64::from(!m.processed);
            bytes += self.release(s);
        }
        self.fates.expired += n;
        (bytes, n)
    }

    /// Receives the message at the front of the line: it goes in flight under a new receipt.
    /// In a FIFO queue, after `after` (the slot of the previous message of the same batch),
    /// the next of its group if it has one waiting, else the head of the first ready group.
    pub fn receive(&mut self, after: Option<u32>) -> Option<(Delivery, Message)> {
        let slot = match self.fifo {
            None => self.visible.pop_front()?,
            Some(_) => self.fifo_next(after)?,
        };
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
                if let Some(fifo) = &self.fifo {
                    // A group's messages are first processed in the order accepted.
                    let prev = fifo.links[d.slot as usize].prev;
                    debug_assert!(
                        prev == NONE || self.slots[prev as usize].processed,
                        "FIFO order: slot {} processed before slot {prev} of its group",
                        d.slot
                    );
                }
                let m = &mut self.slots[d.slot as usize];
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
        let Some(fifo) = &mut self.fifo else {
            return Some(self.release(d.slot));
        };
        let g = fifo.returned(d.slot);
        let bytes = self.release(d.slot);
        if let Some(fifo) = &mut self.fifo {
            fifo.make_ready(g, false);
        }
        Some(bytes)
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
        let group = self.fifo.as_mut().map(|f| f.returned(d.slot));
        let receipt = self.bump();
        let m = &mut self.slots[d.slot as usize];
        let unprocessed = !m.processed;
        let end = if m.sent < cutoff {
            self.fates.expired += u64::from(unprocessed);
            let bytes = self.release(d.slot);
            VisibilityEnd::Expired { bytes, unprocessed }
        } else if max_receives.is_some_and(|n| m.receives >= n) {
            self.fates.dead_lettered += u64::from(unprocessed);
            let (class, sent) = (m.class, m.sent);
            let bytes = self.release(d.slot);
            VisibilityEnd::DeadLettered {
                bytes,
                unprocessed,
                class,
                sent,
            }
        } else {
            m.held = Held::Visible;
            m.receipt = receipt;
            if self.fifo.is_none() {
                self.visible.push_front(d.slot);
            }
            VisibilityEnd::Redelivered
        };
        // Its group, unlocked, is received again first (the message keeps its place).
        if let (Some(fifo), Some(g)) = (&mut self.fifo, group) {
            fifo.make_ready(g, true);
        }
        end
    }

    /// Every message is gone with the broker's memory (a crash, not persistent): returns
    /// the bytes freed and how many were lost.
    pub fn lose_all(&mut self) -> (u64, u64) {
        let (mut bytes, mut n) = (0, 0);
        if let Some(fifo) = &mut self.fifo {
            // Emptied at once: freeing each slot then finds nothing to unlink.
            fifo.clear();
        }
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
        self.held -= 1;
        self.free.push(slot);
        if let Some(fifo) = &mut self.fifo {
            fifo.unlink(slot);
        }
        bytes
    }

    /// Bytes of heap it holds.
    pub fn heap_bytes(&self) -> u64 {
        (self.slots.capacity() * std::mem::size_of::<Message>()
            + (self.free.capacity() + self.visible.capacity()) * 4) as u64
            + self.fifo.as_ref().map_or(0, |f| f.heap_bytes())
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
        st.push(0, 100, s(1.0), NONE, NONE);
        st.push(1, 50, s(2.0), NONE, NONE);
        assert_eq!((st.depth(), st.bytes), (2, 150));
        let (d, m) = st.receive(None).unwrap();
        assert_eq!(
            (m.class, m.receives, st.visible.len(), st.in_flight()),
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
        st.push(0, 10, s(1.0), NONE, NONE);
        st.push(0, 10, s(2.0), NONE, NONE);
        let (first, _) = st.receive(None).unwrap();
        assert_eq!(
            st.visibility_ended(first, None, s(0.0)),
            VisibilityEnd::Redelivered
        );
        // The old receipt no longer deletes, and the message is first in line again.
        assert_eq!(st.delete(first), None);
        let (again, m) = st.receive(None).unwrap();
        assert_eq!((again.slot, m.receives), (first.slot, 2));
        // Whoever finishes first counts; the other is a duplicate.
        assert!(matches!(st.processed(first), Processing::First(_)));
        assert_eq!(st.processed(again), Processing::Again);
    }

    #[test]
    fn max_receives_dead_letters_and_retention_expires_in_flight_too() {
        let mut st = Store::default();
        st.push(0, 10, s(1.0), NONE, NONE);
        let (d, _) = st.receive(None).unwrap();
        assert_eq!(
            st.visibility_ended(d, Some(1), s(0.0)),
            VisibilityEnd::DeadLettered {
                bytes: 10,
                unprocessed: true,
                class: 0,
                sent: s(1.0)
            }
        );
        assert_eq!(st.processed(d), Processing::Late);
        st.push(0, 10, s(1.0), NONE, NONE);
        let (d, _) = st.receive(None).unwrap();
        assert_eq!(
            st.visibility_ended(d, None, s(5.0)),
            VisibilityEnd::Expired {
                bytes: 10,
                unprocessed: true
            }
        );
        st.push(0, 10, s(1.0), NONE, NONE);
        st.push(0, 10, s(9.0), NONE, NONE);
        assert_eq!(st.expire_before(s(5.0)), (10, 1));
        assert_eq!(st.depth(), 1);
    }

    #[test]
    fn every_accepted_message_ends_in_one_fate() {
        let mut st = Store::default();
        for i in 0..10 {
            st.push(0, 1, s(f64::from(i)), NONE, NONE);
        }
        let (a, _) = st.receive(None).unwrap();
        st.processed(a);
        st.delete(a);
        let (b, _) = st.receive(None).unwrap();
        st.visibility_ended(b, Some(1), s(0.0));
        st.expire_before(s(2.5));
        let (c, _) = st.receive(None).unwrap();
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
