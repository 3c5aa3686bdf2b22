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

/// Latitude written by [`jpeg_with_gps`]: 34°15'36" N.
pub const GPS_LAT: f64 = 34.26;
/// Longitude written by [`jpeg_with_gps`]: 108°56'24" E.
pub const GPS_LNG: f64 = 108.94;
/// Orientation written by [`jpeg_with_gps`]: 6, "rotate 90° clockwise to view".
pub const ORIENTATION: u16 = 6;

/// A real `width`×`height` JPEG as a phone writes it: an EXIF block (APP1) with the
/// orientation [`ORIENTATION`] and the location [`GPS_LAT`], [`GPS_LNG`].
pub fn jpeg_with_gps(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 251) as u8, (y % 241) as u8, 90])
    });
    let mut encoded = Cursor::new(Vec::new());
    img.write_to(&mut encoded, image::ImageFormat::Jpeg)
        .expect("encoding a test image");
    let plain = encoded.into_inner();
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(&exif_tiff());
    let mut out = plain[..2].to_vec(); // SOI
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&plain[2..]);
    out
}

/// A little-endian TIFF block: IFD0 with the orientation and a pointer to the GPS IFD,
/// which holds latitude and longitude as degrees, minutes, seconds.
fn exif_tiff() -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(b"II\x2a\x00\x08\x00\x00\x00");
    let entry = |t: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: [u8; 4]| {
        t.extend_from_slice(&tag.to_le_bytes());
        t.extend_from_slice(&kind.to_le_bytes());
        t.extend_from_slice(&count.to_le_bytes());
        t.extend_from_slice(&value);
    };
    let [o0, o1] = ORIENTATION.to_le_bytes();
    t.extend_from_slice(&2u16.to_le_bytes());
    entry(&mut t, 0x0112, 3, 1, [o0, o1, 0, 0]); // Orientation, SHORT
    entry(&mut t, 0x8825, 4, 1, 38u32.to_le_bytes()); // GPS IFD at 38
    t.extend_from_slice(&0u32.to_le_bytes());
    assert_eq!(t.len(), 38, "the GPS IFD starts where IFD0 points");
    t.extend_from_slice(&4u16.to_le_bytes());
    entry(&mut t, 0x0001, 2, 2, *b"N\0\0\0"); // GPSLatitudeRef
    entry(&mut t, 0x0002, 5, 3, 92u32.to_le_bytes()); // GPSLatitude at 92
    entry(&mut t, 0x0003, 2, 2, *b"E\0\0\0"); // GPSLongitudeRef
    entry(&mut t, 0x0004, 5, 3, 116u32.to_le_bytes()); // GPSLongitude at 116
    t.extend_from_slice(&0u32.to_le_bytes());
    assert_eq!(t.len(), 92, "the rationals start where the GPS IFD points");
    for (n, d) in [
        (34u32, 1u32),
        (15, 1),
        (3600, 100),
        (108, 1),
        (56, 1),
        (2400, 100),
    ] {
        t.extend_from_slice(&n.to_le_bytes());
        t.extend_from_slice(&d.to_le_bytes());
    }
    t
}
