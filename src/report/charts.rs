//! Which charts a run, a sweep and a comparison draw, built from their results: latency
//! percentiles, throughput and errors, utilisation and the bottleneck's queue over time for a
//! run (faults shaded on every time axis); p99, throughput, error rate and cost against the
//! swept value for a sweep, one line per variant. Pure: results in, `Chart`s out.

use crate::chart::{Chart, Span, SpanKind, XAxis, YFormat};
use crate::metrics::outcome::REJECT_REASONS;
use crate::metrics::timeseries::IntervalRow;
use crate::report::Results;
use crate::report::component::LoadShown;
use crate::report::sweep::{PointIntervals, SweepPoint, SweepSummary, plain, short};

/// A chart and the file stem it is written under (`latency` → latency.svg, latency.png).
pub(crate) struct NamedChart {
    pub stem: &'static str,
    pub chart: Chart,
}

const TIME: &str = "simulated time (s)";

/// The charts of one run — latency, throughput, CPU utilisation, the balancers' connections
/// (when it has balancers) and the queue (when it has a server) — over the run's intervals;
/// the drain after the end, in `timeseries.csv`, is left out. An interval in which nothing
/// completed is a gap in the latency lines.
pub(crate) fn run_charts(r: &Results) -> Vec<NamedChart> {
    let spans = spans(r);
    let in_run = r
        .timeseries
        .iter()
        .take_while(|w| w.start.as_secs() < r.sim_time_s)
        .count();
    let rows = &r.timeseries[..in_run];
    let with_faults = |stem: &'static str, mut chart: Chart| {
        chart.spans = spans.clone();
        chart.x_limits = Some((0.0, rows.last().map_or(r.sim_time_s, |w| w.end.as_secs())));
        NamedChart { stem, chart }
    };
    let (utilisation, connections) = load_charts(r, rows);
    let mut charts = vec![
        with_faults("latency", latency_chart(r, rows)),
        with_faults("throughput", throughput_chart(r, rows)),
        with_faults("utilisation", utilisation),
    ];
    if connections.has_data() {
        charts.push(with_faults("connections", connections));
    }
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
        charts.push(with_faults("queue", queue));
    }
    if let Some((depth, age)) = message_charts(r, rows) {
        charts.push(with_faults("messages", depth));
        charts.push(with_faults("message_age", age));
    }
    if let Some(replicas) = replica_chart(r, rows) {
        charts.push(with_faults("replicas", replicas));
    }
    charts
}

/// For a run with fleets that scale: the replicas each had (billed: starting, ready or
/// draining), time-averaged per interval.
fn replica_chart(r: &Results, rows: &[IntervalRow]) -> Option<Chart> {
    let fleets = r.servers_where(|s| s.scaling.is_some());
    if fleets.is_empty() {
        return None;
    }
    let mut chart = Chart::new(
        &format!("Replicas of each fleet · {}", r.scenario),
        TIME,
        "replicas billed (starting, ready or draining; mean)",
    );
    for i in fleets {
        chart = chart.line(
            &r.component_order[i],
            rows.iter()
                .map(|w| {
                    (
                        x(w),
                        w.load.get(i).and_then(|l| l.replicas).unwrap_or(f64::NAN),
                    )
                })
                .collect(),
        );
    }
    Some(chart)
}

/// A row's place on the time axis: its end.
/// For a run with queues: the messages each holds, and the age of its oldest waiting
/// message (a gap where none waits), over time.
fn message_charts(r: &Results, rows: &[IntervalRow]) -> Option<(Chart, Chart)> {
    let queues: Vec<(usize, &String)> = r
        .component_order
        .iter()
        .enumerate()
        .filter(|(_, n)| r.components.get(*n).is_some_and(|c| c.queue().is_some()))
        .collect();
    if queues.is_empty() {
        return None;
    }
    let mut depth = Chart::new(
        &format!("Messages held in each queue · {}", r.scenario),
        TIME,
        "messages waiting or in process (mean)",
    );
    let mut age = Chart::new(
        &format!("Age of the oldest waiting message · {}", r.scenario),
        TIME,
        "seconds",
    );
    for (i, name) in queues {
        let load = |w: &IntervalRow| w.load.get(i).and_then(|l| l.messages);
        depth = depth.line(
            name,
            rows.iter()
                .map(|w| (x(w), load(w).map_or(0.0, |m| m.mean_depth)))
                .collect(),
        );
        // NaN: no message waits (a gap, not an age of 0).
        age = age.line(
            name,
            rows.iter()
                .map(|w| {
                    (
                        x(w),
                        load(w).and_then(|m| m.oldest_age_s).unwrap_or(f64::NAN),
                    )
                })
                .collect(),
        );
    }
    Some((depth, age))
}

fn x(row: &IntervalRow) -> f64 {
    row.end.as_secs()
}

/// `n` over the row's length.
fn per_s(w: &IntervalRow, n: u64) -> f64 {
    let span = (w.end - w.start).as_secs();
    if span > 0.0 { n as f64 / span } else { 0.0 }
}

