//! How a request moves through a server: admission at the door, waiting for a worker,
//! running its program step by step (CPU on a core, disk, the kind's own steps; a call step
//! goes to `calls.rs`), answering, and what a crash does to all of it.
//!
//! Every function is generic over the kind of server (`ServerKind`: service, cache,
//! database), so each kind gets its own copy with static dispatch. Every path ends in `reply`,
//! which gives back what admission took and sends the answer. Another component is reached
//! only through its door (`Others`).

use crate::engine::time::SimTime;
use crate::metrics::outcome::Status;
use crate::model::component::Others;
use crate::model::compute::machine::{MAX_OOM_RESTARTS, Machine, Refusal};
use crate::model::compute::server::{Flow, ServerKind, Step};
use crate::model::compute::{background, calls};
use crate::model::context::Context;
use crate::model::event::Event;
use crate::model::ids::{ComponentId, FrameId};
use crate::model::messaging::CARRIER;
use crate::model::request::RequestState;
use rand::RngExt;

/// TCP's retransmission timeout before the `k`-th resend (from 0) of a dropped message on an
/// open connection: 200 ms (Linux's minimum RTO), doubling each time, at most 120 s.
pub(crate) fn retransmission_timeout(k: u8) -> SimTime {
    let ms = 200u64.saturating_mul(1u64 << k.min(20)).min(120_000);
    SimTime(ms * 1_000_000)
}

pub(crate) fn refusal_status(r: Refusal) -> Status {
    match r {
        Refusal::ConnectionLimit => Status::ConnectionLimit,
        Refusal::OutOfMemory => Status::OutOfMemory,
    }
}

/// A call reaches one of the server's machines, in three stages (an event may stop between
/// them and come back):
/// 1. At the door it takes memory and, on a new connection, one of the machine's connections,
///    or is refused. A new connection's handshake carries no request, so a refused one costs
///    the NIC nothing: a flood is turned away at the door, not queued on the wire.
/// 2. Its bytes pass the receiving NIC (a FIFO server; see `Machine::receive`). A full
///    receive buffer drops them, and TCP sends them again after a timeout.
/// 3. It gets a worker, waits in the queue, or is refused because the queue is full.
pub(crate) fn arrive<K: ServerKind>(k: &mut K, ctx: &mut Context, others: &mut Others, f: FrameId) {
    let now = ctx.now;
    let mut fr = *ctx.frames.get(f);
    let req = ctx.requests.get(fr.request);
    let (counted, class, abandoned) = (
        req.counted,
        usize::from(req.class),
        req.state == RequestState::Abandoned,
    );
    let messages = ctx.messages_of(&fr, req);
    if !fr.admitted {
        let srv = k.server();
        let m = &mut srv.machines[fr.machine as usize];
        let h = m.host as usize;
        if !m.alive {
            // A user's kept-alive connection to it is reset: the next attempt connects again.
            ctx.note_user_connection(&fr, fr.component, m.epoch, false);
            return reply(k, ctx, others, f, Status::BackendDown);
        }
        let mut fresh = fr.fresh_connection;
        if !fresh
            && fr.parent.is_none()
            && fr.epoch != m.epoch
            && ctx.requests.get(fr.request).user != CARRIER
        {
            // A user's kept-alive connection died in a crash since: it connects again (and
            // is accepted again).
            fresh = true;
            fr.connecting = true;
            let fm = ctx.frames.get_mut(f);
            fm.fresh_connection = true;
            fm.connecting = true;
        }
        if let Err(refusal) = m.admit(&srv.spec.machine, &mut ctx.hosts[h], fresh, now) {
            let status = refusal_status(refusal);
            if counted {
                srv.stats.refused[status.index()] += 1;
            }
            if fresh {
                ctx.note_user_connection(&fr, fr.component, m.epoch, false);
            }
            return reply(k, ctx, others, f, status);
        }
        if ctx.hosts[h].spec.oom_kill && ctx.hosts[h].over_limit() {
            // Nothing refused it, and memory is past RAM and swap: the kernel kills the
            // process, with every request on it.
            return oom_kill(k, ctx, others, f);
        }
        if fresh {
            ctx.note_user_connection(&fr, fr.component, m.epoch, true);
        }
        mark_admitted(ctx, f, m.epoch);
        (fr.admitted, fr.epoch, fr.arrived) = (true, m.epoch, now);
    }
    let srv = k.server();
    let m = &mut srv.machines[fr.machine as usize];
    if !m.alive || fr.epoch != m.epoch {
        return reply(k, ctx, others, f, Status::BackendDown);
    }
    if !fr.received {
        if fr.retransmits > 0 && abandoned {
            // The user gave up and closed its connection (and a proxy in between its own):
            // the retransmissions of its request stop.
            return reply(k, ctx, others, f, Status::BackendDown);
        }
        let bytes = ctx.scenario.workload.classes[class].request_bytes
            * u64::from(fr.queries)
            * u64::from(messages);
        let Some(done) = ctx.hosts[m.host as usize].receive(bytes, now, fr.wire) else {
            if counted {
                srv.stats.dropped += 1;
            }
            let again = now + retransmission_timeout(fr.retransmits);
            ctx.frames.get_mut(f).retransmits = fr.retransmits.saturating_add(1);
            ctx.schedule(again, Event::FrameArrive { frame: f });
            return;
        };
        ctx.frames.get_mut(f).received = true;
        if done > now {
            ctx.schedule(done, Event::FrameArrive { frame: f });
            return;
        }
    }
    ctx.frames.get_mut(f).arrived = now;
    let (workers, capacity) = (srv.spec.workers, srv.spec.queue_capacity as usize);
    if m.busy_workers < workers {
        if counted {
            srv.stats.admitted += 1;
        }
        start_frame(k, ctx, others, f);
    } else if m.wait_queue.len() < capacity {
        m.wait_queue.push_back(f);
        m.note_queue(&mut ctx.hosts[m.host as usize], now);
        if counted {
            srv.stats.admitted += 1;
            srv.stats.waited += 1;
        }
    } else {
        if counted {
            srv.stats.refused[Status::QueueFull.index()] += 1;
        }
        reply(k, ctx, others, f, Status::QueueFull);
    }
}

