//! Upload bodies for tests: real, decodable images.

use std::io::Cursor;

/// A real JPEG of about `len` bytes (at least a few hundred): a small encoded image,
/// padded with comment segments whose filler differs per `seed`.
pub fn jpeg(len: usize, seed: u64) -> Vec<u8> {
    let img = image::RgbImage::from_fn(32, 24, |x, y| {
        image::Rgb([(x * 7) as u8, (y * 9) as u8, (seed % 251) as u8])
    });
    let mut encoded = Cursor::new(Vec::new());
    img.write_to(&mut encoded, image::ImageFormat::Jpeg)
        .expect("encoding a test image");
    let encoded = encoded.into_inner();
    let mut out = encoded[..2].to_vec(); // SOI
    let mut state = 0x9E37_79B9_7F4A_7C15_u64 ^ seed;
    let mut filler = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                // Never 0xFF, so the comment holds no marker.
                (state % 255) as u8
            })
            .collect()
    };
    // At least `len` bytes in the end: each comment adds its 4 header bytes too.
    while out.len() + encoded.len() - 2 < len {
        let room = (len - (out.len() + encoded.len() - 2)).clamp(1, 65_000);
        out.extend_from_slice(&[0xFF, 0xFE]);
        out.extend_from_slice(&((room + 2) as u16).to_be_bytes());
        out.extend_from_slice(&filler(room));
    }
    out.extend_from_slice(&encoded[2..]);
    out
}
