//! Which charts a run, a sweep and a comparison draw, built from their results: latency
//! percentiles, throughput and errors, utilisation and the bottleneck's queue over time for a
//! run (faults shaded on every time axis); p99, throughput, error rate and cost against the
//! swept value for a sweep, one line per variant. Pure: results in, `Chart`s out.

use crate::chart::{Chart, Span, SpanKind, XAxis, YFormat};
use crate::metrics::outcome::REJECT_REASONS;
use crate::metrics::timeseries::IntervalRow;
use crate::report::Results;
use crate::report::sweep::{PointIntervals, SweepPoint, SweepSummary, plain, short};

/// A chart and the file stem it is written under (`latency` → latency.svg, latency.png).
pub struct NamedChart {
    pub stem: &'static str,
    pub chart: Chart,
}

const TIME: &str = "simulated time (s)";

/// The charts of one run — latency, throughput, utilisation, and the queue when the run has
/// a server — over the run's intervals; the drain after the end, in `timeseries.csv`, is
/// left out.
pub fn run_charts(r: &Results) -> Vec<NamedChart> {
    let spans = spans(r);
    let in_run = r
        .timeseries
        .iter()
        .take_while(|w| w.start.as_secs() < r.sim_time_s)
        .count();
    let rows = &r.timeseries[..in_run];
    let x = |row: &IntervalRow| row.end.as_secs();
    let with_faults = |mut c: Chart| {
        c.spans = spans.clone();
        c.x_limits = Some((0.0, rows.last().map_or(r.sim_time_s, |w| w.end.as_secs())));
        c
    };

    let answered: Vec<&IntervalRow> = rows.iter().filter(|w| w.ended.completed > 0).collect();
    let percentile = |f: fn(&IntervalRow) -> f64| answered.iter().map(|w| (x(w), f(w))).collect();
    let latency = Chart::new(
        &format!(
            "Latency of completed requests per interval · {}",
            r.scenario
        ),
        TIME,
        "latency (ms)",
    )
    .line("p50", percentile(|w| w.p50_ms))
    .line("p90", percentile(|w| w.p90_ms))
    .line("p99", percentile(|w| w.p99_ms));

    let per_s = |w: &IntervalRow, n: u64| {
        let span = (w.end - w.start).as_secs();
        if span > 0.0 { n as f64 / span } else { 0.0 }
    };
    let mut throughput = Chart::new(
        &format!("Requests ended per second · {}", r.scenario),
        TIME,
        "requests per second",
    )
    .line(
        "completed",
        rows.iter()
            .map(|w| (x(w), per_s(w, w.ended.completed)))
            .collect(),
    );
    type Count = fn(&IntervalRow) -> u64;
    let fixed: [(&str, Count); 3] = [
        ("timed out", |w| w.ended.timed_out),
        ("failed: backend down", |w| w.ended.failed_backend_down),
        ("failed: simulation ended", |w| {
            w.ended.failed_simulation_ended
        }),
    ];
    let mut by_reason: Vec<(String, Vec<u64>)> = fixed
        .iter()
        .map(|(name, f)| (name.to_string(), rows.iter().map(f).collect()))
        .collect();
    for reason in REJECT_REASONS {
        let counts = rows
            .iter()
            .map(|w| w.ended.rejected_by[reason.index()])
            .collect();
        by_reason.push((format!("rejected: {}", reason.name()), counts));
    }
    for (name, counts) in by_reason {
        if counts.iter().any(|&n| n > 0) {
            let points = rows
                .iter()
                .zip(counts)
                .map(|(w, n)| (x(w), per_s(w, n)))
                .collect();
            throughput = throughput.line(&name, points);
        }
    }

    let mut utilisation = Chart::new(
        &format!("Utilisation per component · {}", r.scenario),
        TIME,
        "CPU; connections for balancers",
    );
    utilisation.y_format = YFormat::Percent;
    let mut top: f64 = 1.0;
    for (i, name) in r.component_order.iter().enumerate() {
        if r.components.get(name).is_some_and(|c| c.kind == "dns") {
            continue;
        }
        let points: Vec<(f64, f64)> = rows
            .iter()
            .map(|w| (x(w), w.load.get(i).map_or(0.0, |l| l.utilisation)))
            .collect();
        top = points.iter().fold(top, |t, p| t.max(p.1));
        utilisation = utilisation.line(name, points);
    }
    utilisation.y_max = Some(top * 1.05);

    let mut charts = vec![
        NamedChart {
            stem: "latency",
            chart: with_faults(latency),
        },
        NamedChart {
            stem: "throughput",
            chart: with_faults(throughput),
        },
        NamedChart {
            stem: "utilisation",
            chart: with_faults(utilisation),
        },
    ];
    if let Some(i) = queue_component(r) {
        let name = &r.component_order[i];
        let queue = Chart::new(
            &format!("Queue at {name} (the bottleneck) · {}", r.scenario),
            TIME,
            "calls waiting for a worker, per machine",
        )
        .line(
            name,
            rows.iter()
                .map(|w| (x(w), w.load.get(i).map_or(0.0, |l| l.mean_queue)))
                .collect(),
        );
        charts.push(NamedChart {
            stem: "queue",
            chart: with_faults(queue),
        });
    }
    charts
}

