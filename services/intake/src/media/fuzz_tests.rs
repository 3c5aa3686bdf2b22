//! Fuzzing metadata removal, which reads every photo a citizen uploads. Photos are
//! built real (encoded, then given location tags in every place cameras put them) and
//! then damaged; whatever the bytes, stripping ends with a photo or an error, never a
//! panic, never more output than input, and never with the location still inside.

use std::io::Cursor;

use proptest::prelude::*;

use super::tests::{exif_tiff, write_temp};
use super::*;

/// The GPS block of [`exif_tiff`] (34°15'36" N, 108°56'24" E as rationals): if these
/// bytes are in a stored photo, so is the location.
fn gps_block() -> Vec<u8> {
    exif_tiff()[92..].to_vec()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A `width` × `height` photo in `format`, its pixels varying with `seed`.
fn photo(format: image::ImageFormat, width: u32, height: u32, seed: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x * 7) as u8 ^ seed, (y * 11) as u8, seed.wrapping_mul(3)])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format)
        .expect("encoding a test image");
    out.into_inner()
}

/// A JPEG segment: marker, length, payload.
fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
    let mut s = vec![0xFF, marker];
    s.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    s.extend_from_slice(payload);
    s
}

/// The metadata segments cameras and editors write, each carrying the location.
fn metadata_segment(kind: u8) -> Vec<u8> {
    match kind % 4 {
        0 => segment(0xE1, &[b"Exif\0\0".as_slice(), &exif_tiff()].concat()),
        1 => segment(
            0xE1,
            &[
                b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta exif:GPSLatitude=\"".as_slice(),
                &gps_block(),
                b"\"/>",
            ]
            .concat(),
        ),
        2 => segment(
            0xED,
            &[b"Photoshop 3.0\08BIM".as_slice(), &gps_block()].concat(),
        ),
        _ => segment(0xE1, &[b"Exif\0\0".as_slice(), &exif_tiff()].concat()),
    }
}

/// The header segments of a JPEG (after SOI, before SOS) and the rest (SOS onwards).
fn split_jpeg(jpeg: &[u8]) -> (Vec<Vec<u8>>, Vec<u8>) {
    let mut segments = Vec::new();
    let mut at = 2;
    while jpeg[at + 1] != 0xDA {
        let len = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        segments.push(jpeg[at..at + 2 + len].to_vec());
        at += 2 + len;
    }
    (segments, jpeg[at..].to_vec())
}

/// A JPEG as a camera with location on writes it: metadata segments among the header
/// segments, and, for a multi-picture photo, a second image with its own EXIF after
/// the end of the first.
#[derive(Clone, Debug)]
struct TaggedJpeg {
    width: u32,
    height: u32,
    seed: u8,
    /// (position among the header segments, kind of metadata segment).
    tags: Vec<(usize, u8)>,
    /// A comment segment, which photo editors add.
    comment: Option<usize>,
    trailing_image: bool,
}

fn tagged_jpeg() -> impl Strategy<Value = TaggedJpeg> {
    (
        1u32..48,
        1u32..48,
        any::<u8>(),
        proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4),
        proptest::option::of(any::<usize>()),
        any::<bool>(),
    )
        .prop_map(
            |(width, height, seed, tags, comment, trailing_image)| TaggedJpeg {
                width,
                height,
                seed,
                tags,
                comment,
                trailing_image,
            },
        )
}

impl TaggedJpeg {
    /// The photo without any tag.
    fn plain(&self) -> Vec<u8> {
        photo(image::ImageFormat::Jpeg, self.width, self.height, self.seed)
    }

    fn bytes(&self) -> Vec<u8> {
        let (mut segments, rest) = split_jpeg(&self.plain());
        for &(at, kind) in &self.tags {
            segments.insert(at % (segments.len() + 1), metadata_segment(kind));
        }
        if let Some(at) = self.comment {
            segments.insert(at % (segments.len() + 1), segment(0xFE, b"taken by Li Na"));
        }
        let mut out = vec![0xFF, 0xD8];
        out.extend(segments.concat());
        out.extend_from_slice(&rest);
        if self.trailing_image {
            let second = photo(image::ImageFormat::Jpeg, 8, 8, self.seed);
            out.extend_from_slice(&second[..2]);
            out.extend_from_slice(&metadata_segment(0));
            out.extend_from_slice(&second[2..]);
        }
        out
    }
}

fn strip_bytes(format: Format, orientation: u16, input: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    strip(format, orientation, &mut Cursor::new(input), &mut out)?;
    Ok(out)
}

