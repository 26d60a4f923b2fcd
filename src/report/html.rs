//! `report.html`: one self-contained page per run — the summary tables, the charts inlined as
//! SVG, and the scenario, seed and dsim version — or per sweep or comparison (its points and
//! charts), that opens offline (no script, style or
//! font is fetched). A few lines of script only mark, for tests and readers alike, how many
//! charts the browser laid out. Pure: results, charts and scenario text in, HTML out.

use crate::report::sections::{self, pct};
use crate::report::sweep::{SweepPoint, SweepSummary, plain, short};
use crate::report::{NO_LATENCY, Results};
use std::fmt::Write;

/// HTML-escapes text for element content and attribute values.
pub(crate) fn escape(text: &str) -> String {
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
.bad { color: #b00; font-weight: 600; } .note { color: #555; font-size: 0.88rem; }
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
/// scenario as run (after `--set`). Its tables are the terminal table's sections
/// (`sections::of`), so the two tell the same story.
pub(crate) fn render(r: &Results, charts: &[(String, String)], scenario_json: &str) -> String {
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
        r.stop_reason,
        escape(&r.dsim_version)
    );
    for s in sections::of(r) {
        let _ = writeln!(out, "<h2>{}</h2>", escape(s.title));
        for line in &s.lines {
            let _ = writeln!(out, "<p>{}</p>", escape(line));
        }
        if let Some(g) = &s.grid {
            table(
                &mut out,
                &g.head.iter().map(String::as_str).collect::<Vec<_>>(),
                &g.rows,
            );
        }
        for note in &s.notes {
            let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(note));
        }
    }
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
pub(crate) fn render_sweep(s: &SweepSummary, charts: &[(String, String)]) -> String {
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
    // No latency where nothing completed; marked where many requests failed.
    let latency = |p: &SweepPoint, x: Option<f64>, half: Option<f64>| match x {
        None => NO_LATENCY.to_string(),
        Some(x) if p.flagged() => format!("{} !", with(x, half, 2)),
        Some(x) => with(x, half, 2),
    };
    let rows: Vec<Vec<String>> = s
        .points
        .iter()
        .map(|p| {
            let ci = p.ci95.as_ref();
            let mut row: Vec<String> = p.values.iter().map(plain).collect();
            row.extend([
                with(p.throughput_rps, ci.map(|c| c.throughput_rps), 1),
                with(p.goodput_rps, ci.map(|c| c.goodput_rps), 1),
                latency(p, p.p50_ms, ci.and_then(|c| c.p50_ms)),
                latency(p, p.p99_ms, ci.and_then(|c| c.p99_ms)),
                with(p.error_rate * 100.0, ci.map(|c| c.error_rate * 100.0), 3),
                with(
                    p.availability * 100.0,
                    ci.map(|c| c.availability * 100.0),
                    3,
                ),
                format!("{:.2}", p.cost_per_hour),
                p.cost_per_1000_rps
                    .map_or("-".into(), |c| format!("{c:.3}")),
                if p.stop_reason == crate::StopReason::Completed {
                    format!("{} {}", p.bottleneck, pct(p.bottleneck_utilisation, 1))
                } else {
                    format!("stopped: {}", p.stop_reason)
                },
            ]);
            row
        })
        .collect();
    let mut head: Vec<&str> = s.params.iter().map(|p| short(p)).collect();
    head.extend([
        "throughput/s",
        "goodput/s",
        "p50 ms",
        "p99 ms",
        "errors %",
        "availability %",
        "cost/h",
        "cost per 1,000/s",
        "bottleneck",
    ]);
    out.push_str("<h2>Points</h2>\n");
    table(&mut out, &head, &rows);
    if s.points.iter().any(SweepPoint::flagged) {
        let _ = writeln!(
            out,
            "<p class=\"note\">! more than {:.0}% of requests failed at this point: its latency \
             is that of the few that completed</p>",
            crate::report::sweep::FLAG_ERROR_RATE * 100.0
        );
    }
    chart_section(&mut out, charts);
    close_page(out)
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
