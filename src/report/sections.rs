//! What a run's report says, section by section, as text cells: the one story that the
//! terminal table (`table`) lays out in 80 columns and report.html (`html`) as HTML tables.
//! Both render every section built here and nothing else, so the two views cannot drift.
//! Pure: results in, sections out.

use crate::report::component::ServerSummary;
use crate::report::{ComponentSummary, LatencySummary, NO_LATENCY, Results};
use std::collections::BTreeMap;

/// One section of a run's report.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Section {
    pub title: &'static str,
    /// Sentences before the grid.
    pub lines: Vec<String>,
    pub grid: Option<Grid>,
    /// Sentences after the grid (what its marks and short headings mean).
    pub notes: Vec<String>,
}

/// A table of cells: a heading per column, the first column left-aligned (names), the rest
/// right-aligned (figures).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Grid {
    pub head: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Section {
    pub(crate) fn new(title: &'static str) -> Section {
        Section {
            title,
            lines: Vec::new(),
            grid: None,
            notes: Vec::new(),
        }
    }
}

/// `1,234,567`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A share as a percentage with `digits` decimals.
pub(crate) fn pct(x: f64, digits: usize) -> String {
    format!("{:.digits$}%", x * 100.0)
}

/// Seconds without trailing zeros: `60`, `0.5`, `18.082`.
pub(crate) fn secs(x: f64) -> String {
    let t = format!("{x:.3}");
    t.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A rate per second with one decimal and thousands separators: `19,746.9`.
pub(crate) fn rate(x: f64) -> String {
    let text = format!("{x:.1}");
    match text.split_once('.') {
        Some((whole, tenth)) if !whole.starts_with('-') => match whole.parse::<u64>() {
            Ok(n) => format!("{}.{tenth}", thousands(n)),
            Err(_) => text,
        },
        _ => text,
    }
}

/// Every section of a run's report, in order; sections with nothing to say are left out.
pub(crate) fn of(r: &Results) -> Vec<Section> {
    let mut out = vec![outcomes(r), latency(r)];
    out.extend(classes(r));
    out.push(components(r));
    out.extend(super::queue_sections::queues(r));
    out.extend(super::elastic_sections::scaling(r));
    out.extend(super::elastic_sections::rate_limits(r));
    out.extend(databases(r));
    out.extend(breakers(r));
    out.extend(regions(r));
    out.extend(faults(r));
    out.push(bottleneck(r));
    out
}

fn outcomes(r: &Results) -> Section {
    let q = &r.requests;
    let mut s = Section::new("Outcomes");
    s.lines.push(format!(
        "requests {} · completed {} · rejected {} · timed out {} · failed {}",
        thousands(q.total),
        thousands(q.completed),
        thousands(q.rejected),
        thousands(q.timed_out),
        thousands(q.failed)
    ));
    s.lines.push(format!(
        "throughput {}/s · goodput {}/s (within {} ms) · errors {}",
        rate(r.throughput_rps),
        rate(r.goodput_rps),
        secs(r.goodput_within_ms),
        pct(r.error_rate, 3)
    ));
    s.lines.push(format!(
        "retries {} · availability {} · cost {:.2}/h",
        thousands(r.retries),
        pct(r.failures.availability, 3),
        r.cost_per_hour
    ));
    for (name, by) in [("rejected", &q.rejected_by), ("failed", &q.failed_by)] {
        if !by.is_empty() {
            let parts: Vec<String> = by
                .iter()
                .map(|(k, v)| format!("{k} {}", thousands(*v)))
                .collect();
            s.lines.push(format!("{name}: {}", parts.join(", ")));
        }
    }
    s
}

/// Whether percentile `q` of `count` samples rests on too few to mean much: fewer than one
/// sample beyond its rank (p99 of under 100, p99.9 of under 1,000).
fn rough(count: u64, q: f64) -> bool {
    (count as f64) * (1.0 - q) < 1.0
}

/// The heading of a grid of latency rows (`latency_cells`), its first column `first`.
pub(crate) fn latency_head(first: &str) -> Vec<String> {
    [
        first, "mean", "p50", "p90", "p99", "p99.9", "max", "samples",
    ]
    .map(String::from)
    .to_vec()
}

/// A row of latency cells; tail percentiles resting on too few samples are marked `~`.
pub(crate) fn latency_cells(name: &str, l: &LatencySummary) -> Vec<String> {
    let mut row = vec![name.to_string()];
    if l.count == 0 {
        row.extend(std::iter::repeat_n("-".to_string(), 6));
        row.push(NO_LATENCY.into());
        return row;
    }
    let quantiles = [None, Some(0.5), Some(0.9), Some(0.99), Some(0.999), None];
    for (x, q) in l.figures().into_iter().zip(quantiles) {
        let mark = if q.is_some_and(|q| rough(l.count, q)) {
            "~"
        } else {
            ""
        };
        row.push(x.map_or("-".into(), |v| format!("{v:.2}{mark}")));
    }
    row.push(thousands(l.count));
    row
}

fn latency(r: &Results) -> Section {
    let mut s = Section::new("Latency (ms)");
    let mut rows = vec![latency_cells("all", &r.latency_ms)];
    if r.classes.len() > 1 {
        rows.extend(
            r.classes
                .iter()
                .map(|(n, c)| latency_cells(n, &c.latency_ms)),
        );
    }
    let marked = rows.iter().any(|row| row.iter().any(|c| c.ends_with('~')));
    s.grid = Some(Grid {
        head: latency_head("latency ms"),
        rows,
    });
    if marked {
        s.notes.push(
            "~ a tail percentile of too few requests to mean much (p99 of under 100, p99.9 \
             of under 1,000): run longer or with more load"
                .into(),
        );
    }
    s
}

fn classes(r: &Results) -> Option<Section> {
    if r.classes.len() < 2 {
        return None;
    }
    let mut s = Section::new("Request classes");
    let rows = r
        .classes
        .iter()
        .map(|(name, c)| {
            let q = &c.requests;
            let errors = if q.total > 0 {
                pct((q.total - q.completed) as f64 / q.total as f64, 2)
            } else {
                "-".into()
            };
            vec![
                name.clone(),
                thousands(q.total),
                errors,
                thousands(q.rejected),
                thousands(q.timed_out),
                thousands(q.failed),
                rate(c.throughput_rps),
            ]
        })
        .collect();
    s.grid = Some(Grid {
        head: [
            "class",
            "requests",
            "errors",
            "rejected",
            "timed out",
            "failed",
            "completed/s",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    });
    Some(s)
}

fn components(r: &Results) -> Section {
    let mut s = Section::new("Components");
    let mut rows = Vec::new();
    let mut caches = Vec::new();
    for name in &r.component_order {
        let Some(c) = r.components.get(name) else {
            continue;
        };
        // Balancers have no workers or queue of their own, and a DNS no machine or
        // connections: `-`, not 0.
        let server = c.server();
        let cpu = match c {
            ComponentSummary::LoadBalancer(b) | ComponentSummary::Gateway(b) => {
                Some(pct(b.cpu_utilisation, 0))
            }
            _ => None,
        };
        let cpu = cpu.unwrap_or_else(|| {
            server.map_or("-".into(), |s| match &s.hottest_machine {
                Some(h) => format!(
                    "{} ({} max)",
                    pct(s.cpu_utilisation, 0),
                    pct(h.cpu.utilisation, 0)
                ),
                None => pct(s.cpu_utilisation, 0),
            })
        });
        let conns = c.connections().map_or("-".into(), |k| {
            format!("{}/{}", thousands(k.peak), thousands(k.cap))
        });
        let rps = rate(c.rate_per_s());
        rows.push(vec![
            name.clone(),
            c.label().to_string(),
            // A fleet: its mean over the window (the Scaling section has the rest).
            server.map_or("-".into(), |s| match &s.scaling {
                Some(k) => format!("~{:.1}", k.mean_replicas),
                None => s.replicas.to_string(),
            }),
            cpu,
            server.map_or("-".into(), |s| pct(s.worker_utilisation, 0)),
            server.map_or("-".into(), |s| format!("{:.1}", s.mean_queue)),
            conns,
            rps,
        ]);
        if let Some(h) = server.and_then(|s| s.cache_hit_ratio) {
            caches.push(format!("{name} {}", pct(h, 1)));
        }
    }
    s.grid = Some(Grid {
        head: [
            "component",
            "kind",
            "machines",
            "cpu",
            "workers",
            "queue",
            "conns",
            "rps",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    });
    if !caches.is_empty() {
        s.notes
            .push(format!("cache hit ratio: {}", caches.join(", ")));
    }
    if r.components
        .values()
        .any(|c| c.server().is_some_and(|s| s.scaling.is_some()))
    {
        s.notes.push(
            "~machines: a fleet's mean over the window (starting, ready and draining)".into(),
        );
    }
    count_note(
        &mut s.notes,
        r,
        "messages dropped by a full receive buffer (each sent again after a TCP timeout)",
        |c| Some(c.dropped_messages),
    );
    count_note(
        &mut s.notes,
        r,
        "processes killed for want of memory (each restarted after restart_s)",
        |c| c.oom_kills,
    );
    // Components sharing a host show the host's CPU, queue, NIC, disk and memory.
    let mut hosts: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for name in &r.component_order {
        if let Some(h) = r
            .components
            .get(name)
            .and_then(|c| c.server()?.host.as_deref())
        {
            hosts.entry(h).or_default().push(name);
        }
    }
    for (host, on) in hosts {
        s.notes.push(format!(
            "on host {host}: {} (cpu, queue, nic, disk and memory are the host's)",
            on.join(", ")
        ));
    }
    // What the short headings mean, and the marks only where the table has them.
    let mut legend = vec![
        "queue: mean calls waiting per machine".to_string(),
        "conns: most open at once on one machine / its cap".into(),
        "rps: calls answered successfully per second (throughput_rps)".into(),
    ];
    let components = || r.component_order.iter().filter_map(|n| r.components.get(n));
    if components().any(|c| c.server().is_some_and(|s| s.hottest_machine.is_some())) {
        legend.insert(
            0,
            "cpu: mean over machines (the busiest one's in brackets)".into(),
        );
    }
    for line in components().filter_map(ComponentSummary::legend) {
        if !legend.iter().any(|l| l == line) {
            legend.push(line.to_string());
        }
    }
    s.notes.push(legend.join(" · "));
    s
}

/// Most machines of one database listed; the busiest are shown.
const MAX_MACHINE_ROWS: usize = 8;

/// A note naming the servers whose count `of` is above zero, as `name count`, after `title`.
fn count_note(
    notes: &mut Vec<String>,
    r: &Results,
    title: &str,
    of: impl Fn(&ServerSummary) -> Option<u64>,
) {
    let named: Vec<String> = r
        .component_order
        .iter()
        .filter_map(|n| {
            let count = of(r.components.get(n)?.server()?)?;
            (count > 0).then(|| format!("{n} {}", thousands(count)))
        })
        .collect();
    if !named.is_empty() {
        notes.push(format!("{title}: {}", named.join(", ")));
    }
}

fn databases(r: &Results) -> Vec<Section> {
    let mut out = Vec::new();
    for name in &r.component_order {
        let Some(rep) = r
            .components
            .get(name)
            .and_then(|c| c.server()?.replication.as_ref())
        else {
            continue;
        };
        let mut s = Section::new("Database");
        let plural = |n: u64, one: &str, many: &str| {
            format!("{} {}", thousands(n), if n == 1 { one } else { many })
        };
        let layout = format!(
            "{name}: {} × {}",
            plural(u64::from(rep.shards), "shard", "shards"),
            plural(u64::from(rep.machines_per_shard), "machine", "machines")
        );
        if rep.machines_per_shard == 1 {
            // Shards without replicas: nothing is replicated, so no lag or stale reads.
            s.lines.push(layout);
        } else {
            s.lines.push(format!(
                "{layout}, {} replication · writes {} · writes lost {} · conflicts {}",
                rep.mode,
                thousands(rep.writes),
                thousands(rep.writes_lost),
                thousands(rep.conflicts)
            ));
            let lag = rep.lag_ms.as_ref().and_then(|l| Some((l.p50?, l.p99?)));
            let staleness = rep.staleness_ms.as_ref().and_then(|l| l.mean);
            s.lines.push(format!(
                "replication lag {} · stale reads {} of {} replica reads ({}){}",
                lag.map_or("none measured".into(), |(p50, p99)| format!(
                    "p50 {p50:.2} ms, p99 {p99:.2} ms"
                )),
                thousands(rep.stale_reads),
                thousands(rep.replica_reads),
                pct(rep.stale_read_ratio, 3),
                staleness.map_or(String::new(), |m| format!(", {m:.1} ms stale on average"))
            ));
        }
        for f in &rep.failovers {
            s.lines.push(match (&f.promoted, f.promoted_at_s) {
                (Some(m), Some(at)) => format!(
                    "failover of shard {}: primary died {} s, noticed {} s, {m} primary at {} s \
                     (writes down {} s), {} lost",
                    f.shard,
                    secs(f.crashed_at_s),
                    secs(f.detected_at_s),
                    secs(at),
                    secs(f.write_downtime_s),
                    plural(f.writes_lost, "write", "writes")
                ),
                _ => format!(
                    "failover of shard {}: primary died {} s; {}",
                    f.shard,
                    secs(f.crashed_at_s),
                    f.unfinished.as_deref().unwrap_or("unfinished")
                ),
            });
        }
        for m in &rep.rebalancing {
            s.lines.push(format!(
                "rebalancing: {} added at {} s, data moving until {} s",
                plural(u64::from(m.shards_added), "shard", "shards"),
                secs(m.at_s),
                secs(m.until_s)
            ));
        }
        let mut machines: Vec<_> = rep.machines.iter().collect();
        if machines.len() > MAX_MACHINE_ROWS {
            machines.sort_by(|a, b| b.cpu_utilisation.total_cmp(&a.cpu_utilisation));
            s.notes.push(format!(
                "the {MAX_MACHINE_ROWS} busiest of {} machines; all are in summary.json",
                machines.len()
            ));
        }
        let rows = machines
            .iter()
            .take(MAX_MACHINE_ROWS)
            .map(|m| {
                vec![
                    m.machine.clone(),
                    m.role.clone(),
                    pct(m.cpu_utilisation, 0),
                    rate(m.throughput_rps),
                    m.service_ms
                        .as_ref()
                        .and_then(|l| l.p99)
                        .map_or("-".into(), |p| format!("{p:.2}")),
                ]
            })
            .collect();
        s.grid = Some(Grid {
            head: ["machine", "role", "cpu", "rps", "p99 ms"]
                .map(String::from)
                .to_vec(),
            rows,
        });
        out.push(s);
    }
    out
}

fn breakers(r: &Results) -> Option<Section> {
    let rows: Vec<Vec<String>> = r
        .classes
        .iter()
        .filter_map(|(name, c)| {
            let b = c.circuit_breaker.as_ref()?;
            Some(vec![
                name.clone(),
                thousands(b.opened),
                thousands(b.refused),
            ])
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    let mut s = Section::new("Circuit breakers");
    s.grid = Some(Grid {
        head: ["class", "opened", "refused"].map(String::from).to_vec(),
        rows,
    });
    Some(s)
}

fn regions(r: &Results) -> Option<Section> {
    let f = &r.failures;
    if f.regions.is_empty() {
        return None;
    }
    let mut s = Section::new("Users' regions");
    s.grid = Some(Grid {
        head: ["region", "requests", "completed", "availability"]
            .map(String::from)
            .to_vec(),
        rows: f
            .regions
            .iter()
            .map(|(name, a)| {
                vec![
                    name.clone(),
                    thousands(a.requests),
                    thousands(a.completed),
                    pct(a.availability, 3),
                ]
            })
            .collect(),
    });
    Some(s)
}

fn faults(r: &Results) -> Option<Section> {
    let f = &r.failures;
    if f.faults.is_empty() {
        return None;
    }
    let mut s = Section::new("Faults");
    let opt = |x: Option<f64>| x.map_or("-".to_string(), secs);
    s.grid = Some(Grid {
        head: [
            "fault",
            "at s",
            "until s",
            "errors from",
            "peak",
            "recovered",
            "errors",
        ]
        .map(String::from)
        .to_vec(),
        rows: f
            .faults
            .iter()
            .map(|e| {
                vec![
                    e.fault.clone(),
                    secs(e.at_s),
                    opt(e.until_s),
                    opt(e.errors_started_s),
                    pct(e.peak_error_rate, 0),
                    match (e.errors_started_s, e.recovered_at_s) {
                        (None, _) => "no errors".to_string(),
                        (Some(_), None) => "never".to_string(),
                        (Some(_), Some(t)) => secs(t),
                    },
                    thousands(e.requests_failed),
                ]
            })
            .collect(),
    });
    s.notes.push(format!(
        "recovered: the error rate back within {} point of before the fault · writes lost {} \
         · stale reads {}",
        crate::report::failures::RECOVERY_MARGIN * 100.0,
        thousands(f.writes_lost),
        thousands(f.stale_reads)
    ));
    Some(s)
}

/// Below this, nothing is close enough to a limit to call it a bottleneck yet.
const NEAR_LIMIT: f64 = 0.5;

fn bottleneck(r: &Results) -> Section {
    let mut s = Section::new("Bottleneck");
    let behind = crate::report::queue_sections::falling_behind(r);
    s.lines.push(match &r.bottleneck {
        Some(b) => {
            let mean = b.mean_utilisation.map_or(String::new(), |m| {
                format!(", mean of its machines {}", pct(m, 0))
            });
            let near = if b.utilisation < NEAR_LIMIT && behind.is_empty() {
                " · nothing is near a limit"
            } else {
                ""
            };
            format!(
                "bottleneck: {} ({} {}{mean}){near}",
                b.place(),
                b.resource,
                pct(b.utilisation, 0)
            )
        }
        None => "bottleneck: none (no load measured)".into(),
    });
    s.lines.extend(behind);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_with_separators_and_rough_tails_are_known() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(rate(19_746.86), "19,746.9");
        assert_eq!(rate(999.94), "999.9");
        assert!(rough(99, 0.99) && !rough(100, 0.99));
        assert!(rough(999, 0.999) && !rough(1000, 0.999));
    }
}
