//! The broker's side of a partitioned log (`log.rs` keeps the partitions and the groups'
//! cursors): a member's fetch, waking the long polls waiting on a partition, counting a
//! processing, a commit, and retention at each time-series tick.

use crate::engine::time::SimTime;
use crate::model::context::Context;
use crate::model::event::Event;
use crate::model::messaging::log::{LogProcessing, offset_of};
use crate::model::messaging::poller::PollerState;
use crate::model::messaging::queue::Broker;

impl Broker {
    /// Member `p` fetches up to its batch of records into its batch; their bytes leave the
    /// broker's NIC. Returns how many.
    pub(super) fn fetch(&mut self, ctx: &mut Context, p: u32) -> usize {
        let now = ctx.now;
        let Some(log) = self.log.as_mut() else {
            return 0;
        };
        let poller = &mut self.pollers[p as usize];
        poller.batch.clear();
        poller.next = 0;
        let n = log.fetch(p, usize::from(poller.batch_size), &mut poller.batch);
        if n == 0 {
            return 0;
        }
        let classes = &ctx.scenario.workload.classes;
        let part = &log.partitions[poller.batch[0].slot as usize];
        let mut bytes = 0;
        let mut oldest = now;
        for &d in &poller.batch {
            if let Some(r) = part.get(offset_of(d)) {
                bytes += classes[usize::from(r.class)].request_bytes;
                oldest = oldest.min(r.sent);
            }
        }
        let waited = now - oldest;
        self.tick_oldest = Some(self.tick_oldest.map_or(waited, |o| o.max(waited)));
        self.note_age(waited);
        self.stats.delivered += if ctx.window.contains(now) {
            n as u64
        } else {
            0
        };
        if bytes > 0 {
            let h = self.server.machines[0].host as usize;
            ctx.hosts[h].send(bytes, now);
        }
        n
    }

    /// A record was appended to partition `k`: the members owning it whose long poll waits
    /// get it.
    pub(super) fn wake_owners(&mut self, ctx: &mut Context, k: u32) {
        let Some(log) = &self.log else {
            return;
        };
        for g in 0..log.groups.len() {
            let Some(m) = self.log.as_ref().and_then(|log| log.owner(g, k)) else {
                continue;
            };
            if self.pollers[m as usize].state != PollerState::Parked {
                continue;
            }
            if let Some(i) = self.parked.iter().position(|&q| q == m) {
                self.parked.remove(i);
            }
            self.fetch(ctx, m);
            let poller = &mut self.pollers[m as usize];
            poller.state = PollerState::Receiving;
            if let Some(f) = poller.parked_frame.take() {
                ctx.schedule(ctx.now, Event::WaitDone { frame: f });
            }
        }
    }

    /// Counts a member's processing of a record: its group's first (sent to processed is
    /// its end-to-end latency), a repeat, or a failure.
    pub(super) fn log_processing_done(
        &mut self,
        ctx: &mut Context,
        processing: LogProcessing,
        ok: bool,
    ) {
        let now = ctx.now;
        if !ctx.window.contains(now) {
            return;
        }
        match processing {
            _ if !ok => self.stats.failed_processing += 1,
            LogProcessing::First(r) => {
                self.stats.processed += 1;
                self.end_to_end.record(now - r.sent);
            }
            LogProcessing::Again => self.stats.duplicates += 1,
            LogProcessing::Late => self.stats.late += 1,
        }
    }

    /// Member `p` commits the offsets after the records it processed.
    pub(super) fn commit(&mut self, ctx: &mut Context, p: u32) {
        let Some(log) = self.log.as_mut() else {
            return;
        };
        let mut done = std::mem::take(&mut self.pollers[p as usize].done);
        log.commit(p, &done);
        done.clear();
        self.pollers[p as usize].done = done;
        self.note_depth(ctx.now);
    }

    /// Retention: records older than it leave every partition; the groups that had not
    /// processed them skip them (`expired`).
    pub(super) fn expire_records(&mut self, now: SimTime) {
        let cutoff = self.retention_cutoff(now);
        let Some(log) = self.log.as_mut() else {
            return;
        };
        let skipped = log.expire_before(cutoff);
        if skipped > 0 {
            if self.in_window {
                self.stats.expired += skipped;
            }
            self.note_age(self.rules.retention);
        }
        self.note_depth(now);
    }
}
