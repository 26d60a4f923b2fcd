//! Machines: the hardware of one machine (`MachineSpec`: cores, speed, memory, NIC, disk,
//! connection cap, price) and one machine of a component during a run (`Machine`: a process
//! with its workers, queue, connections, pools and ports, on a host that holds its cores,
//! memory, NIC and disk — `host.rs`).
//!
//! A service, cache or database runs on one or more machines of one `MachineSpec`. The rules
//! for admitting a request (connection cap, memory) live here; what a request does once
//! admitted is the server's business (`steps.rs`).

use crate::engine::time::SimTime;
use crate::metrics::time_weighted::TimeWeighted;
use crate::model::compute::background::Background;
use crate::model::compute::host::Host;
use crate::model::compute::pool::Pool;
use crate::model::ids::{ComponentId, FrameId};
use std::collections::VecDeque;

const KIB: f64 = 1024.0;
/// CPU slow-down per share of memory swapped out (`MachineSpec::swap_factor`).
const SWAP_SLOWDOWN: f64 = 20.0;
const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// One machine's hardware, in engine units.
#[derive(Debug, Clone)]
pub struct MachineSpec {
    pub cores: u32,
    pub cpu_speed: f64,
    pub ram_bytes: u64,
    pub base_bytes: u64,
    pub per_connection_bytes: u64,
    pub per_request_bytes: u64,
    /// Nanoseconds to put one byte on the wire.
    pub nic_ns_per_byte: f64,
    pub max_connections: u32,
    /// Time of one random disk I/O (1 / iops).
    pub disk_io: SimTime,
    pub cost_per_hour: f64,
    /// Cores shared by time slices (true) or each step run to completion.
    pub time_sliced: bool,
    /// How long the receiving NIC takes to drain a full receive buffer: a message whose first
    /// bit finds more than this ahead of it is dropped.
    pub rx_buffer: SimTime,
    /// Local ports towards one destination, and how long a closed connection keeps one.
    pub ephemeral_ports: u32,
    pub time_wait: SimTime,
    /// Swap beyond `ram_bytes`: memory can reach RAM + swap, and CPU work slows with the
    /// share swapped out (`swap_factor`).
    pub swap_bytes: u64,
    /// Past RAM + swap the process is killed (and restarts after `restart`) instead of
    /// refusing the request.
    pub oom_kill: bool,
    pub restart: SimTime,
}

impl MachineSpec {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        cores: u32,
        cpu_speed: f64,
        ram_gb: f64,
        base_memory_gb: f64,
        memory_per_connection_kb: f64,
        memory_per_request_kb: f64,
        nic_gbps: f64,
        max_connections: u32,
        disk_iops: f64,
        cost_per_hour: f64,
    ) -> MachineSpec {
        MachineSpec {
            cores,
            cpu_speed,
            ram_bytes: (ram_gb * GIB) as u64,
            base_bytes: (base_memory_gb * GIB) as u64,
            per_connection_bytes: (memory_per_connection_kb * KIB) as u64,
            per_request_bytes: (memory_per_request_kb * KIB) as u64,
            nic_ns_per_byte: 8.0 / nic_gbps,
            max_connections,
            disk_io: SimTime::from_secs(1.0 / disk_iops),
            cost_per_hour,
            time_sliced: true,
            rx_buffer: SimTime::MAX,
            ephemeral_ports: u32::MAX,
            time_wait: SimTime::ZERO,
            swap_bytes: 0,
            oom_kill: false,
            restart: SimTime::ZERO,
        }
    }

    /// The most memory the machine can hold: RAM and swap.
    #[inline]
    pub fn memory_limit(&self) -> u64 {
        self.ram_bytes.saturating_add(self.swap_bytes)
    }

    /// How many times longer CPU work takes with `used` bytes in use: 1 in RAM; beyond it,
    /// 1 + 20 × the share of memory in use that is swapped out (a tenth swapped triples CPU
    /// times, half makes them 11 times longer: every touch of a swapped page waits for the
    /// disk).
    #[inline]
    pub fn swap_factor(&self, used: u64) -> f64 {
        if used <= self.ram_bytes {
            return 1.0;
        }
        1.0 + SWAP_SLOWDOWN * (used - self.ram_bytes) as f64 / used as f64
    }

    /// Serialisation time of `bytes` on this machine's NIC.
    #[inline]
    pub fn wire_time(&self, bytes: u64) -> SimTime {
        SimTime::from_ns_f64(bytes as f64 * self.nic_ns_per_byte)
    }
}

