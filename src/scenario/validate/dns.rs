//! Validation of DNS components and of health checks (shared with load balancers).

use super::Checker;
use crate::engine::time::SimTime;
use crate::model::distribution::MAX_MS;
use crate::model::net::dns::DnsSpec;
use crate::model::net::health::HealthCheck;
use crate::scenario::raw::*;

/// A health check at `path`.
pub(super) fn health_check(c: &mut Checker, path: &str, h: &RawHealthCheck) -> HealthCheck {
    let p = format!("{path}.interval_ms");
    let interval = c.positive(&p, h.interval_ms);
    HealthCheck {
        interval: SimTime::from_ms(c.within(&p, interval, 1.0, MAX_MS)),
        unhealthy_threshold: c.at_least(
            &format!("{path}.unhealthy_threshold"),
            u64::from(h.unhealthy_threshold),
            1,
        ) as u32,
        healthy_threshold: c.at_least(
            &format!("{path}.healthy_threshold"),
            u64::from(h.healthy_threshold),
            1,
        ) as u32,
    }
}

/// A problem if component `name` (referred to at `path`) is a DNS: only users resolve it.
pub(super) fn not_dns(c: &mut Checker, path: &str, name: &str) {
    if matches!(c.raw.components.get(name), Some(RawComponent::Dns(_))) {
        c.problem(
            path,
            format!("`{name}` is a dns: only users resolve it (make it the workload's entry); call one of its targets instead"),
        );
    }
}

pub(super) fn dns(c: &mut Checker, path: &str, d: &RawDns) -> DnsSpec {
    if d.targets.is_empty() {
        c.problem(format!("{path}.targets"), "needs at least one target");
    }
    let mut targets = Vec::new();
    for (i, name) in d.targets.iter().enumerate() {
        let p = format!("{path}.targets[{i}]");
        let id = c.component(&p, name);
        match c.raw.components.get(name) {
            Some(
                RawComponent::Service(_) | RawComponent::LoadBalancer(_) | RawComponent::Gateway(_),
            ) => {}
            Some(_) => c.problem(
                &p,
                format!("`{name}` cannot be a DNS target: targets are load balancers, gateways or services"),
            ),
            None => {}
        }
        if targets.contains(&id) {
            c.problem(&p, format!("`{name}` is listed twice"));
        }
        targets.push(id);
    }
    let ttl = c.non_negative(&format!("{path}.ttl_s"), d.ttl_s);
    c.within(&format!("{path}.ttl_s"), ttl, 0.0, MAX_MS / 1e3);
    DnsSpec {
        targets,
        ttl: SimTime::from_secs(ttl),
        health_check: health_check(c, &format!("{path}.health_check"), &d.health_check),
        // Filled once the regions are known.
        preference: Vec::new(),
    }
}
