//! The terminal summary: fits in 80 columns and ends by naming the bottleneck.

use crate::report::Results;
use std::fmt::Write;

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

/// The table's width.
const WIDTH: usize = 80;

/// Shortens `s` to `n` characters by cutting its middle, so that names that differ only at
/// the end (`frontend-eu`, `frontend-us`) stay apart.
pub(crate) fn fit(s: &str, n: usize) -> String {
    let len = s.chars().count();
    if len <= n {
        return s.to_string();
    }
    let n = n.max(3);
    let head = (n - 1).div_ceil(2);
    let tail = n - 1 - head;
    let mut t: String = s.chars().take(head).collect();
    t.push('…');
    t.extend(s.chars().skip(len - tail));
    t
}

/// Seconds without trailing zeros: `60`, `0.5`, `18.082`.
fn secs(x: f64) -> String {
    let t = format!("{x:.3}");
    t.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// `prefix` then `items` separated by `, `, wrapped at `WIDTH` with continuation lines
/// indented under the first item.
fn wrapped(out: &mut String, prefix: &str, items: &[String]) {
    let indent = " ".repeat(prefix.chars().count());
    let mut line = prefix.to_string();
    let mut first = true;
    for item in items {
        let sep = if first { "" } else { ", " };
        // The trailing comma of a broken line needs its column too.
        if !first && line.chars().count() + sep.len() + item.chars().count() + 1 > WIDTH {
            let _ = writeln!(out, "{},", line);
            line = format!("{indent}{item}");
        } else {
            line.push_str(sep);
            line.push_str(item);
        }
        first = false;
    }
    let _ = writeln!(out, "{line}");
}

/// Renders the summary table.
pub fn render(r: &Results) -> String {
    let mut out = String::new();
    let q = &r.requests;
    let how = r
        .warmup_auto
        .as_ref()
        .map_or(String::new(), |a| format!(" by {}", a.method));
    let tail = format!(
        "seed {} · {} s ({} s warm-up{how}) · {}",
        r.seed,
        secs(r.sim_time_s),
        secs(r.warmup_s),
        r.stop_reason
    );
    let room = WIDTH.saturating_sub(tail.chars().count() + 3);
    if room >= 12 {
        let _ = writeln!(out, "{} · {tail}", fit(&r.scenario, room));
    } else {
        let _ = writeln!(out, "{}\n{tail}", fit(&r.scenario, WIDTH));
    }
    if r.stop_reason == "max_events" {
        let _ = writeln!(
            out,
            "stopped early by max_events: the figures cover {} s to {} s only",
            secs(r.warmup_s),
            secs(r.sim_time_s)
        );
    }
    let _ = writeln!(
        out,
        "requests {} · ok {} · rejected {} · timed out {} · failed {}",
        q.total, q.completed, q.rejected, q.timed_out, q.failed
    );
    let _ = writeln!(
        out,
        "throughput {:.1} req/s · errors {:.3}% · retries {} · cost {:.2}/h",
        r.throughput_rps,
        r.error_rate * 100.0,
        r.retries,
        r.cost_per_hour
    );
    for (name, by) in [("rejected", &q.rejected_by), ("failed", &q.failed_by)] {
        if !by.is_empty() {
            let parts: Vec<String> = by.iter().map(|(k, v)| format!("{k} {v}")).collect();
            wrapped(&mut out, &format!("  {name}: "), &parts);
        }
    }
    let l = &r.latency_ms;
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "latency ms  {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "mean", "p50", "p90", "p99", "p99.9", "max"
    );
    let _ = writeln!(
        out,
        "{:<11} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
        "all", l.mean, l.p50, l.p90, l.p99, l.p999, l.max
    );
    if r.classes.len() > 1 {
        for (name, c) in &r.classes {
            let l = &c.latency_ms;
            let _ = writeln!(
                out,
                "{:<11} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
                fit(name, 11),
                l.mean,
                l.p50,
                l.p90,
                l.p99,
                l.p999,
                l.max
            );
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<16} {:<8} {:>4} {:>5} {:>7} {:>7} {:>8} {:>9}",
        "component", "kind", "repl", "cpu", "workers", "queue", "peak con", "ok/s"
    );
    for name in &r.component_order {
        let Some(c) = r.components.get(name) else {
            continue;
        };
        // Balancers and DNS have no CPU, workers or queue of their own.
        let is_balancer = c.kind == "load_balancer" || c.kind == "dns";
        let kind = if c.kind == "load_balancer" {
            "lb"
        } else {
            c.kind.as_str()
        };
        // A balancer has no CPU, workers or queue of its own: say so rather than print zeros.
        let (cpu, workers, queue) = if is_balancer {
            ("-".to_string(), "-".to_string(), "-".to_string())
        } else {
            (
                pct(c.cpu_utilisation),
                pct(c.worker_utilisation),
                format!("{:.1}", c.mean_queue),
            )
        };
        // DNS answers are not served requests: no ok/s for it.
        let ok = if c.kind == "dns" {
            "-".to_string()
        } else {
            format!("{:.1}", c.throughput_rps)
        };
        let _ = writeln!(
            out,
            "{:<16} {:<8} {:>4} {:>5} {:>7} {:>7} {:>8} {:>9}",
            fit(name, 16),
            kind,
            c.replicas,
            cpu,
            workers,
            queue,
            c.peak_connections,
            ok
        );
    }
    render_failures(&mut out, r);
    let _ = writeln!(out);
    match &r.bottleneck {
        Some(b) => {
            // Below this, nothing is close enough to a limit to call it a bottleneck yet.
            const NEAR_LIMIT: f64 = 0.5;
            let note = if b.utilisation < NEAR_LIMIT {
                "; nothing is near a limit"
            } else {
                ""
            };
            let rest = format!(" ({} {}{note})", b.resource, pct(b.utilisation));
            let room = WIDTH - "bottleneck: ".len() - rest.chars().count();
            let _ = writeln!(out, "bottleneck: {}{rest}", fit(&b.component, room));
        }
        None => {
            let _ = writeln!(out, "bottleneck: none (no load measured)");
        }
    }
    out
}