/// A machine's local ports towards one destination machine.
#[derive(Debug)]
struct PortsTo {
    target: ComponentId,
    machine: u32,
    open: u32,
    /// When each closed connection's port is free again, in order.
    time_wait: VecDeque<SimTime>,
}

/// Kills for want of memory after which a machine is not restarted any more (as systemd gives
/// up on a unit that keeps failing); it also keeps `Machine::epoch` exact in two bytes.
pub const MAX_OOM_RESTARTS: u32 = 1_000;

/// Why a machine refuses a request at the door.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    ConnectionLimit,
    OutOfMemory,
}

/// The live state of one machine of a component: a process on a host (`host.rs`), with its
/// workers, queue, connections, pools and ports. Its cores, memory, NIC and disk are the
/// host's.
#[derive(Debug, Default)]
pub struct Machine {
    /// Its host in `Context::hosts`, and its slot among the host's processes.
    pub host: u32,
    pub slot: u16,
    pub alive: bool,
    /// Bumped at every crash: work that started before it is recognised as lost. Two bytes
    /// are exact: a scenario has at most 1,000 faults, each crashing a machine once, and a
    /// machine is restarted after at most `MAX_OOM_RESTARTS` kills.
    pub epoch: u16,
    /// Times the OOM killer has killed this machine's process.
    pub oom_kills: u32,
    pub connections: u32,
    pub busy_workers: u32,
    /// Frames admitted and waiting for a worker.
    pub wait_queue: VecDeque<FrameId>,
    /// Replies still leaving the NIC, in the order they leave: when each has left, and
    /// whether its connection closes then. Until then the request keeps its memory and its
    /// connection (`settle` gives them back).
    leaving: VecDeque<(SimTime, bool)>,
    /// Local ports in use towards each destination machine it has opened connections to
    /// without a pool, found by a short linear search (a server calls few machines this way).
    ports: Vec<PortsTo>,
    /// Connection pools of this machine towards databases (same order as the server's pools).
    pub pools: Vec<Pool>,
    /// Its wait queue's length as last told to the host (`note_queue`).
    noted_waiting: usize,
    pub workers: TimeWeighted,
    pub conns: TimeWeighted,
    /// CPU work takes this many times longer (a `slow` fault, data moving); 1 normally.
    pub slowdown: f64,
    /// The factors in force, whose product is `slowdown`: recomputed from them when one
    /// ends, so many overlapping ones cannot leave it stuck at infinity or zero.
    slowdowns: Vec<f64>,
    /// Crash faults in force: overlapping ones (a crash inside an outage) keep it down until
    /// the last one ends.
    pub down: u32,
    /// The machine's own work (a replica applying copies), competing for its cores and disk.
    pub background: Background,
}

impl Machine {
    /// A slow-down by `factor` starts (or ends): overlapping ones multiply, and each undoes
    /// only its own.
    pub fn slow_down(&mut self, factor: f64, start: bool) {
        if start {
            self.slowdowns.push(factor);
        } else if let Some(i) = self.slowdowns.iter().position(|&f| f == factor) {
            self.slowdowns.remove(i);
        }
        self.slowdown = self.slowdowns.iter().product();
    }

