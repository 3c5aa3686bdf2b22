//! 督办 (`/county/supervision`): the cases townships sent up to the county, open ones
//! first with the county's deadline and the time left (overdue ones marked), and a
//! case's supervision page with the county's notes and the form that adds a note and
//! sets or changes the deadline. The work is the JSON endpoints' (`sent_up`,
//! `add_note`); the deadline's timers are `workflow::county_deadline`'s.

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use mashang_auth::permissions::Action;
use mashang_domain::TenantId;
use mashang_domain::case::CaseState;
use serde::Deserialize;
use uuid::Uuid;

use super::case_fmt::{self, TimeLeft, state_label, time_left};
use super::county::{County, Errors, error_for, form_errors, notice, when, zone_of};
use super::layout::{Chrome, PageError, render, see_other};
use crate::RoutingState;
use crate::http::county_cases::{MAX_NOTE_CHARS, add_note, sent_up, township_case};
use crate::workflow::county_deadline;
use mashang_http::openapi::{FormErrors, Html, PageErrors};

/// A case sent up, as the list shows it.
struct Line {
    code: String,
    township: String,
    id: Uuid,
    tracking_number: String,
    category: String,
    state_zh: String,
    state_en: String,
    requested: String,
    deadline: Option<String>,
    left: Option<TimeLeft>,
    reminded: bool,
    overdue: bool,
    met: bool,
}

#[derive(Template)]
#[template(path = "county/supervision.html")]
struct ListPage {
    chrome: Chrome,
    lines: Vec<Line>,
    overdue: usize,
}

/// `GET /county/supervision`.
#[utoipa::path(get, path = "/county/supervision", tag = "pages", operation_id = "get_county_supervision",
    summary = "督办 (The cases sent up to the county)",
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        PageErrors,
    ))]
pub(super) async fn list(
    State(state): State<RoutingState>,
    county: County,
) -> Result<Response, PageError> {
    county.require(Action::SuperviseCase)?;
    let now = Utc::now();
    let mut lines = Vec::new();
    for of in sent_up(&state, &county.principal).await? {
        if of.cases.is_empty() {
            continue;
        }
        let zone = zone_of(&of.tenant.time_zone);
        let mut tx = state.db.tenant(TenantId::from_uuid(of.tenant.id)).await?;
        let names = case_fmt::Names::load(&mut tx).await?;
        tx.commit().await?;
        for case in of.cases {
            let (state_zh, state_en) = state_label(&case.state);
            let met = CaseState::parse(&case.state).is_some_and(county_deadline::met);
            lines.push(Line {
                code: of.tenant.code.clone(),
                township: of.tenant.name.clone(),
                id: case.id,
                tracking_number: case.tracking_number,
                category: names.category(&case.category),
                state_zh,
                state_en,
                requested: case
                    .county_requested_at
                    .map(|t| when(t, zone))
                    .unwrap_or_default(),
                deadline: case.county_deadline.map(|d| when(d, zone)),
                left: case
                    .county_deadline
                    .filter(|_| !met)
                    .map(|d| time_left(d, now)),
                reminded: case.county_reminded_at.is_some(),
                overdue: case.overdue,
                met,
            });
        }
    }
    // Late first, then the soonest deadline, then those without one.
    lines.sort_by_key(|l| {
        (
            l.met,
            !l.overdue,
            l.left.as_ref().map_or(i64::MAX, |t| {
                DateTime::parse_from_rfc3339(&t.due).map_or(i64::MAX, |d| d.timestamp())
            }),
        )
    });
    Ok(render(
        StatusCode::OK,
        &ListPage {
            chrome: county.chrome,
            overdue: lines.iter().filter(|l| l.overdue && !l.met).count(),
            lines,
        },
    ))
}

/// One of the county's notes.
struct NoteLine {
    author: String,
    at: String,
    body: String,
    deadline: Option<String>,
}

/// What the note form holds, as typed.
#[derive(Clone, Debug, Default, Deserialize)]
pub(super) struct NoteForm {
    #[serde(default)]
    body: String,
    #[serde(default)]
    deadline: String,
}

#[derive(Template)]
#[template(path = "county/supervised.html")]
struct CasePage {
    chrome: Chrome,
    code: String,
    township: String,
    id: Uuid,
    tracking_number: String,
    category: String,
    grid: String,
    assignee: String,
    state_zh: String,
    state_en: String,
    submitted: String,
    requested: String,
    request_note: Option<String>,
    deadline: Option<String>,
    left: Option<TimeLeft>,
    reminded: Option<String>,
    overdue: Option<String>,
    met: bool,
    notes: Vec<NoteLine>,
    form: NoteForm,
    errors: Errors,
    notice: Option<&'static str>,
    max_note: usize,
    /// The `datetime-local` field's earliest value (now, in the township's time).
    min_deadline: String,
}

