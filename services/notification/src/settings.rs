//! Who is told how, and when: a township's settings (`GET/PUT
//! /api/v1/admin/channels/settings`: after how many minutes an unanswered new case
//! also goes by SMS, and the default quiet hours) and each person's own (`GET/PUT
//! /api/v1/inbox/settings`: SMS on or off, their quiet hours). During quiet hours a
//! non-urgent SMS waits until they end; an urgent case's is sent at once. The in-app
//! notices always come.

use axum::extract::State;
use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use mashang_auth::Auth;
use mashang_db::TenantTx;
use mashang_domain::UserId;
use mashang_http::{ApiError, ApiJson, FieldError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::NotificationState;
use crate::channels::admin;
use mashang_http::openapi::{JsonBodyErrors, NotFoundError, StaffErrors, Unavailable};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn routes() -> OpenApiRouter<NotificationState> {
    OpenApiRouter::new()
        .routes(routes!(township_get, township_put))
        .routes(routes!(person_get, person_put))
}

/// A daily quiet period in local time; `from` after `until` spans midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quiet {
    pub from: NaiveTime,
    pub until: NaiveTime,
}

impl Quiet {
    /// Whether local time `t` falls in it.
    pub fn contains(self, t: NaiveTime) -> bool {
        if self.from <= self.until {
            self.from <= t && t < self.until
        } else {
            t >= self.from || t < self.until
        }
    }

    /// When the quiet period holding `at` ends (`at` itself when it is not quiet).
    pub fn ends(self, at: DateTime<Utc>, zone: chrono_tz::Tz) -> DateTime<Utc> {
        let local = at.with_timezone(&zone);
        if !self.contains(local.time()) {
            return at;
        }
        let mut day = local.date_naive();
        if self.from > self.until && local.time() >= self.from {
            day = day.succ_opt().unwrap_or(day);
        }
        zone.from_local_datetime(&day.and_time(self.until))
            .earliest()
            .map_or(at + Duration::hours(12), |t| t.with_timezone(&Utc))
    }
}

/// A quiet period as sent and shown: `{"from": "22:00", "until": "07:00"}`.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QuietHours {
    /// Start, `HH:MM`.
    #[schema(max_length = 5, example = "22:00")]
    pub from: String,
    /// End, `HH:MM` (not the same as `from`).
    #[schema(max_length = 5, example = "07:00")]
    pub until: String,
}

fn parse_quiet(q: &Option<QuietHours>, errors: &mut Vec<FieldError>) -> Option<Quiet> {
    let q = q.as_ref()?;
    let time = |raw: &str| NaiveTime::parse_from_str(raw.trim(), "%H:%M").ok();
    match (time(&q.from), time(&q.until)) {
        (Some(from), Some(until)) if from != until => Some(Quiet { from, until }),
        _ => {
            errors.push(FieldError::new(
                "quiet_hours",
                "时间格式为 22:00，开始和结束不能相同 (times like 22:00, start and end differ)",
            ));
            None
        }
    }
}

fn shown(from: Option<NaiveTime>, until: Option<NaiveTime>) -> Value {
    match (from, until) {
        (Some(f), Some(u)) => {
            json!({"from": f.format("%H:%M").to_string(), "until": u.format("%H:%M").to_string()})
        }
        _ => Value::Null,
    }
}

/// A township's settings.
#[derive(Clone, Copy, Debug, Default)]
pub struct Township {
    pub sms_fallback_minutes: Option<i32>,
    pub quiet: Option<Quiet>,
}

/// Reads the township's settings (defaults when never set).
pub async fn township(tx: &mut TenantTx) -> Result<Township, sqlx::Error> {
    let row: Option<(Option<i32>, Option<NaiveTime>, Option<NaiveTime>)> = sqlx::query_as(
        "SELECT sms_fallback_minutes, quiet_from, quiet_until FROM notification.settings WHERE tenant_id = $1",
    )
    .bind(tx.tenant().as_uuid())
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map_or_else(Township::default, |(m, f, u)| Township {
        sms_fallback_minutes: m,
        quiet: f.zip(u).map(|(from, until)| Quiet { from, until }),
    }))
}

