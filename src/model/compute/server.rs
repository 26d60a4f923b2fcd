//! Servers: the machinery services, caches and databases share. A server runs each request
//! class through a program of steps (CPU, disk, calls, and steps of the kind's own) on one of
//! its machines, with bounded workers, cores and queue.
//!
//! This file holds the spec, the live state and the statistics; `steps.rs` moves requests
//! through it. What only one kind does (a cache's lookup, a database's replication) is that
//! kind's, through [`ServerKind`]: `service.rs`, `data/cache.rs`, `data/database.rs`.

use crate::engine::rng::Stream;
use crate::engine::time::SimTime;
use crate::metrics::histogram::Latency;
use crate::metrics::outcome::STATUS_COUNT;
use crate::metrics::time_weighted::{TimeWeighted, mean_between};
use crate::metrics::timeseries::IntervalLoad;
use crate::model::compute::host::Host;
use crate::model::compute::machine::{Machine, MachineSpec};
use crate::model::context::Context;
use crate::model::distribution::Dist;
use crate::model::ids::{ComponentId, FrameId, PoolId};
use crate::model::request::{Frame, Request};

/// One step of a program. `S` is the kind's own steps (none for a service).
#[derive(Debug, Clone, Copy)]
pub enum Step<S> {
    /// CPU work, already divided by the machine's speed.
    Cpu(Dist),
    /// Random disk I/Os.
    Disk(u32),
    /// A synchronous call; `pool` is the index of this server's pool towards the target.
    /// With a `fallback`, a call that fails is made again to it (cache-aside: a cache that is
    /// down is bypassed to the database), through its pool.
    /// `queries` is how many queries of the request's class go in one round trip (a
    /// `batch` step; 1 otherwise); `per_message`: that many for each message of the batch
    /// the calling frame processes (`Frame::messages`).
    Call {
        target: ComponentId,
        pool: Option<PoolId>,
        fallback: Option<(ComponentId, Option<PoolId>)>,
        queries: u16,
        per_message: bool,
    },
    /// Send a message of request class `class` to queue `queue`, and go on once the queue
    /// has accepted it (the message's processing is the queue's consumers').
    Send { queue: ComponentId, class: u16 },
    /// A step only this kind of server has.
    Own(S),
}

impl<S> Step<S> {
    /// The CPU time this step takes on average, in milliseconds (0 for other steps).
    pub fn cpu_ms(&self) -> f64 {
        match self {
            Step::Cpu(d) => d.mean_ns() / 1e6,
            Step::Disk(_) | Step::Call { .. } | Step::Send { .. } | Step::Own(_) => 0.0,
        }
    }

    /// The random disk I/Os this step does (0 for other steps).
    pub fn disk_ios(&self) -> u32 {
        match self {
            Step::Disk(n) => *n,
            Step::Cpu(_) | Step::Call { .. } | Step::Send { .. } | Step::Own(_) => 0,
        }
    }

    /// The components this step may call: its target, and its fallback.
    pub fn callees(&self) -> impl Iterator<Item = ComponentId> {
        let (target, fallback) = match self {
            Step::Call {
                target, fallback, ..
            } => (Some(*target), fallback.map(|(f, _)| f)),
            Step::Send { queue, .. } => (Some(*queue), None),
            Step::Cpu(_) | Step::Disk(_) | Step::Own(_) => (None, None),
        };
        target.into_iter().chain(fallback)
    }
}

/// A server component as the scenario describes it; `S` is its kind's own steps.
#[derive(Debug, Clone)]
pub struct ServerSpec<S> {
    pub machine: MachineSpec,
    /// How many machines (a service's `replicas`; a database's shards × machines per shard).
    pub machine_count: u32,
    pub workers: u32,
    pub queue_capacity: u32,
    /// One program per request class.
    pub programs: Vec<Vec<Step<S>>>,
    /// The same programs for a call that opens its connection here, with the set-up's CPU
    /// first; empty when opening one costs no CPU.
    pub connect_programs: Vec<Vec<Step<S>>>,
    /// Pools towards databases: (target component, size), indexed by `Step::Call::pool`.
    pub pools: Vec<(ComponentId, u32)>,
    /// Share of disk I/Os served from memory instead (a database's buffer pool holding that
    /// share of its data); 0 when every I/O goes to disk.
    pub disk_in_memory: f64,
}

