//! The township's routing settings: triage, SLA policies, the working calendar (hours,
//! holidays, make-up days, published years, the holiday-cn import). Assignment rules
//! and people's duty and leave are in `assignment.rs`.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use chrono::NaiveDate;
use mashang_auth::Auth;
use mashang_auth::permissions::{Action, Target};
use mashang_domain::calendar::{DayHours, WeeklyHours, import_holiday_cn};
use mashang_domain::sla::SlaPolicy;
use mashang_http::{ApiError, ApiJson, FieldError};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{allow, tenant_tx};
use crate::RoutingState;

pub(super) fn routes() -> Router<RoutingState> {
    Router::new()
        .route(
            "/api/v1/admin/settings",
            get(get_settings).put(put_settings),
        )
        .route(
            "/api/v1/admin/sla-policies/{category}/{priority}",
            get(get_policy).put(put_policy),
        )
        .route(
            "/api/v1/admin/calendar",
            get(get_calendar).put(put_calendar),
        )
        .route(
            "/api/v1/admin/calendar/import",
            axum::routing::post(import_calendar),
        )
        .route(
            "/api/v1/admin/calendar/overrides/{day}",
            put(put_override).delete(delete_override),
        )
}

#[derive(Debug, Deserialize)]
struct Settings {
    triage_mode: Option<String>,
    reassign_on_breach: Option<bool>,
}

async fn read_settings(tx: &mut mashang_db::TenantTx) -> Result<Value, ApiError> {
    let row: Option<(String, bool)> = sqlx::query_as(
        "SELECT triage_mode, reassign_on_breach FROM routing.tenant_settings WHERE tenant_id = $1",
    )
    .bind(tx.tenant().as_uuid())
    .fetch_optional(&mut **tx)
    .await?;
    let (mode, reassign) = row.unwrap_or(("auto".to_owned(), false));
    Ok(json!({"triage_mode": mode, "reassign_on_breach": reassign}))
}

async fn get_settings(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
) -> Result<ApiJson<Value>, ApiError> {
    allow(&principal, Action::ConfigureRouting, Target::Township)?;
    let mut tx = tenant_tx(&state, &principal).await?;
    let out = read_settings(&mut tx).await?;
    tx.commit().await?;
    Ok(ApiJson(out))
}

async fn put_settings(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<Settings>,
) -> Result<ApiJson<Value>, ApiError> {
    allow(&principal, Action::ConfigureRouting, Target::Township)?;
    if body
        .triage_mode
        .as_deref()
        .is_some_and(|m| m != "auto" && m != "triage")
    {
        return Err(ApiError::field("triage_mode", "auto or triage"));
    }
    let mut tx = tenant_tx(&state, &principal).await?;
    sqlx::query(
        "INSERT INTO routing.tenant_settings (tenant_id, triage_mode, reassign_on_breach) VALUES ($1, coalesce($2, 'auto'), coalesce($3, false)) \
         ON CONFLICT (tenant_id) DO UPDATE SET triage_mode = coalesce($2, routing.tenant_settings.triage_mode), \
             reassign_on_breach = coalesce($3, routing.tenant_settings.reassign_on_breach), updated_at = now()",
    )
    .bind(tx.tenant().as_uuid())
    .bind(&body.triage_mode)
    .bind(body.reassign_on_breach)
    .execute(&mut *tx)
    .await?;
    let out = read_settings(&mut tx).await?;
    tx.commit().await?;
    Ok(ApiJson(out))
}

fn priority(raw: &str) -> Result<&str, ApiError> {
    match raw {
        "normal" | "urgent" => Ok(raw),
        _ => Err(ApiError::field("priority", "normal or urgent")),
    }
}

/// `GET /api/v1/admin/sla-policies/{category|*}/{priority}`: the policy in force.
async fn get_policy(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    Path((category, prio)): Path<(String, String)>,
) -> Result<ApiJson<SlaPolicy>, ApiError> {
    allow(&principal, Action::ConfigureRouting, Target::Township)?;
    let prio = priority(&prio)?;
    let mut tx = tenant_tx(&state, &principal).await?;
    let policy = crate::workflow::policy::pick(&mut tx, &category, prio)
        .await
        .map_err(ApiError::internal)?;
    tx.commit().await?;
    Ok(ApiJson(policy))
}

