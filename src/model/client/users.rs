//! The client side of a request: users waking up, open arrivals, attempts with their
//! timeouts, retries with backoff, and the one place where a logical request concludes.
//!
//! The users are not a component: they hold their own random stream, timeouts and circuit
//! breakers (`Client`), and reach the entry component through its door.

use crate::engine::rng::Stream;
use crate::metrics::outcome::{FailReason, Outcome, Status};
use crate::model::client::breaker::Breaker;
use crate::model::client::timeouts::TimeoutList;
use crate::model::client::workload::LoadModel;
use crate::model::component::{Caller, Landing, Others};
use crate::model::context::Context;
use crate::model::event::Event;
use crate::model::ids::RequestId;
use crate::model::request::{Frame, Request, RequestState};
use rand::RngExt;
use rand_distr::{Distribution, Exp1};

fn outcome_of(status: Status) -> Outcome {
    match status {
        Status::Ok => Outcome::Completed,
        Status::BackendDown => Outcome::Failed(FailReason::BackendDown),
        refusal => Outcome::Rejected(refusal),
    }
}

/// The users' side of a run.
#[derive(Debug)]
pub struct Client {
    pub rng: Stream,
    pub timeouts: TimeoutList,
    /// Per request class: its circuit breaker, if it has one (empty if no class has one).
    pub breakers: Vec<Option<Breaker>>,
    /// The next open-loop user id.
    next_open_user: u32,
}

impl Client {
    pub fn new(rng: Stream, breakers: Vec<Option<Breaker>>) -> Client {
        Client {
            rng,
            timeouts: TimeoutList::default(),
            breakers,
            next_open_user: 0,
        }
    }

    /// A closed-loop user finished thinking: send a request if the profile has it active.
    pub(crate) fn user_wake(&mut self, ctx: &mut Context, others: &mut Others, user: u32) {
        if !ctx.accepting {
            return;
        }
        let w = &ctx.scenario.workload;
        if u64::from(user) >= w.active_users(ctx.now) {
            if let LoadModel::Closed { think, .. } = &w.model {
                let at = ctx.now + think.sample(&mut self.rng);
                ctx.schedule(at, Event::UserWake { user });
                // A user the profile has made inactive lets its kept-alive connection idle
                // out (closed the idle timeout from now).
                ctx.idle_out(user);
            }
            return;
        }
        self.new_request(ctx, others, user);
    }

    /// Open model: one candidate arrival of a Poisson process at the profile's peak rate,
    /// kept with probability level(now)/peak (thinning, exact for a varying rate).
    pub(crate) fn open_arrival(&mut self, ctx: &mut Context, others: &mut Others) {
        if !ctx.accepting {
            return;
        }
        let w = &ctx.scenario.workload;
        let LoadModel::Open { rate_per_s } = w.model else {
            return;
        };
        // Each class's own profile scales its share of the rate.
        let peak = w.profile.max_level() * w.mix_peak();
        let keep = w.profile.level(ctx.now) * w.mix_level(ctx.now) / peak;
        if keep >= 1.0 || self.rng.random::<f64>() < keep {
            let user = self.next_open_user;
            self.next_open_user = self.next_open_user.wrapping_add(1);
            self.new_request(ctx, others, user);
        }
        let gap_s: f64 = Exp1.sample(&mut self.rng);
        let at = ctx.now + crate::engine::time::SimTime::from_secs(gap_s / (rate_per_s * peak));
        ctx.schedule(at, Event::OpenArrival);
    }

