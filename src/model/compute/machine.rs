//! Machines: the hardware of one machine (cores, speed, memory, NIC, disk, connection cap,
//! price) and its live state during a run (busy cores and workers, queues, memory in use).
//!
//! A service, cache or database runs on one or more machines of one `MachineSpec`. The rules
//! for admitting a request (connection cap, memory) live here; what a request does once
//! admitted is the server's business (`steps.rs`).

use crate::engine::time::SimTime;
use crate::metrics::time_weighted::{BusyTime, TimeWeighted};
use crate::model::compute::background::Background;
use crate::model::compute::cores::SharedCores;
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

/// The live state of one machine.
#[derive(Debug, Default)]
pub struct Machine {
    pub alive: bool,
    /// Bumped at every crash: work that started before it is recognised as lost. Two bytes
    /// are exact: a scenario has at most 1,000 faults, each crashing a machine once, and a
    /// machine is restarted after at most `MAX_OOM_RESTARTS` kills.
    pub epoch: u16,
    /// Times the OOM killer has killed this machine's process.
    pub oom_kills: u32,
    pub connections: u32,
    pub memory_bytes: u64,
    pub busy_workers: u32,
    /// Frames admitted and waiting for a worker.
    pub wait_queue: VecDeque<FrameId>,
    pub busy_cores: u32,
    /// Run to completion: frames holding a worker and waiting for a core, with their
    /// pending CPU time.
    pub core_queue: VecDeque<(FrameId, SimTime)>,
    /// Time-sliced: the CPU steps sharing the cores.
    pub shared: SharedCores,
    pub nic_tx_free: SimTime,
    pub nic_rx_free: SimTime,
    pub disk_free: SimTime,
    /// Replies still leaving the NIC, in the order they leave: when each has left, and
    /// whether its connection closes then. Until then the request keeps its memory and its
    /// connection (`settle` gives them back).
    leaving: VecDeque<(SimTime, bool)>,
    /// Local ports in use towards each destination machine it has opened connections to
    /// without a pool, found by a short linear search (a server calls few machines this way).
    ports: Vec<PortsTo>,
    /// Connection pools of this machine towards databases (same order as the server's pools).
    pub pools: Vec<Pool>,
    pub cpu: TimeWeighted,
    pub workers: TimeWeighted,
    pub queued: TimeWeighted,
    pub conns: TimeWeighted,
    pub memory_peak: u64,
    pub nic_tx_busy: BusyTime,
    pub nic_rx_busy: BusyTime,
    pub disk_busy: BusyTime,
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

    pub fn new(pool_sizes: &[u32], machine: &MachineSpec) -> Machine {
        Machine {
            alive: true,
            pools: pool_sizes.iter().map(|&size| Pool::new(size)).collect(),
            memory_bytes: machine.base_bytes,
            memory_peak: machine.base_bytes,
            slowdown: 1.0,
            ..Machine::default()
        }
    }

    /// Gives back the memory and connections of replies that have left the NIC by `now`, at
    /// the times they left. Every change to connections or memory settles first, so the
    /// levels are set in time order.
    #[inline]
    pub fn settle(&mut self, m: &MachineSpec, now: SimTime) {
        while let Some(&(left, closes)) = self.leaving.front() {
            if left > now {
                break;
            }
            self.leaving.pop_front();
            self.give_back(m, closes, left);
        }
    }

    /// Opens a connection (socket memory and a slot under the cap).
    #[inline]
    pub fn open_connection(&mut self, m: &MachineSpec, now: SimTime) -> Result<(), Refusal> {
        self.settle(m, now);
        self.connect(m, 0, now)
    }

    /// Takes a slot under the cap and the connection's memory plus `more` bytes, all or
    /// nothing (after `settle`).
    #[inline]
    fn connect(&mut self, m: &MachineSpec, more: u64, now: SimTime) -> Result<(), Refusal> {
        if self.connections >= m.max_connections {
            return Err(Refusal::ConnectionLimit);
        }
        self.take_memory(m, m.per_connection_bytes + more)?;
        self.connections += 1;
        self.conns.set(now, u64::from(self.connections));
        Ok(())
    }

    /// Closes a connection opened by `open_connection`.
    #[inline]
    pub fn close_connection(&mut self, m: &MachineSpec, now: SimTime) {
        self.settle(m, now);
        self.memory_bytes = self.memory_bytes.saturating_sub(m.per_connection_bytes);
        self.connections = self.connections.saturating_sub(1);
        self.conns.set(now, u64::from(self.connections));
    }

