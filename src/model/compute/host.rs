//! Hosts: the physical machines under the processes. A host owns what its processes compete
//! for — cores (time-sliced or run to completion), RAM and swap, the NIC and the disk — and
//! their statistics; a process (`machine.rs`: one machine of a service, cache or database)
//! owns its workers, queue, connections, pools and ports.
//!
//! Most hosts run one process (each machine of a component is a host of its own). Several
//! components named on one entry of the scenario's `hosts` share it, as client, server and
//! database share a developer's laptop: their steps share its cores, their requests its RAM,
//! their bytes its NIC and disk. A crash is the host's: every process on it goes down and comes
//! back together. The context holds the table (`Context::hosts`), so a step of one component
//! can take a core another's step gives back with no door between them.

use crate::engine::slab::Slab;
use crate::engine::time::SimTime;
use crate::metrics::time_weighted::{BusyTime, TimeWeighted};
use crate::model::compute::cores::SharedCores;
use crate::model::compute::machine::MachineSpec;
use crate::model::ids::{ComponentId, FrameId};
use crate::model::request::Frame;
use std::collections::VecDeque;
use std::num::NonZeroU32;

/// A network card: its sending and receiving sides are FIFO servers of their own (full
/// duplex).
#[derive(Debug, Default)]
pub struct Nic {
    pub tx_free: SimTime,
    pub rx_free: SimTime,
    pub tx_busy: BusyTime,
    pub rx_busy: BusyTime,
}

impl Nic {
    /// Occupies the sending side for `bytes`; returns when the last byte has left and how
    /// long the bytes took on this wire.
    #[inline]
    pub fn send(&mut self, m: &MachineSpec, bytes: u64, now: SimTime) -> (SimTime, SimTime) {
        let start = self.tx_free.max(now);
        let wire = m.wire_time(bytes);
        self.tx_free = start + wire;
        self.tx_busy.book(wire);
        (self.tx_free, wire)
    }

    /// Occupies the receiving side for `bytes` whose last bit arrives at `at`, sent by a NIC
    /// that took `sent_wire` over them; returns when the message is received, or `None` if
    /// its receive buffer was full when the first bit came (the message is dropped and takes
    /// nothing).
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
        if self.rx_free.since(first_bit) > m.rx_buffer {
            return None;
        }
        let start = self.rx_free.max(first_bit);
        let wire = m.wire_time(bytes);
        self.rx_free = start + wire;
        self.rx_busy.book(wire);
        Some(self.rx_free.max(at))
    }

    /// ∫ busy dt of the busier direction up to `now` (full duplex: the busier direction is
    /// the NIC's utilisation).
    pub fn busy_area(&self, now: SimTime) -> u128 {
        let tx = self.tx_busy.busy_until(now, self.tx_free);
        let rx = self.rx_busy.busy_until(now, self.rx_free);
        tx.max(rx)
    }
}

/// The most processes one host runs: background jobs are named by ids counted down from
/// the top of the frame ids, one per process.
pub const MAX_PROCESSES: usize = 256;

/// One physical machine and what its processes compete for.
#[derive(Debug)]
pub struct Host {
    /// Its hardware (cores, speed, RAM, swap, NIC, disk, what running out of memory does).
    pub spec: MachineSpec,
    /// Cores shared by time slices (true) or each step run to completion.
    pub time_sliced: bool,
    /// Bumped at every crash, as its processes' own epochs are.
    pub epoch: u16,
    pub busy_cores: u32,
    /// Run to completion: steps holding a worker and waiting for a core, with their pending
    /// CPU time.
    pub core_queue: VecDeque<(FrameId, SimTime)>,
    /// Time-sliced: the CPU steps sharing the cores.
    pub shared: SharedCores,
    pub cpu: TimeWeighted,
    pub nic: Nic,
    pub disk_free: SimTime,
    pub disk_busy: BusyTime,
    pub memory_bytes: u64,
    pub memory_peak: u64,
    /// Steps and requests waiting on it: for a worker (`waiting_for_workers`, the sum of its
    /// processes' queues) or for a core (`core_waiters`).
    pub queued: TimeWeighted,
    pub waiting_for_workers: usize,
    /// The processes on it, by slot: (component, machine of the component).
    pub processes: Vec<(ComponentId, u32)>,
    /// Of them, how many are up: the host is wiped when the last goes down.
    up: u32,
}

