//! Client timeouts without one pending event per attempt.
//!
//! Every attempt gets the same timeout, so deadlines come in the order attempts start: a FIFO
//! list threaded through the request slots (two `u32` links each) holds them, an attempt that
//! ends unlinks itself in O(1), and a single pending event waits for the earliest deadline.
//! With a pending event per attempt instead, an attempt that finished in 80 ms would leave its
//! 30 s timeout in the queue: at 200,000 requests/s that is six million dead events.

use crate::engine::event::EventKind;
use crate::engine::sim::{RequestState, Simulation};
use crate::engine::time::SimTime;

/// "No slot" in a link.
pub const NIL: u32 = u32::MAX;

/// The FIFO of attempts waiting for their deadline.
#[derive(Debug, Clone, Copy)]
pub struct TimeoutList {
    head: u32,
    tail: u32,
    /// When the one pending `ClientTimeout` event fires, if one is pending.
    armed: Option<SimTime>,
}

impl Default for TimeoutList {
    fn default() -> Self {
        TimeoutList {
            head: NIL,
            tail: NIL,
            armed: None,
        }
    }
}

impl Simulation {
    /// Starts the clock of attempt `slot`: it times out at `deadline` unless unlinked first.
    pub(crate) fn arm_timeout(&mut self, slot: u32, deadline: SimTime) {
        let tail = self.timeouts.tail;
        let req = self.requests.get_mut(slot);
        req.deadline = deadline;
        req.timer_prev = tail;
        req.timer_next = NIL;
        if tail == NIL {
            self.timeouts.head = slot;
        } else {
            self.requests.get_mut(tail).timer_next = slot;
        }
        self.timeouts.tail = slot;
        if self.timeouts.armed.is_none() {
            self.timeouts.armed = Some(deadline);
            self.schedule(deadline, EventKind::ClientTimeout, 0, 0);
        }
    }

    /// Stops the clock of attempt `slot` (it ended before its deadline).
    pub(crate) fn disarm_timeout(&mut self, slot: u32) {
        let (prev, next) = {
            let r = self.requests.get_mut(slot);
            let links = (r.timer_prev, r.timer_next);
            r.timer_prev = NIL;
            r.timer_next = NIL;
            links
        };
        if prev == NIL {
            self.timeouts.head = next;
        } else {
            self.requests.get_mut(prev).timer_next = next;
        }
        if next == NIL {
            self.timeouts.tail = prev;
        } else {
            self.requests.get_mut(next).timer_prev = prev;
        }
    }

    /// The pending timeout event fired: time out every attempt whose deadline has come, then
    /// wait for the next deadline.
    pub(crate) fn timeouts_due(&mut self) {
        self.timeouts.armed = None;
        while self.timeouts.head != NIL {
            let slot = self.timeouts.head;
            let deadline = self.requests.get(slot).deadline;
            if deadline > self.now {
                self.timeouts.armed = Some(deadline);
                self.schedule(deadline, EventKind::ClientTimeout, 0, 0);
                return;
            }
            self.disarm_timeout(slot);
            debug_assert_eq!(self.requests.get(slot).state, RequestState::InFlight);
            self.client_timeout(slot);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::sim::Simulation;

    fn run(service_ms: f64, timeout_ms: f64) -> (u64, u64, u64) {
        let text = format!(
            r#"{{"name": "t", "duration_s": 2,
            "network": {{"client_link": {{"latency_ms": {{"constant": {{"ms": 0}}}}}}}},
            "workload": {{"model": {{"closed": {{"users": 3, "think_time_ms": {{"constant": {{"ms": 1}}}}}}}},
                "entry": "s", "timeout_ms": {timeout_ms}}},
            "components": {{"s": {{"kind": "service", "machine": {{"cores": 1}}, "workers": 1,
                "handlers": {{"default": [{{"cpu_ms": {{"constant": {{"ms": {service_ms}}}}}}}]}}}}}}}}"#
        );
        let mut sim = Simulation::new(crate::scenario::load(&text).unwrap());
        sim.run(&mut |_| {});
        let o = &sim.metrics.outcomes;
        assert_eq!(sim.outstanding, 0);
        (o.total, o.completed, o.timed_out)
    }

    #[test]
    fn attempts_time_out_exactly_when_their_deadline_passes() {
        // One worker, three users, 4 ms each: the first in line waits 0, the next 4 and 8 ms
        // (and the unlucky one 12 ms when the first comes back after 1 ms of thinking).
        let (total, completed, timed_out) = run(4.0, 100.0);
        assert_eq!(
            (completed, timed_out),
            (total, 0),
            "a generous timeout never fires"
        );
        let (total, completed, timed_out) = run(4.0, 6.0);
        assert!(
            completed > 0 && timed_out > 0,
            "{completed} completed, {timed_out} timed out"
        );
        assert_eq!(completed + timed_out, total);
        let (total, completed, timed_out) = run(15.0, 10.0);
        assert_eq!(
            (completed, timed_out),
            (0, total),
            "every attempt outlives its deadline"
        );
    }
}
