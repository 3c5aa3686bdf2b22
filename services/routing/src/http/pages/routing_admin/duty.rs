//! One person's duty, leave and substitute (`/admin/people/{id}/duty`), and what the
//! people pages say about it: who is away now, until when, and who covers.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use mashang_auth::permissions::{Action, Target};
use mashang_db::TenantTx;
use mashang_domain::UserId;
use mashang_http::FieldError;
use serde::Deserialize;
use uuid::Uuid;

use super::super::layout::{Chrome, PageError, Staff, render, see_other};
use super::super::people::{PersonRow, error_on, load};
use super::notice;
use crate::RoutingState;
use crate::http::assignment::{DutyInput, apply_duty, check_duty};
use mashang_http::openapi::{FormErrors, Html, PageErrors};

/// Whether a person takes new cases now, as the people pages show it.
#[derive(Clone, Debug, Default)]
pub(in crate::http::pages) struct DutyNow {
    /// `请假中` or `不在岗` when they take no new cases now.
    pub away: Option<&'static str>,
    /// Until when the leave runs (`12月8日 18:00`), when it has an end.
    pub until: Option<String>,
    /// A leave still to come (`12月5日 08:00`).
    pub upcoming: Option<String>,
    /// Who takes their new cases while they are away; with whether that person is
    /// themselves away.
    pub cover: Option<(String, bool)>,
}

/// A person's stored duty, with their substitute's.
#[derive(sqlx::FromRow)]
struct DutyRow {
    id: Uuid,
    on_duty: bool,
    leave_from: Option<DateTime<Utc>>,
    leave_until: Option<DateTime<Utc>>,
    substitute_id: Option<Uuid>,
    substitute: Option<String>,
    substitute_away: Option<bool>,
}

async fn duty_rows(tx: &mut TenantTx, only: Option<Uuid>) -> Result<Vec<DutyRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT u.id, u.on_duty, u.leave_from, u.leave_until, u.substitute_id, s.name AS substitute, \
             (NOT s.active OR NOT s.on_duty OR (s.leave_from IS NOT NULL AND s.leave_from <= now() \
                 AND (s.leave_until IS NULL OR s.leave_until > now()))) AS substitute_away \
         FROM routing.staff_users u \
         LEFT JOIN routing.staff_users s ON s.tenant_id = u.tenant_id AND s.id = u.substitute_id \
         WHERE u.tenant_id = $1 AND ($2::uuid IS NULL OR u.id = $2)",
    )
    .bind(tx.tenant().as_uuid())
    .bind(only)
    .fetch_all(&mut **tx)
    .await
}

/// The township's time zone.
async fn zone(tx: &mut TenantTx) -> Result<Tz, sqlx::Error> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT time_zone FROM routing.tenants WHERE id = $1")
            .bind(tx.tenant().as_uuid())
            .fetch_optional(&mut **tx)
            .await?;
    Ok(row
        .and_then(|(z,)| z.parse().ok())
        .unwrap_or(chrono_tz::Asia::Shanghai))
}

/// A moment as the pages show it in the township's zone: `12月8日 18:00`, with the
/// year when it is not this year's.
fn shown(at: DateTime<Utc>, zone: Tz) -> String {
    let local = at.with_timezone(&zone);
    let this_year = Utc::now().with_timezone(&zone).format("%Y").to_string();
    if local.format("%Y").to_string() == this_year {
        local.format("%-m月%-d日 %H:%M").to_string()
    } else {
        local.format("%Y年%-m月%-d日 %H:%M").to_string()
    }
}

fn now_of(row: &DutyRow, zone: Tz, now: DateTime<Utc>) -> DutyNow {
    let on_leave =
        row.leave_from.is_some_and(|f| f <= now) && row.leave_until.is_none_or(|u| u > now);
    let away = if on_leave {
        Some("请假中")
    } else if !row.on_duty {
        Some("不在岗")
    } else {
        None
    };
    DutyNow {
        away,
        until: on_leave
            .then_some(row.leave_until)
            .flatten()
            .map(|u| shown(u, zone)),
        upcoming: row.leave_from.filter(|f| *f > now).map(|f| shown(f, zone)),
        cover: away.and(
            row.substitute
                .clone()
                .map(|name| (name, row.substitute_away.unwrap_or(true))),
        ),
    }
}