/// The component whose queue the run's queue chart shows: the bottleneck when it has a
/// queue (a server), else the server whose queue was longest on average.
fn queue_component(r: &Results) -> Option<usize> {
    let index = |name: &str| r.component_order.iter().position(|n| n == name);
    let is_server = |name: &str| {
        r.components
            .get(name)
            .is_some_and(|c| !matches!(c.kind.as_str(), "load_balancer" | "dns"))
    };
    if let Some(b) = &r.bottleneck
        && is_server(&b.component)
    {
        return index(&b.component);
    }
    r.component_order
        .iter()
        .filter(|n| is_server(n))
        .max_by(|a, b| {
            let q = |n: &String| r.components.get(n).map_or(0.0, |c| c.mean_queue);
            q(a).total_cmp(&q(b))
        })
        .and_then(|n| index(n))
}

/// The warm-up, then every fault from its start to its end (or to the run's end).
fn spans(r: &Results) -> Vec<Span> {
    let warm_up = (r.warmup_s > 0.0).then(|| Span {
        from: 0.0,
        to: r.warmup_s,
        label: "warm-up".into(),
        kind: SpanKind::WarmUp,
    });
    let faults = r.failures.faults.iter().map(|f| Span {
        from: f.at_s,
        to: f.until_s.unwrap_or(r.sim_time_s),
        label: f.fault.clone(),
        kind: SpanKind::Fault,
    });
    warm_up.into_iter().chain(faults).collect()
}

type Figure = fn(&SweepPoint) -> f64;
type HalfWidth = fn(&PointIntervals) -> f64;

/// p99 latency, throughput, error rate and cost against the parameter `x_param` of a
/// sweep, one line per combination of the other parameters (a comparison with `--param`
/// gets one line per scenario). A numeric axis spanning two decades or more is logarithmic;
/// non-numeric values are placed evenly in grid order.
pub fn knee_charts(s: &SweepSummary, x_param: usize) -> Vec<NamedChart> {
    let x_name = s.params.get(x_param).map_or("", |p| short(p)).to_string();
    let numbers: Option<Vec<f64>> = s
        .points
        .iter()
        .map(|p| p.values.get(x_param).and_then(serde_json::Value::as_f64))
        .collect();
    let mut categories: Vec<String> = Vec::new();
    for p in &s.points {
        let v = p.values.get(x_param).map_or(String::new(), plain);
        if !categories.contains(&v) {
            categories.push(v);
        }
    }
    let x_axis = match &numbers {
        Some(xs) if xs.iter().all(|&x| x > 0.0) => {
            let (lo, hi) = xs.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), &x| {
                (lo.min(x), hi.max(x))
            });
            if hi >= 100.0 * lo {
                XAxis::Log10
            } else {
                XAxis::Linear
            }
        }
        Some(_) => XAxis::Linear,
        None => XAxis::Categories(categories.clone()),
    };
    let x_of = |i: usize| match &numbers {
        Some(xs) => xs[i],
        None => {
            let v = s.points[i].values.get(x_param).map_or(String::new(), plain);
            categories.iter().position(|c| *c == v).unwrap_or(0) as f64
        }
    };
    // One line per combination of the other parameters, in grid order.
    let mut lines: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, p) in s.points.iter().enumerate() {
        let others: Vec<String> = p
            .values
            .iter()
            .enumerate()
            .filter(|(k, _)| *k != x_param)
            .map(|(k, v)| {
                if s.params[k] == "scenario" {
                    plain(v)
                } else {
                    format!("{}={}", short(&s.params[k]), plain(v))
                }
            })
            .collect();
        let name = if others.is_empty() {
            s.scenario.clone()
        } else {
            others.join(", ")
        };
        match lines.iter_mut().find(|(n, _)| *n == name) {
            Some((_, members)) => members.push(i),
            None => lines.push((name, vec![i])),
        }
    }
    // Replicated points carry 95 % half-widths, drawn as error bars.
    let replicated = s.points.iter().any(|p| p.ci95.is_some());
    let title_end = match s.points.iter().find_map(|p| p.ci95.as_ref()) {
        Some(ci) => format!("{} · mean ± 95% of {} seeds", s.scenario, ci.replications),
        None => s.scenario.clone(),
    };
    let chart = |title: &str, y: &str, f: Figure, half: Option<HalfWidth>| {
        let mut c = Chart::new(
            &format!("{title} against {x_name} · {title_end}"),
            &x_name,
            y,
        );
        c.x_axis = x_axis.clone();
        for (name, members) in &lines {
            let points = members
                .iter()
                .map(|&i| (x_of(i), f(&s.points[i])))
                .collect();
            c = c.line(name, points);
            if let (Some(half), true) = (half, replicated)
                && let Some(line) = c.series.last_mut()
            {
                let bars = members
                    .iter()
                    .map(|&i| s.points[i].ci95.as_ref().map_or(0.0, half))
                    .collect();
                line.error_bars = Some(bars);
            }
        }
        for line in &mut c.series {
            line.dots = true;
        }
        c
    };
    let mut errors = chart(
        "Error rate",
        "requests that failed",
        |p| p.error_rate,
        Some(|c| c.error_rate),
    );
    errors.y_format = YFormat::Percent;
    vec![
        NamedChart {
            stem: "p99",
            chart: chart("p99 latency", "p99 (ms)", |p| p.p99_ms, Some(|c| c.p99_ms)),
        },
        NamedChart {
            stem: "throughput",
            chart: chart(
                "Throughput",
                "completed per second",
                |p| p.throughput_rps,
                Some(|c| c.throughput_rps),
            ),
        },
        NamedChart {
            stem: "errors",
            chart: errors,
        },
        NamedChart {
            stem: "cost",
            chart: chart("Cost", "cost per hour", |p| p.cost_per_hour, None),
        },
    ]
}

