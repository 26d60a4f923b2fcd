//! How a request moves through a server: admission at the door, waiting for a worker,
//! running its program step by step (CPU on a core, disk, calls through pools, the kind's own
//! steps), answering, and what a crash does to all of it.
//!
//! Every function is generic over the kind of server (`ServerKind`: service, cache,
//! database), so each kind gets its own copy with static dispatch. Every path ends in `reply`,
//! which gives back what admission took and sends the answer. Another component is reached
//! only through its door (`Others`).

use crate::engine::time::SimTime;
use crate::metrics::outcome::Status;
use crate::model::component::{Caller, Landing, Others};
use crate::model::compute::machine::{Machine, Refusal};
use crate::model::compute::server::{Flow, ServerKind, Step};
use crate::model::context::Context;
use crate::model::event::Event;
use crate::model::ids::{ComponentId, FrameId};
use crate::model::request::{Frame, RequestState};
use rand::RngExt;

/// TCP's retransmission timeout before the `k`-th resend (from 0) of a dropped message on an
/// open connection: 200 ms (Linux's minimum RTO), doubling each time, at most 120 s.
pub(crate) fn retransmission_timeout(k: u8) -> SimTime {
    let ms = 200u64.saturating_mul(1u64 << k.min(20)).min(120_000);
    SimTime(ms * 1_000_000)
}

