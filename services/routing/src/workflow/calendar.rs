//! A tenant's working calendar: its zone and hours, its dated overrides, and the
//! published years; the official national schedules when it has set nothing.

use chrono::NaiveDate;
use mashang_db::TenantTx;
use mashang_domain::calendar::{DayHours, DayOverride, WeeklyHours, WorkingCalendar};

/// Loads the calendar of the transaction's tenant.
pub async fn load(tx: &mut TenantTx) -> anyhow::Result<WorkingCalendar> {
    let (zone,): (String,) = sqlx::query_as("SELECT time_zone FROM routing.tenants WHERE id = $1")
        .bind(tx.tenant().as_uuid())
        .fetch_one(&mut **tx)
        .await?;
    let zone: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::Asia::Shanghai);
    let mut calendar = WorkingCalendar::china_official(zone);
    let custom: Option<(serde_json::Value, Vec<i32>)> = sqlx::query_as(
        "SELECT weekly, published_years FROM routing.calendars WHERE tenant_id = $1",
    )
    .bind(tx.tenant().as_uuid())
    .fetch_optional(&mut **tx)
    .await?;
    if let Some((weekly, published)) = custom {
        let weekly: WeeklyHours = serde_json::from_value(weekly)?;
        let mut own = WorkingCalendar::new(zone, weekly)?;
        // The official overrides stay unless the tenant replaced them.
        for (date, day) in calendar.overrides() {
            own.set_override(*date, day.clone());
        }
        for year in published {
            own.set_published(year, true);
        }
        for year in calendar.published_years().collect::<Vec<_>>() {
            own.set_published(year, true);
        }
        calendar = own;
    }
    let overrides: Vec<(NaiveDate, String, String, Option<String>)> = sqlx::query_as(
        "SELECT day, name, kind, hours FROM routing.calendar_overrides WHERE tenant_id = $1 ORDER BY day",
    )
    .bind(tx.tenant().as_uuid())
    .fetch_all(&mut **tx)
    .await?;
    for (day, name, kind, hours) in overrides {
        let over = match (kind.as_str(), hours) {
            ("off", _) => DayOverride::off(name),
            (_, Some(h)) => DayOverride::working(name, DayHours::parse(&h)?),
            _ => DayOverride::make_up(name),
        };
        calendar.set_override(day, over);
    }
    Ok(calendar)
}

/// A dated override the tenant set itself (by hand or by importing a schedule).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct OwnOverride {
    /// The local date.
    pub day: NaiveDate,
    /// What the day is called.
    pub name: String,
    /// `off` or `working`.
    pub kind: String,
    /// A working day's own hours; `None`: the standard day.
    pub hours: Option<String>,
}

/// The tenant's own overrides in `year`, by date.
pub async fn own_overrides(tx: &mut TenantTx, year: i32) -> anyhow::Result<Vec<OwnOverride>> {
    Ok(sqlx::query_as(
        "SELECT day, name, kind, hours FROM routing.calendar_overrides \
         WHERE tenant_id = $1 AND day >= make_date($2, 1, 1) AND day < make_date($2 + 1, 1, 1) ORDER BY day",
    )
    .bind(tx.tenant().as_uuid())
    .bind(year)
    .fetch_all(&mut **tx)
    .await?)
}

/// The years in which the tenant set overrides of its own.
pub async fn own_override_years(tx: &mut TenantTx) -> anyhow::Result<Vec<i32>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT extract(year FROM day)::int FROM routing.calendar_overrides \
         WHERE tenant_id = $1 ORDER BY 1",
    )
    .bind(tx.tenant().as_uuid())
    .fetch_all(&mut **tx)
    .await?)
}
