//! The simulation and its event loop.
//!
//! `Simulation` is a context (`context.rs`: clock, queue, requests, frames, network,
//! liveness, metrics), the table of components, and the users (`client::users`). This file
//! builds them, pops events, hands each to whoever it is for (through `component.rs`) and
//! decides when the run is over; it holds no behaviour of any kind of component.

use crate::engine::queue::EventQueue;
use crate::engine::rng::stream_for;
use crate::engine::slab::Slab;
use crate::engine::time::SimTime;
use crate::metrics::histogram::Latency;
use crate::metrics::outcome::{FailReason, Outcome, OutcomeCounts};
use crate::metrics::timeseries::IntervalLoad;
use crate::model::Scenario;
use crate::model::client::breaker::Breaker;
use crate::model::client::users::Client;
use crate::model::client::workload::LoadModel;
use crate::model::component::{Component, Others, split};
use crate::model::compute::host::Host;
use crate::model::compute::steps;
use crate::model::context::{Context, KeptConnection, Liveness, NetState, RunMetrics, Window};
use crate::model::elastic::fleet::Fleet;
use crate::model::event::Event;
use crate::model::ids::ComponentId;
use crate::model::messaging::jobs::Jobs;
use crate::model::messaging::{CARRIER, Op, queue_of};
use crate::model::request::RequestState;

/// Why the loop stopped; in JSON, its name (`completed`, `drain_limit`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// Every request started before the end finished.
    Completed,
    /// Some requests were still unfinished when the drain time after the end ran out.
    DrainLimit,
    /// The scenario's `max_events` was reached.
    MaxEvents,
    /// The simulator's own memory passed the limit it was given (`Simulation::memory_limit`).
    MemoryLimit,
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl StopReason {
    pub fn name(self) -> &'static str {
        match self {
            StopReason::Completed => "completed",
            StopReason::DrainLimit => "drain_limit",
            StopReason::MaxEvents => "max_events",
            StopReason::MemoryLimit => "memory_limit",
        }
    }
}

/// Progress reported to an observer (the CLI's progress bar) while running.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub now: SimTime,
    pub end: SimTime,
    pub events: u64,
}

/// Everything a run changes.
pub struct Simulation {
    pub ctx: Context,
    /// In id order (`ComponentId`).
    pub components: Vec<Component>,
    pub client: Client,
    /// Scheduled batch jobs.
    pub jobs: Jobs,
    /// Services whose replica count changes during the run.
    pub fleets: Vec<Fleet>,
    pub events: u64,
    pub drain_deadline: SimTime,
    pub stop: Option<StopReason>,
    /// Stop with `MemoryLimit` once `heap_bytes` passes this (checked every 65,536 events).
    pub memory_limit: Option<u64>,
    /// Heap that does not grow during the run (histograms, cache key tables).
    fixed_heap_bytes: u64,
}

/// Puts every server machine on a host: the scenario's shared hosts first (in name order),
/// then a host of its own for every other machine. A host whose processes have no more
/// workers in all than it has cores runs each step to completion: no step ever waits for a
/// core, so that is the same as sharing them, with an event per step and no bookkeeping.
fn place_on_hosts(scenario: &Scenario, components: &mut [Component]) -> Vec<Host> {
    let shared = scenario
        .components
        .iter()
        .filter_map(|c| c.host)
        .max()
        .map_or(0, |h| usize::from(h) + 1);
    let mut hosts: Vec<Option<Host>> = (0..shared).map(|_| None).collect();
    let mut workers = vec![0u32; shared];
    for (i, c) in components.iter_mut().enumerate() {
        let spec = &scenario.components[i];
        let Some((machine, machines)) = c.server_machines() else {
            continue;
        };
        let per_machine = spec.kind.fleet().map_or(0, |f| f.workers);
        for (r, m) in machines.iter_mut().enumerate() {
            let k = spec.host.map_or_else(
                || {
                    hosts.push(None);
                    workers.push(0);
                    hosts.len() - 1
                },
                usize::from,
            );
            let host = hosts[k].get_or_insert_with(|| Host::new(machine.clone()));
            m.host = k as u32;
            m.slot = host.add_process(ComponentId::from_index(i), r as u32);
            workers[k] = workers[k].saturating_add(per_machine);
        }
    }
    hosts
        .into_iter()
        .zip(workers)
        .map(|(h, w)| {
            let mut h = h.expect("validation puts a component on every host");
            h.time_sliced &= w > h.spec.cores;
            h
        })
        .collect()
}

