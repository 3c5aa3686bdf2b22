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

/// A JPEG thumbnail of an image (JPEG, PNG, WebP), turned the way its EXIF orientation
/// says (the thumbnail carries no EXIF, so it must be upright itself); `None` for
/// anything it cannot read.
pub fn render(image: &[u8]) -> Option<Vec<u8>> {
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
    let small = decoded.thumbnail(THUMBNAIL_SIZE, THUMBNAIL_SIZE).to_rgb8();
    let mut out = Cursor::new(Vec::new());
    small.write_to(&mut out, image::ImageFormat::Jpeg).ok()?;
    Some(out.into_inner())
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