/// Each person's duty now (or one person's), by id.
pub(in crate::http::pages) async fn duty_now(
    tx: &mut TenantTx,
    only: Option<UserId>,
) -> Result<HashMap<Uuid, DutyNow>, sqlx::Error> {
    let zone = zone(tx).await?;
    let now = Utc::now();
    Ok(duty_rows(tx, only.map(|u| u.as_uuid()))
        .await?
        .iter()
        .map(|row| (row.id, now_of(row, zone, now)))
        .collect())
}

/// The form as typed.
#[derive(Debug, Default, Deserialize)]
pub(super) struct DutyForm {
    #[serde(default)]
    on_duty: String,
    #[serde(default)]
    leave_from: String,
    #[serde(default)]
    leave_until: String,
    #[serde(default)]
    substitute_id: String,
    /// The 结束请假 button: clears the leave, keeps the rest.
    #[serde(default)]
    end_leave: Option<String>,
}

/// A person who may substitute, for the select.
#[derive(Debug)]
struct Candidate {
    id: String,
    label: String,
}

#[derive(Debug, Template)]
#[template(path = "admin/duty.html")]
struct DutyPage {
    chrome: Chrome,
    person: PersonRow,
    now: DutyNow,
    form: DutyForm,
    errors: Vec<FieldError>,
    candidates: Vec<Candidate>,
    zone: String,
    open_cases: i64,
    notice: Option<&'static str>,
}

impl DutyPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        error_on(&self.errors, field)
    }

    fn on_duty(&self) -> bool {
        self.form.on_duty != "false"
    }
}

/// A `datetime-local` value in `zone`.
fn local(at: Option<DateTime<Utc>>, zone: Tz) -> String {
    at.map(|at| at.with_timezone(&zone).format("%Y-%m-%dT%H:%M").to_string())
        .unwrap_or_default()
}

/// A time typed in a `datetime-local` field, read in the township's zone; blank is
/// none.
fn typed_time(
    raw: &str,
    field: &str,
    zone: Tz,
    errors: &mut Vec<FieldError>,
) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    let parsed = (raw.len() <= 40)
        .then(|| {
            NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M")
                .or_else(|_| NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S"))
                .or_else(|_| NaiveDateTime::parse_from_str(raw, "%Y-%m-%d %H:%M"))
                .ok()
        })
        .flatten()
        .and_then(|naive| zone.from_local_datetime(&naive).earliest());
    if parsed.is_none() {
        errors.push(FieldError::new(
            field,
            "日期时间格式应为 2026-12-10T08:00 (a date and time like 2026-12-10T08:00)",
        ));
    }
    parsed.map(|at| at.with_timezone(&Utc))
}

fn person_id(raw: &str) -> Result<UserId, PageError> {
    raw.parse().map_err(|_| PageError::not_found())
}

