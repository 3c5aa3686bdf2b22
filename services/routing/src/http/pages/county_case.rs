//! Opening a township's case from the county (`/county/cases/{code}/{id}`): first
//! the reason (督办, 核查, 投诉 or other, with words), recorded in the township's
//! `county_case_views` with who and when; then the case as the township sees it, drawn
//! by the console's case page with no action forms and the citizen's phone masked
//! (`/county/views/{code}/{view}`). A view opens the case and its files for its viewer
//! for [`VIEW_MINUTES`]; after that the reason is asked again.

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use mashang_auth::permissions::Action;
use mashang_domain::CaseId;
use serde::Deserialize;
use uuid::Uuid;

use super::case_page::build;
use super::county::{County, Errors, error_for};
use super::layout::{Chrome, PageError, Staff, render, see_other};
use crate::RoutingState;
use crate::directory::tenants::Tenant;
use crate::http::county_cases::township_case;
use mashang_http::openapi::{Binary, FormErrors, Html, PageErrors};

/// How long a recorded view shows its case and files.
pub(super) const VIEW_MINUTES: i64 = 120;
/// The longest reason in words.
const MAX_REASON_CHARS: usize = 200;

/// Why a county person opens a case.
const REASONS: [(&str, &str, &str); 4] = [
    ("supervision", "督办", "supervision"),
    ("verification", "核查", "verification"),
    ("complaint", "投诉", "a complaint"),
    ("other", "其他", "other"),
];

/// A reason's Chinese label.
pub(super) fn reason_zh(code: &str) -> &'static str {
    REASONS
        .iter()
        .find(|(c, ..)| *c == code)
        .map_or("其他", |(_, zh, _)| zh)
}

/// The case a view is about, as the reason form and the banner name it.
struct Named {
    tenant: Tenant,
    id: CaseId,
    tracking_number: String,
}

async fn named(state: &RoutingState, code: &str, id: &str) -> Result<Named, PageError> {
    let (tenant, id) = township_case(state, code, id).await?;
    let mut tx = state.db.tenant(tenant.id).await?;
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT tracking_number FROM routing.cases WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.id.as_uuid())
    .bind(id.as_uuid())
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    let (tracking_number,) = row.ok_or_else(PageError::not_found)?;
    Ok(Named {
        tenant,
        id,
        tracking_number,
    })
}

/// The reason form as sent.
#[derive(Clone, Debug, Default, Deserialize)]
pub(super) struct ReasonForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    reason_text: String,
}

