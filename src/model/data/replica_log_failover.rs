//! The failover state machine of a replicated database's log (crash → noticed → promoted,
//! and a machine's return): part of `ReplicationState`, in a file of its own.

use super::{Failing, FailoverRecord, ReplicationState};
use crate::engine::time::SimTime;
use crate::model::compute::machine::Machine;
use crate::model::data::replication::{Mode, NO_PRIMARY, ReplicationSpec};
use crate::model::ids::FrameId;
use std::collections::VecDeque;

impl ReplicationState {
    /// Replica `r` crashed at `now`. Returns true if it was its shard's primary and a
    /// failover starts (the caller schedules the detection at `detect_due`).
    pub fn crash(
        &mut self,
        spec: &ReplicationSpec,
        machines: &[Machine],
        r: u32,
        now: SimTime,
    ) -> bool {
        let shard = spec.shard_of_machine(r) as usize;
        let base = shard as u32 * spec.members;
        let ri = r as usize;
        self.settle(ri, now);
        self.drop_pending(ri, now, |_| false);
        let others = (base..base + spec.members).filter(|&q| q != r);
        if spec.mode == Mode::MultiPrimary {
            // Each live machine misses a suffix of the dead one's writes; a write is lost if
            // no live machine has it: as many as the best-served machine misses.
            let mut lost: Option<u64> = None;
            for q in others {
                let qi = q as usize;
                self.settle(qi, now);
                let missing = self.drop_pending(qi, now, |w| w.origin != r);
                if machines[qi].alive {
                    lost = Some(lost.map_or(missing, |l| l.min(missing)));
                }
            }
            self.stats.writes_lost += lost.unwrap_or(0);
            return match spec.failover {
                Some(f) => {
                    self.notice_due[ri] = Some(now + f.detection);
                    true
                }
                None => false,
            };
        }
        let Some(failover) = spec.failover else {
            return false;
        };
        if self.primary[shard] != r - base {
            return false;
        }
        // The primary's stream stops: what others have not applied never arrives.
        for q in others {
            self.settle(q as usize, now);
            self.drop_pending(q as usize, now, |w| w.origin != r);
        }
        let not_yet_acked = self.unacked[shard].iter().filter(|&&t| t > now).count() as u64;
        self.failing[shard] = Some(Failing {
            crashed_at: now,
            acked: self.committed[shard] - not_yet_acked,
            detected_at: None,
        });
        self.detect_due[shard] = Some((now + failover.detection, r));
        true
    }

    /// The detection scheduled for machine `r` fires at `now`. Returns true if the primary is
    /// still dead: the shard now has no primary until the promotion (`promote_due`).
    pub fn detect(
        &mut self,
        spec: &ReplicationSpec,
        machines: &[Machine],
        r: u32,
        now: SimTime,
    ) -> bool {
        let shard = spec.shard_of_machine(r) as usize;
        if spec.mode == Mode::MultiPrimary {
            if self.notice_due[r as usize] == Some(now) {
                self.notice_due[r as usize] = None;
                self.noticed_down[r as usize] = !machines[r as usize].alive;
            }
            return false;
        }
        if self.detect_due[shard] != Some((now, r)) {
            return false; // a stale event: the primary died again since
        }
        self.detect_due[shard] = None;
        let Some(failover) = spec.failover else {
            return false;
        };
        if machines[r as usize].alive {
            // Back before anyone noticed: it keeps its log and stays primary.
            self.failing[shard] = None;
            return false;
        }
        self.primary[shard] = NO_PRIMARY;
        if let Some(f) = self.failing[shard].as_mut() {
            f.detected_at = Some(now);
        }
        self.promote_due[shard] = Some(now + failover.promotion);
        true
    }

    /// Whether a promotion of `shard` should be scheduled now that one of its machines is
    /// back: it has no primary and no promotion pending (the last one found nobody alive).
    pub fn needs_promotion(&self, shard: u32) -> bool {
        let s = shard as usize;
        self.primary[s] == NO_PRIMARY && self.promote_due[s].is_none()
    }

