//! The QR code as a compact SVG, for a browser or inline in the posters' HTML.

use std::fmt::Write as _;

use super::{Matrix, QUIET_ZONE, RenderError};

/// The QR code of `url` as an SVG: a white square and one black `<path>`, measured in
/// modules (the `viewBox` includes the four-module quiet zone), with crisp edges.
///
/// The SVG has no fixed size: it fills the width its container gives it.
pub fn svg(url: &str) -> Result<String, RenderError> {
    Ok(render(&Matrix::encode(url)?))
}

/// Draws each dark stretch of a row as one rectangle `M x y h len v1 h-len z`.
pub(super) fn render(matrix: &Matrix) -> String {
    let side = matrix.width_with_quiet_zone();
    let mut d = String::new();
    for y in 0..matrix.width() {
        for (x, len) in matrix.dark_runs(y) {
            // Writing to a String cannot fail.
            let _ = write!(d, "M{} {}h{len}v1h-{len}z", x + QUIET_ZONE, y + QUIET_ZONE);
        }
    }
    format!(
        concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {side}" "#,
            r##"shape-rendering="crispEdges"><rect width="{side}" height="{side}" fill="#fff"/>"##,
            r##"<path fill="#000" d="{d}"/></svg>"##
        ),
        side = side,
        d = d
    )
}

#[cfg(test)]
mod tests {
    use super::super::png;
    use super::super::qr_decode::{self, SAMPLE_URL as URL, decode_png};
    use super::*;

    /// Rebuilds the module matrix (quiet zone included) from the SVG's path.
    fn modules_of(svg: &str) -> (usize, Vec<bool>) {
        let side: usize = svg
            .split_once(r#"viewBox="0 0 "#)
            .and_then(|(_, rest)| rest.split_once(' '))
            .and_then(|(side, _)| side.parse().ok())
            .expect("a square viewBox");
        let d = svg
            .split_once(r#" d=""#)
            .and_then(|(_, rest)| rest.split_once('"'))
            .expect("a path")
            .0;
        let mut dark = vec![false; side * side];
        for square in d.split('M').filter(|s| !s.is_empty()) {
            let (x, rest) = square.split_once(' ').expect("M x y");
            let (y, rest) = rest.split_once('h').expect("then h");
            let (len, rest) = rest.split_once('v').expect("then v");
            assert_eq!(rest, format!("1h-{len}z"), "a one-module-high rectangle");
            let (x, y, len): (usize, usize, usize) = (
                x.parse().expect("x"),
                y.parse().expect("y"),
                len.parse().expect("len"),
            );
            for cell in &mut dark[y * side + x..y * side + x + len] {
                assert!(!*cell, "no module drawn twice");
                *cell = true;
            }
        }
        (side, dark)
    }

    #[test]
    fn is_well_formed_and_measured_in_modules() {
        let svg = svg(URL).expect("a short URL");
        let side = Matrix::encode(URL)
            .expect("a short URL")
            .width_with_quiet_zone();
        assert!(svg.starts_with("<svg "));
        assert!(svg.ends_with("</svg>"));
        assert!(svg.contains(&format!(r#"viewBox="0 0 {side} {side}""#)));
        assert!(svg.contains(r#"shape-rendering="crispEdges""#));
        assert_eq!(svg.matches("<path").count(), 1);
    }

    #[test]
    fn draws_the_same_modules_as_the_png_and_decodes_to_the_url() {
        let (side, dark) = modules_of(&svg(URL).expect("a short URL"));

        // Sample the PNG at the centre of each module.
        let (width, _, pixels) = decode_png(&png(URL).expect("a short URL"));
        let scale = width / side;
        let from_png: Vec<bool> = (0..side * side)
            .map(|i| {
                let (x, y) = (i % side, i / side);
                pixels[(y * scale + scale / 2) * width + x * scale + scale / 2] == 0
            })
            .collect();
        assert_eq!(dark, from_png);

        let symbol = side - 2 * QUIET_ZONE;
        let decoded = qr_decode::decode_modules(symbol, |x, y| {
            dark[(y + QUIET_ZONE) * side + x + QUIET_ZONE]
        });
        assert_eq!(decoded, URL);
    }
}
