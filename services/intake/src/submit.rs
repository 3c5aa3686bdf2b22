//! Accepting a report: photos to the blob store under the tenant's prefix, then the
//! report, its attachments, its first status step, its tracking-number lookup and the
//! `report.submitted` event in one transaction. If the transaction fails, the photos
//! are removed again.

use std::sync::Arc;

use chrono::Utc;
use mashang_bus::{Service, outbox};
use mashang_domain::events::{AttachmentKind, AttachmentRef, ReportSubmitted};
use mashang_domain::report::{Channel, ReportStatus};
use mashang_domain::{AttachmentId, ReportId};
use mashang_http::ApiError;
use mashang_storage::{BlobKey, BlobStore};
use serde::Serialize;

use crate::IntakeState;
use crate::form::ValidReport;
use crate::qr::QrContext;
use crate::tracking;

/// What the citizen gets back.
#[derive(Clone, Debug, Serialize)]
pub struct Submitted {
    /// The report's id.
    pub id: ReportId,
    /// What to quote.
    pub tracking_number: String,
    /// The status page, carrying its secret: needs nothing else to open.
    pub status_url: String,
}

/// Stores a valid report received through `ctx`'s QR code.
#[tracing::instrument(skip_all, fields(tenant_id = %ctx.tenant.id))]
pub async fn submit(
    state: &IntakeState,
    ctx: &QrContext,
    report: ValidReport,
    channel: Channel,
) -> Result<Submitted, ApiError> {
    if !ctx.categories.iter().any(|c| c.code == report.category) {
        return Err(ApiError::field(
            "category",
            "该类别不存在或已停用 (unknown or inactive category)",
        ));
    }
    let tenant = ctx.tenant.id;
    let attachments = upload_photos(state.blobs.clone(), tenant, &report).await?;
    match record(state, ctx, &report, channel, &attachments).await {
        Ok(done) => Ok(done),
        Err(err) => {
            remove_blobs(state.blobs.as_ref(), &attachments).await;
            Err(err)
        }
    }
}

async fn upload_photos(
    blobs: Arc<dyn BlobStore>,
    tenant: mashang_domain::TenantId,
    report: &ValidReport,
) -> Result<Vec<AttachmentRef>, ApiError> {
    let mut uploaded = Vec::with_capacity(report.photos.len());
    for photo in &report.photos {
        let id = AttachmentId::new();
        let key = BlobKey::new(
            tenant,
            "attachments",
            &format!("{id}.{}", photo.sniffed().extension),
        )
        .map_err(|e| ApiError::internal(anyhow::anyhow!("building a blob key: {e}")))?;
        if let Err(err) = blobs.put_file(&key, photo).await {
            tracing::warn!(error = %format!("{:#}", anyhow::Error::from(err)), "photo upload failed");
            remove_blobs(blobs.as_ref(), &uploaded).await;
            return Err(ApiError::Unavailable(
                "照片暂时无法保存，请稍后再试 (photos cannot be stored right now)".to_owned(),
            ));
        }
        uploaded.push(AttachmentRef {
            id,
            kind: AttachmentKind::Photo,
            content_type: photo.content_type().to_owned(),
            size: photo.size(),
            key: key.as_str().to_owned(),
        });
    }
    Ok(uploaded)
}

async fn remove_blobs(blobs: &dyn BlobStore, attachments: &[AttachmentRef]) {
    for attachment in attachments {
        let Ok(key) = BlobKey::parse(&attachment.key) else {
            continue;
        };
        if let Err(err) = blobs.delete(&key).await {
            // The orphan sweep removes it later.
            tracing::warn!(key = %attachment.key, error = %mashang_telemetry::error_chain(&err), "could not remove an unused photo");
        }
    }
}

async fn record(
    state: &IntakeState,
    ctx: &QrContext,
    report: &ValidReport,
    channel: Channel,
    attachments: &[AttachmentRef],
) -> Result<Submitted, ApiError> {
    let now = Utc::now();
    let id = ReportId::new();
    let mut tx = state.db.tenant(ctx.tenant.id).await?;
    let number = tracking::next(
        &mut tx,
        &ctx.tenant.tracking_prefix()?,
        ctx.tenant.zone(),
        now,
    )
    .await?;
    let (secret, secret_hash) = tracking::new_secret()?;
    let sealed_phone = report
        .contact_phone
        .as_ref()
        .map(|p| state.config.pii_key.seal(p.expose()))
        .transpose()
        .map_err(ApiError::internal)?;
    sqlx::query(
        "INSERT INTO intake.reports (id, tenant_id, tracking_number, status_secret_hash, qr_code_id, \
             grid_node_id, category, description, contact_name, contact_phone_sealed, contact_phone_last4, \
             lat, lng, channel, status, submitted_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16)",
    )
    .bind(id.as_uuid())
    .bind(ctx.tenant.id.as_uuid())
    .bind(number.to_string())
    .bind(&secret_hash)
    .bind(ctx.qr_code_id.as_uuid())
    .bind(ctx.node.id.as_uuid())
    .bind(&report.category)
    .bind(&report.description)
    .bind(&report.contact_name)
    .bind(&sealed_phone)
    .bind(report.contact_phone.as_ref().map(|p| p.last_four().to_owned()))
    .bind(report.location.map(|l| l.lat))
    .bind(report.location.map(|l| l.lng))
    .bind(channel.as_str())
    .bind(ReportStatus::Submitted.as_str())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    for a in attachments {
        sqlx::query(
            "INSERT INTO intake.attachments (id, tenant_id, report_id, kind, content_type, size, blob_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(a.id.as_uuid())
        .bind(ctx.tenant.id.as_uuid())
        .bind(id.as_uuid())
        .bind(a.kind.as_str())
        .bind(&a.content_type)
        .bind(i64::try_from(a.size).unwrap_or(i64::MAX))
        .bind(&a.key)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        "INSERT INTO intake.report_steps (tenant_id, report_id, status, occurred_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(ctx.tenant.id.as_uuid())
    .bind(id.as_uuid())
    .bind(ReportStatus::Submitted.as_str())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO intake.tracking_numbers (tracking_number, tenant_id, report_id) VALUES ($1, $2, $3)",
    )
    .bind(number.to_string())
    .bind(ctx.tenant.id.as_uuid())
    .bind(id.as_uuid())
    .execute(&mut *tx)
    .await?;
    let event = ReportSubmitted {
        report_id: id,
        tracking_number: number.to_string(),
        qr_code_id: Some(ctx.qr_code_id),
        grid_node_id: ctx.node.id,
        category: report.category.clone(),
        description: report.description.clone(),
        contact_phone_masked: report.contact_phone.as_ref().map(|p| p.masked()),
        location: report.location,
        attachments: attachments.to_vec(),
        channel,
        submitted_at: now,
    };
    outbox::record(&mut tx, Service::Intake, now, &event)
        .await
        .map_err(ApiError::internal)?;
    tx.commit().await?;
    metrics::counter!("mashang_reports_submitted_total", "channel" => channel.as_str())
        .increment(1);
    Ok(Submitted {
        id,
        tracking_number: number.to_string(),
        status_url: format!("{}/r/{}?s={}", state.config.public_url, number, secret),
    })
}
