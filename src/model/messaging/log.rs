//! A partitioned log (`"kind": "log"`, Kafka-like): a broker whose messages are appended to
//! partitions and kept for their retention whoever reads them; each consuming service is a
//! consumer group that reads every record once, in order within a partition.
//!
//! A send goes to the partition its key hashes to (the key of the user's request that sent
//! it; a message sent by a consumer, or a topic's copy, has none and goes round robin). A
//! group's members are its pollers (`concurrency` per replica); partition `k` belongs to
//! member `k mod members`, so members beyond the partition count stay idle and a hot
//! partition is one member's work however many there are. A member's receive is a fetch:
//! up to `batch_size` records from the next of its partitions that has any, from its
//! position on; it processes them in order and commits (its delete call) the offset after
//! the last. A failed processing (the consumer crashed, or refused it) seeks the partition
//! back to the committed offset: what was processed and not committed is processed again
//! (at-least-once, duplicates counted), after `RETRY_AFTER`.
//!
//! Lag — records appended and not committed — is the log's depth (summed over groups), and
//! its oldest age is that of the oldest record not yet processed. Retention drops the oldest
//! records at every time-series tick (Kafka deletes whole segments on a timer); a group
//! that had not processed them skips them (`expired`). Records are on disk: they take no
//! broker memory and survive its crash.

use crate::engine::rng::hash_pair;
use crate::engine::time::SimTime;
use crate::model::messaging::store::Delivery;
use std::collections::VecDeque;

/// A record in a partition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Record {
    pub sent: SimTime,
    pub class: u16,
}

/// One partition: its records from offset `base` on.
#[derive(Debug, Default)]
pub struct Partition {
    pub records: VecDeque<Record>,
    pub base: u64,
    /// Appended during the window.
    pub appended: u64,
}

impl Partition {
    /// The offset the next record gets.
    #[inline]
    pub fn end(&self) -> u64 {
        self.base + self.records.len() as u64
    }

    pub fn get(&self, offset: u64) -> Option<&Record> {
        offset
            .checked_sub(self.base)
            .and_then(|i| self.records.get(i as usize))
    }
}

/// A consumer group's place in one partition.
#[derive(Debug, Default, Clone, Copy)]
pub struct Cursor {
    /// Next offset its member fetches.
    pub position: u64,
    /// Offset after the last committed.
    pub committed: u64,
    /// Offset after the last processed for the first time (a processing below it is a
    /// duplicate).
    pub processed: u64,
    /// The most records appended and not committed during the window, and at its end.
    pub peak_lag: u64,
}

/// One consuming service.
#[derive(Debug)]
pub struct Group {
    /// Its members: pollers of the broker, in order.
    pub members: Vec<u32>,
    pub cursors: Vec<Cursor>,
}

/// What a group's first processing of a record was.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LogProcessing {
    First(Record),
    Again,
    /// Retention dropped it before it was processed.
    Late,
}

/// The partitions, the groups and their cursors.
#[derive(Debug)]
pub struct Log {
    pub partitions: Vec<Partition>,
    pub groups: Vec<Group>,
    /// Per poller: its group and its index among the group's members (`u16::MAX`: not a
    /// member), and which of its partitions it fetches from next.
    member_of: Vec<(u16, u32)>,
    turn: Vec<u32>,
    /// Round robin for messages without a key.
    next_unkeyed: u32,
    /// Records appended and not committed, summed over groups.
    pub lag: u64,
    /// Records a group never processed: retention dropped them (over the run).
    pub skipped: u64,
}

/// A message's partition key: none (round robin), or a hash of its sender's key.
pub const NO_KEY: u32 = u32::MAX;

/// The carrier home of a send whose sender's request had key `key`.
#[inline]
pub fn key_home(key: u64) -> u32 {
    // A fixed hash, not seeded: where a key's records go does not change with the seed.
    (hash_pair(0x10c0_ffee_5eed, key) >> 33) as u32
}

/// The offset a delivery names (`Delivery::slot` is the partition).
#[inline]
pub fn offset_of(d: Delivery) -> u64 {
    (u64::from(d.receipt) << 32) | u64::from(d.id)
}