    /// A user starts a logical request.
    fn new_request(&mut self, ctx: &mut Context, others: &mut Others, user: u32) {
        let w = &ctx.scenario.workload;
        let Some(class) = w.pick_class(&mut self.rng, ctx.now) else {
            // Every class is at level 0 now: a closed user thinks again.
            if let LoadModel::Closed { think, .. } = &w.model {
                let at = ctx.now + think.sample(&mut self.rng);
                ctx.schedule(at, Event::UserWake { user });
            }
            return;
        };
        let key = w.classes[usize::from(class)].keys.sample(&mut self.rng);
        let req = Request {
            user,
            class,
            attempt: 1,
            key,
            first_start: ctx.now,
            counted: ctx.window.contains(ctx.now),
            ..Request::default()
        };
        let r = ctx.requests.insert(req);
        ctx.outstanding += 1;
        ctx.metrics.in_system.add(ctx.now, 1);
        ctx.metrics.timeseries.on_start();
        self.start_attempt(ctx, others, r);
    }

    /// Sends attempt `r` to its entry component and arms its timeout.
    pub(crate) fn start_attempt(&mut self, ctx: &mut Context, others: &mut Others, r: RequestId) {
        let now = ctx.now;
        let class = usize::from(ctx.requests.get(r).class);
        if let Some(Some(b)) = self.breakers.get_mut(class)
            && !b.allow(now)
        {
            // Refused without sending, and not retried: that is what the breaker is for.
            let req = *ctx.requests.get(r);
            self.conclude(ctx, &req, Outcome::Rejected(Status::CircuitOpen));
            ctx.requests.remove(r);
            return;
        }
        let req = ctx.requests.get_mut(r);
        req.state = RequestState::InFlight;
        let user = req.user;
        let mut entry = ctx.scenario.workload.classes[class].entry;
        if let Some(target) = others.get(entry).resolve(ctx, user) {
            entry = target;
        }
        let landing = others.get(entry).land(ctx, r, Caller::User(user), None);
        let mut machine = match landing {
            Landing::Machine(m) => m,
            // No balancer in front: clients spread themselves (DNS round robin).
            Landing::Spread(n) if n > 1 => self.rng.random_range(0..n),
            Landing::Spread(_) | Landing::NoPrimary(_) => 0,
        };
        // A kept-alive connection to the entry is used again, on its machine; otherwise the
        // attempt opens one: the TCP handshake's round trip comes before the request.
        let mut kept = None;
        if !ctx.kept.is_empty() {
            let i = ctx.kept_index(user, class as u16);
            let c = ctx.kept[i];
            if c.open && c.component != entry {
                // The entry changed (DNS moved the user): the old connection idles out.
                ctx.idle_out_slot(i);
            } else if c.open {
                machine = c.machine;
                kept = Some(c.epoch);
            }
        }
        let latency = ctx.user_latency(r, entry, machine);
        let mut at = now + latency;
        if kept.is_none() {
            // SYN and SYN-ACK take the request's path there and back; a cut link is waited
            // for once (by the first leg, when the request goes with the last).
            let base = if ctx.net.plain {
                latency
            } else {
                let (a, b) = (ctx.user_region(user), ctx.machine_region(entry, machine));
                latency - ctx.cut_wait(a, b)
            };
            at += base + base;
        }
        let frame = ctx.frames.insert(Frame {
            request: r,
            parent: None,
            component: entry,
            machine,
            fresh_connection: kept.is_none(),
            connecting: kept.is_none(),
            epoch: kept.unwrap_or(0),
            ..Frame::default()
        });
        if let Landing::NoPrimary(shard) = landing {
            others
                .get(entry)
                .hold_or_refuse(entry, ctx, frame, shard, at);
        } else {
            ctx.schedule(at, Event::FrameArrive { frame });
        }
        let timeout = ctx.scenario.workload.timeout;
        self.arm_timeout(ctx, r, now + timeout);
    }

    /// The answer to attempt `r` reached the client.
    pub(crate) fn receive(&mut self, ctx: &mut Context, r: RequestId, status: Status) {
        match ctx.requests.get(r).state {
            RequestState::InFlight => {
                self.disarm_timeout(ctx, r);
                self.resolve_attempt(ctx, r, outcome_of(status));
                ctx.requests.remove(r);
            }
            // The client gave up on it earlier; the orphaned work has now drained.
            RequestState::Abandoned => ctx.requests.remove(r),
            RequestState::Free | RequestState::Backoff => {
                debug_assert!(false, "answer for a request slot that was not in flight");
            }
        }
    }

