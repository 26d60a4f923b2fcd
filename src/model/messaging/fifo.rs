//! A FIFO queue's message groups (SQS FIFO's `MessageGroupId`): messages of one group are
//! delivered in the order the queue accepted them, and none of a group is delivered while
//! another of it is in flight (received and neither deleted nor back in line). Different
//! groups go to different consumers at once, so the groups bound the parallelism: one group
//! is one message at a time, whatever the consumer count.
//!
//! A message's group is its sender's key (the user's request's key, as a log's partition)
//! modulo the queue's `message_groups`, as a producer that sets the group id to a hash of a
//! customer id into a fixed number of groups; a message with no key (sent while processing
//! another) goes to the groups in turn.
//!
//! Each group is a doubly linked list through the store's slots, oldest first, of the
//! messages it holds (visible and in flight); a group is *ready* when it holds messages and
//! none is in flight, and the ready groups wait in a line for receives. A receive takes the
//! head of the first ready group, and the rest of the batch from the same group while it has
//! more (as SQS fills a batch from one group first). Retention needs the oldest messages
//! across groups: `arrival` keeps every message in the order accepted, its entries of
//! messages since gone skipped when met. No hashing and no allocation per message once the
//! vectors have grown.

use std::collections::VecDeque;

/// No slot.
pub const NONE: u32 = u32::MAX;

/// One message group.
#[derive(Debug, Clone, Copy)]
pub struct Group {
    /// Its oldest and newest message held (`NONE`: it holds none).
    pub head: u32,
    pub tail: u32,
    /// Its messages in flight: while any is, the group is locked.
    pub in_flight: u32,
    /// It is in the ready line.
    pub ready: bool,
}

impl Default for Group {
    fn default() -> Group {
        Group {
            head: NONE,
            tail: NONE,
            in_flight: 0,
            ready: false,
        }
    }
}

/// A slot's place in its group's list.
#[derive(Debug, Clone, Copy)]
pub struct Link {
    pub group: u32,
    pub prev: u32,
    pub next: u32,
}

impl Default for Link {
    fn default() -> Link {
        Link {
            group: 0,
            prev: NONE,
            next: NONE,
        }
    }
}

/// A FIFO queue's groups.
#[derive(Debug)]
pub struct Fifo {
    pub groups: Vec<Group>,
    /// By slot: the group of the message in it and its neighbours there.
    pub links: Vec<Link>,
    /// Groups that hold messages and have none in flight, in the order they became so.
    pub ready: VecDeque<u32>,
    /// Every message held, as (slot, id), in the order accepted; an entry whose slot has
    /// since been freed (or reused) is stale and skipped.
    pub arrival: VecDeque<(u32, u32)>,
    next_unkeyed: u32,
}

impl Fifo {
    pub fn new(groups: u32) -> Fifo {
        Fifo {
            groups: vec![Group::default(); groups.max(1) as usize],
            links: Vec::new(),
            ready: VecDeque::new(),
            arrival: VecDeque::new(),
            next_unkeyed: 0,
        }
    }

    /// The group of a message whose sender's key home is `key` (`NO_KEY`: in turn).
    pub fn group_of(&mut self, key: u32, no_key: u32) -> u32 {
        let n = self.groups.len() as u32;
        if key == no_key {
            self.next_unkeyed = (self.next_unkeyed + 1) % n;
            self.next_unkeyed
        } else {
            key % n
        }
    }

    /// Appends the message in `slot` (of id `id`) to group `g`; the group joins the ready
    /// line if it was empty.
    #[inline(never)]
    pub fn append(&mut self, slot: u32, id: u32, g: u32) {
        if self.links.len() <= slot as usize {
            self.links.resize(slot as usize + 1, Link::default());
        }
        let group = &mut self.groups[g as usize];
        self.links[slot as usize] = Link {
            group: g,
            prev: group.tail,
            next: NONE,
        };
        if group.tail == NONE {
            group.head = slot;
        } else {
            self.links[group.tail as usize].next = slot;
        }
        group.tail = slot;
        self.arrival.push_back((slot, id));
        self.make_ready(g, false);
    }

    /// Group `g` joins the ready line (at its front for a message back in line, so that it
    /// is received again first) if it holds messages, has none in flight and is not in it.
    pub fn make_ready(&mut self, g: u32, front: bool) {
        let group = &mut self.groups[g as usize];
        if group.ready || group.in_flight > 0 || group.head == NONE {
            return;
        }
        group.ready = true;
        if front {
            self.ready.push_front(g);
        } else {
            self.ready.push_back(g);
        }
    }