impl<S> ServerSpec<S> {
    /// The components this server calls, each once, in id order.
    pub fn callees(&self) -> Vec<ComponentId> {
        let mut out: Vec<ComponentId> = self
            .programs
            .iter()
            .flatten()
            .flat_map(Step::callees)
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Price of all its machines per hour.
    pub fn cost_per_hour(&self) -> f64 {
        self.machine.cost_per_hour * f64::from(self.machine_count)
    }
}

/// Where a frame goes after a step of the kind's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// On to this step (the program's length ends it).
    Next(u16),
    /// The step scheduled the frame's next event: stop here.
    Wait,
    /// The call is answered now with this status (a queue refusing a send).
    Answer(crate::metrics::outcome::Status),
    /// The step scheduled the frame's next event and waits without its worker, which goes
    /// to the next call in line (a queue's long poll: an event-driven broker holds a waiting
    /// receive as a connection, not a thread).
    Park,
}

/// What a kind of server adds to the shared machinery: its own steps, and what it does when
/// a call is served or a machine crashes or comes back. Implemented by `Service`, `Cache` and
/// `Database`; `steps.rs` is generic over it (static dispatch).
pub trait ServerKind {
    /// The kind's own steps (an empty enum for none).
    type Own: Copy;

    fn server(&mut self) -> &mut Server<Self::Own>;

    /// Runs own step `step` of frame `f` (`fr`, for request `req`, whose program has `end`
    /// steps).
    fn own_step(
        &mut self,
        ctx: &mut Context,
        f: FrameId,
        fr: &Frame,
        req: &Request,
        step: Self::Own,
        end: u16,
    ) -> Flow;

    /// A call took `took` on machine `machine` (a worker's time); `ok` if it was answered
    /// `Ok` inside the window.
    fn served(&mut self, _machine: u32, _took: SimTime, _counted: bool, _ok: bool) {}

    /// Machine `machine` crashed (after the shared machinery failed its work).
    fn machine_crashed(&mut self, _ctx: &mut Context, _me: ComponentId, _machine: u32) {}

    /// Machine `machine` is back.
    fn machine_recovered(&mut self, _ctx: &mut Context, _me: ComponentId, _machine: u32) {}
}

/// Counters and latencies of one server component.
#[derive(Debug)]
pub struct ServerStats {
    /// Time from admission to getting a worker.
    pub queue_wait: Latency,
    /// Time from getting a worker to answering.
    pub service: Latency,
    /// Time waiting for a pooled database connection.
    pub pool_wait: Latency,
    /// Calls answered `Ok` during the window (throughput).
    pub served: u64,
    /// Calls admitted, and how many of them found every worker busy (and queued): an
    /// arrival's view, so it stays right when the queue never drains.
    pub admitted: u64,
    pub waited: u64,
    /// Refusals by `Status::index()`.
    pub refused: [u64; STATUS_COUNT],
    /// Messages (calls, and answers to this server's calls) its full receive buffers
    /// dropped; each is sent again after a TCP timeout.
    pub dropped: u64,
    /// Processes killed for want of memory (`out_of_memory: kill`), over the whole run.
    pub oom_kills: u64,
}

/// ∫ level dt of each resource of a component, summed over machines.
#[derive(Debug, Clone, Copy, Default)]
pub struct Areas {
    pub cpu: u128,
    pub workers: u128,
    pub queued: u128,
    pub connections: u128,
    pub nic: u128,
    pub disk: u128,
}

/// The busiest machine of a component for one resource over the window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Hottest {
    pub machine: u32,
    pub utilisation: f64,
}

/// Means over the measurement window, filled when the window closes.
#[derive(Debug, Clone, Copy, Default)]
pub struct WindowFigures {
    /// The machine with the highest CPU, NIC and disk utilisation (each its own).
    pub hottest_cpu: Hottest,
    pub hottest_nic: Hottest,
    pub hottest_disk: Hottest,
    pub cpu_utilisation: f64,
    pub worker_utilisation: f64,
    /// Per machine, like the peaks.
    pub mean_queue: f64,
    pub mean_connections: f64,
    pub nic_utilisation: f64,
    pub disk_utilisation: f64,
}

