//! `report.html`: one self-contained page per run — the summary tables, the charts inlined as
//! SVG, and the scenario, seed and dsim version — or per sweep or comparison (its points and
//! charts), that opens offline (no script, style or
//! font is fetched). A few lines of script only mark, for tests and readers alike, how many
//! charts the browser laid out. Pure: results, charts and scenario text in, HTML out.

use crate::report::Results;
use crate::report::sweep::{SweepSummary, plain, short};
use std::fmt::Write;

/// HTML-escapes text for element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1060px;
       padding: 0 1rem; color: #222; }
h1 { margin-bottom: 0.2rem; } .meta { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.92rem; }
th, td { padding: 0.25rem 0.7rem; border-bottom: 1px solid #ddd; text-align: right;
         white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
thead th { border-bottom: 2px solid #999; }
figure { margin: 0 0 1.5rem; } figure svg { max-width: 100%; height: auto; }
.bad { color: #b00; font-weight: 600; }
pre { background: #f6f6f6; padding: 0.8rem; overflow-x: auto; font-size: 0.85rem; }
";

/// Marks `<body data-charts-rendered="N">` once the page has laid out N charts with a size.
const SCRIPT: &str = "
window.addEventListener('load', function () {
  var drawn = 0;
  document.querySelectorAll('figure svg').forEach(function (svg) {
    var box = svg.getBoundingClientRect();
    if (box.width > 100 && box.height > 50 && svg.querySelector('text')) { drawn += 1; }
  });
  document.body.setAttribute('data-charts-rendered', String(drawn));
});
";

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn table(out: &mut String, head: &[&str], rows: &[Vec<String>]) {
    out.push_str("<table><thead><tr>");
    for h in head {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr></thead><tbody>\n");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{}</td>", escape(cell));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n");
}

/// The whole page. `charts` are (caption, SVG document) pairs; `scenario_json` is the
/// scenario as run (after `--set`).
pub fn render(r: &Results, charts: &[(String, String)], scenario_json: &str) -> String {
    let mut out = open_page(&r.scenario);
    let _ = writeln!(
        out,
        "<p class=\"meta\">{} · seed {} · {} s simulated ({} s warm-up{}) · stopped: {} · dsim {}</p>",
        escape(&r.description),
        r.seed,
        r.sim_time_s,
        r.warmup_s,
        r.warmup_auto
            .as_ref()
            .map_or(String::new(), |a| format!(", chosen by {}", a.method)),
        escape(&r.stop_reason),
        escape(&r.dsim_version)
    );
    headline(&mut out, r);
    if r.classes.len() > 1 {
        out.push_str("<h2>Request classes</h2>\n");
        let rows: Vec<Vec<String>> = r
            .classes
            .iter()
            .map(|(name, c)| {
                vec![
                    name.clone(),
                    c.requests.total.to_string(),
                    pct(error_share(c.requests.total, c.requests.completed)),
                    format!("{:.1}", c.throughput_rps),
                    format!("{:.2}", c.latency_ms.p50),
                    format!("{:.2}", c.latency_ms.p99),
                ]
            })
            .collect();
        table(
            &mut out,
            &[
                "class",
                "requests",
                "errors",
                "completed/s",
                "p50 ms",
                "p99 ms",
            ],
            &rows,
        );
    }
    components(&mut out, r);
    faults(&mut out, r);
    chart_section(&mut out, charts);
    let _ = writeln!(
        out,
        "<h2>Scenario</h2>\n<details><summary>the scenario file as run (with --set applied; \
         the seed used is in the header)</summary><pre>{}</pre></details>",
        escape(scenario_json)
    );
    close_page(out)
}

/// The page's head and its `<h1>`.
fn open_page(title: &str) -> String {
    let mut out = String::from("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    let _ = write!(
        out,
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>dsim · {}</title><style>{STYLE}</style></head>\n<body>\n<h1>{}</h1>\n",
        escape(title),
        escape(title)
    );
    out
}

/// The charts, each inlined as SVG in a figure.
fn chart_section(out: &mut String, charts: &[(String, String)]) {
    if charts.is_empty() {
        return;
    }
    out.push_str("<h2>Charts</h2>\n");
    for (caption, svg) in charts {
        let _ = writeln!(
            out,
            "<figure aria-label=\"{}\">{}</figure>",
            escape(caption),
            strip_xml_prolog(svg)
        );
    }
}

fn close_page(mut out: String) -> String {
    let _ = write!(out, "<script>{SCRIPT}</script>\n</body></html>\n");
    out
}

/// The page of a sweep or comparison: one row per point, then its charts.
pub fn render_sweep(s: &SweepSummary, charts: &[(String, String)]) -> String {
    let mut out = open_page(&s.scenario);
    let replications = s
        .points
        .iter()
        .find_map(|p| p.ci95.as_ref())
        .map(|c| c.replications);
    let seeds = match replications {
        Some(n) => format!("means ± 95% interval over {n} seeds from {}", s.seed),
        None => format!("seed {}", s.seed),
    };
    let _ = writeln!(
        out,
        "<p class=\"meta\">{} point{} · {seeds} · dsim {}</p>",
        s.points.len(),
        if s.points.len() == 1 { "" } else { "s" },
        escape(&s.dsim_version)
    );
    let with = |x: f64, half: Option<f64>, digits: usize| match half {
        Some(h) => format!("{x:.digits$} ± {h:.digits$}"),
        None => format!("{x:.digits$}"),
    };
    let rows: Vec<Vec<String>> = s
        .points
        .iter()
        .map(|p| {
            let ci = p.ci95.as_ref();
            let mut row: Vec<String> = p.values.iter().map(plain).collect();
            row.extend([
                with(p.throughput_rps, ci.map(|c| c.throughput_rps), 1),
                with(p.p50_ms, ci.map(|c| c.p50_ms), 2),
                with(p.p99_ms, ci.map(|c| c.p99_ms), 2),
                with(p.error_rate * 100.0, ci.map(|c| c.error_rate * 100.0), 3),
                with(
                    p.availability * 100.0,
                    ci.map(|c| c.availability * 100.0),
                    3,
                ),
                format!("{:.2}", p.cost_per_hour),
                if p.stop_reason == crate::StopReason::Completed.name() {
                    format!("{} {}", p.bottleneck, pct(p.bottleneck_utilisation))
                } else {
                    format!("stopped: {}", p.stop_reason)
                },
            ]);
            row
        })
        .collect();
    let mut head: Vec<&str> = s.params.iter().map(|p| short(p)).collect();
    head.extend([
        "completed/s",
        "p50 ms",
        "p99 ms",
        "errors %",
        "availability %",
        "cost/h",
        "bottleneck",
    ]);
    out.push_str("<h2>Points</h2>\n");
    table(&mut out, &head, &rows);
    chart_section(&mut out, charts);
    close_page(out)
}

fn error_share(total: u64, completed: u64) -> f64 {
    if total > 0 {
        (total - completed) as f64 / total as f64
    } else {
        0.0
    }
}

fn headline(out: &mut String, r: &Results) {
    let l = &r.latency_ms;
    let mut rows = vec![
        vec!["requests".into(), r.requests.total.to_string()],
        vec!["completed".into(), r.requests.completed.to_string()],
        vec!["error rate".into(), pct(r.error_rate)],
        vec![
            "throughput".into(),
            format!("{:.1} completed/s", r.throughput_rps),
        ],
        vec![
            "latency mean · p50 · p90".into(),
            format!("{:.2} · {:.2} · {:.2} ms", l.mean, l.p50, l.p90),
        ],
        vec![
            "latency p99 · p99.9 · max".into(),
            format!("{:.2} · {:.2} · {:.2} ms", l.p99, l.p999, l.max),
        ],
        vec!["cost".into(), format!("{:.2} per hour", r.cost_per_hour)],
        vec!["availability".into(), pct(r.failures.availability)],
    ];
    if let Some(b) = &r.bottleneck {
        rows.push(vec![
            "bottleneck".into(),
            format!("{} {} at {}", b.component, b.resource, pct(b.utilisation)),
        ]);
    }
    for (reason, n) in r.requests.rejected_by.iter().chain(&r.requests.failed_by) {
        rows.push(vec![format!("errors: {reason}"), n.to_string()]);
    }
    if r.requests.timed_out > 0 {
        rows.push(vec![
            "errors: timed out".into(),
            r.requests.timed_out.to_string(),
        ]);
    }
    out.push_str("<h2>Summary</h2>\n");
    table(out, &["figure", "value"], &rows);
}

fn components(out: &mut String, r: &Results) {
    let rows: Vec<Vec<String>> = r
        .component_order
        .iter()
        .filter_map(|name| r.components.get(name).map(|c| (name, c)))
        .map(|(name, c)| {
            vec![
                name.clone(),
                c.kind.clone(),
                c.replicas.to_string(),
                format!("{:.1}", c.throughput_rps),
                pct(c.cpu_utilisation),
                pct(c.worker_utilisation),
                format!("{:.2}", c.mean_queue),
                format!("{}/{}", c.peak_connections, c.max_connections),
                format!("{:.2}", c.cost_per_hour),
            ]
        })
        .collect();
    out.push_str("<h2>Components</h2>\n");
    table(
        out,
        &[
            "component",
            "kind",
            "machines",
            "answered/s",
            "CPU",
            "workers",
            "mean queue",
            "peak conns",
            "cost/h",
        ],
        &rows,
    );
}

fn faults(out: &mut String, r: &Results) {
    let f = &r.failures;
    if f.faults.is_empty() {
        return;
    }
    let secs = |x: Option<f64>| x.map_or("—".into(), |s| format!("{s:.1} s"));
    let rows: Vec<Vec<String>> = f
        .faults
        .iter()
        .map(|e| {
            vec![
                e.fault.clone(),
                format!("{:.1} s", e.at_s),
                secs(e.until_s),
                secs(e.errors_started_s),
                pct(e.peak_error_rate),
                e.time_to_recover_s
                    .map_or("never".into(), |s| format!("{s:.1} s")),
                e.requests_failed.to_string(),
            ]
        })
        .collect();
    let _ = writeln!(
        out,
        "<h2>Faults</h2>\n<p>writes lost: {} · stale reads: {}</p>",
        f.writes_lost, f.stale_reads
    );
    table(
        out,
        &[
            "fault",
            "from",
            "until",
            "errors from",
            "peak error rate",
            "recovered after",
            "requests failed",
        ],
        &rows,
    );
}

/// An SVG document without its `<?xml …?>` line, to inline in HTML.
fn strip_xml_prolog(svg: &str) -> &str {
    match svg.strip_prefix("<?xml") {
        Some(rest) => rest
            .split_once("?>")
            .map_or(svg, |(_, body)| body.trim_start()),
        None => svg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_prologs_dropped() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(
            strip_xml_prolog("<?xml version=\"1.0\"?>\n<svg/>"),
            "<svg/>"
        );
        assert_eq!(strip_xml_prolog("<svg/>"), "<svg/>");
    }
}
