//! Client timeouts without one pending event per attempt.
//!
//! Every attempt gets the same timeout, so deadlines come in the order attempts start: a FIFO
//! list threaded through the request slots (two `u32` links each) holds them, an attempt that
//! ends unlinks itself in O(1), and a single pending event waits for the earliest deadline.
//! With a pending event per attempt instead, an attempt that finished in 80 ms would leave its
//! 30 s timeout in the queue: at 200,000 requests/s that is six million dead events.

use crate::engine::time::SimTime;
use crate::model::client::users::Client;
use crate::model::context::Context;
use crate::model::event::Event;
use crate::model::ids::RequestId;
use crate::model::request::RequestState;

/// The FIFO of attempts waiting for their deadline.
#[derive(Debug, Clone, Copy, Default)]
pub struct TimeoutList {
    head: Option<RequestId>,
    tail: Option<RequestId>,
    /// When the one pending `ClientTimeout` event fires, if one is pending.
    armed: Option<SimTime>,
}

impl Client {
    /// Starts the clock of attempt `r`: it times out at `deadline` unless unlinked first.
    pub(crate) fn arm_timeout(&mut self, ctx: &mut Context, r: RequestId, deadline: SimTime) {
        let tail = self.timeouts.tail;
        let req = ctx.requests.get_mut(r);
        req.deadline = deadline;
        req.timer_prev = tail;
        req.timer_next = None;
        match tail {
            None => self.timeouts.head = Some(r),
            Some(t) => ctx.requests.get_mut(t).timer_next = Some(r),
        }
        self.timeouts.tail = Some(r);
        if self.timeouts.armed.is_none() {
            self.timeouts.armed = Some(deadline);
            ctx.schedule(deadline, Event::ClientTimeout);
        }
    }

    /// Stops the clock of attempt `r` (it ended before its deadline).
    pub(crate) fn disarm_timeout(&mut self, ctx: &mut Context, r: RequestId) {
        let (prev, next) = {
            let req = ctx.requests.get_mut(r);
            let links = (req.timer_prev, req.timer_next);
            req.timer_prev = None;
            req.timer_next = None;
            links
        };
        match prev {
            None => self.timeouts.head = next,
            Some(p) => ctx.requests.get_mut(p).timer_next = next,
        }
        match next {
            None => self.timeouts.tail = prev,
            Some(n) => ctx.requests.get_mut(n).timer_prev = prev,
        }
    }

    /// The pending timeout event fired: time out every attempt whose deadline has come, then
    /// wait for the next deadline.
    pub(crate) fn timeouts_due(&mut self, ctx: &mut Context) {
        self.timeouts.armed = None;
        while let Some(r) = self.timeouts.head {
            let deadline = ctx.requests.get(r).deadline;
            if deadline > ctx.now {
                self.timeouts.armed = Some(deadline);
                ctx.schedule(deadline, Event::ClientTimeout);
                return;
            }
            self.disarm_timeout(ctx, r);
            debug_assert_eq!(ctx.requests.get(r).state, RequestState::InFlight);
            self.time_out(ctx, r);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::sim::Simulation;

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
        let o = &sim.ctx.metrics.outcomes;
        assert_eq!(sim.ctx.outstanding, 0);
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
