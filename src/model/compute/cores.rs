//! Time-sliced cores: how a machine's CPU is shared among runnable workers when the operating
//! system switches between them (`cpu_scheduling: "time_sliced"`).
//!
//! With `c` cores and `n` CPU steps runnable, each progresses at `min(1, c/n)` of a core:
//! processor sharing, the limit of round-robin slices that are short against the work (Linux
//! gives threads slices of a few milliseconds at most and switches at every block; requests
//! of 0.1–100 ms see it as sharing). Run-to-completion (a FIFO core queue: an event loop, or
//! one worker per core) lives in `steps.rs`.
//!
//! The sharing is exact and needs one pending event per machine, not one per step: a
//! *virtual time* `v` counts the work done by any one runnable step since the start (it grows
//! at `min(1, c/n)` per nanosecond), a step that starts at `v₀` with `w` ns of work ends when
//! `v` reaches `v₀ + w`, and the step with the smallest such mark ends first. When a step
//! starts or ends, `v` is brought up to now and the next end is recomputed. Integer
//! nanoseconds throughout: `v` is rounded down and the next end up, so a step never ends
//! before its work is done, and at most a nanosecond late per change. Context switches cost
//! nothing (documented in docs/scenario-format.md).

use crate::engine::time::SimTime;
use crate::model::ids::FrameId;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// The runnable CPU steps of one machine, shared over its cores.
#[derive(Debug, Default)]
pub struct SharedCores {
    /// (virtual end, start order, frame): the smallest virtual end first, ties in start order.
    steps: BinaryHeap<Reverse<(u64, u64, FrameId)>>,
    /// Work done by each runnable step since time 0, in ns.
    virtual_ns: u64,
    /// When `virtual_ns` was last brought up to date.
    updated: SimTime,
    started: u64,
    /// When the pending end event is due (an event at any other time is stale).
    pub due: Option<SimTime>,
}

impl SharedCores {
    /// Steps runnable now.
    #[inline]
    pub fn runnable(&self) -> u32 {
        self.steps.len() as u32
    }

    /// Brings the virtual time up to `now` on `cores` cores.
    #[inline]
    pub fn advance(&mut self, now: SimTime, cores: u32) {
        let elapsed = u128::from((now - self.updated).0);
        self.updated = now;
        let (n, c) = (u128::from(self.runnable()), u128::from(cores));
        let done = if n > c { elapsed * c / n } else { elapsed };
        self.virtual_ns = self.virtual_ns.saturating_add(done as u64);
    }

    /// Step of frame `f` with `work` ns of CPU becomes runnable at `now` (after `advance`).
    #[inline]
    pub fn start(&mut self, f: FrameId, work: SimTime) {
        self.started += 1;
        let end = self.virtual_ns.saturating_add(work.0);
        self.steps.push(Reverse((end, self.started, f)));
    }

    /// Takes the step whose work is done by now, if any (after `advance`).
    #[inline]
    pub fn finished(&mut self) -> Option<FrameId> {
        let &Reverse((end, _, f)) = self.steps.peek()?;
        (end <= self.virtual_ns).then(|| {
            self.steps.pop();
            f
        })
    }

    /// When the next step ends if nothing else starts, on `cores` cores (after `advance`).
    #[inline]
    pub fn next_end(&self, now: SimTime, cores: u32) -> Option<SimTime> {
        let &Reverse((end, _, _)) = self.steps.peek()?;
        let left = u128::from(end.saturating_sub(self.virtual_ns));
        let (n, c) = (u128::from(self.runnable()), u128::from(cores));
        let real = if n > c { (left * n).div_ceil(c) } else { left };
        Some(now + SimTime(u64::try_from(real).unwrap_or(u64::MAX)))
    }

