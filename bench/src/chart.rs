//! The "latency by percentile" chart that `cargo xtask bench` writes and the
//! README shows: one line per server, HdrHistogram style, so the tail (99%,
//! 99.9%, max) reads as easily as the median.
//!
//! SVG only, without plotters' font features: plotters estimates text widths
//! for the layout and writes `<text>` elements, which the SVG viewer draws,
//! so nothing here needs system fonts or fontconfig.

use std::fmt::Display;
use std::ops::Range;
use std::path::Path;

use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;

/// One line on the chart: a label and (quantile, latency in ms) points, quantile in 0..=1.
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

const SIZE: (u32, u32) = (900, 520);
/// Where the nines scale stops: quantile 1.0 (the max) is drawn here.
const MAX_X: f64 = 5.0;
/// The x ticks: position on the nines scale and label.
const TICKS: [(f64, &str); 6] = [
    (std::f64::consts::LOG10_2, "50%"),
    (1.0, "90%"),
    (2.0, "99%"),
    (3.0, "99.9%"),
    (4.0, "99.99%"),
    (MAX_X, "max"),
];
/// Tableau 10: distinct on white, none of them pale.
const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

/// Writes an SVG "latency by percentile" chart (HdrHistogram style) to `path`.
pub fn latency_chart(path: &Path, title: &str, series: &[Series]) -> Result<(), String> {
    check(series)?;
    let mut svg = String::new();
    draw(
        SVGBackend::with_string(&mut svg, SIZE).into_drawing_area(),
        title,
        series,
    )
    .map_err(|e| format!("latency chart {title:?}: {e}"))?;
    std::fs::write(path, svg).map_err(|e| format!("writing {}: {e}", path.display()))
}

/// At least one point, and every point a quantile in 0..=1 with a finite,
/// positive latency (the y axis is logarithmic).
fn check(series: &[Series]) -> Result<(), String> {
    if series.iter().all(|s| s.points.is_empty()) {
        return Err("latency chart: no points to plot".into());
    }
    for s in series {
        for &(q, ms) in &s.points {
            check_point(q, ms).map_err(|e| format!("latency chart, {:?}: {e}", s.label))?;
        }
    }
    Ok(())
}

fn check_point(q: f64, ms: f64) -> Result<(), String> {
    if !(0.0..=1.0).contains(&q) {
        return Err(format!("quantile {q} is not in 0..=1"));
    }
    if !(ms.is_finite() && ms > 0.0) {
        return Err(format!(
            "latency {ms} ms at quantile {q} is not a positive number"
        ));
    }
    Ok(())
}

fn draw(
    root: DrawingArea<SVGBackend, Shift>,
    title: &str,
    series: &[Series],
) -> Result<(), String> {
    root.fill(&WHITE).map_err(text)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 24))
        .margin(12)
        .margin_right(28)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(NinesAxis, LogMs(y_range(series)))
        .map_err(text)?;
    chart
        .configure_mesh()
        .x_desc("percentile")
        .y_desc("latency (ms, log scale)")
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 16))
        .draw()
        .map_err(text)?;
    for (i, s) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let points = s.points.iter().map(|&(q, ms)| (nines(q), ms));
        chart
            .draw_series(LineSeries::new(points, color.filled().stroke_width(2)).point_size(3))
            .map_err(text)?
            .label(&s.label)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 15))
        .draw()
        .map_err(text)?;
    root.present().map_err(text)
}

/// The x axis: the nines scale from 0 to `MAX_X`, labelled at `TICKS` only.
struct NinesAxis;

impl Ranged for NinesAxis {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, x: &f64, (from, to): (i32, i32)) -> i32 {
        scale((from, to), x / MAX_X)
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new() // no minor grid lines between the nines
        } else {
            TICKS.iter().map(|t| t.0).collect()
        }
    }

    fn range(&self) -> Range<f64> {
        0.0..MAX_X
    }
}

impl ValueFormatter<f64> for NinesAxis {
    fn format(x: &f64) -> String {
        tick_label(*x)
    }
}

/// The y axis: latency in ms on a log scale, labelled at 1-2-5 steps (only
/// at powers of ten when it spans more than four decades).
struct LogMs(Range<f64>);

impl Ranged for LogMs {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, ms: &f64, limit: (i32, i32)) -> i32 {
        let (lo, hi) = (self.0.start.ln(), self.0.end.ln());
        scale(limit, (ms.ln() - lo) / (hi - lo))
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        let steps: &[f64] = if hint.weight().allow_light_points() {
            &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
        } else if self.0.end / self.0.start > 1e4 {
            &[1.0]
        } else {
            &[1.0, 2.0, 5.0]
        };
        decade_steps(&self.0, steps)
    }

    fn range(&self) -> Range<f64> {
        self.0.clone()
    }
}

impl ValueFormatter<f64> for LogMs {
    fn format(ms: &f64) -> String {
        ms_label(*ms)
    }
}

/// The pixel a fraction `t` of the way along the axis from `from` to `to`.
fn scale((from, to): (i32, i32), t: f64) -> i32 {
    from + (f64::from(to - from) * t).round() as i32
}