/// One way a file is damaged.
#[derive(Clone, Debug)]
enum Damage {
    Truncate(usize),
    Flip(usize, u8),
    /// A segment or chunk length field (found by its position) set to this value.
    Length(usize, u32),
    Insert(usize, Vec<u8>),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        any::<usize>().prop_map(Damage::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Damage::Flip(at, b)),
        (
            any::<usize>(),
            prop_oneof![
                Just(0u32),
                Just(1),
                Just(2),
                Just(8),
                Just(12),
                Just(0xFFFF),
                Just(u32::MAX),
                any::<u32>()
            ]
        )
            .prop_map(|(at, len)| Damage::Length(at, len)),
        (
            any::<usize>(),
            prop_oneof![
                Just(vec![0xFF; 64]),
                Just(vec![0xFF, 0xD9]),
                Just(vec![0xFF, 0xDA, 0x00, 0x02]),
                proptest::collection::vec(any::<u8>(), 1..16),
            ]
        )
            .prop_map(|(at, bytes)| Damage::Insert(at, bytes)),
    ]
}

/// Applies `damage`; `length_fields` are the offsets of the file's length fields and
/// how wide each is (2 for JPEG, 4 for PNG and WebP) and its byte order.
fn apply(bytes: &mut Vec<u8>, damage: &Damage, length_fields: &[(usize, usize, bool)]) {
    let len = bytes.len().max(1);
    match damage {
        Damage::Truncate(at) => bytes.truncate(at % len),
        Damage::Flip(at, b) => {
            if let Some(byte) = bytes.get_mut(at % len) {
                *byte ^= b | 1;
            }
        }
        Damage::Length(which, value) => {
            if let Some(&(at, width, big_endian)) =
                length_fields.get(which % length_fields.len().max(1))
            {
                let field = if big_endian {
                    value.to_be_bytes()
                } else {
                    value.to_le_bytes()
                };
                let field = if width == 2 {
                    if big_endian { &field[2..] } else { &field[..2] }
                } else {
                    &field[..]
                };
                if let Some(slot) = bytes.get_mut(at..at + width) {
                    slot.copy_from_slice(field);
                }
            }
        }
        Damage::Insert(at, extra) => {
            let at = at % (bytes.len() + 1);
            bytes.splice(at..at, extra.iter().copied());
        }
    }
}

/// The offsets of a JPEG's segment length fields, up to its first scan.
fn jpeg_lengths(jpeg: &[u8]) -> Vec<(usize, usize, bool)> {
    let mut out = Vec::new();
    let mut at = 2;
    while at + 4 <= jpeg.len() && jpeg[at] == 0xFF {
        out.push((at + 2, 2, true));
        if jpeg[at + 1] == 0xDA {
            break;
        }
        at += 2 + usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
    }
    out
}

/// The offsets of a PNG's chunk lengths, or of a WebP's RIFF and chunk sizes.
fn chunk_lengths(file: &[u8], png: bool) -> Vec<(usize, usize, bool)> {
    let mut out = if png { vec![] } else { vec![(4, 4, false)] };
    let mut at = if png { 8 } else { 12 };
    while at + 8 <= file.len() {
        out.push((if png { at } else { at + 4 }, 4, png));
        let size = if png {
            u32::from_be_bytes([file[at], file[at + 1], file[at + 2], file[at + 3]]) as usize + 12
        } else {
            let s = u32::from_le_bytes([file[at + 4], file[at + 5], file[at + 6], file[at + 7]])
                as usize;
            8 + s + (s & 1)
        };
        at += size;
    }
    out
}

/// A PNG with metadata chunks (eXIf, tEXt, zTXt, iTXt) placed after IHDR.
fn tagged_png(width: u32, height: u32, seed: u8, tags: &[(usize, u8)]) -> (Vec<u8>, Vec<u8>) {
    let plain = photo(image::ImageFormat::Png, width, height, seed);
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    let mut at = 8 + 25; // signature and IHDR
    while at < plain.len() {
        let len =
            u32::from_be_bytes([plain[at], plain[at + 1], plain[at + 2], plain[at + 3]]) as usize;
        chunks.push(plain[at..at + 12 + len].to_vec());
        at += 12 + len;
    }
    let last = chunks.len() - 1; // IEND stays last
    for &(pos, kind) in tags {
        let (name, body): (&[u8; 4], Vec<u8>) = match kind % 4 {
            0 => (b"eXIf", exif_tiff()),
            1 => (b"tEXt", [b"GPS\0".as_slice(), &gps_block()].concat()),
            2 => (b"zTXt", [b"GPS\0\0".as_slice(), &gps_block()].concat()),
            _ => (
                b"iTXt",
                [b"XML:com.adobe.xmp\0\0\0\0\0".as_slice(), &gps_block()].concat(),
            ),
        };
        let mut chunk = (body.len() as u32).to_be_bytes().to_vec();
        chunk.extend_from_slice(name);
        chunk.extend_from_slice(&body);
        chunk.extend_from_slice(&[0, 0, 0, 0]);
        chunks.insert(pos % (last + 1), chunk);
    }
    let tagged = [plain[..33].to_vec(), chunks.concat()].concat();
    (plain, tagged)
}