    /// Forgets every step (a crash) and returns their frames, in start order.
    pub fn clear(&mut self, now: SimTime) -> Vec<FrameId> {
        let mut steps: Vec<(u64, FrameId)> = self
            .steps
            .drain()
            .map(|Reverse((_, order, f))| (order, f))
            .collect();
        steps.sort_unstable_by_key(|&(order, _)| order);
        self.due = None;
        self.updated = now;
        steps.into_iter().map(|(_, f)| f).collect()
    }

    /// Takes off the steps whose frames `gone` picks (a process going down) and returns them
    /// in start order; the others keep their progress (after `advance`). The pending end event
    /// may now be early: it finds nothing finished and sets the next one.
    pub fn remove_where(&mut self, now: SimTime, gone: impl Fn(FrameId) -> bool) -> Vec<FrameId> {
        let (mut out, kept): (Vec<_>, Vec<_>) =
            self.steps.drain().partition(|&Reverse((_, _, f))| gone(f));
        self.steps.extend(kept);
        if self.steps.is_empty() {
            self.due = None;
            self.updated = now;
        }
        out.sort_unstable_by_key(|&Reverse((_, order, _))| order);
        out.into_iter().map(|Reverse((_, _, f))| f).collect()
    }

    /// Bytes of heap the runnable steps take.
    pub fn heap_bytes(&self) -> usize {
        self.steps.capacity() * std::mem::size_of::<Reverse<(u64, u64, FrameId)>>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::num::NonZeroU32;

    fn frame(n: u32) -> FrameId {
        FrameId::from_slot(NonZeroU32::new(n).unwrap())
    }

    /// One core, steps of 10 ms and 30 ms starting together: both run at half speed, so the
    /// short one ends at 20 ms; the long one then has 20 ms left alone: it ends at 40 ms.
    #[test]
    fn two_steps_share_one_core_then_the_survivor_runs_alone() {
        let ms = |x: u64| SimTime(x * 1_000_000);
        let mut s = SharedCores::default();
        s.advance(ms(0), 1);
        s.start(frame(1), ms(10));
        s.start(frame(2), ms(30));
        assert_eq!(s.next_end(ms(0), 1), Some(ms(20)));
        s.advance(ms(20), 1);
        assert_eq!(s.finished(), Some(frame(1)));
        assert_eq!(s.finished(), None);
        assert_eq!(s.next_end(ms(20), 1), Some(ms(40)));
        s.advance(ms(40), 1);
        assert_eq!(s.finished(), Some(frame(2)));
    }

    /// Two cores, three equal steps of 30 ms: each gets 2/3 of a core and all end at 45 ms,
    /// taken in the order they started.
    #[test]
    fn three_steps_on_two_cores_progress_at_two_thirds() {
        let ms = |x: u64| SimTime(x * 1_000_000);
        let mut s = SharedCores::default();
        for f in 1..=3 {
            s.start(frame(f), ms(30));
        }
        assert_eq!(s.next_end(ms(0), 2), Some(ms(45)));
        s.advance(ms(45), 2);
        let order: Vec<_> = std::iter::from_fn(|| s.finished()).collect();
        assert_eq!(order, vec![frame(1), frame(2), frame(3)]);
    }

    /// A step that starts while another runs: one core, a 10 ms step alone for 5 ms, then a
    /// 2 ms step joins; both at half speed, the short one ends 4 ms later (9 ms) with the long
    /// one 3 ms short of done (it has had 5 + 2 ms); it ends at 12 ms.
    #[test]
    fn a_late_short_step_overtakes_a_long_one() {
        let ms = |x: u64| SimTime(x * 1_000_000);
        let mut s = SharedCores::default();
        s.start(frame(1), ms(10));
        s.advance(ms(5), 1);
        s.start(frame(2), ms(2));
        assert_eq!(s.next_end(ms(5), 1), Some(ms(9)));
        s.advance(ms(9), 1);
        assert_eq!(s.finished(), Some(frame(2)));
        assert_eq!(s.next_end(ms(9), 1), Some(ms(12)));
    }
}
