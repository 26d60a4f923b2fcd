//! Servers: the replicated machines behind services, caches and databases. A server runs
//! each request class through a program of steps (CPU, disk, calls, cache lookups) on a
//! replica with bounded workers, cores and queue.
//!
//! This file holds the spec, the live state and the statistics; `steps.rs` moves requests
//! through it.

use crate::engine::rng::Stream;
use crate::engine::time::SimTime;
use crate::metrics::histogram::Latency;
use crate::metrics::outcome::STATUS_COUNT;
use crate::metrics::time_weighted::mean_between;
use crate::metrics::timeseries::IntervalLoad;
use crate::model::cache::{CacheState, Lru};
use crate::model::distribution::Dist;
use crate::model::machine::{Machine, Replica};
use crate::model::replica_log::ReplicationState;
use crate::model::replication::ReplicationSpec;

/// What role a server plays (for reports and defaults; behaviour is all in its program).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Service,
    Cache,
    Database,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Service => "service",
            Role::Cache => "cache",
            Role::Database => "database",
        }
    }
}

/// One step of a program.
#[derive(Debug, Clone, Copy)]
pub enum Step {
    /// CPU work, already divided by the machine's speed.
    Cpu(Dist),
    /// Random disk I/Os.
    Disk(u32),
    /// A synchronous call; `pool` is the index of this server's pool towards the target.
    Call { target: u32, pool: Option<u16> },
    /// Cache: a hit skips to the end of the program.
    CacheLookup,
    /// Cache: store the key fetched by the preceding call.
    CacheFill,
    /// Replicated database: copy the write to the shard's other machines (and, if sync,
    /// wait for their acknowledgements).
    Replicate,
    /// Replicated database: note whether this read saw stale data.
    ReadCheck,
}

/// How a cache decides hits.
#[derive(Debug, Clone)]
pub enum CachePolicy {
    HitRatio(f64),
    Lru { capacity: u64, key_count: u64 },
}

/// A server component as the scenario describes it.
#[derive(Debug, Clone)]
pub struct ServerSpec {
    pub role: Role,
    pub machine: Machine,
    pub replicas: u32,
    pub workers: u32,
    pub queue_capacity: u32,
    /// One program per request class.
    pub programs: Vec<Vec<Step>>,
    /// Pools towards databases: (target component, size), indexed by `Step::Call::pool`.
    pub pools: Vec<(u32, u32)>,
    /// Databases: cost of opening a connection.
    pub connect: Option<Dist>,
    pub cache: Option<CachePolicy>,
    /// Databases with replicas or shards.
    pub replication: Option<ReplicationSpec>,
}

/// Databases with more machines than this keep only the mean service time per machine (a
/// latency histogram takes about 270 KiB).
pub const MEMBER_HISTOGRAMS: u32 = 64;

/// What one machine of a replicated or sharded database did.
#[derive(Debug)]
pub struct MemberStats {
    /// Calls answered `Ok` during the window.
    pub served: u64,
    /// Service times of counted calls: their sum and number, and (small databases) their
    /// distribution.
    pub service_sum_ns: u128,
    pub service_count: u64,
    pub service: Option<Latency>,
    cpu_area_at_start: u128,
    pub cpu_utilisation: f64,
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
    pub cache_hits: u64,
    pub cache_misses: u64,
}

/// ∫ level dt of each resource of a component, summed over replicas.
#[derive(Debug, Clone, Copy, Default)]
pub struct Areas {
    pub cpu: u128,
    pub workers: u128,
    pub queued: u128,
    pub connections: u128,
    pub nic: u128,
    pub disk: u128,
}

/// The busiest machine (replica) of a component for one resource over the window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Hottest {
    pub replica: u32,
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
    /// Per replica, like the peaks.
    pub mean_queue: f64,
    pub mean_connections: f64,
    pub nic_utilisation: f64,
    pub disk_utilisation: f64,
}

/// A server's live state.
#[derive(Debug)]
pub struct Server {
    pub spec: ServerSpec,
    pub replicas: Vec<Replica>,
    pub cache: Option<CacheState>,
    pub replication: Option<ReplicationState>,
    /// Per replica, for replicated or sharded databases only.
    pub members: Vec<MemberStats>,
    pub rng: Stream,
    pub stats: ServerStats,
    window_start: Areas,
    /// Per replica, at the window's start (for the hottest machine).
    replica_window_start: Vec<Areas>,
    window_started_at: SimTime,
    pub window: WindowFigures,
    last_tick_cpu: u128,
    /// Per replica, at the last interval's end.
    last_tick_replica_cpu: Vec<u128>,
    last_tick_queued: u128,
    last_tick: SimTime,
}

