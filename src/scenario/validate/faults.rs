//! Validation of the `faults` list: each fault names components that exist and can suffer
//! it, machines within range, and times on the run's clock.

use super::Checker;
use crate::engine::time::SimTime;
use crate::model::distribution::MAX_MS;
use crate::model::ids::ComponentId;
use crate::model::kind::Fleet;
use crate::model::net::region::Regions;
use crate::model::{ComponentKind, ComponentSpec, Fault, FaultKind};
use crate::scenario::raw::*;
use crate::scenario::suggest::hint;
use std::ops::Range;

/// The machines of component `name` (a problem if it is a load balancer, a DNS or unknown).
fn server<'s>(
    c: &mut Checker,
    components: &'s [ComponentSpec],
    path: &str,
    name: &str,
) -> Option<(ComponentId, Fleet<'s>)> {
    let id = c.component(&format!("{path}.component"), name);
    let kind = components.get(id.index()).map(|s| &s.kind);
    if let Some(fleet) = kind.and_then(ComponentKind::fleet) {
        return Some((id, fleet));
    }
    match kind {
        Some(
            ComponentKind::Service(_)
            | ComponentKind::Cache(_)
            | ComponentKind::Database(_)
            | ComponentKind::Queue(_)
            | ComponentKind::Topic(_),
        ) => unreachable!("servers have machines"),
        Some(ComponentKind::Balancer(_)) => {
            c.problem(
                format!("{path}.component"),
                "a load balancer fails as a whole: use an `outage` fault",
            );
            None
        }
        Some(ComponentKind::Dns(_)) => {
            c.problem(
                format!("{path}.component"),
                "a dns cannot fail; make its targets fail",
            );
            None
        }
        None => None,
    }
}

/// The time `at_s` and, from `after_s`, the end.
fn span(
    c: &mut Checker,
    path: &str,
    at_s: f64,
    after_s: Option<(&str, f64)>,
) -> (SimTime, Option<SimTime>) {
    let at = c.non_negative(&format!("{path}.at_s"), at_s);
    c.within(&format!("{path}.at_s"), at, 0.0, super::MAX_DURATION_S);
    if at.is_finite() && at >= c.raw.duration_s && c.raw.duration_s > 0.0 {
        c.problem(
            format!("{path}.at_s"),
            format!(
                "the run ends at duration_s = {}, so this fault would never happen; got {}",
                c.raw.duration_s, at
            ),
        );
    }
    let at = SimTime::from_secs(at);
    let until = after_s.map(|(field, d)| {
        let p = format!("{path}.{field}");
        let d = c.positive(&p, d);
        at + SimTime::from_secs(c.within(&p, d, 1e-6, MAX_MS / 1e3))
    });
    (at, until)
}

/// The one machine `replica` (of `shard`, for a sharded database) as a replica range.
fn machine(
    c: &mut Checker,
    path: &str,
    name: &str,
    s: Fleet,
    shard: u32,
    replica: u32,
) -> Option<Range<u32>> {
    let (shards, members) = match s.replication {
        Some(r) => (r.shards, r.members),
        None => (1, s.count),
    };
    if shard >= shards {
        let what = if shards == 1 {
            format!("`{name}` is not sharded: leave `shard` out")
        } else {
            format!("`{name}` has shards 0..{}, got {shard}", shards - 1)
        };
        c.problem(format!("{path}.shard"), what);
        return None;
    }
    if replica >= members {
        c.problem(
            format!("{path}.replica"),
            format!(
                "`{name}` has {} 0..{}, got {replica}",
                if s.replication.is_some() {
                    "machines per shard"
                } else {
                    "replicas"
                },
                members - 1
            ),
        );
        return None;
    }
    let r = shard * members + replica;
    Some(r..r + 1)
}

/// The id of region `name` at `path`, or a problem.
fn region(c: &mut Checker, regions: Option<&Regions>, path: &str, name: &str) -> Option<u16> {
    let Some(r) = regions else {
        c.problem(
            path,
            "the scenario has fewer than two regions: declare them in \"regions\"",
        );
        return None;
    };
    match r.names.iter().position(|n| n == name) {
        Some(i) => Some(i as u16),
        None => {
            let h = hint(name, r.names.iter().map(String::as_str));
            c.problem(path, format!("no region named `{name}`{h}"));
            None
        }
    }
}

