//! Charts as SVG, drawn by plotters.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Chart, ChartError, ChartKind, format_value};

/// Width and height of a chart in SVG user units (pixels at 100 %).
pub(super) const SIZE: (u32, u32) = (720, 360);

/// Colours of the series in order: distinguishable for the common colour-vision
/// deficiencies, and in grey print.
const PALETTE: [RGBColor; 6] = [
    RGBColor(0x1f, 0x5f, 0xa8),
    RGBColor(0xe0, 0x7b, 0x00),
    RGBColor(0x2e, 0x8b, 0x57),
    RGBColor(0x8e, 0x44, 0xad),
    RGBColor(0xc0, 0x39, 0x2b),
    RGBColor(0x55, 0x55, 0x55),
];

/// The colours' names, for text that has to say which colour is which series.
const COLOUR_NAMES: [&str; 6] = ["蓝", "橙", "绿", "紫", "红", "灰"];

/// The name of the colour series number `i` is drawn in (蓝, 橙, …).
pub fn colour_name(i: usize) -> &'static str {
    COLOUR_NAMES[i % COLOUR_NAMES.len()]
}

/// The chart as an SVG document, labelled for assistive technology with its title.
pub fn svg(chart: &Chart) -> Result<String, ChartError> {
    let mut out = String::new();
    draw(chart, &mut out).map_err(|e| ChartError::Draw(e.to_string()))?;
    let label = attribute(&chart.title);
    Ok(out.replacen(
        "<svg ",
        &format!("<svg role=\"img\" aria-label=\"{label}\" "),
        1,
    ))
}

fn draw(
    chart: &Chart,
    out: &mut String,
) -> Result<(), DrawingAreaErrorKind<<SVGBackend<'static> as DrawingBackend>::ErrorType>> {
    let root = SVGBackend::with_string(out, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let n = chart.categories.len();
    let width = n.max(1) as f64;
    let top = chart.max_value() * 1.15;
    let mut plot = ChartBuilder::on(&root)
        .caption(&chart.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(0f64..width, 0f64..top)?;
    plot.configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_labels(6)
        .light_line_style(WHITE)
        .y_label_formatter(&|y| format_value(*y))
        .y_desc(chart.unit.as_str())
        .label_style(("sans-serif", 13))
        .draw()?;

    // Each category's name sits under the middle of its slot.
    let below = ("sans-serif", 13)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Top));
    for (i, name) in chart.categories.iter().enumerate() {
        let (x, y) = plot.backend_coord(&(i as f64 + 0.5, 0.0));
        root.draw(&Text::new(name.as_str(), (x, y + 8), below.clone()))?;
    }

    let groups = chart.series.len().max(1) as f64;
    for (s, series) in chart.series.iter().enumerate() {
        let colour = PALETTE[s % PALETTE.len()];
        let annotation = match chart.kind {
            ChartKind::Bar => {
                // Each category's slot is split between the series, with a margin.
                let slot = 0.8 / groups;
                // A zero draws nothing (an empty rectangle would be invalid SVG).
                let bars = (0..n).filter_map(|i| {
                    let v = chart.value(s, i).filter(|v| *v > 0.0)?;
                    let x0 = i as f64 + 0.1 + slot * s as f64;
                    Some(Rectangle::new(
                        [(x0, 0.0), (x0 + slot * 0.9, v)],
                        colour.filled(),
                    ))
                });
                plot.draw_series(bars)?
            }
            ChartKind::Line => {
                let points: Vec<(f64, f64)> = (0..n)
                    .filter_map(|i| chart.value(s, i).map(|v| (i as f64 + 0.5, v)))
                    .collect();
                plot.draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled())))?;
                plot.draw_series(
                    runs(chart, s)
                        .into_iter()
                        .map(|run| PathElement::new(run, colour.stroke_width(2))),
                )?
            }
        };
        annotation
            .label(series.name.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled()));
    }
    if !chart.series.is_empty() {
        plot.configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .label_font(("sans-serif", 13))
            .draw()?;
    }
    root.present()?;
    Ok(())
}

/// The stretches of a line without gaps: a missing value breaks the line.
fn runs(chart: &Chart, s: usize) -> Vec<Vec<(f64, f64)>> {
    let mut runs = vec![Vec::new()];
    for i in 0..chart.categories.len() {
        match chart.value(s, i) {
            Some(v) => runs.last_mut().map_or((), |r| r.push((i as f64 + 0.5, v))),
            None => runs.push(Vec::new()),
        }
    }
    runs.into_iter().filter(|r| !r.is_empty()).collect()
}

/// Text made safe inside a double-quoted XML attribute.
fn attribute(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::super::{ChartKind, sample};
    use super::*;

    #[test]
    fn a_bar_chart_is_an_svg_with_a_bar_per_value_and_its_labels() {
        let out = svg(&sample()).expect("the sample draws");
        assert!(out.starts_with("<svg role=\"img\" aria-label=\"各村扫码与反映\""));
        assert!(out.contains("东村") && out.contains("西村"));
        assert!(
            out.contains("南村&lt;&amp;&gt;"),
            "labels are escaped: {out}"
        );
        assert!(
            out.contains("扫码") && out.contains("反映"),
            "a legend names the series"
        );
        // Five values are drawn (one is missing), plus the two legend keys.
        let bars = out.matches("<rect").count();
        assert!(
            bars >= 7,
            "expected the bars and legend keys, found {bars} rects"
        );
        assert!(
            !out.contains("http://") || !out.contains("href"),
            "nothing is fetched"
        );
    }

    #[test]
    fn a_line_chart_breaks_at_a_gap() {
        let mut chart = sample();
        chart.kind = ChartKind::Line;
        assert_eq!(
            runs(&chart, 1).len(),
            2,
            "the missing value splits the line"
        );
        let out = svg(&chart).expect("the sample draws");
        assert!(out.contains("<polyline") || out.contains("<path"));
    }

    #[test]
    fn an_empty_chart_still_draws() {
        let chart = Chart::new(ChartKind::Bar, "无数据", "村", vec![], "件");
        assert!(
            svg(&chart)
                .expect("an empty chart draws")
                .contains("无数据")
        );
    }
}
