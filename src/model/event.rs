//! Events: small `Copy` records naming what happens and to what. An event carries no heap
//! data, only ids and indices; keeping it at 12 bytes keeps a queue entry at 32 bytes.

use crate::model::ids::{ComponentId, FrameId, RequestId};

/// What happens when an event fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A closed-loop user finishes thinking.
    UserWake { user: u32 },
    /// The next open-loop arrival.
    OpenArrival,
    /// A retry attempt starts.
    RetryStart { request: RequestId },
    /// The earliest client deadline may have come (`model::client::timeouts`).
    ClientTimeout,
    /// A call frame reaches its component (or its receiving NIC is done with it).
    FrameArrive { frame: FrameId },
    /// A CPU step of a frame ends.
    CpuDone { frame: FrameId },
    /// The next CPU step sharing host `host`'s cores by time slices may be done.
    SliceDone { host: u32 },
    /// Run to completion: the background job on machine `machine` of `component` leaves its
    /// core, unless the machine crashed since (`epoch`).
    BackgroundDone {
        component: ComponentId,
        machine: u32,
        epoch: u16,
    },
    /// The server closes a user's kept-alive connection to machine `machine` of `component`
    /// after its idle timeout, unless the machine crashed since it was opened (`epoch`).
    IdleClose {
        component: ComponentId,
        machine: u32,
        epoch: u16,
    },
    /// A process killed for want of memory on machine `machine` of `component` restarts,
    /// unless the machine crashed again since (`epoch`).
    Restart {
        component: ComponentId,
        machine: u32,
        epoch: u16,
    },
    /// A frame's wait ends: a disk step, or a sync write's replication acks.
    WaitDone { frame: FrameId },
    /// A frame's answer reaches its caller (or the client).
    FrameReturn { frame: FrameId },
    /// A load balancer or DNS checks what it sends to.
    HealthCheck { component: ComponentId },
    /// Scheduled fault `fault` starts.
    FaultStart { fault: u32 },
    /// Scheduled fault `fault` ends.
    FaultEnd { fault: u32 },
    /// A copied write of class `class` reaches machine `machine` of database `db`, to apply
    /// if it has not crashed since (`epoch`, its epoch when the copy was sent).
    ReplicaApply {
        db: ComponentId,
        machine: u16,
        epoch: u16,
        class: u16,
    },
    /// A replicated database notices that machine `machine` (a primary) is gone.
    FailureDetected { db: ComponentId, machine: u32 },
    /// A replicated database promotes a new primary in shard `shard`.
    Promote { db: ComponentId, shard: u32 },
    /// A database starts moving data for its `reshard`-th added shards.
    ReshardStart { db: ComponentId, reshard: u32 },
    /// The data of that reshard has moved.
    ReshardDone { db: ComponentId, reshard: u32 },
    /// A queue's poller `poller` (its index in the queue) is due: its long poll has waited
    /// long enough, or it polls again; stale unless `seq` is the poller's.
    Poller { queue: u16, poller: u32, seq: u32 },
    /// The visibility timeout of the message in `slot` of queue `queue`, received under
    /// `receipt`, ends.
    Visibility { queue: u16, slot: u32, receipt: u32 },
    /// A topic's copy `request` (a push that failed) is tried again.
    /// Stale if the topic has crashed since (`epoch`, its crashes then): the copy was lost.
    Redeliver {
        topic: u16,
        epoch: u16,
        request: RequestId,
    },
    /// Scheduled job `job` is due to start a run.
    JobStart { job: u32 },
    /// Entry `entry` of fleet `fleet`'s schedule is due.
    ScaleScheduled { fleet: u16, entry: u32 },
    /// Fleet `fleet`'s autoscaler evaluates.
    Autoscale { fleet: u16 },
    /// Fleet `fleet`'s deploy `deploy` starts.
    DeployStart { fleet: u16, deploy: u32 },
    /// Fleet `fleet`'s deploy looks again at its new machines' health.
    DeployPoll { fleet: u16 },
    /// Machine `machine` of fleet `fleet` has started, unless its start was called off
    /// since (`turn`).
    FleetReady { fleet: u16, turn: u16, machine: u32 },
    /// Machine `machine` of fleet `fleet` is draining: is it done? Stale unless `turn` is
    /// its drain's.
    FleetDrain { fleet: u16, turn: u16, machine: u32 },
    /// A time-series interval ends.
    SampleTick,
    /// Warm-up is over: statistics start.
    WindowStart,
    /// The run's duration is over: no new requests; drain the rest.
    WindowEnd,
}

#[cfg(test)]
mod tests {
    #[test]
    fn events_stay_small() {
        assert!(std::mem::size_of::<super::Event>() <= 12);
        assert_eq!(
            crate::engine::queue::EventQueue::<super::Event>::ENTRY_BYTES,
            24
        );
    }
}