    pub fn new(pool_sizes: &[u32]) -> Machine {
        Machine {
            alive: true,
            pools: pool_sizes.iter().map(|&size| Pool::new(size)).collect(),
            slowdown: 1.0,
            ..Machine::default()
        }
    }

    /// Gives back the memory and connections of replies that have left the NIC by `now`, at
    /// the times they left. Every change to connections or memory settles first, so the
    /// levels are set in time order.
    #[inline]
    pub fn settle(&mut self, m: &MachineSpec, host: &mut Host, now: SimTime) {
        while let Some(&(left, closes)) = self.leaving.front() {
            if left > now {
                break;
            }
            self.leaving.pop_front();
            self.give_back(m, host, closes, left);
        }
    }

    /// Opens a connection (socket memory and a slot under the cap).
    #[inline]
    pub fn open_connection(
        &mut self,
        m: &MachineSpec,
        host: &mut Host,
        now: SimTime,
    ) -> Result<(), Refusal> {
        self.settle(m, host, now);
        self.connect(m, host, 0, now)
    }

    /// Takes a slot under the cap and the connection's memory plus `more` bytes, all or
    /// nothing (after `settle`).
    #[inline]
    fn connect(
        &mut self,
        m: &MachineSpec,
        host: &mut Host,
        more: u64,
        now: SimTime,
    ) -> Result<(), Refusal> {
        if self.connections >= m.max_connections {
            return Err(Refusal::ConnectionLimit);
        }
        if !host.take_memory(m.per_connection_bytes + more) {
            return Err(Refusal::OutOfMemory);
        }
        self.connections += 1;
        self.conns.set(now, u64::from(self.connections));
        Ok(())
    }

    /// Closes a connection opened by `open_connection`.
    #[inline]
    /// One that a crash has closed already (a machine that is down, or has no connection
    /// left open) gives nothing back.
    pub fn close_connection(&mut self, m: &MachineSpec, host: &mut Host, now: SimTime) {
        if !self.alive || self.connections == 0 {
            return;
        }
        self.settle(m, host, now);
        host.give_memory(m.per_connection_bytes);
        self.connections -= 1;
        self.conns.set(now, u64::from(self.connections));
    }

    /// Holds `bytes` more of memory for data the program keeps (a cache's entries), beyond
    /// any request; admission sees less room from then on.
    pub fn hold_memory(&mut self, m: &MachineSpec, host: &mut Host, bytes: u64, now: SimTime) {
        self.settle(m, host, now);
        host.memory_bytes = host.memory_bytes.saturating_add(bytes);
        host.memory_peak = host.memory_peak.max(host.memory_bytes);
    }

    /// Admits a request arriving on a new connection (`new_connection`) or on a pooled one
    /// already open; takes its connection and memory.
    #[inline]
    pub fn admit(
        &mut self,
        m: &MachineSpec,
        host: &mut Host,
        new_connection: bool,
        now: SimTime,
    ) -> Result<(), Refusal> {
        self.settle(m, host, now);
        if new_connection {
            // The connection's memory and the request's at once: both fit, or neither is taken.
            self.connect(m, host, m.per_request_bytes, now)
        } else if host.take_memory(m.per_request_bytes) {
            Ok(())
        } else {
            Err(Refusal::OutOfMemory)
        }
    }

    /// How many times longer CPU work takes now: slow-down faults and the host's swapping.
    #[inline]
    pub fn cpu_factor(&self, host: &Host) -> f64 {
        self.slowdown * host.swap_factor()
    }

    /// Gives back what `admit` took, now.
    #[inline]
    pub fn release(
        &mut self,
        m: &MachineSpec,
        host: &mut Host,
        new_connection: bool,
        now: SimTime,
    ) {
        self.settle(m, host, now);
        self.give_back(m, host, new_connection, now);
    }

