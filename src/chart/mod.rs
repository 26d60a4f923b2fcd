//! Charts: a small description of a line chart (`Chart`) and its rendering to SVG text and
//! PNG bytes with plotters. Text is drawn with an embedded font (DejaVu Sans, licence in
//! `assets/fonts/`), so charts render the same on a machine with no system fonts. Knows
//! nothing of simulations: `report::charts` builds the charts from results.

mod draw;

use thiserror::Error;

/// Pixel size of every chart.
pub(crate) const WIDTH: u32 = 1000;
pub(crate) const HEIGHT: u32 = 560;

/// A chart that could not be drawn (a plotters or PNG encoder failure).
#[derive(Debug, Error)]
#[error("cannot draw the chart \"{title}\": {why}")]
pub(crate) struct ChartError {
    pub title: String,
    pub why: String,
}

/// How the x axis maps values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum XAxis {
    Linear,
    /// Decades: for loads from 20 to 2,000,000 users. Every x must be positive.
    Log10,
    /// Points at 0, 1, 2, … named by these labels (a sweep of non-numeric values).
    Categories(Vec<String>),
}

/// How y tick labels read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum YFormat {
    Number,
    /// Values are shares (0..1) shown as percentages.
    Percent,
}

/// One line. A point whose y is NaN is a gap (no value there: nothing completed), not 0.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    /// Points to ring, with `flag_label` in the legend (a sweep point where more than 1 % of
    /// requests failed, whose latency is that of the few that got through). Empty: none.
    pub flagged: Vec<bool>,
    /// Draw a dot at every point (few points, e.g. a sweep).
    pub dots: bool,
    /// Line width in pixels (2; wider for a line another may cover exactly).
    pub width: u32,
    /// Half-widths of an error bar at each point (a 95 % interval over replications).
    pub error_bars: Option<Vec<f64>>,
}

/// A shaded stretch of the x axis with a label.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Span {
    pub from: f64,
    pub to: f64,
    pub label: String,
    pub kind: SpanKind,
}

/// What a span marks, which sets its colour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum SpanKind {
    /// A fault while it was in force (red).
    Fault,
    /// The warm-up, left out of the summary's figures (grey).
    WarmUp,
    /// A database failover, from the primary's death to the promotion (orange).
    Failover,
    /// Shards added while their data moves (purple).
    Rebalance,
}

/// A line chart.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_axis: XAxis,
    pub y_format: YFormat,
    /// The x axis's ends (in data units); the data's extent when `None`. Charts over one
    /// run's time share the same axis this way, whatever their lines cover.
    pub x_limits: Option<(f64, f64)>,
    /// The top of the y axis; the data's maximum (plus headroom) when `None`.
    pub y_max: Option<f64>,
    /// What a ringed point means, in the legend (when any series rings one).
    pub flag_label: String,
    pub series: Vec<Series>,
    pub spans: Vec<Span>,
}

impl Chart {
    pub(crate) fn new(title: &str, x_label: &str, y_label: &str) -> Chart {
        Chart {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            x_axis: XAxis::Linear,
            y_format: YFormat::Number,
            x_limits: None,
            y_max: None,
            flag_label: String::new(),
            series: Vec::new(),
            spans: Vec::new(),
        }
    }

    pub(crate) fn line(mut self, name: &str, points: Vec<(f64, f64)>) -> Chart {
        self.series.push(Series {
            name: name.into(),
            points,
            flagged: Vec::new(),
            dots: false,
            width: 2,
            error_bars: None,
        });
        self
    }

    /// Whether any series has a point to draw.
    pub(crate) fn has_data(&self) -> bool {
        self.series.iter().any(|s| !s.points.is_empty())
    }

    fn error(&self, why: impl std::fmt::Display) -> ChartError {
        ChartError {
            title: self.title.clone(),
            why: why.to_string(),
        }
    }
}

/// The chart as a standalone SVG document.
pub(crate) fn svg(chart: &Chart) -> Result<String, ChartError> {
    draw::register_font().map_err(|why| chart.error(why))?;
    let mut out = String::new();
    {
        let backend = plotters::backend::SVGBackend::with_string(&mut out, (WIDTH, HEIGHT));
        draw::draw(backend, chart).map_err(|e| chart.error(e))?;
    }
    Ok(out)
}

