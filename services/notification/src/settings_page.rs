//! `/console/notices/settings` 接收设置: a person's own SMS switch and quiet hours, as
//! a plain form (the same checks as `PUT /api/v1/inbox/settings`).

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::middleware;
use axum::response::{IntoResponse, Redirect, Response};
use mashang_auth::MaybeSignedIn;
use mashang_http::ApiError;
use mashang_web::csrf::{FormLimits, form_csrf};
use mashang_web::staff::{self, StaffHeader};

use crate::NotificationState;
use crate::pages::{ASSETS, api_refusal, failed, reader};
use crate::settings::{Quiet, QuietHours, load_person, save_person};
use mashang_http::openapi::{FormErrors, Html, PageErrors};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn routes() -> OpenApiRouter<NotificationState> {
    OpenApiRouter::new()
        .routes(routes!(page, save))
        .layer(middleware::from_fn_with_state(
            FormLimits::new(4 * 1024),
            form_csrf,
        ))
}

#[derive(Template)]
#[template(path = "notice_settings.html")]
struct SettingsPage {
    chrome: StaffHeader,
    css: String,
    saved: bool,
    error: Option<String>,
    sms: bool,
    quiet_from: String,
    quiet_until: String,
    township: Option<String>,
}

fn hhmm(q: Option<Quiet>) -> (String, String) {
    q.map_or_else(Default::default, |q| {
        (
            q.from.format("%H:%M").to_string(),
            q.until.format("%H:%M").to_string(),
        )
    })
}

async fn township_name(
    state: &NotificationState,
    tenant: mashang_domain::TenantId,
) -> Result<String, ApiError> {
    let mut tx = state.db.tenant(tenant).await?;
    let (name,): (String,) = sqlx::query_as("SELECT name FROM routing.tenants WHERE id = $1")
        .bind(tenant.as_uuid())
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(name)
}

/// `GET /console/notices/settings`.
#[utoipa::path(get, path = "/console/notices/settings", tag = "pages", operation_id = "get_console_notices_settings",
    summary = "本人通知设置页面 (The person notice settings page)",
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        PageErrors,
    ))]
async fn page(
    State(state): State<NotificationState>,
    signed_in: Result<MaybeSignedIn, ApiError>,
    uri: Uri,
) -> Response {
    let me = match reader(signed_in, &uri) {
        Ok(me) => me,
        Err(page) => return *page,
    };
    let loaded = async {
        let (sms, quiet, township) = load_person(&state, me.tenant, me.user).await?;
        Ok::<_, ApiError>((
            sms,
            quiet,
            township,
            township_name(&state, me.tenant).await?,
        ))
    };
    match loaded.await {
        Ok((sms, quiet, township, name)) => {
            let (quiet_from, quiet_until) = hhmm(quiet);
            let (tf, tu) = hhmm(township);
            let page = SettingsPage {
                chrome: StaffHeader::new(&me.principal, Some(name), &ASSETS),
                css: ASSETS.url("notices.css"),
                saved: uri.query() == Some("ok=saved"),
                error: None,
                sms,
                quiet_from,
                quiet_until,
                township: township.map(|_| format!("{tf}–{tu}")),
            };
            staff::page(StatusCode::OK, &page, &ASSETS)
        }
        Err(ApiError::Internal(err)) => failed(err),
        Err(other) => api_refusal(other),
    }
}

/// `POST /console/notices/settings`.
#[utoipa::path(post, path = "/console/notices/settings", tag = "pages", operation_id = "post_console_notices_settings",
    summary = "保存本人通知设置 (The settings form)",
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        (status = 200, description = "有误时重新显示 (The page again with what is wrong)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
async fn save(
    State(state): State<NotificationState>,
    signed_in: Result<MaybeSignedIn, ApiError>,
    uri: Uri,
    body: Bytes,
) -> Response {
    let me = match reader(signed_in, &uri) {
        Ok(me) => me,
        Err(page) => return *page,
    };
    let (mut sms, mut from, mut until) = (false, String::new(), String::new());
    for (key, value) in url::form_urlencoded::parse(&body) {
        match key.as_ref() {
            "sms" => sms = value == "1",
            "quiet_from" => from = value.trim().chars().take(8).collect(),
            "quiet_until" => until = value.trim().chars().take(8).collect(),
            _ => {}
        }
    }
    let quiet = match (from.is_empty(), until.is_empty()) {
        (true, true) => Ok(None),
        (false, false) => Ok(Some(QuietHours {
            from: from.clone(),
            until: until.clone(),
        })),
        _ => Err("开始和结束都要填，或都不填 (fill in both times, or neither)".to_owned()),
    };
    let saved: Result<(), String> = match quiet {
        Ok(q) => match save_person(&state, me.tenant, me.user, sms, &q).await {
            Ok(_) => return Redirect::to("/console/notices/settings?ok=saved").into_response(),
            Err(ApiError::Validation(errors)) => Err(errors
                .into_iter()
                .map(|e| e.message)
                .collect::<Vec<_>>()
                .join("；")),
            Err(ApiError::Internal(err)) => return failed(err),
            Err(other) => return api_refusal(other),
        },
        Err(message) => Err(message),
    };
    let Err(error) = saved else {
        return Redirect::to("/console/notices/settings").into_response();
    };
    let name = township_name(&state, me.tenant).await.unwrap_or_default();
    let township = load_person(&state, me.tenant, me.user)
        .await
        .ok()
        .and_then(|t| t.2);
    let (tf, tu) = hhmm(township);
    let page = SettingsPage {
        chrome: StaffHeader::new(&me.principal, Some(name), &ASSETS),
        css: ASSETS.url("notices.css"),
        saved: false,
        error: Some(error),
        sms,
        quiet_from: from,
        quiet_until: until,
        township: township.map(|_| format!("{tf}–{tu}")),
    };
    staff::page(StatusCode::UNPROCESSABLE_ENTITY, &page, &ASSETS)
}
