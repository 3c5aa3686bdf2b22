//! A report's public status, behind its tracking number and the link's secret.

use chrono::{DateTime, Utc};
use mashang_db::Db;
use mashang_domain::TenantId;
use mashang_domain::TrackingNumber;
use mashang_domain::report::ReportStatus;
use mashang_http::ApiError;
use serde::Serialize;
use uuid::Uuid;

use crate::tracking::secret_matches;

/// What the citizen sees of their report.
#[derive(Clone, Debug, Serialize)]
pub struct PublicStatus {
    /// The tracking number.
    pub tracking_number: String,
    /// Current status.
    pub status: ReportStatus,
    /// Its Chinese label.
    pub status_label: &'static str,
    /// Its English label.
    pub status_label_en: &'static str,
    /// Category code.
    pub category: String,
    /// When it was submitted.
    pub submitted_at: DateTime<Utc>,
    /// The citizen-facing steps so far, oldest first.
    pub steps: Vec<Step>,
}

/// One citizen-facing step.
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    /// The status reached.
    pub status: ReportStatus,
    /// Its Chinese label.
    pub label: &'static str,
    /// Its English label.
    pub label_en: &'static str,
    /// When.
    pub at: DateTime<Utc>,
}

/// Loads the status of `tracking_number` if `secret` is its link's secret; anything
/// else is "not found", so numbers cannot be probed.
pub async fn load(db: &Db, tracking_number: &str, secret: &str) -> Result<PublicStatus, ApiError> {
    let number: TrackingNumber = tracking_number.parse().map_err(|_| ApiError::NotFound)?;
    let mut global = db.global().await?;
    let found: Option<(Uuid, Uuid)> = sqlx::query_as(
        "SELECT tenant_id, report_id FROM intake.tracking_numbers WHERE tracking_number = $1",
    )
    .bind(number.to_string())
    .fetch_optional(&mut *global)
    .await?;
    global.commit().await?;
    let Some((tenant, report)) = found else {
        return Err(ApiError::NotFound);
    };
    let mut tx = db.tenant(TenantId::from_uuid(tenant)).await?;
    let row: Option<(Vec<u8>, String, String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT status_secret_hash, status, category, submitted_at FROM intake.reports \
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(report)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((hash, status, category, submitted_at)) = row else {
        return Err(ApiError::NotFound);
    };
    if !secret_matches(secret, &hash) {
        return Err(ApiError::NotFound);
    }
    let steps: Vec<(String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT status, occurred_at FROM intake.report_steps WHERE tenant_id = $1 AND report_id = $2 \
         ORDER BY occurred_at, status",
    )
    .bind(tenant)
    .bind(report)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let status = ReportStatus::parse(&status)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("stored report status {status:?}")))?;
    Ok(PublicStatus {
        tracking_number: number.to_string(),
        status,
        status_label: status.label_zh(),
        status_label_en: status.label_en(),
        category,
        submitted_at,
        steps: steps
            .into_iter()
            .filter_map(|(s, at)| {
                ReportStatus::parse(&s).map(|status| Step {
                    status,
                    label: status.label_zh(),
                    label_en: status.label_en(),
                    at,
                })
            })
            .collect(),
    })
}
