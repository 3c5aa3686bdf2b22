//! `GET /console/approvals`: what waits for a second person. Invalid requests
//! (approve or reject, posting to the case's action endpoint) and extension requests
//! (approve or reject with a note, posting here). The person who asked is never
//! offered the buttons on their own request. Also the extension request form's
//! handler for the case page, `POST /console/cases/{id}/extension`.

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use mashang_auth::permissions::{Action, Target};
use mashang_domain::CaseId;
use mashang_http::ApiError;
use serde::Deserialize;
use uuid::Uuid;

use super::case_fmt::state_label;
use super::centre_names::{Names, left_zh};
use super::layout::{Chrome, PageError, Staff, render, safe_next, see_other};
use crate::RoutingState;
use crate::http::extensions::{AskBody, ask, decide};
use mashang_http::openapi::{FormErrors, Html, PageErrors};

/// The most requests of each kind listed.
const SHOWN: i64 = 100;

struct InvalidRequest {
    case_id: Uuid,
    tracking_number: String,
    version: i64,
    category: String,
    grid: String,
    description: String,
    requester: String,
    reason: String,
    mine: bool,
}

struct ExtensionRequest {
    id: Uuid,
    case_id: Uuid,
    tracking_number: String,
    category: String,
    grid: String,
    state: String,
    requester: String,
    reason: String,
    current: String,
    until: String,
    mine: bool,
    asked: String,
}

#[derive(Template)]
#[template(path = "centre/approvals.html")]
struct ApprovalsPage {
    chrome: Chrome,
    invalid: Vec<InvalidRequest>,
    extensions: Vec<ExtensionRequest>,
    notice: Option<&'static str>,
    /// A refused decision: the request, what to say, the note as typed.
    refused: Option<(Uuid, String, String)>,
}

impl ApprovalsPage {
    fn refused_for(&self, id: &Uuid) -> Option<(&str, &str)> {
        self.refused
            .as_ref()
            .filter(|(r, _, _)| r == id)
            .map(|(_, m, n)| (m.as_str(), n.as_str()))
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct Done {
    ok: Option<String>,
}

fn invalid_reason(entry: &serde_json::Value) -> String {
    // A workflow entry keeps the action's own details under `details`.
    let details = entry.get("details").unwrap_or(entry);
    let code = details["reason"]["code"]
        .as_str()
        .or_else(|| details["reason"].as_str())
        .unwrap_or("");
    let label = match code {
        "spam" => "无效信息",
        "duplicate" => "重复诉求",
        "outside_jurisdiction" => "不属本辖区",
        _ => "",
    };
    match details["note"].as_str() {
        Some(n) if !n.is_empty() => format!("{label}：{n}"),
        _ => label.to_owned(),
    }
}

async fn build(
    state: &RoutingState,
    staff: Staff,
    notice: Option<&'static str>,
    refused: Option<(Uuid, String, String)>,
    status: StatusCode,
) -> Result<Response, PageError> {
    staff.require(Action::ApproveInvalid, Target::List)?;
    let me = staff.principal.user().map(|u| u.as_uuid());
    let mut tx = state.db.tenant(staff.tenant).await?;
    let t = tx.tenant().as_uuid();
    type InvalidRow = (
        Uuid,
        String,
        i64,
        String,
        Uuid,
        String,
        Option<String>,
        Option<serde_json::Value>,
    );
    let invalid: Vec<InvalidRow> = sqlx::query_as(
        "SELECT c.id, c.tracking_number, c.version, c.category, c.grid_node_id, c.description, \
                c.facts->>'invalid_requested_by', \
                (SELECT tl.details FROM routing.case_timeline tl WHERE tl.tenant_id = c.tenant_id AND tl.case_id = c.id \
                   AND tl.action = 'request_invalid' ORDER BY tl.occurred_at DESC LIMIT 1) \
         FROM routing.cases c WHERE c.tenant_id = $1 AND c.state = 'invalid_requested' \
         ORDER BY c.updated_at LIMIT $2",
    )
    .bind(t)
    .bind(SHOWN)
    .fetch_all(&mut *tx)
    .await?;
    type ExtRow = (
        Uuid,
        Uuid,
        String,
        String,
        Uuid,
        String,
        Uuid,
        String,
        Option<DateTime<Utc>>,
        DateTime<Utc>,
        DateTime<Utc>,
    );
    let ext: Vec<ExtRow> = sqlx::query_as(
        "SELECT e.id, c.id, c.tracking_number, c.category, c.grid_node_id, c.state, e.requested_by, e.reason, \
                c.resolution_due, e.requested_until, e.created_at \
         FROM routing.extension_requests e JOIN routing.cases c ON c.tenant_id = e.tenant_id AND c.id = e.case_id \
         WHERE e.tenant_id = $1 AND e.status = 'pending' ORDER BY e.created_at LIMIT $2",
    )
    .bind(t)
    .bind(SHOWN)
    .fetch_all(&mut *tx)
    .await?;
    let names = Names::load(&mut tx).await?;
    tx.commit().await?;
    let now = Utc::now();
    let page = ApprovalsPage {
        chrome: staff.chrome,
        invalid: invalid
            .into_iter()
            .map(
                |(id, tracking, version, category, grid, description, by, details)| {
                    let by: Option<Uuid> = by.and_then(|u| u.parse().ok());
                    InvalidRequest {
                        case_id: id,
                        tracking_number: tracking,
                        version,
                        category: names.category(&category),
                        grid: names.grid(grid),
                        description: description.chars().take(120).collect(),
                        requester: names.person(by),
                        reason: details.as_ref().map(invalid_reason).unwrap_or_default(),
                        mine: by.is_some() && by == me,
                    }
                },
            )
            .collect(),
        extensions: ext
            .into_iter()
            .map(
                |(id, case, tracking, category, grid, state, by, reason, due, until, at)| {
                    ExtensionRequest {
                        id,
                        case_id: case,
                        tracking_number: tracking,
                        category: names.category(&category),
                        grid: names.grid(grid),
                        state: state_label(&state).0,
                        requester: names.person(Some(by)),
                        reason,
                        current: due
                            .map(|d| format!("{}（{}）", names.when(d), left_zh(Some(d), now)))
                            .unwrap_or_else(|| "—".into()),
                        until: names.when(until),
                        mine: Some(by) == me,
                        asked: names.when(at),
                    }
                },
            )
            .collect(),
        notice,
        refused,
    };
    Ok(render(status, &page))
}

/// `GET /console/approvals`.
#[utoipa::path(get, path = "/console/approvals", tag = "pages", operation_id = "get_console_approvals",
    summary = "待审批 (Requests waiting for a decision)",
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        PageErrors,
    ))]