async fn build(
    state: &RoutingState,
    staff: Staff,
    id: UserId,
    form: Option<DutyForm>,
    errors: Vec<FieldError>,
    notice: Option<&'static str>,
) -> Result<DutyPage, PageError> {
    let mut tx = state.db.tenant(staff.tenant).await?;
    let person = load(&mut tx, Some(id), false)
        .await?
        .pop()
        .ok_or_else(PageError::not_found)?;
    let zone = zone(&mut tx).await?;
    let row = duty_rows(&mut tx, Some(id.as_uuid()))
        .await?
        .pop()
        .ok_or_else(PageError::not_found)?;
    let now = now_of(&row, zone, Utc::now());
    let candidates = load(&mut tx, None, false)
        .await?
        .into_iter()
        .filter(|p| p.active && p.id != person.id)
        .map(|p| Candidate {
            id: p.id.to_string(),
            label: match p.roles.first() {
                Some(r) => format!("{}（{} · {}）", p.name, r.role, r.node),
                None => p.name.clone(),
            },
        })
        .collect();
    let (open_cases,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM routing.cases WHERE tenant_id = $1 AND assignee_id = $2 \
         AND state NOT IN ('closed', 'invalid', 'followed_up')",
    )
    .bind(staff.tenant.as_uuid())
    .bind(id.as_uuid())
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    let form = form.unwrap_or_else(|| DutyForm {
        on_duty: row.on_duty.to_string(),
        leave_from: local(row.leave_from, zone),
        leave_until: local(row.leave_until, zone),
        substitute_id: row.substitute_id.map(|s| s.to_string()).unwrap_or_default(),
        end_leave: None,
    });
    Ok(DutyPage {
        chrome: staff.chrome,
        person,
        now,
        form,
        errors,
        candidates,
        zone: zone.name().to_owned(),
        open_cases,
        notice,
    })
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct DutyQuery {
    ok: Option<String>,
}

/// `GET /admin/people/{id}/duty`.
#[utoipa::path(get, path = "/admin/people/{id}/duty", tag = "pages", operation_id = "get_admin_people_id_duty",
    summary = "值班 (A person duty page)",
    params(("id" = uuid::Uuid, Path, description = "The person")),
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        PageErrors,
    ))]
pub(super) async fn page(
    State(state): State<RoutingState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<DutyQuery>,
) -> Result<Response, PageError> {
    staff.require(Action::EditPeople, Target::Township)?;
    let id = person_id(&id)?;
    let page = build(&state, staff, id, None, Vec::new(), notice(q.ok.as_deref())).await?;
    Ok(render(StatusCode::OK, &page))
}

/// `POST /admin/people/{id}/duty`: on duty or not, the leave (or 结束请假, which
/// clears it), and the substitute.
#[utoipa::path(post, path = "/admin/people/{id}/duty", tag = "pages", operation_id = "post_admin_people_id_duty",
    summary = "保存值班 (Saves the duty)",
    params(("id" = uuid::Uuid, Path, description = "The person")),
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        (status = 200, description = "有误时重新显示表单 (The form again with what is wrong)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
pub(super) async fn save(
    State(state): State<RoutingState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<DutyForm>,
) -> Result<Response, PageError> {
    staff.require(Action::EditPeople, Target::Township)?;
    let id = person_id(&id)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    if load(&mut tx, Some(id), false).await?.is_empty() {
        return Err(PageError::not_found());
    }
    let zone = zone(&mut tx).await?;
    let mut errors = Vec::new();
    let on_duty = match form.on_duty.as_str() {
        "true" => true,
        "false" => false,
        _ => {
            errors.push(FieldError::new(
                "on_duty",
                "请选择在岗或不在岗 (choose on or off duty)",
            ));
            true
        }
    };
    let (leave_from, leave_until) = if form.end_leave.is_some() {
        (None, None)
    } else {
        (
            typed_time(&form.leave_from, "leave_from", zone, &mut errors),
            typed_time(&form.leave_until, "leave_until", zone, &mut errors),
        )
    };
    let input = DutyInput {
        on_duty,
        leave_from,
        leave_until,
        substitute_id: Some(form.substitute_id.clone()),
    };
    match check_duty(&mut tx, id.as_uuid(), &input).await? {
        Ok(duty) if errors.is_empty() => {
            if !apply_duty(&mut tx, id.as_uuid(), &duty).await? {
                return Err(PageError::not_found());
            }
            tx.commit().await?;
            return Ok(see_other(&format!("/admin/people/{id}/duty?ok=saved")));
        }
        Ok(_) => {}
        // A time that could not be read is already marked; say nothing more about it.
        Err(more) => {
            let marked: Vec<String> = errors.iter().map(|e| e.field.clone()).collect();
            errors.extend(more.into_iter().filter(|e| !marked.contains(&e.field)));
        }
    }
    drop(tx);
    let page = build(&state, staff, id, Some(form), errors, None).await?;
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
}
