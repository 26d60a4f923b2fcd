//! Load balancers: spread calls over the replicas of backend services by a policy, refuse
//! beyond their own connection cap, and (with health checks) stop sending to dead backends
//! only once enough checks have failed: until then requests to a dead backend fail, which is
//! exactly what the results should show.

use crate::engine::event::EventKind;
use crate::engine::rng::{Stream, hash_pair};
use crate::engine::sim::{Component, Frame, Simulation};
use crate::engine::time::SimTime;
use crate::metrics::outcome::{STATUS_COUNT, Status};
use crate::metrics::time_weighted::{TimeWeighted, mean_between};
use crate::metrics::timeseries::IntervalLoad;
use crate::model::distribution::Dist;
use crate::scenario::raw::LbPolicy;
use rand::RngExt;

/// Validated health-check settings.
#[derive(Debug, Clone)]
pub struct HealthCheck {
    pub interval: SimTime,
    pub unhealthy_threshold: u32,
    pub healthy_threshold: u32,
}

/// Consecutive check results of one target, and what the checker believes about it.
#[derive(Debug, Clone, Copy)]
pub struct CheckRecord {
    pub healthy: bool,
    pub failed_checks: u32,
    pub passed_checks: u32,
}

impl Default for CheckRecord {
    fn default() -> Self {
        CheckRecord {
            healthy: true,
            failed_checks: 0,
            passed_checks: 0,
        }
    }
}

impl HealthCheck {
    /// Records one check that found the target `up`; returns the new belief if it changed
    /// (after enough consecutive results the other way).
    pub fn observe(&self, r: &mut CheckRecord, up: bool) -> Option<bool> {
        if up {
            r.failed_checks = 0;
            r.passed_checks = r.passed_checks.saturating_add(1);
            if !r.healthy && r.passed_checks >= self.healthy_threshold {
                r.healthy = true;
                return Some(true);
            }
        } else {
            r.passed_checks = 0;
            r.failed_checks = r.failed_checks.saturating_add(1);
            if r.healthy && r.failed_checks >= self.unhealthy_threshold {
                r.healthy = false;
                return Some(false);
            }
        }
        None
    }
}

/// A load balancer as the scenario describes it.
#[derive(Debug, Clone)]
pub struct BalancerSpec {
    /// (server component, replica, weight) for every backend replica.
    pub backends: Vec<(u32, u32, f64)>,
    pub policy: LbPolicy,
    pub forward: Dist,
    pub max_connections: u32,
    pub health_check: Option<HealthCheck>,
    pub cost_per_hour: f64,
    /// Sets of backend indices a request may go to (routing by class); without routes, one
    /// set of every backend.
    pub groups: Vec<Vec<u32>>,
    /// Per request class, its index in `groups`.
    pub class_group: Vec<u16>,
}

/// What the balancer believes about one backend.
#[derive(Debug, Clone, Default)]
pub struct Backend {
    /// Its check results, and whether it is believed healthy (`checks.healthy`).
    pub checks: CheckRecord,
    /// Calls in flight through this balancer to this backend.
    pub active: u32,
    pub sent: u64,
}

/// A health state change, for the report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HealthChange {
    pub at: SimTime,
    pub backend: usize,
    pub healthy: bool,
}

/// A load balancer's live state.
#[derive(Debug)]
pub struct Balancer {
    pub spec: BalancerSpec,
    pub backends: Vec<Backend>,
    pub rng: Stream,
    /// Per group.
    next_round_robin: Vec<usize>,
    pub connections: u32,
    pub conns: TimeWeighted,
    pub refused: [u64; STATUS_COUNT],
    /// Calls answered `Ok` during the window.
    pub served: u64,
    pub changes: Vec<HealthChange>,
    /// False while the balancer is down (an outage); `epoch` counts its crashes so calls it
    /// forwarded before one are recognised when their answers come back.
    pub alive: bool,
    pub epoch: u32,
    /// Outages in force (overlapping ones keep it down until the last ends).
    down: u32,
    /// Backends believed unhealthy.
    unhealthy: u32,
    window_area: u128,
    window_started: SimTime,
    pub mean_connections: f64,
    last_tick_area: u128,
    last_tick: SimTime,
}