/// A WebP, extended (VP8X announcing EXIF and XMP) with its EXIF and XMP chunks.
fn tagged_webp(width: u32, height: u32, seed: u8, exif_first: bool) -> (Vec<u8>, Vec<u8>) {
    let simple = photo(image::ImageFormat::WebP, width, height, seed);
    let image_chunk = &simple[12..];
    let chunk = |kind: &[u8; 4], body: &[u8]| {
        let mut c = kind.to_vec();
        c.extend_from_slice(&(body.len() as u32).to_le_bytes());
        c.extend_from_slice(body);
        if body.len() % 2 == 1 {
            c.push(0);
        }
        c
    };
    let vp8x = |flags: u8| {
        let mut body = vec![flags, 0, 0, 0];
        body.extend_from_slice(&(width - 1).to_le_bytes()[..3]);
        body.extend_from_slice(&(height - 1).to_le_bytes()[..3]);
        chunk(b"VP8X", &body)
    };
    let riff = |chunks: Vec<u8>| {
        let mut f = b"RIFF".to_vec();
        f.extend_from_slice(&((chunks.len() + 4) as u32).to_le_bytes());
        f.extend_from_slice(b"WEBP");
        f.extend_from_slice(&chunks);
        f
    };
    let exif = chunk(b"EXIF", &exif_tiff());
    let xmp = chunk(b"XMP ", &[b"<x:xmpmeta>".as_slice(), &gps_block()].concat());
    let (before, after) = if exif_first {
        (exif, xmp)
    } else {
        (Vec::new(), [exif, xmp].concat())
    };
    let plain = riff([vp8x(0x00), image_chunk.to_vec()].concat());
    let tagged = riff([vp8x(0x0C), before, image_chunk.to_vec(), after].concat());
    (plain, tagged)
}

/// What holds of any stripped output, whatever the input was: no more than the input
/// and the orientation segment, and no location a photo viewer would show.
fn no_location_shown(input: &[u8], output: &[u8]) -> Result<(), TestCaseError> {
    prop_assert!(
        output.len() <= input.len() + 64,
        "{} > {}",
        output.len(),
        input.len()
    );
    prop_assert_eq!(read_meta(write_temp(output).path()).gps, None);
    Ok(())
}

