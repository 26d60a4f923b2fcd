//! A machine's own background work: jobs it does for itself, one at a time and in order, on
//! the same cores and disk as its requests (a replica applying the writes copied to it). Each
//! job runs its CPU on the cores — a time slice among the requests' steps, or a core of its
//! own in the run-to-completion queue — then books its disk I/Os. The job queue is
//! `machine::Background`; the core queues hold it as the frame id `BACKGROUND`.

use crate::engine::time::SimTime;
use crate::model::compute::machine::{BACKGROUND, Machine, MachineSpec};
use crate::model::compute::server::Server;
use crate::model::compute::steps::occupy_cores;
use crate::model::context::Context;
use crate::model::event::Event;
use crate::model::ids::ComponentId;

/// Queues a job of `work` CPU (at the machine's speed) and `ios` disk operations on machine
/// `r` of server `me`, which must be alive; it starts now if no job is running.
pub(crate) fn queue<S>(
    srv: &mut Server<S>,
    ctx: &mut Context,
    me: ComponentId,
    r: u32,
    work: SimTime,
    ios: u32,
) {
    let m = &mut srv.machines[r as usize];
    m.background.push(work, ios);
    if !m.background.is_running() {
        run_next(&srv.spec.machine, m, ctx, me, r);
    }
}

/// The event that ends a run-to-completion CPU step of `f` that got a core now.
#[inline]
pub(super) fn core_event(
    f: crate::model::ids::FrameId,
    m: &Machine,
    me: ComponentId,
    r: u32,
) -> Event {
    if f == BACKGROUND {
        Event::BackgroundDone {
            component: me,
            machine: r,
            epoch: m.epoch,
        }
    } else {
        Event::CpuDone { frame: f }
    }
}

/// Puts the next waiting job on the cores; jobs with no CPU book their disk at once.
fn run_next(spec: &MachineSpec, m: &mut Machine, ctx: &mut Context, me: ComponentId, r: u32) {
    let now = ctx.now;
    while let Some(work) = m.background.start_next() {
        if work == SimTime::ZERO {
            let ios = m.background.finish();
            if ios > 0 {
                m.disk(spec, ios, now);
            }
            continue;
        }
        return occupy_cores(ctx, spec, m, me, r, BACKGROUND, work);
    }
}

/// The running job's CPU is done (its core, or its share of the cores, is already given
/// back): its disk I/Os, then the next job.
pub(super) fn cpu_finished(
    spec: &MachineSpec,
    m: &mut Machine,
    ctx: &mut Context,
    me: ComponentId,
    r: u32,
) {
    let ios = m.background.finish();
    if ios > 0 {
        m.disk(spec, ios, ctx.now);
    }
    run_next(spec, m, ctx, me, r);
}

/// Run to completion: the background job's core time on machine `r` of server `me` is
/// over, unless the machine has crashed since (`epoch`).
pub(crate) fn core_done<S>(
    srv: &mut Server<S>,
    ctx: &mut Context,
    me: ComponentId,
    r: u32,
    epoch: u16,
) {
    let spec = &srv.spec.machine;
    let m = &mut srv.machines[r as usize];
    if m.epoch != epoch || !m.background.is_running() {
        return;
    }
    super::steps::free_core(ctx, m, me, r);
    cpu_finished(spec, m, ctx, me, r);
}
