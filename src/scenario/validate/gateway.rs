//! Validation of what an API gateway adds to a load balancer (auth step, size limit, rate
//! limits), compiled into a `GatewaySpec`.

use super::Checker;
use super::MAX_USERS;
use crate::model::distribution::Dist;
use crate::model::net::gateway::{GatewaySpec, LimitScope, RateLimitSpec};
use crate::scenario::raw::*;
use crate::scenario::suggest::hint;

/// Most rate limits on one gateway (each is checked on every request).
const MAX_LIMITS: usize = 64;

pub(super) fn gateway(c: &mut Checker, path: &str, b: &RawLoadBalancer) -> GatewaySpec {
    let classes = c.class_names.len();
    let users = match &c.raw.workload.model {
        RawLoadModel::Closed { users, .. } => (*users).min(MAX_USERS) as usize,
        RawLoadModel::Open { .. } => 0,
    };
    let auth = match &b.auth_cpu_ms {
        Some(d) => c.dist(&format!("{path}.auth_cpu_ms"), d),
        None => Dist::Constant(crate::engine::time::SimTime::ZERO),
    };
    if let Some(max) = b.max_request_bytes {
        c.at_least(&format!("{path}.max_request_bytes"), max, 1);
    }
    if b.rate_limits.len() > MAX_LIMITS {
        c.problem(
            format!("{path}.rate_limits"),
            format!("at most {MAX_LIMITS} limits, got {}", b.rate_limits.len()),
        );
    }
    let limits = b
        .rate_limits
        .iter()
        .take(MAX_LIMITS)
        .enumerate()
        .map(|(i, l)| limit(c, &format!("{path}.rate_limits[{i}]"), l))
        .collect();
    GatewaySpec {
        auth,
        max_request_bytes: b.max_request_bytes,
        limits,
        classes,
        users,
    }
}

fn limit(c: &mut Checker, path: &str, l: &RawRateLimit) -> RateLimitSpec {
    let scope = match l.per {
        RawLimitScope::Gateway => LimitScope::Gateway,
        RawLimitScope::Class => LimitScope::Class,
        RawLimitScope::User => LimitScope::User,
    };
    if scope == LimitScope::User && matches!(c.raw.workload.model, RawLoadModel::Open { .. }) {
        c.problem(
            format!("{path}.per"),
            "`user` needs a closed workload: in an open one every request comes from a new \
             user; limit per `class` (a kind of client) or for the whole `gateway`",
        );
    }
    let rate = c.positive(&format!("{path}.rate_per_s"), l.rate_per_s);
    c.within(&format!("{path}.rate_per_s"), rate, 1e-6, 1e9);
    let rate = if rate.is_finite() && rate > 0.0 {
        rate.clamp(1e-6, 1e9)
    } else {
        1.0
    };
    let burst = match l.burst {
        Some(b) => c.at_least(&format!("{path}.burst"), u64::from(b), 1) as u32,
        None => rate.ceil() as u32,
    }
    .max(1);
    let mut applies = vec![l.classes.is_none(); c.class_names.len()];
    for (i, name) in l.classes.iter().flatten().enumerate() {
        match c.class_names.iter().position(|n| n == name) {
            Some(k) => applies[k] = true,
            None => {
                let h = hint(name, c.class_names.iter().map(String::as_str));
                c.problem(
                    format!("{path}.classes[{i}]"),
                    format!(
                        "no request class named `{name}`{h} (classes are declared in workload.classes)"
                    ),
                );
            }
        }
    }
    if l.classes.as_ref().is_some_and(Vec::is_empty) {
        c.problem(
            format!("{path}.classes"),
            "lists no class: name at least one, or leave `classes` out to limit every class",
        );
    }
    RateLimitSpec::new(scope, applies, rate, burst)
}
