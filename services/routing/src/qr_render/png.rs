//! The QR code as a 1-bit greyscale PNG, sized for printing.

use ::png::{BitDepth, ColorType, Encoder};

use super::{Matrix, QUIET_ZONE, RenderError};

/// The image is at most this many pixels wide, and at least three quarters of it for
/// any symbol (at most 185 modules with the quiet zone): sharp on paper, small to send.
const MAX_SIDE_PX: usize = 800;

/// The QR code of `url` as a PNG: black on white, level Q, a quiet zone of four
/// modules, each module a whole number of pixels, about 600 to 800 pixels wide.
pub fn png(url: &str) -> Result<Vec<u8>, RenderError> {
    Ok(render(&Matrix::encode(url)?))
}

/// Encodes the symbol, one row of module-sized pixels at a time.
fn render(matrix: &Matrix) -> Vec<u8> {
    let modules = matrix.width_with_quiet_zone();
    let scale = (MAX_SIDE_PX / modules).max(1);
    let side = modules * scale;
    let row_bytes = side.div_ceil(8);

    // In 1-bit greyscale a set bit is white, so start all white and clear the dark.
    let mut pixels = Vec::with_capacity(row_bytes * side);
    for y in 0..modules {
        let mut row = vec![0xFF_u8; row_bytes];
        if (QUIET_ZONE..QUIET_ZONE + matrix.width()).contains(&y) {
            for (x, len) in matrix.dark_runs(y - QUIET_ZONE) {
                let first = (QUIET_ZONE + x) * scale;
                for px in first..first + len * scale {
                    row[px / 8] &= !(0x80 >> (px % 8));
                }
            }
        }
        for _ in 0..scale {
            pixels.extend_from_slice(&row);
        }
    }

    let side = u32::try_from(side).expect("the image is at most MAX_SIDE_PX wide");
    let mut out = Vec::new();
    let mut encoder = Encoder::new(&mut out, side, side);
    encoder.set_color(ColorType::Grayscale);
    encoder.set_depth(BitDepth::One);
    // Writing to a Vec cannot fail, and the header and data sizes agree by construction.
    let mut writer = encoder
        .write_header()
        .expect("a 1-bit greyscale header of a non-empty size is valid");
    writer
        .write_image_data(&pixels)
        .expect("the pixel buffer holds exactly side rows of row_bytes");
    writer
        .finish()
        .expect("finishing a PNG written to a Vec cannot fail");
    out
}

#[cfg(test)]
mod tests {
    use super::super::qr_decode::{self, SAMPLE_URL as URL, decode_png};
    use super::*;

    #[test]
    fn a_scanner_reads_back_the_url() {
        assert_eq!(URL.rsplit('/').next().map(str::len), Some(22));
        let bytes = png(URL).expect("a short URL");
        let (width, height, pixels) = decode_png(&bytes);
        let decoded = qr_decode::scan(width, height, |x, y| pixels[y * width + x]);
        assert_eq!(decoded, vec![URL.to_owned()]);
    }

    #[test]
    fn is_square_and_sized_for_print() {
        let (width, height, _) = decode_png(&png(URL).expect("a short URL"));
        assert_eq!(width, height);
        assert!((600..=800).contains(&width), "{width} px");
    }

    #[test]
    fn every_module_is_whole_pixels_with_a_white_quiet_zone() {
        let matrix = Matrix::encode(URL).expect("a short URL");
        let (width, _, pixels) = decode_png(&render(&matrix));
        let modules = matrix.width_with_quiet_zone();
        assert_eq!(width % modules, 0);
        let scale = width / modules;
        for y in 0..width {
            for x in 0..width {
                let (mx, my) = (x / scale, y / scale);
                let dark = (QUIET_ZONE..QUIET_ZONE + matrix.width()).contains(&mx)
                    && (QUIET_ZONE..QUIET_ZONE + matrix.width()).contains(&my)
                    && matrix.dark[(my - QUIET_ZONE) * matrix.width() + mx - QUIET_ZONE];
                assert_eq!(pixels[y * width + x], if dark { 0 } else { 255 });
            }
        }
    }

    #[test]
    fn same_url_same_bytes() {
        assert_eq!(png(URL).ok(), png(URL).ok());
    }
}