#[derive(Template)]
#[template(path = "county/open.html")]
struct AskPage {
    chrome: Chrome,
    code: String,
    township: String,
    id: Uuid,
    tracking_number: String,
    reasons: [(&'static str, &'static str, &'static str); 4],
    form: ReasonForm,
    errors: Errors,
    max_reason: usize,
}

impl AskPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

fn ask_page(county: County, case: Named, form: ReasonForm, errors: Errors) -> AskPage {
    AskPage {
        chrome: county.chrome,
        code: case.tenant.code.to_string(),
        township: case.tenant.name,
        id: case.id.as_uuid(),
        tracking_number: case.tracking_number,
        reasons: REASONS,
        form,
        errors,
        max_reason: MAX_REASON_CHARS,
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct AskQuery {
    reason: Option<String>,
}

/// `GET /county/cases/{code}/{id}`: why open this case? (`?reason=` picks one.)
#[utoipa::path(get, path = "/county/cases/{code}/{id}", tag = "pages", operation_id = "get_county_cases_code_id",
    summary = "查看事件 (Asks why the county opens a case)",
    params(("code" = String, Path, max_length = 100, description = "The township code"), ("id" = uuid::Uuid, Path, description = "The case")),
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        PageErrors,
    ))]
pub(super) async fn ask(
    State(state): State<RoutingState>,
    county: County,
    Path((code, id)): Path<(String, String)>,
    Query(q): Query<AskQuery>,
) -> Result<Response, PageError> {
    county.require(Action::ViewCase)?;
    let case = named(&state, &code, &id).await?;
    let form = ReasonForm {
        reason: q
            .reason
            .filter(|r| REASONS.iter().any(|(c, ..)| c == r))
            .unwrap_or_default(),
        reason_text: String::new(),
    };
    Ok(render(
        StatusCode::OK,
        &ask_page(county, case, form, Vec::new()),
    ))
}

/// The reason and its words, checked: a known reason, words at most
/// [`MAX_REASON_CHARS`], and words for "other".
fn check(form: &ReasonForm) -> Result<(&'static str, Option<String>), Errors> {
    let mut errors = Errors::new();
    let reason = REASONS
        .iter()
        .find(|(c, ..)| *c == form.reason)
        .map(|r| r.0);
    if reason.is_none() {
        errors.push((
            "reason".into(),
            "请选择查阅事由 (choose why you open this case)".into(),
        ));
    }
    let text = form.reason_text.trim();
    if text.chars().count() > MAX_REASON_CHARS {
        errors.push((
            "reason_text".into(),
            format!("说明最多 {MAX_REASON_CHARS} 字 (at most {MAX_REASON_CHARS} characters)"),
        ));
    } else if reason == Some("other") && text.is_empty() {
        errors.push((
            "reason_text".into(),
            "选“其他”时请写明事由 (say why)".into(),
        ));
    }
    match reason {
        Some(r) if errors.is_empty() => Ok((r, (!text.is_empty()).then(|| text.to_owned()))),
        _ => Err(errors),
    }
}

/// `POST /county/cases/{code}/{id}`: records the view with its reason, then shows the
/// case; without a reason the form again (422).
#[utoipa::path(post, path = "/county/cases/{code}/{id}", tag = "pages", operation_id = "post_county_cases_code_id",
    summary = "打开事件 (Opens a case, with the reason recorded)",
    params(("code" = String, Path, max_length = 100, description = "The township code"), ("id" = uuid::Uuid, Path, description = "The case")),
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        (status = 200, description = "有误时重新显示表单 (The form again with what is wrong)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
pub(super) async fn open(
    State(state): State<RoutingState>,
    county: County,
    Path((code, id)): Path<(String, String)>,
    Form(form): Form<ReasonForm>,
) -> Result<Response, PageError> {
    county.require(Action::ViewCase)?;
    let case = named(&state, &code, &id).await?;
    let (reason, text) = match check(&form) {
        Ok(checked) => checked,
        Err(errors) => {
            return Ok(render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &ask_page(county, case, form, errors),
            ));
        }
    };
    let viewer = county
        .principal
        .user()
        .ok_or_else(|| PageError::forbidden("需要以本人账号登录。(Sign in as yourself.)"))?;
    let view = Uuid::now_v7();
    let mut tx = state.db.tenant(case.tenant.id).await?;
    sqlx::query(
        "INSERT INTO routing.county_case_views (id, tenant_id, case_id, viewer_id, reason, reason_text) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(view)
    .bind(case.tenant.id.as_uuid())
    .bind(case.id.as_uuid())
    .bind(viewer.as_uuid())
    .bind(reason)
    .bind(&text)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(see_other(&format!(
        "/county/views/{}/{view}",
        case.tenant.code
    )))
}

/// A recorded view the viewer may still use.
struct View {
    tenant: Tenant,
    case: CaseId,
    reason: String,
    reason_text: Option<String>,
}

/// The view `view` of the township `code` if it is the signed-in person's and recent;
/// 404 when it is not theirs or not there, 410 when it is too old.
async fn view_of(
    state: &RoutingState,
    county: &County,
    code: &str,
    view: &str,
) -> Result<View, PageError> {
    let code = mashang_domain::TenantCode::parse(code).map_err(|_| PageError::not_found())?;
    let tenant = crate::directory::tenants::tenant_by_code(&state.db, &code)
        .await?
        .ok_or_else(PageError::not_found)?;
    let view: Uuid = view.parse().map_err(|_| PageError::not_found())?;
    let me = county.principal.user().map(|u| u.as_uuid());
    let mut tx = state.db.tenant(tenant.id).await?;
    let row: Option<(Uuid, String, Option<String>, DateTime<Utc>)> = sqlx::query_as(
        "SELECT case_id, reason, reason_text, viewed_at FROM routing.county_case_views \
         WHERE tenant_id = $1 AND id = $2 AND viewer_id = $3",
    )
    .bind(tenant.id.as_uuid())
    .bind(view)
    .bind(me)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    let (case, reason, reason_text, at) = row.ok_or_else(PageError::not_found)?;
    if Utc::now() - at > chrono::Duration::minutes(VIEW_MINUTES) {
        return Err(PageError::Refused {
            status: StatusCode::GONE,
            message: format!(
                "这次查阅已超过 {VIEW_MINUTES} 分钟，请回到案件查询重新说明事由后打开。(This view has expired; open the case again with a reason.)"
            ),
            csrf: Some(county.chrome.csrf.clone()),
        });
    }
    Ok(View {
        tenant,
        case: CaseId::from_uuid(case),
        reason,
        reason_text,
    })
}

/// What the console's case page shows above a case the county opened.
#[derive(Clone, Debug)]
pub(super) struct ReadOnly {
    /// The township's name.
    pub township: String,
    /// The reason given, in words.
    pub reason: String,
    /// Where the case's files are served for this view.
    pub files: String,
}

/// `GET /county/views/{code}/{view}`: the case of a view just recorded, read-only.
#[utoipa::path(get, path = "/county/views/{code}/{view}", tag = "pages", operation_id = "get_county_views_code_view",
    summary = "查阅的事件 (A case opened by the county)",
    params(("code" = String, Path, max_length = 100, description = "The township code"), ("view" = uuid::Uuid, Path, description = "The view")),
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        PageErrors,
    ))]