impl Host {
    /// A host of `spec`'s hardware, time-sliced as it says (`place_on_hosts` may turn that
    /// off where it changes nothing).
    pub fn new(spec: MachineSpec) -> Host {
        Host {
            time_sliced: spec.time_sliced,
            memory_bytes: spec.base_bytes,
            memory_peak: spec.base_bytes,
            spec,
            epoch: 0,
            busy_cores: 0,
            core_queue: VecDeque::new(),
            shared: SharedCores::default(),
            cpu: TimeWeighted::default(),
            nic: Nic::default(),
            disk_free: SimTime::ZERO,
            disk_busy: BusyTime::default(),
            queued: TimeWeighted::default(),
            waiting_for_workers: 0,
            processes: Vec::new(),
            up: 0,
        }
    }

    /// Puts machine `machine` of `component` on this host; returns its slot.
    pub fn add_process(&mut self, component: ComponentId, machine: u32) -> u16 {
        debug_assert!(self.processes.len() < MAX_PROCESSES);
        self.processes.push((component, machine));
        self.up += 1;
        (self.processes.len() - 1) as u16
    }

    /// The id standing in the core queues for the background job of the process in `slot`
    /// (no frame has it: the frame slab would need over 2³² − 257 live frames).
    #[inline]
    pub fn background_id(slot: u16) -> FrameId {
        FrameId::from_slot(NonZeroU32::new(u32::MAX - u32::from(slot)).unwrap_or(NonZeroU32::MAX))
    }

    /// Whose background job `f` is, if it is one: (component, machine).
    #[inline]
    pub fn background_owner(&self, f: FrameId) -> Option<(ComponentId, u32)> {
        let from_top = u32::MAX - f.slot();
        self.processes.get(from_top as usize).copied()
    }

    /// Takes `bytes` of memory, or refuses past RAM and swap; with `oom_kill` nothing
    /// refuses (the caller sees `over_limit` and kills the process).
    #[inline]
    pub fn take_memory(&mut self, bytes: u64) -> bool {
        if !self.spec.oom_kill && self.memory_bytes.saturating_add(bytes) > self.spec.memory_limit()
        {
            return false;
        }
        self.memory_bytes += bytes;
        self.memory_peak = self.memory_peak.max(self.memory_bytes);
        true
    }

    /// Gives back `bytes` it holds (never what the OS and the programs hold at rest,
    /// `base_bytes`: the debug build checks it).
    #[inline]
    pub fn give_memory(&mut self, bytes: u64) {
        debug_assert!(
            self.memory_bytes >= self.spec.base_bytes.saturating_add(bytes),
            "memory given back that was not taken"
        );
        self.memory_bytes = self.memory_bytes.saturating_sub(bytes);
    }

    /// Memory in use is past RAM and swap: with `oom_kill`, the kernel kills the process.
    #[inline]
    pub fn over_limit(&self) -> bool {
        self.memory_bytes > self.spec.memory_limit()
    }

    /// How many times longer CPU work takes for swapping now.
    #[inline]
    pub fn swap_factor(&self) -> f64 {
        if self.spec.swap_bytes == 0 {
            1.0
        } else {
            self.spec.swap_factor(self.memory_bytes)
        }
    }

    /// Queues `ios` disk operations; returns when they are done.
    #[inline]
    pub fn disk(&mut self, ios: u32, now: SimTime) -> SimTime {
        let start = self.disk_free.max(now);
        let busy = SimTime(self.spec.disk_io.0.saturating_mul(u64::from(ios)));
        self.disk_free = start + busy;
        self.disk_busy.book(busy);
        self.disk_free
    }