    /// Gives back what `admit` took once the reply has left the NIC at `left` (a reply
    /// waiting behind others on a busy NIC still holds its connection and memory).
    #[inline]
    pub fn release_when_sent(
        &mut self,
        m: &MachineSpec,
        host: &mut Host,
        new_connection: bool,
        left: SimTime,
        now: SimTime,
    ) {
        if left <= now {
            return self.release(m, host, new_connection, now);
        }
        debug_assert!(self.leaving.back().is_none_or(|&(t, _)| t <= left));
        self.leaving.push_back((left, new_connection));
    }

    /// Bytes of heap holding replies still leaving the NIC.
    pub fn leaving_heap_bytes(&self) -> usize {
        self.leaving.capacity() * std::mem::size_of::<(SimTime, bool)>()
    }

    #[inline]
    fn give_back(&mut self, m: &MachineSpec, host: &mut Host, closes: bool, at: SimTime) {
        host.give_memory(m.per_request_bytes);
        if closes {
            host.give_memory(m.per_connection_bytes);
            self.connections = self.connections.saturating_sub(1);
            self.conns.set(at, u64::from(self.connections));
        }
    }

    /// Takes a local port for a new connection to machine `machine` of `target`, or `false`
    /// if every one is open or in TIME_WAIT.
    pub fn take_port(
        &mut self,
        m: &MachineSpec,
        target: ComponentId,
        machine: u32,
        now: SimTime,
    ) -> bool {
        let p = self.ports_to(target, machine);
        while p.time_wait.front().is_some_and(|&t| t <= now) {
            p.time_wait.pop_front();
        }
        if p.open as usize + p.time_wait.len() >= m.ephemeral_ports as usize {
            return false;
        }
        p.open += 1;
        true
    }

    /// The connection to machine `machine` of `target` closed at `now`: its port waits out
    /// TIME_WAIT.
    pub fn close_port(&mut self, m: &MachineSpec, target: ComponentId, machine: u32, now: SimTime) {
        let p = self.ports_to(target, machine);
        p.open = p.open.saturating_sub(1);
        if m.time_wait > SimTime::ZERO {
            p.time_wait.push_back(now + m.time_wait);
        }
    }

    fn ports_to(&mut self, target: ComponentId, machine: u32) -> &mut PortsTo {
        let i = match self
            .ports
            .iter()
            .position(|p| p.target == target && p.machine == machine)
        {
            Some(i) => i,
            None => {
                self.ports.push(PortsTo {
                    target,
                    machine,
                    open: 0,
                    time_wait: VecDeque::new(),
                });
                self.ports.len() - 1
            }
        };
        &mut self.ports[i]
    }

    /// Bytes of heap holding ports in TIME_WAIT.
    pub fn ports_heap_bytes(&self) -> usize {
        self.ports
            .iter()
            .map(|p| p.time_wait.capacity() * std::mem::size_of::<SimTime>())
            .sum()
    }

    /// Forgets all work after a crash: counters back to an idle process. (Its host's cores
    /// and memory are the host's to wipe, `Host::process_down`.)
    pub fn wipe(&mut self, now: SimTime) {
        self.leaving.clear();
        // The kernel's sockets, TIME_WAIT included, go with it.
        self.ports.clear();
        self.connections = 0;
        self.conns.set(now, 0);
        self.busy_workers = 0;
        self.workers.set(now, 0);
        self.wait_queue.clear();
        self.background.clear();
    }