/// Drawn charts: each as `stem.svg` and `stem.png` files, and each SVG with its title, for
/// inlining in report.html.
pub struct Rendered {
    pub files: Vec<(String, Vec<u8>)>,
    pub inline: Vec<(String, String)>,
}

/// Draws every chart as SVG and PNG.
pub fn render(charts: &[NamedChart]) -> Result<Rendered, crate::chart::ChartError> {
    let mut out = Rendered {
        files: Vec::with_capacity(charts.len() * 2),
        inline: Vec::with_capacity(charts.len()),
    };
    for c in charts {
        let svg = crate::chart::svg(&c.chart)?;
        out.files
            .push((format!("{}.svg", c.stem), svg.clone().into_bytes()));
        out.files
            .push((format!("{}.png", c.stem), crate::chart::png(&c.chart)?));
        out.inline.push((c.chart.title.clone(), svg));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The charts plot the run's own rows: the p99 line is the time series' p99 where
    /// requests completed, the utilisation line is the interval utilisation, and the fault
    /// and warm-up are the spans.
    #[test]
    fn run_charts_plot_the_time_series_and_mark_faults() {
        let text = r#"{"name": "c", "duration_s": 6, "warmup_s": 1,
            "workload": {"model": {"open": {"rate_per_s": 400}}, "entry": "api"},
            "components": {"api": {"kind": "service", "machine": {"cores": 1},
                "handlers": {"default": [{"cpu_ms": {"exponential": {"mean_ms": 1}}}]}}},
            "faults": [{"slow": {"component": "api", "factor": 2, "at_s": 3,
                        "duration_s": 1}}]}"#;
        let r = crate::run(crate::scenario::load(text).expect("valid"), &mut |_| {});
        let charts = run_charts(&r);
        let stems: Vec<&str> = charts.iter().map(|c| c.stem).collect();
        assert_eq!(stems, ["latency", "throughput", "utilisation", "queue"]);
        let p99 = &charts[0].chart.series[2];
        assert_eq!(p99.name, "p99");
        let expected: Vec<(f64, f64)> = r
            .timeseries
            .iter()
            .filter(|w| w.start.as_secs() < r.sim_time_s && w.ended.completed > 0)
            .map(|w| (w.end.as_secs(), w.p99_ms))
            .collect();
        assert!(expected.len() >= 5);
        assert_eq!(p99.points, expected);
        let cpu = &charts[2].chart.series[0];
        assert_eq!(cpu.points[2].1, r.timeseries[2].load[0].utilisation);
        let spans: Vec<(f64, f64, SpanKind)> = charts[1]
            .chart
            .spans
            .iter()
            .map(|s| (s.from, s.to, s.kind))
            .collect();
        assert_eq!(
            spans,
            [(0.0, 1.0, SpanKind::WarmUp), (3.0, 4.0, SpanKind::Fault)]
        );
    }
}