pub(super) async fn page(
    State(state): State<RoutingState>,
    staff: Staff,
    axum::extract::Query(done): axum::extract::Query<Done>,
) -> Result<Response, PageError> {
    let notice = match done.ok.as_deref() {
        Some("approved") => Some("已批准。(Approved.)"),
        Some("rejected") => Some("已驳回。(Rejected.)"),
        _ => None,
    };
    build(&state, staff, notice, None, StatusCode::OK).await
}

/// The decision form's fields.
#[derive(Debug, Deserialize)]
pub(super) struct DecisionForm {
    #[serde(default)]
    note: String,
}

/// `POST /console/extension-requests/{id}/approve|reject`.
#[utoipa::path(post, path = "/console/extension-requests/{id}/{decision}", tag = "pages", operation_id = "post_console_extension_requests_id_decision",
    summary = "延期审批 (Approves or rejects an extension request)",
    params(("id" = uuid::Uuid, Path, description = "The request"), ("decision" = String, Path, max_length = 100, description = "`approve` or `reject`")),
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        (status = 200, description = "有误时重新显示表单 (The form again with what is wrong)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
pub(super) async fn decision(
    State(state): State<RoutingState>,
    staff: Staff,
    Path((id, decision)): Path<(String, String)>,
    Form(form): Form<DecisionForm>,
) -> Result<Response, PageError> {
    let approve = match decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return Err(PageError::not_found()),
    };
    let id: Uuid = id.parse().map_err(|_| PageError::not_found())?;
    match decide(&state, &staff.principal, id, approve, &form.note).await {
        Ok(_) => Ok(see_other(if approve {
            "/console/approvals?ok=approved"
        } else {
            "/console/approvals?ok=rejected"
        })),
        Err(ApiError::NotFound) => Err(PageError::not_found()),
        Err(err @ (ApiError::Internal(_) | ApiError::Unauthorized)) => Err(err.into()),
        Err(other) => {
            let status = other.status();
            let message = message_of(other);
            build(&state, staff, None, Some((id, message, form.note)), status).await
        }
    }
}

/// What to tell the person about a refused request.
pub(super) fn message_of(err: ApiError) -> String {
    match err {
        ApiError::Validation(errors) => errors
            .into_iter()
            .map(|e| e.message)
            .collect::<Vec<_>>()
            .join("；"),
        ApiError::Conflict(m) | ApiError::Forbidden(m) | ApiError::BadRequest(m) => m,
        other => other.title().to_owned(),
    }
}

