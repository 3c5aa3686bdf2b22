//! Accepting a report: inline files are cleaned and stored under the tenant's prefix,
//! then in one transaction the report, its attachments (inline and uploaded ahead),
//! its first status step, its tracking-number lookup, the idempotency record and the
//! `report.submitted` event. If the transaction fails, the inline files are removed.

use chrono::{DateTime, Utc};
use mashang_bus::{Service, outbox};
use mashang_db::TenantTx;
use mashang_domain::events::ReportSubmitted;
use mashang_domain::report::{Channel, FLAG_UNPLACED, ReportStatus};
use mashang_domain::{ReportId, UserId};
use mashang_http::ApiError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::IntakeState;
use crate::attachments::{self, Stored};
use crate::form::ValidReport;
use crate::qr::QrContext;
use crate::tracking;

/// Reports from one QR code in one local day beyond which new ones are flagged
/// `burst` (kept and routed, never dropped: an emergency brings many reports).
pub const BURST_PER_DAY: i64 = 30;

/// What the citizen gets back.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Submitted {
    /// The report's id.
    pub id: ReportId,
    /// What to quote.
    pub tracking_number: String,
    /// The status page, carrying its secret: needs nothing else to open.
    pub status_url: String,
    /// Whether a phone number was given (the page then promises a call back).
    pub phone_given: bool,
}

/// How a report came in.
#[derive(Clone, Copy, Debug)]
pub struct Origin<'a> {
    /// `qr`, or `assisted` (a signed-in worker files for a villager).
    pub channel: Channel,
    /// The worker, for assisted reports.
    pub staff: Option<UserId>,
    /// The client's `Idempotency-Key`, if it sent one.
    pub idempotency_key: Option<&'a str>,
    /// What an Open311 request carries beyond the report, recorded with it.
    pub api: Option<&'a crate::open311::ApiFiling>,
}

impl Origin<'static> {
    /// A citizen's report through the QR code's form, without an idempotency key.
    pub const QR: Self = Self {
        channel: Channel::Qr,
        staff: None,
        idempotency_key: None,
        api: None,
    };
}

/// Stores a valid report received through `ctx`'s QR code. A retry with the same
/// idempotency key and the same report gets the first answer again; with a different
/// report, a 422.
#[tracing::instrument(skip_all, fields(tenant_id = %ctx.tenant.id))]
pub async fn submit(
    state: &IntakeState,
    ctx: &QrContext,
    mut report: ValidReport,
    origin: Origin<'_>,
) -> Result<Submitted, ApiError> {
    if !ctx.categories.iter().any(|c| c.code == report.category) {
        return Err(ApiError::field(
            "category",
            "该类别不存在或已停用 (unknown or inactive category)",
        ));
    }
    if let Some(code) = ctx.qr_code_id {
        state.limits.check_code(code)?;
    }
    if let Some(key) = origin.idempotency_key
        && (key.is_empty() || key.len() > 100 || !key.is_ascii())
    {
        return Err(ApiError::field(
            "Idempotency-Key",
            "1到100个ASCII字符 (1 to 100 ASCII characters)",
        ));
    }
    let request_hash = fingerprint(&report, origin);
    crate::limits::count_uploads(
        &state.db,
        &state.config.limits,
        ctx,
        report.files.len(),
        report.files.iter().map(|f| f.size()).sum(),
    )
    .await?;
    let mut inline = Vec::with_capacity(report.files.len());
    for file in std::mem::take(&mut report.files) {
        match attachments::store(state.blobs.as_ref(), ctx, file).await {
            Ok(stored) => inline.push(stored),
            Err(err) => {
                attachments::remove_blobs(state.blobs.as_ref(), &inline).await;
                return Err(err);
            }
        }
    }
    match record(state, ctx, &report, origin, &request_hash, &inline).await {
        Ok(Outcome::New(done)) => Ok(done),
        Ok(Outcome::Replayed(done)) => {
            attachments::remove_blobs(state.blobs.as_ref(), &inline).await;
            Ok(done)
        }
        Err(err) => {
            attachments::remove_blobs(state.blobs.as_ref(), &inline).await;
            Err(err)
        }
    }
}

