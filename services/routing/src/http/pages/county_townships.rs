//! The county's home (`/county`, 乡镇): every township with its status and its open
//! and overdue cases; for the county's administrators the form that creates a township
//! with its first administrator (the one-time code shown once, on the page after), and
//! suspend / resume behind a confirmation page. The work is the JSON endpoints'
//! (`create_township`, `set_township_status`).

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use mashang_auth::permissions::Action;
use mashang_domain::case::CaseState;
use mashang_domain::tenant::TenantStatus;
use mashang_domain::{TenantCode, TenantId};
use serde::Deserialize;

use super::county::{County, Errors, error_for, form_errors, notice};
use super::layout::{Chrome, PageError, render, see_other};
use crate::RoutingState;
use crate::directory::tenants::{TenantRow, list_tenants, tenant_by_code};
use crate::http::county::{
    CreatedTownship, NewAdmin, NewTownship, create_township, set_township_status,
};
use mashang_http::openapi::{FormErrors, Html, PageErrors};

/// A township's line.
struct Line {
    code: String,
    name: String,
    active: bool,
    open: i64,
    overdue: i64,
}

/// What the create form holds, as typed.
#[derive(Clone, Debug, Default, Deserialize)]
pub(super) struct TownshipForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    contact_phone: String,
    #[serde(default)]
    admin_name: String,
    #[serde(default)]
    admin_phone: String,
    #[serde(default)]
    admin_username: String,
}

impl TownshipForm {
    fn input(&self) -> NewTownship {
        NewTownship {
            code: self.code.trim().to_owned(),
            name: self.name.clone(),
            time_zone: None,
            contact_phone: Some(self.contact_phone.clone()),
            admin: Some(NewAdmin {
                name: self.admin_name.clone(),
                phone: self.admin_phone.clone(),
                username: Some(self.admin_username.clone()),
            }),
        }
    }
}

#[derive(Template)]
#[template(path = "county/townships.html")]
struct TownshipsPage {
    chrome: Chrome,
    lines: Vec<Line>,
    manage: bool,
    add: TownshipForm,
    errors: Errors,
    notice: Option<&'static str>,
}

impl TownshipsPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

/// The states in which a case still runs against a deadline: everything but
/// followed-up, closed and invalid.
fn open_states() -> Vec<&'static str> {
    CaseState::ALL
        .into_iter()
        .filter(|s| {
            !matches!(
                s,
                CaseState::FollowedUp | CaseState::Closed | CaseState::Invalid
            )
        })
        .map(CaseState::as_str)
        .collect()
}

/// A township's open cases, and how many of them are past a deadline (their own next
/// deadline or the county's).
async fn counts(state: &RoutingState, tenant: &TenantRow) -> Result<(i64, i64), PageError> {
    let mut tx = state.db.tenant(TenantId::from_uuid(tenant.id)).await?;
    let row: (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE list_deadline < now() OR county_overdue_at IS NOT NULL) \
         FROM routing.cases WHERE tenant_id = $1 AND state = ANY($2)",
    )
    .bind(tenant.id)
    .bind(open_states())
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(row)
}

async fn build(
    state: &RoutingState,
    county: County,
    add: TownshipForm,
    errors: Errors,
    notice: Option<&'static str>,
) -> Result<TownshipsPage, PageError> {
    county.require(Action::ViewCounty)?;
    let mut lines = Vec::new();
    for tenant in list_tenants(&state.db).await? {
        let (open, overdue) = counts(state, &tenant).await?;
        lines.push(Line {
            active: tenant.status == TenantStatus::Active.as_str(),
            code: tenant.code,
            name: tenant.name,
            open,
            overdue,
        });
    }
    Ok(TownshipsPage {
        manage: county.may(Action::ManageTenants),
        chrome: county.chrome,
        lines,
        add,
        errors,
        notice,
    })
}

#[derive(Debug, Deserialize)]
pub(super) struct Done {
    ok: Option<String>,
}