impl Balancer {
    pub fn new(spec: BalancerSpec, rng: Stream) -> Balancer {
        let backends = vec![Backend::default(); spec.backends.len()];
        let next_round_robin = vec![0; spec.groups.len()];
        Balancer {
            spec,
            backends,
            rng,
            next_round_robin,
            connections: 0,
            conns: TimeWeighted::default(),
            refused: [0; STATUS_COUNT],
            served: 0,
            changes: Vec::new(),
            alive: true,
            epoch: 0,
            down: 0,
            unhealthy: 0,
            window_area: 0,
            window_started: SimTime::ZERO,
            mean_connections: 0.0,
            last_tick_area: 0,
            last_tick: SimTime::ZERO,
        }
    }

    /// Takes backend `i` out of rotation or puts it back.
    pub fn set_healthy(&mut self, i: usize, healthy: bool) {
        let b = &mut self.backends[i];
        if b.checks.healthy != healthy {
            b.checks.healthy = healthy;
            self.count_change(healthy);
        }
    }

    /// Keeps `unhealthy` in step with a backend that changed to `healthy`.
    fn count_change(&mut self, healthy: bool) {
        if healthy {
            self.unhealthy -= 1;
        } else {
            self.unhealthy += 1;
        }
    }

    /// Chooses a healthy backend for a request of `class` from `user` for `key`, or none.
    pub fn pick(&mut self, class: u16, user: u32, key: u64, seed: u64) -> Option<usize> {
        let g = self.spec.class_group[usize::from(class)] as usize;
        let group = &self.spec.groups[g];
        let n = group.len();
        let backends = &self.backends;
        let healthy_ones = || {
            group
                .iter()
                .map(|&i| i as usize)
                .filter(|&i| backends[i].checks.healthy)
        };
        // Counting is only needed once some backend is out.
        let healthy = if self.unhealthy == 0 {
            n
        } else {
            healthy_ones().count()
        };
        if healthy == 0 {
            return None;
        }
        match self.spec.policy {
            LbPolicy::RoundRobin => {
                let next = &mut self.next_round_robin[g];
                for _ in 0..n {
                    let k = *next % n;
                    *next = (k + 1) % n;
                    let i = group[k] as usize;
                    if backends[i].checks.healthy {
                        return Some(i);
                    }
                }
                None
            }
            LbPolicy::LeastConnections => healthy_ones().min_by_key(|&i| (backends[i].active, i)),
            LbPolicy::IpHash | LbPolicy::KeyHash => {
                let h = if self.spec.policy == LbPolicy::IpHash {
                    hash_pair(seed, u64::from(user))
                } else {
                    // Not seeded: which backend owns a key is part of the design.
                    hash_pair(0x6b65_795f_6861_7368, key)
                };
                let start = (h % n as u64) as usize;
                (0..n)
                    .map(|k| group[(start + k) % n] as usize)
                    .find(|&i| backends[i].checks.healthy)
            }
            LbPolicy::Random => {
                let k = self.rng.random_range(0..healthy);
                healthy_ones().nth(k)
            }
            LbPolicy::Weighted => {
                let weight = |i: usize| self.spec.backends[i].2;
                let total: f64 = healthy_ones().map(weight).sum();
                let mut x = self.rng.random::<f64>() * total;
                let mut last = None;
                for i in healthy_ones() {
                    last = Some(i);
                    x -= weight(i);
                    if x < 0.0 {
                        return Some(i);
                    }
                }
                last
            }
            LbPolicy::PowerOfTwoChoices => {
                let a = healthy_ones().nth(self.rng.random_range(0..healthy))?;
                let b = healthy_ones().nth(self.rng.random_range(0..healthy))?;
                Some(if backends[b].active < backends[a].active {
                    b
                } else {
                    a
                })
            }
        }
    }

    pub fn snapshot_window_start(&mut self, now: SimTime) {
        self.window_area = self.conns.area_at(now);
        self.window_started = now;
    }

    pub fn snapshot_window_end(&mut self, now: SimTime) {
        let area = self.conns.area_at(now);
        self.mean_connections = mean_between(self.window_area, area, now - self.window_started);
    }

