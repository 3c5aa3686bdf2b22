//! Attachments: photos (metadata removed, location read first) and voice notes, stored
//! under the tenant's prefix. Uploaded ahead of the report (`POST /api/v1/attachments`)
//! they wait unattached; the housekeeper deletes the ones no report claims in 24 hours.

use mashang_db::TenantTx;
use mashang_domain::events::{AttachmentKind, AttachmentRef};
use mashang_domain::{AttachmentId, ReportId};
use mashang_http::ApiError;
use mashang_storage::{BlobKey, BlobStore, ContentKind, Spooled};
use serde::Serialize;
use uuid::Uuid;

use crate::media::{self, Format};
use crate::qr::QrContext;

/// A stored attachment, before or after it belongs to a report.
#[derive(Clone, Debug, Serialize)]
pub struct Stored {
    /// Id, to reference it from a report.
    pub id: AttachmentId,
    /// Photo or voice.
    pub kind: AttachmentKind,
    /// Sniffed content type.
    pub content_type: String,
    /// Size in bytes (of the stored copy).
    pub size: u64,
    /// Blob key.
    #[serde(skip)]
    pub key: String,
    /// The location the photo's EXIF carried, if any (never stored in the file).
    #[serde(skip)]
    pub gps: Option<(f64, f64)>,
}

impl Stored {
    /// The reference other services get in events.
    pub fn reference(&self) -> AttachmentRef {
        AttachmentRef {
            id: self.id,
            kind: self.kind,
            content_type: self.content_type.clone(),
            size: self.size,
            key: self.key.clone(),
        }
    }
}

/// Removes a photo's metadata (reading its location and orientation first).
async fn scrub(spooled: &mut Spooled) -> Result<Option<(f64, f64)>, ApiError> {
    let Some(format) = Format::of(spooled.content_type()) else {
        return Ok(None);
    };
    let path = spooled.path().to_path_buf();
    let meta = tokio::task::spawn_blocking(move || media::read_meta(&path))
        .await
        .map_err(ApiError::internal)?;
    let refused = |e: mashang_storage::UploadError| match e {
        mashang_storage::UploadError::Spool(io) if io.kind() == std::io::ErrorKind::InvalidData => {
            ApiError::UnsupportedMediaType(format!(
                "照片文件已损坏 (the photo file is damaged): {io}"
            ))
        }
        other => ApiError::internal(other),
    };
    match format {
        Format::Heif => {
            let path = spooled.path().to_path_buf();
            tokio::task::spawn_blocking(move || media::blank_heif_metadata(&path))
                .await
                .map_err(ApiError::internal)?
                .map_err(|e| {
                    ApiError::UnsupportedMediaType(format!(
                        "照片文件已损坏 (the photo file is damaged): {e}"
                    ))
                })?;
        }
        _ => {
            let orientation = meta.orientation;
            spooled
                .rewrite(move |input, output| media::strip(format, orientation, input, output))
                .await
                .map_err(refused)?;
        }
    }
    Ok(meta.gps)
}

/// Cleans (photos) and stores one upload under the tenant's prefix. The caller records
/// it in the database; on failure the blob is not left behind.
pub async fn store(
    blobs: &dyn BlobStore,
    ctx: &QrContext,
    mut spooled: Spooled,
) -> Result<Stored, ApiError> {
    let kind = match spooled.kind() {
        ContentKind::Photo => AttachmentKind::Photo,
        ContentKind::Audio => AttachmentKind::Voice,
    };
    let gps = match kind {
        AttachmentKind::Photo => scrub(&mut spooled).await?,
        AttachmentKind::Voice => None,
    };
    let id = AttachmentId::new();
    let key = BlobKey::new(
        ctx.tenant.id,
        "attachments",
        &format!("{id}.{}", spooled.sniffed().extension),
    )
    .map_err(|e| ApiError::internal(anyhow::anyhow!("building a blob key: {e}")))?;
    if let Err(err) = blobs.put_file(&key, &spooled).await {
        tracing::warn!(error = %mashang_telemetry::error_chain(&err), "storing an attachment failed");
        return Err(ApiError::Unavailable(
            "文件暂时无法保存，请稍后再试 (files cannot be stored right now)".to_owned(),
        ));
    }
    Ok(Stored {
        id,
        kind,
        content_type: spooled.content_type().to_owned(),
        size: spooled.size(),
        key: key.as_str().to_owned(),
        gps,
    })
}