    /// Holds `bytes` more of memory for data the program keeps (a cache's entries), beyond
    /// any request; admission sees less room from then on.
    pub fn hold_memory(&mut self, m: &MachineSpec, bytes: u64, now: SimTime) {
        self.settle(m, now);
        self.memory_bytes = self.memory_bytes.saturating_add(bytes);
        self.memory_peak = self.memory_peak.max(self.memory_bytes);
    }

    /// Takes `bytes` of memory, or refuses past RAM and swap; with `oom_kill` nothing
    /// refuses (the caller sees `over_limit` and kills the process).
    #[inline]
    fn take_memory(&mut self, m: &MachineSpec, bytes: u64) -> Result<(), Refusal> {
        if !m.oom_kill && self.memory_bytes.saturating_add(bytes) > m.memory_limit() {
            return Err(Refusal::OutOfMemory);
        }
        self.memory_bytes += bytes;
        self.memory_peak = self.memory_peak.max(self.memory_bytes);
        Ok(())
    }

    /// Admits a request arriving on a new connection (`new_connection`) or on a pooled one
    /// already open; takes its connection and memory.
    #[inline]
    pub fn admit(
        &mut self,
        m: &MachineSpec,
        new_connection: bool,
        now: SimTime,
    ) -> Result<(), Refusal> {
        self.settle(m, now);
        if new_connection {
            // The connection's memory and the request's at once: both fit, or neither is taken.
            self.connect(m, m.per_request_bytes, now)
        } else {
            self.take_memory(m, m.per_request_bytes)
        }
    }

    /// Memory in use is past RAM and swap: with `oom_kill`, the kernel kills the process.
    #[inline]
    pub fn over_limit(&self, m: &MachineSpec) -> bool {
        self.memory_bytes > m.memory_limit()
    }

    /// How many times longer CPU work takes now: slow-down faults and swapping.
    #[inline]
    pub fn cpu_factor(&self, m: &MachineSpec) -> f64 {
        if m.swap_bytes == 0 {
            self.slowdown
        } else {
            self.slowdown * m.swap_factor(self.memory_bytes)
        }
    }

    /// Gives back what `admit` took, now.
    #[inline]
    pub fn release(&mut self, m: &MachineSpec, new_connection: bool, now: SimTime) {
        self.settle(m, now);
        self.give_back(m, new_connection, now);
    }

    /// Gives back what `admit` took once the reply has left the NIC at `left` (a reply
    /// waiting behind others on a busy NIC still holds its connection and memory).
    #[inline]
    pub fn release_when_sent(
        &mut self,
        m: &MachineSpec,
        new_connection: bool,
        left: SimTime,
        now: SimTime,
    ) {
        if left <= now {
            return self.release(m, new_connection, now);
        }
        debug_assert!(self.leaving.back().is_none_or(|&(t, _)| t <= left));
        self.leaving.push_back((left, new_connection));
    }

    /// Bytes of heap holding replies still leaving the NIC.
    pub fn leaving_heap_bytes(&self) -> usize {
        self.leaving.capacity() * std::mem::size_of::<(SimTime, bool)>()
    }

