//! Replications side by side: the terminal table of a `ReplicationSummary` (combined in
//! `study::replications`). Pure: a summary in, text out.

pub(crate) use crate::study::replications::ReplicationSummary;
use std::fmt::Write;

impl ReplicationSummary {
    /// The terminal table (80 columns).
    pub(crate) fn render_table(&self) -> String {
        let mut out = String::new();
        let seeds = match (self.seeds.first(), self.seeds.last()) {
            (Some(a), Some(b)) => format!("seeds {a}..{b}"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "{} · {} replications ({seeds}) · mean and 95% interval",
            super::table::fit(&self.scenario, 30),
            self.replications
        );
        if let Some(method) = &self.warmup_method {
            let _ = writeln!(out, "warm-up chosen per seed by {method} (warmup_s below)");
        }
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<30} {:>11} {:>11} {:>11} {:>11}",
            "figure", "mean", "± 95%", "min", "max"
        );
        for (name, f) in &self.figures {
            let label = super::table::fit(&display_name(name), 30);
            match (f.mean, f.ci95, f.min, f.max) {
                (Some(mean), Some(ci), Some(min), Some(max)) => {
                    let _ = writeln!(
                        out,
                        "{label:<30} {:>11} {:>11} {:>11} {:>11}",
                        number(mean),
                        number(ci),
                        number(min),
                        number(max)
                    );
                }
                _ => {
                    let missing = f.values.iter().filter(|v| v.is_none()).count();
                    let why = if name.starts_with("time_to_recover_s") {
                        "never recovered"
                    } else {
                        "none (no request completed)"
                    };
                    let _ = writeln!(
                        out,
                        "{label:<30} {}",
                        super::table::fit(
                            &format!("{why} in {missing} of {} seeds", f.values.len()),
                            47
                        )
                    );
                }
            }
        }
        let _ = writeln!(out);
        let named: Vec<String> = self
            .bottlenecks
            .iter()
            .map(|(k, n)| format!("{k} ×{n}"))
            .collect();
        let _ = writeln!(out, "bottleneck: {}", named.join(", "));
        out
    }
}

/// The table's label for a figure: `components.api.cpu_utilisation` reads `api cpu`.
fn display_name(name: &str) -> String {
    match name.strip_prefix("components.") {
        Some(rest) => rest
            .replace(".cpu_utilisation", " cpu")
            .replace(".worker_utilisation", " workers")
            .replace(".messages.processed_per_s", " processed/s")
            .replace(".messages.mean_depth", " depth")
            .replace(".messages.peak_depth", " peak depth")
            .replace(".messages.max_age_s", " oldest s")
            .replace(".messages.end_to_end_ms.p99", " message p99 ms"),
        None => name.to_string(),
    }
}

/// A number in at most 11 columns with about 5 significant digits.
fn number(x: f64) -> String {
    let a = x.abs();
    if a == 0.0 {
        "0".to_string()
    } else if a >= 1e9 {
        format!("{x:.3e}")
    } else if a >= 1000.0 {
        format!("{x:.1}")
    } else if a >= 1.0 {
        format!("{x:.3}")
    } else {
        format!("{x:.5}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::confidence::Interval;
    use crate::report::Results;

    fn run(seed: u64) -> Results {
        let text = r#"{"name": "rep", "duration_s": 20, "warmup_s": 2,
            "workload": {"model": {"open": {"rate_per_s": 800}}, "entry": "api"},
            "components": {"api": {"kind": "service", "machine": {"cores": 1},
                "workers": 1, "queue_capacity": 100000,
                "handlers": {"default": [{"cpu_ms": {"exponential": {"mean_ms": 1}}}]}}}}"#;
        let mut s = crate::scenario::load(text).unwrap();
        s.seed = seed;
        crate::run(s, &mut |_| {})
    }

    /// Figures are the per-seed values in order, their mean and a t interval; the table fits
    /// 80 columns and names the bottleneck with its count.
    #[test]
    fn summarises_each_figure_over_seeds() {
        let seeds = [1, 2, 3, 4];
        let runs: Vec<Results> = seeds.iter().map(|&s| run(s)).collect();
        let r = ReplicationSummary::of(&runs, &seeds);
        let (name, p99) = &r.figures[6];
        assert_eq!(name, "latency_ms.p99");
        let xs: Vec<f64> = runs.iter().filter_map(|r| r.latency_ms.p99).collect();
        assert_eq!(p99.values, xs.iter().map(|&x| Some(x)).collect::<Vec<_>>());
        let i = Interval::of(&xs);
        let (mean, ci) = (p99.mean.unwrap_or(0.0), p99.ci95.unwrap_or(0.0));
        assert!((mean - i.mean).abs() < 1e-6 && (ci - i.half_width_95).abs() < 1e-6);
        assert!(ci > 0.0, "different seeds give different values");
        // Counts come as rates of each run's own window.
        let (name, total) = r
            .figures
            .iter()
            .find(|(n, _)| n == "requests_per_s.total")
            .expect("request rates");
        assert_eq!(name, "requests_per_s.total");
        let rate = runs[0].requests.total as f64 / runs[0].measured_s;
        assert!((total.values[0].unwrap_or(0.0) - rate).abs() < 1e-3);
        let table = r.render_table();
        for line in table.lines() {
            assert!(line.chars().count() <= 80, "{line}");
        }
        assert!(table.contains("bottleneck: api (cpu) ×4"), "{table}");
        assert!(table.contains("\napi cpu "), "{table}");
        assert!(
            r.figures
                .iter()
                .any(|(n, _)| n == "components.api.cpu_utilisation")
        );
        let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(
            json["figures"]["throughput_rps"]["values"]
                .as_array()
                .unwrap()
                .len(),
            4
        );
    }
}
