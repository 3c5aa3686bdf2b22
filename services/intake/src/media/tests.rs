//! Metadata removal on real encoded images, with real location tags.

use std::io::Cursor;

use super::*;

/// A little-endian TIFF block: orientation 6, GPS 34°15'36" N, 108°56'24" E.
pub(super) fn exif_tiff() -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(b"II\x2a\x00\x08\x00\x00\x00");
    let entry = |t: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: [u8; 4]| {
        t.extend_from_slice(&tag.to_le_bytes());
        t.extend_from_slice(&kind.to_le_bytes());
        t.extend_from_slice(&count.to_le_bytes());
        t.extend_from_slice(&value);
    };
    t.extend_from_slice(&2u16.to_le_bytes());
    entry(&mut t, 0x0112, 3, 1, [6, 0, 0, 0]);
    entry(&mut t, 0x8825, 4, 1, 38u32.to_le_bytes());
    t.extend_from_slice(&0u32.to_le_bytes());
    assert_eq!(t.len(), 38);
    t.extend_from_slice(&4u16.to_le_bytes());
    entry(&mut t, 0x0001, 2, 2, *b"N\0\0\0");
    entry(&mut t, 0x0002, 5, 3, 92u32.to_le_bytes());
    entry(&mut t, 0x0003, 2, 2, *b"E\0\0\0");
    entry(&mut t, 0x0004, 5, 3, 116u32.to_le_bytes());
    t.extend_from_slice(&0u32.to_le_bytes());
    assert_eq!(t.len(), 92);
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

pub(super) fn encoded(format: image::ImageFormat) -> Vec<u8> {
    let img = image::RgbImage::from_fn(24, 16, |x, y| {
        image::Rgb([(x * 10) as u8, (y * 15) as u8, 90])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format)
        .expect("encoding a test image");
    out.into_inner()
}

fn jpeg_with_exif() -> Vec<u8> {
    let plain = encoded(image::ImageFormat::Jpeg);
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(&exif_tiff());
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&plain[2..]);
    out
}

pub(super) fn write_temp(bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().expect("a temp file");
    std::io::Write::write_all(&mut f, bytes).expect("writing");
    f
}

#[test]
fn jpeg_location_is_read_then_removed_and_orientation_kept() {
    let original = jpeg_with_exif();
    let before = read_meta(write_temp(&original).path());
    let (lat, lng) = before.gps.expect("the test photo has a location");
    assert!(
        (lat - 34.26).abs() < 1e-6 && (lng - 108.94).abs() < 1e-6,
        "{lat} {lng}"
    );
    assert_eq!(before.orientation, 6);

    let mut stripped = Vec::new();
    strip(
        Format::Jpeg,
        before.orientation,
        &mut Cursor::new(&original),
        &mut stripped,
    )
    .expect("stripping");
    let after = read_meta(write_temp(&stripped).path());
    assert_eq!(after.gps, None, "the stored copy has no location");
    assert_eq!(
        after.orientation, 6,
        "the photo still shows the right way up"
    );
    assert!(stripped.len() < original.len());
    let decoded = image::load_from_memory(&stripped).expect("still a valid JPEG");
    assert_eq!((decoded.width(), decoded.height()), (24, 16));
}

