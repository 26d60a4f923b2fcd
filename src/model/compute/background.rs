//! A machine's own background work: jobs it does for itself, one at a time and in order, on
//! the same cores and disk as its requests (a replica applying the writes copied to it). Each
//! job runs its CPU on the cores — a time slice among the requests' steps, or a core of its
//! own in the run-to-completion queue — then books its disk I/Os. The job queue is
//! `Background` (a field of each `Machine`); the host's core queues hold it as the id
//! `Host::background_id` of the machine's slot.

use crate::engine::time::SimTime;
use crate::model::compute::host::Host;
use crate::model::compute::machine::Machine;
use crate::model::compute::server::Server;
use crate::model::compute::steps::occupy_cores;
use crate::model::context::Context;
use crate::model::event::Event;
use crate::model::ids::FrameId;
use std::collections::VecDeque;

/// Work a machine does for itself, one job at a time, in order: each job's CPU on the
/// machine's cores (competing with requests), then its disk I/Os. A replica applying copied
/// writes is one: PostgreSQL replays its log in one startup process, MySQL in one SQL thread.
#[derive(Debug, Default)]
pub struct Background {
    /// Jobs waiting: (CPU work, already scaled by the machine's speed; disk I/Os).
    waiting: VecDeque<(SimTime, u32)>,
    /// The disk I/Os of the job on the cores now, if one is.
    running: Option<u32>,
    /// The most jobs ever waiting at once.
    pub peak_waiting: usize,
}

impl Background {
    /// Queues a job.
    pub fn push(&mut self, work: SimTime, ios: u32) {
        self.waiting.push_back((work, ios));
        self.peak_waiting = self.peak_waiting.max(self.waiting.len());
    }

    /// Whether a job is on the cores.
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// Takes the next job to run and marks it running (its disk I/Os kept for `finish`).
    pub fn start_next(&mut self) -> Option<SimTime> {
        let (work, ios) = self.waiting.pop_front()?;
        self.running = Some(ios);
        Some(work)
    }

    /// The running job's CPU is done: its disk I/Os.
    pub fn finish(&mut self) -> u32 {
        self.running.take().unwrap_or(0)
    }

    /// Forgets every job (a crash).
    pub fn clear(&mut self) {
        self.waiting.clear();
        self.running = None;
    }

    /// Bytes of heap the waiting jobs take.
    pub fn heap_bytes(&self) -> usize {
        self.waiting.capacity() * std::mem::size_of::<(SimTime, u32)>()
    }
}

/// Queues a job of `work` CPU (at the machine's speed) and `ios` disk operations on machine
/// `r` of a server, which must be alive; it starts now if no job is running.
pub(crate) fn queue<S>(srv: &mut Server<S>, ctx: &mut Context, r: u32, work: SimTime, ios: u32) {
    let m = &mut srv.machines[r as usize];
    m.background.push(work, ios);
    if !m.background.is_running() {
        run_next(m, ctx);
    }
}

/// The event that ends a run-to-completion CPU step of `f` on `host` that got a core now:
/// a frame's, or a process's background job (whose end is stale if the host has crashed
/// since).
#[inline]
pub(super) fn core_event(host: &Host, f: FrameId) -> Event {
    match host.background_owner(f) {
        Some((component, machine)) => Event::BackgroundDone {
            component,
            machine,
            epoch: host.epoch,
        },
        None => Event::CpuDone { frame: f },
    }
}

/// Puts the next waiting job on the cores; jobs with no CPU book their disk at once.
fn run_next(m: &mut Machine, ctx: &mut Context) {
    let now = ctx.now;
    while let Some(work) = m.background.start_next() {
        if work == SimTime::ZERO {
            let ios = m.background.finish();
            if ios > 0 {
                ctx.hosts[m.host as usize].disk(ios, now);
            }
            continue;
        }
        let id = Host::background_id(m.slot);
        return occupy_cores(ctx, m, id, work);
    }
}

/// The running job's CPU on machine `r` is done (its core, or its share of the cores, is
/// already given back): its disk I/Os, then the next job.
pub(crate) fn cpu_finished<S>(srv: &mut Server<S>, ctx: &mut Context, r: u32) {
    let m = &mut srv.machines[r as usize];
    let ios = m.background.finish();
    if ios > 0 {
        ctx.hosts[m.host as usize].disk(ios, ctx.now);
    }
    run_next(m, ctx);
}

/// Run to completion: the background job's core time on machine `r` is over, unless its
/// host has crashed since (`epoch`).
pub(crate) fn core_done<S>(srv: &mut Server<S>, ctx: &mut Context, r: u32, epoch: u16) {
    let m = &srv.machines[r as usize];
    let h = m.host;
    if ctx.hosts[h as usize].epoch != epoch || !m.background.is_running() {
        return;
    }
    super::steps::free_core(ctx, h);
    cpu_finished(srv, ctx, r);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn background_jobs_run_one_at_a_time_in_order() {
        let mut b = Background::default();
        b.push(SimTime(5), 1);
        b.push(SimTime(7), 2);
        assert_eq!(b.peak_waiting, 2);
        assert!(!b.is_running());
        assert_eq!(b.start_next(), Some(SimTime(5)));
        assert!(b.is_running());
        assert_eq!(b.finish(), 1, "its disk operations");
        assert_eq!(b.start_next(), Some(SimTime(7)));
        b.clear();
        assert!(!b.is_running());
        assert_eq!(b.start_next(), None, "a crash forgets every job");
    }
}