/// `GET /county`.
#[utoipa::path(get, path = "/county", tag = "pages", operation_id = "get_county",
    summary = "乡镇一览 (The county townships page)",
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        PageErrors,
    ))]
pub(super) async fn page(
    State(state): State<RoutingState>,
    county: County,
    Query(done): Query<Done>,
) -> Result<Response, PageError> {
    let page = build(
        &state,
        county,
        TownshipForm::default(),
        Vec::new(),
        notice(done.ok.as_deref()),
    )
    .await?;
    Ok(render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "county/created.html")]
struct CreatedPage {
    chrome: Chrome,
    created: CreatedTownship,
}

/// `POST /county/townships`: the new township and its administrator's one-time code
/// on the page that answers (shown this once); refused, the form again with what was
/// typed and why (422).
#[utoipa::path(post, path = "/county/townships", tag = "pages", operation_id = "post_county_townships",
    summary = "开通乡镇 (Opens a township)",
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        (status = 200, description = "有误时重新显示表单 (The form again with what is wrong)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
pub(super) async fn create(
    State(state): State<RoutingState>,
    county: County,
    Form(form): Form<TownshipForm>,
) -> Result<Response, PageError> {
    county.require(Action::ManageTenants)?;
    match create_township(&state, &county.principal, &form.input()).await {
        Ok(created) => Ok(render(
            StatusCode::OK,
            &CreatedPage {
                chrome: county.chrome,
                created,
            },
        )),
        Err(err) => {
            let errors = form_errors(err)?;
            let page = build(&state, county, form, errors, None).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

/// Which change a path names.
fn change_of(raw: &str) -> Result<TenantStatus, PageError> {
    match raw {
        "suspend" => Ok(TenantStatus::Suspended),
        "resume" => Ok(TenantStatus::Active),
        _ => Err(PageError::not_found()),
    }
}

#[derive(Template)]
#[template(path = "county/confirm.html")]
struct ConfirmPage {
    chrome: Chrome,
    code: String,
    name: String,
    suspend: bool,
}

/// `GET /county/townships/{code}/suspend` (or `resume`): what will happen, and the
/// button that does it.
#[utoipa::path(get, path = "/county/townships/{code}/{change}", tag = "pages", operation_id = "get_county_townships_code_change",
    summary = "确认停用或恢复 (Confirms suspending or resuming a township)",
    params(("code" = String, Path, max_length = 100, description = "The township code"), ("change" = String, Path, max_length = 100, description = "`suspend` or `resume`")),
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        PageErrors,
    ))]
pub(super) async fn confirm(
    State(state): State<RoutingState>,
    county: County,
    Path((code, change)): Path<(String, String)>,
) -> Result<Response, PageError> {
    county.require(Action::ManageTenants)?;
    let to = change_of(&change)?;
    let code = TenantCode::parse(&code).map_err(|_| PageError::not_found())?;
    let tenant = tenant_by_code(&state.db, &code)
        .await?
        .ok_or_else(PageError::not_found)?;
    Ok(render(
        StatusCode::OK,
        &ConfirmPage {
            chrome: county.chrome,
            code: tenant.code.to_string(),
            name: tenant.name,
            suspend: to == TenantStatus::Suspended,
        },
    ))
}

/// `POST /county/townships/{code}/suspend` (or `resume`), then back to the list.
#[utoipa::path(post, path = "/county/townships/{code}/{change}", tag = "pages", operation_id = "post_county_townships_code_change",
    summary = "停用或恢复 (Suspends or resumes a township)",
    params(("code" = String, Path, max_length = 100, description = "The township code"), ("change" = String, Path, max_length = 100, description = "`suspend` or `resume`")),
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        (status = 200, description = "有误时重新显示表单 (The form again with what is wrong)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
pub(super) async fn change(
    State(state): State<RoutingState>,
    county: County,
    Path((code, change)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let to = change_of(&change)?;
    set_township_status(&state, &county.principal, &code, to).await?;
    Ok(see_other(match to {
        TenantStatus::Suspended => "/county?ok=suspended",
        TenantStatus::Active => "/county?ok=resumed",
    }))
}