fn mark_admitted(ctx: &mut Context, f: FrameId, epoch: u16) {
    let now = ctx.now;
    let fr = ctx.frames.get_mut(f);
    fr.admitted = true;
    fr.epoch = epoch;
    fr.arrived = now;
}

/// Gives frame `f` a worker and starts its program.
fn start_frame<K: ServerKind>(k: &mut K, ctx: &mut Context, others: &mut Others, f: FrameId) {
    let now = ctx.now;
    let fr = ctx.frames.get_mut(f);
    fr.has_worker = true;
    fr.started = now;
    fr.step = 0;
    let (request, machine, arrived) = (fr.request, fr.machine, fr.arrived);
    let counted = ctx.requests.get(request).counted;
    let srv = k.server();
    let m = &mut srv.machines[machine as usize];
    m.busy_workers += 1;
    m.workers.set(now, u64::from(m.busy_workers));
    if counted {
        srv.stats.queue_wait.record(now - arrived);
    }
    run_steps(k, ctx, others, f);
}

/// Runs steps of frame `f` until one has to wait (or the program ends).
pub(super) fn run_steps<K: ServerKind>(
    k: &mut K,
    ctx: &mut Context,
    others: &mut Others,
    f: FrameId,
) {
    let now = ctx.now;
    loop {
        let fr = *ctx.frames.get(f);
        let req = *ctx.requests.get(fr.request);
        let srv = k.server();
        let program = srv.program_of(&fr, usize::from(req.class));
        let end = program.len() as u16;
        let Some(&step) = program.get(usize::from(fr.step)) else {
            if fr.queries_done + 1 < fr.queries {
                // The next query of a batch, on the same worker and connection (set up once).
                let fr = ctx.frames.get_mut(f);
                fr.queries_done += 1;
                fr.step = 0;
                fr.connecting = false;
                continue;
            }
            return reply(k, ctx, others, f, Status::Ok);
        };
        let m = &mut srv.machines[fr.machine as usize];
        match step {
            Step::Cpu(d) => {
                let work = d.sample(&mut srv.rng);
                return occupy_cores(ctx, m, f, work);
            }
            Step::Disk(mut ios) => {
                if srv.spec.disk_in_memory > 0.0 {
                    // Each I/O finds its page in the buffer pool with this probability.
                    // The ones that go to disk are one binomial draw.
                    let miss = (1.0 - srv.spec.disk_in_memory).clamp(0.0, 1.0);
                    ios = rand_distr::Binomial::new(u64::from(ios), miss)
                        .map_or(ios, |b| srv.rng.sample(b) as u32);
                    if ios == 0 {
                        ctx.frames.get_mut(f).step += 1;
                        continue;
                    }
                }
                let done = ctx.hosts[m.host as usize].disk(ios, now);
                ctx.schedule(done, Event::WaitDone { frame: f });
                return;
            }
            Step::Call { target, pool, .. } => {
                return calls::call(k, ctx, others, f, target, pool);
            }
            Step::Send { queue, class } => {
                return calls::send_message(k, ctx, others, f, queue, class);
            }
            Step::Own(own) => match k.own_step(ctx, f, &fr, &req, own, end) {
                Flow::Next(next) => ctx.frames.get_mut(f).step = next,
                Flow::Wait => return,
                Flow::Answer(status) => return reply(k, ctx, others, f, status),
                Flow::Park => return park(k, ctx, others, f),
            },
        }
    }
}