    /// The slot to receive next: after `after` (the previous message of the same batch), the
    /// next of its group if `visible` says it waits; otherwise the head of the first ready
    /// group. The group is locked by the caller's `taken`.
    pub fn next_to_receive(&mut self, after: Option<u32>, visible: impl Fn(u32) -> bool) -> u32 {
        if let Some(a) = after {
            let next = self.links[a as usize].next;
            if next != NONE && visible(next) {
                return next;
            }
        }
        let Some(g) = self.ready.pop_front() else {
            return NONE;
        };
        let group = &mut self.groups[g as usize];
        group.ready = false;
        group.head
    }

    /// The message in `slot` was received: its group has one more in flight.
    #[inline]
    pub fn taken(&mut self, slot: u32) {
        let g = self.links[slot as usize].group;
        self.groups[g as usize].in_flight += 1;
    }

    /// The message in `slot` is no longer in flight (deleted, back in line, or gone); its
    /// group, unlocked by it, may be ready again.
    #[inline]
    pub fn returned(&mut self, slot: u32) -> u32 {
        let g = self.links[slot as usize].group;
        let group = &mut self.groups[g as usize];
        group.in_flight = group.in_flight.saturating_sub(1);
        g
    }

    /// Takes the message in `slot` out of its group's list; a ready group left empty leaves
    /// the ready line (only retention does that: a ready group's messages are all visible).
    #[inline(never)]
    pub fn unlink(&mut self, slot: u32) {
        let Link {
            group: g,
            prev,
            next,
        } = self.links[slot as usize];
        if prev == NONE {
            self.groups[g as usize].head = next;
        } else {
            self.links[prev as usize].next = next;
        }
        if next == NONE {
            self.groups[g as usize].tail = prev;
        } else {
            self.links[next as usize].prev = prev;
        }
        self.links[slot as usize] = Link::default();
        let group = &mut self.groups[g as usize];
        if group.head == NONE && group.ready {
            group.ready = false;
            if let Some(i) = self.ready.iter().position(|&r| r == g) {
                self.ready.remove(i);
            }
        }
    }

    /// Every message is gone (a crash of a broker that is not persistent).
    pub fn clear(&mut self) {
        self.groups.fill(Group::default());
        self.links.fill(Link::default());
        self.ready.clear();
        self.arrival.clear();
    }