pub(super) fn faults(
    c: &mut Checker,
    components: &[ComponentSpec],
    regions: Option<&Regions>,
) -> Vec<Fault> {
    let mut out = Vec::new();
    for (i, f) in c.raw.faults.iter().enumerate() {
        let fault = match f {
            RawFault::Crash {
                component,
                shard,
                replica,
                at_s,
                recover_after_s,
            } => {
                let path = format!("faults[{i}].crash");
                let (at, until) = span(
                    c,
                    &path,
                    *at_s,
                    recover_after_s.map(|d| ("recover_after_s", d)),
                );
                let Some((id, s)) = server(c, components, &path, component) else {
                    continue;
                };
                let Some(machines) = machine(c, &path, component, s, *shard, *replica) else {
                    continue;
                };
                let label = match s.replication {
                    Some(r) => format!("crash {component} {}", r.member_name(machines.start)),
                    None => format!("crash {component}[{replica}]"),
                } + &on_host(c, component);
                Fault {
                    label,
                    at,
                    until,
                    kind: FaultKind::Crash {
                        component: id,
                        machines,
                    },
                }
            }
            RawFault::Outage {
                component,
                at_s,
                recover_after_s,
            } => {
                let path = format!("faults[{i}].outage");
                let (at, until) = span(
                    c,
                    &path,
                    *at_s,
                    recover_after_s.map(|d| ("recover_after_s", d)),
                );
                let id = c.component(&format!("{path}.component"), component);
                if matches!(c.raw.components.get(component), Some(RawComponent::Dns(_))) {
                    c.problem(
                        format!("{path}.component"),
                        "a dns cannot fail; make its targets fail",
                    );
                }
                Fault {
                    label: format!("outage {component}{}", on_host(c, component)),
                    at,
                    until,
                    kind: FaultKind::Outage {
                        components: vec![id],
                        machines: Vec::new(),
                    },
                }
            }
            RawFault::RegionOutage {
                region: name,
                at_s,
                recover_after_s,
            } => {
                let path = format!("faults[{i}].region_outage");
                let (at, until) = span(
                    c,
                    &path,
                    *at_s,
                    recover_after_s.map(|d| ("recover_after_s", d)),
                );
                let Some(r) = region(c, regions, &format!("{path}.region"), name) else {
                    continue;
                };
                let of = regions.map(|x| x.of_component.clone()).unwrap_or_default();
                let mut in_region = Vec::new();
                let mut machines = Vec::new();
                for (i, spec) in components.iter().enumerate() {
                    let id = ComponentId::from_index(i);
                    if matches!(spec.kind, ComponentKind::Dns(_)) {
                        continue;
                    }
                    // A database spread over regions loses only its machines there.
                    let spread = spec.kind.fleet().and_then(|f| {
                        f.replication
                            .filter(|rs| !rs.member_regions.is_empty())
                            .map(|rs| (f.count, rs))
                    });
                    if let Some((count, rs)) = spread {
                        machines.extend(
                            (0..count)
                                .filter(|m| rs.member_regions[(m % rs.members) as usize] == r)
                                .map(|m| (id, m)),
                        );
                    } else if of.get(i) == Some(&r) {
                        in_region.push(id);
                    }
                }
                Fault {
                    label: format!("region {name} outage"),
                    at,
                    until,
                    kind: FaultKind::Outage {
                        components: in_region,
                        machines,
                    },
                }
            }
            RawFault::Partition {
                between: [x, y],
                at_s,
                duration_s,
            } => {
                let path = format!("faults[{i}].partition");
                let (at, until) = span(c, &path, *at_s, Some(("duration_s", *duration_s)));
                let a = region(c, regions, &format!("{path}.between[0]"), x);
                let b = region(c, regions, &format!("{path}.between[1]"), y);
                let (Some(a), Some(b)) = (a, b) else { continue };
                if a == b {
                    c.problem(&path, "a partition cuts two different regions apart");
                }
                Fault {
                    label: format!("partition {x}|{y}"),
                    at,
                    until,
                    kind: FaultKind::Partition { regions: (a, b) },
                }
            }
            RawFault::Slow {
                component,
                shard,
                replica,
                factor,
                at_s,
                duration_s,
            } => {
                let path = format!("faults[{i}].slow");
                let (at, until) = span(c, &path, *at_s, duration_s.map(|d| ("duration_s", d)));
                let factor_path = format!("{path}.factor");
                let factor = c.positive(&factor_path, *factor);
                c.within(&factor_path, factor, 0.001, 1e6);
                let Some((id, s)) = server(c, components, &path, component) else {
                    continue;
                };
                let (machines, which) = match replica {
                    Some(r) => match machine(c, &path, component, s, *shard, *r) {
                        Some(range) => {
                            let which = match s.replication {
                                Some(rs) => format!("{component} {}", rs.member_name(range.start)),
                                None => format!("{component}[{r}]"),
                            };
                            (range, which)
                        }
                        None => continue,
                    },
                    None => {
                        if *shard != 0 {
                            c.problem(
                                format!("{path}.shard"),
                                "`shard` picks the machine named by `replica`; give `replica` too",
                            );
                        }
                        (0..s.count, component.clone())
                    }
                };
                Fault {
                    label: format!("slow {which} ×{factor}"),
                    at,
                    until,
                    kind: FaultKind::Slow {
                        component: id,
                        machines,
                        factor,
                    },
                }
            }
            RawFault::LatencySpike {
                between,
                extra_ms,
                at_s,
                duration_s,
            } => {
                let path = format!("faults[{i}].latency_spike");
                let (at, until) = span(c, &path, *at_s, Some(("duration_s", *duration_s)));
                let extra_path = format!("{path}.extra_ms");
                let extra = c.positive(&extra_path, *extra_ms);
                c.within(&extra_path, extra, 1e-6, MAX_MS);
                let (link, label) = match between {
                    Some([a, b]) => {
                        let ia = c.component(&format!("{path}.between[0]"), a);
                        let ib = c.component(&format!("{path}.between[1]"), b);
                        (Some((ia, ib)), format!("latency {a}↔{b} +{extra} ms"))
                    }
                    None => (None, format!("latency users↔system +{extra} ms")),
                };
                Fault {
                    label,
                    at,
                    until,
                    kind: FaultKind::LatencySpike {
                        link,
                        extra: SimTime::from_ms(extra),
                    },
                }
            }
        };
        out.push(fault);
    }
    out
}

/// ` (host NAME)` for a component on a shared host, whose crash is the host's; else nothing.
fn on_host(c: &Checker, component: &str) -> String {
    c.raw
        .components
        .get(component)
        .and_then(super::hosts::host_of)
        .map_or(String::new(), |h| format!(" (host {h})"))
}