impl Simulation {
    /// Builds the initial state: components, streams, and the first events.
    pub fn new(scenario: Scenario) -> Simulation {
        let seed = scenario.seed;
        let components: Vec<Component> = scenario
            .components
            .iter()
            .map(|c| c.instantiate(seed))
            .collect();
        let classes = scenario.workload.classes.len();
        let window = Window {
            start: scenario.warmup.fixed(),
            end: scenario.duration,
        };
        let client_rng = stream_for(seed, "workload");
        let keep_alive_users = match (&scenario.workload.model, scenario.workload.keep_alive) {
            (LoadModel::Closed { users, .. }, Some(_)) => *users as usize,
            _ => 0,
        };
        // A kept-alive connection per user and entry its classes use.
        let (kept_slot, kept_slots) = scenario.workload.entry_slots();
        let net = NetState {
            rng: stream_for(seed, "network"),
            extra_latency: Vec::new(),
            cut_links: Vec::new(),
            plain: scenario.network.regions.is_none()
                && !scenario
                    .faults
                    .iter()
                    .any(|f| matches!(f.kind, crate::model::FaultKind::LatencySpike { .. })),
        };
        let breakers = if scenario
            .workload
            .classes
            .iter()
            .any(|c| c.breaker.is_some())
        {
            scenario
                .workload
                .classes
                .iter()
                .map(|c| c.breaker.clone().map(Breaker::new))
                .collect()
        } else {
            Vec::new()
        };
        let metrics = RunMetrics {
            class_latency: (0..classes).map(|_| Latency::new()).collect(),
            class_outcomes: vec![OutcomeCounts::default(); classes],
            region_outcomes: vec![
                OutcomeCounts::default();
                scenario.network.regions.as_ref().map_or(0, |r| r.count())
            ],
            class_completed_in_window: vec![0; classes],
            good_within: scenario.goodput_within(),
            ..RunMetrics::default()
        };
        let mut components = components;
        let hosts = place_on_hosts(&scenario, &mut components);
        let first_host = components
            .iter_mut()
            .map(|c| match c.server_machines() {
                Some((_, machines)) => machines.first().map_or(u32::MAX, |m| m.host),
                None => u32::MAX,
            })
            .collect();
        let shared_hosts = hosts.iter().any(|h| h.processes.len() > 1);
        // Every queue's pollers get global ids, in component order, and their homes.
        let mut carrier_homes = Vec::new();
        for (i, c) in components.iter_mut().enumerate() {
            if let Some(q) = c.as_queue() {
                q.me = ComponentId::from_index(i);
                q.first_poller = carrier_homes.len() as u32;
                carrier_homes.extend(q.pollers.iter().map(|p| (p.consumer, p.machine)));
                if q.rules.dead_letter_queue.is_some() {
                    // Its moves to the dead-letter queue answer to it (`redrive_home`).
                    carrier_homes.push((q.me, 0));
                }
            }
            if let Some(t) = c.as_topic() {
                t.me = ComponentId::from_index(i);
                t.first_home = carrier_homes.len() as u32;
                carrier_homes.extend(t.subscriptions.iter().map(|_| (t.me, 0)));
            }
        }
        let jobs = Jobs::new(&scenario.jobs, carrier_homes.len() as u32);
        carrier_homes.extend(scenario.jobs.iter().map(|j| (j.service, 0)));
        let live = Liveness::new(components.iter().map(Component::liveness_slots));
        let mut sim = Simulation {
            ctx: Context {
                now: SimTime::ZERO,
                queue: EventQueue::new(),
                requests: Slab::new(),
                frames: Slab::new(),
                net,
                hosts,
                first_host,
                shared_hosts,
                carrier_messages: vec![1; carrier_homes.len()],
                carrier_homes,
                live,
                metrics,
                window,
                accepting: true,
                outstanding: 0,
                jobs_running: 0,
                kept: vec![KeptConnection::default(); keep_alive_users * kept_slots as usize],
                kept_slots,
                kept_slot,
                scenario,
            },
            components,
            client: Client::new(client_rng, breakers),
            jobs,
            fleets: Vec::new(),
            events: 0,
            drain_deadline: SimTime::MAX,
            stop: None,
            memory_limit: None,
            fixed_heap_bytes: 0,
        };
        let estimate = sim.ctx.scenario.memory_estimate();
        let idle_users = estimate.all_users_waiting * EventQueue::<Event>::ENTRY_BYTES as u64;
        sim.fixed_heap_bytes = estimate.base_bytes.saturating_sub(idle_users);
        sim.fleets = crate::model::elastic::fleet::build(&sim.ctx.scenario, &sim.components);
        sim.start_fleets();
        sim.schedule_initial_events();
        sim
    }

