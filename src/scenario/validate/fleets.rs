//! Validation of services whose replica count changes during the run (`scaling`), compiled
//! into `FleetSpec`s: the bounds, the schedule, the autoscaler, and that the service is
//! reached only through load balancers (they are what adds and drains its replicas).

use super::Checker;
use crate::engine::time::SimTime;
use crate::model::ComponentKind;
use crate::model::ComponentSpec;
use crate::model::distribution::Dist;
use crate::model::distribution::MAX_MS;
use crate::model::elastic::autoscaler::{AutoscaleSpec, Metric};
use crate::model::elastic::deploy::{DeploySpec, Strategy};
use crate::model::elastic::fleet::FleetSpec;
use crate::model::ids::ComponentId;
use crate::scenario::raw::*;

const MAX_REPLICAS: u64 = 10_000;

pub(super) fn fleets(
    c: &mut Checker,
    components: &[ComponentSpec],
    duration_s: f64,
) -> Vec<FleetSpec> {
    let mut out = Vec::new();
    for (i, (name, comp)) in c.raw.components.iter().enumerate() {
        let RawComponent::Service(s) = comp else {
            continue;
        };
        let fixed;
        let k = match &s.scaling {
            Some(k) => k,
            None if !s.deploys.is_empty() => {
                // A fixed size that deploys: a fleet whose count only deploys change.
                fixed = RawScaling {
                    max_replicas: s.replicas,
                    min_replicas: s.replicas.max(1),
                    start_delay_ms: RawDist::Constant { ms: 30_000.0 },
                    drain_timeout_ms: 30_000.0,
                    schedule: Vec::new(),
                    autoscale: None,
                };
                &fixed
            }
            None => continue,
        };
        let path = format!("components.{name}.scaling");
        let door = if s.scaling.is_some() {
            "scaling"
        } else {
            "deploys"
        };
        let id = ComponentId::from_index(i);
        let max = c.at_least(
            &format!("{path}.max_replicas"),
            u64::from(k.max_replicas),
            1,
        );
        if max > MAX_REPLICAS {
            c.problem(
                format!("{path}.max_replicas"),
                format!("at most {MAX_REPLICAS}, got {max}"),
            );
        }
        let max = max.min(MAX_REPLICAS) as u32;
        if s.replicas > max {
            c.problem(
                format!("components.{name}.replicas"),
                format!("starts with {} replicas but `scaling.max_replicas` is {max}: raise max_replicas", s.replicas),
            );
        }
        let min = c.at_least(
            &format!("{path}.min_replicas"),
            u64::from(k.min_replicas),
            1,
        ) as u32;
        if min > max {
            c.problem(
                format!("{path}.min_replicas"),
                format!("{min} is more than max_replicas ({max})"),
            );
        }
        if s.host.is_some() {
            c.problem(
                format!("components.{name}.host"),
                "a service that scales or deploys starts and stops machines of its own: give it a `machine`, not a shared host",
            );
        }
        reached_through_balancers(c, name, door, id, components);
        let start_delay = c.dist(&format!("{path}.start_delay_ms"), &k.start_delay_ms);
        let drain = c.number(
            &format!("{path}.drain_timeout_ms"),
            k.drain_timeout_ms,
            0.0,
            MAX_MS,
        );
        let mut schedule = Vec::new();
        let mut last = -1.0;
        for (j, step) in k.schedule.iter().enumerate() {
            let p = format!("{path}.schedule[{j}]");
            let at = c.number(&format!("{p}.at_s"), step.at_s, 0.0, duration_s);
            if at <= last {
                c.problem(
                    format!("{p}.at_s"),
                    "entries must be in time order, each later than the one before",
                );
            }
            last = at;
            if step.replicas > max {
                c.problem(
                    format!("{p}.replicas"),
                    format!("{} is more than max_replicas ({max})", step.replicas),
                );
            }
            schedule.push((SimTime::from_secs(at), step.replicas.min(max)));
        }
        let autoscale = k
            .autoscale
            .as_ref()
            .map(|a| autoscale(c, &format!("{path}.autoscale"), a));
        if let (Some(_), Some(bad)) = (
            &k.autoscale,
            k.schedule.iter().position(|x| x.replicas < min),
        ) {
            c.problem(
                format!("{path}.schedule[{bad}].replicas"),
                format!("with `autoscale` a scheduled count is the autoscaler's minimum: at least min_replicas ({min})"),
            );
        }
        let deploys = s
            .deploys
            .iter()
            .enumerate()
            .map(|(j, d)| {
                let p = format!("components.{name}.deploys[{j}]");
                deploy(c, &p, d, &start_delay, duration_s)
            })
            .collect::<Vec<_>>();
        for (j, pair) in deploys.windows(2).enumerate() {
            if pair[1].at <= pair[0].at {
                c.problem(
                    format!("components.{name}.deploys[{}].at_s", j + 1),
                    "deploys must be in time order, each later than the one before",
                );
            }
        }
        let price = match &components[i].kind {
            ComponentKind::Service(spec) => spec.machine.cost_per_hour,
            _ => 0.0,
        };
        out.push(FleetSpec {
            component: id,
            initial: s.replicas.min(max),
            min: min.min(max),
            max,
            start_delay,
            drain_timeout: SimTime::from_ms(drain),
            schedule,
            autoscale,
            price_per_hour: price,
            machines: s.machines(),
            deploys,
        });
    }
    out
}