/// A person's settings: SMS wanted, and their quiet hours (else the township's).
pub async fn person(
    tx: &mut TenantTx,
    user: Uuid,
    township: &Township,
) -> Result<(bool, Option<Quiet>), sqlx::Error> {
    let row: Option<(bool, Option<NaiveTime>, Option<NaiveTime>)> = sqlx::query_as(
        "SELECT sms, quiet_from, quiet_until FROM notification.person_settings WHERE tenant_id = $1 AND user_id = $2",
    )
    .bind(tx.tenant().as_uuid())
    .bind(user)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(match row {
        Some((sms, f, u)) => (
            sms,
            f.zip(u)
                .map(|(from, until)| Quiet { from, until })
                .or(township.quiet),
        ),
        None => (true, township.quiet),
    })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct TownshipBody {
    /// Minutes an unread in-app notice waits before an SMS is sent instead.
    sms_fallback_minutes: Option<i32>,
    quiet_hours: Option<QuietHours>,
}

#[utoipa::path(get, path = "/api/v1/admin/channels/settings", tag = "notification", operation_id = "get_api_v1_admin_channels_settings",
    summary = "乡镇发送设置 (The township SMS fallback and quiet hours)",
    responses(
        (status = 200, description = "设置 (The settings)", body = Object),
        StaffErrors,
        NotFoundError,
        Unavailable,
    ))]
async fn township_get(
    State(state): State<NotificationState>,
    Auth(principal): Auth,
) -> Result<ApiJson<Value>, ApiError> {
    let tenant = admin(&principal)?;
    let mut tx = state.db.tenant(tenant).await?;
    let t = township(&mut tx).await?;
    tx.commit().await?;
    Ok(ApiJson(json!({
        "sms_fallback_minutes": t.sms_fallback_minutes,
        "quiet_hours": shown(t.quiet.map(|q| q.from), t.quiet.map(|q| q.until)),
    })))
}

#[utoipa::path(put, path = "/api/v1/admin/channels/settings", tag = "notification", operation_id = "put_api_v1_admin_channels_settings",
    summary = "修改乡镇发送设置 (Sets the township SMS fallback and quiet hours)",
    request_body(content = TownshipBody, content_type = "application/json"),
    responses(
        (status = 200, description = "设置 (The settings)", body = Object),
        StaffErrors,
        NotFoundError,
        JsonBodyErrors,
        Unavailable,
    ))]
async fn township_put(
    State(state): State<NotificationState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<TownshipBody>,
) -> Result<ApiJson<Value>, ApiError> {
    let tenant = admin(&principal)?;
    let (minutes, quiet) = check_township(body.sms_fallback_minutes, &body.quiet_hours)
        .map_err(ApiError::Validation)?;
    let mut tx = state.db.tenant(tenant).await?;
    write_township(&mut tx, minutes, quiet).await?;
    tx.commit().await?;
    Ok(ApiJson(json!({
        "sms_fallback_minutes": minutes,
        "quiet_hours": shown(quiet.map(|q| q.from), quiet.map(|q| q.until)),
    })))
}

/// Checks a township's settings as sent (the API and the channels page).
pub(crate) fn check_township(
    sms_fallback_minutes: Option<i32>,
    quiet_hours: &Option<QuietHours>,
) -> Result<(Option<i32>, Option<Quiet>), Vec<FieldError>> {
    let mut errors = Vec::new();
    if sms_fallback_minutes.is_some_and(|m| !(1..=240).contains(&m)) {
        errors.push(FieldError::new(
            "sms_fallback_minutes",
            "1到240分钟，不填表示立即发短信 (1 to 240 minutes; leave out to send at once)",
        ));
    }
    let quiet = parse_quiet(quiet_hours, &mut errors);
    if errors.is_empty() {
        Ok((sms_fallback_minutes, quiet))
    } else {
        Err(errors)
    }
}