    /// Mean share of the connection cap in use since the previous call (a balancer has
    /// no queue: a request it cannot pass on is refused).
    pub fn interval_load(&mut self, now: SimTime) -> IntervalLoad {
        let area = self.conns.area_at(now);
        let utilisation = mean_between(self.last_tick_area, area, now - self.last_tick)
            / f64::from(self.spec.max_connections);
        self.last_tick_area = area;
        self.last_tick = now;
        IntervalLoad {
            utilisation,
            hottest_utilisation: utilisation,
            mean_queue: 0.0,
        }
    }
}

fn balancer_of(components: &mut [Component], c: u32) -> &mut Balancer {
    match &mut components[c as usize] {
        Component::Balancer(b) => b,
        _ => unreachable!("component {c} is not a load balancer"),
    }
}

impl Simulation {
    /// A call reaches the balancer: refuse it or forward it to a backend.
    pub(crate) fn balancer_arrive(&mut self, f: u32) {
        let now = self.now;
        let fr = *self.frames.get(f);
        let req = *self.requests.get(fr.request);
        let seed = self.scenario.seed;
        let lb = balancer_of(&mut self.components, fr.component);
        if !lb.alive {
            return self.balancer_reply(f, Status::BackendDown);
        }
        let epoch = lb.epoch;
        if lb.connections >= lb.spec.max_connections {
            if req.counted {
                lb.refused[Status::ConnectionLimit.index()] += 1;
            }
            return self.balancer_reply(f, Status::ConnectionLimit);
        }
        let Some(i) = lb.pick(req.class, req.user, req.key, seed) else {
            if req.counted {
                lb.refused[Status::NoHealthyBackend.index()] += 1;
            }
            return self.balancer_reply(f, Status::NoHealthyBackend);
        };
        lb.connections += 1;
        lb.conns.set(now, u64::from(lb.connections));
        lb.backends[i].active += 1;
        lb.backends[i].sent += 1;
        let (target, replica, _) = lb.spec.backends[i];
        let mut at = now + lb.spec.forward.sample(&mut lb.rng);
        at += self.link_latency(fr.component, 0, target, replica);
        let child = Frame {
            request: fr.request,
            parent: f,
            component: target,
            replica,
            backend: i as u32,
            ..Frame::default()
        };
        self.frames.get_mut(f).epoch = epoch;
        let child = self.frames.insert(child);
        self.schedule(at, EventKind::FrameArrive, child, 0);
    }

    /// The backend answered: pass the answer back.
    pub(crate) fn balancer_child_returned(&mut self, p: u32, child: &Frame) {
        let now = self.now;
        let fr = *self.frames.get(p);
        let lb = balancer_of(&mut self.components, fr.component);
        if fr.epoch != lb.epoch {
            // Forwarded before the balancer went down: its connection died with it.
            return self.balancer_reply(p, Status::BackendDown);
        }
        lb.connections -= 1;
        lb.conns.set(now, u64::from(lb.connections));
        lb.backends[child.backend as usize].active -= 1;
        if child.status == Status::Ok && self.window.contains(now) {
            lb.served += 1;
        }
        self.balancer_reply(p, child.status);
    }

    fn balancer_reply(&mut self, f: u32, status: Status) {
        self.frames.get_mut(f).status = status;
        self.send_back(f, self.now);
    }

    /// Balancer `c` goes down (`up` false) or comes back: calls in flight through it fail.
    pub(crate) fn balancer_power(&mut self, c: u32, up: bool) {
        let now = self.now;
        let lb = balancer_of(&mut self.components, c);
        if up {
            lb.down = lb.down.saturating_sub(1);
        } else {
            lb.down += 1;
        }
        if lb.alive == (lb.down == 0) {
            return;
        }
        lb.alive = lb.down == 0;
        if !up {
            lb.epoch = lb.epoch.wrapping_add(1);
            lb.connections = 0;
            lb.conns.set(now, 0);
            for b in &mut lb.backends {
                b.active = 0;
            }
        }
    }