/// `PUT …`: sets the policy for new cases of that category (`*` for any) and priority.
/// Cases already open keep the policy they were created with.
async fn put_policy(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    Path((category, prio)): Path<(String, String)>,
    ApiJson(policy): ApiJson<SlaPolicy>,
) -> Result<ApiJson<SlaPolicy>, ApiError> {
    allow(&principal, Action::ConfigureRouting, Target::Township)?;
    let prio = priority(&prio)?;
    let mut tx = tenant_tx(&state, &principal).await?;
    if category != "*" {
        let known: Option<(String,)> = sqlx::query_as(
            "SELECT code FROM routing.categories WHERE tenant_id = $1 AND code = $2",
        )
        .bind(tx.tenant().as_uuid())
        .bind(&category)
        .fetch_optional(&mut *tx)
        .await?;
        if known.is_none() {
            return Err(ApiError::field("category", "未知类别 (unknown category)"));
        }
    }
    sqlx::query(
        "INSERT INTO routing.sla_policies (tenant_id, category, priority, policy) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (tenant_id, category, priority) DO UPDATE SET policy = $4, updated_at = now()",
    )
    .bind(tx.tenant().as_uuid())
    .bind(&category)
    .bind(prio)
    .bind(serde_json::to_value(&policy).map_err(ApiError::internal)?)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(ApiJson(policy))
}

/// The calendar as the API shows it.
async fn calendar_view(tx: &mut mashang_db::TenantTx) -> Result<Value, ApiError> {
    let calendar = crate::workflow::calendar::load(tx)
        .await
        .map_err(ApiError::internal)?;
    let overrides: Vec<Value> = calendar
        .overrides()
        .map(|(day, o)| json!({"day": day, "override": o}))
        .collect();
    Ok(json!({
        "time_zone": calendar.zone().name(),
        "weekly": calendar.weekly(),
        "published_years": calendar.published_years().collect::<Vec<_>>(),
        "standard_day_minutes": calendar.standard_day_minutes(),
        "overrides": overrides,
    }))
}

async fn get_calendar(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
) -> Result<ApiJson<Value>, ApiError> {
    allow(&principal, Action::ConfigureRouting, Target::Township)?;
    let mut tx = tenant_tx(&state, &principal).await?;
    let out = calendar_view(&mut tx).await?;
    tx.commit().await?;
    Ok(ApiJson(out))
}

#[derive(Debug, Deserialize)]
struct CalendarBody {
    /// Working hours per weekday, e.g. {"monday": "08:30-12:00,14:30-18:00", "saturday": ""}.
    weekly: Option<std::collections::BTreeMap<String, String>>,
    /// Years whose official schedule has been entered and may be trusted.
    published_years: Option<Vec<i32>>,
}