/// Work `work` of frame `f` (or of a process's background job, `Host::background_id`) of
/// process `m` runs on its host's cores, slowed by faults and swapping: a share of them
/// (time slices), a free core, or a place in the core queue (run to completion).
#[inline(always)]
pub(super) fn occupy_cores(ctx: &mut Context, m: &mut Machine, f: FrameId, mut work: SimTime) {
    let now = ctx.now;
    let h = m.host;
    let host = &mut ctx.hosts[h as usize];
    let factor = m.cpu_factor(host);
    if factor != 1.0 {
        work = SimTime::from_ns_f64(work.0 as f64 * factor);
    }
    let cores = host.spec.cores;
    if host.time_sliced {
        host.shared.advance(now, cores);
        host.shared.start(f, work);
        share_cores(ctx, h);
    } else if host.busy_cores < cores {
        host.busy_cores += 1;
        host.cpu.set(now, u64::from(host.busy_cores));
        let ev = background::core_event(host, f);
        ctx.schedule(now + work, ev);
    } else {
        host.core_queue.push_back((f, work));
        host.note_queue(now);
    }
}

/// A CPU step ended: free the core (or hand it to the next waiter) and go on.
pub(crate) fn cpu_done<K: ServerKind>(
    k: &mut K,
    ctx: &mut Context,
    others: &mut Others,
    f: FrameId,
) {
    let fr = *ctx.frames.get(f);
    let m = &k.server().machines[fr.machine as usize];
    if fr.epoch != m.epoch {
        return reply(k, ctx, others, f, Status::BackendDown);
    }
    free_core(ctx, m.host);
    ctx.frames.get_mut(f).step += 1;
    run_steps(k, ctx, others, f);
}

/// Run to completion: a step on host `h` leaves its core, to the next one waiting (a
/// frame's or a background job's, of any process on the host) or idle.
#[inline(always)]
pub(super) fn free_core(ctx: &mut Context, h: u32) {
    let now = ctx.now;
    let host = &mut ctx.hosts[h as usize];
    if let Some((next, work)) = host.core_queue.pop_front() {
        host.note_queue(now);
        let ev = background::core_event(host, next);
        ctx.schedule(now + work, ev);
    } else {
        host.busy_cores -= 1;
        host.cpu.set(now, u64::from(host.busy_cores));
    }
}

/// Time-sliced cores: the steps sharing host `h`'s cores changed (after `advance`). Sets
/// the busy cores and the queue, and makes sure an event is due when the next step ends.
pub(crate) fn share_cores(ctx: &mut Context, h: u32) {
    let now = ctx.now;
    let host = &mut ctx.hosts[h as usize];
    let cores = host.spec.cores;
    let runnable = host.shared.runnable();
    let busy = runnable.min(cores);
    if busy != host.busy_cores {
        host.busy_cores = busy;
        host.cpu.set(now, u64::from(busy));
    }
    // Steps beyond the cores count as waiting for one; the level changes only past them.
    if runnable >= cores {
        host.note_queue(now);
    }
    let next = host.shared.next_end(now, cores);
    if next != host.shared.due {
        host.shared.due = next;
        if let Some(at) = next {
            ctx.schedule(at, Event::SliceDone { host: h });
        }
    }
}

/// Time-sliced cores: the next step to end on host `h` may be done (an event whose time is
/// no longer the one due is stale and does nothing). Returns the step that ended, whose
/// owner goes on with it (`slice_finished`, `background::cpu_finished`).
pub(crate) fn slice_done(ctx: &mut Context, h: u32) -> Option<FrameId> {
    let now = ctx.now;
    let host = &mut ctx.hosts[h as usize];
    if host.shared.due != Some(now) {
        return None;
    }
    host.shared.due = None;
    host.shared.advance(now, host.spec.cores);
    let done = host.shared.finished();
    share_cores(ctx, h);
    done
}

/// Time-sliced cores: frame `f`'s CPU step is done; it goes on.
pub(crate) fn slice_finished<K: ServerKind>(
    k: &mut K,
    ctx: &mut Context,
    others: &mut Others,
    f: FrameId,
) {
    ctx.frames.get_mut(f).step += 1;
    run_steps(k, ctx, others, f);
}

