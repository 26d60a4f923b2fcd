//! The simulation state and its event loop.
//!
//! `Simulation` owns everything a run changes: the clock, the event queue, the components
//! (a closed enum), the requests and call frames (slabs), the random streams and the metrics.
//! Behaviour lives in `model/`, as `impl Simulation` blocks per component kind; this file only
//! builds the state, pops events, dispatches them and decides when the run is over.

use crate::engine::event::{Event, EventKind};
use crate::engine::queue::EventQueue;
use crate::engine::rng::{Stream, stream_for};
use crate::engine::slab::Slab;
use crate::engine::time::SimTime;
use crate::metrics::histogram::Latency;
use crate::metrics::outcome::{FailReason, Outcome, OutcomeCounts, Status};
use crate::metrics::time_weighted::TimeWeighted;
use crate::metrics::timeseries::TimeSeries;
use crate::model::Scenario;
use crate::model::breaker::Breaker;
use crate::model::dns::Dns;
use crate::model::load_balancer::Balancer;
use crate::model::server::Server;
use crate::model::timeouts::TimeoutList;
use crate::model::workload::LoadModel;

/// Marks "no parent": the frame was sent by a client.
pub const NO_PARENT: u32 = u32::MAX;
/// Marks "no pool": the call opened its own connection.
pub const NO_POOL: u16 = u16::MAX;

/// Where a logical request's current attempt stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RequestState {
    #[default]
    Free,
    /// Waiting out a retry backoff.
    Backoff,
    /// Sent, waiting for its answer or its timeout.
    InFlight,
    /// Given up by the client (timed out); the slot lives until the orphaned work returns.
    Abandoned,
}

/// One attempt of a logical request. A retry gets a new slot; the old one may still have work
/// in flight (an orphan) that will be discarded when it returns.
#[derive(Debug, Clone, Copy, Default)]
pub struct Request {
    pub user: u32,
    pub class: u16,
    pub attempt: u16,
    pub key: u64,
    /// When the user sent the first attempt: latency is measured from here.
    pub first_start: SimTime,
    /// When the client gives up on this attempt.
    pub deadline: SimTime,
    /// Links in the list of attempts waiting for their deadline (`model::timeouts`).
    pub timer_prev: u32,
    pub timer_next: u32,
    pub state: RequestState,
    /// Started inside the measurement window.
    pub counted: bool,
}

/// One call being served by one component on behalf of a request.
#[derive(Debug, Clone, Copy)]
pub struct Frame {
    pub request: u32,
    pub parent: u32,
    pub component: u32,
    pub replica: u32,
    /// The replica's epoch at admission; a crash bumps the replica's epoch.
    pub epoch: u32,
    /// Next handler step.
    pub step: u16,
    /// Pool of the caller's replica this call's connection came from, or `NO_POOL`.
    pub pool: u16,
    /// A scatter-gather call: child calls still out (0 or 1 for an ordinary call).
    pub pending_children: u16,
    /// Load balancer: which backend this child frame went to.
    pub backend: u32,
    pub status: Status,
    /// The call opened a connection of its own at the callee (counts against its cap).
    pub fresh_connection: bool,
    /// The call has passed the callee's receiving NIC.
    pub received: bool,
    /// The answer has passed the caller's receiving NIC.
    pub answer_received: bool,
    pub admitted: bool,
    pub has_worker: bool,
    pub arrived: SimTime,
    pub started: SimTime,
}

impl Default for Frame {
    fn default() -> Self {
        Frame {
            request: 0,
            parent: NO_PARENT,
            component: 0,
            replica: 0,
            epoch: 0,
            step: 0,
            pool: NO_POOL,
            pending_children: 0,
            backend: 0,
            status: Status::Ok,
            fresh_connection: true,
            received: false,
            answer_received: false,
            admitted: false,
            has_worker: false,
            arrived: SimTime::ZERO,
            started: SimTime::ZERO,
        }
    }
}