    /// Steps waiting for a core: in the run-to-completion queue, or beyond the cores among
    /// those sharing them.
    #[inline]
    pub fn core_waiters(&self) -> usize {
        let sharing = self.shared.runnable().saturating_sub(self.busy_cores) as usize;
        self.core_queue.len() + sharing
    }

    /// Sets the waiting level now (after a change to a queue).
    #[inline]
    pub fn note_queue(&mut self, now: SimTime) {
        let n = self.waiting_for_workers + self.core_waiters();
        self.queued.set(now, n as u64);
    }

    /// Occupies the NIC's sending side for `bytes` (`Nic::send`).
    #[inline]
    pub fn send(&mut self, bytes: u64, now: SimTime) -> (SimTime, SimTime) {
        self.nic.send(&self.spec, bytes, now)
    }

    /// Occupies the NIC's receiving side for `bytes` (`Nic::receive`).
    #[inline]
    pub fn receive(&mut self, bytes: u64, at: SimTime, sent_wire: SimTime) -> Option<SimTime> {
        self.nic.receive(&self.spec, bytes, at, sent_wire)
    }

    /// The process `(me, r)` in `slot` goes down: takes its steps off the cores' queues and
    /// returns their frames (run-to-completion queue, then the shared steps in start order;
    /// its background job is simply dropped). Only whole hosts go down: a crash is spread to
    /// every process on the host (`fault.rs`) and the OOM killer is refused on a shared one,
    /// so the processes go down one after another at one instant, and when the last is down
    /// the host is wiped: cores idle (steps that ran to completion on them end later and find
    /// the epoch changed), memory back to its base, NIC and disk stopped.
    pub fn process_down(
        &mut self,
        frames: &Slab<Frame>,
        me: ComponentId,
        r: u32,
        slot: u16,
        now: SimTime,
    ) -> Vec<FrameId> {
        let background = Host::background_id(slot);
        let processes = self.processes.len() as u32;
        let mine = |g: FrameId| {
            if u32::MAX - g.slot() < processes {
                g == background
            } else {
                let fr = frames.get(g);
                fr.component == me && fr.machine == r
            }
        };
        let (gone, kept): (VecDeque<_>, VecDeque<_>) =
            self.core_queue.drain(..).partition(|&(g, _)| mine(g));
        self.core_queue = kept;
        let mut lost: Vec<FrameId> = gone.into_iter().map(|(g, _)| g).collect();
        self.shared.advance(now, self.spec.cores);
        lost.extend(self.shared.remove_where(now, mine));
        lost.retain(|&g| g != background);
        self.up = self.up.saturating_sub(1);
        if self.up == 0 {
            self.wipe(now);
        }
        lost
    }

    /// A process came back up.
    pub fn process_up(&mut self) {
        self.up += 1;
    }

    /// Forgets all work after a crash: an idle host. What its NIC and disk had booked
    /// beyond now is not done (nor counted as busy time).
    fn wipe(&mut self, now: SimTime) {
        for (busy, free) in [
            (&mut self.nic.tx_busy, &mut self.nic.tx_free),
            (&mut self.nic.rx_busy, &mut self.nic.rx_free),
            (&mut self.disk_busy, &mut self.disk_free),
        ] {
            busy.cancel_beyond(now, *free);
            *free = (*free).min(now);
        }
        self.epoch = self.epoch.wrapping_add(1);
        self.memory_bytes = self.spec.base_bytes;
        self.busy_cores = 0;
        self.cpu.set(now, 0);
        self.core_queue.clear();
        self.shared.clear(now);
        self.note_queue(now);
    }