/// What holds of a whole photo's stripped copy: not a byte of its location is left.
fn no_location_left(input: &[u8], output: &[u8]) -> Result<(), TestCaseError> {
    no_location_shown(input, output)?;
    prop_assert!(
        !contains(output, &gps_block()),
        "the location is still in the photo"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn fuzz_jpeg_keeps_its_pixels_and_loses_its_location(
        jpeg in tagged_jpeg(),
        orientation in 1u16..=8,
    ) {
        let input = jpeg.bytes();
        let output = strip_bytes(Format::Jpeg, orientation, &input).expect("a whole photo strips");
        no_location_left(&input, &output)?;
        prop_assert!(!contains(&output, b"http://ns.adobe.com/xap"));
        prop_assert!(!contains(&output, b"Photoshop 3.0"));
        prop_assert_eq!(read_meta(write_temp(&output).path()).orientation, orientation);
        let before = image::load_from_memory(&jpeg.plain()).expect("the plain photo decodes");
        let after = image::load_from_memory(&output).expect("the stripped photo decodes");
        prop_assert_eq!((after.width(), after.height()), (jpeg.width, jpeg.height));
        prop_assert!(before.to_rgb8() == after.to_rgb8(), "the same pixels");
    }

    #[test]
    fn fuzz_damaged_jpeg_strips_or_is_refused_without_its_location(
        jpeg in tagged_jpeg(),
        damages in proptest::collection::vec(damage(), 1..4),
        orientation in 1u16..=8,
    ) {
        let mut input = jpeg.bytes();
        for d in &damages {
            let lengths = jpeg_lengths(&input);
            apply(&mut input, d, &lengths);
        }
        if let Ok(output) = strip_bytes(Format::Jpeg, orientation, &input) {
            no_location_shown(&input, &output)?;
        }
    }

    #[test]
    fn fuzz_png_loses_exactly_its_metadata_chunks(
        (width, height, seed) in (1u32..48, 1u32..48, any::<u8>()),
        tags in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..5),
    ) {
        let (plain, tagged) = tagged_png(width, height, seed, &tags);
        let output = strip_bytes(Format::Png, 1, &tagged).expect("a whole PNG strips");
        prop_assert!(output == plain, "exactly the metadata chunks are gone");
        no_location_left(&tagged, &output)?;
        let after = image::load_from_memory(&output).expect("the stripped PNG decodes");
        prop_assert_eq!((after.width(), after.height()), (width, height));
    }

    #[test]
    fn fuzz_damaged_png_strips_or_is_refused_without_its_location(
        (width, height, seed) in (1u32..48, 1u32..48, any::<u8>()),
        tags in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..5),
        damages in proptest::collection::vec(damage(), 1..4),
    ) {
        let (_, mut input) = tagged_png(width, height, seed, &tags);
        for d in &damages {
            let lengths = chunk_lengths(&input, true);
            apply(&mut input, d, &lengths);
        }
        if let Ok(output) = strip_bytes(Format::Png, 1, &input) {
            no_location_shown(&input, &output)?;
        }
    }

    #[test]
    fn fuzz_webp_loses_its_metadata_and_keeps_a_true_size(
        (width, height, seed) in (1u32..48, 1u32..48, any::<u8>()),
        exif_first in any::<bool>(),
    ) {
        let (plain, tagged) = tagged_webp(width, height, seed, exif_first);
        let output = strip_bytes(Format::WebP, 1, &tagged).expect("a whole WebP strips");
        prop_assert!(output == plain, "exactly the metadata chunks are gone, flags cleared");
        no_location_left(&tagged, &output)?;
        let after = image::load_from_memory(&output).expect("the stripped WebP decodes");
        prop_assert_eq!((after.width(), after.height()), (width, height));
    }

    #[test]
    fn fuzz_damaged_webp_strips_or_is_refused_and_states_its_size(
        (width, height, seed) in (1u32..48, 1u32..48, any::<u8>()),
        exif_first in any::<bool>(),
        damages in proptest::collection::vec(damage(), 1..4),
    ) {
        let (_, mut input) = tagged_webp(width, height, seed, exif_first);
        for d in &damages {
            let lengths = chunk_lengths(&input, false);
            apply(&mut input, d, &lengths);
        }
        if let Ok(output) = strip_bytes(Format::WebP, 1, &input) {
            no_location_shown(&input, &output)?;
            let riff = u32::from_le_bytes([output[4], output[5], output[6], output[7]]);
            prop_assert_eq!(riff as usize, output.len() - 8, "the RIFF size is the size written");
        }
    }

    #[test]
    fn fuzz_any_bytes_strip_or_are_refused(
        bytes in proptest::collection::vec(any::<u8>(), 0..512),
        start in prop_oneof![Just(&b"\xFF\xD8"[..]), Just(&b"\x89PNG\r\n\x1a\n"[..]), Just(&b"RIFF\x20\0\0\0WEBP"[..]), Just(&b""[..])],
        format in prop_oneof![Just(Format::Jpeg), Just(Format::Png), Just(Format::WebP)],
    ) {
        let input = [start, &bytes].concat();
        if let Ok(output) = strip_bytes(format, 6, &input) {
            prop_assert!(output.len() <= input.len() + 64);
        }
    }
}

/// The layout choices an `iloc` box allows: field widths, a base offset, version.
#[derive(Clone, Debug)]
struct HeifLayout {
    version: u8,
    offset_size: u8,
    length_size: u8,
    base_offset_size: u8,
    /// The Exif item's data split into this many extents.
    extents: u16,
}

fn heif_layout() -> impl Strategy<Value = HeifLayout> {
    (
        0u8..=2,
        prop_oneof![Just(4u8), Just(8)],
        prop_oneof![Just(4u8), Just(8)],
        prop_oneof![Just(0u8), Just(4), Just(8)],
        1u16..4,
    )
        .prop_map(
            |(version, offset_size, length_size, base_offset_size, extents)| HeifLayout {
                version,
                offset_size,
                length_size,
                base_offset_size,
                extents,
            },
        )
}

