//! The future-event list: events come out in (time, insertion order), so simultaneous events
//! are handled first-in first-out and runs are reproducible.
//!
//! It is a radix heap over event times. A radix heap needs times that never go below the last
//! one popped; a discrete-event simulation guarantees that (nothing is scheduled in the past).
//! An event at time `t` sits in bucket `b = bit length of (t XOR last)`, so bucket 0 holds the
//! events due *now*. Pushing is O(1); popping from an empty bucket 0 takes the lowest non-empty
//! bucket (found with one bit scan), makes its earliest time the new `last`, and spreads its
//! events over lower buckets; each event moves down a few times in its life. With millions of
//! pending events (two million idle users each waiting to wake) it stays far faster than a
//! binary heap, whose sift-downs miss the cache at that size, and with a handful it is a bit
//! scan and a move or two.
//!
//! Ties: all events with one time always share a bucket (a bucket index depends only on the
//! time and `last`, and `last` only moves within a bucket's range), and every bucket keeps its
//! events in the order they came — pushes append, and spreading a bucket walks it in order —
//! so events with one time stay in insertion order all the way to bucket 0, with no sequence
//! number to store or sort by; events pushed later for the current time go behind them.
//! Components only see `schedule`, so the structure can change freely.

use super::time::SimTime;

/// Buckets 1..=64 (bucket 0, the events due now, is kept apart).
const BUCKETS: usize = 64;

/// A bucket emptied by a refill keeps its allocation up to this many entries, or an eighth of
/// the pending events if more.
const KEEP_CAPACITY: usize = 4096;

#[derive(Debug, Clone, Copy)]
struct Entry<E> {
    time: u64,
    event: E,
}

/// Pending events (of the model's event type `E`) ordered by (time, insertion sequence).
pub struct EventQueue<E> {
    /// Events at exactly `last`, in insertion order from `due_head` on.
    due: Vec<Entry<E>>,
    due_head: usize,
    /// `buckets[b - 1]` holds events whose time differs from `last` first at bit `b - 1`.
    buckets: Vec<Vec<Entry<E>>>,
    /// Bit `b - 1` is set when `buckets[b - 1]` is not empty.
    non_empty: u64,
    /// The time of the last refill: every pending time is at least this.
    last: u64,
    len: usize,
}

impl<E: Copy> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Copy> EventQueue<E> {
    /// Bytes one pending event takes in the queue.
    pub const ENTRY_BYTES: usize = std::mem::size_of::<Entry<E>>();

    pub fn new() -> Self {
        EventQueue {
            due: Vec::new(),
            due_head: 0,
            buckets: (0..BUCKETS).map(|_| Vec::new()).collect(),
            non_empty: 0,
            last: 0,
            len: 0,
        }
    }

    /// The bucket of `time` relative to `last`: 0 if equal, else the bit length of the XOR.
    #[inline]
    fn bucket_of(last: u64, time: u64) -> usize {
        (64 - (time ^ last).leading_zeros()) as usize
    }

    /// Schedules `event` at `at`. `at` must not be earlier than the last popped time.
    #[inline]
    pub fn push(&mut self, at: SimTime, event: E) {
        debug_assert!(at.0 >= self.last, "event scheduled in the past");
        let entry = Entry { time: at.0, event };
        self.len += 1;
        match Self::bucket_of(self.last, at.0) {
            0 => self.due.push(entry),
            b => {
                self.buckets[b - 1].push(entry);
                self.non_empty |= 1 << (b - 1);
            }
        }
    }

    /// Removes and returns the earliest event.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        if self.due_head == self.due.len() {
            self.refill()?;
        }
        let e = self.due[self.due_head];
        self.due_head += 1;
        self.len -= 1;
        Some((SimTime(e.time), e.event))
    }

    /// Moves the events of the lowest non-empty bucket down, so that `due` holds the earliest.
    fn refill(&mut self) -> Option<()> {
        self.due.clear();
        self.due_head = 0;
        if self.non_empty == 0 {
            return None;
        }
        let i = self.non_empty.trailing_zeros() as usize;
        self.non_empty &= !(1 << i);
        // With few pending events the lowest bucket often holds just the next one.
        if self.buckets[i].len() == 1 {
            let e = self.buckets[i].pop()?;
            self.last = e.time;
            self.due.push(e);
            return Some(());
        }
        let mut moved = std::mem::take(&mut self.buckets[i]);
        let last = moved.iter().map(|e| e.time).min()?;
        self.last = last;
        for e in moved.drain(..) {
            match Self::bucket_of(last, e.time) {
                0 => self.due.push(e),
                b => {
                    debug_assert!(b - 1 < i);
                    self.buckets[b - 1].push(e);
                    self.non_empty |= 1 << (b - 1);
                }
            }
        }
        // Give a small (now empty) allocation back so it is reused; free a large one, or
        // every bucket would keep the capacity of its busiest moment and idle users would
        // cost several entries each.
        if moved.capacity() <= KEEP_CAPACITY.max(self.len / 8) {
            self.buckets[i] = moved;
        }
        Some(())
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Bytes of heap the queue holds (allocated capacity, not just pending events).
    pub fn heap_bytes(&self) -> u64 {
        let entries = self.due.capacity() + self.buckets.iter().map(Vec::capacity).sum::<usize>();
        (entries * Self::ENTRY_BYTES) as u64
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A stand-in event: its number (the queue holds any `Copy` type).
    fn ev(n: u32) -> u32 {
        n
    }

    #[test]
    fn simultaneous_events_come_out_in_insertion_order() {
        let mut q = EventQueue::<u32>::new();
        for n in 0..5 {
            q.push(SimTime(10), ev(n));
        }
        q.push(SimTime(5), ev(99));
        assert_eq!(q.pop(), Some((SimTime(5), 99)));
        for n in 0..5 {
            assert_eq!(q.pop(), Some((SimTime(10), n)));
        }
        assert!(q.pop().is_none());
    }

    proptest! {
        /// Against a sorted reference: interleaved pushes (never in the past) and pops.
        #[test]
        fn pops_in_time_then_insertion_order(ops in proptest::collection::vec((0u64..1_000_000, any::<bool>()), 1..400)) {
            let mut q = EventQueue::<u32>::new();
            let mut reference: Vec<(u64, u64, u32)> = Vec::new();
            let mut now = 0u64;
            let mut seq = 0u64;
            for (i, (delta, pop)) in ops.into_iter().enumerate() {
                if pop && !reference.is_empty() {
                    reference.sort();
                    let (t, _, n) = reference.remove(0);
                    let (qt, qe) = q.pop().unwrap();
                    prop_assert_eq!((qt.0, qe), (t, n));
                    now = t;
                } else {
                    let at = now + delta % 3 * (delta / 3); // many ties, some far jumps
                    q.push(SimTime(at), ev(i as u32));
                    reference.push((at, seq, i as u32));
                    seq += 1;
                }
                prop_assert_eq!(q.len(), reference.len());
            }
            reference.sort();
            for (t, _, n) in reference {
                let (qt, qe) = q.pop().unwrap();
                prop_assert_eq!((qt.0, qe), (t, n));
            }
            prop_assert!(q.is_empty());
        }
    }
}
