//! The client side of a request: users waking up, open arrivals, attempts with their
//! timeouts, retries with backoff, and the one place where a logical request concludes.

use crate::engine::event::EventKind;
use crate::engine::sim::{Component, Frame, NO_PARENT, Request, RequestState, Simulation};
use crate::metrics::outcome::{FailReason, Outcome, Status};
use crate::model::failover::Caller;
use crate::model::replication::Target;
use crate::model::workload::LoadModel;
use rand::RngExt;
use rand_distr::{Distribution, Exp1};

fn outcome_of(status: Status) -> Outcome {
    match status {
        Status::Ok => Outcome::Completed,
        Status::BackendDown => Outcome::Failed(FailReason::BackendDown),
        refusal => Outcome::Rejected(refusal),
    }
}

impl Simulation {
    /// A closed-loop user finished thinking: send a request if the profile has it active.
    pub(crate) fn user_wake(&mut self, user: u32) {
        if !self.accepting {
            return;
        }
        let w = &self.scenario.workload;
        if u64::from(user) >= w.active_users(self.now) {
            if let LoadModel::Closed { think, .. } = &w.model {
                let at = self.now + think.sample(&mut self.client_rng);
                self.schedule(at, EventKind::UserWake, user, 0);
            }
            return;
        }
        self.new_request(user);
    }

    /// Open model: one candidate arrival of a Poisson process at the profile's peak rate,
    /// kept with probability level(now)/peak (thinning, exact for a varying rate).
    pub(crate) fn open_arrival(&mut self) {
        if !self.accepting {
            return;
        }
        let w = &self.scenario.workload;
        let LoadModel::Open { rate_per_s } = w.model else {
            return;
        };
        let peak = w.profile.max_level();
        let keep = w.profile.level(self.now) / peak;
        if keep >= 1.0 || self.client_rng.random::<f64>() < keep {
            let user = self.next_open_user;
            self.next_open_user = self.next_open_user.wrapping_add(1);
            self.new_request(user);
        }
        let gap_s: f64 = Exp1.sample(&mut self.client_rng);
        let at = self.now + crate::engine::time::SimTime::from_secs(gap_s / (rate_per_s * peak));
        self.schedule(at, EventKind::OpenArrival, 0, 0);
    }

    /// A user starts a logical request.
    fn new_request(&mut self, user: u32) {
        let w = &self.scenario.workload;
        let class = w.pick_class(&mut self.client_rng);
        let key = w.classes[usize::from(class)]
            .keys
            .sample(&mut self.client_rng);
        let req = Request {
            user,
            class,
            attempt: 1,
            key,
            first_start: self.now,
            counted: self.window.contains(self.now),
            ..Request::default()
        };
        let slot = self.requests.insert(req);
        self.outstanding += 1;
        self.metrics.in_system.add(self.now, 1);
        self.metrics.timeseries.on_start();
        self.start_attempt(slot);
    }

    /// Sends attempt `slot` to its entry component and arms its timeout.
    pub(crate) fn start_attempt(&mut self, slot: u32) {
        let now = self.now;
        let class = usize::from(self.requests.get(slot).class);
        if let Some(Some(b)) = self.breakers.get_mut(class)
            && !b.allow(now)
        {
            // Refused without sending, and not retried: that is what the breaker is for.
            let r = *self.requests.get(slot);
            self.conclude(&r, Outcome::Rejected(Status::CircuitOpen));
            self.requests.remove(slot);
            return;
        }
        let req = self.requests.get_mut(slot);
        req.state = RequestState::InFlight;
        let user = req.user;
        let class = &self.scenario.workload.classes[usize::from(req.class)];
        let mut entry = class.entry;
        if let Component::Dns(dns) = &mut self.components[entry as usize] {
            let region = match &self.scenario.network.regions {
                Some(r) => r.of_user(self.scenario.seed, user),
                None => 0,
            };
            let t = dns.resolve(self.scenario.seed, user, region, now);
            if self.window.contains(now) {
                dns.answers[t] += 1;
            }
            entry = dns.spec.targets[t];
        }
        let mut replica = 0;
        let mut route = None;
        match &self.components[entry as usize] {
            Component::Server(s) if s.replication.is_some() => {
                route = self.database_route(entry, slot, Caller::User(user), None);
                if let Some(Target::Replica(r)) = route {
                    replica = r;
                }
            }
            // No balancer in front: clients spread themselves (DNS round robin).
            Component::Server(s) if s.spec.replicas > 1 => {
                replica = self.client_rng.random_range(0..s.spec.replicas);
            }
            _ => {}
        }
        let at = now + self.user_latency(slot, entry, replica);
        let frame = Frame {
            request: slot,
            parent: NO_PARENT,
            component: entry,
            replica,
            ..Frame::default()
        };
        let frame = self.frames.insert(frame);
        if let Some(Target::NoPrimary(shard)) = route {
            self.no_primary(frame, entry, shard, at);
        } else {
            self.schedule(at, EventKind::FrameArrive, frame, 0);
        }
        let timeout = self.scenario.workload.timeout;
        self.arm_timeout(slot, now + timeout);
    }

