//! A report's public status, reached by the status link's secret, or by tracking
//! number plus the last four digits of the phone given (throttled against guessing).

use chrono::{DateTime, Utc};
use mashang_db::{Db, TenantTx};
use mashang_domain::report::ReportStatus;
use mashang_domain::{CaseId, ReportId, TenantId, TrackingNumber};
use mashang_http::ApiError;
use serde::Serialize;
use sqlx::PgConnection;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::tracking::secret_matches;

/// Phone-digit guesses allowed per tracking number, per hour and per 24 hours (of
/// 10⁴ possible values), and per client address. A right guess is given back.
const GUESSES_PER_NUMBER_PER_HOUR: i64 = 5;
const GUESSES_PER_NUMBER_PER_DAY: i64 = 10;
const GUESSES_PER_ADDRESS_PER_HOUR: i64 = 20;
const GUESSES_PER_ADDRESS_PER_DAY: i64 = 60;

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

/// One guess counted against `subject` (`number:…` or `address:…`) in the current
/// hour, in one statement: the hour's row is taken with an upsert, so concurrent
/// guesses are counted one after the other and none passes a limit sequential ones
/// hit. Returns the hour's count and the last 24 hours' count, this guess included.
async fn count_guess(tx: &mut PgConnection, subject: &str) -> Result<(i64, i64), ApiError> {
    let counts = sqlx::query_as(
        "WITH bump AS ( \
             INSERT INTO intake.lookup_guesses (subject, hour, guesses) \
             VALUES ($1, date_trunc('hour', now()), 1) \
             ON CONFLICT (subject, hour) DO UPDATE SET guesses = lookup_guesses.guesses + 1 \
             RETURNING guesses, hour) \
         SELECT bump.guesses::bigint, bump.guesses + coalesce(( \
             SELECT sum(g.guesses) FROM intake.lookup_guesses g \
             WHERE g.subject = $1 AND g.hour > bump.hour - interval '24 hours' \
               AND g.hour < bump.hour), 0)::bigint \
         FROM bump",
    )
    .bind(subject)
    .fetch_one(&mut *tx)
    .await?;
    Ok(counts)
}

/// Takes a guess for `number` from `address`; refused when either is over a limit,
/// whether or not the number exists.
async fn take_guess(db: &Db, number: &str, address: &str) -> Result<[String; 2], ApiError> {
    let subjects = [format!("number:{number}"), format!("address:{address}")];
    let mut tx = db.global().await?;
    let (number_hour, number_day) = count_guess(&mut tx, &subjects[0]).await?;
    let (address_hour, address_day) = count_guess(&mut tx, &subjects[1]).await?;
    tx.commit().await?;
    if number_hour > GUESSES_PER_NUMBER_PER_HOUR
        || number_day > GUESSES_PER_NUMBER_PER_DAY
        || address_hour > GUESSES_PER_ADDRESS_PER_HOUR
        || address_day > GUESSES_PER_ADDRESS_PER_DAY
    {
        metrics::counter!("mashang_rate_limited_total", "limit" => "phone_digits").increment(1);
        let hourly = number_hour > GUESSES_PER_NUMBER_PER_HOUR
            || address_hour > GUESSES_PER_ADDRESS_PER_HOUR;
        return Err(ApiError::TooManyRequests {
            retry_after: Some(if hourly { 3600 } else { 24 * 3600 }),
        });
    }
    Ok(subjects)
}

/// Gives a right guess back, so the citizen who knows the digits is not throttled by
/// coming back to the page.
async fn give_back(db: &Db, subjects: &[String; 2]) -> Result<(), ApiError> {
    let mut tx = db.global().await?;
    sqlx::query(
        "UPDATE intake.lookup_guesses SET guesses = greatest(guesses - 1, 0) \
         WHERE subject = ANY($1) AND hour = date_trunc('hour', now())",
    )
    .bind(&subjects[..])
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Secret hash, phone digits, status and case of a report.
type AccessRow = (Vec<u8>, Option<String>, String, Option<Uuid>);

/// Verifies the access and opens the report's tenant transaction. Anything wrong is
/// "not found", the same answer by the same path for a number that does not exist as
/// for a wrong proof, so numbers cannot be probed; phone-digit guesses are counted
/// before the number is even looked up.
pub async fn open(
    db: &Db,
    tracking_number: &str,
    access: Access<'_>,
) -> Result<(TenantTx, Owned), ApiError> {
    let number: TrackingNumber = tracking_number.parse().map_err(|_| ApiError::NotFound)?;
    let number = number.to_string();
    let guess = match access {
        Access::Phone4 { address, .. } => Some(take_guess(db, &number, address).await?),
        Access::Secret(_) => None,
    };
    let mut global = db.global().await?;
    let found: Option<(Uuid, Uuid)> = sqlx::query_as(
        "SELECT tenant_id, report_id FROM intake.tracking_numbers WHERE tracking_number = $1",
    )
    .bind(&number)
    .fetch_optional(&mut *global)
    .await?;
    global.commit().await?;
    // An unknown number is looked up in no tenant, with the same query, so it takes
    // about as long as a known one with a wrong proof.
    let (tenant, report) = found.unwrap_or((Uuid::nil(), Uuid::nil()));
    let mut tx = db.tenant(TenantId::from_uuid(tenant)).await?;
    let row: Option<AccessRow> = sqlx::query_as(
        "SELECT status_secret_hash, contact_phone_last4, status, case_id FROM intake.reports WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(report)
    .fetch_optional(&mut *tx)
    .await?;
    let (hash, last4, status, case) = row.unwrap_or_default();
    // Compared even when nothing was found, against nothing, for the same reason.
    let granted = match access {
        Access::Secret(secret) => secret_matches(secret, &hash),
        Access::Phone4 { digits, .. } => {
            let stored = last4.unwrap_or_default();
            digits.len() == 4
                && stored.len() == 4
                && bool::from(stored.as_bytes().ct_eq(digits.as_bytes()))
        }
    };
    if !granted || found.is_none() {
        return Err(ApiError::NotFound);
    }
    if let Some(subjects) = &guess {
        give_back(db, subjects).await?;
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
