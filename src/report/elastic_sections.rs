//! The report's sections on elastic capacity (part of `sections`): each fleet's size over
//! the run, what its machines cost, every change asked for (by whom and why) and every
//! deploy; and what each gateway's rate limits refused. Absent when there are none. Pure.

use crate::report::sections::{Grid, Section, pct, thousands};
use crate::report::{ComponentSummary, Results};

/// Actions listed per fleet; summary.json has them all.
const SHOWN: usize = 30;

/// "Scaling": per fleet, a line of totals and a row per change of the replica count.
pub(crate) fn scaling(r: &Results) -> Option<Section> {
    let mut s = Section::new("Scaling");
    let mut rows = Vec::new();
    for name in &r.component_order {
        let Some(k) = r
            .components
            .get(name)
            .and_then(|c| c.server())
            .and_then(|c| c.scaling.as_ref())
        else {
            continue;
        };
        s.lines.push(format!(
            "{name}: {} replicas at the start, {} at the end, {} at most; {:.2} on average \
             over the window · {:.2} machine-hours, {:.2} for the run",
            k.initial_replicas,
            k.final_replicas,
            thousands(k.peak_replicas),
            k.mean_replicas,
            k.machine_hours,
            k.cost_of_run
        ));
        if k.actions.len() > SHOWN {
            s.notes.push(format!(
                "{name}: the first {SHOWN} of its {} changes (all are in summary.json)",
                k.actions.len()
            ));
        }
        for d in &k.deploys {
            s.lines.push(format!(
                "{name}: {} deploy at {:.1} s, {}; {} requests ended in error meanwhile, {} \
                 completed",
                d.strategy,
                d.at_s,
                d.took_s
                    .map_or("unfinished when the run ended".to_string(), |t| format!(
                        "done in {t:.1} s"
                    )),
                thousands(d.errors),
                thousands(d.completed)
            ));
        }
        for a in k.actions.iter().take(SHOWN) {
            rows.push(vec![
                name.clone(),
                format!("{:.1}", a.at_s),
                format!("{} → {}", a.from, a.to),
                match a.metric {
                    Some(m) => format!("{} (cpu {})", a.by, pct(m, 0)),
                    None => a.by.to_string(),
                },
            ]);
        }
    }
    if s.lines.is_empty() {
        return None;
    }
    if !rows.is_empty() {
        s.grid = Some(Grid {
            head: ["fleet", "at s", "replicas", "by"]
                .map(String::from)
                .to_vec(),
            rows,
        });
    }
    s.notes.push(
        "a new replica is billed from when it is asked for and serves after its start delay".into(),
    );
    Some(s)
}

/// "Rate limits": per gateway, each limit and the requests it refused.
pub(crate) fn rate_limits(r: &Results) -> Option<Section> {
    let mut s = Section::new("Rate limits");
    for name in &r.component_order {
        let Some(ComponentSummary::Gateway(g)) = r.components.get(name) else {
            continue;
        };
        let Some(f) = &g.gateway else {
            continue;
        };
        for l in &f.rate_limits {
            s.lines.push(format!(
                "{name}: per {} ({}) {}/s, burst {}: {} refused rate_limited",
                l.per,
                l.classes.join(", "),
                l.rate_per_s,
                thousands(u64::from(l.burst)),
                thousands(l.rate_limited)
            ));
        }
    }
    (!s.lines.is_empty()).then_some(s)
}
