//! Turning a photo into a thumbnail under explicit limits: the size a file declares is
//! read from its header and checked before anything is decoded, so a small file that
//! declares a huge picture costs nothing.

use std::io::Cursor;

use image::{ImageDecoder, ImageError};

/// The longest side of a thumbnail, in pixels.
pub const THUMBNAIL_SIZE: u32 = 320;

/// What a photo may declare and still be decoded, and what decoding may allocate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeLimits {
    /// The widest picture decoded, in pixels.
    pub max_width: u32,
    /// The tallest picture decoded, in pixels.
    pub max_height: u32,
    /// The most pixels decoded (width × height).
    pub max_pixels: u64,
    /// The most memory the decoder may allocate, in bytes.
    pub max_alloc: u64,
    /// The most pixels of a HEIC photo decoded whole when it has no usable preview
    /// (HEVC decoding holds about 4 bytes a pixel besides the picture).
    pub max_heic_pixels: u64,
    /// The most pixels of a HEIC file's own preview.
    pub max_preview_pixels: u64,
}

/// The limits the housekeeper decodes under: a 50-megapixel phone photo (8160×6120)
/// fits; a 16-megapixel HEIC is decoded whole when it carries no preview.
pub const LIMITS: DecodeLimits = DecodeLimits {
    max_width: 16_384,
    max_height: 16_384,
    max_pixels: 50_000_000,
    max_alloc: 256 * 1024 * 1024,
    max_heic_pixels: 16_000_000,
    max_preview_pixels: 4_000_000,
};

/// What came of a photo.
#[derive(Debug, PartialEq, Eq)]
pub enum Rendered {
    /// A JPEG thumbnail.
    Thumbnail(Vec<u8>),
    /// Its header declares more than the limits: kept as uploaded, never decoded.
    TooLarge(String),
    /// The decoder refused it.
    Unreadable(String),
}

impl DecodeLimits {
    /// Why a picture of `width` × `height` may not be decoded, if it may not.
    pub fn refuse(&self, width: u32, height: u32, max_pixels: u64) -> Option<String> {
        let pixels = u64::from(width) * u64::from(height);
        (width > self.max_width || height > self.max_height || pixels > max_pixels).then(|| {
            format!(
                "declares {width}×{height} pixels; the limit is {}×{} and {max_pixels} pixels",
                self.max_width, self.max_height
            )
        })
    }
}

/// A JPEG thumbnail of an image (JPEG, PNG, WebP, HEIC), turned the way its EXIF
/// orientation (HEIC: its rotation and mirror) says, since the thumbnail carries no
/// EXIF and must be upright itself.
pub fn render(image: &[u8]) -> Rendered {
    render_within(image, &LIMITS)
}

/// [`render`] under `limits`.
pub fn render_within(image: &[u8], limits: &DecodeLimits) -> Rendered {
    let decoded = if is_heif(image) {
        heic(image, limits)
    } else {
        raster(image, limits)
    };
    let decoded = match decoded {
        Ok(decoded) => decoded,
        Err(other) => return other,
    };
    let small = decoded.thumbnail(THUMBNAIL_SIZE, THUMBNAIL_SIZE).to_rgb8();
    drop(decoded);
    let mut out = Cursor::new(Vec::new());
    match small.write_to(&mut out, image::ImageFormat::Jpeg) {
        Ok(()) => Rendered::Thumbnail(out.into_inner()),
        Err(e) => Rendered::Unreadable(format!("encoding the thumbnail: {e}")),
    }
}

fn refused(e: ImageError) -> Rendered {
    match e {
        ImageError::Limits(e) => {
            Rendered::TooLarge(format!("declares more than the decoding limits allow: {e}"))
        }
        other => Rendered::Unreadable(other.to_string()),
    }
}

/// JPEG, PNG or WebP: the header's size checked, then decoded with the memory ceiling.
fn raster(image: &[u8], limits: &DecodeLimits) -> Result<image::DynamicImage, Rendered> {
    let mut reader = image::ImageReader::new(Cursor::new(image))
        .with_guessed_format()
        .map_err(|e| Rendered::Unreadable(e.to_string()))?;
    let mut ceiling = image::Limits::default();
    ceiling.max_image_width = Some(limits.max_width);
    ceiling.max_image_height = Some(limits.max_height);
    ceiling.max_alloc = Some(limits.max_alloc);
    reader.limits(ceiling);
    // Reading the header only; the decoder refuses sides over the limits here.
    let mut decoder = reader.into_decoder().map_err(refused)?;
    let (width, height) = decoder.dimensions();
    if let Some(why) = limits.refuse(width, height, limits.max_pixels) {
        return Err(Rendered::TooLarge(why));
    }
    if decoder.total_bytes() > limits.max_alloc {
        return Err(Rendered::TooLarge(format!(
            "needs {} bytes decoded; the limit is {}",
            decoder.total_bytes(),
            limits.max_alloc
        )));
    }
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut decoded = image::DynamicImage::from_decoder(decoder).map_err(refused)?;
    decoded.apply_orientation(orientation);
    Ok(decoded)
}

