//! A report's public status, reached by the status link's secret, or by tracking
//! number plus the last four digits of the phone given (throttled against guessing).

use chrono::{DateTime, Duration, Utc};
use mashang_db::{Db, TenantTx};
use mashang_domain::report::ReportStatus;
use mashang_domain::{CaseId, ReportId, TenantId, TrackingNumber};
use mashang_http::ApiError;
use serde::Serialize;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::tracking::secret_matches;

/// Failed phone-digit look-ups allowed per tracking number, and per address, per hour.
const LOOKUPS_PER_NUMBER: i64 = 5;
const LOOKUPS_PER_ADDRESS: i64 = 20;

/// How the citizen proves the report is theirs.
#[derive(Clone, Copy, Debug)]
pub enum Access<'a> {
    /// The secret of the status link.
    Secret(&'a str),
    /// The last four digits of the phone given, from this client address.
    Phone4 {
        /// The digits.
        digits: &'a str,
        /// The client's address, for throttling.
        address: &'a str,
    },
}

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
    /// The citizen's rating, once given.
    pub rating: Option<RatingView>,
    /// Whether the rating questions may be answered now.
    pub can_rate: bool,
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

/// A rating as the citizen gave it.
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct RatingView {
    /// Was it resolved?
    pub resolved: bool,
    /// How satisfied.
    pub satisfaction: String,
    /// The comment.
    pub comment: Option<String>,
    /// When.
    pub rated_at: DateTime<Utc>,
}

/// The report behind a verified access, for the rating.
#[derive(Clone, Debug)]
pub struct Owned {
    /// Tenant.
    pub tenant: TenantId,
    /// Report.
    pub report: ReportId,
    /// Its case, once routing made one.
    pub case: Option<CaseId>,
    /// Status.
    pub status: ReportStatus,
    /// Tracking number.
    pub tracking_number: String,
}

async fn failures(db: &Db, number: &str, address: &str) -> Result<(i64, i64), ApiError> {
    let mut tx = db.global().await?;
    let since = Utc::now() - Duration::hours(1);
    let (by_number,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM intake.lookup_failures WHERE tracking_number = $1 AND failed_at > $2",
    )
    .bind(number)
    .bind(since)
    .fetch_one(&mut *tx)
    .await?;
    let (by_address,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM intake.lookup_failures WHERE address = $1 AND failed_at > $2",
    )
    .bind(address)
    .bind(since)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((by_number, by_address))
}

async fn record_failure(db: &Db, number: &str, address: &str) -> Result<(), ApiError> {
    let mut tx = db.global().await?;
    sqlx::query("INSERT INTO intake.lookup_failures (tracking_number, address) VALUES ($1, $2)")
        .bind(number)
        .bind(address)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM intake.lookup_failures WHERE failed_at < now() - interval '1 day'")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Secret hash, phone digits, status and case of a report.
type AccessRow = (Vec<u8>, Option<String>, String, Option<Uuid>);

/// Verifies the access and opens the report's tenant transaction. Anything wrong is
/// "not found", so numbers cannot be probed; phone-digit guesses are throttled.
pub async fn open(
    db: &Db,
    tracking_number: &str,
    access: Access<'_>,
) -> Result<(TenantTx, Owned), ApiError> {
    let number: TrackingNumber = tracking_number.parse().map_err(|_| ApiError::NotFound)?;
    let number = number.to_string();
    if let Access::Phone4 { address, .. } = access {
        let (by_number, by_address) = failures(db, &number, address).await?;
        if by_number >= LOOKUPS_PER_NUMBER || by_address >= LOOKUPS_PER_ADDRESS {
            return Err(ApiError::TooManyRequests {
                retry_after: Some(3600),
            });
        }
    }
    let refuse = async || -> Result<(TenantTx, Owned), ApiError> {
        if let Access::Phone4 { address, .. } = access {
            record_failure(db, &number, address).await?;
        }
        Err(ApiError::NotFound)
    };
    let mut global = db.global().await?;
    let found: Option<(Uuid, Uuid)> = sqlx::query_as(
        "SELECT tenant_id, report_id FROM intake.tracking_numbers WHERE tracking_number = $1",
    )
    .bind(&number)
    .fetch_optional(&mut *global)
    .await?;
    global.commit().await?;
    let Some((tenant, report)) = found else {
        return refuse().await;
    };
    let mut tx = db.tenant(TenantId::from_uuid(tenant)).await?;
    let row: Option<AccessRow> = sqlx::query_as(
        "SELECT status_secret_hash, contact_phone_last4, status, case_id FROM intake.reports WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(report)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((hash, last4, status, case)) = row else {
        return refuse().await;
    };
    let granted = match access {
        Access::Secret(secret) => secret_matches(secret, &hash),
        Access::Phone4 { digits, .. } => {
            digits.len() == 4
                && last4.is_some_and(|l| bool::from(l.as_bytes().ct_eq(digits.as_bytes())))
        }
    };
    if !granted {
        drop(tx);
        return refuse().await;
    }
    let status = ReportStatus::parse(&status)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("stored report status {status:?}")))?;
    Ok((
        tx,
        Owned {
            tenant: TenantId::from_uuid(tenant),
            report: ReportId::from_uuid(report),
            case: case.map(CaseId::from_uuid),
            status,
            tracking_number: number,
        },
    ))
}

/// Whether a report in `status` may be rated now.
pub fn rateable(status: ReportStatus) -> bool {
    matches!(
        status,
        ReportStatus::Resolved | ReportStatus::FollowedUp | ReportStatus::Closed
    )
}

/// Loads the public status of a report the citizen proved is theirs.
pub async fn load(
    db: &Db,
    tracking_number: &str,
    access: Access<'_>,
) -> Result<PublicStatus, ApiError> {
    let (mut tx, owned) = open(db, tracking_number, access).await?;
    let (category, submitted_at): (String, DateTime<Utc>) = sqlx::query_as(
        "SELECT category, submitted_at FROM intake.reports WHERE tenant_id = $1 AND id = $2",
    )
    .bind(owned.tenant.as_uuid())
    .bind(owned.report.as_uuid())
    .fetch_one(&mut *tx)
    .await?;
    let steps: Vec<(String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT status, occurred_at FROM intake.report_steps WHERE tenant_id = $1 AND report_id = $2 ORDER BY occurred_at, status",
    )
    .bind(owned.tenant.as_uuid())
    .bind(owned.report.as_uuid())
    .fetch_all(&mut *tx)
    .await?;
    let rating: Option<RatingView> = sqlx::query_as(
        "SELECT resolved, satisfaction, comment, rated_at FROM intake.ratings WHERE tenant_id = $1 AND report_id = $2",
    )
    .bind(owned.tenant.as_uuid())
    .bind(owned.report.as_uuid())
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    let status = owned.status;
    Ok(PublicStatus {
        tracking_number: owned.tracking_number,
        status,
        status_label: status.label_zh(),
        status_label_en: status.label_en(),
        category,
        submitted_at,
        can_rate: rating.is_none() && rateable(status),
        rating,
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
