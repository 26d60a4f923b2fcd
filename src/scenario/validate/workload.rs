//! Validation of the workload: load model, profile, classes, timeout and retries.

use super::{Checker, MAX_DURATION_S, MAX_USERS};

/// Largest request or response, in bytes (a terabyte): its time on the slowest NIC still
/// fits integer nanoseconds.
const MAX_BYTES: u64 = 1_000_000_000_000;
use crate::engine::time::SimTime;
use crate::model::client::breaker::BreakerSpec;
use crate::model::client::workload::{Class, Keys, LoadModel, Profile, Retry, Workload};
use crate::model::distribution::{MAX_MS, show};
use crate::scenario::raw::*;
use rand_distr::Zipf;

pub(super) fn workload(c: &mut Checker) -> Workload {
    let w = &c.raw.workload;
    let model = match &w.model {
        RawLoadModel::Closed {
            users,
            think_time_ms,
        } => {
            let users = c.at_least("workload.model.closed.users", *users, 1);
            if users > MAX_USERS {
                c.problem(
                    "workload.model.closed.users",
                    format!("at most {MAX_USERS}, got {users}"),
                );
            }
            let think = c.dist("workload.model.closed.think_time_ms", think_time_ms);
            LoadModel::Closed { users, think }
        }
        RawLoadModel::Open { rate_per_s } => LoadModel::Open {
            rate_per_s: {
                let path = "workload.model.open.rate_per_s";
                let rate = c.positive(path, *rate_per_s);
                c.within(path, rate, 1e-9, 1e8)
            },
        },
    };
    let closed = matches!(model, LoadModel::Closed { .. });
    let profile = load_profile(c, "workload.profile", &w.profile, closed);
    let default_class = RawClass {
        weight: 1.0,
        entry: None,
        request_bytes: 1_000,
        response_bytes: 10_000,
        keys: RawKeys::default(),
        circuit_breaker: None,
        profile: None,
        retry_rate_limited: false,
    };
    let raw_classes: Vec<(String, RawClass)> = if w.classes.is_empty() {
        vec![("default".into(), default_class)]
    } else {
        w.classes
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let mut classes = Vec::new();
    let mut cumulative_weights = Vec::new();
    let mut total = 0.0;
    for (name, class) in raw_classes {
        let path = format!("workload.classes.{name}");
        // 0: users never send it (a message class, sent by `send` steps only).
        let weight = c.non_negative(&format!("{path}.weight"), class.weight);
        c.within(&format!("{path}.weight"), weight, 1e-9, 1e9);
        total += weight;
        cumulative_weights.push(total);
        let (entry_path, entry_name) = match &class.entry {
            Some(e) => (format!("{path}.entry"), e),
            None => ("workload.entry".to_string(), &w.entry),
        };
        let entry = c.component(&entry_path, entry_name);
        if weight > 0.0 {
            super::queue::not_an_entry(c, &entry_path, entry_name);
        }
        let keys = match class.keys {
            RawKeys::Uniform { count } => Keys::Uniform {
                count: c
                    .at_least(&format!("{path}.keys.uniform.count"), count, 1)
                    .max(1),
            },
            RawKeys::Zipf { count, exponent } => {
                let count = c
                    .at_least(&format!("{path}.keys.zipf.count"), count, 1)
                    .max(1);
                let exponent = c.non_negative(&format!("{path}.keys.zipf.exponent"), exponent);
                let dist = Zipf::new(count as f64, exponent.max(0.0))
                    .unwrap_or(Zipf::new(1.0, 1.0).expect("valid"));
                Keys::Zipf { count, dist }
            }
        };
        let breaker = class.circuit_breaker.as_ref().map(|b| {
            let p = format!("{path}.circuit_breaker");
            let window = c.at_least(&format!("{p}.window"), u64::from(b.window), 1);
            if window > 100_000 {
                c.problem(
                    format!("{p}.window"),
                    format!("at most 100000, got {window}"),
                );
            }
            if !(b.failure_ratio > 0.0 && b.failure_ratio <= 1.0) {
                c.problem(
                    format!("{p}.failure_ratio"),
                    format!("must be in (0, 1], got {}", show(b.failure_ratio)),
                );
            }
            let open = c.positive(&format!("{p}.open_ms"), b.open_ms);
            c.within(&format!("{p}.open_ms"), open, 0.001, MAX_MS);
            let probes = c.at_least(
                &format!("{p}.half_open_probes"),
                u64::from(b.half_open_probes),
                1,
            );
            if probes > 100_000 {
                c.problem(
                    format!("{p}.half_open_probes"),
                    format!("at most 100000, got {probes}"),
                );
            }
            BreakerSpec {
                window: window.clamp(1, 100_000) as u32,
                failure_ratio: b.failure_ratio,
                open_for: SimTime::from_ms(open),
                probes: probes.clamp(1, 100_000) as u32,
            }
        });
        classes.push(Class {
            name,
            weight,
            entry,
            request_bytes: c.count(
                &format!("{path}.request_bytes"),
                class.request_bytes,
                0,
                MAX_BYTES,
            ),
            response_bytes: c.count(
                &format!("{path}.response_bytes"),
                class.response_bytes,
                0,
                MAX_BYTES,
            ),
            keys,
            breaker,
            retry_rate_limited: class.retry_rate_limited,
            // A class's level scales its weight, so it is not capped like a closed model's
            // share of users.
            profile: class
                .profile
                .as_ref()
                .map(|p| load_profile(c, &format!("{path}.profile"), p, false)),
        });
    }
    let timeout = c.positive("workload.timeout_ms", w.timeout_ms);
    let timeout = SimTime::from_ms(c.within("workload.timeout_ms", timeout, 0.001, MAX_MS));
    let r = &w.retry;
    let max_attempts =
        c.at_least("workload.retry.max_attempts", u64::from(r.max_attempts), 1) as u32;
    if max_attempts > 100 {
        c.problem(
            "workload.retry.max_attempts",
            format!("at most 100, got {max_attempts}"),
        );
    }
    let initial = c.non_negative("workload.retry.initial_backoff_ms", r.initial_backoff_ms);
    let initial =
        SimTime::from_ms(c.within("workload.retry.initial_backoff_ms", initial, 0.0, MAX_MS));
    if !(r.multiplier.is_finite() && r.multiplier >= 1.0) {
        c.problem(
            "workload.retry.multiplier",
            format!("must be ≥ 1, got {}", r.multiplier),
        );
    }
    let max = c.non_negative("workload.retry.max_backoff_ms", r.max_backoff_ms);
    let max = SimTime::from_ms(c.within("workload.retry.max_backoff_ms", max, 0.0, MAX_MS));
    let keep_alive = match w.connections {
        RawConnections::PerRequest => None,
        RawConnections::KeepAlive { idle_timeout_s } => {
            let path = "workload.connections.keep_alive.idle_timeout_s";
            let s = c.positive(path, idle_timeout_s);
            let s = c.within(path, s, 0.001, MAX_MS / 1000.0);
            if matches!(w.model, RawLoadModel::Open { .. }) {
                c.problem(
                    "workload.connections",
                    "keep_alive needs a closed workload: each open-loop arrival is a new user \
                     with one request; use per_request, or model the users as closed",
                );
            }
            Some(SimTime::from_secs(s))
        }
    };
    if total <= 0.0 {
        c.problem(
            "workload.classes",
            "no class has a weight above 0: users would send nothing; give one a weight",
        );
    }
    Workload {
        model,
        profile,
        class_profiles: classes.iter().any(|c| c.profile.is_some()),
        classes,
        cumulative_weights,
        timeout,
        retry: Retry {
            max_attempts,
            initial,
            multiplier: r.multiplier,
            max,
            jitter: r.jitter,
        },
        keep_alive,
    }
}

fn load_profile(c: &mut Checker, path: &str, raw: &RawProfile, closed: bool) -> Profile {
    let level = |c: &mut Checker, p: String, v: f64| {
        let v = c.non_negative(&p, v);
        if !closed {
            c.within(&p, v, 0.0, 1e6);
        }
        if closed && v > 1.0 {
            c.problem(p, format!("a closed model's level is the share of users active, at most 1, got {v}; raise `users` instead"));
        }
        v
    };
    let profile = match raw {
        RawProfile::Constant => Profile::Constant,
        RawProfile::Steps(steps) => {
            if steps.is_empty() {
                c.problem(format!("{path}.steps"), "needs at least one step");
            }
            let mut out = Vec::new();
            for (i, s) in steps.iter().enumerate() {
                let at = c.number(
                    &format!("{path}.steps[{i}].at_s"),
                    s.at_s,
                    0.0,
                    MAX_DURATION_S,
                );
                if i == 0 && at != 0.0 {
                    c.problem(
                        format!("{path}.steps[0].at_s"),
                        format!("the first step must start at 0, got {at}"),
                    );
                }
                if let Some((prev, _)) = out.last()
                    && SimTime::from_secs(at) <= *prev
                {
                    c.problem(
                        format!("{path}.steps[{i}].at_s"),
                        "steps must be in increasing time order",
                    );
                }
                let l = level(c, format!("{path}.steps[{i}].level"), s.level);
                out.push((SimTime::from_secs(at), l));
            }
            Profile::Steps(out)
        }
        RawProfile::Ramp {
            from,
            to,
            start_s,
            end_s,
        } => {
            let from = level(c, format!("{path}.ramp.from"), *from);
            let to = level(c, format!("{path}.ramp.to"), *to);
            let start = c.number(
                &format!("{path}.ramp.start_s"),
                *start_s,
                0.0,
                MAX_DURATION_S,
            );
            let end = c.number(&format!("{path}.ramp.end_s"), *end_s, 0.0, MAX_DURATION_S);
            if end <= start {
                c.problem(
                    format!("{path}.ramp.end_s"),
                    format!("must be after start_s ({start}), got {end}"),
                );
            }
            Profile::Ramp {
                from,
                to,
                start: SimTime::from_secs(start),
                end: SimTime::from_secs(end),
            }
        }
        RawProfile::Spike {
            base,
            peak,
            start_s,
            duration_s,
        } => {
            let base = level(c, format!("{path}.spike.base"), *base);
            let peak = level(c, format!("{path}.spike.peak"), *peak);
            let start = c.number(
                &format!("{path}.spike.start_s"),
                *start_s,
                0.0,
                MAX_DURATION_S,
            );
            let span = c.positive(&format!("{path}.spike.duration_s"), *duration_s);
            c.within(
                &format!("{path}.spike.duration_s"),
                span,
                1e-6,
                MAX_DURATION_S,
            );
            Profile::Spike {
                base,
                peak,
                start: SimTime::from_secs(start),
                end: SimTime::from_secs(start + span),
            }
        }
    };
    if profile.max_level() <= 0.0 {
        c.problem(path, "the load is zero all the time; give some level > 0");
    }
    profile
}
