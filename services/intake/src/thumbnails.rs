//! Thumbnails of photos, made in the background (never while a citizen waits), at a
//! key staff pages can derive from the attachment's: `<tenant>/thumbnails/<id>.jpg`.
//!
//! A pass claims a few photos with a short lease (committed at once, so no row lock is
//! held while it downloads, decodes and uploads), does the work with no transaction
//! open, and records each outcome in a short transaction of its own. A photo over the
//! decoding limits or that the decoder refuses is marked and never tried again; one
//! whose storage fails is tried again after the lease, a few times at most.

mod render;

use std::time::Duration;

use bytes::Bytes;
use mashang_db::{Db, SystemScope};
use mashang_domain::{AttachmentId, TenantId};
use mashang_storage::{BlobKey, BlobStore, ContentKind, StorageError, UploadLimits};
pub use render::{DecodeLimits, LIMITS, Rendered, THUMBNAIL_SIZE, render, render_within};
use uuid::Uuid;

/// The blob key of an attachment's thumbnail.
pub fn thumbnail_key(tenant: TenantId, attachment: AttachmentId) -> Option<BlobKey> {
    BlobKey::new(tenant, "thumbnails", &format!("{attachment}.jpg")).ok()
}

/// How long a claimed photo stays with its thumbnailer before another may try it.
pub const LEASE: Duration = Duration::from_secs(10 * 60);
/// Tries before a photo whose storage keeps failing is given up on.
pub const MAX_ATTEMPTS: i32 = 5;
/// The largest stored photo read for a thumbnail (uploads are smaller; anything larger
/// was put there by other means and is not read into memory).
const MAX_SOURCE_BYTES: u64 = 64 * 1024 * 1024;

/// What became of one photo.
enum Outcome {
    Made(BlobKey),
    TooLarge(String),
    Unreadable(String),
    /// Storage failed: worth another try later.
    Transient(String),
}

/// One pass: thumbnails for up to `batch` photos that have none yet; returns how many
/// photos were dealt with. A failure with one photo is recorded on its row and does not
/// stop the others.
pub async fn make_thumbnails(db: &Db, blobs: &dyn BlobStore, batch: i64) -> anyhow::Result<usize> {
    let claimed = claim(db, batch).await?;
    let count = claimed.len();
    for (id, tenant, key, attempts) in claimed {
        let tenant = TenantId::from_uuid(tenant);
        let id = AttachmentId::from_uuid(id);
        let outcome = match BlobKey::parse(&key) {
            Ok(key) => thumbnail_of(blobs, &key, tenant, id).await,
            Err(e) => Outcome::Unreadable(format!("stored under an invalid key: {e}")),
        };
        record(db, id, outcome, attempts).await?;
    }
    Ok(count)
}

/// Leases up to `batch` photos without a thumbnail, oldest first, and commits at once.
async fn claim(db: &Db, batch: i64) -> anyhow::Result<Vec<(Uuid, Uuid, String, i32)>> {
    let mut tx = db.system(SystemScope::IntakeHousekeeping).await?;
    let rows = sqlx::query_as(
        "UPDATE intake.attachments a \
         SET thumbnail_lease_until = now() + make_interval(secs => $2), \
             thumbnail_attempts = a.thumbnail_attempts + 1 \
         FROM (SELECT id FROM intake.attachments \
               WHERE kind = 'photo' AND thumbnail_state = 'pending' \
                 AND (thumbnail_lease_until IS NULL OR thumbnail_lease_until < now()) \
               ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED) c \
         WHERE a.id = c.id \
         RETURNING a.id, a.tenant_id, a.blob_key, a.thumbnail_attempts",
    )
    .bind(batch)
    .bind(LEASE.as_secs_f64())
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows)
}