    fn schedule_initial_events(&mut self) {
        let ctx = &mut self.ctx;
        match ctx.scenario.workload.model.clone() {
            LoadModel::Closed { users, think } => {
                for user in 0..users {
                    let first = think.sample(&mut self.client.rng);
                    ctx.schedule(first, Event::UserWake { user: user as u32 });
                }
            }
            LoadModel::Open { .. } => ctx.schedule(SimTime::ZERO, Event::OpenArrival),
        }
        for (i, c) in self.components.iter().enumerate() {
            if let Some(interval) = c.health_check_interval() {
                let component = ComponentId::from_index(i);
                ctx.schedule(interval, Event::HealthCheck { component });
            }
        }
        for (i, fault) in ctx.scenario.faults.iter().enumerate() {
            ctx.queue
                .push(fault.at, Event::FaultStart { fault: i as u32 });
        }
        for (i, c) in ctx.scenario.components.iter().enumerate() {
            let Some(rs) = c.kind.fleet().and_then(|f| f.replication) else {
                continue;
            };
            for (k, r) in rs.reshards.iter().enumerate() {
                let db = ComponentId::from_index(i);
                let reshard = k as u32;
                ctx.queue.push(r.at, Event::ReshardStart { db, reshard });
            }
        }
        for c in &mut self.components {
            if let Some(q) = c.as_queue() {
                q.start_pollers(ctx);
            }
        }
        self.jobs.schedule(ctx);
        ctx.schedule(ctx.window.start, Event::WindowStart);
        ctx.schedule(ctx.window.end, Event::WindowEnd);
        let first_tick = ctx.scenario.interval.min(ctx.window.end);
        ctx.schedule(first_tick, Event::SampleTick);
    }

    /// Bytes of heap the run holds now: the parts that grow with load (pending events,
    /// requests, call frames, waiting lines), measured, plus the fixed parts, estimated.
    pub fn heap_bytes(&self) -> u64 {
        self.fixed_heap_bytes
            + self.ctx.queue.heap_bytes()
            + self.ctx.requests.heap_bytes()
            + self.ctx.frames.heap_bytes()
            + self.ctx.hosts.iter().map(Host::heap_bytes).sum::<usize>() as u64
            + self
                .components
                .iter()
                .map(Component::queue_heap_bytes)
                .sum::<u64>()
    }

    /// Runs to the end, calling `observer` every 65,536 events.
    pub fn run(&mut self, observer: &mut dyn FnMut(Progress)) -> StopReason {
        let max_events = self.ctx.scenario.max_events;
        while let Some((t, ev)) = self.ctx.queue.pop() {
            if t > self.drain_deadline {
                self.ctx.now = self.drain_deadline;
                self.stop = Some(StopReason::DrainLimit);
                break;
            }
            self.ctx.now = t;
            self.events += 1;
            self.dispatch(ev);
            if !self.ctx.accepting && self.ctx.outstanding == 0 {
                self.stop = Some(StopReason::Completed);
                break;
            }
            if self.events >= max_events {
                self.stop = Some(StopReason::MaxEvents);
                break;
            }
            if self.events & 0xFFFF == 0 {
                if self
                    .memory_limit
                    .is_some_and(|limit| self.heap_bytes() > limit)
                {
                    self.stop = Some(StopReason::MemoryLimit);
                    break;
                }
                observer(Progress {
                    now: self.ctx.now,
                    end: self.ctx.window.end,
                    events: self.events,
                });
            }
        }
        if self.ctx.accepting {
            // Stopped early (max_events, memory_limit): the window is cut short, so every
            // figure describes the time actually simulated. Stopped even before the warm-up
            // ended: the window is empty and every figure is zero.
            if self.ctx.now < self.ctx.window.start {
                self.ctx.window.start = self.ctx.now;
                self.start_window();
            }
            self.ctx.window.end = self.ctx.now;
            self.end_window();
        }
        self.fail_unfinished();
        self.close_drain_row();
        for c in &mut self.components {
            c.record_peaks(&self.ctx.hosts);
        }
        observer(Progress {
            now: self.ctx.now,
            end: self.ctx.window.end,
            events: self.events,
        });
        *self.stop.get_or_insert(StopReason::Completed)
    }

