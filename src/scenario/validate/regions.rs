//! Validation of `regions`, `network.region_links` and each component's `region`, and the
//! nearest-first target order of DNS components that follows from them.

use super::Checker;
use crate::model::distribution::Dist;
use crate::model::net::region::Regions;
use crate::model::{ComponentKind, ComponentSpec};
use crate::scenario::raw::*;
use crate::scenario::suggest::hint;

/// The region a raw component names, if any.
fn region_of(comp: &RawComponent) -> Option<&String> {
    match comp {
        RawComponent::Service(s) => s.region.as_ref(),
        RawComponent::LoadBalancer(b) | RawComponent::Gateway(b) => b.region.as_ref(),
        RawComponent::Cache(k) => k.region.as_ref(),
        // A database whose machines are spread is where its first primary is.
        RawComponent::Database(d) => d.region.as_ref().or_else(|| {
            d.replication
                .as_ref()
                .and_then(|r| r.regions.as_ref())
                .and_then(|names| names.first())
        }),
        RawComponent::Queue(q) => q.region.as_ref(),
        RawComponent::Topic(t) => t.region.as_ref(),
        RawComponent::Log(l) => l.region.as_ref(),
        RawComponent::Dns(_) => None,
    }
}

/// The regions, or None when fewer than two are declared (one region changes nothing).
pub(super) fn regions(c: &mut Checker) -> Option<Regions> {
    let raw = c.raw;
    let names: Vec<&String> = raw.regions.keys().collect();
    for (name, comp) in &raw.components {
        let Some(r) = region_of(comp) else {
            if names.len() > 1 && !matches!(comp, RawComponent::Dns(_)) {
                c.problem(
                    format!("components.{name}"),
                    format!(
                        "needs a \"region\" (the scenario has regions {})",
                        list(&names)
                    ),
                );
            }
            continue;
        };
        if !raw.regions.contains_key(r) {
            let what = if names.is_empty() {
                format!(
                    "no regions are declared: add \"regions\": {{\"{r}\": {{}}}} at the top level"
                )
            } else {
                let h = hint(r, names.iter().map(|n| n.as_str()));
                format!("no region named `{r}`{h} (regions: {})", list(&names))
            };
            c.problem(format!("components.{name}.region"), what);
        }
    }
    let mut total = 0.0;
    for (name, region) in &raw.regions {
        if name.is_empty()
            || !name
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-')
        {
            c.problem(
                format!("regions.{name}"),
                "names use letters, digits, `_` and `-` only",
            );
        }
        let share = c.non_negative(&format!("regions.{name}.users"), region.users);
        c.within(&format!("regions.{name}.users"), share, 0.0, 1e9);
        total += share.min(1e9);
    }
    if !names.is_empty() && total <= 0.0 {
        c.problem(
            "regions",
            "some region needs a share of the users (`users` > 0)",
        );
    }
    let n = names.len();
    let mut latency: Vec<Option<Dist>> = vec![None; n * n];
    for (i, l) in raw.network.region_links.iter().enumerate() {
        let path = format!("network.region_links[{i}]");
        let mut ends = [usize::MAX; 2];
        for (k, r) in l.between.iter().enumerate() {
            match names.iter().position(|n| *n == r) {
                Some(id) => ends[k] = id,
                None => {
                    let h = hint(r, names.iter().map(|n| n.as_str()));
                    c.problem(
                        format!("{path}.between[{k}]"),
                        format!("no region named `{r}`{h}"),
                    );
                }
            }
        }
        let d = c.dist(&format!("{path}.latency_ms"), &l.latency_ms);
        let [a, b] = ends;
        if a == usize::MAX || b == usize::MAX {
            continue;
        }
        if a == b {
            c.problem(
                &path,
                "links two different regions; within a region, `links` apply",
            );
        } else if latency[a * n + b].is_some() {
            c.problem(
                &path,
                format!("`{}` and `{}` are linked twice", names[a], names[b]),
            );
        } else {
            latency[a * n + b] = Some(d);
            latency[b * n + a] = Some(d);
        }
    }
    for a in 0..n {
        for b in a + 1..n {
            if latency[a * n + b].is_none() {
                c.problem(
                    "network.region_links",
                    format!(
                        "no latency between regions `{}` and `{}`: add {{\"between\": [\"{}\", \"{}\"], \"latency_ms\": …}}",
                        names[a], names[b], names[a], names[b]
                    ),
                );
            }
        }
    }
    if n < 2 {
        return None;
    }
    let mut cdf = Vec::with_capacity(n);
    let mut acc = 0.0;
    for region in raw.regions.values() {
        acc += region.users.max(0.0) / total.max(f64::MIN_POSITIVE);
        cdf.push(acc);
    }
    if let Some(last) = cdf.last_mut() {
        *last = 1.0;
    }
    let of_component = raw
        .components
        .values()
        .map(|comp| {
            region_of(comp)
                .and_then(|r| names.iter().position(|n| *n == r))
                .unwrap_or(0) as u16
        })
        .collect();
    Some(Regions {
        names: names.into_iter().cloned().collect(),
        user_cdf: cdf,
        of_component,
        // Filled once the databases are known (`replication::member_latencies`).
        of_members: Vec::new(),
        latency,
    })
}

fn list(names: &[&String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Orders each DNS component's targets nearest first for users of every region (in the order
/// given, without regions).
pub(super) fn dns_preferences(components: &mut [ComponentSpec], regions: Option<&Regions>) {
    for spec in components.iter_mut() {
        let ComponentKind::Dns(dns) = &mut spec.kind else {
            continue;
        };
        let n = dns.targets.len() as u16;
        dns.preference = match regions {
            None => vec![(0..n).collect()],
            Some(r) => (0..r.count() as u16)
                .map(|user_region| {
                    let mut order: Vec<u16> = (0..n).collect();
                    order.sort_by(|&x, &y| {
                        let d = |t: u16| {
                            let target = dns.targets[usize::from(t)].index();
                            r.mean_ns(
                                user_region,
                                r.of_component.get(target).copied().unwrap_or(0),
                            )
                        };
                        d(x).total_cmp(&d(y)).then(x.cmp(&y))
                    });
                    order
                })
                .collect(),
        };
    }
}