/// A disk step (or a sync write's wait for acknowledgements) ended.
pub(crate) fn wait_done<K: ServerKind>(
    k: &mut K,
    ctx: &mut Context,
    others: &mut Others,
    f: FrameId,
) {
    let fr = *ctx.frames.get(f);
    if fr.epoch != k.server().machines[fr.machine as usize].epoch {
        return reply(k, ctx, others, f, Status::BackendDown);
    }
    ctx.frames.get_mut(f).step += 1;
    run_steps(k, ctx, others, f);
}

/// Frame `f` is done at its server with `status`: free its resources, start the next queued
/// frame, and send the answer back.
pub(crate) fn reply<K: ServerKind>(
    k: &mut K,
    ctx: &mut Context,
    others: &mut Others,
    f: FrameId,
    status: Status,
) {
    let now = ctx.now;
    let fr = ctx.frames.get_mut(f);
    fr.status = status;
    let fr = *fr;
    let req = ctx.requests.get(fr.request);
    let (counted, class) = (req.counted, usize::from(req.class));
    let bytes = if status == Status::Ok {
        ctx.scenario.workload.classes[class].response_bytes * u64::from(fr.queries)
    } else {
        0
    };
    let ok_in_window = status == Status::Ok && ctx.window.contains(now);
    let srv = k.server();
    let m = &mut srv.machines[fr.machine as usize];
    // The request holds its connection and memory until its answer has left the NIC.
    // An answer to a caller on the same host is a copy between processes: no NIC either way.
    // A queue poller's call is marked as needing no NIC for its answer (a processed
    // message's goes to the poller beside it; a receive's or a delete's carries no bytes).
    let loopback = fr.answer_received
        || (ctx.shared_hosts
            && fr.parent.is_some_and(|p| {
                let caller = ctx.frames.get(p);
                ctx.on_host(m.host, caller.component, caller.machine)
            }));
    let host = &mut ctx.hosts[m.host as usize];
    let (sent, wire) = if m.alive && !loopback {
        host.send(bytes, now)
    } else {
        (now, SimTime::ZERO)
    };
    let mut next = None;
    let mut served = None;
    if fr.admitted && fr.epoch == m.epoch {
        let closes = ctx.closes_after(&fr);
        let host = &mut ctx.hosts[m.host as usize];
        m.release_when_sent(&srv.spec.machine, host, closes, sent, now);
        // (A call answered after waiting without a worker, a long poll, counts too.)
        if ok_in_window {
            srv.stats.served += 1;
        }
        if fr.has_worker {
            m.busy_workers -= 1;
            m.workers.set(now, u64::from(m.busy_workers));
            if counted {
                srv.stats.service.record(now - fr.started);
            }
            served = Some(now - fr.started);
            next = m.wait_queue.pop_front();
            if next.is_some() {
                m.note_queue(host, now);
            }
        }
    }
    let fm = ctx.frames.get_mut(f);
    fm.answer_received = loopback;
    fm.wire = wire;
    fm.retransmits = 0;
    if let Some(took) = served {
        k.served(fr.machine, took, counted, ok_in_window);
    }
    ctx.send_back(f, sent);
    if let Some(g) = next {
        start_queued(k, ctx, others, g);
    }
}

/// Frame `f` waits without its worker: the worker goes to the next frame in line. Its
/// answer (`reply`) then frees no worker, and its wait is not service time.
fn park<K: ServerKind>(k: &mut K, ctx: &mut Context, others: &mut Others, f: FrameId) {
    let now = ctx.now;
    let fr = ctx.frames.get_mut(f);
    if !fr.has_worker {
        return;
    }
    fr.has_worker = false;
    let machine = fr.machine;
    let srv = k.server();
    let m = &mut srv.machines[machine as usize];
    m.busy_workers -= 1;
    m.workers.set(now, u64::from(m.busy_workers));
    let next = m.wait_queue.pop_front();
    if let Some(g) = next {
        m.note_queue(&mut ctx.hosts[m.host as usize], now);
        start_queued(k, ctx, others, g);
    }
}

