//! Thumbnails of photos, made in the background (never while a citizen waits), at a
//! key staff pages can derive from the attachment's: `<tenant>/thumbnails/<id>.jpg`.

use std::io::Cursor;

use bytes::Bytes;
use image::ImageDecoder;
use mashang_db::{Db, SystemScope};
use mashang_domain::{AttachmentId, TenantId};
use mashang_storage::{BlobKey, BlobStore, ContentKind, UploadLimits};
use uuid::Uuid;

/// The longest side of a thumbnail, in pixels.
pub const THUMBNAIL_SIZE: u32 = 320;

/// The blob key of an attachment's thumbnail.
pub fn thumbnail_key(tenant: TenantId, attachment: AttachmentId) -> Option<BlobKey> {
    BlobKey::new(tenant, "thumbnails", &format!("{attachment}.jpg")).ok()
}

/// The largest HEIC photo decoded whole for its thumbnail when the file carries no
/// preview of its own: 4 bytes a pixel while decoded, so about 64 MB at most (a
/// 12-megapixel phone photo is 48 MB). Larger ones get no thumbnail.
pub const MAX_HEIC_PIXELS: u64 = 16_000_000;

/// A JPEG thumbnail of an image (JPEG, PNG, WebP, HEIC), turned the way its EXIF
/// orientation (HEIC: its rotation and mirror) says, since the thumbnail carries no
/// EXIF and must be upright itself; `None` for anything it cannot read.
pub fn render(image: &[u8]) -> Option<Vec<u8>> {
    render_within(image, MAX_HEIC_PIXELS)
}

fn render_within(image: &[u8], max_heic_pixels: u64) -> Option<Vec<u8>> {
    let decoded = if is_heif(image) {
        heic(image, max_heic_pixels)?
    } else {
        let mut decoder = image::ImageReader::new(Cursor::new(image))
            .with_guessed_format()
            .ok()?
            .into_decoder()
            .ok()?;
        let orientation = decoder
            .orientation()
            .unwrap_or(image::metadata::Orientation::NoTransforms);
        let mut decoded = image::DynamicImage::from_decoder(decoder).ok()?;
        decoded.apply_orientation(orientation);
        decoded
    };
    let small = decoded.thumbnail(THUMBNAIL_SIZE, THUMBNAIL_SIZE).to_rgb8();
    let mut out = Cursor::new(Vec::new());
    small.write_to(&mut out, image::ImageFormat::Jpeg).ok()?;
    Some(out.into_inner())
}

/// Whether `bytes` start as a HEIF file that may hold HEVC (upload checks already
/// decided it is a photo).
fn is_heif(bytes: &[u8]) -> bool {
    matches!(
        heifer::check_file_type(bytes),
        heifer::FileTypeResult::Supported | heifer::FileTypeResult::MayBe
    ) && bytes.get(4..8) == Some(b"ftyp".as_slice())
}

/// A HEIC photo as pixels, upright: the file's own preview when it has one at least
/// three quarters of the thumbnail's size (iPhones store 320×240), else the photo.
fn heic(bytes: &[u8], max_pixels: u64) -> Option<image::DynamicImage> {
    if let Ok(Some(preview)) = heifer::decode_thumbnail(bytes)
        && preview.width.max(preview.height) >= THUMBNAIL_SIZE * 3 / 4
    {
        let rgb = preview.to_rgb8();
        return image::RgbImage::from_raw(preview.width, preview.height, rgb)
            .map(image::DynamicImage::ImageRgb8);
    }
    let options = heifer::Options {
        // The housekeeper's thread; other work keeps the other cores.
        max_threads: 1,
        max_pixels,
    };
    let photo = heifer::decode_rgba8(bytes, &options).ok()?;
    image::RgbaImage::from_raw(photo.width, photo.height, photo.data)
        .map(image::DynamicImage::ImageRgba8)
}