/// What identifies "the same report" for an idempotent retry.
fn fingerprint(report: &ValidReport, origin: Origin<'_>) -> Vec<u8> {
    let mut h = Sha256::new();
    for part in [
        report.qr_token.as_str(),
        report.category.as_str(),
        report.description.as_str(),
        report.contact_name.as_deref().unwrap_or(""),
        report
            .contact_phone
            .as_ref()
            .map(|p| p.expose())
            .unwrap_or(""),
        origin.channel.as_str(),
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    if let Some(l) = report.location {
        h.update(l.lat.to_le_bytes());
        h.update(l.lng.to_le_bytes());
    }
    for id in &report.attachment_ids {
        h.update(id.as_uuid().as_bytes());
    }
    for f in &report.files {
        h.update(f.size().to_le_bytes());
    }
    h.finalize().to_vec()
}

enum Outcome {
    New(Submitted),
    Replayed(Submitted),
}

/// Takes the idempotency key inside the transaction. A concurrent twin blocks on the
/// key until this transaction ends, then finds the answer.
async fn take_key(
    tx: &mut TenantTx,
    state: &IntakeState,
    key: &str,
    hash: &[u8],
) -> Result<Option<Submitted>, ApiError> {
    let taken = sqlx::query(
        "INSERT INTO intake.idempotency_keys (tenant_id, key, request_hash) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(tx.tenant().as_uuid())
    .bind(key)
    .bind(hash)
    .execute(&mut **tx)
    .await?;
    if taken.rows_affected() == 1 {
        return Ok(None);
    }
    let (stored_hash, sealed): (Vec<u8>, Option<Vec<u8>>) = sqlx::query_as(
        "SELECT request_hash, response_sealed FROM intake.idempotency_keys WHERE tenant_id = $1 AND key = $2",
    )
    .bind(tx.tenant().as_uuid())
    .bind(key)
    .fetch_one(&mut **tx)
    .await?;
    if stored_hash != hash {
        return Err(ApiError::field(
            "Idempotency-Key",
            "此编号已用于另一份反映 (this key was used for a different report)",
        ));
    }
    let sealed = sealed
        .ok_or_else(|| ApiError::Conflict("the first submission is still in progress".into()))?;
    first_answer(state, &sealed).map(Some)
}

/// The first answer to a key, as sealed in its row.
fn first_answer(state: &IntakeState, sealed: &[u8]) -> Result<Submitted, ApiError> {
    let text = state
        .config
        .pii_key
        .open(sealed)
        .map_err(ApiError::internal)?;
    serde_json::from_str(&text).map_err(ApiError::internal)
}

/// The answer already given to `key`, if its submission finished; a 422 if the key
/// was used for a different report.
async fn answered(
    state: &IntakeState,
    ctx: &QrContext,
    key: &str,
    hash: &[u8],
) -> Result<Option<Submitted>, ApiError> {
    let mut tx = state.db.tenant(ctx.tenant.id).await?;
    let found: Option<(Vec<u8>, Option<Vec<u8>>)> = sqlx::query_as(
        "SELECT request_hash, response_sealed FROM intake.idempotency_keys WHERE tenant_id = $1 AND key = $2",
    )
    .bind(tx.tenant().as_uuid())
    .bind(key)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    match found {
        Some((stored_hash, _)) if stored_hash != hash => Err(ApiError::field(
            "Idempotency-Key",
            "此编号已用于另一份反映 (this key was used for a different report)",
        )),
        Some((_, Some(sealed))) => first_answer(state, &sealed).map(Some),
        _ => Ok(None),
    }
}

async fn record(
    state: &IntakeState,
    ctx: &QrContext,
    report: &ValidReport,
    origin: Origin<'_>,
    request_hash: &[u8],
    inline: &[Stored],
) -> Result<Outcome, ApiError> {
    let now = Utc::now();
    let id = ReportId::new();
    // A retry of a finished submission is answered before a tracking number is taken,
    // so retries leave no gaps (a twin still in flight is settled by `take_key`).
    if let Some(key) = origin.idempotency_key
        && let Some(first) = answered(state, ctx, key, request_hash).await?
    {
        return Ok(Outcome::Replayed(first));
    }
    let number = tracking::take(
        &state.db,
        ctx.tenant.id,
        &ctx.tenant.tracking_prefix()?,
        ctx.tenant.zone(),
        now,
    )
    .await?;
    let mut tx = state.db.tenant(ctx.tenant.id).await?;
    if let Some(key) = origin.idempotency_key
        && let Some(first) = take_key(&mut tx, state, key, request_hash).await?
    {
        return Ok(Outcome::Replayed(first));
    }
    let claimed = attachments::lock_unclaimed(&mut tx, ctx, &report.attachment_ids).await?;
    let photos = inline
        .iter()
        .chain(&claimed)
        .filter(|a| a.kind == mashang_domain::events::AttachmentKind::Photo)
        .count();
    if photos > crate::MAX_PHOTOS
        || inline.len() + claimed.len() > crate::MAX_PHOTOS + crate::MAX_VOICE
    {
        return Err(ApiError::field(
            "photo",
            format!(
                "最多{}张照片 (at most {} photos)",
                crate::MAX_PHOTOS,
                crate::MAX_PHOTOS
            ),
        ));
    }
    // The browser's location if given; else, with the citizen's leave, a photo's.
    let location = report.location.or_else(|| {
        report
            .share_location
            .then(|| inline.iter().chain(&claimed).find_map(|a| a.gps))
            .flatten()
            .map(|(lat, lng)| mashang_domain::events::GeoPoint { lat, lng })
    });
    let (secret, secret_hash) = tracking::new_secret()?;
    // Bound to its township and row: the sealed value opens nowhere else.
    let sealed_phone = report
        .contact_phone
        .as_ref()
        .map(|p| {
            state.config.pii_key.seal_bound(
                p.expose(),
                ctx.tenant.id.as_uuid(),
                id.as_uuid(),
                "contact_phone",
            )
        })
        .transpose()
        .map_err(ApiError::internal)?;
    // The report and its burst count in one statement: the count is of the code's
    // reports before this one, one past the cap, to tell the first flagged report of
    // the day from the rest.
    let (today,): (i64,) = sqlx::query_as(INSERT_REPORT)
        .bind(ctx.tenant.id.as_uuid())
        .bind(ctx.qr_code_id.map(|c| c.as_uuid()))
        .bind(local_midnight(ctx, now))
        .bind(BURST_PER_DAY + 1)
        .bind(id.as_uuid())
        .bind(number.to_string())
        .bind(&secret_hash)
        .bind(ctx.node.id.as_uuid())
        .bind(&report.category)
        .bind(&report.description)
        .bind(&report.contact_name)
        .bind(&sealed_phone)
        .bind(
            report
                .contact_phone
                .as_ref()
                .map(|p| p.last_four().to_owned()),
        )
        .bind(location.map(|l| l.lat))
        .bind(location.map(|l| l.lng))
        .bind(origin.channel.as_str())
        .bind(ReportStatus::Submitted.as_str())
        .bind(now)
        .bind(origin.staff.map(|s| s.as_uuid()))
        .bind(BURST_PER_DAY)
        .fetch_one(&mut *tx)
        .await?;
    // Rare, so kept out of the one-statement insert above.
    if report.sms_consent && report.contact_phone.is_some() {
        sqlx::query(
            "UPDATE intake.reports SET sms_consent = true WHERE tenant_id = $1 AND id = $2",
        )
        .bind(ctx.tenant.id.as_uuid())
        .bind(id.as_uuid())
        .execute(&mut *tx)
        .await?;
    }
    let mut flags = burst_flags(ctx, today);
    if let Some(filing) = origin.api {
        crate::open311::record(&mut tx, &state.config.pii_key, id, filing).await?;
        // No grid area to place it in: the township centre dispatches it.
        if ctx.node.kind == "township" {
            flags.push(FLAG_UNPLACED.to_owned());
            sqlx::query(
                "UPDATE intake.reports SET flags = array_append(flags, $3) WHERE tenant_id = $1 AND id = $2",
            )
            .bind(ctx.tenant.id.as_uuid())
            .bind(id.as_uuid())
            .bind(FLAG_UNPLACED)
            .execute(&mut *tx)
            .await?;
        }
    }
    for stored in inline {
        attachments::record(&mut tx, ctx, stored, Some(id)).await?;
    }
    attachments::attach(&mut tx, id, &claimed).await?;
    sqlx::query("INSERT INTO intake.report_steps (tenant_id, report_id, status, occurred_at) VALUES ($1, $2, $3, $4)")
        .bind(ctx.tenant.id.as_uuid())
        .bind(id.as_uuid())
        .bind(ReportStatus::Submitted.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO intake.tracking_numbers (tracking_number, tenant_id, report_id) VALUES ($1, $2, $3)")
        .bind(number.to_string())
        .bind(ctx.tenant.id.as_uuid())
        .bind(id.as_uuid())
        .execute(&mut *tx)
        .await?;
    let event = ReportSubmitted {
        report_id: id,
        tracking_number: number.to_string(),
        qr_code_id: ctx.qr_code_id,
        grid_node_id: ctx.node.id,
        category: report.category.clone(),
        description: report.description.clone(),
        flags: flags.clone(),
        location,
        attachments: inline
            .iter()
            .chain(&claimed)
            .map(Stored::reference)
            .collect(),
        channel: origin.channel,
        submitted_at: now,
    };
    outbox::record(&mut tx, Service::Intake, now, &event)
        .await
        .map_err(ApiError::internal)?;
    let done = Submitted {
        id,
        tracking_number: number.to_string(),
        status_url: format!("{}/r/{}?s={}", state.config.public_url, number, secret),
        phone_given: report.contact_phone.is_some(),
    };
    if let Some(key) = origin.idempotency_key {
        let sealed = state
            .config
            .pii_key
            .seal(&serde_json::to_string(&done).map_err(ApiError::internal)?)
            .map_err(ApiError::internal)?;
        sqlx::query(
            "UPDATE intake.idempotency_keys SET report_id = $3, response_sealed = $4 WHERE tenant_id = $1 AND key = $2",
        )
        .bind(ctx.tenant.id.as_uuid())
        .bind(key)
        .bind(id.as_uuid())
        .bind(sealed)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    metrics::counter!("mashang_reports_submitted_total", "channel" => origin.channel.as_str())
        .increment(1);
    Ok(Outcome::New(done))
}

/// The text of [`BURST_COUNT`], shared with [`INSERT_REPORT`].
macro_rules! burst_count {
    () => {
        "SELECT count(*) AS n FROM (SELECT 1 FROM intake.reports \
         WHERE tenant_id = $1 AND qr_code_id = $2 AND submitted_at >= $3 \
         ORDER BY submitted_at DESC LIMIT $4) AS recent"
    };
}

/// How many reports a QR code (`$2`, of tenant `$1`) has had since `$3`, counted up to
/// `$4`: a busy code's day costs no more than a quiet one's. The count walks the code's
/// newest entries down `reports_code_day` and stops at the cap; the `ORDER BY` keeps
/// the planner on that index whatever the statistics say (when every row seems to
/// match, a scan of the table that stops after `$4` rows looks just as cheap, and
/// reads the whole table for a code with few reports).
pub const BURST_COUNT: &str = burst_count!();

/// A report, with `burst` among its flags when its code's count of the day (the
/// [`BURST_COUNT`] of `$1`–`$4`) has reached `$20`; returns that count. `$5`… are the
/// report's own values.
const INSERT_REPORT: &str = concat!(
    "WITH today AS (",
    burst_count!(),
    ") INSERT INTO intake.reports (id, tenant_id, tracking_number, status_secret_hash, qr_code_id, \
         grid_node_id, category, description, contact_name, contact_phone_sealed, contact_phone_last4, \
         lat, lng, channel, status, submitted_at, updated_at, flags, submitted_by) \
     SELECT $5, $1, $6, $7, $2, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18, \
         CASE WHEN today.n >= $20 THEN ARRAY['burst'] ELSE '{}'::text[] END, $19 \
     FROM today RETURNING (SELECT n FROM today)"
);

/// The start of the tenant's local day of `now`, when the burst count starts.
fn local_midnight(ctx: &QrContext, now: DateTime<Utc>) -> DateTime<Utc> {
    now.with_timezone(&ctx.tenant.zone())
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .and_then(|m| m.and_local_timezone(ctx.tenant.zone()).earliest())
        .map(|m| m.with_timezone(&Utc))
        .unwrap_or(now)
}

/// `["burst"]` when the code had [`BURST_PER_DAY`] reports or more today before this
/// one (`today`, counted one past the cap).
fn burst_flags(ctx: &QrContext, today: i64) -> Vec<String> {
    if today < BURST_PER_DAY {
        return Vec::new();
    }
    // Said once per code and day (an emergency may bring hundreds); the counter counts
    // every one.
    if today == BURST_PER_DAY {
        tracing::warn!(qr_code_id = ?ctx.qr_code_id, today, "many reports from one QR code today; this and later ones are flagged, not dropped");
    }
    metrics::counter!("mashang_reports_flagged_total", "flag" => "burst").increment(1);
    vec!["burst".to_owned()]
}
