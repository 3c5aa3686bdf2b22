//! The township's working calendar as its administrator sets it: time zone, weekly
//! hours, published years, dated overrides (holidays and make-up working days) and
//! the holiday-cn import. The JSON API (`settings.rs`) and the admin pages both call
//! these functions, so each input is checked in one place.

use chrono::{Datelike, NaiveDate};
use mashang_auth::Principal;
use mashang_auth::permissions::{Action, Target};
use mashang_domain::calendar::{DayHours, HoursError, WeeklyHours, import_holiday_cn};
use mashang_http::{ApiError, FieldError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{allow, tenant_tx};
use crate::RoutingState;

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

/// The calendar of `principal`'s township, as the API shows it.
pub(crate) async fn calendar_of(
    state: &RoutingState,
    principal: &Principal,
) -> Result<Value, ApiError> {
    allow(principal, Action::ConfigureRouting, Target::Township)?;
    let mut tx = tenant_tx(state, principal).await?;
    let out = calendar_view(&mut tx).await?;
    tx.commit().await?;
    Ok(out)
}

/// The time zones a township may choose (IANA name, what staff read): China's, and
/// the one Xinjiang's villages keep.
pub(crate) const TIME_ZONES: [(&str, &str); 4] = [
    ("Asia/Shanghai", "北京时间 (Asia/Shanghai, UTC+8)"),
    ("Asia/Urumqi", "新疆时间 (Asia/Urumqi, UTC+6)"),
    ("Asia/Hong_Kong", "香港时间 (Asia/Hong_Kong, UTC+8)"),
    ("Asia/Macau", "澳门时间 (Asia/Macau, UTC+8)"),
];

/// The weekdays as the calendar's weekly hours name them.
pub(crate) const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// The years a calendar date, override or import may fall in.
const CALENDAR_YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// The longest working-hours text of one day (a few intervals).
const MAX_HOURS_CHARS: usize = 200;

/// A change to the calendar; a field left out keeps its value.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub(crate) struct CalendarBody {
    /// One of [`TIME_ZONES`] (or the zone the township has now).
    pub time_zone: Option<String>,
    /// Working hours per weekday, e.g. {"monday": "08:30-12:00,14:30-18:00", "saturday": ""};
    /// a weekday left out keeps its hours.
    pub weekly: Option<std::collections::BTreeMap<String, String>>,
    /// Years whose official schedule has been entered and may be trusted.
    pub published_years: Option<Vec<i32>>,
}