pub(super) async fn show(
    State(state): State<RoutingState>,
    county: County,
    Path((code, view)): Path<(String, String)>,
) -> Result<Response, PageError> {
    county.require(Action::ViewCase)?;
    let found = view_of(&state, &county, &code, &view).await?;
    let files = format!("/county/views/{}/{view}/files", found.tenant.code);
    // The console's case page, as the township's own people see it: the county's
    // roles allow none of its actions, and the phone stays masked for anyone but the
    // case's handler.
    let staff = Staff {
        principal: county.principal.clone(),
        tenant: found.tenant.id,
        chrome: county.chrome.clone(),
    };
    let mut page = build(&state, &staff, found.case, None, None, None).await?;
    for file in page.photos.iter_mut().chain(page.voice.iter_mut()) {
        if let Some((_, name)) = file.url.rsplit_once('/') {
            file.url = format!("{files}/{name}");
        }
    }
    let reason = match found.reason_text {
        Some(text) => format!("{}：{text}", reason_zh(&found.reason)),
        None => reason_zh(&found.reason).to_owned(),
    };
    page.read_only = Some(ReadOnly {
        township: found.tenant.name,
        reason,
        files,
    });
    Ok(render(StatusCode::OK, &page))
}

/// `GET /county/views/{code}/{view}/files/{file}`: a photo or voice note of the
/// viewed case, while the view lasts.
#[utoipa::path(get, path = "/county/views/{code}/{view}/files/{file}", tag = "pages", operation_id = "get_county_views_code_view_files_file",
    summary = "事件附件 (A file of a case opened by the county)",
    params(("code" = String, Path, max_length = 100, description = "The township code"), ("view" = uuid::Uuid, Path, description = "The view"), ("file" = String, Path, max_length = 100, description = "The attachment")),
    responses(
        (status = 200, description = "文件 (The file)", content_type = "application/octet-stream", body = Binary),
        PageErrors,
    ))]
pub(super) async fn file(
    State(state): State<RoutingState>,
    county: County,
    Path((code, view, file)): Path<(String, String, String)>,
) -> Result<Response, PageError> {
    county.require(Action::ViewCase)?;
    let found = view_of(&state, &county, &code, &view).await?;
    let mut tx = state.db.tenant(found.tenant.id).await?;
    let case = crate::cases::read::load(&mut tx, found.case)
        .await?
        .ok_or_else(PageError::not_found)?;
    tx.commit().await?;
    match crate::http::attachments::case_file(&state, found.tenant.id, &case, &file).await {
        Ok(response) => Ok(response),
        Err(err) => Ok(err.into_response()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(reason: &str, text: &str) -> ReasonForm {
        ReasonForm {
            reason: reason.to_owned(),
            reason_text: text.to_owned(),
        }
    }

    #[test]
    fn a_view_needs_a_known_reason_and_words_for_other() {
        assert_eq!(check(&form("supervision", "")), Ok(("supervision", None)));
        assert_eq!(
            check(&form("complaint", " 群众来电 ")),
            Ok(("complaint", Some("群众来电".to_owned())))
        );
        assert_eq!(
            check(&form("", "")).map_err(|e| e[0].0.clone()),
            Err("reason".into())
        );
        assert_eq!(
            check(&form("curious", "")).map_err(|e| e[0].0.clone()),
            Err("reason".into())
        );
        assert_eq!(
            check(&form("other", "  ")).map_err(|e| e[0].0.clone()),
            Err("reason_text".into())
        );
        assert!(check(&form("verification", &"字".repeat(201))).is_err());
    }
}