    pub fn heap_bytes(&self) -> u64 {
        (self.groups.capacity() * std::mem::size_of::<Group>()
            + self.links.capacity() * std::mem::size_of::<Link>()
            + self.ready.capacity() * 4
            + self.arrival.capacity() * 8) as u64
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::time::SimTime;
    use crate::model::messaging::store::{Processing, Store, VisibilityEnd};

    const NO: u32 = u32::MAX;

    fn s(x: f64) -> SimTime {
        SimTime::from_secs(x)
    }

    /// Sends messages of keys `keys` at 1 s, 2 s, …; their class is their index.
    fn filled(groups: u32, keys: &[u32]) -> Store {
        let mut st = Store::fifo(groups);
        for (i, &k) in keys.iter().enumerate() {
            st.push(i as u16, 10, s(1.0 + i as f64), k, NO);
        }
        st
    }

    #[test]
    fn a_group_gives_one_message_at_a_time_in_order() {
        let mut st = filled(1, &[0, 0, 0]);
        let (a, m) = st.receive(None).unwrap();
        assert_eq!(m.class, 0);
        assert!(!st.receivable(), "the group is locked while 0 is in flight");
        assert_eq!(st.receive(None), None);
        st.processed(a);
        st.delete(a);
        let (b, m) = st.receive(None).unwrap();
        assert_eq!(m.class, 1, "then the next in order");
        // A timeout puts 1 back, and it comes again before 2.
        assert_eq!(
            st.visibility_ended(b, None, s(0.0)),
            VisibilityEnd::Redelivered
        );
        let (_, m) = st.receive(None).unwrap();
        assert_eq!(m.class, 1);
        assert_eq!(st.depth(), 2);
    }

    #[test]
    fn groups_go_to_different_receivers_and_a_batch_fills_from_one_group() {
        // Keys 0 and 1 are groups 0 and 1 of 2: messages 0, 2, 4 and 1, 3.
        let mut st = filled(2, &[0, 1, 0, 1, 0]);
        let (a, m) = st.receive(None).unwrap();
        assert_eq!(m.class, 0);
        // The same batch goes on in group 0 …
        let (a2, m) = st.receive(Some(a.slot)).unwrap();
        assert_eq!(m.class, 2);
        // … while another receiver gets group 1.
        let (_, m) = st.receive(None).unwrap();
        assert_eq!(m.class, 1);
        assert!(!st.receivable(), "both groups are locked");
        // Processing 2 before 0 is the consumer's business; the group stays locked until
        // both are gone.
        st.delete(a2);
        assert!(!st.receivable());
        st.delete(a);
        let (_, m) = st.receive(None).unwrap();
        assert_eq!(m.class, 4);
        assert!(matches!(
            st.processed(a),
            Processing::Late | Processing::Again
        ));
    }

    #[test]
    fn unkeyed_messages_take_the_groups_in_turn() {
        let mut st = filled(3, &[NO, NO, NO]);
        // Three groups, one message each: all three can be in flight at once.
        for _ in 0..3 {
            assert!(st.receive(None).is_some());
        }
        assert_eq!(st.receive(None), None);
    }

    #[test]
    fn retention_skips_what_is_in_flight_and_unlocks_nothing() {
        let mut st = filled(2, &[0, 0, 1]);
        let (a, _) = st.receive(None).unwrap();
        // Messages 1 (group 0, behind the one in flight) and 2 (group 1) expire; 0 is in
        // flight and waits for its visibility timeout.
        assert_eq!(st.expire_before(s(10.0)), (20, 2));
        assert_eq!((st.depth(), st.receivable()), (1, false));
        assert_eq!(st.oldest_visible(), None);
        assert_eq!(
            st.visibility_ended(a, None, s(10.0)),
            VisibilityEnd::Expired {
                bytes: 10,
                unprocessed: true
            }
        );
        assert_eq!((st.depth(), st.bytes), (0, 0));
        // The store works on: the groups are empty and ready for more.
        st.push(7, 10, s(11.0), 0, NO);
        assert_eq!(st.oldest_visible(), Some(s(11.0)));
        assert_eq!(st.receive(None).unwrap().1.class, 7);
    }

    #[test]
    fn a_crash_empties_every_group_and_conservation_holds() {
        let mut st = filled(4, &[0, 1, 2, 3, 0, 1]);
        let (a, _) = st.receive(None).unwrap();
        st.processed(a);
        st.delete(a);
        let (b, _) = st.receive(None).unwrap();
        st.visibility_ended(b, Some(1), s(0.0));
        let (lost_bytes, lost) = st.lose_all();
        assert_eq!((lost, lost_bytes, st.depth()), (4, 40, 0));
        assert!(!st.receivable());
        let f = st.fates;
        assert_eq!(
            f.accepted,
            f.processed + f.dead_lettered + f.expired + f.lost + st.unprocessed_held()
        );
        st.push(0, 10, s(9.0), 2, NO);
        assert_eq!(st.receive(None).unwrap().1.sent, s(9.0));
    }
}

#[cfg(test)]
mod arrival_tests {
    use crate::engine::time::SimTime;
    use crate::model::messaging::store::Store;

    const NO: u32 = u32::MAX;

    fn s(x: f64) -> SimTime {
        SimTime::from_secs(x)
    }

    #[test]
    fn the_oldest_waiting_skips_a_slot_reused_since() {
        let mut st = Store::fifo(2);
        st.push(0, 1, s(1.0), 0, NO);
        st.push(1, 1, s(2.0), 1, NO);
        st.push(2, 1, s(3.0), 1, NO);
        let _locked = st.receive(None).unwrap();
        let (d1, _) = st.receive(None).unwrap();
        st.delete(d1);
        // Message 3 takes the slot message 1 left; its group (0) is locked, but it waits.
        st.push(3, 1, s(10.0), 0, NO);
        assert_eq!(
            st.oldest_visible(),
            Some(s(3.0)),
            "message 2, not the slot's new tenant"
        );
    }

    #[test]
    fn the_arrival_line_stays_within_twice_the_depth_behind_a_stuck_message() {
        let mut st = Store::fifo(2);
        st.push(0, 1, s(0.0), 0, NO);
        let _stuck = st.receive(None).unwrap();
        for i in 0..10_000 {
            st.push(1, 1, s(f64::from(i)), 1, NO);
            let (d, _) = st.receive(None).unwrap();
            st.processed(d);
            st.delete(d);
        }
        assert_eq!(st.depth(), 1);
        assert!(st.arrival_len() <= 2 * 2 + 64 + 1, "{}", st.arrival_len());
    }
}
