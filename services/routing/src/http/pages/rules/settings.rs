//! `/admin/settings`: whether new cases are assigned at once or wait for the centre
//! (受理审核), and what a missed deadline does.

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use mashang_auth::permissions::{Action, Target};
use mashang_http::FieldError;
use serde::Deserialize;

use super::{Tab, error_on, field_errors, notice};
use crate::RoutingState;
use crate::http::pages::layout::{Chrome, PageError, Staff, render, see_other};
use crate::http::settings::{Settings, TownshipSettings, save_settings, settings_of};
use mashang_http::openapi::{FormErrors, Html, PageErrors};

/// The form as typed.
#[derive(Debug, Default, Deserialize)]
pub(super) struct SettingsForm {
    #[serde(default)]
    triage_mode: String,
    #[serde(default)]
    reassign_on_breach: String,
}

impl From<TownshipSettings> for SettingsForm {
    fn from(s: TownshipSettings) -> Self {
        Self {
            triage_mode: s.triage_mode,
            reassign_on_breach: s.reassign_on_breach.to_string(),
        }
    }
}

#[derive(Debug, Template)]
#[template(path = "admin/rules_settings.html")]
struct SettingsPage {
    chrome: Chrome,
    tab: Tab,
    form: SettingsForm,
    errors: Vec<FieldError>,
    notice: Option<&'static str>,
}

impl SettingsPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        error_on(&self.errors, field)
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct OkQuery {
    ok: Option<String>,
}

/// `GET /admin/settings`.
#[utoipa::path(get, path = "/admin/settings", tag = "pages", operation_id = "get_admin_settings",
    summary = "乡镇设置 (The settings page)",
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        PageErrors,
    ))]
pub(super) async fn page(
    State(state): State<RoutingState>,
    staff: Staff,
    Query(q): Query<OkQuery>,
) -> Result<Response, PageError> {
    staff.require(Action::ConfigureRouting, Target::Township)?;
    let current = settings_of(&state, &staff.principal).await?;
    Ok(render(
        StatusCode::OK,
        &SettingsPage {
            chrome: staff.chrome,
            tab: Tab::Settings,
            form: current.into(),
            errors: Vec::new(),
            notice: notice(q.ok.as_deref()),
        },
    ))
}

/// `POST /admin/settings`.
#[utoipa::path(post, path = "/admin/settings", tag = "pages", operation_id = "post_admin_settings",
    summary = "保存设置 (Saves the settings)",
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        (status = 200, description = "有误时重新显示表单 (The form again with what is wrong)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
pub(super) async fn save(
    State(state): State<RoutingState>,
    staff: Staff,
    Form(form): Form<SettingsForm>,
) -> Result<Response, PageError> {
    staff.require(Action::ConfigureRouting, Target::Township)?;
    let reassign = match form.reassign_on_breach.as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    };
    let mut errors = Vec::new();
    if reassign.is_none() {
        errors.push(FieldError::new(
            "reassign_on_breach",
            "请选择一项 (choose one)",
        ));
    }
    if errors.is_empty() {
        let body = Settings {
            triage_mode: Some(form.triage_mode.clone()),
            reassign_on_breach: reassign,
        };
        match save_settings(&state, &staff.principal, body).await {
            Ok(_) => return Ok(see_other("/admin/settings?ok=saved")),
            Err(err) => errors = field_errors(err)?,
        }
    }
    Ok(render(
        StatusCode::UNPROCESSABLE_ENTITY,
        &SettingsPage {
            chrome: staff.chrome,
            tab: Tab::Settings,
            form,
            errors,
            notice: None,
        },
    ))
}