impl Server {
    pub fn new(spec: ServerSpec, rng: Stream) -> Server {
        let spec_replicas = spec.replicas as usize;
        let pool_sizes: Vec<u32> = spec.pools.iter().map(|&(_, size)| size).collect();
        let replicas = (0..spec.replicas)
            .map(|_| Replica::new(&pool_sizes, &spec.machine))
            .collect();
        let cache = spec.cache.as_ref().map(|p| match *p {
            CachePolicy::HitRatio(r) => CacheState::HitRatio(r),
            CachePolicy::Lru {
                capacity,
                key_count,
            } => CacheState::Lru(Lru::new(capacity, key_count)),
        });
        let replication = spec.replication.as_ref().map(ReplicationState::new);
        let members = match &spec.replication {
            Some(_) => (0..spec.replicas)
                .map(|_| MemberStats {
                    served: 0,
                    service_sum_ns: 0,
                    service_count: 0,
                    service: (spec.replicas <= MEMBER_HISTOGRAMS).then(Latency::new),
                    cpu_area_at_start: 0,
                    cpu_utilisation: 0.0,
                })
                .collect(),
            None => Vec::new(),
        };
        Server {
            spec,
            replicas,
            cache,
            replication,
            members,
            rng,
            stats: ServerStats {
                queue_wait: Latency::new(),
                service: Latency::new(),
                pool_wait: Latency::new(),
                served: 0,
                admitted: 0,
                waited: 0,
                refused: [0; STATUS_COUNT],
                cache_hits: 0,
                cache_misses: 0,
            },
            window_start: Areas::default(),
            replica_window_start: vec![Areas::default(); spec_replicas],
            window_started_at: SimTime::ZERO,
            window: WindowFigures::default(),
            last_tick_cpu: 0,
            last_tick_replica_cpu: vec![0; spec_replicas],
            last_tick_queued: 0,
            last_tick: SimTime::ZERO,
        }
    }

    /// Each replica's areas at `now`, and their sum.
    fn areas(&mut self, now: SimTime) -> (Areas, Vec<Areas>) {
        let mut sum = Areas::default();
        let each: Vec<Areas> = self
            .replicas
            .iter_mut()
            .map(|r| {
                // Full duplex: the busier direction is the NIC's utilisation.
                let tx = r.nic_tx_busy.busy_until(now, r.nic_tx_free);
                let rx = r.nic_rx_busy.busy_until(now, r.nic_rx_free);
                let a = Areas {
                    cpu: r.cpu.area_at(now),
                    workers: r.workers.area_at(now),
                    queued: r.queued.area_at(now),
                    connections: r.conns.area_at(now),
                    nic: tx.max(rx),
                    disk: r.disk_busy.busy_until(now, r.disk_free),
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

    pub fn snapshot_window_start(&mut self, now: SimTime) {
        (self.window_start, self.replica_window_start) = self.areas(now);
        self.window_started_at = now;
        for (m, r) in self.members.iter_mut().zip(&mut self.replicas) {
            m.cpu_area_at_start = r.cpu.area_at(now);
        }
    }

    pub fn snapshot_window_end(&mut self, now: SimTime) {
        let span = now - self.window_started_at;
        let cores = f64::from(self.spec.machine.cores);
        for (m, r) in self.members.iter_mut().zip(&mut self.replicas) {
            m.cpu_utilisation = mean_between(m.cpu_area_at_start, r.cpu.area_at(now), span) / cores;
        }
        let (b, each) = self.areas(now);
        let a = self.window_start;
        let n = f64::from(self.spec.replicas);
        let per = |x: u128, y: u128, capacity: f64| mean_between(x, y, span) / capacity.max(1e-12);
        let hottest = |area: fn(&Areas) -> u128, capacity: f64| {
            let mut best = Hottest::default();
            for (i, (start, end)) in self.replica_window_start.iter().zip(&each).enumerate() {
                let u = per(area(start), area(end), capacity);
                if u > best.utilisation {
                    best = Hottest {
                        replica: i as u32,
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
    pub fn interval_load(&mut self, now: SimTime) -> IntervalLoad {
        let (mut cpu, mut queued) = (0u128, 0u128);
        let cores = f64::from(self.spec.machine.cores).max(1e-12);
        let span = now - self.last_tick;
        let mut hottest: f64 = 0.0;
        for (r, last) in self
            .replicas
            .iter_mut()
            .zip(&mut self.last_tick_replica_cpu)
        {
            let area = r.cpu.area_at(now);
            hottest = hottest.max(mean_between(*last, area, span) / cores);
            *last = area;
            cpu += area;
            queued += r.queued.area_at(now);
        }
        let machines = f64::from(self.spec.replicas).max(1.0);
        let capacity = machines * f64::from(self.spec.machine.cores);
        let load = IntervalLoad {
            utilisation: mean_between(self.last_tick_cpu, cpu, span) / capacity.max(1e-12),
            hottest_utilisation: hottest,
            mean_queue: mean_between(self.last_tick_queued, queued, span) / machines,
        };
        self.last_tick_cpu = cpu;
        self.last_tick_queued = queued;
        self.last_tick = now;
        load
    }

    /// Highest peak of connections on any replica.
    pub fn peak_connections(&self) -> u64 {
        self.replicas
            .iter()
            .map(|r| r.conns.max())
            .max()
            .unwrap_or(0)
    }

    /// Highest memory in use on any replica, in bytes.
    pub fn peak_memory_bytes(&self) -> u64 {
        self.replicas
            .iter()
            .map(|r| r.memory_peak)
            .max()
            .unwrap_or(0)
    }

    /// Longest queue seen on any replica.
    pub fn max_queue(&self) -> u64 {
        self.replicas
            .iter()
            .map(|r| r.queued.max())
            .max()
            .unwrap_or(0)
    }
}