    /// Attempt `r` reached its deadline while in flight: the client gives up on it (on a
    /// kept-alive connection, it cancels the request and keeps the connection, as an HTTP/2
    /// client resets a stream).
    pub(crate) fn time_out(&mut self, ctx: &mut Context, r: RequestId) {
        ctx.requests.get_mut(r).state = RequestState::Abandoned;
        self.resolve_attempt(ctx, r, Outcome::TimedOut);
    }

    /// An attempt ended with `outcome`: conclude, or retry after a backoff.
    fn resolve_attempt(&mut self, ctx: &mut Context, r: RequestId, outcome: Outcome) {
        let req = *ctx.requests.get(r);
        if let Some(Some(b)) = self.breakers.get_mut(usize::from(req.class)) {
            let sent = req.deadline.since(ctx.scenario.workload.timeout);
            b.record(outcome != Outcome::Completed, sent, ctx.now);
        }
        let retry = &ctx.scenario.workload.retry;
        if outcome == Outcome::Completed
            || u32::from(req.attempt) >= retry.max_attempts
            || (outcome == Outcome::Rejected(Status::RateLimited)
                && !ctx.scenario.workload.classes[usize::from(req.class)].retry_rate_limited)
        {
            return self.conclude(ctx, &req, outcome);
        }
        let next_attempt = req.attempt + 1;
        let backoff = retry.backoff(u32::from(next_attempt), &mut self.rng);
        if req.counted {
            ctx.metrics.retries += 1;
        }
        let again = Request {
            attempt: next_attempt,
            state: RequestState::Backoff,
            ..req
        };
        let again = ctx.requests.insert(again);
        ctx.schedule(ctx.now + backoff, Event::RetryStart { request: again });
    }

    /// The single place a logical request ends: counts it, and sends a closed-loop user back
    /// to thinking.
    pub(crate) fn conclude(&mut self, ctx: &mut Context, req: &Request, outcome: Outcome) {
        let now = ctx.now;
        let latency = now - req.first_start;
        ctx.outstanding -= 1;
        ctx.metrics.in_system.add(now, -1);
        let good = latency <= ctx.metrics.good_within;
        ctx.metrics.timeseries.on_end(outcome, latency, good);
        if outcome == Outcome::Completed && ctx.window.contains(now) {
            ctx.metrics.completed_in_window += 1;
            ctx.metrics.good_in_window += u64::from(good);
            ctx.metrics.class_completed_in_window[usize::from(req.class)] += 1;
        }
        if req.counted {
            if !ctx.metrics.region_outcomes.is_empty() {
                let region = ctx.user_region(req.user);
                ctx.metrics.region_outcomes[usize::from(region)].add(outcome);
            }
            let m = &mut ctx.metrics;
            m.outcomes.add(outcome);
            m.class_outcomes[usize::from(req.class)].add(outcome);
            m.sojourn_sum_ns += u128::from(latency.0);
            if outcome == Outcome::Completed {
                m.latency.record(latency);
                if ctx.jobs_running > 0 {
                    m.latency_during_jobs.record(latency);
                }
                // With one class its histogram is the overall one (`Results` reads it there).
                if m.class_latency.len() > 1 {
                    m.class_latency[usize::from(req.class)].record(latency);
                }
            }
        }
        if ctx.accepting
            && let LoadModel::Closed { think, .. } = &ctx.scenario.workload.model
        {
            let think = think.sample(&mut self.rng);
            ctx.schedule(now + think, Event::UserWake { user: req.user });
            // A kept-alive connection idle for longer than the server allows is closed by
            // the server when that time has passed; the user opens a new one when it wakes.
            if ctx
                .scenario
                .workload
                .keep_alive
                .is_some_and(|idle| think >= idle)
            {
                ctx.idle_out(req.user);
            }
        }
    }
}