/// Changes the time zone, weekly hours or published years of `principal`'s township
/// (the admin page's form calls this); the calendar as it is afterwards.
pub(crate) async fn save_calendar(
    state: &RoutingState,
    principal: &Principal,
    body: CalendarBody,
) -> Result<Value, ApiError> {
    allow(principal, Action::ConfigureRouting, Target::Township)?;
    let mut tx = tenant_tx(state, principal).await?;
    let current = crate::workflow::calendar::load(&mut tx)
        .await
        .map_err(ApiError::internal)?;
    let mut errors = Vec::new();
    let zone = body.time_zone.as_deref().map(str::trim);
    if let Some(zone) = zone
        && zone != current.zone().name()
        && !TIME_ZONES.iter().any(|(name, _)| *name == zone)
    {
        errors.push(FieldError::new(
            "time_zone",
            "请从列表中选择时区 (choose a time zone from the list)",
        ));
    }
    let weekly = weekly_hours(current.weekly().clone(), body.weekly.as_ref(), &mut errors);
    if let Some(years) = &body.published_years
        && (years.len() > 100 || years.iter().any(|y| !CALENDAR_YEARS.contains(y)))
    {
        errors.push(FieldError::new(
            "published_years",
            "2000年到2100年之间 (years from 2000 to 2100)",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    if let Some(zone) = zone.filter(|z| *z != current.zone().name()) {
        sqlx::query("UPDATE routing.tenants SET time_zone = $2 WHERE id = $1")
            .bind(tx.tenant().as_uuid())
            .bind(zone)
            .execute(&mut *tx)
            .await?;
    }
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
    Ok(out)
}

/// `weekly` with the days of `changes` replaced, each refused day an error
/// (`weekly.{day}`), and an error when the week is left without working hours.
fn weekly_hours(
    mut weekly: WeeklyHours,
    changes: Option<&std::collections::BTreeMap<String, String>>,
    errors: &mut Vec<FieldError>,
) -> WeeklyHours {
    if let Some(days) = changes {
        if days.len() > WEEKDAYS.len() {
            errors.push(FieldError::new(
                "weekly",
                "一周只有七天 (a week has seven days)",
            ));
            return weekly;
        }
        for (day, hours) in days {
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
            if hours.chars().count() > MAX_HOURS_CHARS {
                errors.push(FieldError::new(
                    format!("weekly.{day}"),
                    "太长了 (too long)",
                ));
                continue;
            }
            match DayHours::parse(hours) {
                Ok(h) => *slot = h,
                Err(e) => errors.push(FieldError::new(format!("weekly.{day}"), hours_message(&e))),
            }
        }
    }
    if weekly.minutes() == 0 {
        errors.push(FieldError::new(
            "weekly",
            "每周至少要有工作时间 (a week needs some working hours)",
        ));
    }
    weekly
}

/// What is wrong with typed working hours, in Chinese first.
fn hours_message(err: &HoursError) -> String {
    let zh = match err {
        HoursError::Format => "请写成 08:30-12:00，多段用逗号隔开",
        HoursError::OutOfDay => "时间在 00:00 到 24:00 之间",
        HoursError::Empty => "结束时间要晚于开始时间",
        HoursError::Overlap => "各段要按时间先后排列，不能重叠",
    };
    format!("{zh} ({err})")
}

/// The largest holiday-cn file taken (a year's file is about 5 KB).
pub(crate) const MAX_HOLIDAY_FILE_BYTES: usize = 64 * 1024;

/// What an import of a holiday-cn file did.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct HolidayImport {
    /// The year of the file.
    pub year: i32,
    /// How many dates it set.
    pub days: usize,
    /// Whether the year is now official (the file cites its notice).
    pub published: bool,
}

/// Imports a holiday-cn file into `principal`'s township (the admin page's upload
/// calls this): its dates replace the township's overrides on the same dates.
pub(crate) async fn import_holidays(
    state: &RoutingState,
    principal: &Principal,
    body: &str,
) -> Result<HolidayImport, ApiError> {
    allow(principal, Action::ConfigureRouting, Target::Township)?;
    if body.len() > MAX_HOLIDAY_FILE_BYTES {
        return Err(ApiError::field(
            "body",
            "文件超过64KB，不像节假日文件 (over 64 KB: not a holiday-cn file)",
        ));
    }
    let schedule = import_holiday_cn(body)
        .map_err(|e| ApiError::field("body", format!("不是 holiday-cn 格式的节假日文件 ({e})")))?;
    if !CALENDAR_YEARS.contains(&schedule.year) {
        return Err(ApiError::field(
            "body",
            "年份要在2000年到2100年之间 (the year must be from 2000 to 2100)",
        ));
    }
    let mut tx = tenant_tx(state, principal).await?;
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
    Ok(HolidayImport {
        year: schedule.year,
        days: schedule.days.len(),
        published: schedule.published,
    })
}

/// A dated override as set: `off` (a holiday) or `working` (a make-up day, with its
/// own hours or the standard day's).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub(crate) struct OverrideBody {
    pub name: Option<String>,
    pub kind: String,
    pub hours: Option<String>,
}

/// The longest name of a dated override (`国庆节`, `镇庆`).
const MAX_OVERRIDE_NAME_CHARS: usize = 30;

/// A date typed as `YYYY-MM-DD` in the years a calendar takes.
fn calendar_day(raw: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .ok()
        .filter(|d| CALENDAR_YEARS.contains(&d.year()))
}

/// Sets the override of `day` in `principal`'s township (the admin page's form calls
/// this); the date set.
pub(crate) async fn save_override(
    state: &RoutingState,
    principal: &Principal,
    day: &str,
    body: OverrideBody,
) -> Result<NaiveDate, ApiError> {
    allow(principal, Action::ConfigureRouting, Target::Township)?;
    let mut errors = Vec::new();
    let date = calendar_day(day);
    if date.is_none() {
        errors.push(FieldError::new(
            "day",
            "日期写成 2026-10-01，年份在2000到2100之间 (YYYY-MM-DD, years 2000 to 2100)",
        ));
    }
    if body.kind != "off" && body.kind != "working" {
        errors.push(FieldError::new("kind", "放假或上班 (off or working)"));
    }
    let name = body.name.unwrap_or_default().trim().to_owned();
    if name.chars().count() > MAX_OVERRIDE_NAME_CHARS {
        errors.push(FieldError::new(
            "name",
            "名称最多30个字 (at most 30 characters)",
        ));
    } else if name.chars().any(char::is_control) {
        errors.push(FieldError::new(
            "name",
            "名称不能包含控制字符 (no control characters)",
        ));
    }
    // A holiday has no hours; a working day without hours works the standard day.
    let hours = body
        .hours
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty() && body.kind == "working");
    if let Some(h) = &hours {
        if h.chars().count() > MAX_HOURS_CHARS {
            errors.push(FieldError::new("hours", "太长了 (too long)"));
        } else if let Err(e) = DayHours::parse(h).and_then(|d| {
            if d.is_off() {
                Err(HoursError::Format)
            } else {
                Ok(d)
            }
        }) {
            errors.push(FieldError::new("hours", hours_message(&e)));
        }
    }
    let (Some(date), true) = (date, errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    let mut tx = tenant_tx(state, principal).await?;
    sqlx::query(
        "INSERT INTO routing.calendar_overrides (tenant_id, day, name, kind, hours) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (tenant_id, day) DO UPDATE SET name = $3, kind = $4, hours = $5",
    )
    .bind(tx.tenant().as_uuid())
    .bind(date)
    .bind(name)
    .bind(&body.kind)
    .bind(&hours)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(date)
}

/// Removes the township's own override of `day` (the official schedule's day, if
/// any, applies again); whether there was one.
pub(crate) async fn remove_override(
    state: &RoutingState,
    principal: &Principal,
    day: &str,
) -> Result<bool, ApiError> {
    allow(principal, Action::ConfigureRouting, Target::Township)?;
    let day = calendar_day(day).ok_or_else(|| ApiError::field("day", "YYYY-MM-DD"))?;
    let mut tx = tenant_tx(state, principal).await?;
    let done =
        sqlx::query("DELETE FROM routing.calendar_overrides WHERE tenant_id = $1 AND day = $2")
            .bind(tx.tenant().as_uuid())
            .bind(day)
            .execute(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(done.rows_affected() > 0)
}