/// The chart as PNG bytes (8-bit RGB).
pub(crate) fn png(chart: &Chart) -> Result<Vec<u8>, ChartError> {
    draw::register_font().map_err(|why| chart.error(why))?;
    let mut pixels = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let backend = plotters::backend::BitMapBackend::with_buffer(&mut pixels, (WIDTH, HEIGHT));
        draw::draw(backend, chart).map_err(|e| chart.error(e))?;
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| chart.error(e))?;
    writer
        .write_image_data(&pixels)
        .map_err(|e| chart.error(e))?;
    writer.finish().map_err(|e| chart.error(e))?;
    Ok(out)
}

/// Tick labels for an axis from `lo` to `hi` with about `ticks` ticks, all in one unit (k
/// or M for the whole axis, never `900` beside `1.2k`) and with the same decimals.
pub(crate) fn axis_labels(lo: f64, hi: f64, ticks: usize) -> impl Fn(f64) -> String {
    let top = lo.abs().max(hi.abs());
    let (scale, suffix) = if top >= 1e6 {
        (1e6, "M")
    } else if top >= 1e4 {
        (1e3, "k")
    } else {
        (1.0, "")
    };
    let step = ((hi - lo) / ticks.max(1) as f64 / scale).abs();
    let decimals = if step > 0.0 && step.is_finite() {
        (-step.log10().floor()).clamp(0.0, 4.0) as usize
    } else {
        0
    };
    move |v: f64| {
        let x = v / scale;
        // Zero reads 0 in any unit (and never -0).
        if x.abs() < 0.5 * 10f64.powi(-(decimals as i32)) {
            return "0".into();
        }
        format!("{x:.decimals$}{suffix}")
    }
}

/// A tick label: thousands as k, millions as M, small values with the digits they need.
pub(crate) fn format_number(v: f64) -> String {
    let a = v.abs();
    let trim = |s: String| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if a >= 1e6 {
        format!("{}M", trim(format!("{:.2}", v / 1e6)))
    } else if a >= 1e4 {
        format!("{}k", trim(format!("{:.1}", v / 1e3)))
    } else if a >= 100.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        trim(format!("{v:.2}"))
    } else {
        trim(format!("{v:.3}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Chart {
        let mut c = Chart::new("p99 against users", "users", "p99 (ms)")
            .line(
                "one machine",
                vec![(20.0, 5.0), (2000.0, 9.0), (200_000.0, 900.0)],
            )
            .line("fleet", vec![(20.0, 6.0), (2000.0, 7.0), (200_000.0, 40.0)]);
        c.x_axis = XAxis::Log10;
        c.spans.push(Span {
            from: 2000.0,
            to: 20_000.0,
            label: "crash app[0]".into(),
            kind: SpanKind::Fault,
        });
        c
    }

    #[test]
    fn svg_has_the_title_legend_and_one_path_per_series() {
        let text = svg(&sample()).expect("draws");
        assert!(text.starts_with("<svg"), "{}", &text[..60]);
        for words in [
            "p99 against users",
            "one machine",
            "fleet",
            "crash app[0]",
            "100k",
        ] {
            assert!(text.contains(words), "missing {words}");
        }
        // Two lines, each a polyline (plus the two legend samples).
        assert!(text.matches("<polyline").count() >= 2);
    }

    /// Text really is drawn into the bitmap: the embedded font is found. A chart whose title
    /// is long has more dark pixels in its caption band than one whose title is short.
    #[test]
    fn png_is_a_png_and_its_text_is_drawn() {
        let dark_in_caption = |title: &str| {
            let mut c = sample();
            c.title = title.into();
            let bytes = png(&c).expect("draws");
            assert_eq!(&bytes[1..4], b"PNG");
            let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
            let mut reader = decoder.read_info().expect("decodes");
            let mut buf = vec![0; reader.output_buffer_size().expect("fits")];
            let info = reader.next_frame(&mut buf).expect("frame");
            assert_eq!((info.width, info.height), (WIDTH, HEIGHT));
            buf[..(WIDTH * 40 * 3) as usize]
                .chunks(3)
                .filter(|p| p.iter().all(|&c| c < 128))
                .count()
        };
        let short = dark_in_caption("p");
        let long = dark_in_caption("p99 latency against users, one big machine");
        assert!(long > short + 200, "caption pixels: {short} vs {long}");
    }

    #[test]
    fn tick_labels_are_short() {
        let labels: Vec<String> = [0.0, 0.25, 3.5, 150.0, 20_000.0, 2_000_000.0, 1_250_000.0]
            .iter()
            .map(|&v| format_number(v))
            .collect();
        assert_eq!(labels, ["0", "0.25", "3.5", "150", "20k", "2M", "1.25M"]);
    }
}
