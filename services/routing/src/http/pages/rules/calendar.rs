//! `/admin/calendar`: the township's working calendar. The time zone and weekly hours,
//! each year's status (official or provisional), the holidays and make-up days of a
//! year by date (the official ones built in, the township's own deletable), adding a
//! day, and importing a year's schedule from a holiday-cn file.

use std::collections::BTreeSet;

use askama::Template;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Form, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Datelike, NaiveDate, Utc};
use mashang_auth::permissions::{Action, Target};
use mashang_domain::calendar::{OverrideKind, WorkingCalendar};
use mashang_http::FieldError;
use serde::Deserialize;

use super::{Tab, day_length, error_on, field_errors, notice, weekday_zh};
use crate::RoutingState;
use crate::http::calendar_config::{
    CalendarBody, MAX_HOLIDAY_FILE_BYTES, OverrideBody, TIME_ZONES, WEEKDAYS, import_holidays,
    remove_override, save_calendar, save_override,
};
use crate::http::pages::layout::{Chrome, PageError, Staff, render, see_other};
use crate::workflow::calendar::{self, own_override_years, own_overrides};
use mashang_http::openapi::{FormErrors, Html, PageErrors};

/// The weekdays' Chinese and English names, in the order of [`WEEKDAYS`].
const DAY_NAMES: [(&str, &str); 7] = [
    ("周一", "Monday"),
    ("周二", "Tuesday"),
    ("周三", "Wednesday"),
    ("周四", "Thursday"),
    ("周五", "Friday"),
    ("周六", "Saturday"),
    ("周日", "Sunday"),
];

/// The time zone and weekly hours as typed.
#[derive(Debug, Default, Deserialize)]
pub(super) struct WeekForm {
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    monday: String,
    #[serde(default)]
    tuesday: String,
    #[serde(default)]
    wednesday: String,
    #[serde(default)]
    thursday: String,
    #[serde(default)]
    friday: String,
    #[serde(default)]
    saturday: String,
    #[serde(default)]
    sunday: String,
}

impl WeekForm {
    fn of(calendar: &WorkingCalendar) -> Self {
        let w = calendar.weekly();
        Self {
            time_zone: calendar.zone().name().to_owned(),
            monday: w.monday.to_string(),
            tuesday: w.tuesday.to_string(),
            wednesday: w.wednesday.to_string(),
            thursday: w.thursday.to_string(),
            friday: w.friday.to_string(),
            saturday: w.saturday.to_string(),
            sunday: w.sunday.to_string(),
        }
    }

    fn days(&self) -> [&String; 7] {
        [
            &self.monday,
            &self.tuesday,
            &self.wednesday,
            &self.thursday,
            &self.friday,
            &self.saturday,
            &self.sunday,
        ]
    }
}

/// A dated override as typed.
#[derive(Debug, Default, Deserialize)]
pub(super) struct OverrideForm {
    #[serde(default)]
    day: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    hours: String,
}

/// One weekday's field.
#[derive(Debug)]
struct DayField {
    key: &'static str,
    zh: &'static str,
    en: &'static str,
    value: String,
}

/// One year's line.
#[derive(Debug)]
struct YearLine {
    year: i32,
    official: bool,
    holidays: usize,
    working: usize,
    shown: bool,
}

/// One dated override of the shown year.
#[derive(Debug)]
struct DayLine {
    date: String,
    weekday: &'static str,
    off: bool,
    name: String,
    hours: String,
    own: bool,
}

/// What the person typed that was refused, per form.
#[derive(Debug, Default)]
struct Typed {
    week: Option<WeekForm>,
    week_errors: Vec<FieldError>,
    add: Option<OverrideForm>,
    add_errors: Vec<FieldError>,
    /// The uploaded file's name and why it was refused.
    import: Option<(String, String)>,
}