/// Starts queued frame `g` on the worker a reply freed. A frame that answers at once (a call
/// its pool refuses) frees the worker for the next queued frame from inside its own reply;
/// those starts are taken in order by a loop here rather than by recursion, so a long queue
/// draining at one instant cannot overflow the stack.
fn start_queued<K: ServerKind>(k: &mut K, ctx: &mut Context, others: &mut Others, g: FrameId) {
    if k.server().starting_queued {
        k.server().queued_starts.push(g);
        return;
    }
    k.server().starting_queued = true;
    start_frame(k, ctx, others, g);
    let mut i = 0;
    while let Some(&h) = k.server().queued_starts.get(i) {
        start_frame(k, ctx, others, h);
        i += 1;
    }
    let srv = k.server();
    srv.queued_starts.clear();
    srv.starting_queued = false;
}

/// Machine `r` of server `me` crashes: queued work fails now, work in progress fails when its
/// next event finds the epoch changed, and its pooled connections close.
pub(crate) fn crash_machine<K: ServerKind>(
    k: &mut K,
    me: ComponentId,
    ctx: &mut Context,
    others: &mut Others,
    r: u32,
) {
    let now = ctx.now;
    let srv = k.server();
    let m = &mut srv.machines[r as usize];
    m.down += 1;
    if m.down > 1 {
        return;
    }
    m.alive = false;
    ctx.live.set(me, r, false);
    m.epoch = m.epoch.wrapping_add(1);
    let mut lost: Vec<FrameId> = m.wait_queue.iter().copied().collect();
    let h = m.host;
    let host = &mut ctx.hosts[h as usize];
    m.settle(&srv.spec.machine, host, now);
    // Its steps leave the cores (its background job is not a request: it is simply gone).
    lost.extend(host.process_down(&ctx.frames, me, r, m.slot, now));
    let mut closed = Vec::new();
    for (pool, &(target, _)) in m.pools.iter_mut().zip(&srv.spec.pools) {
        lost.extend(pool.waiters.iter().map(|&(g, _)| g));
        closed.push((target, pool.reset()));
    }
    m.wipe(now);
    m.note_queue(host, now);
    if host.time_sliced && host.shared.runnable() > 0 {
        // Other processes' steps share the cores it left.
        share_cores(ctx, h);
    }
    for (target, n) in closed {
        others.get(target).close_pooled(&mut ctx.hosts, now, n);
    }
    for g in lost {
        reply(k, ctx, others, g, Status::BackendDown);
    }
    k.machine_crashed(ctx, me, r);
}

/// Frame `f`'s admission took machine memory past RAM and swap: the OOM killer kills the
/// process (a crash: every request on it fails), and it restarts after `restart`.
fn oom_kill<K: ServerKind>(k: &mut K, ctx: &mut Context, others: &mut Others, f: FrameId) {
    let fr = *ctx.frames.get(f);
    let (me, r) = (fr.component, fr.machine);
    let srv = k.server();
    srv.stats.oom_kills += 1;
    let restart = srv.spec.machine.restart;
    let m = &mut srv.machines[r as usize];
    m.oom_kills += 1;
    let gives_up = m.oom_kills >= MAX_OOM_RESTARTS;
    crash_machine(k, me, ctx, others, r);
    if !gives_up {
        let epoch = k.server().machines[r as usize].epoch;
        ctx.schedule(
            ctx.now + restart,
            Event::Restart {
                component: me,
                machine: r,
                epoch,
            },
        );
    }
    reply(k, ctx, others, f, Status::BackendDown);
}

/// A process killed for want of memory on machine `r` of server `me` (at `epoch`) restarts.
pub(crate) fn restart<K: ServerKind>(
    k: &mut K,
    me: ComponentId,
    ctx: &mut Context,
    r: u32,
    epoch: u16,
) {
    if k.server().machines[r as usize].epoch == epoch {
        recover_machine(k, me, ctx, r);
    }
}

/// Machine `r` of server `me` comes back, empty.
pub(crate) fn recover_machine<K: ServerKind>(
    k: &mut K,
    me: ComponentId,
    ctx: &mut Context,
    r: u32,
) {
    let m = &mut k.server().machines[r as usize];
    if m.down == 0 {
        return;
    }
    m.down -= 1;
    if m.down > 0 {
        return;
    }
    m.alive = true;
    ctx.live.set(me, r, true);
    ctx.hosts[m.host as usize].process_up();
    k.machine_recovered(ctx, me, r);
}

/// Every machine of server `me` stops (`start`) or comes back: a whole-component outage.
pub(crate) fn outage<K: ServerKind>(
    k: &mut K,
    me: ComponentId,
    ctx: &mut Context,
    others: &mut Others,
    start: bool,
) {
    for r in 0..k.server().machines.len() as u32 {
        if start {
            crash_machine(k, me, ctx, others, r);
        } else {
            recover_machine(k, me, ctx, r);
        }
    }
}