/// A component's live state.
#[derive(Debug)]
pub enum Component {
    Server(Box<Server>),
    Balancer(Box<Balancer>),
    Dns(Box<Dns>),
}

/// Why the loop stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// Run-wide measurements.
#[derive(Debug, Default)]
pub struct RunMetrics {
    pub latency: Latency,
    pub class_latency: Vec<Latency>,
    pub outcomes: OutcomeCounts,
    pub class_outcomes: Vec<OutcomeCounts>,
    /// Per user region (empty without regions).
    pub region_outcomes: Vec<OutcomeCounts>,
    /// Logical requests completed during the window, whenever they started (throughput).
    pub completed_in_window: u64,
    /// Of those, the ones that took at most `Scenario::goodput_within` (goodput).
    pub good_in_window: u64,
    /// `Scenario::goodput_within`, read once.
    pub good_within: SimTime,
    pub class_completed_in_window: Vec<u64>,
    /// Attempts after the first, of counted requests.
    pub retries: u64,
    /// Logical requests in the system (for Little's law).
    pub in_system: TimeWeighted,
    pub in_system_area_at_start: u128,
    pub in_system_area_at_end: u128,
    /// Σ (end − first start) over counted requests, any outcome.
    pub sojourn_sum_ns: u128,
    pub timeseries: TimeSeries,
}

/// Start and end of the measurement window.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub start: SimTime,
    pub end: SimTime,
}

impl Window {
    #[inline]
    pub fn contains(&self, t: SimTime) -> bool {
        t >= self.start && t < self.end
    }

    pub fn span(&self) -> SimTime {
        self.end - self.start
    }
}

/// Everything a run changes.
pub struct Simulation {
    pub scenario: Scenario,
    pub now: SimTime,
    pub queue: EventQueue,
    pub components: Vec<Component>,
    pub requests: Slab<Request>,
    pub frames: Slab<Frame>,
    pub client_rng: Stream,
    pub network_rng: Stream,
    pub metrics: RunMetrics,
    pub window: Window,
    /// False once the run's duration is over: no new requests start.
    pub accepting: bool,
    /// Logical requests not yet concluded.
    pub outstanding: u64,
    pub timeouts: TimeoutList,
    pub next_open_user: u32,
    pub events: u64,
    pub drain_deadline: SimTime,
    pub stop: Option<StopReason>,
    /// Stop with `MemoryLimit` once `heap_bytes` passes this (checked every 65,536 events).
    pub memory_limit: Option<u64>,
    /// Heap that does not grow during the run (histograms, cache key tables).
    fixed_heap_bytes: u64,
    /// Extra one-way latency per link from latency-spike faults: `from * n + to`, and the
    /// users' link last. Empty until the first spike.
    pub extra_latency: Vec<SimTime>,
    /// Region pairs whose link is cut (a partition fault), with the time it heals.
    pub cut_links: Vec<(u16, u16, SimTime)>,
    /// Per request class: its circuit breaker, if it has one (empty if no class has one).
    pub breakers: Vec<Option<Breaker>>,
    /// No regions and no latency spike: messages take their link's latency only.
    pub plain_network: bool,
    /// Queued frames to start, in order, while one is being started (`start_queued`).
    pub(crate) queued_starts: Vec<u32>,
    /// Whether `start_queued` is running (nested starts join its list instead of recursing).
    pub(crate) starting_queued: bool,
}

