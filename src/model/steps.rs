//! How a request moves through a server: admission at the door, waiting for a worker,
//! running its program step by step (CPU on a core, disk, calls through pools, cache
//! lookups), answering, and what a crash does to all of it.
//!
//! Every path ends in `reply`, which gives back what admission took and sends the answer.

use crate::engine::event::EventKind;
use crate::engine::sim::{Component, Frame, NO_PARENT, NO_POOL, Simulation};
use crate::engine::time::SimTime;
use crate::metrics::outcome::Status;
use crate::model::failover::Caller;
use crate::model::machine::Refusal;
use crate::model::replication::Target;
use crate::model::server::{Role, Server, Step};
use rand::RngExt;

/// The server behind component `c`; any other kind here is an engine bug.
#[inline]
pub(crate) fn server_of(components: &mut [Component], c: u32) -> &mut Server {
    match &mut components[c as usize] {
        Component::Server(s) => s,
        _ => unreachable!("component {c} is not a server"),
    }
}

fn refusal_status(r: Refusal) -> Status {
    match r {
        Refusal::ConnectionLimit => Status::ConnectionLimit,
        Refusal::OutOfMemory => Status::OutOfMemory,
    }
}

impl Simulation {
    /// A call reaches a server replica: admit it, give it a worker or queue it, or refuse it.
    pub(crate) fn server_arrive(&mut self, f: u32) {
        let now = self.now;
        let fr = *self.frames.get(f);
        let counted = self.requests.get(fr.request).counted;
        let srv = server_of(&mut self.components, fr.component);
        let (workers, capacity) = (srv.spec.workers, srv.spec.queue_capacity as usize);
        let rep = &mut srv.replicas[fr.replica as usize];
        if !rep.alive {
            return self.reply(f, Status::BackendDown);
        }
        if let Err(refusal) = rep.admit(&srv.spec.machine, fr.fresh_connection, now) {
            let status = refusal_status(refusal);
            if counted {
                srv.stats.refused[status.index()] += 1;
            }
            return self.reply(f, status);
        }
        let epoch = rep.epoch;
        if rep.busy_workers < workers {
            if counted {
                srv.stats.admitted += 1;
            }
            self.mark_admitted(f, epoch);
            self.start_frame(f);
        } else if rep.wait_queue.len() < capacity {
            rep.wait_queue.push_back(f);
            rep.note_queue(now);
            if counted {
                srv.stats.admitted += 1;
                srv.stats.waited += 1;
            }
            self.mark_admitted(f, epoch);
        } else {
            rep.release(&srv.spec.machine, fr.fresh_connection, now);
            if counted {
                srv.stats.refused[Status::QueueFull.index()] += 1;
            }
            self.reply(f, Status::QueueFull);
        }
    }

    fn mark_admitted(&mut self, f: u32, epoch: u32) {
        let fr = self.frames.get_mut(f);
        fr.admitted = true;
        fr.epoch = epoch;
        fr.arrived = self.now;
    }

    /// Gives frame `f` a worker and starts its program.
    fn start_frame(&mut self, f: u32) {
        let now = self.now;
        let fr = self.frames.get_mut(f);
        fr.has_worker = true;
        fr.started = now;
        fr.step = 0;
        let fr = *fr;
        let counted = self.requests.get(fr.request).counted;
        let srv = server_of(&mut self.components, fr.component);
        let rep = &mut srv.replicas[fr.replica as usize];
        rep.busy_workers += 1;
        rep.workers.set(now, u64::from(rep.busy_workers));
        if counted {
            srv.stats.queue_wait.record(now - fr.arrived);
        }
        self.run_steps(f);
    }