/// One pass: thumbnails for up to `batch` photos that have none yet; returns how many
/// photos were dealt with (a photo that cannot be read is marked, not retried).
pub async fn make_thumbnails(db: &Db, blobs: &dyn BlobStore, batch: i64) -> anyhow::Result<usize> {
    let mut tx = db.system(SystemScope::IntakeHousekeeping).await?;
    let rows: Vec<(Uuid, Uuid, String)> = sqlx::query_as(
        "SELECT id, tenant_id, blob_key FROM intake.attachments \
         WHERE kind = 'photo' AND thumbnail_key IS NULL ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED",
    )
    .bind(batch)
    .fetch_all(&mut *tx)
    .await?;
    let count = rows.len();
    for (id, tenant, key) in rows {
        let tenant = TenantId::from_uuid(tenant);
        let id = AttachmentId::from_uuid(id);
        let made = match BlobKey::parse(&key) {
            Ok(key) => thumbnail_of(blobs, &key, tenant, id).await?,
            Err(_) => None,
        };
        sqlx::query("UPDATE intake.attachments SET thumbnail_key = $2 WHERE id = $1")
            .bind(id.as_uuid())
            .bind(made.map(|k| k.as_str().to_owned()).unwrap_or_default())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(count)
}

async fn thumbnail_of(
    blobs: &dyn BlobStore,
    key: &BlobKey,
    tenant: TenantId,
    id: AttachmentId,
) -> anyhow::Result<Option<BlobKey>> {
    let original = match blobs.get_bytes(key).await {
        Ok(b) => b,
        Err(mashang_storage::StorageError::NotFound) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let Some(jpeg) = tokio::task::spawn_blocking(move || render(&original)).await? else {
        return Ok(None);
    };
    let Some(target) = thumbnail_key(tenant, id) else {
        return Ok(None);
    };
    let limits = UploadLimits {
        max_bytes: 4 * 1024 * 1024,
        allowed: &[ContentKind::Photo],
    };
    let stream = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from(jpeg))]);
    let spooled = mashang_storage::spool(stream, &limits).await?;
    blobs.put_file(&target, &spooled).await?;
    Ok(Some(target))
}

#[cfg(test)]
mod tests {
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

    /// Red above, blue below, in a JPEG thumbnail of the given size.
    fn assert_red_over_blue(jpeg: &[u8], size: (u32, u32)) {
        let thumb = decode_jpeg(jpeg);
        assert_eq!(thumb.dimensions(), size);
        let top = thumb.get_pixel(size.0 / 2, 20);
        let bottom = thumb.get_pixel(size.0 / 2, size.1 - 20);
        assert!(top[0] > 150 && top[2] < 100, "red above: {top:?}");
        assert!(bottom[2] > 150 && bottom[0] < 100, "blue below: {bottom:?}");
    }

    #[test]
    fn a_heic_photo_gets_an_upright_jpeg_thumbnail_from_its_preview() {
        // Larger than one 512-pixel tile: stored as a grid of tiles with a 320-pixel
        // preview, like a phone's photo.
        let (w, h) = (600, 900);
        let heic = heifer::encode_rgb8(w, h, &red_over_blue(w, h), &Default::default())
            .expect("encoding a HEIC");
        assert!(is_heif(&heic));
        // The preview is used: the photo itself would be over this limit.
        let jpeg = render_within(&heic, 1000).expect("a thumbnail");
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
        assert_red_over_blue(&render(&heic).expect("a thumbnail"), (256, 320));
        // The limit counts coded pixels, which round the picture up to whole blocks.
        assert!(render_within(&heic, u64::from(w * h) * 2).is_some());
        assert_eq!(render_within(&heic, u64::from(w * h) / 2), None);
    }

    #[test]
    fn what_is_not_a_readable_photo_gets_none() {
        assert_eq!(render(b"\0\0\0\x18ftypheic not really"), None);
        assert_eq!(render(b"neither"), None);
    }
}