/// A server's live state.
#[derive(Debug)]
pub struct Server<S> {
    pub spec: ServerSpec<S>,
    pub machines: Vec<Machine>,
    pub rng: Stream,
    pub stats: ServerStats,
    window_start: Areas,
    /// Per machine, at the window's start (for the hottest machine).
    machine_window_start: Vec<Areas>,
    pub(crate) window_started_at: SimTime,
    pub window: WindowFigures,
    last_tick_cpu: u128,
    /// Per machine, at the last interval's end.
    last_tick_machine_cpu: Vec<u128>,
    last_tick_queued: u128,
    last_tick: SimTime,
    /// A fleet's machines switched on over time (ready or draining): the machines its
    /// utilisation and means are over. None: all `machine_count`, always.
    pub serving: Option<TimeWeighted>,
    serving_at_window_start: u128,
    serving_at_last_tick: u128,
    /// Peak memory and queue of its machines' hosts, kept at the end (`record_peaks`).
    peaks: (u64, u64),
    /// Queued frames to start, in order, while one is being started (`steps::start_queued`).
    pub(crate) queued_starts: Vec<FrameId>,
    /// Whether `start_queued` is running (nested starts join its list instead of recursing).
    pub(crate) starting_queued: bool,
}

impl<S> Server<S> {
    pub fn new(spec: ServerSpec<S>, rng: Stream) -> Server<S> {
        let count = spec.machine_count as usize;
        let pool_sizes: Vec<u32> = spec.pools.iter().map(|&(_, size)| size).collect();
        let machines = (0..spec.machine_count)
            .map(|_| Machine::new(&pool_sizes))
            .collect();
        Server {
            spec,
            machines,
            rng,
            stats: ServerStats {
                queue_wait: Latency::new(),
                service: Latency::new(),
                pool_wait: Latency::new(),
                served: 0,
                admitted: 0,
                waited: 0,
                refused: [0; STATUS_COUNT],
                dropped: 0,
                oom_kills: 0,
            },
            window_start: Areas::default(),
            machine_window_start: vec![Areas::default(); count],
            window_started_at: SimTime::ZERO,
            window: WindowFigures::default(),
            last_tick_cpu: 0,
            last_tick_machine_cpu: vec![0; count],
            last_tick_queued: 0,
            last_tick: SimTime::ZERO,
            serving: None,
            serving_at_window_start: 0,
            serving_at_last_tick: 0,
            peaks: (0, 0),
            queued_starts: Vec::new(),
            starting_queued: false,
        }
    }

    /// Each machine's areas at `now`, and their sum. Cores, queue, NIC and disk are its
    /// host's.
    fn areas(&mut self, hosts: &mut [Host], now: SimTime) -> (Areas, Vec<Areas>) {
        let mut sum = Areas::default();
        let spec = &self.spec.machine;
        let each: Vec<Areas> = self
            .machines
            .iter_mut()
            .map(|r| {
                let h = &mut hosts[r.host as usize];
                r.settle(spec, h, now);
                let a = Areas {
                    cpu: h.cpu.area_at(now),
                    workers: r.workers.area_at(now),
                    queued: h.queued.area_at(now),
                    connections: r.conns.area_at(now),
                    nic: h.nic.busy_area(now),
                    disk: h.disk_busy.busy_until(now, h.disk_free),
                };
                sum.cpu += a.cpu;
                sum.workers += a.workers;
                sum.queued += a.queued;
                sum.connections += a.connections;
                sum.nic += a.nic;
                sum.disk += a.disk;
                a
            })
            .collect();
        (sum, each)
    }

    pub fn snapshot_window_start(&mut self, hosts: &mut [Host], now: SimTime) {
        (self.window_start, self.machine_window_start) = self.areas(hosts, now);
        self.window_started_at = now;
        if let Some(s) = &mut self.serving {
            self.serving_at_window_start = s.area_at(now);
        }
    }

    /// Mean machines switched on between `from` (the area then) and `now`: a fleet's, or
    /// all of them.
    fn machines_over(&mut self, from: u128, span: SimTime, now: SimTime) -> f64 {
        match &mut self.serving {
            Some(s) => mean_between(from, s.area_at(now), span),
            None => f64::from(self.spec.machine_count),
        }
    }

    pub fn snapshot_window_end(&mut self, hosts: &mut [Host], now: SimTime) {
        let span = now - self.window_started_at;
        let cores = f64::from(self.spec.machine.cores);
        let (b, each) = self.areas(hosts, now);
        let a = self.window_start;
        let n = self.machines_over(self.serving_at_window_start, span, now);
        let per = |x: u128, y: u128, capacity: f64| mean_between(x, y, span) / capacity.max(1e-12);
        let hottest = |area: fn(&Areas) -> u128, capacity: f64| {
            let mut best = Hottest::default();
            for (i, (start, end)) in self.machine_window_start.iter().zip(&each).enumerate() {
                let u = per(area(start), area(end), capacity);
                if u > best.utilisation {
                    best = Hottest {
                        machine: i as u32,
                        utilisation: u,
                    };
                }
            }
            best
        };
        self.window = WindowFigures {
            hottest_cpu: hottest(|a| a.cpu, cores),
            hottest_nic: hottest(|a| a.nic, 1.0),
            hottest_disk: hottest(|a| a.disk, 1.0),
            cpu_utilisation: per(a.cpu, b.cpu, n * f64::from(self.spec.machine.cores)),
            worker_utilisation: per(a.workers, b.workers, n * f64::from(self.spec.workers)),
            mean_queue: per(a.queued, b.queued, n),
            mean_connections: per(a.connections, b.connections, n),
            nic_utilisation: per(a.nic, b.nic, n),
            disk_utilisation: per(a.disk, b.disk, n),
        };
    }