/// The secret a HEIF's Exif item holds, and the picture data next to it.
const HEIF_SECRET: &[u8] = b"\0\0\0\x06Exif\0\0GPS 34.26 108.94 taken by Li Na";
const HEIF_PICTURE: &[u8] = b"picture data that must stay as it is";

/// A HEIF with an Exif item (1) and a picture item (2), laid out as `layout` says;
/// `mdat` holds the picture, then the secret.
fn heif(layout: &HeifLayout) -> Vec<u8> {
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
    let uint = |value: u64, size: u8| value.to_be_bytes()[8 - usize::from(size)..].to_vec();
    let ftyp = plain_box(b"ftyp", b"heic\0\0\0\0mif1heic");
    let infe = |id: u16, kind: &[u8; 4]| {
        let mut body = id.to_be_bytes().to_vec();
        body.extend_from_slice(&[0, 0]);
        body.extend_from_slice(kind);
        full(b"infe", 2, &body)
    };
    let mut iinf_body = 2u16.to_be_bytes().to_vec();
    iinf_body.extend_from_slice(&infe(1, b"Exif"));
    iinf_body.extend_from_slice(&infe(2, b"hvc1"));
    let iinf = full(b"iinf", 0, &iinf_body);
    // The iloc box for data starting at `data_at`; its size does not depend on it.
    let iloc = |data_at: u64| {
        let mut body = vec![
            (layout.offset_size << 4) | layout.length_size,
            layout.base_offset_size << 4,
        ];
        let item = |body: &mut Vec<u8>, id: u32| {
            if layout.version < 2 {
                body.extend_from_slice(&(id as u16).to_be_bytes());
            } else {
                body.extend_from_slice(&id.to_be_bytes());
            }
            if layout.version >= 1 {
                body.extend_from_slice(&0u16.to_be_bytes()); // construction method 0
            }
            body.extend_from_slice(&0u16.to_be_bytes()); // data reference
        };
        if layout.version < 2 {
            body.extend_from_slice(&2u16.to_be_bytes());
        } else {
            body.extend_from_slice(&2u32.to_be_bytes());
        }
        let base = if layout.base_offset_size == 0 {
            0
        } else {
            data_at
        };
        // The picture: one extent.
        item(&mut body, 2);
        body.extend_from_slice(&uint(base, layout.base_offset_size));
        body.extend_from_slice(&1u16.to_be_bytes());
        body.extend_from_slice(&uint(data_at - base, layout.offset_size));
        body.extend_from_slice(&uint(HEIF_PICTURE.len() as u64, layout.length_size));
        // The secret, in `extents` pieces.
        item(&mut body, 1);
        body.extend_from_slice(&uint(base, layout.base_offset_size));
        body.extend_from_slice(&layout.extents.to_be_bytes());
        let secret_at = data_at + HEIF_PICTURE.len() as u64;
        let piece = HEIF_SECRET.len() as u64 / u64::from(layout.extents);
        for i in 0..u64::from(layout.extents) {
            let length = if i + 1 == u64::from(layout.extents) {
                HEIF_SECRET.len() as u64 - piece * i
            } else {
                piece
            };
            body.extend_from_slice(&uint(secret_at + piece * i - base, layout.offset_size));
            body.extend_from_slice(&uint(length, layout.length_size));
        }
        full(b"iloc", layout.version, &body)
    };
    let meta_len = 12 + iinf.len() + iloc(0).len();
    let data_at = (ftyp.len() + meta_len + 8) as u64;
    let meta = full(b"meta", 0, &[iinf, iloc(data_at)].concat());
    [
        ftyp,
        meta,
        plain_box(b"mdat", &[HEIF_PICTURE, HEIF_SECRET].concat()),
    ]
    .concat()
}

/// The offsets of a HEIF's box sizes (top level, and inside `meta`).
fn heif_lengths(file: &[u8]) -> Vec<(usize, usize, bool)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 8 <= file.len() {
        out.push((at, 4, true));
        let size = u32::from_be_bytes([file[at], file[at + 1], file[at + 2], file[at + 3]]);
        if &file[at + 4..at + 8] == b"meta" {
            let mut inner = at + 12;
            while inner + 8 <= (at + size as usize).min(file.len()) {
                out.push((inner, 4, true));
                let s = u32::from_be_bytes([
                    file[inner],
                    file[inner + 1],
                    file[inner + 2],
                    file[inner + 3],
                ]);
                inner += s.max(8) as usize;
            }
        }
        at += size.max(8) as usize;
    }
    out
}