    #[inline]
    fn give_back(&mut self, m: &MachineSpec, closes: bool, at: SimTime) {
        self.memory_bytes = self.memory_bytes.saturating_sub(m.per_request_bytes);
        if closes {
            self.memory_bytes = self.memory_bytes.saturating_sub(m.per_connection_bytes);
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

    /// Forgets all work after a crash: counters back to an idle machine.
    pub fn wipe(&mut self, m: &MachineSpec, now: SimTime) {
        self.settle(m, now);
        self.leaving.clear();
        // The kernel's sockets, TIME_WAIT included, go with it.
        self.ports.clear();
        self.connections = 0;
        self.conns.set(now, 0);
        self.memory_bytes = m.base_bytes;
        self.busy_workers = 0;
        self.workers.set(now, 0);
        self.busy_cores = 0;
        self.cpu.set(now, 0);
        self.wait_queue.clear();
        self.core_queue.clear();
        self.background.clear();
        self.queued.set(now, 0);
    }

    /// Occupies the NIC's sending side for `bytes`; returns when the last byte has left and
    /// how long the bytes took on this wire.
    #[inline]
    pub fn send(&mut self, m: &MachineSpec, bytes: u64, now: SimTime) -> (SimTime, SimTime) {
        let start = self.nic_tx_free.max(now);
        let wire = m.wire_time(bytes);
        self.nic_tx_free = start + wire;
        self.nic_tx_busy.book(wire);
        (self.nic_tx_free, wire)
    }

    /// Occupies the NIC's receiving side for `bytes` whose last bit arrives at `at`, sent by a
    /// NIC that took `sent_wire` over them; returns when the message is received, or `None`
    /// if its receive buffer was full when the first bit came (the message is dropped and
    /// takes nothing).
    ///
    /// The first bit arrived `sent_wire` earlier, and the receiver works on the bits as they
    /// come (cut-through), so an idle receiver as fast as the sender is done at `at`: a
    /// message costs size ÷ the slower bandwidth once, not once per NIC. A receiver busy with
    /// other messages starts on this one when it is free (the bits wait in its buffer); it
    /// is occupied for its own wire time only, and never done before the last bit is in.
    #[inline]
    pub fn receive(
        &mut self,
        m: &MachineSpec,
        bytes: u64,
        at: SimTime,
        sent_wire: SimTime,
    ) -> Option<SimTime> {
        let first_bit = at.since(sent_wire);
        if self.nic_rx_free.since(first_bit) > m.rx_buffer {
            return None;
        }
        let start = self.nic_rx_free.max(first_bit);
        let wire = m.wire_time(bytes);
        self.nic_rx_free = start + wire;
        self.nic_rx_busy.book(wire);
        Some(self.nic_rx_free.max(at))
    }

    /// Queues `ios` disk operations; returns when they are done.
    #[inline]
    pub fn disk(&mut self, m: &MachineSpec, ios: u32, now: SimTime) -> SimTime {
        let start = self.disk_free.max(now);
        let busy = SimTime(m.disk_io.0.saturating_mul(u64::from(ios)));
        self.disk_free = start + busy;
        self.disk_busy.book(busy);
        self.disk_free
    }

    /// Total waiting (for a worker or a core), for the queue-length statistic. Of steps
    /// sharing the cores, those beyond the number of cores count as waiting for one.
    #[inline]
    pub fn note_queue(&mut self, now: SimTime) {
        let sharing = self.shared.runnable().saturating_sub(self.busy_cores) as usize;
        let n = self.wait_queue.len() + self.core_queue.len() + sharing;
        self.queued.set(now, n as u64);
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
        let mut r = Machine::new(&[], &m);
        assert!(r.admit(&m, true, SimTime(0)).is_ok());
        assert!(r.admit(&m, true, SimTime(0)).is_ok());
        assert_eq!(r.admit(&m, true, SimTime(0)), Err(Refusal::ConnectionLimit));
        r.release(&m, true, SimTime(1));
        assert!(r.admit(&m, true, SimTime(2)).is_ok());
        assert_eq!(r.conns.max(), 2);
    }

    #[test]
    fn memory_runs_out_before_connections_when_requests_are_fat() {
        let mut m = small();
        m.max_connections = 10_000;
        let mut r = Machine::new(&[], &m);
        // 0.5 GiB free / 512 KiB per request = 1024 requests fit.
        for _ in 0..1024 {
            assert!(r.admit(&m, true, SimTime(0)).is_ok());
        }
        assert_eq!(r.admit(&m, true, SimTime(0)), Err(Refusal::OutOfMemory));
        assert_eq!(r.memory_peak, m.ram_bytes);
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

    #[test]
    fn nic_and_disk_are_fifo_servers() {
        let m = small(); // 1 Gbit/s: 8 ns per byte; 1000 iops: 1 ms per I/O
        let mut r = Machine::new(&[], &m);
        assert_eq!(
            r.send(&m, 1000, SimTime(0)),
            (SimTime(8_000), SimTime(8_000))
        );
        assert_eq!(
            r.send(&m, 1000, SimTime(0)).0,
            SimTime(16_000),
            "second message waits"
        );
        assert_eq!(r.disk(&m, 2, SimTime(0)), SimTime(2_000_000));
        assert_eq!(
            r.disk(&m, 1, SimTime(5_000_000)),
            SimTime(6_000_000),
            "idle disk starts at once"
        );
    }
}
