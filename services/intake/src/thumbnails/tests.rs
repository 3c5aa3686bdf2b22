use std::time::Instant;

use super::render::is_heif;
use super::*;

/// A portrait picture, red above and blue below.
fn red_over_blue(width: u32, height: u32) -> Vec<u8> {
    (0..height)
        .flat_map(|y| {
            let px = if y < height / 2 {
                [220, 20, 20]
            } else {
                [20, 20, 220]
            };
            (0..width).flat_map(move |_| px)
        })
        .collect()
}

fn decode_jpeg(jpeg: &[u8]) -> image::RgbImage {
    image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg)
        .expect("a JPEG")
        .to_rgb8()
}

fn thumbnail(rendered: Rendered) -> Vec<u8> {
    match rendered {
        Rendered::Thumbnail(jpeg) => jpeg,
        other => panic!("expected a thumbnail, got {other:?}"),
    }
}

/// Red above, blue below, in a JPEG thumbnail of the given size.
fn assert_red_over_blue(jpeg: &[u8], size: (u32, u32)) {
    let thumb = decode_jpeg(jpeg);
    assert_eq!(thumb.dimensions(), size);
    let top = thumb.get_pixel(size.0 / 2, 20);
    let bottom = thumb.get_pixel(size.0 / 2, size.1 - 20);
    assert!(top[0] > 150 && top[2] < 100, "red above: {top:?}");
    assert!(bottom[2] > 150 && bottom[0] < 100, "blue below: {bottom:?}");
}

fn limits_with_heic_pixels(max_heic_pixels: u64) -> DecodeLimits {
    DecodeLimits {
        max_heic_pixels,
        ..LIMITS
    }
}

/// Every `ispe` (image spatial extent) property of a HEIF file whose size is `from`
/// rewritten to `to`: the file then declares that size without holding it.
fn declare_heic_size(heic: &mut [u8], from: Option<(u32, u32)>, to: (u32, u32)) -> usize {
    let mut patched = 0;
    let mut at = 0;
    while let Some(found) = heic[at..].windows(4).position(|w| w == b"ispe") {
        let body = at + found + 8; // type, then version and flags
        let w = u32::from_be_bytes(heic[body..body + 4].try_into().expect("4 bytes"));
        let h = u32::from_be_bytes(heic[body + 4..body + 8].try_into().expect("4 bytes"));
        if from.is_none_or(|f| f == (w, h)) {
            heic[body..body + 4].copy_from_slice(&to.0.to_be_bytes());
            heic[body + 4..body + 8].copy_from_slice(&to.1.to_be_bytes());
            patched += 1;
        }
        at = body;
    }
    patched
}

fn heic_600_by_900() -> Vec<u8> {
    // Larger than one 512-pixel tile: stored as a grid of tiles with a 320-pixel
    // preview, like a phone's photo.
    let (w, h) = (600, 900);
    heifer::encode_rgb8(w, h, &red_over_blue(w, h), &Default::default()).expect("encoding a HEIC")
}

#[test]
fn a_heic_photo_gets_an_upright_jpeg_thumbnail_from_its_preview() {
    let heic = heic_600_by_900();
    assert!(is_heif(&heic));
    // The preview is used: the photo itself would be over this limit.
    let jpeg = thumbnail(render_within(&heic, &limits_with_heic_pixels(1000)));
    assert_red_over_blue(&jpeg, (213, 320));
}

#[test]
fn a_heic_photo_without_a_preview_is_decoded_within_the_limit() {
    let (w, h) = (400, 500);
    let heic = heifer::encode_rgb8(w, h, &red_over_blue(w, h), &Default::default())
        .expect("encoding a HEIC");
    assert_eq!(
        heifer::decode_thumbnail(&heic)
            .ok()
            .flatten()
            .map(|p| p.width),
        None
    );
    assert_red_over_blue(&thumbnail(render(&heic)), (256, 320));
    let pixels = u64::from(w * h);
    assert!(matches!(
        render_within(&heic, &limits_with_heic_pixels(pixels * 2)),
        Rendered::Thumbnail(_)
    ));
    assert!(matches!(
        render_within(&heic, &limits_with_heic_pixels(pixels / 2)),
        Rendered::TooLarge(_)
    ));
}

#[test]
fn a_heic_preview_declaring_a_huge_size_is_not_decoded_the_photo_is() {
    let mut heic = heic_600_by_900();
    assert_eq!(
        declare_heic_size(&mut heic, Some((214, 320)), (60_000, 60_000)),
        1
    );
    let started = Instant::now();
    // The photo itself is within the limits: the thumbnail comes from it instead.
    assert_red_over_blue(&thumbnail(render(&heic)), (213, 320));
    assert!(started.elapsed().as_secs() < 20);
}

#[test]
fn a_heic_declaring_a_huge_size_everywhere_is_too_large_without_decoding() {
    let mut heic = heic_600_by_900();
    assert!(declare_heic_size(&mut heic, None, (60_000, 60_000)) >= 2);
    let started = Instant::now();
    assert!(
        matches!(render(&heic), Rendered::TooLarge(_)),
        "refused from its header"
    );
    assert!(started.elapsed().as_millis() < 2000, "nothing was decoded");
}

/// A real JPEG whose frame header says 65535×65535.
fn jpeg_declaring_65535_square() -> Vec<u8> {
    let img = image::RgbImage::from_pixel(16, 16, image::Rgb([200, 10, 10]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("encoding a JPEG");
    let mut jpeg = out.into_inner();
    let sof = jpeg
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("a baseline frame header");
    // Marker, length (2), precision (1), then height and width.
    jpeg[sof + 5..sof + 9].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);
    jpeg
}

/// A PNG whose header says `width`×`height`, with a token image body.
fn png_declaring(width: u32, height: u32) -> Vec<u8> {
    let chunk = |out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]| {
        out.extend_from_slice(&u32::try_from(data.len()).expect("small").to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let crc = crc32(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    };
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]); // 8-bit grey
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x01, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for b in bytes {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn pictures_declaring_more_than_the_limits_are_refused_from_their_headers() {
    for (what, file) in [
        ("JPEG 65535×65535", jpeg_declaring_65535_square()),
        ("PNG 30000×30000", png_declaring(30_000, 30_000)),
        ("PNG 100000×1", png_declaring(100_000, 1)),
        ("PNG 10000×10000 (100 MP)", png_declaring(10_000, 10_000)),
    ] {
        let started = Instant::now();
        match render(&file) {
            Rendered::TooLarge(_) => {}
            other => panic!("{what}: expected too large, got {other:?}"),
        }
        assert!(
            started.elapsed().as_millis() < 2000,
            "{what}: nothing decoded"
        );
    }
}

#[test]
fn a_photo_within_the_limits_still_gets_its_thumbnail() {
    let img = image::RgbImage::from_fn(640, 480, |_, y| {
        if y < 240 {
            image::Rgb([220, 20, 20])
        } else {
            image::Rgb([20, 20, 220])
        }
    });
    let mut png = std::io::Cursor::new(Vec::new());
    img.write_to(&mut png, image::ImageFormat::Png)
        .expect("encoding a PNG");
    assert_red_over_blue(&thumbnail(render(&png.into_inner())), (320, 240));
}

#[test]
fn what_is_not_a_readable_photo_is_unreadable() {
    assert!(matches!(
        render(b"\0\0\0\x18ftypheic not really"),
        Rendered::Unreadable(_)
    ));
    assert!(matches!(render(b"neither"), Rendered::Unreadable(_)));
}