/// The extension request form's fields (the case page's 申请延期).
#[derive(Debug, Deserialize)]
pub(super) struct ExtensionForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    back: String,
}

/// What `templates/centre/extension_form.html` shows: the case page includes it with
/// a field named `extension` (and `chrome` for the CSRF token).
#[derive(Clone, Debug, Default)]
pub(super) struct ExtensionFormView {
    pub case_id: Uuid,
    /// Why the last try was refused.
    pub error: Option<String>,
    pub reason: String,
    /// As typed (`2026-12-10T17:00`).
    pub until: String,
    /// Where to return after success.
    pub back: String,
    /// The latest allowed value of the date field (`min` is now).
    pub max: String,
    pub min: String,
}

impl ExtensionFormView {
    /// An empty form for `case_id`, returning to its case page.
    pub fn for_case(case_id: Uuid, zone: chrono_tz::Tz) -> Self {
        let now = Utc::now().with_timezone(&zone);
        let max = now + chrono::Duration::days(crate::workflow::extension::MAX_DAYS);
        Self {
            case_id,
            back: format!("/console/cases/{case_id}"),
            min: now.format("%Y-%m-%dT%H:%M").to_string(),
            max: max.format("%Y-%m-%dT%H:%M").to_string(),
            ..Self::default()
        }
    }
}

/// The extension form on the case page (`templates/console/case.html` calls this at
/// its marked spot): while the resolution clock runs, for a person the page offers the
/// case's work (the handler, or a supervisor above the grid: the same people
/// `extensions::ask` accepts). The date field is in the township's time zone.
pub(super) fn extension_on(
    case: &crate::cases::read::CaseView,
    forms: &[super::case_page::ActionForm],
    zone: chrono_tz::Tz,
) -> Option<ExtensionFormView> {
    const WORK: [&str; 4] = ["acknowledge", "start", "resume", "resolve"];
    let works = forms.iter().any(|f| WORK.contains(&f.name.as_str()));
    (works && case.resolution_due.is_some()).then(|| ExtensionFormView::for_case(case.id, zone))
}

#[derive(Template)]
#[template(path = "centre/extension_page.html")]
struct ExtensionPage {
    chrome: Chrome,
    tracking_number: String,
    extension: ExtensionFormView,
}

/// `POST /console/cases/{id}/extension`: files the request, then back to `back` (or
/// the case page); refused, the form again with the message and what was typed.
#[utoipa::path(post, path = "/console/cases/{id}/extension", tag = "pages", operation_id = "post_console_cases_id_extension",
    summary = "申请延期 (Asks for more time)",
    params(("id" = uuid::Uuid, Path, description = "The case")),
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        (status = 200, description = "有误时重新显示表单 (The form again with what is wrong)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
pub(super) async fn request(
    State(state): State<RoutingState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<ExtensionForm>,
) -> Result<Response, PageError> {
    let case: CaseId = id.parse().map_err(|_| PageError::not_found())?;
    let body = AskBody {
        reason: form.reason.clone(),
        until: form.until.clone(),
    };
    let back = if safe_next(&form.back) {
        form.back.clone()
    } else {
        format!("/console/cases/{case}")
    };
    match ask(&state, &staff.principal, case, &body).await {
        Ok(_) => {
            let sep = if back.contains('?') { '&' } else { '?' };
            Ok(see_other(&format!("{back}{sep}ok=extension")))
        }
        Err(ApiError::NotFound) => Err(PageError::not_found()),
        Err(err @ (ApiError::Internal(_) | ApiError::Unauthorized)) => Err(err.into()),
        Err(other) => {
            let status = other.status();
            let mut tx = state.db.tenant(staff.tenant).await?;
            let (tracking, zone): (String, String) = sqlx::query_as(
                "SELECT c.tracking_number, t.time_zone FROM routing.cases c JOIN routing.tenants t ON t.id = c.tenant_id \
                 WHERE c.tenant_id = $1 AND c.id = $2",
            )
            .bind(staff.tenant.as_uuid())
            .bind(case.as_uuid())
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(render(
                status,
                &ExtensionPage {
                    chrome: staff.chrome,
                    tracking_number: tracking,
                    extension: ExtensionFormView {
                        error: Some(message_of(other)),
                        reason: form.reason,
                        until: form.until,
                        back,
                        ..ExtensionFormView::for_case(
                            case.as_uuid(),
                            zone.parse().unwrap_or(chrono_tz::Asia::Shanghai),
                        )
                    },
                },
            ))
        }
    }
}