    /// Hands event `ev` to whoever it is for.
    #[inline]
    fn dispatch(&mut self, ev: Event) {
        let ctx = &mut self.ctx;
        let comps = &mut self.components;
        match ev {
            Event::UserWake { user } => self.client.user_wake(ctx, &mut Others::all(comps), user),
            Event::OpenArrival => self.client.open_arrival(ctx, &mut Others::all(comps)),
            Event::RetryStart { request } => {
                self.client
                    .start_attempt(ctx, &mut Others::all(comps), request)
            }
            Event::ClientTimeout => self.client.timeouts_due(ctx),
            Event::FrameArrive { frame } => {
                let (me, mut others) = split(comps, ctx.frames.get(frame).component);
                me.arrive(ctx, &mut others, frame);
            }
            Event::CpuDone { frame } => {
                let (me, mut others) = split(comps, ctx.frames.get(frame).component);
                me.cpu_done(ctx, &mut others, frame);
            }
            Event::SliceDone { host } => {
                let Some(f) = steps::slice_done(ctx, host) else {
                    return;
                };
                match ctx.hosts[host as usize].background_owner(f) {
                    Some((c, r)) => comps[c.index()].background_sliced(ctx, r),
                    None => {
                        let (me, mut others) = split(comps, ctx.frames.get(f).component);
                        me.slice_finished(ctx, &mut others, f);
                    }
                }
            }
            Event::WaitDone { frame } => {
                let (me, mut others) = split(comps, ctx.frames.get(frame).component);
                me.wait_done(ctx, &mut others, frame);
            }
            Event::FrameReturn { frame } => {
                let child = *ctx.frames.get(frame);
                match child.parent {
                    None if child.answer_received
                        && ctx.requests.get(child.request).user == CARRIER =>
                    {
                        let req = ctx.requests.get(child.request);
                        if Op::of(req) == Some(Op::Task) {
                            self.jobs.task_returned(ctx, frame);
                        } else {
                            let (queue, _) = queue_of(req);
                            comps[queue.index()].op_returned(ctx, frame);
                        }
                    }
                    None => {
                        ctx.frames.remove(frame);
                        self.client.receive(ctx, child.request, child.status);
                    }
                    Some(p) => {
                        let (me, mut others) = split(comps, ctx.frames.get(p).component);
                        me.answer_returned(ctx, &mut others, frame);
                    }
                }
            }
            Event::HealthCheck { component } => {
                let (me, others) = split(comps, component);
                me.health_check(component, ctx, &others);
            }
            Event::FaultStart { fault } => self.fault(fault, true),
            Event::FaultEnd { fault } => self.fault(fault, false),
            Event::ReplicaApply {
                db,
                machine,
                epoch,
                class,
            } => comps[db.index()].replica_apply(ctx, machine, epoch, class),
            Event::Restart {
                component,
                machine,
                epoch,
            } => comps[component.index()].restart(component, ctx, machine, epoch),
            Event::IdleClose {
                component,
                machine,
                epoch,
            } => comps[component.index()].close_idle(ctx, machine, epoch),
            Event::BackgroundDone {
                component,
                machine,
                epoch,
            } => comps[component.index()].background_done(ctx, machine, epoch),
            Event::FailureDetected { db, machine } => {
                comps[db.index()].failure_detected(db, ctx, machine)
            }
            Event::Promote { db, shard } => comps[db.index()].promote(db, ctx, shard),
            Event::ReshardStart { db, reshard } => {
                comps[db.index()].reshard(db, ctx, reshard, true)
            }
            Event::ReshardDone { db, reshard } => {
                comps[db.index()].reshard(db, ctx, reshard, false)
            }
            Event::Poller { queue, poller, seq } => {
                comps[usize::from(queue)].poller_due(ctx, poller, seq)
            }
            Event::Visibility {
                queue,
                slot,
                receipt,
            } => comps[usize::from(queue)].visibility_ends(ctx, slot, receipt),
            Event::Redeliver {
                topic,
                epoch,
                request,
            } => comps[usize::from(topic)].redeliver(ctx, request, epoch),
            Event::JobStart { job } => self.jobs.start(ctx, job),
            Event::ScaleScheduled { fleet, entry } => self.scale_scheduled(fleet, entry),
            Event::Autoscale { fleet } => self.autoscale(fleet),
            Event::DeployStart { fleet, deploy } => self.deploy_start(fleet, deploy),
            Event::DeployPoll { fleet } => self.deploy_poll(fleet),
            Event::FleetReady {
                fleet,
                turn,
                machine,
            } => self.fleet_ready(fleet, turn, machine),
            Event::FleetDrain {
                fleet,
                turn,
                machine,
            } => self.fleet_drain(fleet, turn, machine),
            Event::SampleTick => self.sample_tick(),
            Event::WindowStart => self.start_window(),
            Event::WindowEnd => self.end_window(),
        }
    }