/// `step × 10^k` for every step and power of ten that falls inside `range`.
fn decade_steps(range: &Range<f64>, steps: &[f64]) -> Vec<f64> {
    let (first, last) = (range.start.log10().floor(), range.end.log10().ceil());
    (first as i32..=last as i32)
        .flat_map(|k| steps.iter().map(move |s| s * 10f64.powi(k)))
        .filter(|v| range.contains(v))
        .collect()
}

fn text(e: impl Display) -> String {
    e.to_string()
}

/// The quantile on the "nines" scale: 0.9 → 1, 0.99 → 2, …; 1.0 (the max) → 5.
fn nines(q: f64) -> f64 {
    (-(1.0 - q).log10()).min(MAX_X)
}

/// Half the smallest latency (never below 0.01 ms) up to well above the
/// largest: one decade per ~5 legend lines of headroom, so the legend in the
/// upper left sits above the data instead of on it.
fn y_range(series: &[Series]) -> Range<f64> {
    let all = || series.iter().flat_map(|s| s.points.iter().map(|p| p.1));
    let lo = all().fold(f64::INFINITY, f64::min);
    let hi = all().fold(0.0, f64::max);
    let headroom = 10f64.powf(1.0 + series.len() as f64 / 5.0);
    (lo / 2.0).max(0.01)..(hi * headroom).max(0.02)
}

fn tick_label(x: f64) -> String {
    TICKS
        .iter()
        .find(|t| (t.0 - x).abs() < 1e-9)
        .map_or_else(|| format!("{x:.2}"), |t| t.1.to_string())
}

/// 0.05 → "0.05", 2 → "2", 1500 → "1500": no float noise, no trailing zeros.
fn ms_label(ms: f64) -> String {
    let s = format!("{ms:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(label: &str, scale: f64) -> Series {
        let points = [
            (0.5, 1.0),
            (0.9, 1.6),
            (0.99, 3.2),
            (0.999, 7.5),
            (1.0, 20.0),
        ];
        Series {
            label: label.into(),
            points: points.iter().map(|&(q, ms)| (q, ms * scale)).collect(),
        }
    }

    fn temp_svg(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("xtask-chart-{}-{name}.svg", std::process::id()))
    }

    #[test]
    fn chart_renders_two_series() {
        let path = temp_svg("two");
        let result = latency_chart(
            &path,
            "S1 latency, 64 clients",
            &[series("ours (axum)", 1.0), series("node socket.io", 2.5)],
        );
        let svg = std::fs::read_to_string(&path);
        let _ = std::fs::remove_file(&path);
        result.unwrap();
        let svg = svg.unwrap();
        for text in [
            "S1 latency, 64 clients",
            "ours (axum)",
            "node socket.io",
            "99.9%",
            "max",
        ] {
            assert!(svg.contains(text), "{text:?} missing from the SVG");
        }
        assert!(svg.contains("percentile") && svg.contains("latency (ms, log scale)"));
        assert!(svg.contains("<polyline"), "no line in the SVG");
        assert!(svg.contains("<circle"), "no point markers in the SVG");
    }

    #[test]
    fn chart_without_points_is_an_error() {
        let path = temp_svg("empty");
        assert!(latency_chart(&path, "empty", &[]).is_err());
        let no_points = Series {
            label: "x".into(),
            points: vec![],
        };
        assert!(latency_chart(&path, "empty", &[no_points]).is_err());
        assert!(!path.exists());
    }

    #[test]
    fn chart_rejects_bad_values() {
        let path = temp_svg("bad");
        for point in [
            (0.5, 0.0),
            (0.5, -1.0),
            (0.5, f64::NAN),
            (0.5, f64::INFINITY),
            (1.5, 1.0),
        ] {
            let s = Series {
                label: "x".into(),
                points: vec![point],
            };
            assert!(
                latency_chart(&path, "bad", &[s]).is_err(),
                "{point:?} accepted"
            );
        }
        assert!(!path.exists());
    }

    #[test]
    fn chart_scales_and_labels() {
        assert!((nines(0.5) - std::f64::consts::LOG10_2).abs() < 1e-12);
        assert!((nines(0.99) - 2.0).abs() < 1e-9);
        assert_eq!(nines(1.0), MAX_X);
        assert_eq!(tick_label(std::f64::consts::LOG10_2), "50%");
        assert_eq!(tick_label(4.0), "99.99%");
        assert_eq!(ms_label(0.05), "0.05");
        assert_eq!(ms_label(2.0), "2");
        assert_eq!(ms_label(1500.0), "1500");
        let r = y_range(&[series("a", 0.01)]);
        // Headroom above the largest point (0.2) for a one-line legend.
        assert_eq!(r.start, 0.01);
        assert!((r.end - 0.2 * 10f64.powf(1.2)).abs() < 1e-9, "{r:?}");
        let ticks = decade_steps(&(0.3..12.0), &[1.0, 2.0, 5.0]);
        let labels: Vec<_> = ticks.into_iter().map(ms_label).collect();
        assert_eq!(labels, ["0.5", "1", "2", "5", "10"]);
    }
}
