//! Drawing a `Chart` on any plotters backend: axes, shaded fault spans, lines and a legend.

use super::{Chart, SpanKind, XAxis, YFormat, axis_labels};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::sync::OnceLock;

/// DejaVu Sans (Bitstream Vera licence, see `assets/fonts/DejaVuSans.LICENSE`).
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";

/// Okabe–Ito colours: told apart by colour-blind readers, readable on white.
const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
];
const FAULT: RGBColor = RGBColor(200, 30, 30);
const WARM_UP: RGBColor = RGBColor(110, 110, 110);
const FAILOVER: RGBColor = RGBColor(230, 120, 0);
const REBALANCE: RGBColor = RGBColor(120, 60, 170);

/// Registers the embedded font with plotters once per process.
pub(super) fn register_font() -> Result<(), String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        plotters::style::register_font(FAMILY, FontStyle::Normal, FONT)
            .map_err(|_| "the embedded font is not a valid TrueType font".to_string())
    })
    .clone()
}

/// Where a data x lands on the drawn axis.
fn place(axis: &XAxis, x: f64) -> f64 {
    match axis {
        XAxis::Log10 => x.max(f64::MIN_POSITIVE).log10(),
        XAxis::Linear | XAxis::Categories(_) => x,
    }
}

/// The drawn x range: every point and span, a little wider for categories.
fn x_range(c: &Chart) -> (f64, f64) {
    if let XAxis::Categories(names) = &c.x_axis {
        return (-0.3, names.len().saturating_sub(1) as f64 + 0.3);
    }
    if let Some((lo, hi)) = c.x_limits
        && hi > lo
    {
        return (place(&c.x_axis, lo), place(&c.x_axis, hi));
    }
    let xs = c
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .chain(c.spans.iter().flat_map(|s| [s.from, s.to]))
        .filter(|x| x.is_finite())
        .map(|x| place(&c.x_axis, x));
    let (lo, hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
        (lo.min(x), hi.max(x))
    });
    if !lo.is_finite() {
        (0.0, 1.0)
    } else if hi - lo < 1e-9 {
        (lo - 0.5, hi + 0.5)
    } else {
        (lo, hi)
    }
}

/// The drawn y range: 0 (or below, for negative data) to the data's top, error bars included.
fn y_range(c: &Chart) -> (f64, f64) {
    let ys = c
        .series
        .iter()
        .flat_map(|s| {
            let bars = s.error_bars.as_deref().unwrap_or(&[]);
            s.points.iter().enumerate().flat_map(move |(i, p)| {
                let h = bars
                    .get(i)
                    .copied()
                    .filter(|h| h.is_finite())
                    .unwrap_or(0.0);
                // Bars reach up, never below the data's own floor (an error rate of
                // 0.5 % ± 3 % keeps its axis at 0; the bar is cut there).
                [p.1, p.1 + h]
            })
        })
        .filter(|y| y.is_finite());
    let (lo, hi) = ys.fold((0.0f64, 0.0f64), |(lo, hi), y| (lo.min(y), hi.max(y)));
    let top = c.y_max.unwrap_or(if hi > 0.0 { hi * 1.08 } else { 1.0 });
    (lo, top.max(lo + 1e-9))
}

/// An x tick label: on a linear axis in the axis' one unit (`linear`), on a log axis the
/// load itself (1-2-5 ticks), on a category axis its name.
fn x_tick(axis: &XAxis, v: f64, linear: &dyn Fn(f64) -> String) -> String {
    match axis {
        XAxis::Linear => linear(v),
        XAxis::Log10 => log_tick(10f64.powf(v)),
        XAxis::Categories(names) => {
            let i = v.round();
            if (v - i).abs() < 1e-6 && i >= 0.0 {
                names.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        }
    }
}

fn y_tick(format: YFormat, v: f64, number: &dyn Fn(f64) -> String) -> String {
    match format {
        YFormat::Number => number(v),
        YFormat::Percent => format!("{:.0}%", v * 100.0),
    }
}

/// A 1-2-5 tick of a log axis: thousands as k from 1,000 and millions as M, so one axis
/// never reads `5000` beside `10k`.
fn log_tick(v: f64) -> String {
    let (scaled, suffix) = if v >= 1e6 {
        (v / 1e6, "M")
    } else if v >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let text = format!("{scaled:.2}");
    format!(
        "{}{suffix}",
        text.trim_end_matches('0').trim_end_matches('.')
    )
}

/// A legend name in lines of at most `width` characters, broken after a space, a comma or
/// an `=` where one is near (a name is never cut short).
fn wrap(name: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut rest: Vec<char> = name.chars().collect();
    while rest.len() > width {
        let cut = rest[..width]
            .iter()
            .rposition(|c| matches!(c, ' ' | ',' | '=' | '-' | '/'))
            .filter(|&i| i >= width / 2)
            .map_or(width, |i| i + 1);
        lines.push(
            rest[..cut]
                .iter()
                .collect::<String>()
                .trim_end()
                .to_string(),
        );
        rest.drain(..cut);
    }
    lines.push(rest.into_iter().collect());
    lines
}

/// Tick values for a log axis drawn from 10^lo to 10^hi: 1, 2 and 5 of each decade, or
/// only the decades when that would be more than a dozen.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let steps: &[f64] = if hi - lo > 4.0 {
        &[1.0]
    } else {
        &[1.0, 2.0, 5.0]
    };
    let mut ticks = Vec::new();
    let mut decade = lo.floor() as i32;
    while f64::from(decade) <= hi.ceil() {
        for step in steps {
            let v = step * 10f64.powi(decade);
            let x = v.log10();
            if x >= lo - 1e-9 && x <= hi + 1e-9 {
                ticks.push(v);
            }
        }
        decade += 1;
    }
    ticks
}