fn blank(bytes: &[u8]) -> (io::Result<u64>, Vec<u8>) {
    let temp = write_temp(bytes);
    let outcome = blank_heif_metadata(temp.path());
    let after = std::fs::read(temp.path()).expect("reading the blanked file");
    (outcome, after)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn fuzz_heif_loses_its_exif_item_and_keeps_its_picture(layout in heif_layout()) {
        let file = heif(&layout);
        let (outcome, after) = blank(&file);
        prop_assert_eq!(outcome.expect("a whole HEIF blanks"), HEIF_SECRET.len() as u64);
        prop_assert_eq!(after.len(), file.len(), "offsets stay valid");
        prop_assert!(!contains(&after, b"GPS 34.26"));
        prop_assert!(contains(&after, HEIF_PICTURE));
        prop_assert_eq!(&after[..file.len() - HEIF_SECRET.len()], &file[..file.len() - HEIF_SECRET.len()]);
    }

    #[test]
    fn fuzz_damaged_heif_is_blanked_or_refused_in_place(
        layout in heif_layout(),
        damages in proptest::collection::vec(damage(), 1..4),
    ) {
        let mut file = heif(&layout);
        for d in &damages {
            let lengths = heif_lengths(&file);
            apply(&mut file, d, &lengths);
        }
        let (_, after) = blank(&file);
        prop_assert_eq!(after.len(), file.len(), "the file keeps its size");
    }
}

// Cases the properties above found, kept as plain tests.

#[test]
fn a_multi_picture_jpeg_is_stored_without_the_pictures_after_its_end() {
    let jpeg = TaggedJpeg {
        width: 1,
        height: 1,
        seed: 0,
        tags: vec![(0, 0)],
        comment: None,
        trailing_image: true,
    };
    let input = jpeg.bytes();
    let output = strip_bytes(Format::Jpeg, 1, &input).expect("stripping");
    assert!(
        !contains(&output, &gps_block()),
        "the second picture's location is gone"
    );
    assert_eq!(
        &output[output.len() - 2..],
        &[0xFF, 0xD9],
        "it ends where the photo ends"
    );
}

#[test]
fn a_heif_meta_box_too_short_for_its_header_is_refused() {
    let outcome = blank(b"\0\0\0\x08meta").0;
    assert_eq!(
        outcome.expect_err("refused").kind(),
        io::ErrorKind::InvalidData
    );
}

#[test]
fn a_heif_box_whose_size_runs_past_any_file_is_refused() {
    let file = [
        b"\0\0\0\x08free\0\0\0\x01mdat".as_slice(),
        &u64::MAX.to_be_bytes(),
    ]
    .concat();
    let outcome = blank(&file).0;
    assert_eq!(
        outcome.expect_err("refused").kind(),
        io::ErrorKind::InvalidData
    );
}

#[test]
fn a_heif_item_whose_base_and_offset_overflow_is_refused() {
    let layout = HeifLayout {
        version: 1,
        offset_size: 8,
        length_size: 8,
        base_offset_size: 8,
        extents: 1,
    };
    let mut file = heif(&layout);
    let mdat = file
        .windows(4)
        .position(|w| w == b"mdat")
        .expect("an mdat box");
    let base = ((mdat + 4) as u64).to_be_bytes();
    let at = file
        .windows(8)
        .position(|w| w == base)
        .expect("the base offset");
    let end = mdat - 4;
    let mut i = at;
    while i + 8 <= end {
        if file[i..i + 8] == base {
            file[i..i + 8].copy_from_slice(&u64::MAX.to_be_bytes());
        }
        i += 1;
    }
    let (outcome, after) = blank(&file);
    assert_eq!(
        outcome.expect_err("refused").kind(),
        io::ErrorKind::InvalidData
    );
    assert_eq!(after, file, "nothing was overwritten");
}

#[test]
fn a_webp_whose_extended_header_is_cut_short_is_refused() {
    let (_, tagged) = tagged_webp(4, 4, 0, true);
    // The VP8X chunk (at 12) claims 18 bytes; the file ends 5 bytes into it, and the
    // RIFF size says so.
    let mut cut = tagged[..12 + 8 + 5].to_vec();
    cut[12 + 4..12 + 8].copy_from_slice(&18u32.to_le_bytes());
    cut[4..8].copy_from_slice(&(4u32 + 8 + 18).to_le_bytes());
    assert!(strip_bytes(Format::WebP, 1, &cut).is_err());
}