    fn start_window(&mut self) {
        let now = self.ctx.now;
        self.ctx.metrics.in_system_area_at_start = self.ctx.metrics.in_system.area_at(now);
        for c in &mut self.components {
            c.snapshot_window_start(&mut self.ctx.hosts, now);
        }
        for f in &mut self.fleets {
            f.snapshot_window_start(now);
        }
    }

    fn end_window(&mut self) {
        let ctx = &mut self.ctx;
        if !ctx.accepting {
            return;
        }
        let now = ctx.now;
        ctx.accepting = false;
        ctx.metrics.in_system_area_at_end = ctx.metrics.in_system.area_at(now);
        for c in &mut self.components {
            c.snapshot_window_end(&mut ctx.hosts, now);
        }
        let span = now - ctx.window.start;
        for f in &mut self.fleets {
            f.snapshot_window_end(now, span);
        }
        if ctx
            .metrics
            .timeseries
            .rows
            .last()
            .is_none_or(|r| r.end < now)
        {
            let load = self.interval_load();
            self.ctx.metrics.timeseries.close(now, load);
        }
        let w = &self.ctx.scenario.workload;
        self.drain_deadline = now + w.retry.worst_case(w.timeout) + SimTime::from_secs(1.0);
    }

    fn sample_tick(&mut self) {
        if !self.ctx.accepting {
            return;
        }
        let now = self.ctx.now;
        let load = self.interval_load();
        self.ctx.metrics.timeseries.close(now, load);
        let next = (now + self.ctx.scenario.interval).min(self.ctx.window.end);
        if next > now && next < self.ctx.window.end {
            self.ctx.schedule(next, Event::SampleTick);
        }
    }

    /// Closes one last time-series row for the drain after the window, so that every
    /// request's end appears in some row.
    fn close_drain_row(&mut self) {
        let ts = &self.ctx.metrics.timeseries;
        let closed_until = ts.rows.last().map(|r| r.end);
        // Also a zero-length row when requests ended at the closing instant (the failures
        // of a run stopped by max_events, concluded right after its window closed).
        if closed_until.is_some_and(|end| self.ctx.now > end || ts.has_pending()) {
            let load = self.interval_load();
            let now = self.ctx.now;
            self.ctx.metrics.timeseries.close(now, load);
        }
    }

    fn interval_load(&mut self) -> Vec<IntervalLoad> {
        let now = self.ctx.now;
        let hosts = &mut self.ctx.hosts;
        let mut load: Vec<IntervalLoad> = self
            .components
            .iter_mut()
            .map(|c| c.interval_load(hosts, now))
            .collect();
        for f in &mut self.fleets {
            load[f.spec.component.index()].replicas = Some(f.interval_replicas(now));
        }
        load
    }

    /// Concludes every logical request still open when the run stops.
    fn fail_unfinished(&mut self) {
        let ids: Vec<_> = self.ctx.requests.ids().collect();
        for r in ids {
            let state = self.ctx.requests.get(r).state;
            if matches!(state, RequestState::InFlight | RequestState::Backoff) {
                let req = *self.ctx.requests.get(r);
                self.ctx.requests.get_mut(r).state = RequestState::Abandoned;
                self.client.conclude(
                    &mut self.ctx,
                    &req,
                    Outcome::Failed(FailReason::SimulationEnded),
                );
            }
        }
    }
}