#[derive(Debug, Template)]
#[template(path = "admin/rules_calendar.html")]
struct CalendarPage {
    chrome: Chrome,
    tab: Tab,
    zones: Vec<(String, String)>,
    time_zone: String,
    days: Vec<DayField>,
    day_hours: String,
    day_hours_en: String,
    years: Vec<YearLine>,
    year: i32,
    year_official: bool,
    lines: Vec<DayLine>,
    add: OverrideForm,
    typed: Typed,
    max_file_kb: usize,
    notice: Option<&'static str>,
}

impl CalendarPage {
    fn week_error(&self, field: &str) -> Option<&str> {
        error_on(&self.typed.week_errors, field)
    }

    fn add_error(&self, field: &str) -> Option<&str> {
        error_on(&self.typed.add_errors, field)
    }
}

/// The years the page lists: the built-in ones, this year and the next, and every
/// year the township marked official or set days in.
fn listed_years(calendar: &WorkingCalendar, own: &[i32], this_year: i32) -> BTreeSet<i32> {
    let mut years: BTreeSet<i32> = mashang_domain::calendar::SEED_FILES
        .iter()
        .map(|(y, _)| *y)
        .collect();
    years.extend([this_year, this_year + 1]);
    years.extend(calendar.published_years());
    years.extend(own.iter().copied());
    years
}

async fn calendar_page(
    state: &RoutingState,
    staff: &Staff,
    year: Option<i32>,
    ok: Option<&str>,
    mut typed: Typed,
) -> Result<CalendarPage, PageError> {
    staff.require(Action::ConfigureRouting, Target::Township)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    let cal = calendar::load(&mut tx).await.map_err(PageError::Internal)?;
    let own_years = own_override_years(&mut tx)
        .await
        .map_err(PageError::Internal)?;
    let this_year = Utc::now().with_timezone(&cal.zone()).year();
    let years = listed_years(&cal, &own_years, this_year);
    let year = year.filter(|y| years.contains(y)).unwrap_or(this_year);
    let own = own_overrides(&mut tx, year)
        .await
        .map_err(PageError::Internal)?;
    tx.commit().await?;

    let in_year = |y: i32| cal.overrides().filter(move |(d, _)| d.year() == y);
    let years = years
        .into_iter()
        .map(|y| YearLine {
            year: y,
            official: cal.is_published(y),
            holidays: in_year(y)
                .filter(|(_, o)| o.kind == OverrideKind::Off)
                .count(),
            working: in_year(y)
                .filter(|(_, o)| o.kind != OverrideKind::Off)
                .count(),
            shown: y == year,
        })
        .collect();
    let lines = in_year(year)
        .map(|(date, o)| DayLine {
            date: date.format("%Y-%m-%d").to_string(),
            weekday: weekday_zh(date.weekday()),
            off: o.kind == OverrideKind::Off,
            name: o.name.clone(),
            hours: match &o.kind {
                OverrideKind::Working { hours: Some(h) } => h.to_string(),
                OverrideKind::Working { hours: None } => "按标准工作日".to_owned(),
                OverrideKind::Off => String::new(),
            },
            own: own.iter().any(|r| r.day == *date),
        })
        .collect();
    let mut zones: Vec<(String, String)> = TIME_ZONES
        .iter()
        .map(|(name, words)| ((*name).to_owned(), (*words).to_owned()))
        .collect();
    let current = cal.zone().name();
    if !zones.iter().any(|(name, _)| name == current) {
        zones.insert(0, (current.to_owned(), format!("{current}（现用）")));
    }
    let week = typed.week.take().unwrap_or_else(|| WeekForm::of(&cal));
    let days = WEEKDAYS
        .iter()
        .zip(DAY_NAMES)
        .zip(week.days())
        .map(|((key, (zh, en)), value)| DayField {
            key,
            zh,
            en,
            value: value.clone(),
        })
        .collect();
    let (day_hours, day_hours_en) = day_length(cal.standard_day_minutes());
    Ok(CalendarPage {
        chrome: staff.chrome.clone(),
        tab: Tab::Calendar,
        zones,
        time_zone: week.time_zone,
        days,
        day_hours,
        day_hours_en,
        year_official: cal.is_published(year),
        years,
        year,
        lines,
        add: typed.add.take().unwrap_or_else(|| OverrideForm {
            kind: "off".to_owned(),
            ..OverrideForm::default()
        }),
        typed,
        max_file_kb: MAX_HOLIDAY_FILE_BYTES / 1024,
        notice: notice(ok),
    })
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct CalendarQuery {
    ok: Option<String>,
    year: Option<String>,
}

/// `GET /admin/calendar[?year=2027]`.
#[utoipa::path(get, path = "/admin/calendar", tag = "pages", operation_id = "get_admin_calendar",
    summary = "工作日历 (The calendar page)",
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        PageErrors,
    ))]
