//! Test support: reading QR codes back with an independent decoder (rqrr), so the
//! tests check what a phone would read, not what the encoder meant to draw.

use std::io::Cursor;

use ::png::{BitDepth, ColorType, Decoder, Transformations};

/// A realistic landing URL: the token is 16 random bytes in URL-safe base64.
pub(super) const SAMPLE_URL: &str = "https://mashang.example.cn/q/q3Zr-8YtVb_1xKp0Lm2NwA";

/// Decodes a PNG to 8-bit greyscale: `(width, height, pixels)`.
pub(super) fn decode_png(bytes: &[u8]) -> (usize, usize, Vec<u8>) {
    let mut decoder = Decoder::new(Cursor::new(bytes));
    decoder.set_transformations(Transformations::EXPAND);
    let mut reader = decoder.read_info().expect("a valid PNG header");
    let mut pixels = vec![0; reader.output_buffer_size().expect("a small image")];
    let info = reader.next_frame(&mut pixels).expect("valid PNG data");
    assert_eq!(info.color_type, ColorType::Grayscale);
    assert_eq!(info.bit_depth, BitDepth::Eight);
    pixels.truncate(info.buffer_size());
    (info.width as usize, info.height as usize, pixels)
}

/// Finds and decodes every QR code in a greyscale image (0 black, 255 white).
pub(super) fn scan(
    width: usize,
    height: usize,
    grey: impl FnMut(usize, usize) -> u8,
) -> Vec<String> {
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, height, grey);
    image
        .detect_grids()
        .into_iter()
        .map(|grid| grid.decode().expect("a detected grid decodes").1)
        .collect()
}

/// Decodes a bare module matrix (no quiet zone) of `width` modules per side.
pub(super) fn decode_modules(width: usize, dark: impl Fn(usize, usize) -> bool) -> String {
    let grid = rqrr::Grid::new(rqrr::SimpleGrid::from_func(width, dark));
    grid.decode().expect("the matrix is a valid QR symbol").1
}