/// A caption size that fits `title` in `width` pixels: 22, smaller for long titles (DejaVu
/// Sans averages about 0.56 em per character), never under 12.
fn caption_size(title: &str, width: u32) -> u32 {
    let chars = title.chars().count().max(1) as f64;
    let fits = (f64::from(width) - 30.0) / (0.56 * chars);
    fits.clamp(12.0, 22.0) as u32
}

/// Points a line keeps: about two per pixel column of the plot.
const MAX_POINTS_PER_LINE: usize = 2_000;

/// At most about `max` of `points` (in x order): beyond it, each run of points keeps its
/// lowest and highest, so spikes survive (a million-row run stays a small file).
fn thin(points: &[(f64, f64)], max: usize) -> Vec<(f64, f64)> {
    if points.len() <= max {
        return points.to_vec();
    }
    let run = points.len().div_ceil((max / 2).max(1));
    let mut kept = Vec::with_capacity(max + 2);
    for chunk in points.chunks(run) {
        let low = chunk
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.1.total_cmp(&b.1.1));
        let high = chunk
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.1.total_cmp(&b.1.1));
        if let (Some((i, &lo)), Some((j, &hi))) = (low, high) {
            match i.cmp(&j) {
                std::cmp::Ordering::Less => kept.extend([lo, hi]),
                std::cmp::Ordering::Greater => kept.extend([hi, lo]),
                std::cmp::Ordering::Equal => kept.push(lo),
            }
        }
    }
    kept
}

/// Pixels to the right of the plot for the legend, so it never hides a line.
const LEGEND_WIDTH: u32 = 200;

/// Characters of a legend line.
const LEGEND_CHARS: usize = 22;

/// One entry per series: a short stroke in its colour and its whole name, wrapped over as
/// many lines as it needs; then, if a point is ringed, what a ring means. Entries that do not
/// fit the height are counted on the last line.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: &Chart,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    const LINE: i32 = 17;
    const GAP: i32 = 7;
    let style = (FAMILY, 14).into_font().color(&BLACK);
    let bottom = area.dim_in_pixel().1 as i32 - 30;
    let flags = !c.flag_label.is_empty() && c.series.iter().any(|s| s.flagged.contains(&true));
    let flag_lines = if flags {
        wrap(&c.flag_label, LEGEND_CHARS)
    } else {
        Vec::new()
    };
    let reserved = flag_lines.len() as i32 * LINE + GAP;
    let mut y = 52;
    for (i, s) in c.series.iter().enumerate() {
        let lines = wrap(&s.name, LEGEND_CHARS);
        let height = lines.len() as i32 * LINE + GAP;
        if y + height + LINE > bottom - reserved && i + 1 < c.series.len() {
            let more = format!("… and {} more", c.series.len() - i);
            area.draw(&Text::new(more, (6, y), style.clone()))?;
            y += LINE + GAP;
            break;
        }
        let colour = PALETTE[i % PALETTE.len()];
        area.draw(&PathElement::new(
            [(6, y + 8), (30, y + 8)],
            colour.stroke_width(3),
        ))?;
        for (k, line) in lines.into_iter().enumerate() {
            area.draw(&Text::new(line, (36, y + k as i32 * LINE), style.clone()))?;
        }
        y += height;
    }
    if flags {
        area.draw(&Circle::new((18, y + 8), 7, FAULT.stroke_width(2)))?;
        for (k, line) in flag_lines.into_iter().enumerate() {
            area.draw(&Text::new(line, (36, y + k as i32 * LINE), style.clone()))?;
        }
    }
    Ok(())
}

/// Draws `c` on `backend` and presents it.
pub(super) fn draw<DB: DrawingBackend>(backend: DB, c: &Chart) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    let root: DrawingArea<DB, Shift> = backend.into_drawing_area();
    draw_on(&root, c).map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