#[test]
fn png_metadata_chunks_are_removed() {
    let plain = encoded(image::ImageFormat::Png);
    // Insert an eXIf and an iTXt chunk after IHDR (8 + 25 bytes).
    let mut with = plain[..33].to_vec();
    for (kind, body) in [
        (b"eXIf", exif_tiff()),
        (b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0<x/>".to_vec()),
    ] {
        with.extend_from_slice(&(body.len() as u32).to_be_bytes());
        with.extend_from_slice(kind);
        with.extend_from_slice(&body);
        with.extend_from_slice(&[0, 0, 0, 0]);
    }
    with.extend_from_slice(&plain[33..]);
    let mut stripped = Vec::new();
    strip(Format::Png, 1, &mut Cursor::new(&with), &mut stripped).expect("stripping");
    assert_eq!(stripped, plain, "exactly the chunks we added are gone");
}

#[test]
fn webp_metadata_chunks_are_removed_and_the_size_fixed() {
    let plain = encoded(image::ImageFormat::WebP);
    let mut with = plain.clone();
    let exif = exif_tiff();
    with.extend_from_slice(b"EXIF");
    with.extend_from_slice(&(exif.len() as u32).to_le_bytes());
    with.extend_from_slice(&exif);
    let riff = (with.len() - 8) as u32;
    with[4..8].copy_from_slice(&riff.to_le_bytes());
    let mut stripped = Vec::new();
    strip(Format::WebP, 1, &mut Cursor::new(&with), &mut stripped).expect("stripping");
    assert_eq!(stripped, plain);
    image::load_from_memory(&stripped).expect("still a valid WebP");
}

#[test]
fn heif_exif_item_is_blanked_in_place() {
    // ftyp, meta { hdlr-less: iinf (one Exif item), iloc (its extent) }, mdat.
    let full = |kind: &[u8; 4], version: u8, body: &[u8]| {
        let mut b = ((body.len() + 12) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kind);
        b.extend_from_slice(&[version, 0, 0, 0]);
        b.extend_from_slice(body);
        b
    };
    let plain_box = |kind: &[u8; 4], body: &[u8]| {
        let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kind);
        b.extend_from_slice(body);
        b
    };
    let ftyp = plain_box(b"ftyp", b"heic\0\0\0\0mif1heic");
    let infe = full(b"infe", 2, &[0, 1, 0, 0, b'E', b'x', b'i', b'f']);
    let mut iinf_body = 1u16.to_be_bytes().to_vec();
    iinf_body.extend_from_slice(&infe);
    let iinf = full(b"iinf", 0, &iinf_body);
    let secret = b"\0\0\0\x06Exif\0\0GPS 34.26 108.94";
    // The extent's offset is known once the boxes before mdat are laid out.
    let iloc_len = 12 + 2 + 2 + 2 + 2 + 2 + 4 + 4;
    let meta_len = 12 + iinf.len() + iloc_len;
    let data_at = (ftyp.len() + meta_len + 8) as u32;
    let mut iloc_body = vec![0x44, 0x00];
    iloc_body.extend_from_slice(&1u16.to_be_bytes());
    iloc_body.extend_from_slice(&1u16.to_be_bytes()); // item 1
    iloc_body.extend_from_slice(&0u16.to_be_bytes()); // data reference
    iloc_body.extend_from_slice(&1u16.to_be_bytes()); // one extent
    iloc_body.extend_from_slice(&data_at.to_be_bytes());
    iloc_body.extend_from_slice(&(secret.len() as u32).to_be_bytes());
    let iloc = full(b"iloc", 0, &iloc_body);
    let mut meta_body = iinf.clone();
    meta_body.extend_from_slice(&iloc);
    let meta = full(b"meta", 0, &meta_body);
    assert_eq!(meta.len(), meta_len);
    let mut file = ftyp.clone();
    file.extend_from_slice(&meta);
    file.extend_from_slice(&plain_box(b"mdat", secret));
    let temp = write_temp(&file);
    let blanked = blank_heif_metadata(temp.path()).expect("blanking");
    assert_eq!(blanked, secret.len() as u64);
    let after = std::fs::read(temp.path()).expect("reading");
    assert_eq!(after.len(), file.len(), "offsets stay valid");
    assert!(!after.windows(3).any(|w| w == b"GPS"));
    assert_eq!(&after[..ftyp.len()], &ftyp[..]);
}

#[test]
fn heif_extents_of_zero_width_cannot_make_the_stripper_loop_or_allocate() {
    // An iloc whose offsets and lengths are zero bytes wide: every extent takes no room,
    // so 1000 items of 65535 extents each fit in a few kilobytes.
    let full = |kind: &[u8; 4], version: u8, body: &[u8]| {
        let mut b = ((body.len() + 12) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kind);
        b.extend_from_slice(&[version, 0, 0, 0]);
        b.extend_from_slice(body);
        b
    };
    let mut ftyp = 24u32.to_be_bytes().to_vec();
    ftyp.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
    let infe = full(b"infe", 2, &[0, 1, 0, 0, b'E', b'x', b'i', b'f']);
    let mut iinf_body = 1u16.to_be_bytes().to_vec();
    iinf_body.extend_from_slice(&infe);
    let iinf = full(b"iinf", 0, &iinf_body);
    let items = 1000u16;
    let mut iloc_body = vec![0x00, 0x00];
    iloc_body.extend_from_slice(&items.to_be_bytes());
    for _ in 0..items {
        iloc_body.extend_from_slice(&1u16.to_be_bytes()); // item 1, the Exif one
        iloc_body.extend_from_slice(&0u16.to_be_bytes()); // data reference
        iloc_body.extend_from_slice(&u16::MAX.to_be_bytes()); // extents
    }
    let iloc = full(b"iloc", 0, &iloc_body);
    let mut meta_body = iinf;
    meta_body.extend_from_slice(&iloc);
    let mut file = ftyp;
    file.extend_from_slice(&full(b"meta", 0, &meta_body));
    let temp = write_temp(&file);
    let started = std::time::Instant::now();
    let outcome = blank_heif_metadata(temp.path());
    assert!(outcome.is_err(), "refused as damaged: {outcome:?}");
    assert!(
        started.elapsed().as_millis() < 1000,
        "refused at once, not after 65 million extents"
    );
}