fn autoscale(c: &mut Checker, path: &str, a: &RawAutoscale) -> AutoscaleSpec {
    let target = c.number(&format!("{path}.target"), a.target, 0.0, 1.0);
    if target <= 0.0 {
        c.problem(
            format!("{path}.target"),
            "must be above 0: a utilisation in (0, 1], such as 0.6",
        );
    }
    let interval = c.positive(&format!("{path}.interval_s"), a.interval_s);
    c.within(&format!("{path}.interval_s"), interval, 0.001, 1e6);
    let window = c.number(
        &format!("{path}.scale_in_stabilisation_s"),
        a.scale_in_stabilisation_s,
        0.0,
        1e6,
    );
    let tolerance = c.number(&format!("{path}.tolerance"), a.tolerance, 0.0, 0.99);
    let predictive_lead = a.predictive_lead_s.map(|lead| {
        SimTime::from_secs(c.number(&format!("{path}.predictive_lead_s"), lead, 0.0, 1e6))
    });
    AutoscaleSpec {
        metric: match a.metric {
            RawScaleMetric::Cpu => Metric::Cpu,
        },
        target: target.max(1e-6),
        interval: SimTime::from_secs(interval.clamp(0.001, 1e6)),
        scale_in_window: SimTime::from_secs(window),
        tolerance,
        predictive_lead,
    }
}

/// A fleet's replicas come and go through its balancers: nothing else may call it.
fn reached_through_balancers(
    c: &mut Checker,
    name: &str,
    door: &str,
    id: ComponentId,
    components: &[ComponentSpec],
) {
    let path = format!("components.{name}.{door}");
    for other in components {
        if matches!(other.kind, ComponentKind::Balancer(_)) {
            continue;
        }
        if other.kind.callees().contains(&id) {
            c.problem(
                &path,
                format!(
                    "a service that scales or deploys is reached through load balancers only (they add and drain its replicas), but `{}` calls it directly: put a load balancer between them",
                    other.name
                ),
            );
        }
    }
    let w = &c.raw.workload;
    let entries =
        std::iter::once(&w.entry).chain(w.classes.values().filter_map(|k| k.entry.as_ref()));
    if entries.into_iter().any(|e| e == name) {
        c.problem(
            &path,
            "a service that scales or deploys is reached through load balancers only (they add and drain its replicas), but the workload sends to it directly: make a load balancer the entry",
        );
    }
    if c.raw.jobs.values().any(|j| j.service == name) {
        c.problem(
            &path,
            "a service that scales or deploys cannot run scheduled jobs: give the jobs a service of their own",
        );
    }
}

fn deploy(
    c: &mut Checker,
    path: &str,
    d: &RawDeploy,
    start_delay: &Dist,
    duration_s: f64,
) -> DeploySpec {
    let at = c.number(&format!("{path}.at_s"), d.at_s, 0.0, duration_s);
    if d.strategy == RawDeployStrategy::Rolling && d.max_surge == 0 && d.max_unavailable == 0 {
        c.problem(
            format!("{path}.max_surge"),
            "a rolling deploy needs max_surge or max_unavailable above 0 to make progress",
        );
    }
    DeploySpec {
        at: SimTime::from_secs(at),
        strategy: match d.strategy {
            RawDeployStrategy::Rolling => Strategy::Rolling,
            RawDeployStrategy::Recreate => Strategy::Recreate,
            RawDeployStrategy::BlueGreen => Strategy::BlueGreen,
        },
        max_surge: d.max_surge,
        max_unavailable: d.max_unavailable,
        start_delay: match &d.start_delay_ms {
            Some(x) => c.dist(&format!("{path}.start_delay_ms"), x),
            None => *start_delay,
        },
    }
}