fn delivery(partition: u32, offset: u64) -> Delivery {
    Delivery {
        slot: partition,
        id: offset as u32,
        receipt: (offset >> 32) as u32,
    }
}

impl Log {
    /// A log of `partitions`, read by groups whose members are `groups` (poller indices).
    pub fn new(partitions: u32, groups: Vec<Vec<u32>>, pollers: usize) -> Log {
        let mut member_of = vec![(u16::MAX, 0); pollers];
        for (g, members) in groups.iter().enumerate() {
            for (i, &p) in members.iter().enumerate() {
                member_of[p as usize] = (g as u16, i as u32);
            }
        }
        Log {
            partitions: (0..partitions).map(|_| Partition::default()).collect(),
            groups: groups
                .into_iter()
                .map(|members| Group {
                    members,
                    cursors: vec![Cursor::default(); partitions as usize],
                })
                .collect(),
            member_of,
            turn: vec![0; pollers],
            next_unkeyed: 0,
            lag: 0,
            skipped: 0,
        }
    }

    /// Whether poller `p` owns any partition (members beyond the partition count do not).
    pub fn has_partitions(&self, p: u32) -> bool {
        let (g, i) = self.member_of[p as usize];
        g != u16::MAX && (i as usize) < self.partitions.len()
    }

    /// Appends a record of `class` sent at `sent` with key home `key` (`NO_KEY`: round
    /// robin), `counted` when inside the measurement window; returns its partition.
    pub fn append(&mut self, class: u16, sent: SimTime, key: u32, counted: bool) -> u32 {
        let n = self.partitions.len() as u32;
        let k = if key == NO_KEY {
            self.next_unkeyed = (self.next_unkeyed + 1) % n;
            self.next_unkeyed
        } else {
            key % n
        };
        let part = &mut self.partitions[k as usize];
        part.records.push_back(Record { sent, class });
        part.appended += u64::from(counted);
        let end = part.end();
        self.lag += self.groups.len() as u64;
        if counted {
            for g in &mut self.groups {
                let c = &mut g.cursors[k as usize];
                c.peak_lag = c.peak_lag.max(end - c.committed);
            }
        }
        k
    }

    /// The member of group `g` that owns partition `k`, if the group has any.
    pub fn owner(&self, g: usize, k: u32) -> Option<u32> {
        let m = &self.groups[g].members;
        (!m.is_empty()).then(|| m[k as usize % m.len()])
    }

    /// Poller `p` fetches up to `max` records into `batch` from the next of its partitions
    /// (in turn) that has any past the group's position; returns how many.
    pub fn fetch(&mut self, p: u32, max: usize, batch: &mut Vec<Delivery>) -> usize {
        let (g, i) = self.member_of[p as usize];
        if g == u16::MAX {
            return 0;
        }
        let group = &mut self.groups[g as usize];
        let members = group.members.len() as u32;
        // Its partitions: i, i + members, i + 2·members, …
        let owned = (self.partitions.len() as u32)
            .saturating_sub(i)
            .div_ceil(members);
        for t in 0..owned {
            let j = (self.turn[p as usize] + t) % owned;
            let k = i + j * members;
            let part = &self.partitions[k as usize];
            let c = &mut group.cursors[k as usize];
            c.position = c.position.max(part.base);
            let take = (part.end() - c.position).min(max as u64);
            if take == 0 {
                continue;
            }
            batch.extend((c.position..c.position + take).map(|o| delivery(k, o)));
            c.position += take;
            self.turn[p as usize] = (j + 1) % owned;
            return take as usize;
        }
        0
    }

    /// Whether retention has dropped the record delivery `d` names.
    pub fn gone(&self, d: Delivery) -> bool {
        offset_of(d) < self.partitions[d.slot as usize].base
    }

    /// Poller `p`'s group reads partition `k` again from its committed offset.
    pub fn seek_back(&mut self, p: u32, k: u32) {
        let g = self.member_of[p as usize].0 as usize;
        let base = self.partitions[k as usize].base;
        let c = &mut self.groups[g].cursors[k as usize];
        c.position = c.committed.max(base);
    }