    /// Its wait queue changed: tells the host, whose waiting level (for a worker or a core)
    /// is the queue-length statistic.
    #[inline]
    pub fn note_queue(&mut self, host: &mut Host, now: SimTime) {
        let n = self.wait_queue.len();
        host.waiting_for_workers = host.waiting_for_workers + n - self.noted_waiting;
        self.noted_waiting = n;
        host.note_queue(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> MachineSpec {
        // 1 GiB RAM, 0.5 GiB base, 256 KiB/request, 256 KiB/connection, 2 connections.
        MachineSpec::new(2, 1.0, 1.0, 0.5, 256.0, 256.0, 1.0, 2, 1000.0, 0.1)
    }

    #[test]
    fn connection_cap_refuses_the_one_too_many() {
        let m = small();
        let mut h = Host::new(m.clone());
        let mut r = Machine::new(&[]);
        assert!(r.admit(&m, &mut h, true, SimTime(0)).is_ok());
        assert!(r.admit(&m, &mut h, true, SimTime(0)).is_ok());
        assert_eq!(
            r.admit(&m, &mut h, true, SimTime(0)),
            Err(Refusal::ConnectionLimit)
        );
        r.release(&m, &mut h, true, SimTime(1));
        assert!(r.admit(&m, &mut h, true, SimTime(2)).is_ok());
        assert_eq!(r.conns.max(), 2);
    }

    #[test]
    fn memory_runs_out_before_connections_when_requests_are_fat() {
        let mut m = small();
        m.max_connections = 10_000;
        let mut h = Host::new(m.clone());
        let mut r = Machine::new(&[]);
        // 0.5 GiB free / 512 KiB per request = 1024 requests fit.
        for _ in 0..1024 {
            assert!(r.admit(&m, &mut h, true, SimTime(0)).is_ok());
        }
        assert_eq!(
            r.admit(&m, &mut h, true, SimTime(0)),
            Err(Refusal::OutOfMemory)
        );
        assert_eq!(h.memory_peak, m.ram_bytes);
    }

    /// Two processes on one host take from the same RAM: what one holds, the other cannot.
    #[test]
    fn processes_on_one_host_share_its_memory() {
        let mut m = small();
        m.max_connections = 10_000;
        let mut h = Host::new(m.clone());
        let (mut a, mut b) = (Machine::new(&[]), Machine::new(&[]));
        for _ in 0..1000 {
            assert!(a.admit(&m, &mut h, true, SimTime(0)).is_ok());
        }
        // 24 of 512 KiB are left of the 1024 that fit.
        for _ in 0..24 {
            assert!(b.admit(&m, &mut h, true, SimTime(0)).is_ok());
        }
        assert_eq!(
            b.admit(&m, &mut h, true, SimTime(0)),
            Err(Refusal::OutOfMemory)
        );
        a.release(&m, &mut h, true, SimTime(1));
        assert!(b.admit(&m, &mut h, true, SimTime(1)).is_ok());
    }

    /// A crash closed every connection already: a caller's pool closing its connections
    /// afterwards gives back no memory (the host would fall below its base).
    #[test]
    fn closing_connections_a_crash_closed_gives_nothing_back() {
        let m = small();
        let mut h = Host::new(m.clone());
        let mut db = Machine::new(&[]);
        assert!(db.open_connection(&m, &mut h, SimTime(0)).is_ok());
        let held = h.memory_bytes;
        db.alive = false;
        db.close_connection(&m, &mut h, SimTime(1));
        assert_eq!(
            h.memory_bytes, held,
            "a machine that is down has nothing to close"
        );
        db.alive = true;
        db.wipe(SimTime(2));
        db.close_connection(&m, &mut h, SimTime(3));
        assert_eq!(h.memory_bytes, held, "no connection left open");
    }

    #[test]
    fn swapping_slows_the_cpu_by_the_share_swapped_out() {
        let mut m = small(); // 1 GiB of RAM
        m.swap_bytes = m.ram_bytes;
        assert_eq!(m.memory_limit(), 2 * m.ram_bytes);
        assert_eq!(m.swap_factor(m.ram_bytes), 1.0, "all in RAM");
        // 1.5 GiB in use: a third swapped, 1 + 20/3.
        let third = m.swap_factor(m.ram_bytes / 2 * 3);
        assert!((third - (1.0 + 20.0 / 3.0)).abs() < 1e-12, "{third}");
        // 2 GiB: half swapped, 11 times slower.
        assert!((m.swap_factor(2 * m.ram_bytes) - 11.0).abs() < 1e-12);
    }
}