impl Simulation {
    /// Builds the initial state: components, streams, and the first events.
    pub fn new(scenario: Scenario) -> Simulation {
        let seed = scenario.seed;
        let components = scenario
            .components
            .iter()
            .map(|c| c.instantiate(seed))
            .collect();
        let classes = scenario.workload.classes.len();
        let window = Window {
            start: scenario.warmup.fixed(),
            end: scenario.duration,
        };
        let mut sim = Simulation {
            now: SimTime::ZERO,
            queue: EventQueue::new(),
            components,
            requests: Slab::new(),
            frames: Slab::new(),
            client_rng: stream_for(seed, "workload"),
            network_rng: stream_for(seed, "network"),
            metrics: RunMetrics {
                class_latency: (0..classes).map(|_| Latency::new()).collect(),
                class_outcomes: vec![OutcomeCounts::default(); classes],
                region_outcomes: vec![
                    OutcomeCounts::default();
                    scenario.network.regions.as_ref().map_or(0, |r| r.count())
                ],
                class_completed_in_window: vec![0; classes],
                good_within: scenario.goodput_within(),
                ..RunMetrics::default()
            },
            window,
            accepting: true,
            outstanding: 0,
            timeouts: TimeoutList::default(),
            next_open_user: 0,
            events: 0,
            drain_deadline: SimTime::MAX,
            stop: None,
            memory_limit: None,
            fixed_heap_bytes: 0,
            extra_latency: Vec::new(),
            cut_links: Vec::new(),
            queued_starts: Vec::new(),
            starting_queued: false,
            plain_network: scenario.network.regions.is_none()
                && !scenario
                    .faults
                    .iter()
                    .any(|f| matches!(f.kind, crate::model::FaultKind::LatencySpike { .. })),
            breakers: if scenario
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
            },
            scenario,
        };
        let estimate = sim.scenario.memory_estimate();
        let idle_users = estimate.all_users_waiting * crate::engine::queue::ENTRY_BYTES as u64;
        sim.fixed_heap_bytes = estimate.base_bytes.saturating_sub(idle_users);
        sim.schedule_initial_events();
        sim
    }

    fn schedule_initial_events(&mut self) {
        match self.scenario.workload.model.clone() {
            LoadModel::Closed { users, think } => {
                for user in 0..users {
                    let first = think.sample(&mut self.client_rng);
                    self.queue
                        .push(first, Event::new(EventKind::UserWake, user as u32, 0));
                }
            }
            LoadModel::Open { .. } => self
                .queue
                .push(SimTime::ZERO, Event::new(EventKind::OpenArrival, 0, 0)),
        }
        for (i, c) in self.components.iter().enumerate() {
            let interval = match c {
                Component::Balancer(lb) => lb.spec.health_check.as_ref().map(|h| h.interval),
                Component::Dns(d) => Some(d.spec.health_check.interval),
                Component::Server(_) => None,
            };
            if let Some(interval) = interval {
                self.queue
                    .push(interval, Event::new(EventKind::HealthCheck, i as u32, 0));
            }
        }
        for (i, fault) in self.scenario.faults.iter().enumerate() {
            self.queue
                .push(fault.at, Event::new(EventKind::Fault, i as u32, 0));
        }
        for (i, c) in self.scenario.components.iter().enumerate() {
            if let crate::model::ComponentKind::Server(s) = &c.kind
                && let Some(rs) = &s.replication
            {
                for (k, r) in rs.reshards.iter().enumerate() {
                    let b = (k as u32) << 1;
                    self.queue
                        .push(r.at, Event::new(EventKind::Reshard, i as u32, b));
                }
            }
        }
        self.queue
            .push(self.window.start, Event::new(EventKind::WindowStart, 0, 0));
        self.queue
            .push(self.window.end, Event::new(EventKind::WindowEnd, 0, 0));
        let first_tick = self.scenario.interval.min(self.window.end);
        self.queue
            .push(first_tick, Event::new(EventKind::SampleTick, 0, 0));
    }

    /// Schedules `kind(a, b)` at absolute time `at`.
    #[inline]
    pub fn schedule(&mut self, at: SimTime, kind: EventKind, a: u32, b: u32) {
        self.queue.push(at, Event::new(kind, a, b));
    }

    /// Bytes of heap the run holds now: the parts that grow with load (pending events,
    /// requests, call frames, waiting lines), measured, plus the fixed parts, estimated.
    pub fn heap_bytes(&self) -> u64 {
        self.fixed_heap_bytes
            + self.queue.heap_bytes()
            + self.requests.heap_bytes()
            + self.frames.heap_bytes()
            + self
                .components
                .iter()
                .map(Component::queue_heap_bytes)
                .sum::<u64>()
    }

    /// Runs to the end, calling `observer` every 65,536 events.
    pub fn run(&mut self, observer: &mut dyn FnMut(Progress)) -> StopReason {
        let max_events = self.scenario.max_events;
        while let Some((t, ev)) = self.queue.pop() {
            if t > self.drain_deadline {
                self.now = self.drain_deadline;
                self.stop = Some(StopReason::DrainLimit);
                break;
            }
            self.now = t;
            self.events += 1;
            self.dispatch(ev);
            if !self.accepting && self.outstanding == 0 {
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
                    now: self.now,
                    end: self.window.end,
                    events: self.events,
                });
            }
        }
        if self.accepting {
            // Stopped early (max_events, memory_limit): the window is cut short, so every figure describes
            // the time actually simulated. Stopped even before the warm-up ended: the window
            // is empty and every figure is zero.
            if self.now < self.window.start {
                self.window.start = self.now;
                self.start_window();
            }
            self.window.end = self.now;
            self.end_window();
        }
        self.fail_unfinished();
        self.close_drain_row();
        observer(Progress {
            now: self.now,
            end: self.window.end,
            events: self.events,
        });
        *self.stop.get_or_insert(StopReason::Completed)
    }

    #[inline]
    fn dispatch(&mut self, ev: Event) {
        match ev.kind {
            EventKind::UserWake => self.user_wake(ev.a),
            EventKind::OpenArrival => self.open_arrival(),
            EventKind::RetryStart => self.start_attempt(ev.a),
            EventKind::ClientTimeout => self.timeouts_due(),
            EventKind::FrameArrive => self.frame_arrive(ev.a),
            EventKind::CpuDone => self.cpu_done(ev.a),
            EventKind::WaitDone => self.wait_done(ev.a),
            EventKind::FrameReturn => self.frame_return(ev.a),
            EventKind::HealthCheck => match self.components[ev.a as usize] {
                Component::Dns(_) => self.dns_health_check(ev.a),
                _ => self.health_check(ev.a),
            },
            EventKind::Fault => self.fault(ev.a, ev.b),
            EventKind::Failover => self.failover(ev.a, ev.b),
            EventKind::Reshard => self.reshard(ev.a, ev.b),
            EventKind::SampleTick => self.sample_tick(),
            EventKind::WindowStart => self.start_window(),
            EventKind::WindowEnd => self.end_window(),
        }
    }

    fn frame_arrive(&mut self, f: u32) {
        let fr = *self.frames.get(f);
        if !fr.received {
            let bytes = self.class_of(fr.request).request_bytes;
            if self.nic_receive(f, fr.component, fr.replica, bytes) {
                return;
            }
        }
        match &self.components[fr.component as usize] {
            Component::Server(_) => self.server_arrive(f),
            Component::Balancer(_) => self.balancer_arrive(f),
            Component::Dns(_) => unreachable!("DNS is resolved at the client, never called"),
        }
    }

    /// Messages are received in arrival order: the receiving NIC is a FIFO server, so a
    /// message that finds it busy (or needs wire time) finishes arriving later. Returns true
    /// if the frame's event was put off until then.
    fn nic_receive(&mut self, f: u32, component: u32, replica: u32, bytes: u64) -> bool {
        let now = self.now;
        self.frames.get_mut(f).received = true;
        let Component::Server(s) = &mut self.components[component as usize] else {
            return false;
        };
        let rep = &mut s.replicas[replica as usize];
        if !rep.alive {
            return false;
        }
        let done = rep.receive(&s.spec.machine, bytes, now);
        if done > now {
            self.schedule(done, EventKind::FrameArrive, f, 0);
            return true;
        }
        false
    }

    /// The class of request `slot`.
    #[inline]
    pub fn class_of(&self, slot: u32) -> &crate::model::workload::Class {
        &self.scenario.workload.classes[usize::from(self.requests.get(slot).class)]
    }

    /// A frame's answer reached its caller: free the frame and resume the caller.
    fn frame_return(&mut self, f: u32) {
        let child = *self.frames.get(f);
        if child.parent != NO_PARENT && !child.answer_received {
            // The answer still has to pass the caller's NIC.
            let parent = *self.frames.get(child.parent);
            let bytes = if child.status == Status::Ok {
                self.class_of(child.request).response_bytes
            } else {
                0
            };
            self.frames.get_mut(f).answer_received = true;
            if let Component::Server(s) = &mut self.components[parent.component as usize] {
                let rep = &mut s.replicas[parent.replica as usize];
                let done = if rep.alive {
                    rep.receive(&s.spec.machine, bytes, self.now)
                } else {
                    self.now
                };
                if done > self.now {
                    self.schedule(done, EventKind::FrameReturn, f, 0);
                    return;
                }
            }
        }
        self.frames.remove(f);
        if child.parent == NO_PARENT {
            self.client_receive(child.request, child.status);
            return;
        }
        let c = self.frames.get(child.parent).component as usize;
        match &self.components[c] {
            Component::Server(_) => self.server_child_returned(child.parent, &child),
            Component::Balancer(_) => self.balancer_child_returned(child.parent, &child),
            Component::Dns(_) => unreachable!("DNS is resolved at the client, never a caller"),
        }
    }

    fn start_window(&mut self) {
        let now = self.now;
        self.metrics.in_system_area_at_start = self.metrics.in_system.area_at(now);
        for c in &mut self.components {
            c.snapshot_window_start(now);
        }
    }

    fn end_window(&mut self) {
        if !self.accepting {
            return;
        }
        let now = self.now;
        self.accepting = false;
        self.metrics.in_system_area_at_end = self.metrics.in_system.area_at(now);
        for c in &mut self.components {
            c.snapshot_window_end(now);
        }
        if self
            .metrics
            .timeseries
            .rows
            .last()
            .is_none_or(|r| r.end < now)
        {
            let load = self.interval_load();
            self.metrics.timeseries.close(now, load);
        }
        let w = &self.scenario.workload;
        self.drain_deadline = now + w.retry.worst_case(w.timeout) + SimTime::from_secs(1.0);
    }

    fn sample_tick(&mut self) {
        if !self.accepting {
            return;
        }
        let load = self.interval_load();
        self.metrics.timeseries.close(self.now, load);
        let next = (self.now + self.scenario.interval).min(self.window.end);
        if next > self.now && next < self.window.end {
            self.schedule(next, EventKind::SampleTick, 0, 0);
        }
    }

    /// Closes one last time-series row for the drain after the window, so that every
    /// request's end appears in some row.
    fn close_drain_row(&mut self) {
        let ts = &self.metrics.timeseries;
        let closed_until = ts.rows.last().map(|r| r.end);
        // Also a zero-length row when requests ended at the closing instant (the failures
        // of a run stopped by max_events, concluded right after its window closed).
        if closed_until.is_some_and(|end| self.now > end || ts.has_pending()) {
            let load = self.interval_load();
            self.metrics.timeseries.close(self.now, load);
        }
    }

    fn interval_load(&mut self) -> Vec<crate::metrics::timeseries::IntervalLoad> {
        let now = self.now;
        self.components
            .iter_mut()
            .map(|c| c.interval_load(now))
            .collect()
    }

    /// Concludes every logical request still open when the run stops.
    fn fail_unfinished(&mut self) {
        for slot in 0..self.requests.capacity() as u32 {
            let state = self.requests.get(slot).state;
            if matches!(state, RequestState::InFlight | RequestState::Backoff) {
                let r = *self.requests.get(slot);
                self.requests.get_mut(slot).state = RequestState::Abandoned;
                self.conclude(&r, Outcome::Failed(FailReason::SimulationEnded));
            }
        }
    }
}