/// Records a stored attachment (unattached, or attached to `report`).
pub async fn record(
    tx: &mut TenantTx,
    ctx: &QrContext,
    stored: &Stored,
    report: Option<ReportId>,
) -> Result<(), ApiError> {
    sqlx::query(
        "INSERT INTO intake.attachments (id, tenant_id, report_id, kind, content_type, size, blob_key, qr_code_id, gps_lat, gps_lng) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(stored.id.as_uuid())
    .bind(tx.tenant().as_uuid())
    .bind(report.map(|r| r.as_uuid()))
    .bind(stored.kind.as_str())
    .bind(&stored.content_type)
    .bind(i64::try_from(stored.size).unwrap_or(i64::MAX))
    .bind(&stored.key)
    .bind(ctx.qr_code_id.map(|c| c.as_uuid()))
    .bind(stored.gps.filter(|_| report.is_none()).map(|g| g.0))
    .bind(stored.gps.filter(|_| report.is_none()).map(|g| g.1))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

type ClaimedRow = (Uuid, String, String, i64, String, Option<f64>, Option<f64>);

/// Locks uploaded attachments a report references: they must be this code's and
/// unclaimed. Returns them (with the location their photos carried) in the citizen's
/// order; [`attach`] then gives them to the report once it exists.
pub async fn lock_unclaimed(
    tx: &mut TenantTx,
    ctx: &QrContext,
    ids: &[AttachmentId],
) -> Result<Vec<Stored>, ApiError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let raw: Vec<Uuid> = ids.iter().map(|i| i.as_uuid()).collect();
    let rows: Vec<ClaimedRow> = sqlx::query_as(
        "SELECT id, kind, content_type, size, blob_key, gps_lat, gps_lng FROM intake.attachments \
         WHERE tenant_id = $1 AND id = ANY($2) AND report_id IS NULL AND qr_code_id = $3 FOR UPDATE",
    )
    .bind(tx.tenant().as_uuid())
    .bind(&raw)
    .bind(ctx.qr_code_id.map(|c| c.as_uuid()))
    .fetch_all(&mut **tx)
    .await?;
    if rows.len() != raw.len() {
        return Err(ApiError::field(
            "attachment_ids",
            "附件不存在或已被使用 (unknown or already used attachment)",
        ));
    }
    let mut out: Vec<Stored> = rows
        .into_iter()
        .map(|(id, kind, content_type, size, key, lat, lng)| Stored {
            id: AttachmentId::from_uuid(id),
            kind: if kind == "voice" {
                AttachmentKind::Voice
            } else {
                AttachmentKind::Photo
            },
            content_type,
            size: u64::try_from(size).unwrap_or(0),
            key,
            gps: lat.zip(lng),
        })
        .collect();
    out.sort_by_key(|s| ids.iter().position(|i| *i == s.id));
    Ok(out)
}

/// Gives locked attachments to their report, forgetting the photos' locations.
pub async fn attach(
    tx: &mut TenantTx,
    report: ReportId,
    stored: &[Stored],
) -> Result<(), ApiError> {
    if stored.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = stored.iter().map(|s| s.id.as_uuid()).collect();
    sqlx::query(
        "UPDATE intake.attachments SET report_id = $3, gps_lat = NULL, gps_lng = NULL \
         WHERE tenant_id = $1 AND id = ANY($2)",
    )
    .bind(tx.tenant().as_uuid())
    .bind(&ids)
    .bind(report.as_uuid())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Deletes stored blobs (after a failed submission); the housekeeper catches any miss.
pub async fn remove_blobs(blobs: &dyn BlobStore, stored: &[Stored]) {
    for s in stored {
        let Ok(key) = BlobKey::parse(&s.key) else {
            continue;
        };
        if let Err(err) = blobs.delete(&key).await {
            tracing::warn!(key = %s.key, error = %mashang_telemetry::error_chain(&err), "could not remove an unused file");
        }
    }
}
