//! The terminal summary: fits in 80 columns and ends by naming the bottleneck.

use crate::report::Results;
use std::fmt::Write;

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

/// Shortens `s` to `n` characters, marking the cut with `…`.
fn fit(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

/// Renders the summary table.
pub fn render(r: &Results) -> String {
    let mut out = String::new();
    let q = &r.requests;
    let _ = writeln!(
        out,
        "{} · seed {} · {} s ({} s warm-up) · {}",
        fit(&r.scenario, 36),
        r.seed,
        r.sim_time_s,
        r.warmup_s,
        r.stop_reason
    );
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
            let _ = writeln!(out, "  {name}: {}", parts.join(", "));
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
        let kind = match c.kind.as_str() {
            "load_balancer" => "lb",
            k => k,
        };
        let _ = writeln!(
            out,
            "{:<16} {:<8} {:>4} {:>5} {:>7} {:>7.1} {:>8} {:>9.1}",
            fit(name, 16),
            kind,
            c.replicas,
            pct(c.cpu_utilisation),
            pct(c.worker_utilisation),
            c.mean_queue,
            c.peak_connections,
            c.throughput_rps
        );
    }
    let _ = writeln!(out);
    match &r.bottleneck {
        Some(b) => {
            let _ = writeln!(
                out,
                "bottleneck: {} ({} {})",
                b.component,
                b.resource,
                pct(b.utilisation)
            );
        }
        None => {
            let _ = writeln!(out, "bottleneck: none (no load measured)");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A loaded run with long names and large counts still fits 80 columns.
    #[test]
    fn fits_in_80_columns_and_names_the_bottleneck() {
        let text = r#"{"name": "a-rather-long-scenario-name-for-the-table-header", "duration_s": 3,
            "workload": {"model": {"open": {"rate_per_s": 3000}}, "entry": "the-frontend-service-with-a-long-name",
                "timeout_ms": 50, "classes": {"a-very-long-class-name": {}, "b": {}}},
            "components": {"the-frontend-service-with-a-long-name": {"kind": "service",
                "machine": {"cores": 1}, "workers": 2, "queue_capacity": 3,
                "handlers": {"default": [{"cpu_ms": {"exponential": {"mean_ms": 1}}}]}}}}"#;
        let results = crate::run(crate::scenario::load(text).unwrap(), &mut |_| {});
        let table = render(&results);
        for line in table.lines() {
            assert!(
                line.chars().count() <= 80,
                "{} columns: {line}",
                line.chars().count()
            );
        }
        assert!(
            table.contains("bottleneck: the-frontend-service-with-a-long-name (cpu"),
            "{table}"
        );
        assert!(table.contains("queue_full"), "{table}");
    }
}