/// `Frame::backend` of a server's call that took no local port.
const NO_PORT: u32 = u32::MAX;

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
    let fr = *ctx.frames.get(f);
    let req = *ctx.requests.get(fr.request);
    if !fr.admitted {
        let srv = k.server();
        let m = &mut srv.machines[fr.machine as usize];
        if !m.alive {
            return reply(k, ctx, others, f, Status::BackendDown);
        }
        if let Err(refusal) = m.admit(&srv.spec.machine, fr.fresh_connection, now) {
            let status = refusal_status(refusal);
            if req.counted {
                srv.stats.refused[status.index()] += 1;
            }
            return reply(k, ctx, others, f, status);
        }
        mark_admitted(ctx, f, m.epoch);
    }
    let fr = *ctx.frames.get(f);
    let srv = k.server();
    let m = &mut srv.machines[fr.machine as usize];
    if !m.alive || fr.epoch != m.epoch {
        return reply(k, ctx, others, f, Status::BackendDown);
    }
    if !fr.received {
        if fr.retransmits > 0 && req.state == RequestState::Abandoned {
            // The user gave up and closed its connection (and a proxy in between its own):
            // the retransmissions of its request stop.
            return reply(k, ctx, others, f, Status::BackendDown);
        }
        let bytes = ctx.scenario.workload.classes[usize::from(req.class)].request_bytes;
        let Some(done) = m.receive(&srv.spec.machine, bytes, now, fr.wire) else {
            if req.counted {
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
        if req.counted {
            srv.stats.admitted += 1;
        }
        start_frame(k, ctx, others, f);
    } else if m.wait_queue.len() < capacity {
        m.wait_queue.push_back(f);
        m.note_queue(now);
        if req.counted {
            srv.stats.admitted += 1;
            srv.stats.waited += 1;
        }
    } else {
        if req.counted {
            srv.stats.refused[Status::QueueFull.index()] += 1;
        }
        reply(k, ctx, others, f, Status::QueueFull);
    }
}

fn mark_admitted(ctx: &mut Context, f: FrameId, epoch: u32) {
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
    let fr = *fr;
    let counted = ctx.requests.get(fr.request).counted;
    let srv = k.server();
    let m = &mut srv.machines[fr.machine as usize];
    m.busy_workers += 1;
    m.workers.set(now, u64::from(m.busy_workers));
    if counted {
        srv.stats.queue_wait.record(now - fr.arrived);
    }
    run_steps(k, ctx, others, f);
}

/// Runs steps of frame `f` until one has to wait (or the program ends).
fn run_steps<K: ServerKind>(k: &mut K, ctx: &mut Context, others: &mut Others, f: FrameId) {
    let now = ctx.now;
    loop {
        let fr = *ctx.frames.get(f);
        let req = *ctx.requests.get(fr.request);
        let srv = k.server();
        let programs = if fr.connecting && !srv.spec.connect_programs.is_empty() {
            &srv.spec.connect_programs
        } else {
            &srv.spec.programs
        };
        let program = &programs[usize::from(req.class)];
        let end = program.len() as u16;
        let Some(&step) = program.get(usize::from(fr.step)) else {
            return reply(k, ctx, others, f, Status::Ok);
        };
        let m = &mut srv.machines[fr.machine as usize];
        match step {
            Step::Cpu(d) => {
                let mut work = d.sample(&mut srv.rng);
                if m.slowdown != 1.0 {
                    work = SimTime::from_ns_f64(work.0 as f64 * m.slowdown);
                }
                if srv.spec.machine.time_sliced {
                    let cores = srv.spec.machine.cores;
                    m.shared.advance(now, cores);
                    m.shared.start(f, work);
                    share_cores(ctx, m, cores, fr.component, fr.machine);
                } else if m.busy_cores < srv.spec.machine.cores {
                    m.busy_cores += 1;
                    m.cpu.set(now, u64::from(m.busy_cores));
                    ctx.schedule(now + work, Event::CpuDone { frame: f });
                } else {
                    m.core_queue.push_back((f, work));
                    m.note_queue(now);
                }
                return;
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
                let done = m.disk(&srv.spec.machine, ios, now);
                ctx.schedule(done, Event::WaitDone { frame: f });
                return;
            }
            Step::Call { target, pool, .. } => return call(k, ctx, others, f, target, pool),
            Step::Own(own) => match k.own_step(ctx, f, &fr, &req, own, end) {
                Flow::Next(next) => ctx.frames.get_mut(f).step = next,
                Flow::Wait => return,
            },
        }
    }
}

/// A CPU step ended: free the core (or hand it to the next waiter) and go on.
pub(crate) fn cpu_done<K: ServerKind>(
    k: &mut K,
    ctx: &mut Context,
    others: &mut Others,
    f: FrameId,
) {
    let now = ctx.now;
    let fr = *ctx.frames.get(f);
    let m = &mut k.server().machines[fr.machine as usize];
    if fr.epoch != m.epoch {
        return reply(k, ctx, others, f, Status::BackendDown);
    }
    if let Some((next, work)) = m.core_queue.pop_front() {
        m.note_queue(now);
        ctx.schedule(now + work, Event::CpuDone { frame: next });
    } else {
        m.busy_cores -= 1;
        m.cpu.set(now, u64::from(m.busy_cores));
    }
    ctx.frames.get_mut(f).step += 1;
    run_steps(k, ctx, others, f);
}

/// Time-sliced cores: the steps sharing machine `r`'s cores changed (after `advance`). Sets
/// the busy cores and the queue, and makes sure an event is due when the next step ends.
fn share_cores(ctx: &mut Context, m: &mut Machine, cores: u32, me: ComponentId, r: u32) {
    let now = ctx.now;
    let runnable = m.shared.runnable();
    let busy = runnable.min(cores);
    if busy != m.busy_cores {
        m.busy_cores = busy;
        m.cpu.set(now, u64::from(busy));
    }
    // Steps beyond the cores count as waiting for one; the level changes only past them.
    if runnable >= cores {
        m.note_queue(now);
    }
    let next = m.shared.next_end(now, cores);
    if next != m.shared.due {
        m.shared.due = next;
        if let Some(at) = next {
            ctx.schedule(
                at,
                Event::SliceDone {
                    component: me,
                    machine: r,
                },
            );
        }
    }
}

/// Time-sliced cores: the next step to end on machine `r` of server `me` may be done (an
/// event whose time is no longer the one due is stale and does nothing).
pub(crate) fn slice_done<K: ServerKind>(
    k: &mut K,
    me: ComponentId,
    ctx: &mut Context,
    others: &mut Others,
    r: u32,
) {
    let now = ctx.now;
    let srv = k.server();
    let cores = srv.spec.machine.cores;
    let m = &mut srv.machines[r as usize];
    if m.shared.due != Some(now) {
        return;
    }
    m.shared.due = None;
    m.shared.advance(now, cores);
    let done = m.shared.finished();
    share_cores(ctx, m, cores, me, r);
    if let Some(f) = done {
        ctx.frames.get_mut(f).step += 1;
        run_steps(k, ctx, others, f);
    }
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

/// A call step: through a pool (take an idle connection, open one, or wait) or direct.
fn call<K: ServerKind>(
    k: &mut K,
    ctx: &mut Context,
    others: &mut Others,
    f: FrameId,
    target: ComponentId,
    pool: Option<u16>,
) {
    let Some(p) = pool else {
        return send_call(k, ctx, others, f, target, None, true, true);
    };
    let now = ctx.now;
    let fr = *ctx.frames.get(f);
    let counted = ctx.requests.get(fr.request).counted;
    let srv = k.server();
    let pl = &mut srv.machines[fr.machine as usize].pools[usize::from(p)];
    if pl.take_idle() {
        if counted {
            srv.stats.pool_wait.record(SimTime::ZERO);
        }
        return send_call(k, ctx, others, f, target, pool, false, false);
    }
    if !pl.can_grow() {
        pl.waiters.push_back((f, now));
        return;
    }
    let opened = pl.opened;
    match others.get(target).open_pooled(now, opened) {
        Ok(()) => {
            pl.grow();
            if counted {
                srv.stats.pool_wait.record(SimTime::ZERO);
            }
            send_call(k, ctx, others, f, target, pool, false, true);
        }
        Err(_) if opened > 0 => pl.waiters.push_back((f, now)),
        Err(refusal) => {
            let status = refusal_status(refusal);
            if counted {
                others.get(target).count_refusal(status);
            }
            call_failed(k, ctx, others, f, target, status)
        }
    }
}

/// Sends a child call from frame `f` to `target` (one per shard if the target fans this
/// class's queries out); `connect` adds the target's connection set-up, if it has one.
///
/// Through a pool, a scatter holds one pooled connection until its last shard has answered
/// (as a proxy would); without one, every call opens its own.
#[allow(clippy::too_many_arguments)]
fn send_call<K: ServerKind>(
    k: &mut K,
    ctx: &mut Context,
    others: &mut Others,
    f: FrameId,
    target: ComponentId,
    pool: Option<u16>,
    fresh: bool,
    connect: bool,
) {
    let class = usize::from(ctx.requests.get(ctx.frames.get(f).request).class);
    let Some(shards) = others.get(target).fan_out(class) else {
        return send_one(k, ctx, others, f, target, None, pool, fresh, connect);
    };
    ctx.frames.get_mut(f).pending_children = shards as u16;
    for s in 0..shards {
        // Every call names the pool; only the last one back gives the connection back.
        let (fresh, connect) = if s == 0 || pool.is_none() {
            (fresh, connect)
        } else {
            (false, false)
        };
        send_one(k, ctx, others, f, target, Some(s), pool, fresh, connect);
    }
}

/// Sends one child call (to `shard`, for a scatter-gather) from frame `f` to `target`.
#[allow(clippy::too_many_arguments)]
fn send_one<K: ServerKind>(
    k: &mut K,
    ctx: &mut Context,
    others: &mut Others,
    f: FrameId,
    target: ComponentId,
    shard: Option<u32>,
    pool: Option<u16>,
    fresh: bool,
    connect: bool,
) {
    let now = ctx.now;
    let fr = *ctx.frames.get(f);
    let bytes = ctx.class_of(fr.request).request_bytes;
    let caller = Caller::Machine(fr.component, fr.machine);
    let landing = others.get(target).land(ctx, fr.request, caller, shard);
    let srv = k.server();
    let machine = match landing {
        Landing::Machine(m) => m,
        // No balancer in between: the caller spreads its calls at random.
        Landing::Spread(n) if n > 1 => srv.rng.random_range(0..n),
        Landing::Spread(_) | Landing::NoPrimary(_) => 0,
    };
    // A connection of its own to a database (no pool) takes a local port; calls between
    // services travel on kept-alive connections.
    // A call held for a promotion (no primary) has no machine yet: it takes no port.
    let opens_port = fresh
        && connect
        && others.get(target).connect_cost().is_some()
        && !matches!(landing, Landing::NoPrimary(_));
    let srv = k.server();
    let m = &mut srv.machines[fr.machine as usize];
    if opens_port && !m.take_port(&srv.spec.machine, target, machine, now) {
        // Every local port towards it is open or in TIME_WAIT: the connect fails at once.
        if ctx.requests.get(fr.request).counted {
            srv.stats.refused[Status::PortsExhausted.index()] += 1;
        }
        let child = ctx.frames.insert(Frame {
            request: fr.request,
            parent: Some(f),
            component: target,
            machine,
            pool,
            fresh_connection: false,
            status: Status::PortsExhausted,
            received: true,
            answer_received: true,
            ..Frame::default()
        });
        ctx.schedule(now, Event::FrameReturn { frame: child });
        return;
    }
    let (mut at, wire) = m.send(&srv.spec.machine, bytes, now);
    let latency = ctx.link_latency(fr.component, fr.machine, target, machine);
    at += latency;
    let mut connecting = false;
    if connect && let Some(d) = others.get(target).connect_cost() {
        // TCP handshake round trip plus the server's connection set-up; a cut link is
        // waited for once. The set-up's CPU is the callee's (`connect_programs`).
        let (a, b) = (
            ctx.machine_region(fr.component, fr.machine),
            ctx.machine_region(target, machine),
        );
        let base = latency - ctx.cut_wait(a, b);
        at += base + base + d.sample(&mut ctx.net.rng);
        connecting = true;
    }
    let child = ctx.frames.insert(Frame {
        request: fr.request,
        parent: Some(f),
        component: target,
        machine,
        pool,
        fresh_connection: fresh,
        connecting,
        wire,
        backend: if opens_port { machine } else { NO_PORT },
        ..Frame::default()
    });
    if let Landing::NoPrimary(shard) = landing {
        return others
            .get(target)
            .hold_or_refuse(target, ctx, child, shard, at);
    }
    ctx.schedule(at, Event::FrameArrive { frame: child });
}

/// The answer of child call `child` reached this server: it passes the receiving NIC of the
/// caller's machine, then the caller goes on.
pub(crate) fn answer_returned<K: ServerKind>(
    k: &mut K,
    ctx: &mut Context,
    others: &mut Others,
    child: FrameId,
) {
    let now = ctx.now;
    let c = *ctx.frames.get(child);
    let p = c.parent.expect("an answer returns to its caller");
    if !c.answer_received {
        let parent = *ctx.frames.get(p);
        let bytes = if c.status == Status::Ok {
            ctx.class_of(c.request).response_bytes
        } else {
            0
        };
        let srv = k.server();
        let m = &mut srv.machines[parent.machine as usize];
        let done = if m.alive {
            let Some(done) = m.receive(&srv.spec.machine, bytes, now, c.wire) else {
                if ctx.requests.get(c.request).counted {
                    srv.stats.dropped += 1;
                }
                let again = now + retransmission_timeout(c.retransmits);
                ctx.frames.get_mut(child).retransmits = c.retransmits.saturating_add(1);
                ctx.schedule(again, Event::FrameReturn { frame: child });
                return;
            };
            done
        } else {
            now
        };
        ctx.frames.get_mut(child).answer_received = true;
        if done > now {
            ctx.schedule(done, Event::FrameReturn { frame: child });
            return;
        }
    }
    ctx.frames.remove(child);
    child_returned(k, ctx, others, p, &c);
}

/// A child call of frame `p` answered: give back its pooled connection and go on.
fn child_returned<K: ServerKind>(
    k: &mut K,
    ctx: &mut Context,
    others: &mut Others,
    p: FrameId,
    child: &Frame,
) {
    let now = ctx.now;
    let fr = *ctx.frames.get(p);
    let srv = k.server();
    let m = &mut srv.machines[fr.machine as usize];
    // After a crash the machine's pools were reset: nothing to give back. A scatter's calls
    // share one pooled connection, given back with the last answer.
    let same_life = fr.epoch == m.epoch;
    if same_life && child.backend != NO_PORT {
        // The caller closes its own connection: the port waits out TIME_WAIT.
        m.close_port(&srv.spec.machine, child.component, child.backend, now);
    }
    let last = fr.pending_children <= 1;
    if same_life
        && last
        && let Some(pool) = child.pool
    {
        let pl = &mut m.pools[usize::from(pool)];
        pl.in_use -= 1;
        if let Some((waiter, since)) = pl.waiters.pop_front() {
            pl.in_use += 1;
            let waiter_request = ctx.frames.get(waiter).request;
            if ctx.requests.get(waiter_request).counted {
                srv.stats.pool_wait.record(now - since);
            }
            let target = srv.spec.pools[usize::from(pool)].0;
            send_call(k, ctx, others, waiter, target, child.pool, false, false);
        }
    }
    // A scatter-gather goes on when its last shard has answered; its status is the first
    // failure among them.
    let mut status = child.status;
    if fr.pending_children > 0 {
        let pf = ctx.frames.get_mut(p);
        pf.pending_children -= 1;
        if pf.status == Status::Ok {
            pf.status = child.status;
        }
        if pf.pending_children > 0 {
            return;
        }
        status = std::mem::take(&mut pf.status);
    }
    if !same_life {
        return reply(k, ctx, others, p, Status::BackendDown);
    }
    if status != Status::Ok {
        return call_failed(k, ctx, others, p, child.component, status);
    }
    ctx.frames.get_mut(p).step += 1;
    run_steps(k, ctx, others, p);
}

/// The call of frame `p`'s current step to `target` failed with `status`: a step with a
/// fallback makes the call again to it (once: the fallback's own failure is final);
/// otherwise the frame answers `status`.
fn call_failed<K: ServerKind>(
    k: &mut K,
    ctx: &mut Context,
    others: &mut Others,
    p: FrameId,
    target: ComponentId,
    status: Status,
) {
    let fr = *ctx.frames.get(p);
    let class = usize::from(ctx.requests.get(fr.request).class);
    let step = k.server().spec.programs[class]
        .get(usize::from(fr.step))
        .copied();
    if let Some(Step::Call {
        target: first,
        fallback: Some((fallback, pool)),
        ..
    }) = step
        && first == target
    {
        return call(k, ctx, others, p, fallback, pool);
    }
    reply(k, ctx, others, p, status)
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
    ctx.frames.get_mut(f).status = status;
    let fr = *ctx.frames.get(f);
    let req = *ctx.requests.get(fr.request);
    let bytes = if status == Status::Ok {
        ctx.scenario.workload.classes[usize::from(req.class)].response_bytes
    } else {
        0
    };
    let ok_in_window = status == Status::Ok && ctx.window.contains(now);
    let srv = k.server();
    let m = &mut srv.machines[fr.machine as usize];
    // The request holds its connection and memory until its answer has left the NIC.
    let (sent, wire) = if m.alive {
        m.send(&srv.spec.machine, bytes, now)
    } else {
        (now, SimTime::ZERO)
    };
    let mut next = None;
    let mut served = None;
    if fr.admitted && fr.epoch == m.epoch {
        m.release_when_sent(&srv.spec.machine, fr.fresh_connection, sent, now);
        if fr.has_worker {
            m.busy_workers -= 1;
            m.workers.set(now, u64::from(m.busy_workers));
            if req.counted {
                srv.stats.service.record(now - fr.started);
            }
            if ok_in_window {
                srv.stats.served += 1;
            }
            served = Some(now - fr.started);
            next = m.wait_queue.pop_front();
            if next.is_some() {
                m.note_queue(now);
            }
        }
    }
    let fm = ctx.frames.get_mut(f);
    fm.wire = wire;
    fm.retransmits = 0;
    if let Some(took) = served {
        k.served(fr.machine, took, req.counted, ok_in_window);
    }
    ctx.send_back(f, sent);
    if let Some(g) = next {
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
    lost.extend(m.core_queue.iter().map(|&(g, _)| g));
    lost.extend(m.shared.clear(now));
    let mut closed = Vec::new();
    for (pool, &(target, _)) in m.pools.iter_mut().zip(&srv.spec.pools) {
        lost.extend(pool.waiters.iter().map(|&(g, _)| g));
        closed.push((target, pool.reset()));
    }
    m.wipe(&srv.spec.machine, now);
    for (target, n) in closed {
        others.get(target).close_pooled(now, n);
    }
    for g in lost {
        reply(k, ctx, others, g, Status::BackendDown);
    }
    k.machine_crashed(ctx, me, r);
}

/// Machine `r` of server `me` comes back, empty.
pub(crate) fn recover_machine<K: ServerKind>(
    k: &mut K,
    me: ComponentId,
    ctx: &mut Context,
    r: u32,
) {
    let now = ctx.now;
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
    m.nic_tx_free = now;
    m.nic_rx_free = now;
    m.disk_free = now;
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
