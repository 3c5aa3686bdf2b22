//! Digests: the township centre's morning digest ([`township`]) and the county's
//! daily e-mail ([`county`]), made by notification's workers on every replica.
//!
//! Each digest is claimed by a row per township (or per county) and local day,
//! inserted in the same transaction as everything the digest writes (its notices and
//! its deliveries): the first pass to commit sends it, a second pass or a second
//! replica finds the row and does nothing, and a pass that dies leaves nothing
//! behind. See docs/decisions/0025-digests.md.
//!
//! Settings: `GET/PUT /api/v1/admin/digest` (`{"morning_at": "07:30", "active":
//! true}`) for the township's administrators; the county's mail server and digest time
//! in [`county`].

pub mod county;
pub mod township;

use std::time::Duration;

use axum::extract::State;
use chrono::{DateTime, NaiveTime, Utc};
use mashang_auth::Auth;
use mashang_http::{ApiError, ApiJson, FieldError};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::NotificationState;
use mashang_http::openapi::{JsonBodyErrors, NotFoundError, StaffErrors, Unavailable};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The event type of the morning digest, which a channel's `events` may name.
pub const MORNING_EVENT: &str = "digest.morning";
/// When a township's morning digest goes out unless it says otherwise.
pub const DEFAULT_MORNING_AT: &str = "07:30";
/// How often the workers look whether a digest is due.
const DIGEST_EVERY: Duration = Duration::from_secs(30);
/// How often the county's e-mails are sent.
const SEND_EVERY: Duration = Duration::from_secs(2);

pub(crate) fn routes() -> OpenApiRouter<NotificationState> {
    OpenApiRouter::new()
        .routes(routes!(show, update))
        .merge(county::routes())
}

/// Runs the digests and the county's sender until `shutdown`.
pub async fn run(state: NotificationState, shutdown: CancellationToken) {
    let mut last_digest: Option<tokio::time::Instant> = None;
    loop {
        if last_digest.is_none_or(|at| at.elapsed() >= DIGEST_EVERY) {
            last_digest = Some(tokio::time::Instant::now());
            let now = Utc::now();
            if let Err(err) = township::pass(&state, now).await {
                tracing::error!(error = format!("{err:#}"), "morning digest pass failed");
            }
            if let Err(err) = county::pass(&state, now).await {
                tracing::error!(error = format!("{err:#}"), "county digest pass failed");
            }
        }
        if let Err(err) = county::send_due(&state).await {
            tracing::error!(error = format!("{err:#}"), "county mail pass failed");
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(SEND_EVERY) => {}
        }
    }
}

/// `HH:MM`, 00:00 to 23:59.
pub(crate) fn parse_time(raw: &str) -> Option<NaiveTime> {
    let raw = raw.trim();
    (raw.len() == 5)
        .then(|| NaiveTime::parse_from_str(raw, "%H:%M").ok())
        .flatten()
}

/// The start of the local day before `now`'s, as an instant: "since yesterday".
pub(crate) fn since_yesterday(now: DateTime<Utc>, zone: chrono_tz::Tz) -> DateTime<Utc> {
    let local = now.with_timezone(&zone).date_naive() - chrono::Days::new(1);
    start_of(local, zone)
}

/// The first instant of `day` in `zone`.
pub(crate) fn start_of(day: chrono::NaiveDate, zone: chrono_tz::Tz) -> DateTime<Utc> {
    let midnight = day.and_time(NaiveTime::MIN);
    midnight
        .and_local_timezone(zone)
        .earliest()
        // A zone that skips midnight: an hour later exists.
        .or_else(|| {
            (midnight + chrono::Duration::hours(1))
                .and_local_timezone(zone)
                .earliest()
        })
        .map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc))
}

/// `GET /api/v1/admin/digest`: when the township's morning digest goes out.
#[utoipa::path(get, path = "/api/v1/admin/digest", tag = "notification", operation_id = "get_api_v1_admin_digest",
    summary = "晨报设置 (The township morning digest: time and whether it goes out)",
    responses(
        (status = 200, description = "设置 (The settings)", body = Object),
        StaffErrors,
        NotFoundError,
        Unavailable,
    ))]
async fn show(
    State(state): State<NotificationState>,
    Auth(principal): Auth,
) -> Result<ApiJson<Value>, ApiError> {
    let tenant = crate::channels::admin(&principal)?;
    let mut tx = state.db.tenant(tenant).await?;
    let (at, active) = township::settings(&mut tx).await?;
    tx.commit().await?;
    Ok(ApiJson(settings_json(at, active)))
}

fn settings_json(at: NaiveTime, active: bool) -> Value {
    json!({"morning_at": at.format("%H:%M").to_string(), "active": active})
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SettingsBody {
    /// `HH:MM`, the township own time.
    #[schema(max_length = 5, example = "07:30")]
    morning_at: Option<String>,
    active: Option<bool>,
}

/// `PUT /api/v1/admin/digest`: sets the time (`HH:MM`, the township's own time) and
/// whether it goes out; what is left out stays.
#[utoipa::path(put, path = "/api/v1/admin/digest", tag = "notification", operation_id = "put_api_v1_admin_digest",
    summary = "修改晨报设置 (Sets the morning digest time and whether it goes out)",
    request_body(content = SettingsBody, content_type = "application/json"),
    responses(
        (status = 200, description = "设置 (The settings)", body = Object),
        StaffErrors,
        NotFoundError,
        JsonBodyErrors,
        Unavailable,
    ))]
async fn update(
    State(state): State<NotificationState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<SettingsBody>,
) -> Result<ApiJson<Value>, ApiError> {
    let tenant = crate::channels::admin(&principal)?;
    let at = match body.morning_at.as_deref() {
        Some(raw) => Some(parse_time(raw).ok_or_else(|| {
            ApiError::Validation(vec![FieldError::new(
                "morning_at",
                "时间应为 HH:MM，如 07:30 (a time like 07:30)",
            )])
        })?),
        None => None,
    };
    let mut tx = state.db.tenant(tenant).await?;
    let (current, was_active) = township::settings(&mut tx).await?;
    let at = at.unwrap_or(current);
    let active = body.active.unwrap_or(was_active);
    write_settings(&mut tx, at, active).await?;
    tx.commit().await?;
    Ok(ApiJson(settings_json(at, active)))
}

/// Stores when the township's morning digest goes out, and whether it does.
pub(crate) async fn write_settings(
    tx: &mut mashang_db::TenantTx,
    at: NaiveTime,
    active: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO notification.digest_settings (tenant_id, morning_at, active) VALUES ($1, $2, $3) \
         ON CONFLICT (tenant_id) DO UPDATE SET morning_at = $2, active = $3, updated_at = now()",
    )
    .bind(tx.tenant().as_uuid())
    .bind(at)
    .bind(active)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_days_read_in_the_townships_zone() {
        assert_eq!(parse_time("07:30"), NaiveTime::from_hms_opt(7, 30, 0));
        for bad in ["7:30", "24:00", "07:60", "0730", "", "07:30:00"] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
        let zone = chrono_tz::Asia::Shanghai;
        // 2026-12-05 01:00 in Shanghai is 2026-12-04 17:00 UTC.
        let now = "2026-12-04T17:00:00Z"
            .parse::<DateTime<Utc>>()
            .expect("a time");
        assert_eq!(
            since_yesterday(now, zone),
            "2026-12-03T16:00:00Z"
                .parse::<DateTime<Utc>>()
                .expect("a time")
        );
    }
}