    /// Runs steps of frame `f` until one has to wait (or the program ends).
    fn run_steps(&mut self, f: u32) {
        let now = self.now;
        loop {
            let fr = *self.frames.get(f);
            let req = *self.requests.get(fr.request);
            let srv = server_of(&mut self.components, fr.component);
            let program = &srv.spec.programs[usize::from(req.class)];
            let program_len = program.len() as u16;
            let Some(&step) = program.get(usize::from(fr.step)) else {
                return self.reply(f, Status::Ok);
            };
            let rep = &mut srv.replicas[fr.replica as usize];
            match step {
                Step::Cpu(d) => {
                    let mut work = d.sample(&mut srv.rng);
                    if rep.slowdown != 1.0 {
                        work = SimTime::from_ns_f64(work.0 as f64 * rep.slowdown);
                    }
                    if rep.busy_cores < srv.spec.machine.cores {
                        rep.busy_cores += 1;
                        rep.cpu.set(now, u64::from(rep.busy_cores));
                        self.schedule(now + work, EventKind::CpuDone, f, 0);
                    } else {
                        rep.core_queue.push_back((f, work));
                        rep.note_queue(now);
                    }
                    return;
                }
                Step::Disk(ios) => {
                    let done = rep.disk(&srv.spec.machine, ios, now);
                    self.schedule(done, EventKind::WaitDone, f, 0);
                    return;
                }
                Step::Call { target, pool } => return self.call(f, target, pool),
                Step::CacheLookup => {
                    let Server {
                        cache, rng, stats, ..
                    } = &mut *srv;
                    let hit = cache.as_mut().is_some_and(|c| c.lookup(req.key, rng));
                    if req.counted {
                        if hit {
                            stats.cache_hits += 1
                        } else {
                            stats.cache_misses += 1
                        }
                    }
                    let next = if hit { program_len } else { fr.step + 1 };
                    self.frames.get_mut(f).step = next;
                }
                Step::CacheFill => {
                    if let Some(c) = srv.cache.as_mut() {
                        c.fill(req.key);
                    }
                    self.frames.get_mut(f).step += 1;
                }
                Step::Replicate => {
                    let Server {
                        spec,
                        replication,
                        replicas,
                        rng,
                        ..
                    } = &mut *srv;
                    if let (Some(rs), Some(st)) = (&spec.replication, replication.as_mut()) {
                        let ack = st.replicate(
                            rs,
                            replicas,
                            fr.replica,
                            req.key,
                            now,
                            req.counted,
                            rng,
                            &self.cut_links,
                        );
                        if ack > now {
                            self.schedule(ack, EventKind::WaitDone, f, 0);
                            return;
                        }
                    }
                    self.frames.get_mut(f).step += 1;
                }
                Step::ReadCheck => {
                    if let (Some(rs), Some(st)) = (&srv.spec.replication, srv.replication.as_mut())
                    {
                        st.read(rs, fr.replica, req.key, now, req.counted);
                    }
                    self.frames.get_mut(f).step += 1;
                }
            }
        }
    }

    /// A CPU step ended: free the core (or hand it to the next waiter) and go on.
    pub(crate) fn cpu_done(&mut self, f: u32) {
        let now = self.now;
        let fr = *self.frames.get(f);
        let srv = server_of(&mut self.components, fr.component);
        let rep = &mut srv.replicas[fr.replica as usize];
        if fr.epoch != rep.epoch {
            return self.reply(f, Status::BackendDown);
        }
        if let Some((next, work)) = rep.core_queue.pop_front() {
            rep.note_queue(now);
            self.schedule(now + work, EventKind::CpuDone, next, 0);
        } else {
            rep.busy_cores -= 1;
            rep.cpu.set(now, u64::from(rep.busy_cores));
        }
        self.frames.get_mut(f).step += 1;
        self.run_steps(f);
    }

    /// A disk step (or a sync write's wait for acknowledgements) ended.
    pub(crate) fn wait_done(&mut self, f: u32) {
        let fr = *self.frames.get(f);
        let srv = server_of(&mut self.components, fr.component);
        if fr.epoch != srv.replicas[fr.replica as usize].epoch {
            return self.reply(f, Status::BackendDown);
        }
        self.frames.get_mut(f).step += 1;
        self.run_steps(f);
    }

    /// A call step: through a pool (take an idle connection, open one, or wait) or direct.
    fn call(&mut self, f: u32, target: u32, pool: Option<u16>) {
        let Some(p) = pool else {
            let is_database = matches!(&self.components[target as usize],
                Component::Server(s) if s.spec.role == Role::Database);
            return self.send_call(f, target, NO_POOL, true, is_database);
        };
        let now = self.now;
        let fr = *self.frames.get(f);
        let counted = self.requests.get(fr.request).counted;
        let srv = server_of(&mut self.components, fr.component);
        let pl = &mut srv.replicas[fr.replica as usize].pools[usize::from(p)];
        if pl.take_idle() {
            if counted {
                srv.stats.pool_wait.record(SimTime::ZERO);
            }
            return self.send_call(f, target, p, false, false);
        }
        if !pl.can_grow() {
            pl.waiters.push_back((f, now));
            return;
        }
        let opened = pl.opened as usize;
        let db = server_of(&mut self.components, target);
        // A pool's connections are spread over the database's machines in turn.
        let member = opened % db.replicas.len();
        match db.replicas[member].open_connection(&db.spec.machine, now) {
            Ok(()) => {
                let srv = server_of(&mut self.components, fr.component);
                srv.replicas[fr.replica as usize].pools[usize::from(p)].grow();
                if counted {
                    srv.stats.pool_wait.record(SimTime::ZERO);
                }
                self.send_call(f, target, p, false, true);
            }
            Err(_) if opened > 0 => {
                let srv = server_of(&mut self.components, fr.component);
                srv.replicas[fr.replica as usize].pools[usize::from(p)]
                    .waiters
                    .push_back((f, now));
            }
            Err(refusal) => {
                let status = refusal_status(refusal);
                if counted {
                    db.stats.refused[status.index()] += 1;
                }
                self.reply(f, status);
            }
        }
    }