    /// Poller `p`'s member processed delivery `d` (ok), or failed it: a failure seeks the
    /// partition back to the committed offset.
    pub fn processed(&mut self, p: u32, d: Delivery, ok: bool) -> LogProcessing {
        let g = self.member_of[p as usize].0 as usize;
        let offset = offset_of(d);
        let part = &self.partitions[d.slot as usize];
        let c = &mut self.groups[g].cursors[d.slot as usize];
        if !ok {
            c.position = c.committed.max(part.base);
            return LogProcessing::Again;
        }
        if offset < part.base {
            // Retention dropped it while it was processed: the group skipped it already.
            return LogProcessing::Late;
        }
        if offset < c.processed {
            return LogProcessing::Again;
        }
        c.processed = offset + 1;
        match part.get(offset) {
            Some(&r) => LogProcessing::First(r),
            None => LogProcessing::Late,
        }
    }

    /// Poller `p`'s member commits the offsets after `done`'s.
    pub fn commit(&mut self, p: u32, done: &[Delivery]) {
        let g = self.member_of[p as usize].0 as usize;
        for &d in done {
            let c = &mut self.groups[g].cursors[d.slot as usize];
            let next = offset_of(d) + 1;
            if next > c.committed {
                self.lag -= next - c.committed;
                c.committed = next;
            }
        }
    }

    /// Drops records sent before `cutoff`; a group that had not processed them skips them.
    /// Returns how many records the groups skipped.
    pub fn expire_before(&mut self, cutoff: SimTime) -> u64 {
        let mut skipped = 0;
        for (k, part) in self.partitions.iter_mut().enumerate() {
            while part.records.front().is_some_and(|r| r.sent < cutoff) {
                part.records.pop_front();
                part.base += 1;
            }
            for g in &mut self.groups {
                let c = &mut g.cursors[k];
                if c.processed < part.base {
                    skipped += part.base - c.processed;
                    c.processed = part.base;
                }
                if c.committed < part.base {
                    self.lag -= part.base - c.committed;
                    c.committed = part.base;
                }
                c.position = c.position.max(part.base);
            }
        }
        self.skipped += skipped;
        skipped
    }

    /// When the oldest record some group has not processed was sent.
    pub fn oldest_unprocessed(&self) -> Option<SimTime> {
        let mut oldest: Option<SimTime> = None;
        for g in &self.groups {
            for (k, c) in g.cursors.iter().enumerate() {
                if let Some(r) = self.partitions[k].get(c.processed) {
                    oldest = Some(oldest.map_or(r.sent, |o| o.min(r.sent)));
                }
            }
        }
        oldest
    }

    /// Records appended over the run.
    pub fn appended_total(&self) -> u64 {
        self.partitions.iter().map(Partition::end).sum()
    }

    /// Records the groups processed (first processings) over the run, and those none of
    /// them has yet.
    pub fn processed_total(&self) -> (u64, u64) {
        let mut done = 0;
        let mut left = 0;
        for g in &self.groups {
            for (k, c) in g.cursors.iter().enumerate() {
                let end = self.partitions[k].end();
                done += c.processed;
                left += end - c.processed;
            }
        }
        (done - self.skipped, left)
    }

    /// Bytes of heap it holds.
    pub fn heap_bytes(&self) -> u64 {
        let records: usize = self
            .partitions
            .iter()
            .map(|p| p.records.capacity() * std::mem::size_of::<Record>())
            .sum();
        let cursors: usize = self
            .groups
            .iter()
            .map(|g| g.cursors.capacity() * std::mem::size_of::<Cursor>())
            .sum();
        (records + cursors + self.member_of.capacity() * 12) as u64
    }