    /// Probes every backend; marks it down or up after enough consecutive results.
    pub(crate) fn health_check(&mut self, c: u32) {
        let now = self.now;
        let alive: Vec<bool> = {
            let Component::Balancer(lb) = &self.components[c as usize] else {
                return;
            };
            lb.spec
                .backends
                .iter()
                .map(|&(s, r, _)| match &self.components[s as usize] {
                    Component::Server(srv) => srv.replicas[r as usize].alive,
                    _ => true,
                })
                .collect()
        };
        let lb = balancer_of(&mut self.components, c);
        let Some(hc) = lb.spec.health_check.clone() else {
            return;
        };
        for (i, up) in alive.into_iter().enumerate() {
            let b = &mut lb.backends[i];
            if let Some(healthy) = hc.observe(&mut b.checks, up) {
                lb.count_change(healthy);
                lb.changes.push(HealthChange {
                    at: now,
                    backend: i,
                    healthy,
                });
            }
        }
        if self.accepting || self.outstanding > 0 {
            self.schedule(now + hc.interval, EventKind::HealthCheck, c, 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::stream_for;

    fn lb(policy: LbPolicy, n: u32) -> Balancer {
        let spec = BalancerSpec {
            backends: (0..n).map(|r| (0, r, f64::from(r + 1))).collect(),
            policy,
            forward: Dist::Constant(SimTime::ZERO),
            max_connections: 100,
            health_check: None,
            cost_per_hour: 0.0,
            groups: vec![(0..n).collect()],
            class_group: vec![0],
        };
        Balancer::new(spec, stream_for(1, "lb"))
    }

    #[test]
    fn round_robin_cycles_and_skips_unhealthy() {
        let mut b = lb(LbPolicy::RoundRobin, 3);
        let picks: Vec<_> = (0..4).map(|_| b.pick(0, 0, 0, 1).unwrap()).collect();
        assert_eq!(picks, [0, 1, 2, 0]);
        b.set_healthy(1, false);
        let picks: Vec<_> = (0..3).map(|_| b.pick(0, 0, 0, 1).unwrap()).collect();
        assert_eq!(picks, [2, 0, 2]);
    }

    #[test]
    fn least_connections_picks_the_idlest() {
        let mut b = lb(LbPolicy::LeastConnections, 3);
        b.backends[0].active = 5;
        b.backends[1].active = 2;
        b.backends[2].active = 7;
        assert_eq!(b.pick(0, 0, 0, 1), Some(1));
    }

    #[test]
    fn ip_hash_is_sticky_and_fails_over() {
        let mut b = lb(LbPolicy::IpHash, 4);
        let home = b.pick(0, 42, 0, 9).unwrap();
        assert!((0..10).all(|_| b.pick(0, 42, 0, 9) == Some(home)));
        b.set_healthy(home, false);
        let other = b.pick(0, 42, 0, 9).unwrap();
        assert_ne!(other, home);
    }

    #[test]
    fn key_hash_keeps_a_key_on_one_backend_and_spreads_keys() {
        let mut b = lb(LbPolicy::KeyHash, 4);
        let home = b.pick(0, 1, 77, 9).unwrap();
        assert!(
            (0..50).all(|u| b.pick(0, u, 77, 9) == Some(home)),
            "any user, same key"
        );
        let mut seen = [0; 4];
        for k in 0..4000 {
            seen[b.pick(0, 0, k, 9).unwrap()] += 1;
        }
        // Binomial(4000, 1/4): sd ≈ 27; allow 5 sd.
        assert!(seen.iter().all(|&c| (c - 1000_i32).abs() < 137), "{seen:?}");
    }

    #[test]
    fn weighted_follows_weights() {
        let mut b = lb(LbPolicy::Weighted, 2); // weights 1 and 2
        let n = 30_000;
        let second = (0..n).filter(|_| b.pick(0, 0, 0, 1) == Some(1)).count();
        // Expect 2/3; binomial sd = sqrt(n·2/9) ≈ 82, allow 5 sd.
        assert!(
            (second as f64 - n as f64 * 2.0 / 3.0).abs() < 410.0,
            "{second}"
        );
    }

    #[test]
    fn no_healthy_backend_is_none() {
        for policy in [
            LbPolicy::RoundRobin,
            LbPolicy::Random,
            LbPolicy::PowerOfTwoChoices,
            LbPolicy::Weighted,
        ] {
            let mut b = lb(policy, 2);
            (0..2).for_each(|i| b.set_healthy(i, false));
            assert_eq!(b.pick(0, 0, 0, 1), None, "{policy:?}");
        }
    }
}