/// Most machines of one database listed; the busiest are shown.
const MAX_MACHINE_ROWS: usize = 8;

/// Replicated databases, then faults and availability (only what the run had).
fn render_failures(out: &mut String, r: &Results) {
    for name in &r.component_order {
        let Some(rep) = r.components.get(name).and_then(|c| c.replication.as_ref()) else {
            continue;
        };
        let _ = writeln!(out);
        let plural =
            |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let layout = plural(u64::from(rep.shards), "shard", "shards");
        let head = if rep.machines_per_shard == 1 {
            format!(": {layout}")
        } else {
            format!(
                ": {}, {layout} × {} · writes lost {} · stale reads {:.3}%",
                rep.mode,
                plural(u64::from(rep.machines_per_shard), "machine", "machines"),
                rep.writes_lost,
                rep.stale_read_ratio * 100.0
            )
        };
        let room = WIDTH.saturating_sub(head.chars().count()).max(8);
        let _ = writeln!(out, "{}{head}", fit(name, room));
        if rep.conflicts > 0 {
            let _ = writeln!(out, "  conflicting writes {}", rep.conflicts);
        }
        for f in &rep.failovers {
            let line = match (&f.promoted, f.promoted_at_s) {
                (Some(m), Some(at)) => {
                    // The line names the shard already: keep `machine M` of the name.
                    let m = m.find("machine").map_or(m.as_str(), |i| &m[i..]);
                    format!(
                        "  failover shard {}: died {} s, {} primary at {} s ({} s), {} lost",
                        f.shard,
                        secs(f.crashed_at_s),
                        fit(m, 12),
                        secs(at),
                        secs(f.write_downtime_s),
                        plural(f.writes_lost, "write", "writes")
                    )
                }
                _ => format!(
                    "  failover shard {}: died {} s; {}",
                    f.shard,
                    secs(f.crashed_at_s),
                    fit(f.unfinished.as_deref().unwrap_or("unfinished"), 48)
                ),
            };
            let _ = writeln!(out, "{line}");
        }
        let _ = writeln!(
            out,
            "  {:<24} {:<8} {:>5} {:>9} {:>9}",
            "machine", "role", "cpu", "ok/s", "p99 ms"
        );
        let mut rows: Vec<_> = rep.machines.iter().collect();
        if rows.len() > MAX_MACHINE_ROWS {
            rows.sort_by(|a, b| b.cpu_utilisation.total_cmp(&a.cpu_utilisation));
        }
        for m in rows.iter().take(MAX_MACHINE_ROWS) {
            let p99 = m
                .service_ms
                .as_ref()
                .map_or("-".to_string(), |l| format!("{:.2}", l.p99));
            let _ = writeln!(
                out,
                "  {:<24} {:<8} {:>5} {:>9.1} {:>9}",
                fit(&m.machine, 24),
                m.role,
                pct(m.cpu_utilisation),
                m.throughput_rps,
                p99
            );
        }
        if rows.len() > MAX_MACHINE_ROWS {
            let _ = writeln!(
                out,
                "  … {} more machines in summary.json",
                rows.len() - MAX_MACHINE_ROWS
            );
        }
    }
    let breakers: Vec<String> = r
        .classes
        .iter()
        .filter_map(|(name, c)| {
            let b = c.circuit_breaker.as_ref()?;
            Some(format!("{name} opened {}× refused {}", b.opened, b.refused))
        })
        .collect();
    if !breakers.is_empty() {
        let _ = writeln!(out);
        wrapped(out, "circuit breakers: ", &breakers);
    }
    let f = &r.failures;
    if !f.regions.is_empty() {
        let parts: Vec<String> = f
            .regions
            .iter()
            .map(|(name, a)| format!("{name} {:.3}%", a.availability * 100.0))
            .collect();
        let _ = writeln!(out);
        wrapped(out, "availability by users' region: ", &parts);
    }
    if f.faults.is_empty() {
        return;
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<34} {:>5} {:>11} {:>5} {:>11} {:>8}",
        "fault", "at s", "errors from", "peak", "recovered", "errors"
    );
    for e in &f.faults {
        let opt = |x: Option<f64>| x.map_or("-".to_string(), secs);
        let _ = writeln!(
            out,
            "{:<34} {:>5} {:>11} {:>5} {:>11} {:>8}",
            fit(&e.fault, 34),
            secs(e.at_s),
            opt(e.errors_started_s),
            pct(e.peak_error_rate),
            match (e.errors_started_s, e.recovered_at_s) {
                (None, _) => "no errors".to_string(),
                (Some(_), None) => "never".to_string(),
                (Some(_), Some(t)) => secs(t),
            },
            e.requests_failed
        );
    }
    let _ = writeln!(
        out,
        "availability {:.3}% · recovered: error rate within {} point of before the fault",
        f.availability * 100.0,
        crate::report::failures::RECOVERY_MARGIN * 100.0
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_fits(table: &str) {
        for line in table.lines() {
            let n = line.chars().count();
            assert!(n <= WIDTH, "{n} columns: {line}\n{table}");
        }
    }

    /// A loaded run with long names, a huge seed, fractional times and several refusal
    /// reasons still fits 80 columns, and names that differ only at the end stay apart.
    #[test]
    fn fits_in_80_columns_and_names_the_bottleneck() {
        let text = r#"{"name": "a-rather-long-scenario-name-for-the-table-header-that-goes-on",
            "duration_s": 3.25, "warmup_s": 0.125, "seed": 18446744073709551615,
            "workload": {"model": {"open": {"rate_per_s": 3000}}, "entry": "lb",
                "timeout_ms": 50, "classes": {"a-very-long-class-name-one": {},
                "a-very-long-class-name-two": {}}},
            "components": {
              "lb": {"kind": "load_balancer", "max_connections": 10, "backends": [
                  "the-frontend-service-with-a-long-name-a", "the-frontend-service-with-a-long-name-b"]},
              "the-frontend-service-with-a-long-name-a": {"kind": "service",
                "machine": {"cores": 1}, "workers": 2, "queue_capacity": 3,
                "handlers": {"default": [{"cpu_ms": {"exponential": {"mean_ms": 1}}}]}},
              "the-frontend-service-with-a-long-name-b": {"kind": "service",
                "machine": {"cores": 1, "ram_gb": 1.0, "base_memory_gb": 0.999, "memory_per_request_kb": 300},
                "workers": 8, "queue_capacity": 100,
                "handlers": {"default": [{"cpu_ms": {"exponential": {"mean_ms": 1}}}]}}}}"#;
        let results = crate::run(crate::scenario::load(text).unwrap(), &mut |_| {});
        let table = render(&results);
        assert_fits(&table);
        // Ten connections for ~2,000 requests/s: the balancer's cap is what runs out.
        assert!(
            table.contains("bottleneck: lb (connections 100%)"),
            "{table}"
        );
        assert!(table.contains("queue_full"), "{table}");
        assert!(table.contains("connection_limit"), "{table}");
        let rows: Vec<&str> = table.lines().filter(|l| l.starts_with("the-fr")).collect();
        assert_eq!(rows.len(), 2, "{table}");
        let name = |row: &str| row.split_whitespace().next().unwrap_or("").to_string();
        assert_ne!(name(rows[0]), name(rows[1]), "{table}");
        assert!(table.contains("lb ") && table.contains(" - "), "{table}");
    }

    #[test]
    fn fit_keeps_both_ends() {
        assert_eq!(fit("short", 16), "short");
        assert_eq!(fit("frontend-service-eu", 10), "front…e-eu");
        assert_eq!(fit("frontend-service-eu", 10).chars().count(), 10);
    }

    #[test]
    fn long_reason_lists_wrap_under_the_first_item() {
        let items: Vec<String> = ["connection_limit 1385462", "no_healthy_backend 799995"]
            .into_iter()
            .chain(["out_of_memory 12", "queue_full 1385474"])
            .map(String::from)
            .collect();
        let mut out = String::new();
        wrapped(&mut out, "  rejected: ", &items);
        assert_fits(&out);
        assert_eq!(out.lines().count(), 2, "{out}");
        assert!(
            out.lines()
                .nth(1)
                .unwrap()
                .starts_with("            out_of_memory 12"),
            "{out}"
        );
    }
}