    /// Replica `r` is back at `now`: it catches up from a live primary, if there is one.
    /// Machine `r` is back; returns how many writes it caught up on.
    pub fn recover(
        &mut self,
        spec: &ReplicationSpec,
        machines: &[Machine],
        r: u32,
        now: SimTime,
    ) -> u64 {
        // Back before its death was noticed, or noticed back at once.
        self.notice_due[r as usize] = None;
        self.noticed_down[r as usize] = false;
        let shard = spec.shard_of_machine(r) as usize;
        let primary = self.primary[shard];
        let base = shard as u32 * spec.members;
        if primary != NO_PRIMARY && machines[(base + primary) as usize].alive {
            let missed = self.committed[shard].saturating_sub(self.applied[r as usize]);
            self.applied[r as usize] = self.committed[shard];
            self.last_apply[r as usize] = now;
            return missed;
        }
        0
    }

    /// The promotion of `shard` due at `now`: promotes the live machine with the highest
    /// position and returns the held calls to release. None if the event is stale or no
    /// machine is alive (the first one back will be promoted).
    pub fn promote(
        &mut self,
        spec: &ReplicationSpec,
        machines: &[Machine],
        shard: u32,
        now: SimTime,
    ) -> Option<VecDeque<FrameId>> {
        let s = shard as usize;
        if self.promote_due[s] != Some(now) || self.primary[s] != NO_PRIMARY {
            return None;
        }
        self.promote_due[s] = None;
        let base = shard * spec.members;
        let best = (base..base + spec.members)
            .filter(|&q| machines[q as usize].alive)
            .max_by_key(|&q| (self.applied[q as usize], std::cmp::Reverse(q)))?;
        let position = self.applied[best as usize];
        let failing = self.failing[s].take();
        let acked = failing.map_or(self.committed[s], |f| f.acked);
        let lost = acked.saturating_sub(position);
        self.stats.writes_lost += lost;
        // The log goes on from the new primary's position; the others resynchronise.
        self.committed[s] = position;
        self.unacked[s].clear();
        for q in base..base + spec.members {
            let qi = q as usize;
            self.drop_pending(qi, now, |_| false);
            self.applied[qi] = position;
            self.last_apply[qi] = now;
        }
        self.primary[s] = best - base;
        let crashed_at = failing.map_or(now, |f| f.crashed_at);
        self.stats.failovers.push(FailoverRecord {
            shard,
            crashed_at,
            detected_at: failing.and_then(|f| f.detected_at).unwrap_or(crashed_at),
            promoted_at: Some(now),
            promoted: Some(best),
            writes_lost: lost,
            unfinished: None,
        });
        Some(std::mem::take(&mut self.held[s]))
    }

    /// Failovers still under way when the run ended, for the report.
    pub fn unfinished_failovers(
        &self,
        spec: &ReplicationSpec,
        machines: &[Machine],
    ) -> Vec<FailoverRecord> {
        (0..self.failing.len())
            .filter_map(|s| {
                let f = self.failing[s]?;
                let base = s as u32 * spec.members;
                let primary = self.primary[s];
                let unfinished = if primary != NO_PRIMARY {
                    if machines[(base + primary) as usize].alive {
                        return None; // back before its death was noticed
                    }
                    "death not yet noticed when the run ended"
                } else if self.promote_due[s].is_some() {
                    "promotion due after the run ended"
                } else {
                    "no live machine left to promote"
                };
                Some(FailoverRecord {
                    shard: s as u32,
                    crashed_at: f.crashed_at,
                    detected_at: f.detected_at.unwrap_or(f.crashed_at),
                    promoted_at: None,
                    promoted: None,
                    writes_lost: 0,
                    unfinished: Some(unfinished),
                })
            })
            .collect()
    }

    /// Whether `shard` has no primary just now.
    pub fn orphaned(&self, shard: u32) -> bool {
        self.primary[shard as usize] == NO_PRIMARY
    }
}