    /// Bytes of heap in its queues.
    pub fn heap_bytes(&self) -> usize {
        self.core_queue.capacity() * std::mem::size_of::<(FrameId, SimTime)>()
            + self.shared.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> MachineSpec {
        // 1 Gbit/s: 8 ns per byte; 1000 iops: 1 ms per I/O.
        MachineSpec::new(2, 1.0, 1.0, 0.5, 256.0, 256.0, 1.0, 2, 1000.0, 0.1)
    }

    #[test]
    fn nic_and_disk_are_fifo_servers() {
        let m = small();
        let mut h = Host::new(m.clone());
        assert_eq!(
            h.nic.send(&m, 1000, SimTime(0)),
            (SimTime(8_000), SimTime(8_000))
        );
        assert_eq!(
            h.nic.send(&m, 1000, SimTime(0)).0,
            SimTime(16_000),
            "second message waits"
        );
        assert_eq!(h.disk(2, SimTime(0)), SimTime(2_000_000));
        assert_eq!(
            h.disk(1, SimTime(5_000_000)),
            SimTime(6_000_000),
            "idle disk starts at once"
        );
    }

    /// A crash stops the NIC and the disk: what they had booked beyond it is neither done nor
    /// counted as busy time (a 10 ms disk job cut at 4 ms counts 4 ms).
    #[test]
    fn a_crash_stops_nic_and_disk_with_their_backlog() {
        let m = small();
        let mut h = Host::new(m.clone());
        let (a, frames) = (ComponentId::from_index(0), Slab::<Frame>::new());
        h.add_process(a, 0);
        h.disk(10, SimTime(0)); // busy until 10 ms
        h.send(1_000_000, SimTime(0)); // 8 ms on the wire
        let ms = |x: u64| SimTime(x * 1_000_000);
        h.process_down(&frames, a, 0, 0, ms(4));
        assert_eq!(h.disk_busy.busy_until(ms(20), h.disk_free), 4_000_000);
        assert_eq!(h.nic.busy_area(ms(20)), 4_000_000);
        assert_eq!(h.disk(1, ms(5)), ms(6), "the disk is free after the crash");
    }

    #[test]
    fn background_ids_name_their_process_and_no_frame() {
        let mut h = Host::new(small());
        let a = ComponentId::from_index(3);
        let b = ComponentId::from_index(5);
        assert_eq!(h.add_process(a, 0), 0);
        assert_eq!(h.add_process(b, 2), 1);
        assert_eq!(h.background_owner(Host::background_id(0)), Some((a, 0)));
        assert_eq!(h.background_owner(Host::background_id(1)), Some((b, 2)));
        let frame = FrameId::from_slot(NonZeroU32::new(7).unwrap());
        assert_eq!(h.background_owner(frame), None);
    }

    /// Two processes share the cores: when one goes down only its steps leave them, and the
    /// host is wiped (idle, memory at base) only when the last is down.
    #[test]
    fn a_process_going_down_takes_only_its_own_steps() {
        let mut frames: Slab<Frame> = Slab::new();
        let (a, b) = (ComponentId::from_index(0), ComponentId::from_index(1));
        let fa = frames.insert(Frame {
            component: a,
            ..Frame::default()
        });
        let fb = frames.insert(Frame {
            component: b,
            ..Frame::default()
        });
        let mut h = Host::new(small());
        h.add_process(a, 0);
        h.add_process(b, 0);
        h.core_queue.push_back((fa, SimTime(5)));
        h.core_queue.push_back((fb, SimTime(5)));
        h.core_queue.push_back((Host::background_id(1), SimTime(5)));
        assert!(h.take_memory(1 << 20));
        h.busy_cores = 2;
        assert_eq!(h.process_down(&frames, a, 0, 0, SimTime(1)), vec![fa]);
        assert_eq!(
            h.core_queue.len(),
            2,
            "b's step and b's background job stay"
        );
        assert_eq!(h.busy_cores, 2);
        let (epoch, base) = (h.epoch, h.spec.base_bytes);
        assert_eq!(h.process_down(&frames, b, 0, 1, SimTime(1)), vec![fb]);
        assert_eq!((h.busy_cores, h.core_queue.len()), (0, 0));
        assert_eq!(h.memory_bytes, base);
        assert_eq!(h.epoch, epoch + 1);
    }
}