    /// CPU utilisation and mean queue per machine since the previous call.
    pub fn interval_load(&mut self, hosts: &mut [Host], now: SimTime) -> IntervalLoad {
        let (mut cpu, mut queued) = (0u128, 0u128);
        let cores = f64::from(self.spec.machine.cores).max(1e-12);
        let span = now - self.last_tick;
        let mut hottest: f64 = 0.0;
        for (r, last) in self
            .machines
            .iter_mut()
            .zip(&mut self.last_tick_machine_cpu)
        {
            let h = &mut hosts[r.host as usize];
            let area = h.cpu.area_at(now);
            hottest = hottest.max(mean_between(*last, area, span) / cores);
            *last = area;
            cpu += area;
            queued += h.queued.area_at(now);
        }
        let machines = self
            .machines_over(self.serving_at_last_tick, span, now)
            .max(1e-12);
        if let Some(s) = &mut self.serving {
            self.serving_at_last_tick = s.area_at(now);
        }
        let capacity = machines * f64::from(self.spec.machine.cores);
        let load = IntervalLoad {
            utilisation: mean_between(self.last_tick_cpu, cpu, span) / capacity.max(1e-12),
            hottest_utilisation: hottest,
            mean_queue: mean_between(self.last_tick_queued, queued, span) / machines,
            messages: None,
            replicas: None,
        };
        self.last_tick_cpu = cpu;
        self.last_tick_queued = queued;
        self.last_tick = now;
        load
    }

    /// Highest peak of connections on any machine.
    pub fn peak_connections(&self) -> u64 {
        self.machines
            .iter()
            .map(|r| r.conns.max())
            .max()
            .unwrap_or(0)
    }

    /// Highest memory in use on any machine's host, in bytes (`record_peaks`).
    pub fn peak_memory_bytes(&self) -> u64 {
        self.peaks.0
    }

    /// Longest queue seen on any machine's host (`record_peaks`).
    pub fn max_queue(&self) -> u64 {
        self.peaks.1
    }

    /// Keeps the peaks of its machines' hosts (memory, queue) for the report, at the end.
    pub fn record_peaks(&mut self, hosts: &[Host]) {
        let on = |r: &Machine| &hosts[r.host as usize];
        let memory = self.machines.iter().map(|r| on(r).memory_peak).max();
        let queue = self.machines.iter().map(|r| on(r).queued.max()).max();
        self.peaks = (memory.unwrap_or(0), queue.unwrap_or(0));
    }
}

impl<S> Server<S> {
    /// The program frame `fr` (of request class `class`) runs here: with the connection's
    /// set-up first if its call opened the connection and that costs CPU.
    #[inline]
    pub fn program_of(&self, fr: &Frame, class: usize) -> &[Step<S>] {
        let programs = if fr.connecting && !self.spec.connect_programs.is_empty() {
            &self.spec.connect_programs
        } else {
            &self.spec.programs
        };
        &programs[class]
    }

    /// A user's kept-alive connection to machine `r`, accepted at `epoch`, reached its idle
    /// timeout: the machine closes it, unless it crashed since (which closed it already).
    pub fn close_idle(&mut self, hosts: &mut [Host], r: u32, epoch: u16, now: SimTime) {
        let m = &mut self.machines[r as usize];
        if m.epoch == epoch && m.alive {
            m.close_connection(&self.spec.machine, &mut hosts[m.host as usize], now);
        }
    }

    /// Bytes of heap in queues that grow with load (waiting requests), for the memory guard.
    pub fn queue_heap_bytes(&self) -> u64 {
        self.machines
            .iter()
            .map(|m| {
                m.wait_queue.capacity() * std::mem::size_of::<FrameId>()
                    + m.leaving_heap_bytes()
                    + m.ports_heap_bytes()
                    + m.background.heap_bytes()
            })
            .sum::<usize>() as u64
    }
}