/// p50, p90 and p99 per interval; NaN (a gap) where nothing completed.
fn latency_chart(r: &Results, rows: &[IntervalRow]) -> Chart {
    let percentile = |f: fn(&IntervalRow) -> Option<f64>| {
        rows.iter()
            .map(|w| (x(w), f(w).unwrap_or(f64::NAN)))
            .collect()
    };
    Chart::new(
        &format!(
            "Latency of completed requests per interval · {}",
            r.scenario
        ),
        TIME,
        "latency (ms)",
    )
    .line("p50", percentile(|w| w.p50_ms))
    .line("p90", percentile(|w| w.p90_ms))
    .line("p99", percentile(|w| w.p99_ms))
}

/// Completed and goodput per second, and each error reason that occurred.
fn throughput_chart(r: &Results, rows: &[IntervalRow]) -> Chart {
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
    )
    .line(
        &format!(
            "goodput (≤ {} ms)",
            crate::chart::format_number(r.goodput_within_ms)
        ),
        rows.iter().map(|w| (x(w), per_s(w, w.good))).collect(),
    );
    // Goodput is drawn over throughput and often equals it: the wider line shows around it.
    throughput.series[0].width = 5;
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
    throughput
}

/// The servers' CPU (busiest machine and mean for a component of several), and the
/// balancers' connections as a share of their caps — on charts of their own.
fn load_charts(r: &Results, rows: &[IntervalRow]) -> (Chart, Chart) {
    let load = |i: usize, hottest: bool| -> Vec<(f64, f64)> {
        rows.iter()
            .map(|w| {
                let l = w.load.get(i).copied().unwrap_or_default();
                (
                    x(w),
                    if hottest {
                        l.hottest_utilisation
                    } else {
                        l.utilisation
                    },
                )
            })
            .collect()
    };
    let mut utilisation = Chart::new(
        &format!("CPU utilisation per component · {}", r.scenario),
        TIME,
        "CPU busy",
    );
    utilisation.y_format = YFormat::Percent;
    let mut connections = Chart::new(
        &format!("Connections in use at each load balancer · {}", r.scenario),
        TIME,
        "share of the connection cap",
    );
    connections.y_format = YFormat::Percent;
    for (i, name) in r.component_order.iter().enumerate() {
        let Some(c) = r.components.get(name) else {
            continue;
        };
        match c.load_shown() {
            LoadShown::Nothing => {}
            LoadShown::ConnectionShare => connections = connections.line(name, load(i, false)),
            LoadShown::CpuAndQueue => {
                let several = c.server().is_some_and(|s| s.hottest_machine.is_some());
                utilisation = if several {
                    // A database's hot shard hides in the mean: both are drawn.
                    utilisation
                        .line(&format!("{name} (busiest machine)"), load(i, true))
                        .line(&format!("{name} (mean of machines)"), load(i, false))
                } else {
                    utilisation.line(name, load(i, false))
                }
            }
        }
    }
    for c in [&mut utilisation, &mut connections] {
        let top = c
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .fold(1.0f64, f64::max);
        c.y_max = Some(top * 1.05);
    }
    (utilisation, connections)
}

