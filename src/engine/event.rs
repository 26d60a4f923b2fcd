//! Events: small `Copy` records naming what happens and to which slot.
//!
//! An event carries no heap data; `a` and `b` are indices whose meaning depends on the kind
//! (a frame, a request and its generation, a user, a component). Keeping it at 12 bytes keeps
//! a queue entry at 32 bytes.

/// What an event does when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum EventKind {
    /// A closed-loop user finishes thinking. `a` = user.
    UserWake,
    /// The next open-loop arrival. No payload.
    OpenArrival,
    /// A retry attempt starts. `a` = request slot.
    RetryStart,
    /// The earliest client deadline may have come (`model::timeouts`). No payload.
    ClientTimeout,
    /// A call frame reaches its component. `a` = frame.
    FrameArrive,
    /// A CPU step of a frame ends. `a` = frame.
    CpuDone,
    /// A frame's wait ends: a disk step, or a sync write's replication acks. `a` = frame.
    WaitDone,
    /// A frame's answer reaches its caller (or the client). `a` = frame.
    FrameReturn,
    /// A load balancer probes its backends. `a` = component.
    HealthCheck,
    /// A scheduled fault starts or ends. `a` = fault index, `b` = 0 start / 1 end.
    Fault,
    /// A database failover step. `a` = component, `b` = replica or shard << 1 | phase.
    Failover,
    /// Shards are added to a database: data starts or finishes moving. `a` = component,
    /// `b` = index in its reshards << 1 | phase.
    Reshard,
    /// A time-series interval ends. No payload.
    SampleTick,
    /// Warm-up is over: statistics start. No payload.
    WindowStart,
    /// The run's duration is over: no new requests; drain the rest. No payload.
    WindowEnd,
}

/// One pending event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    pub a: u32,
    pub b: u32,
}

impl Event {
    #[inline]
    pub fn new(kind: EventKind, a: u32, b: u32) -> Event {
        Event { kind, a, b }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn events_stay_small() {
        assert!(std::mem::size_of::<super::Event>() <= 12);
    }
}