/// Stores a township's checked settings.
pub(crate) async fn write_township(
    tx: &mut TenantTx,
    sms_fallback_minutes: Option<i32>,
    quiet: Option<Quiet>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO notification.settings (tenant_id, sms_fallback_minutes, quiet_from, quiet_until) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id) DO UPDATE SET \
         sms_fallback_minutes = $2, quiet_from = $3, quiet_until = $4, updated_at = now()",
    )
    .bind(tx.tenant().as_uuid())
    .bind(sms_fallback_minutes)
    .bind(quiet.map(|q| q.from))
    .bind(quiet.map(|q| q.until))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn me(principal: &mashang_auth::Principal) -> Result<(mashang_domain::TenantId, UserId), ApiError> {
    let tenant = principal.require_tenant()?;
    let user = principal
        .user()
        .ok_or_else(|| ApiError::Forbidden("API tokens have no settings".to_owned()))?;
    Ok((tenant, user))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PersonBody {
    sms: Option<bool>,
    quiet_hours: Option<QuietHours>,
}

/// A person's own settings as stored: SMS wanted, their quiet hours (none: the
/// township's), and the township's quiet hours.
pub(crate) async fn load_person(
    state: &NotificationState,
    tenant: mashang_domain::TenantId,
    user: UserId,
) -> Result<(bool, Option<Quiet>, Option<Quiet>), ApiError> {
    let mut tx = state.db.tenant(tenant).await?;
    let row: Option<(bool, Option<NaiveTime>, Option<NaiveTime>)> = sqlx::query_as(
        "SELECT sms, quiet_from, quiet_until FROM notification.person_settings WHERE tenant_id = $1 AND user_id = $2",
    )
    .bind(tenant.as_uuid())
    .bind(user.as_uuid())
    .fetch_optional(&mut *tx)
    .await?;
    let t = township(&mut tx).await?;
    tx.commit().await?;
    let (sms, f, u) = row.unwrap_or((true, None, None));
    Ok((
        sms,
        f.zip(u).map(|(from, until)| Quiet { from, until }),
        t.quiet,
    ))
}

/// Saves a person's own settings (the page and the API).
pub(crate) async fn save_person(
    state: &NotificationState,
    tenant: mashang_domain::TenantId,
    user: UserId,
    sms: bool,
    quiet_hours: &Option<QuietHours>,
) -> Result<Option<Quiet>, ApiError> {
    let mut errors = Vec::new();
    let quiet = parse_quiet(quiet_hours, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let mut tx = state.db.tenant(tenant).await?;
    sqlx::query(
        "INSERT INTO notification.person_settings (tenant_id, user_id, sms, quiet_from, quiet_until) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, user_id) DO UPDATE SET \
         sms = $3, quiet_from = $4, quiet_until = $5, updated_at = now()",
    )
    .bind(tenant.as_uuid())
    .bind(user.as_uuid())
    .bind(sms)
    .bind(quiet.map(|q| q.from))
    .bind(quiet.map(|q| q.until))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(quiet)
}

#[utoipa::path(get, path = "/api/v1/inbox/settings", tag = "notification", operation_id = "get_api_v1_inbox_settings",
    summary = "本人通知设置 (The person SMS choice and quiet hours)",
    responses(
        (status = 200, description = "设置 (The settings)", body = Object),
        StaffErrors,
        NotFoundError,
        Unavailable,
    ))]
async fn person_get(
    State(state): State<NotificationState>,
    Auth(principal): Auth,
) -> Result<ApiJson<Value>, ApiError> {
    let (tenant, user) = me(&principal)?;
    let (sms, quiet, township) = load_person(&state, tenant, user).await?;
    Ok(ApiJson(json!({
        "sms": sms,
        "quiet_hours": shown(quiet.map(|q| q.from), quiet.map(|q| q.until)),
        "township_quiet_hours": shown(township.map(|q| q.from), township.map(|q| q.until)),
    })))
}

#[utoipa::path(put, path = "/api/v1/inbox/settings", tag = "notification", operation_id = "put_api_v1_inbox_settings",
    summary = "修改本人通知设置 (Sets the person SMS choice and quiet hours)",
    request_body(content = PersonBody, content_type = "application/json"),
    responses(
        (status = 200, description = "设置 (The settings)", body = Object),
        StaffErrors,
        NotFoundError,
        JsonBodyErrors,
        Unavailable,
    ))]
async fn person_put(
    State(state): State<NotificationState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<PersonBody>,
) -> Result<ApiJson<Value>, ApiError> {
    let (tenant, user) = me(&principal)?;
    let sms = body.sms.unwrap_or(true);
    let quiet = save_person(&state, tenant, user, sms, &body.quiet_hours).await?;
    Ok(ApiJson(
        json!({"sms": sms, "quiet_hours": shown(quiet.map(|q| q.from), quiet.map(|q| q.until))}),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveTime {
        NaiveTime::parse_from_str(s, "%H:%M").expect("a time")
    }

    #[test]
    fn quiet_hours_span_midnight_and_end_in_the_morning() {
        let night = Quiet {
            from: t("22:00"),
            until: t("07:00"),
        };
        assert!(night.contains(t("23:30")) && night.contains(t("06:59")));
        assert!(!night.contains(t("07:00")) && !night.contains(t("12:00")));
        let zone = chrono_tz::Asia::Shanghai;
        // 23:30 on the 4th in Shanghai is 15:30 UTC; quiet ends at 07:00 on the 5th.
        let at: DateTime<Utc> = "2026-12-04T15:30:00Z".parse().expect("a time");
        assert_eq!(
            night.ends(at, zone).to_rfc3339(),
            "2026-12-04T23:00:00+00:00"
        );
        // 05:00 on the 5th: ends 07:00 the same day.
        let early: DateTime<Utc> = "2026-12-04T21:00:00Z".parse().expect("a time");
        assert_eq!(
            night.ends(early, zone).to_rfc3339(),
            "2026-12-04T23:00:00+00:00"
        );
        // Noon: not quiet.
        let noon: DateTime<Utc> = "2026-12-04T04:00:00Z".parse().expect("a time");
        assert_eq!(night.ends(noon, zone), noon);
        let lunch = Quiet {
            from: t("12:00"),
            until: t("14:00"),
        };
        assert!(lunch.contains(t("13:00")) && !lunch.contains(t("14:00")));
    }
}