    /// Sends a child call from frame `f` to `target`; `connect` adds a connection handshake.
    pub(crate) fn send_call(&mut self, f: u32, target: u32, pool: u16, fresh: bool, connect: bool) {
        let replicated = matches!(&self.components[target as usize],
            Component::Server(t) if t.replication.is_some());
        if !(replicated && self.scatter(f, target, pool, fresh, connect)) {
            self.send_one(f, target, None, pool, fresh, connect);
        }
    }

    /// Sends one child call (to `shard`, for a scatter-gather) from frame `f` to `target`.
    pub(crate) fn send_one(
        &mut self,
        f: u32,
        target: u32,
        shard: Option<u32>,
        pool: u16,
        fresh: bool,
        connect: bool,
    ) {
        let now = self.now;
        let fr = *self.frames.get(f);
        let bytes = self.scenario.workload.classes
            [usize::from(self.requests.get(fr.request).class)]
        .request_bytes;
        let route = match &self.components[target as usize] {
            Component::Server(t) if t.replication.is_some() => {
                let caller = Caller::Machine(fr.component, fr.replica);
                self.database_route(target, fr.request, caller, shard)
            }
            _ => None,
        };
        let spread = match (&self.components[target as usize], route) {
            (Component::Server(t), None) => t.spec.replicas,
            _ => 1,
        };
        let mut at = now;
        let mut replica = match route {
            Some(Target::Replica(r)) => r,
            _ => 0,
        };
        if let Component::Server(s) = &mut self.components[fr.component as usize] {
            at = s.replicas[fr.replica as usize].send(&s.spec.machine, bytes, now);
            if spread > 1 {
                // No balancer in between: the caller spreads its calls at random.
                replica = s.rng.random_range(0..spread);
            }
        }
        let latency = self.link_latency(fr.component, fr.replica, target, replica);
        at += latency;
        if let Component::Server(t) = &self.components[target as usize]
            && connect
            && let Some(d) = t.spec.connect
        {
            // TCP handshake round trip plus the server's connection set-up; a cut link is
            // waited for once.
            let (a, b) = (
                self.machine_region(fr.component, fr.replica),
                self.machine_region(target, replica),
            );
            let base = latency - self.cut_wait(a, b);
            at += base + base + d.sample(&mut self.network_rng);
        }
        let child = Frame {
            request: fr.request,
            parent: f,
            component: target,
            replica,
            pool,
            fresh_connection: fresh,
            ..Frame::default()
        };
        let child = self.frames.insert(child);
        if let Some(Target::NoPrimary(shard)) = route {
            return self.no_primary(child, target, shard, at);
        }
        self.schedule(at, EventKind::FrameArrive, child, 0);
    }

    /// A child call of frame `p` answered: give back its pooled connection and go on.
    pub(crate) fn server_child_returned(&mut self, p: u32, child: &Frame) {
        let now = self.now;
        let fr = *self.frames.get(p);
        let srv = server_of(&mut self.components, fr.component);
        let rep = &mut srv.replicas[fr.replica as usize];
        // After a crash the replica's pools were reset: nothing to give back. A scatter's
        // calls share one pooled connection, given back with the last answer.
        let same_life = fr.epoch == rep.epoch;
        let last = fr.pending_children <= 1;
        if same_life && last && child.pool != NO_POOL {
            let pl = &mut rep.pools[usize::from(child.pool)];
            pl.in_use -= 1;
            if let Some((waiter, since)) = pl.waiters.pop_front() {
                pl.in_use += 1;
                let waiter_request = self.frames.get(waiter).request;
                if self.requests.get(waiter_request).counted {
                    srv.stats.pool_wait.record(now - since);
                }
                let target = srv.spec.pools[usize::from(child.pool)].0;
                self.send_call(waiter, target, child.pool, false, false);
            }
        }
        // A scatter-gather goes on when its last shard has answered; its status is the first
        // failure among them.
        let mut status = child.status;
        if fr.pending_children > 0 {
            let pf = self.frames.get_mut(p);
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
            return self.reply(p, Status::BackendDown);
        }
        if status != Status::Ok {
            return self.reply(p, status);
        }
        self.frames.get_mut(p).step += 1;
        self.run_steps(p);
    }

