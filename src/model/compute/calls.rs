//! Calls from a server to another component: through a connection pool or on a connection
//! of its own (a local port, TIME_WAIT), to one machine or to every shard (scatter-gather);
//! the answer's way back through the caller's NIC; a failed call's fallback.
//!
//! Part of the server's machinery (`steps.rs` runs the program; a call step comes here, and
//! the caller goes on in `steps::run_steps` when the answer is in).

use crate::engine::time::SimTime;
use crate::metrics::outcome::Status;
use crate::model::component::{Caller, Landing, Others};
use crate::model::compute::server::{ServerKind, Step};
use crate::model::compute::steps::{refusal_status, reply, retransmission_timeout, run_steps};
use crate::model::context::Context;
use crate::model::event::Event;
use crate::model::ids::{ComponentId, FrameId, PoolId, RequestId};
use crate::model::messaging::log::{NO_KEY, key_home};
use crate::model::messaging::{CARRIER, Op, carrier};
use crate::model::request::Frame;
use rand::RngExt;

/// `Frame::backend` of a server's call that took no local port.
const NO_PORT: u32 = u32::MAX;

/// A call step: through a pool (take an idle connection, open one, or wait) or direct.
pub(super) fn call<K: ServerKind>(
    k: &mut K,
    ctx: &mut Context,
    others: &mut Others,
    f: FrameId,
    target: ComponentId,
    pool: Option<PoolId>,
) {
    let Some(p) = pool else {
        return send_call(k, ctx, others, f, target, None, true, true);
    };
    let now = ctx.now;
    let fr = *ctx.frames.get(f);
    let counted = ctx.requests.get(fr.request).counted;
    let srv = k.server();
    let pl = &mut srv.machines[fr.machine as usize].pools[p.index()];
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
    match others.get(target).open_pooled(&mut ctx.hosts, now, opened) {
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

/// A send step: frame `f` sends a message of class `class` to queue `queue` on a connection
/// of its own, and goes on when the queue has accepted it. The call names a carrier of its
/// own (the message's class and size, sent now), which goes when the answer is in.
pub(super) fn send_message<K: ServerKind>(
    k: &mut K,
    ctx: &mut Context,
    others: &mut Others,
    f: FrameId,
    queue: ComponentId,
    class: u16,
) {
    let sender = ctx.requests.get(ctx.frames.get(f).request);
    // A log partitions by the key of the user's request that sent the message (a message
    // sent while processing another has none); a queue ignores it.
    let key = if sender.user == CARRIER {
        NO_KEY
    } else {
        key_home(sender.key)
    };
    let record = carrier(Op::Send, queue, key, class, ctx.now, sender.counted);
    let request = ctx.requests.insert(record);
    send_one(k, ctx, others, f, request, queue, None, None, true, false);
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
    pool: Option<PoolId>,
    fresh: bool,
    connect: bool,
) {
    let class = usize::from(ctx.requests.get(ctx.frames.get(f).request).class);
    let request = ctx.frames.get(f).request;
    let Some(shards) = others.get(target).fan_out(class) else {
        return send_one(
            k, ctx, others, f, request, target, None, pool, fresh, connect,
        );
    };
    ctx.frames.get_mut(f).pending_children = shards as u16;
    for s in 0..shards {
        // Every call names the pool; only the last one back gives the connection back.
        let (fresh, connect) = if s == 0 || pool.is_none() {
            (fresh, connect)
        } else {
            (false, false)
        };
        send_one(
            k,
            ctx,
            others,
            f,
            request,
            target,
            Some(s),
            pool,
            fresh,
            connect,
        );
    }
}

/// Sends one child call (to `shard`, for a scatter-gather) from frame `f` to `target`, on
/// behalf of `request` (the frame's, or a message's carrier).
#[allow(clippy::too_many_arguments)]
fn send_one<K: ServerKind>(
    k: &mut K,
    ctx: &mut Context,
    others: &mut Others,
    f: FrameId,
    request: RequestId,
    target: ComponentId,
    shard: Option<u32>,
    pool: Option<PoolId>,
    fresh: bool,
    connect: bool,
) {
    let now = ctx.now;
    let fr = *ctx.frames.get(f);
    let queries = queries_of(k, ctx, &fr, target);
    let bytes = ctx.class_of(request).request_bytes * u64::from(queries);
    let caller = Caller::Machine(fr.component, fr.machine);
    let landing = others.get(target).land(ctx, request, caller, shard);
    let srv = k.server();
    let machine = match landing {
        Landing::Machine(m) => m,
        // No balancer in between: the caller spreads its calls at random.
        Landing::Spread(n) if n > 1 => srv.rng.random_range(0..n),
        Landing::Spread(_) | Landing::NoPrimary(_) => 0,
    };
    // Only a database's connections cost a set-up (services keep theirs alive).
    let setup = if connect {
        others.get(target).connect_cost()
    } else {
        None
    };
    // A connection of its own to a database (no pool) takes a local port; a call held for a
    // promotion (no primary) has no machine yet and takes none.
    let opens_port = fresh && setup.is_some() && !matches!(landing, Landing::NoPrimary(_));
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
    // Between processes of one host a message passes no NIC (the kernel copies it).
    let loopback = ctx.on_host(m.host, target, machine);
    let (mut at, wire) = if loopback {
        (now, SimTime::ZERO)
    } else {
        ctx.hosts[m.host as usize].send(bytes, now)
    };
    let latency = ctx.link_latency(fr.component, fr.machine, target, machine);
    at += latency;
    let connecting = setup.is_some();
    if let Some(d) = setup {
        // TCP handshake round trip plus the server's connection set-up; a cut link is
        // waited for once. The set-up's CPU is the callee's (`connect_programs`).
        let (a, b) = (
            ctx.machine_region(fr.component, fr.machine),
            ctx.machine_region(target, machine),
        );
        let base = latency - ctx.cut_wait(a, b);
        at += base + base + d.sample(&mut ctx.net.rng);
    }
    let child = ctx.frames.insert(Frame {
        request,
        parent: Some(f),
        component: target,
        machine,
        pool,
        fresh_connection: fresh,
        connecting,
        wire,
        backend: if opens_port { machine } else { NO_PORT },
        queries,
        // Between processes of one host nothing is received on a NIC.
        received: loopback,
        ..Frame::default()
    });
    if let Landing::NoPrimary(shard) = landing {
        return others
            .get(target)
            .hold_or_refuse(target, ctx, child, shard, at);
    }
    ctx.schedule(at, Event::FrameArrive { frame: child });
}

/// How many queries frame `fr`'s call to `target` carries: its step's batch (1 for a plain
/// call, and for a fallback, which is another component than the step's own).
fn queries_of<K: ServerKind>(k: &mut K, ctx: &Context, fr: &Frame, target: ComponentId) -> u16 {
    let class = usize::from(ctx.requests.get(fr.request).class);
    match k.server().program_of(fr, class).get(usize::from(fr.step)) {
        Some(&Step::Call {
            target: t,
            queries,
            per_message,
            ..
        }) if t == target => {
            if per_message {
                queries.saturating_mul(ctx.messages_at(fr))
            } else {
                queries
            }
        }
        _ => 1,
    }
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
            ctx.class_of(c.request).response_bytes * u64::from(c.queries)
        } else {
            0
        };
        let srv = k.server();
        let m = &mut srv.machines[parent.machine as usize];
        let done = if m.alive {
            let Some(done) = ctx.hosts[m.host as usize].receive(bytes, now, c.wire) else {
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
    if c.request != ctx.frames.get(p).request {
        // A sent message's carrier: the queue has answered.
        ctx.requests.remove(c.request);
    }
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
        let pl = &mut m.pools[pool.index()];
        pl.in_use -= 1;
        if let Some((waiter, since)) = pl.waiters.pop_front() {
            pl.in_use += 1;
            let waiter_request = ctx.frames.get(waiter).request;
            if ctx.requests.get(waiter_request).counted {
                srv.stats.pool_wait.record(now - since);
            }
            let target = srv.spec.pools[pool.index()].0;
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
    let step = k
        .server()
        .program_of(&fr, class)
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