fn draw_on<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    c: &Chart,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let legend = !c.series.is_empty() && (c.series.len() > 1 || !c.series[0].name.is_empty());
    let (plot, side) = root.split_horizontally(if legend {
        root.dim_in_pixel().0.saturating_sub(LEGEND_WIDTH)
    } else {
        root.dim_in_pixel().0
    });
    if legend {
        draw_legend(&side, c)?;
    }
    let (x0, x1) = x_range(c);
    let (y0, y1) = y_range(c);
    let mut chart = ChartBuilder::on(&plot)
        .caption(
            &c.title,
            (FAMILY, caption_size(&c.title, plot.dim_in_pixel().0)),
        )
        .margin(14)
        .x_label_area_size(48)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    // A log axis gets its own 1-2-5 ticks below (plotters would label decades only).
    let x_labels = match &c.x_axis {
        XAxis::Categories(names) => names.len().max(2),
        XAxis::Log10 => 0,
        XAxis::Linear => 10,
    };
    let (x_numbers, y_numbers) = (axis_labels(x0, x1, 10), axis_labels(y0, y1, 8));
    let x_format = |v: &f64| x_tick(&c.x_axis, *v, &x_numbers);
    let y_format = |v: &f64| y_tick(c.y_format, *v, &y_numbers);
    chart
        .configure_mesh()
        .x_desc(c.x_label.as_str())
        .y_desc(c.y_label.as_str())
        .x_labels(x_labels)
        .y_labels(8)
        .x_label_formatter(&x_format)
        .y_label_formatter(&y_format)
        .label_style((FAMILY, 14))
        .axis_desc_style((FAMILY, 15))
        .light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(215, 215, 215))
        .draw()?;
    if c.x_axis == XAxis::Log10 {
        let label_style = (FAMILY, 14).into_font().color(&BLACK);
        for tick in log_ticks(x0, x1) {
            let x = tick.log10();
            chart.draw_series(std::iter::once(PathElement::new(
                [(x, y0), (x, y1)],
                RGBColor(225, 225, 225),
            )))?;
            let (px, py) = chart.backend_coord(&(x, y0));
            let label = log_tick(tick);
            let half = (label.len() as i32 * 4).max(4);
            plot.draw(&Text::new(label, (px - half, py + 8), label_style.clone()))?;
        }
    }
    for (i, span) in c.spans.iter().enumerate() {
        let from = place(&c.x_axis, span.from).clamp(x0, x1);
        let to = place(&c.x_axis, span.to).clamp(x0, x1);
        let colour = match span.kind {
            SpanKind::Fault => FAULT,
            SpanKind::WarmUp => WARM_UP,
            SpanKind::Failover => FAILOVER,
            SpanKind::Rebalance => REBALANCE,
        };
        chart.draw_series(std::iter::once(Rectangle::new(
            [(from, y0), (to.max(from), y1)],
            colour.mix(0.12).filled(),
        )))?;
        // Labels step down so overlapping faults stay readable.
        let y = y1 - (y1 - y0) * (0.02 + 0.06 * (i % 4) as f64);
        chart.draw_series(std::iter::once(Text::new(
            span.label.clone(),
            (from, y),
            (FAMILY, 13).into_font().color(&colour),
        )))?;
    }
    for (i, s) in c.series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let placed = |&(x, y): &(f64, f64)| (place(&c.x_axis, x), y);
        // A NaN y is a gap: each stretch between gaps is its own line.
        for stretch in s.points.split(|p| !(p.0.is_finite() && p.1.is_finite())) {
            let points: Vec<(f64, f64)> = stretch.iter().map(placed).collect();
            let points = thin(&points, MAX_POINTS_PER_LINE);
            chart.draw_series(LineSeries::new(
                points.iter().copied(),
                colour.stroke_width(s.width),
            ))?;
            if s.dots {
                chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, colour.filled())))?;
            }
        }
        let rings = s
            .points
            .iter()
            .zip(&s.flagged)
            .filter(|(p, flagged)| **flagged && p.0.is_finite() && p.1.is_finite());
        chart.draw_series(rings.map(|(p, _)| Circle::new(placed(p), 8, FAULT.stroke_width(2))))?;
        if let Some(bars) = &s.error_bars {
            let kept = s
                .points
                .iter()
                .zip(bars)
                .filter(|(p, _)| p.0.is_finite() && p.1.is_finite());
            for ((x, y), h) in kept {
                let x = place(&c.x_axis, *x);
                if h.is_finite() && *h > 0.0 {
                    let (lo, hi) = ((y - h).max(y0), (y + h).min(y1));
                    chart.draw_series(std::iter::once(PathElement::new(
                        [(x, lo), (x, hi)],
                        colour.stroke_width(2),
                    )))?;
                    let (px, plo) = chart.backend_coord(&(x, lo));
                    let (_, phi) = chart.backend_coord(&(x, hi));
                    for py in [plo, phi] {
                        plot.draw(&PathElement::new(
                            [(px - 5, py), (px + 5, py)],
                            colour.stroke_width(2),
                        ))?;
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_axis_ticks_read_as_loads_and_categories_as_names() {
        let linear = |v: f64| format!("{v}");
        assert_eq!(x_tick(&XAxis::Log10, 5.0, &linear), "100k");
        assert_eq!(x_tick(&XAxis::Log10, 2.0, &linear), "100");
        let ticks: Vec<String> = [2000.0, 5000.0, 10_000.0, 0.5, 2.5e6]
            .map(log_tick)
            .to_vec();
        assert_eq!(ticks, ["2k", "5k", "10k", "0.5", "2.5M"]);
        let names = XAxis::Categories(vec!["a".into(), "b".into()]);
        assert_eq!(
            (x_tick(&names, 1.0, &linear), x_tick(&names, 0.5, &linear)),
            ("b".into(), "".into())
        );
        assert_eq!(y_tick(YFormat::Percent, 0.85, &linear), "85%");
    }

    /// One unit and one number of decimals along an axis: never `800` beside `1.2k`.
    #[test]
    fn an_axis_labels_every_tick_alike() {
        let labels = |lo: f64, hi: f64, values: &[f64]| {
            let f = axis_labels(lo, hi, 8);
            values.iter().map(|&v| f(v)).collect::<Vec<_>>()
        };
        assert_eq!(
            labels(0.0, 1500.0, &[0.0, 800.0, 1200.0]),
            ["0", "800", "1200"]
        );
        assert_eq!(
            labels(0.0, 25_000.0, &[0.0, 5000.0, 25_000.0]),
            ["0", "5k", "25k"]
        );
        assert_eq!(labels(0.0, 1.6, &[0.0, 0.2, 1.4]), ["0", "0.2", "1.4"]);
        assert_eq!(labels(0.0, 3e6, &[5e5, 3e6]), ["0.5M", "3.0M"]);
    }

    /// Legend names wrap instead of being cut, breaking where a reader would.
    #[test]
    fn legend_names_wrap_whole() {
        let name = "horizontal-scaling replicas=16, users=200000";
        let lines = wrap(name, LEGEND_CHARS);
        assert!(
            lines.iter().all(|l| l.chars().count() <= LEGEND_CHARS),
            "{lines:?}"
        );
        assert_eq!(lines.concat().replace(' ', ""), name.replace(' ', ""));
        assert_eq!(wrap("short", LEGEND_CHARS), ["short"]);
    }

    #[test]
    fn log_ticks_are_round_and_inside_the_axis() {
        let ticks = log_ticks(2000f64.log10(), 400_000f64.log10());
        assert_eq!(ticks, [2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5]);
        let wide = log_ticks(1.0, 6.5);
        assert_eq!(wide, [10.0, 100.0, 1e3, 1e4, 1e5, 1e6]);
    }

    #[test]
    fn long_lines_are_thinned_keeping_their_spikes() {
        let mut points: Vec<(f64, f64)> = (0..100_000).map(|i| (f64::from(i), 1.0)).collect();
        points[54_321].1 = 50.0;
        points[77_777].1 = -3.0;
        let kept = thin(&points, 2_000);
        assert!(kept.len() <= 2_002, "{}", kept.len());
        assert!(kept.contains(&(54_321.0, 50.0)) && kept.contains(&(77_777.0, -3.0)));
        assert!(kept.windows(2).all(|w| w[0].0 < w[1].0), "x order kept");
        assert_eq!(thin(&points[..10], 2_000).len(), 10);
    }

    #[test]
    fn error_bars_fit_inside_the_y_axis() {
        let mut c = Chart::new("t", "x", "y").line("a", vec![(1.0, 10.0), (2.0, 20.0)]);
        c.series[0].error_bars = Some(vec![1.0, 15.0]);
        assert!(y_range(&c).1 >= 35.0);
    }

    #[test]
    fn ranges_cover_the_data_and_a_lone_point() {
        let c = Chart::new("t", "x", "y").line("a", vec![(3.0, 2.0)]);
        assert_eq!(x_range(&c), (2.5, 3.5));
        let (lo, hi) = y_range(&c);
        assert!(lo == 0.0 && hi > 2.0);
        let mut log = Chart::new("t", "x", "y").line("a", vec![(20.0, 1.0), (2e6, 9.0)]);
        log.x_axis = XAxis::Log10;
        let (a, b) = x_range(&log);
        assert!((a - 20f64.log10()).abs() < 1e-12 && (b - 2e6f64.log10()).abs() < 1e-12);
    }
}