pub(super) async fn page(
    State(state): State<RoutingState>,
    staff: Staff,
    Query(q): Query<CalendarQuery>,
) -> Result<Response, PageError> {
    let year = q.year.and_then(|y| y.parse().ok());
    let page = calendar_page(&state, &staff, year, q.ok.as_deref(), Typed::default()).await?;
    Ok(render(StatusCode::OK, &page))
}

/// `POST /admin/calendar`: the time zone and weekly hours.
#[utoipa::path(post, path = "/admin/calendar", tag = "pages", operation_id = "post_admin_calendar",
    summary = "保存工作周 (Saves the working week)",
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        (status = 200, description = "有误时重新显示表单 (The form again with what is wrong)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
pub(super) async fn save_week(
    State(state): State<RoutingState>,
    staff: Staff,
    Form(form): Form<WeekForm>,
) -> Result<Response, PageError> {
    staff.require(Action::ConfigureRouting, Target::Township)?;
    let body = CalendarBody {
        time_zone: Some(form.time_zone.clone()),
        weekly: Some(
            WEEKDAYS
                .iter()
                .zip(form.days())
                .map(|(day, hours)| ((*day).to_owned(), hours.clone()))
                .collect(),
        ),
        published_years: None,
    };
    let errors = match save_calendar(&state, &staff.principal, body).await {
        Ok(_) => return Ok(see_other("/admin/calendar?ok=saved")),
        Err(err) => field_errors(err)?,
    };
    let typed = Typed {
        week: Some(form),
        week_errors: errors,
        ..Typed::default()
    };
    let page = calendar_page(&state, &staff, None, None, typed).await?;
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

/// `POST /admin/calendar/overrides`: a holiday or a working day on a date.
#[utoipa::path(post, path = "/admin/calendar/overrides", tag = "pages", operation_id = "post_admin_calendar_overrides",
    summary = "设定某天 (Adds a day override)",
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        (status = 200, description = "有误时重新显示表单 (The form again with what is wrong)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
pub(super) async fn add_override(
    State(state): State<RoutingState>,
    staff: Staff,
    Form(form): Form<OverrideForm>,
) -> Result<Response, PageError> {
    staff.require(Action::ConfigureRouting, Target::Township)?;
    let body = OverrideBody {
        name: Some(form.name.clone()),
        kind: form.kind.clone(),
        hours: Some(form.hours.clone()),
    };
    let errors = match save_override(&state, &staff.principal, &form.day, body).await {
        Ok(day) => {
            return Ok(see_other(&format!(
                "/admin/calendar?ok=added&year={}#days",
                day.year()
            )));
        }
        Err(err) => field_errors(err)?,
    };
    let year = NaiveDate::parse_from_str(form.day.trim(), "%Y-%m-%d")
        .ok()
        .map(|d| d.year());
    let typed = Typed {
        add: Some(form),
        add_errors: errors,
        ..Typed::default()
    };
    let page = calendar_page(&state, &staff, year, None, typed).await?;
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

/// `POST /admin/calendar/overrides/{day}/delete`: the township's own setting of that
/// date goes; a date it set nothing on is not found.
#[utoipa::path(post, path = "/admin/calendar/overrides/{day}/delete", tag = "pages", operation_id = "post_admin_calendar_overrides_day_delete",
    summary = "取消设定 (Removes a day override)",
    params(("day" = String, Path, max_length = 100, description = "`YYYY-MM-DD`")),
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        (status = 200, description = "有误时重新显示表单 (The form again with what is wrong)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
pub(super) async fn delete_override(
    State(state): State<RoutingState>,
    staff: Staff,
    Path(day): Path<String>,
) -> Result<Response, PageError> {
    staff.require(Action::ConfigureRouting, Target::Township)?;
    let date = NaiveDate::parse_from_str(&day, "%Y-%m-%d").map_err(|_| PageError::not_found())?;
    match remove_override(&state, &staff.principal, &day).await {
        Ok(true) => Ok(see_other(&format!(
            "/admin/calendar?ok=deleted&year={}#days",
            date.year()
        ))),
        Ok(false) => Err(PageError::not_found()),
        Err(err) => match field_errors(err) {
            Ok(_) => Err(PageError::not_found()),
            Err(page) => Err(page),
        },
    }
}

/// Why an upload could not be read, in words.
fn unreadable(status: StatusCode) -> String {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        "文件没有上传完整，请重试。(The upload failed; try again.)".to_owned()
    }
}

fn too_large() -> String {
    format!(
        "文件超过{}KB，不是节假日文件。(Over {} KB: not a holiday-cn file.)",
        MAX_HOLIDAY_FILE_BYTES / 1024,
        MAX_HOLIDAY_FILE_BYTES / 1024
    )
}

/// The `file` part of the import form (its name and text), or why it was refused.
async fn read_file(
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(String, String), (String, String)> {
    let mut multipart = multipart.map_err(|_| {
        (
            String::new(),
            "请用本页的表单上传文件。(Upload the file with this page's form.)".to_owned(),
        )
    })?;
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => {
                return Err((
                    String::new(),
                    "请选择要导入的文件。(Choose a file.)".to_owned(),
                ));
            }
            Err(err) => return Err((String::new(), unreadable(err.status()))),
        };
        if field.name() != Some("file") {
            continue;
        }
        let name: String = field
            .file_name()
            .unwrap_or_default()
            .chars()
            .take(100)
            .collect();
        let mut bytes = Vec::new();
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    if bytes.len() + chunk.len() > MAX_HOLIDAY_FILE_BYTES {
                        return Err((name, too_large()));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(err) => return Err((name, unreadable(err.status()))),
            }
        }
        if bytes.is_empty() {
            return Err((name, "请选择要导入的文件。(Choose a file.)".to_owned()));
        }
        return match String::from_utf8(bytes) {
            Ok(text) => Ok((name, text)),
            Err(_) => Err((
                name,
                "文件不是 UTF-8 文本，不是节假日文件。(Not UTF-8 text: not a holiday-cn file.)"
                    .to_owned(),
            )),
        };
    }
}

/// `POST /admin/calendar/import`: a year's schedule in the holiday-cn layout.
#[utoipa::path(post, path = "/admin/calendar/import", tag = "pages", operation_id = "post_admin_calendar_import",
    summary = "导入节假日 (Imports holidays from a holiday-cn file)",
    request_body(content = Object, content_type = "multipart/form-data", description = "表单字段与文件 (The form fields and the file, with `_csrf`)"),
    responses(
        (status = 200, description = "结果或有误时的表单 (The outcome, or the form again with what is wrong)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
pub(super) async fn import(
    State(state): State<RoutingState>,
    staff: Staff,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    staff.require(Action::ConfigureRouting, Target::Township)?;
    let refused = match read_file(multipart).await {
        Ok((name, text)) => match import_holidays(&state, &staff.principal, &text).await {
            Ok(done) => {
                return Ok(see_other(&format!(
                    "/admin/calendar?ok=imported&year={}#days",
                    done.year
                )));
            }
            Err(err) => {
                let errors = field_errors(err)?;
                let words = errors
                    .into_iter()
                    .map(|e| e.message)
                    .collect::<Vec<_>>()
                    .join("；");
                (name, words)
            }
        },
        Err(refused) => refused,
    };
    let typed = Typed {
        import: Some(refused),
        ..Typed::default()
    };
    let page = calendar_page(&state, &staff, None, None, typed).await?;
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
}