async fn put_calendar(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<CalendarBody>,
) -> Result<ApiJson<Value>, ApiError> {
    allow(&principal, Action::ConfigureRouting, Target::Township)?;
    let mut weekly = WeeklyHours::standard();
    let mut errors = Vec::new();
    if let Some(days) = &body.weekly {
        for (day, hours) in days {
            let parsed = if hours.trim().is_empty() {
                DayHours::new(Vec::new())
            } else {
                DayHours::parse(hours)
            };
            let slot = match day.as_str() {
                "monday" => &mut weekly.monday,
                "tuesday" => &mut weekly.tuesday,
                "wednesday" => &mut weekly.wednesday,
                "thursday" => &mut weekly.thursday,
                "friday" => &mut weekly.friday,
                "saturday" => &mut weekly.saturday,
                "sunday" => &mut weekly.sunday,
                _ => {
                    errors.push(FieldError::new(format!("weekly.{day}"), "not a weekday"));
                    continue;
                }
            };
            match parsed {
                Ok(h) => *slot = h,
                Err(e) => errors.push(FieldError::new(format!("weekly.{day}"), e.to_string())),
            }
        }
    }
    if weekly.minutes() == 0 {
        errors.push(FieldError::new(
            "weekly",
            "每周至少要有工作时间 (a week needs some working hours)",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let mut tx = tenant_tx(&state, &principal).await?;
    sqlx::query(
        "INSERT INTO routing.calendars (tenant_id, weekly, published_years) VALUES ($1, $2, coalesce($3, '{}')) \
         ON CONFLICT (tenant_id) DO UPDATE SET weekly = $2, published_years = coalesce($3, routing.calendars.published_years), updated_at = now()",
    )
    .bind(tx.tenant().as_uuid())
    .bind(serde_json::to_value(&weekly).map_err(ApiError::internal)?)
    .bind(&body.published_years)
    .execute(&mut *tx)
    .await?;
    let out = calendar_view(&mut tx).await?;
    tx.commit().await?;
    Ok(ApiJson(out))
}

/// `POST /api/v1/admin/calendar/import`: a year in the holiday-cn JSON layout (one
/// entry per date with `isOffDay`); a year with its notice is marked published.
async fn import_calendar(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    body: String,
) -> Result<ApiJson<Value>, ApiError> {
    allow(&principal, Action::ConfigureRouting, Target::Township)?;
    let schedule = import_holiday_cn(&body).map_err(|e| ApiError::field("body", e.to_string()))?;
    let mut tx = tenant_tx(&state, &principal).await?;
    for (day, o) in &schedule.days {
        let (kind, name) = match &o.kind {
            mashang_domain::calendar::OverrideKind::Off => ("off", o.name.clone()),
            _ => ("working", o.name.clone()),
        };
        sqlx::query(
            "INSERT INTO routing.calendar_overrides (tenant_id, day, name, kind) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant_id, day) DO UPDATE SET name = $3, kind = $4, hours = NULL",
        )
        .bind(tx.tenant().as_uuid())
        .bind(day)
        .bind(name)
        .bind(kind)
        .execute(&mut *tx)
        .await?;
    }
    if schedule.published {
        sqlx::query(
            "INSERT INTO routing.calendars (tenant_id, weekly, published_years) VALUES ($1, $2, ARRAY[$3]) \
             ON CONFLICT (tenant_id) DO UPDATE SET published_years = \
                 (SELECT array_agg(DISTINCT y) FROM unnest(routing.calendars.published_years || $3) AS y), updated_at = now()",
        )
        .bind(tx.tenant().as_uuid())
        .bind(serde_json::to_value(WeeklyHours::standard()).map_err(ApiError::internal)?)
        .bind(schedule.year)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(ApiJson(
        json!({"year": schedule.year, "days": schedule.days.len(), "published": schedule.published}),
    ))
}

#[derive(Debug, Deserialize)]
struct OverrideBody {
    name: Option<String>,
    kind: String,
    hours: Option<String>,
}

async fn put_override(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    Path(day): Path<String>,
    ApiJson(body): ApiJson<OverrideBody>,
) -> Result<StatusCode, ApiError> {
    allow(&principal, Action::ConfigureRouting, Target::Township)?;
    let day: NaiveDate = day
        .parse()
        .map_err(|_| ApiError::field("day", "YYYY-MM-DD"))?;
    if body.kind != "off" && body.kind != "working" {
        return Err(ApiError::field("kind", "off or working"));
    }
    if let Some(h) = &body.hours {
        DayHours::parse(h).map_err(|e| ApiError::field("hours", e.to_string()))?;
    }
    let mut tx = tenant_tx(&state, &principal).await?;
    sqlx::query(
        "INSERT INTO routing.calendar_overrides (tenant_id, day, name, kind, hours) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (tenant_id, day) DO UPDATE SET name = $3, kind = $4, hours = $5",
    )
    .bind(tx.tenant().as_uuid())
    .bind(day)
    .bind(body.name.unwrap_or_default())
    .bind(&body.kind)
    .bind(&body.hours)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete_override(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    Path(day): Path<String>,
) -> Result<StatusCode, ApiError> {
    allow(&principal, Action::ConfigureRouting, Target::Township)?;
    let day: NaiveDate = day
        .parse()
        .map_err(|_| ApiError::field("day", "YYYY-MM-DD"))?;
    let mut tx = tenant_tx(&state, &principal).await?;
    sqlx::query("DELETE FROM routing.calendar_overrides WHERE tenant_id = $1 AND day = $2")
        .bind(tx.tenant().as_uuid())
        .bind(day)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