    /// The answer to attempt `slot` reached the client.
    pub(crate) fn client_receive(&mut self, slot: u32, status: Status) {
        match self.requests.get(slot).state {
            RequestState::InFlight => {
                self.disarm_timeout(slot);
                self.resolve_attempt(slot, outcome_of(status));
                self.requests.remove(slot);
            }
            // The client gave up on it earlier; the orphaned work has now drained.
            RequestState::Abandoned => self.requests.remove(slot),
            RequestState::Free | RequestState::Backoff => {
                debug_assert!(false, "answer for a request slot that was not in flight");
            }
        }
    }

    /// Attempt `slot` reached its deadline while in flight: the client gives up on it.
    pub(crate) fn client_timeout(&mut self, slot: u32) {
        self.requests.get_mut(slot).state = RequestState::Abandoned;
        self.resolve_attempt(slot, Outcome::TimedOut);
    }

    /// An attempt ended with `outcome`: conclude, or retry after a backoff.
    fn resolve_attempt(&mut self, slot: u32, outcome: Outcome) {
        let req = *self.requests.get(slot);
        if let Some(Some(b)) = self.breakers.get_mut(usize::from(req.class)) {
            let sent = req.deadline.since(self.scenario.workload.timeout);
            b.record(outcome != Outcome::Completed, sent, self.now);
        }
        let retry = &self.scenario.workload.retry;
        if outcome == Outcome::Completed || u32::from(req.attempt) >= retry.max_attempts {
            return self.conclude(&req, outcome);
        }
        let next_attempt = req.attempt + 1;
        let backoff = retry.backoff(u32::from(next_attempt), &mut self.client_rng);
        if req.counted {
            self.metrics.retries += 1;
        }
        let again = Request {
            attempt: next_attempt,
            state: RequestState::Backoff,
            ..req
        };
        let again = self.requests.insert(again);
        self.schedule(self.now + backoff, EventKind::RetryStart, again, 0);
    }

    /// The single place a logical request ends: counts it, and sends a closed-loop user back
    /// to thinking.
    pub(crate) fn conclude(&mut self, req: &Request, outcome: Outcome) {
        let now = self.now;
        let latency = now - req.first_start;
        self.outstanding -= 1;
        self.metrics.in_system.add(now, -1);
        let good = latency <= self.metrics.good_within;
        self.metrics.timeseries.on_end(outcome, latency, good);
        if outcome == Outcome::Completed && self.window.contains(now) {
            self.metrics.completed_in_window += 1;
            self.metrics.good_in_window += u64::from(good);
            self.metrics.class_completed_in_window[usize::from(req.class)] += 1;
        }
        if req.counted {
            if !self.metrics.region_outcomes.is_empty() {
                let region = self.user_region(req.user);
                self.metrics.region_outcomes[usize::from(region)].add(outcome);
            }
            let m = &mut self.metrics;
            m.outcomes.add(outcome);
            m.class_outcomes[usize::from(req.class)].add(outcome);
            m.sojourn_sum_ns += u128::from(latency.0);
            if outcome == Outcome::Completed {
                m.latency.record(latency);
                // With one class its histogram is the overall one (`Results` reads it there).
                if m.class_latency.len() > 1 {
                    m.class_latency[usize::from(req.class)].record(latency);
                }
            }
        }
        if self.accepting
            && let LoadModel::Closed { think, .. } = &self.scenario.workload.model
        {
            let at = now + think.sample(&mut self.client_rng);
            self.schedule(at, EventKind::UserWake, req.user, 0);
        }
    }
}