/// The component whose queue the run's queue chart shows: the bottleneck when it has a
/// queue (a server), else the server whose queue was longest on average.
fn queue_component(r: &Results) -> Option<usize> {
    let index = |name: &str| r.component_order.iter().position(|n| n == name);
    let server = |name: &str| r.components.get(name).and_then(|c| c.server());
    if let Some(b) = &r.bottleneck
        && server(&b.component).is_some()
    {
        return index(&b.component);
    }
    r.component_order
        .iter()
        .filter_map(|n| Some((n, server(n)?.mean_queue)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .and_then(|(n, _)| index(n))
}

/// The warm-up, every fault from its start to its end (or to the run's end), each database
/// failover from the primary's death to the promotion, and each rebalancing while its data
/// moves.
fn spans(r: &Results) -> Vec<Span> {
    let warm_up = (r.warmup_s > 0.0).then(|| Span {
        from: 0.0,
        to: r.warmup_s,
        label: "warm-up".into(),
        kind: SpanKind::WarmUp,
    });
    let faults = r.failures.faults.iter().map(|f| Span {
        from: f.at_s,
        to: f.until_s.unwrap_or(r.sim_time_s).min(r.sim_time_s),
        label: match f.until_s {
            Some(_) => f.fault.clone(),
            None => format!("{} (to the end)", f.fault),
        },
        kind: SpanKind::Fault,
    });
    let mut database_events = Vec::new();
    for name in &r.component_order {
        let Some(rep) = r
            .components
            .get(name)
            .and_then(|c| c.server()?.replication.as_ref())
        else {
            continue;
        };
        for f in &rep.failovers {
            database_events.push(Span {
                from: f.crashed_at_s,
                to: f.promoted_at_s.unwrap_or(r.sim_time_s),
                label: format!("failover {name} shard {}", f.shard),
                kind: SpanKind::Failover,
            });
        }
        for m in &rep.rebalancing {
            database_events.push(Span {
                from: m.at_s,
                to: m.until_s.min(r.sim_time_s),
                label: format!("{name}: +{} shards, data moving", m.shards_added),
                kind: SpanKind::Rebalance,
            });
        }
    }
    warm_up
        .into_iter()
        .chain(faults)
        .chain(database_events)
        .collect()
}

/// A point's figure, `None` when it has none (no latency where nothing completed).
type Figure = fn(&SweepPoint) -> Option<f64>;
type HalfWidth = fn(&PointIntervals) -> Option<f64>;

/// p99 latency, throughput, error rate and cost against the parameter `x_param` of a
/// sweep, one line per combination of the other parameters (a comparison with `--param`
/// gets one line per scenario). A numeric axis spanning two decades or more is logarithmic;
/// non-numeric values are placed evenly in grid order.
pub(crate) fn knee_charts(s: &SweepSummary, x_param: usize) -> Vec<NamedChart> {
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
                .map(|&i| (x_of(i), f(&s.points[i]).unwrap_or(f64::NAN)))
                .collect();
            c = c.line(name, points);
            if let (Some(half), true) = (half, replicated)
                && let Some(line) = c.series.last_mut()
            {
                let bars = members
                    .iter()
                    .map(|&i| s.points[i].ci95.as_ref().and_then(half).unwrap_or(0.0))
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
        |p| Some(p.error_rate),
        Some(|c| Some(c.error_rate)),
    );
    errors.y_format = YFormat::Percent;
    // A p99 where many requests failed is that of the few that got through: ringed.
    let mut p99 = chart("p99 latency", "p99 (ms)", |p| p.p99_ms, Some(|c| c.p99_ms));
    for (line, (_, members)) in p99.series.iter_mut().zip(&lines) {
        line.flagged = members.iter().map(|&i| s.points[i].flagged()).collect();
    }
    p99.flag_label = format!(
        "more than {:.0}% of requests failed: the p99 of those that completed",
        crate::report::sweep::FLAG_ERROR_RATE * 100.0
    );
    vec![
        NamedChart {
            stem: "p99",
            chart: p99,
        },
        NamedChart {
            stem: "throughput",
            chart: chart(
                "Throughput",
                "completed per second",
                |p| Some(p.throughput_rps),
                Some(|c| Some(c.throughput_rps)),
            ),
        },
        NamedChart {
            stem: "goodput",
            chart: chart(
                "Goodput",
                "completed within the objective, per second",
                |p| Some(p.goodput_rps),
                Some(|c| Some(c.goodput_rps)),
            ),
        },
        NamedChart {
            stem: "errors",
            chart: errors,
        },
        NamedChart {
            stem: "cost",
            chart: chart("Cost", "cost per hour", |p| Some(p.cost_per_hour), None),
        },
    ]
}

/// Drawn charts: each as `stem.svg` and `stem.png` files, and each SVG with its title, for
/// inlining in report.html.
pub(crate) struct Rendered {
    pub files: Vec<(String, Vec<u8>)>,
    pub inline: Vec<(String, String)>,
}

/// Draws every chart as SVG and PNG.
pub(crate) fn render(charts: &[NamedChart]) -> Result<Rendered, crate::chart::ChartError> {
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
    /// requests completed (a gap where none did), the utilisation line is the interval
    /// utilisation, the balancer is on the connections chart, and the fault and the failover
    /// are spans.
    #[test]
    fn run_charts_plot_the_time_series_and_mark_faults() {
        let r = crate::report::fixtures::results();
        let charts = run_charts(&r);
        let stems: Vec<&str> = charts.iter().map(|c| c.stem).collect();
        assert_eq!(
            stems,
            [
                "latency",
                "throughput",
                "utilisation",
                "connections",
                "queue"
            ]
        );
        let p99 = &charts[0].chart.series[2];
        assert_eq!(p99.name, "p99");
        let expected: Vec<(f64, Option<f64>)> = r
            .timeseries
            .iter()
            .map(|w| (w.end.as_secs(), w.p99_ms))
            .collect();
        let drawn: Vec<(f64, Option<f64>)> = p99
            .points
            .iter()
            .map(|&(x, y)| (x, (!y.is_nan()).then_some(y)))
            .collect();
        assert_eq!(drawn, expected);
        assert!(
            drawn[4].1.is_none(),
            "nothing completed in the fifth interval"
        );
        // api is drawn as its busiest machine and its mean; the DNS is on no chart.
        let utilisation = &charts[2].chart;
        let names: Vec<&str> = utilisation.series.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "api (busiest machine)",
                "api (mean of machines)",
                "db (busiest machine)",
                "db (mean of machines)"
            ]
        );
        assert_eq!(
            utilisation.series[1].points[2].1,
            r.timeseries[2].load[0].utilisation
        );
        let connections = &charts[3].chart;
        assert_eq!(connections.series.len(), 1);
        assert_eq!(connections.series[0].name, "lb");
        let spans: Vec<(f64, f64, SpanKind)> = charts[1]
            .chart
            .spans
            .iter()
            .map(|s| (s.from, s.to, s.kind))
            .collect();
        // The fault to the end of the run, and the database's failover (crash to promotion).
        assert_eq!(
            spans,
            [(4.0, 10.0, SpanKind::Fault), (4.0, 5.0, SpanKind::Failover)]
        );
    }
}
