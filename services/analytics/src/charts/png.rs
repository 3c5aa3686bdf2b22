//! Charts as PNG, for documents: the SVG rasterised by resvg.
//!
//! The rasteriser is built without text support, so no font is needed on the server
//! and the picture is the same everywhere: the PNG carries the bars, lines, axes and
//! grid, and the document carries the labels and values in a table beside it (see
//! decision 0028).

use resvg::{tiny_skia, usvg};

use super::{Chart, ChartError, svg};

/// Pixels per SVG unit: twice, so the picture stays sharp when printed.
const SCALE: f32 = 2.0;

/// A rasterised chart with its size in pixels.
#[derive(Clone, Debug)]
pub struct Png {
    /// The PNG file.
    pub bytes: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// The chart as a PNG picture without text.
pub fn png(chart: &Chart) -> Result<Png, ChartError> {
    let svg = svg::svg(chart)?;
    let tree = usvg::Tree::from_str(&svg, &usvg::Options::default())?;
    let size = tree
        .size()
        .to_int_size()
        .scale_by(SCALE)
        .ok_or_else(|| ChartError::Encode("the chart has no size".into()))?;
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or_else(|| ChartError::Encode("the chart has no size".into()))?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(SCALE, SCALE),
        &mut pixmap.as_mut(),
    );
    let bytes = pixmap
        .encode_png()
        .map_err(|e| ChartError::Encode(e.to_string()))?;
    Ok(Png {
        bytes,
        width: size.width(),
        height: size.height(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::sample;
    use super::*;

    #[test]
    fn the_png_is_a_picture_with_the_bars_in_colour() {
        let out = png(&sample()).expect("the sample rasterises");
        assert!(out.bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert_eq!((out.width, out.height), (1440, 720));
        let pixmap = tiny_skia::Pixmap::decode_png(&out.bytes).expect("the PNG reads back");
        // Some pixels carry the first series' blue: the bars were drawn.
        let blue = pixmap
            .pixels()
            .iter()
            .filter(|p| p.red() < 60 && p.blue() > 140 && p.green() < 120)
            .count();
        assert!(blue > 1000, "only {blue} blue pixels");
    }
}