impl CasePage {
    fn error_for(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

type CaseRow = (
    String,
    String,
    String,
    uuid::Uuid,
    Option<Uuid>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);

/// A note: author's name, when, the words, the deadline it set.
type NoteRow = (Option<String>, DateTime<Utc>, String, Option<DateTime<Utc>>);

async fn build(
    state: &RoutingState,
    county: County,
    code: &str,
    id: &str,
    form: NoteForm,
    errors: Errors,
    notice: Option<&'static str>,
) -> Result<CasePage, PageError> {
    county.require(Action::SuperviseCase)?;
    let (tenant, id) = township_case(state, code, id).await?;
    let zone = zone_of(&tenant.time_zone);
    let mut tx = state.db.tenant(tenant.id).await?;
    let row: Option<CaseRow> = sqlx::query_as(
        "SELECT tracking_number, category, state, grid_node_id, assignee_id, submitted_at, \
                county_requested_at, county_deadline, county_reminded_at, county_overdue_at \
         FROM routing.cases WHERE tenant_id = $1 AND id = $2 AND county_requested_at IS NOT NULL",
    )
    .bind(tenant.id.as_uuid())
    .bind(id.as_uuid())
    .fetch_optional(&mut *tx)
    .await?;
    // Only the cases the township sent up are supervised here.
    let Some((
        tracking_number,
        category,
        case_state,
        grid,
        assignee,
        submitted,
        requested,
        deadline,
        reminded,
        overdue,
    )) = row
    else {
        return Err(PageError::not_found());
    };
    let names = case_fmt::Names::load(&mut tx).await?;
    let request_note: Option<(serde_json::Value,)> = sqlx::query_as(
        "SELECT details FROM routing.case_timeline WHERE tenant_id = $1 AND case_id = $2 \
         AND action = 'county_request' ORDER BY occurred_at DESC LIMIT 1",
    )
    .bind(tenant.id.as_uuid())
    .bind(id.as_uuid())
    .fetch_optional(&mut *tx)
    .await?;
    let notes: Vec<NoteRow> = sqlx::query_as(
        "SELECT u.name, n.created_at, n.body, n.deadline FROM routing.county_notes n \
             LEFT JOIN routing.county_users u ON u.id = n.author_id \
             WHERE n.tenant_id = $1 AND n.case_id = $2 ORDER BY n.created_at DESC LIMIT 200",
    )
    .bind(tenant.id.as_uuid())
    .bind(id.as_uuid())
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let now = Utc::now();
    let (state_zh, state_en) = state_label(&case_state);
    let met = CaseState::parse(&case_state).is_some_and(county_deadline::met);
    Ok(CasePage {
        chrome: county.chrome,
        code: tenant.code.to_string(),
        township: tenant.name,
        id: id.as_uuid(),
        tracking_number,
        category: names.category(&category),
        grid: names.node(grid),
        assignee: assignee.map_or_else(|| "（未派单）".to_owned(), |a| names.person(Some(a))),
        state_zh,
        state_en,
        submitted: when(submitted, zone),
        requested: requested.map(|t| when(t, zone)).unwrap_or_default(),
        request_note: request_note.and_then(|(d,)| {
            d.get("note")
                .and_then(|n| n.as_str())
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
        }),
        deadline: deadline.map(|d| when(d, zone)),
        left: deadline.filter(|_| !met).map(|d| time_left(d, now)),
        reminded: reminded.map(|t| when(t, zone)),
        overdue: overdue.map(|t| when(t, zone)),
        met,
        notes: notes
            .into_iter()
            .map(|(author, at, body, deadline)| NoteLine {
                author: author.unwrap_or_else(|| mashang_web::staff::COUNTY_CENTRE.to_owned()),
                at: when(at, zone),
                body,
                deadline: deadline.map(|d| when(d, zone)),
            })
            .collect(),
        form,
        errors,
        notice,
        max_note: MAX_NOTE_CHARS,
        min_deadline: now
            .with_timezone(&zone)
            .format("%Y-%m-%dT%H:%M")
            .to_string(),
    })
}

#[derive(Debug, Deserialize)]
pub(super) struct Done {
    ok: Option<String>,
}

/// `GET /county/supervision/{code}/{id}`.
#[utoipa::path(get, path = "/county/supervision/{code}/{id}", tag = "pages", operation_id = "get_county_supervision_code_id",
    summary = "督办事件 (A case sent up)",
    params(("code" = String, Path, max_length = 100, description = "The township code"), ("id" = uuid::Uuid, Path, description = "The case")),
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        PageErrors,
    ))]
pub(super) async fn show(
    State(state): State<RoutingState>,
    county: County,
    Path((code, id)): Path<(String, String)>,
    Query(done): Query<Done>,
) -> Result<Response, PageError> {
    let page = build(
        &state,
        county,
        &code,
        &id,
        NoteForm::default(),
        Vec::new(),
        notice(done.ok.as_deref()),
    )
    .await?;
    Ok(render(StatusCode::OK, &page))
}

/// `POST /county/supervision/{code}/{id}`: the note (and the deadline), then the page
/// again; refused, the form with what was typed and why (422).
#[utoipa::path(post, path = "/county/supervision/{code}/{id}", tag = "pages", operation_id = "post_county_supervision_code_id",
    summary = "督办意见 (The county note on a case)",
    params(("code" = String, Path, max_length = 100, description = "The township code"), ("id" = uuid::Uuid, Path, description = "The case")),
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        (status = 200, description = "有误时重新显示表单 (The form again with what is wrong)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
pub(super) async fn note(
    State(state): State<RoutingState>,
    county: County,
    Path((code, id)): Path<(String, String)>,
    Form(form): Form<NoteForm>,
) -> Result<Response, PageError> {
    county.require(Action::SuperviseCase)?;
    let deadline = Some(form.deadline.as_str()).filter(|d| !d.trim().is_empty());
    match add_note(&state, &county.principal, &code, &id, &form.body, deadline).await {
        Ok(_) => Ok(see_other(&format!(
            "/county/supervision/{code}/{id}?ok=noted"
        ))),
        Err(err) => {
            let errors = form_errors(err)?;
            let page = build(&state, county, &code, &id, form, errors, None).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}
