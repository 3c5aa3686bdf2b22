//! The township administrator's rule pages: triage and breach settings
//! (`/admin/settings`), SLA policies (`/admin/sla-policies`), the working calendar
//! (`/admin/calendar`) and report categories (`/admin/categories`). Each form calls
//! the same function as the JSON API (`crate::http::settings`, `calendar_config`,
//! `categories`), so every input is checked in one place; a refused form comes back
//! with what was typed and the reason next to the field (422).

mod calendar;
mod categories;
mod settings;
mod sla;

use std::sync::LazyLock;

use axum::extract::DefaultBodyLimit;
use chrono::{DateTime, Datelike, Utc, Weekday};
use chrono_tz::Tz;
use mashang_http::{ApiError, FieldError};
use mashang_web::{Asset, Assets};

use super::layout::PageError;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::RoutingState;
use crate::http::calendar_config::MAX_HOLIDAY_FILE_BYTES;

pub(super) fn routes() -> OpenApiRouter<RoutingState> {
    OpenApiRouter::new()
        .routes(routes!(settings::page, settings::save))
        .routes(routes!(sla::list))
        .routes(routes!(sla::show, sla::save))
        .routes(routes!(calendar::page, calendar::save_week))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(calendar::import))
                .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)),
        )
        .routes(routes!(calendar::add_override))
        .routes(routes!(calendar::delete_override))
        .routes(routes!(categories::list, categories::create))
        .routes(routes!(categories::show, categories::update))
        .routes(routes!(categories::set_active))
        .merge(ASSETS.router())
}

/// The largest upload the import form reads: a file a little over the limit is read
/// to the end and refused in words; a much larger one is cut off unread.
const MAX_UPLOAD_BYTES: usize = 16 * MAX_HOLIDAY_FILE_BYTES;

/// The rule pages' own styles (the tabs, narrow number fields).
const RULES_CSS: Asset = Asset::css("rules.css", include_str!("../../../../static/rules.css"));
const FILES: [Asset; 1] = [RULES_CSS];
static ASSETS: LazyLock<Assets> = LazyLock::new(|| Assets::new("admin-rules", &FILES));

/// The rule pages' stylesheet URL.
pub(crate) fn rules_css_url() -> String {
    ASSETS.url(RULES_CSS.name)
}

/// The tabs across the rule pages, and which one is open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tab {
    Settings,
    Sla,
    Calendar,
    Categories,
}

impl Tab {
    /// Every tab: its page, Chinese name and English gloss.
    pub fn all(self) -> [(&'static str, &'static str, &'static str, bool); 4] {
        [
            (
                "/admin/settings",
                "受理设置",
                "Settings",
                self == Tab::Settings,
            ),
            (
                "/admin/sla-policies",
                "办理时限",
                "Deadlines",
                self == Tab::Sla,
            ),
            (
                "/admin/calendar",
                "工作日历",
                "Calendar",
                self == Tab::Calendar,
            ),
            (
                "/admin/categories",
                "事件类别",
                "Categories",
                self == Tab::Categories,
            ),
        ]
    }
}

/// The field errors of a refused input; anything else ends the page.
pub(crate) fn field_errors(err: ApiError) -> Result<Vec<FieldError>, PageError> {
    match err {
        ApiError::Validation(errors) => Ok(errors),
        other => Err(other.into()),
    }
}

/// The message on `field`, if any.
pub(crate) fn error_on<'a>(errors: &'a [FieldError], field: &str) -> Option<&'a str> {
    errors
        .iter()
        .find(|e| e.field == field)
        .map(|e| e.message.as_str())
}

/// The confirmation after a form, from the `?ok=` of the redirect (a fixed set: nothing
/// from the URL is shown).
pub(crate) fn notice(ok: Option<&str>) -> Option<&'static str> {
    Some(match ok? {
        "saved" => "已保存。新收到的事件按新的规则办理。(Saved: new cases follow it.)",
        "added" => "已添加。(Added.)",
        "deleted" => {
            "已删除，这一天恢复按官方安排和每周工作时间计算。(Removed: the day follows the official schedule and the weekly hours again.)"
        }
        "imported" => {
            "节假日安排已导入，见下面这一年的日期。(Imported: the year's days are listed below.)"
        }
        "activated" => "已启用，群众扫码时可以选择这个类别。(Activated: citizens can choose it.)",
        "deactivated" => {
            "已停用，群众扫码时不再显示；已有的事件不受影响。(Deactivated: citizens no longer see it; existing cases keep it.)"
        }
        _ => return None,
    })
}

/// The length of a working day in words: `("7小时", "7 h")`, `("7小时30分钟", "7 h 30 min")`.
pub(crate) fn day_length(minutes: u32) -> (String, String) {
    match (minutes / 60, minutes % 60) {
        (h, 0) => (format!("{h}小时"), format!("{h} h")),
        (h, m) => (format!("{h}小时{m}分钟"), format!("{h} h {m} min")),
    }
}

/// A weekday's Chinese name.
pub(crate) fn weekday_zh(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "周一",
        Weekday::Tue => "周二",
        Weekday::Wed => "周三",
        Weekday::Thu => "周四",
        Weekday::Fri => "周五",
        Weekday::Sat => "周六",
        Weekday::Sun => "周日",
    }
}

/// A moment in the township's zone with its weekday: `12月7日 周一 10:00` (with the
/// year when it is not this year's).
pub(crate) fn local_when(at: DateTime<Utc>, zone: Tz) -> String {
    let local = at.with_timezone(&zone);
    let date = if local.year() == Utc::now().with_timezone(&zone).year() {
        local.format("%-m月%-d日")
    } else {
        local.format("%Y年%-m月%-d日")
    };
    format!(
        "{date} {} {}",
        weekday_zh(local.weekday()),
        local.format("%H:%M")
    )
}