    /// Frame `f` is done at its server with `status`: free its resources, start the next
    /// queued frame, and send the answer back.
    pub(crate) fn reply(&mut self, f: u32, status: Status) {
        let now = self.now;
        self.frames.get_mut(f).status = status;
        let fr = *self.frames.get(f);
        let req = *self.requests.get(fr.request);
        let bytes = if status == Status::Ok {
            self.scenario.workload.classes[usize::from(req.class)].response_bytes
        } else {
            0
        };
        let srv = server_of(&mut self.components, fr.component);
        let rep = &mut srv.replicas[fr.replica as usize];
        let mut next = None;
        if fr.admitted && fr.epoch == rep.epoch {
            rep.release(&srv.spec.machine, fr.fresh_connection, now);
            if fr.has_worker {
                rep.busy_workers -= 1;
                rep.workers.set(now, u64::from(rep.busy_workers));
                let member = srv.members.get_mut(fr.replica as usize);
                if req.counted {
                    srv.stats.service.record(now - fr.started);
                }
                if status == Status::Ok && self.window.contains(now) {
                    srv.stats.served += 1;
                }
                if let Some(m) = member {
                    if req.counted {
                        let d = now - fr.started;
                        m.service_sum_ns += u128::from(d.0);
                        m.service_count += 1;
                        if let Some(h) = m.service.as_mut() {
                            h.record(d);
                        }
                    }
                    if status == Status::Ok && self.window.contains(now) {
                        m.served += 1;
                    }
                }
                next = rep.wait_queue.pop_front();
                if next.is_some() {
                    rep.note_queue(now);
                }
            }
        }
        let sent = if rep.alive {
            rep.send(&srv.spec.machine, bytes, now)
        } else {
            now
        };
        self.send_back(f, sent);
        if let Some(g) = next {
            self.start_queued(g);
        }
    }

    /// Starts queued frame `g` on the worker a reply freed. A frame that answers at once (a
    /// call its pool refuses) frees the worker for the next queued frame from inside its own
    /// reply; those starts are taken in order by a loop here rather than by recursion, so a
    /// long queue draining at one instant cannot overflow the stack.
    fn start_queued(&mut self, g: u32) {
        if self.starting_queued {
            self.queued_starts.push(g);
            return;
        }
        self.starting_queued = true;
        self.start_frame(g);
        let mut i = 0;
        while let Some(&h) = self.queued_starts.get(i) {
            self.start_frame(h);
            i += 1;
        }
        self.queued_starts.clear();
        self.starting_queued = false;
    }

    /// Schedules frame `f`'s answer to arrive at its caller, leaving its component at `at`.
    /// The caller's NIC receives it when it arrives (see `Simulation::nic_receive`).
    pub(crate) fn send_back(&mut self, f: u32, at: SimTime) {
        let fr = *self.frames.get(f);
        let mut at = at;
        if fr.parent == NO_PARENT {
            at += self.user_latency(fr.request, fr.component, fr.replica);
        } else {
            let parent = *self.frames.get(fr.parent);
            at += self.link_latency(fr.component, fr.replica, parent.component, parent.replica);
        }
        self.schedule(at, EventKind::FrameReturn, f, 0);
    }

    /// Replica `r` of server `c` crashes: queued work fails now, work in progress fails when
    /// its next event finds the epoch changed, and its pooled connections close.
    pub(crate) fn crash_replica(&mut self, c: u32, r: u32) {
        let now = self.now;
        let srv = server_of(&mut self.components, c);
        let machine = srv.spec.machine.clone();
        let targets: Vec<u32> = srv.spec.pools.iter().map(|&(t, _)| t).collect();
        let rep = &mut srv.replicas[r as usize];
        rep.down += 1;
        if rep.down > 1 {
            return;
        }
        rep.alive = false;
        rep.epoch = rep.epoch.wrapping_add(1);
        let mut lost: Vec<u32> = rep.wait_queue.iter().copied().collect();
        lost.extend(rep.core_queue.iter().map(|&(g, _)| g));
        let mut closed = Vec::new();
        for (pool, target) in rep.pools.iter_mut().zip(&targets) {
            lost.extend(pool.waiters.iter().map(|&(g, _)| g));
            closed.push((*target, pool.reset()));
        }
        rep.wipe(&machine, now);
        for (target, n) in closed {
            let db = server_of(&mut self.components, target);
            let members = db.replicas.len();
            for k in 0..n as usize {
                db.replicas[k % members].close_connection(&db.spec.machine, now);
            }
        }
        for g in lost {
            self.reply(g, Status::BackendDown);
        }
        self.database_crashed(c, r);
    }

    /// Replica `r` of server `c` comes back, empty.
    pub(crate) fn recover_replica(&mut self, c: u32, r: u32) {
        let now = self.now;
        let rep = &mut server_of(&mut self.components, c).replicas[r as usize];
        if rep.down == 0 {
            return;
        }
        rep.down -= 1;
        if rep.down > 0 {
            return;
        }
        rep.alive = true;
        rep.nic_tx_free = now;
        rep.nic_rx_free = now;
        rep.disk_free = now;
        self.database_recovered(c, r);
    }
}