/// Records what became of a photo, in a transaction of its own.
async fn record(db: &Db, id: AttachmentId, outcome: Outcome, attempts: i32) -> anyhow::Result<()> {
    let (state, key, error) = match outcome {
        Outcome::Made(key) => ("made", Some(key.as_str().to_owned()), None),
        Outcome::TooLarge(why) => {
            tracing::info!(attachment_id = %id, reason = %why, "photo over the decoding limits; kept without a thumbnail");
            ("too_large", None, Some(why))
        }
        Outcome::Unreadable(why) => {
            tracing::info!(attachment_id = %id, reason = %why, "photo could not be decoded; kept without a thumbnail");
            ("unreadable", None, Some(why))
        }
        Outcome::Transient(why) if attempts >= MAX_ATTEMPTS => {
            tracing::warn!(attachment_id = %id, reason = %why, attempts, "thumbnail given up after repeated storage failures");
            ("failed", None, Some(why))
        }
        Outcome::Transient(why) => {
            tracing::warn!(attachment_id = %id, reason = %why, attempts, "thumbnail failed; will try again after the lease");
            ("pending", None, Some(why))
        }
    };
    metrics::counter!("mashang_thumbnails_total", "outcome" => state).increment(1);
    let error: Option<String> = error.map(|e| e.chars().take(500).collect());
    let mut tx = db.system(SystemScope::IntakeHousekeeping).await?;
    // A pending row keeps its lease, so the next try waits for it to run out.
    sqlx::query(
        "UPDATE intake.attachments SET thumbnail_state = $2, thumbnail_key = $3, thumbnail_error = $4, \
         thumbnail_lease_until = CASE WHEN $2 = 'pending' THEN thumbnail_lease_until END \
         WHERE id = $1",
    )
    .bind(id.as_uuid())
    .bind(state)
    .bind(key)
    .bind(error)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn thumbnail_of(
    blobs: &dyn BlobStore,
    key: &BlobKey,
    tenant: TenantId,
    id: AttachmentId,
) -> Outcome {
    let original = match read_source(blobs, key).await {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Outcome::Unreadable("the stored photo is missing".to_owned()),
        Err(outcome) => return outcome,
    };
    let rendered = match tokio::task::spawn_blocking(move || render(&original)).await {
        Ok(rendered) => rendered,
        // A panic in a decoder is the file's doing: never try it again.
        Err(e) => Rendered::Unreadable(format!("the decoder failed: {e}")),
    };
    let jpeg = match rendered {
        Rendered::Thumbnail(jpeg) => jpeg,
        Rendered::TooLarge(why) => return Outcome::TooLarge(why),
        Rendered::Unreadable(why) => return Outcome::Unreadable(why),
    };
    let Some(target) = thumbnail_key(tenant, id) else {
        return Outcome::Unreadable("no thumbnail key for this attachment".to_owned());
    };
    match store(blobs, &target, jpeg).await {
        Ok(()) => Outcome::Made(target),
        Err(e) => Outcome::Transient(format!("{e:#}")),
    }
}

/// The stored photo's bytes; `None` when it is gone.
async fn read_source(blobs: &dyn BlobStore, key: &BlobKey) -> Result<Option<Bytes>, Outcome> {
    let transient = |e: StorageError| Outcome::Transient(mashang_telemetry::error_chain(&e));
    let blob = match blobs.get(key).await {
        Ok(blob) => blob,
        Err(StorageError::NotFound) => return Ok(None),
        Err(e) => return Err(transient(e)),
    };
    if blob.size > MAX_SOURCE_BYTES {
        return Err(Outcome::TooLarge(format!(
            "the stored file has {} bytes; the limit is {MAX_SOURCE_BYTES}",
            blob.size
        )));
    }
    blob.into_bytes().await.map(Some).map_err(transient)
}

async fn store(blobs: &dyn BlobStore, target: &BlobKey, jpeg: Vec<u8>) -> anyhow::Result<()> {
    let limits = UploadLimits {
        max_bytes: 4 * 1024 * 1024,
        allowed: &[ContentKind::Photo],
    };
    let stream = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from(jpeg))]);
    let spooled = mashang_storage::spool(stream, &limits).await?;
    blobs.put_file(target, &spooled).await?;
    Ok(())
}

#[cfg(test)]
mod tests;