/// Whether `bytes` start as a HEIF file that may hold HEVC (upload checks already
/// decided it is a photo).
pub fn is_heif(bytes: &[u8]) -> bool {
    matches!(
        heifer::check_file_type(bytes),
        heifer::FileTypeResult::Supported | heifer::FileTypeResult::MayBe
    ) && bytes.get(4..8) == Some(b"ftyp".as_slice())
}

/// A HEIC photo as pixels, upright: the file's own preview when it has one at least
/// three quarters of the thumbnail's size (iPhones store 320×240), else the photo. Every
/// size is read from the file's `ispe` properties and checked before decoding.
fn heic(bytes: &[u8], limits: &DecodeLimits) -> Result<image::DynamicImage, Rendered> {
    use heifer::heifer_isobmff::HeifFile;
    let unreadable = |e: &dyn std::fmt::Display| Rendered::Unreadable(e.to_string());
    let file = HeifFile::parse(bytes).map_err(|e| unreadable(&e))?;
    let preview = file
        .referencing_items(file.primary_id, b"thmb")
        .into_iter()
        .filter_map(|id| Some((id, file.image_size(id).ok()??)))
        .min_by_key(|(_, (w, h))| u64::from(*w) * u64::from(*h));
    if let Some((id, (w, h))) = preview
        && w.max(h) >= THUMBNAIL_SIZE * 3 / 4
        && limits.refuse(w, h, limits.max_preview_pixels).is_none()
        && let Ok(image) = heic_preview(&file, id, (w, h), limits)
    {
        return Ok(image);
    }
    let (w, h) = file
        .image_size(file.primary_id)
        .ok()
        .flatten()
        .ok_or_else(|| Rendered::Unreadable("HEIF: the photo declares no size".to_owned()))?;
    if let Some(why) = limits.refuse(w, h, limits.max_heic_pixels) {
        return Err(Rendered::TooLarge(why));
    }
    let options = heifer::Options {
        // The housekeeper's thread; other work keeps the other cores.
        max_threads: 1,
        max_pixels: limits.max_heic_pixels,
    };
    let photo = heifer::decode_rgba8(bytes, &options).map_err(|e| unreadable(&e))?;
    image::RgbaImage::from_raw(photo.width, photo.height, photo.data)
        .map(image::DynamicImage::ImageRgba8)
        .ok_or_else(|| Rendered::Unreadable("HEIF: the decoded photo is short".to_owned()))
}

/// Decodes a HEIC preview item whose `ispe` passed the limits; the HEVC stream is held
/// to them too (it may code a larger picture than its `ispe` says).
fn heic_preview(
    file: &heifer::heifer_isobmff::HeifFile<'_>,
    id: heifer::heifer_isobmff::ItemId,
    (w, h): (u32, u32),
    limits: &DecodeLimits,
) -> Result<image::DynamicImage, String> {
    use heifer::heifer_hevc_dec::decoder::{DecodeOptions, decode_picture};
    use heifer::heifer_isobmff::boxes::Property;
    let item = file.item(id).map_err(|e| e.to_string())?;
    if item.item_type.0 != *b"hvc1" {
        return Err("the preview is not a coded picture".to_owned());
    }
    let stream = file.hevc_bitstream(id).map_err(|e| e.to_string())?;
    let options = DecodeOptions {
        max_pixels: limits.max_preview_pixels.saturating_mul(2),
        ..Default::default()
    };
    let frame = decode_picture(&stream, options).map_err(|e| e.to_string())?;
    let params = heifer::color::ColorParams::from_frame(&frame);
    let mut image = heifer::color::frame_to_rgba_sized::<u8>(&frame, params, w, h);
    for property in file.item_properties(id).map_err(|e| e.to_string())? {
        image = match *property {
            Property::CleanAperture {
                width,
                height,
                horiz_offset,
                vert_offset,
            } => clean_aperture(&image, width, height, horiz_offset, vert_offset)?,
            Property::Rotation(q) if q % 4 != 0 => image.rotate_ccw(q),
            Property::Mirror(top_bottom) => image.mirror(top_bottom),
            _ => image,
        };
    }
    image::RgbaImage::from_raw(image.width, image.height, image.data)
        .map(image::DynamicImage::ImageRgba8)
        .ok_or_else(|| "the decoded preview is short".to_owned())
}

/// The picture inside a `clap` (clean aperture) property, as heifer crops it.
fn clean_aperture(
    img: &heifer::Image<u8>,
    width: (u32, u32),
    height: (u32, u32),
    horiz: (i32, u32),
    vert: (i32, u32),
) -> Result<heifer::Image<u8>, String> {
    if width.1 == 0 || height.1 == 0 || horiz.1 == 0 || vert.1 == 0 {
        return Err("clap with a zero denominator".to_owned());
    }
    let cw = f64::from(width.0) / f64::from(width.1);
    let ch = f64::from(height.0) / f64::from(height.1);
    let cx = f64::from(horiz.0) / f64::from(horiz.1) + (f64::from(img.width) - 1.0) / 2.0;
    let cy = f64::from(vert.0) / f64::from(vert.1) + (f64::from(img.height) - 1.0) / 2.0;
    let left = (cx - (cw - 1.0) / 2.0).round().max(0.0) as u32;
    let top = (cy - (ch - 1.0) / 2.0).round().max(0.0) as u32;
    Ok(img.crop(left, top, cw.round() as u32, ch.round() as u32))
}
