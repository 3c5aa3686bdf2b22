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

/// A real, valid `width`×`height` PNG of one grey (8-bit, every pixel black), its
/// pixels compressed as a run of zeros: a 30000×30000 picture (900 megapixels) is
/// about 5.5 MB. What a phone never sends, and what would take gigabytes to decode.
pub fn huge_png(width: u32, height: u32) -> Vec<u8> {
    // The filtered rows are all zero bytes: a filter byte of 0 and black pixels.
    let raw_len = u64::from(height) * (u64::from(width) + 1);
    let mut bits = BitWriter::default();
    bits.put(1, 1); // the last block
    bits.put(1, 2); // fixed Huffman codes
    bits.put_code(0b0011_0000, 8); // a literal 0
    let mut left = raw_len - 1;
    while left >= 258 {
        bits.put_code(0b1100_0101, 8); // length 258 (symbol 285)
        bits.put_code(0, 5); // distance 1
        left -= 258;
    }
    for _ in 0..left {
        bits.put_code(0b0011_0000, 8);
    }
    bits.put_code(0, 7); // end of block
    let mut zlib = vec![0x78, 0x01];
    zlib.extend_from_slice(&bits.finish());
    // Adler-32 of zeros: the sum stays 1, the running total is the length.
    let adler = (((raw_len % 65_521) as u32) << 16) | 1;
    zlib.extend_from_slice(&adler.to_be_bytes());
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    for part in zlib.chunks(1 << 20) {
        png_chunk(&mut out, b"IDAT", part);
    }
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// A real JPEG whose frame header declares `width`×`height` pixels (its data is a
/// 16×16 picture's).
pub fn jpeg_declaring(width: u16, height: u16) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(16, 16, image::Rgb([200, 10, 10]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("encoding a test image");
    let mut jpeg = out.into_inner();
    let sof = jpeg
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("a baseline frame header");
    // Marker (2), length (2), precision (1), then height and width.
    jpeg[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    jpeg
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(
        &u32::try_from(data.len())
            .expect("a chunk under 4 GB")
            .to_be_bytes(),
    );
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// CRC-32 as PNG uses it.
fn crc32(bytes: &[u8]) -> u32 {
    static TABLE: std::sync::LazyLock<[u32; 256]> = std::sync::LazyLock::new(|| {
        let mut table = [0u32; 256];
        for (n, slot) in table.iter_mut().enumerate() {
            let mut c = n as u32;
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *slot = c;
        }
        table
    });
    let mut crc = 0xFFFF_FFFFu32;
    for b in bytes {
        crc = TABLE[((crc ^ u32::from(*b)) & 0xFF) as usize] ^ (crc >> 8);
    }
    !crc
}

/// Bits of a deflate stream, packed from the least significant bit of each byte.
#[derive(Default)]
struct BitWriter {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl BitWriter {
    /// `count` bits of `value`, least significant first (header fields, extra bits).
    fn put(&mut self, value: u32, count: u32) {
        self.acc |= u64::from(value) << self.n;
        self.n += count;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    /// A Huffman code of `count` bits, most significant first.
    fn put_code(&mut self, code: u32, count: u32) {
        let reversed = code.reverse_bits() >> (32 - count);
        self.put(reversed, count);
    }

    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_huge_png_is_a_real_png_of_its_declared_size() {
        // Small enough to decode here: the same construction as the huge one.
        let small = huge_png(300, 200);
        let decoded = image::load_from_memory_with_format(&small, image::ImageFormat::Png)
            .expect("a valid PNG");
        assert_eq!((decoded.width(), decoded.height()), (300, 200));
        assert!(decoded.to_luma8().pixels().all(|p| p[0] == 0));
        let huge = huge_png(30_000, 30_000);
        assert!(huge.len() < 8 * 1024 * 1024, "{} bytes", huge.len());
    }
}