    /// Starts the window: peaks start from the lag now.
    pub fn start_window(&mut self) {
        for (k, part) in self.partitions.iter_mut().enumerate() {
            part.appended = 0;
            for g in &mut self.groups {
                let c = &mut g.cursors[k];
                c.peak_lag = part.end() - c.committed;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: f64) -> SimTime {
        SimTime::from_secs(x)
    }

    /// Two partitions, one group of one member: it fetches from each in turn, commits, and
    /// the lag follows.
    #[test]
    fn a_member_reads_its_partitions_in_turn_and_commits() {
        let mut log = Log::new(2, vec![vec![0]], 1);
        for i in 0..3 {
            log.append(0, s(f64::from(i)), 0, false);
        }
        log.append(0, s(5.0), 1, false);
        assert_eq!(log.lag, 4);
        let mut batch = Vec::new();
        assert_eq!(log.fetch(0, 2, &mut batch), 2);
        assert!(batch.iter().all(|d| d.slot == 0));
        let next = log.fetch(0, 10, &mut batch);
        assert_eq!(next, 1);
        assert_eq!(batch[2].slot, 1, "the other partition's turn");
        for &d in &batch {
            assert!(matches!(log.processed(0, d, true), LogProcessing::First(_)));
        }
        log.commit(0, &batch);
        assert_eq!(log.lag, 1);
        batch.clear();
        assert_eq!(log.fetch(0, 10, &mut batch), 1);
        assert_eq!(offset_of(batch[0]), 2);
        assert_eq!(log.oldest_unprocessed(), Some(s(2.0)));
    }

    /// A failure seeks back to the committed offset: the processed but uncommitted records
    /// come again, as duplicates.
    #[test]
    fn a_failure_rereads_from_the_committed_offset() {
        let mut log = Log::new(1, vec![vec![0]], 1);
        for i in 0..4 {
            log.append(0, s(f64::from(i)), NO_KEY, false);
        }
        let mut batch = Vec::new();
        log.fetch(0, 4, &mut batch);
        log.processed(0, batch[0], true);
        log.commit(0, &batch[..1]);
        log.processed(0, batch[1], true);
        assert_eq!(log.processed(0, batch[2], false), LogProcessing::Again);
        let mut again = Vec::new();
        log.fetch(0, 4, &mut again);
        assert_eq!(offset_of(again[0]), 1, "from the committed offset");
        assert_eq!(log.processed(0, again[0], true), LogProcessing::Again);
        assert!(matches!(
            log.processed(0, again[1], true),
            LogProcessing::First(_)
        ));
    }

    /// Retention drops old records; a group that had not read them skips them, and the
    /// totals still add up: appended = processed + skipped + left.
    #[test]
    fn retention_skips_what_a_group_had_not_read() {
        let mut log = Log::new(1, vec![vec![0], vec![1]], 2);
        for i in 0..5 {
            log.append(0, s(f64::from(i)), NO_KEY, false);
        }
        let mut batch = Vec::new();
        log.fetch(0, 5, &mut batch);
        for &d in &batch {
            log.processed(0, d, true);
        }
        log.commit(0, &batch);
        assert_eq!(log.expire_before(s(3.0)), 3, "group 1 never read 0, 1, 2");
        assert_eq!(log.lag, 2);
        let (done, left) = log.processed_total();
        assert_eq!((done, left), (5, 2));
        assert_eq!(2 * log.appended_total(), done + log.skipped + left);
    }

    /// A record retention drops while it is in a fetched batch is gone (not processed) and,
    /// processed anyway, late; a fetch that failed is read again from the committed offset.
    #[test]
    fn dropped_records_are_late_and_failed_fetches_read_again() {
        let mut log = Log::new(1, vec![vec![0]], 1);
        for i in 0..4 {
            log.append(0, s(f64::from(i)), NO_KEY, false);
        }
        let mut batch = Vec::new();
        log.fetch(0, 4, &mut batch);
        assert_eq!(log.expire_before(s(1.5)), 2);
        assert!(log.gone(batch[0]) && !log.gone(batch[2]));
        assert_eq!(log.processed(0, batch[1], true), LogProcessing::Late);
        assert!(matches!(
            log.processed(0, batch[2], true),
            LogProcessing::First(_)
        ));
        let mut again = Vec::new();
        assert_eq!(
            log.fetch(0, 4, &mut again),
            0,
            "the position is past the batch"
        );
        log.seek_back(0, 0);
        assert_eq!(
            log.fetch(0, 4, &mut again),
            2,
            "from the committed offset (after base)"
        );
        assert_eq!(offset_of(again[0]), 2);
    }

    /// Members beyond the partition count own nothing; partition k is member k mod M's.
    #[test]
    fn extra_members_stay_idle() {
        let log = Log::new(2, vec![vec![0, 1, 2]], 3);
        assert!(log.has_partitions(0) && log.has_partitions(1));
        assert!(!log.has_partitions(2));
        assert_eq!(log.owner(0, 1), Some(1));
    }
}
