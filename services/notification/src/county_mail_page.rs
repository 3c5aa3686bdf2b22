//! `/county/mail` 县级邮件: the county administrator's page for the county's mail
//! server and its daily digest: the server, sender and login (the password never shown
//! again), when the digest goes out and in which zone, a test e-mail to their own
//! address with the server's answer, and the newest e-mails with how they fared.
//! The same checks as `/api/v1/county/mail`.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use mashang_auth::{MaybeSignedIn, Principal};
use mashang_http::ApiError;
use mashang_web::csrf::{FormLimits, form_csrf};
use mashang_web::staff::{self, StaffHeader};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::NotificationState;
use crate::digest::county::{self, MailBody};
use crate::pages::{ASSETS, api_refusal, failed};
use mashang_http::openapi::{FormErrors, Html, PageErrors};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

const PATH: &str = "/county/mail";

pub(crate) fn routes() -> OpenApiRouter<NotificationState> {
    OpenApiRouter::new()
        .routes(routes!(page, save))
        .routes(routes!(test))
        .routes(routes!(delete))
        .layer(middleware::from_fn_with_state(
            FormLimits::new(8 * 1024),
            form_csrf,
        ))
}

/// The form as typed (or as stored).
#[derive(Debug, Default)]
struct Typed {
    host: String,
    port: String,
    tls: String,
    from: String,
    user: String,
    has_password: bool,
    digest_at: String,
    time_zone: String,
    active: bool,
}

/// One of the county's e-mails.
#[derive(Debug)]
struct Sent {
    when: String,
    kind: &'static str,
    state: &'static str,
    failed: bool,
    attempts: i64,
    why: String,
}

#[derive(Template)]
#[template(path = "county_mail.html")]
struct MailPage {
    chrome: StaffHeader,
    css: String,
    configured: bool,
    notice: Option<&'static str>,
    tested: Option<(bool, String, String)>,
    form: Typed,
    errors: Vec<(String, String)>,
    tls_modes: Vec<(&'static str, &'static str)>,
    sent: Vec<Sent>,
}

impl MailPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
}

/// The county administrator, or the page that answers instead.
fn administrator(signed_in: Result<MaybeSignedIn, ApiError>) -> Result<Principal, Box<Response>> {
    let principal = match signed_in {
        Ok(MaybeSignedIn(Some(p))) => p,
        Ok(MaybeSignedIn(None)) => {
            return Err(Box::new(
                Redirect::to(&staff::login_then(Some(PATH))).into_response(),
            ));
        }
        Err(err) => return Err(Box::new(api_refusal(err))),
    };
    match county::county_admin(&principal) {
        Ok(()) => Ok(principal),
        Err(_) => Err(Box::new(staff::refuse(
            StatusCode::FORBIDDEN,
            "只有县级管理员能设置县级邮件。(Only the county's administrators set the county's mail.)",
            principal.csrf.as_deref(),
            &ASSETS,
        ))),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct PageQuery {
    /// What was just done, for the notice on the page.
    #[param(max_length = 32)]
    ok: Option<String>,
}

/// `GET /county/mail`.
#[utoipa::path(get, path = "/county/mail", tag = "pages", operation_id = "get_county_mail",
    summary = "县级邮件设置页面 (The county mail server and digest page)",
    params(PageQuery),
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        PageErrors,
    ))]
async fn page(
    State(state): State<NotificationState>,
    signed_in: Result<MaybeSignedIn, ApiError>,
    Query(q): Query<PageQuery>,
) -> Response {
    let principal = match administrator(signed_in) {
        Ok(p) => p,
        Err(page) => return *page,
    };
    let notice = match q.ok.as_deref() {
        Some("saved") => Some("已保存。(Saved.)"),
        Some("removed") => Some("已删除县级邮件设置，不再发送。(Removed: no more county e-mail.)"),
        _ => None,
    };
    render(
        &state,
        &principal,
        StatusCode::OK,
        notice,
        None,
        None,
        Vec::new(),
    )
    .await
}

async fn render(
    state: &NotificationState,
    principal: &Principal,
    status: StatusCode,
    notice: Option<&'static str>,
    tested: Option<(bool, String, String)>,
    typed: Option<Typed>,
    errors: Vec<(String, String)>,
) -> Response {
    let loaded = async {
        let current = county::load(state).await.map_err(ApiError::internal)?;
        let sent = county::recent(state, principal).await?;
        Ok::<_, ApiError>((current, sent))
    };
    let (current, sent) = match loaded.await {
        Ok(all) => all,
        Err(ApiError::Internal(err)) => return failed(err),
        Err(other) => return api_refusal(other),
    };
    let zone = current
        .as_ref()
        .map_or(chrono_tz::Asia::Shanghai, |c| c.zone);
    let form = typed.unwrap_or_else(|| match &current {
        Some(c) => {
            let p = c.smtp.public();
            let text = |k: &str| p[k].as_str().unwrap_or_default().to_owned();
            Typed {
                host: text("host"),
                port: p["port"]
                    .as_u64()
                    .map(|n| n.to_string())
                    .unwrap_or_default(),
                tls: text("tls"),
                from: text("from"),
                user: text("user"),
                has_password: p["has_password"].as_bool().unwrap_or(false),
                digest_at: c.digest_at.format("%H:%M").to_string(),
                time_zone: c.zone.name().to_owned(),
                active: c.active,
            }
        }
        None => Typed {
            tls: "starttls".to_owned(),
            digest_at: "08:00".to_owned(),
            time_zone: "Asia/Shanghai".to_owned(),
            active: true,
            ..Typed::default()
        },
    });
    let sent = sent
        .iter()
        .take(20)
        .map(|d| {
            let state = d["state"].as_str().unwrap_or_default();
            Sent {
                when: d["created_at"]
                    .as_str()
                    .and_then(|t| t.parse::<DateTime<Utc>>().ok())
                    .map(|t| {
                        t.with_timezone(&zone)
                            .format("%-m月%-d日 %H:%M")
                            .to_string()
                    })
                    .unwrap_or_default(),
                kind: match d["kind"].as_str() {
                    Some("digest") => "每日汇总 (digest)",
                    Some("test") => "测试 (test)",
                    _ => "邮件 (e-mail)",
                },
                state: state_zh(state),
                failed: matches!(state, "failed" | "dead"),
                attempts: d["attempts"].as_i64().unwrap_or(0),
                why: d["last_error"].as_str().unwrap_or_default().to_owned(),
            }
        })
        .collect();
    let page = MailPage {
        chrome: StaffHeader::new(principal, None, &ASSETS),
        css: ASSETS.url("notices.css"),
        configured: current.is_some(),
        notice,
        tested,
        form,
        errors,
        tls_modes: vec![
            ("starttls", "STARTTLS（常用端口587）"),
            ("implicit", "SSL/TLS（常用端口465）"),
            ("none", "不加密（仅内网中继）"),
        ],
        sent,
    };
    staff::page(status, &page, &ASSETS)
}

fn state_zh(state: &str) -> &'static str {
    match state {
        "queued" => "等待发送 (queued)",
        "sent" | "delivered" => "已发出 (sent)",
        "failed" => "失败 (failed)",
        "dead" => "放弃 (gave up)",
        _ => "—",
    }
}

/// `POST /county/mail`.
#[utoipa::path(post, path = "/county/mail", tag = "pages", operation_id = "post_county_mail",
    summary = "保存县级邮件设置 (The mail settings form)",
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        (status = 200, description = "有误时重新显示 (The page again with what is wrong)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
async fn save(
    State(state): State<NotificationState>,
    signed_in: Result<MaybeSignedIn, ApiError>,
    body: Bytes,
) -> Response {
    let principal = match administrator(signed_in) {
        Ok(p) => p,
        Err(page) => return *page,
    };
    let mut typed = Typed::default();
    let mut password = String::new();
    for (key, value) in url::form_urlencoded::parse(&body) {
        let trimmed = value.trim().to_owned();
        match key.as_ref() {
            "host" => typed.host = trimmed,
            "port" => typed.port = trimmed,
            "tls" => typed.tls = trimmed,
            "from" => typed.from = trimmed,
            "user" => typed.user = trimmed,
            "password" => password = value.into_owned(),
            "digest_at" => typed.digest_at = trimmed,
            "time_zone" => typed.time_zone = trimmed,
            "active" => typed.active = trimmed == "true",
            _ => {}
        }
    }
    let mut settings = json!({
        "host": typed.host, "tls": typed.tls, "from": typed.from, "user": typed.user,
    });
    if !password.is_empty() {
        settings["password"] = Value::String(password);
    }
    if !typed.port.is_empty() {
        settings["port"] = Value::String(typed.port.clone());
    }
    let request = MailBody {
        settings: Some(settings),
        digest_at: Some(typed.digest_at.clone()),
        time_zone: Some(typed.time_zone.clone()),
        active: Some(typed.active),
    };
    match county::save(&state, &principal, &request).await {
        Ok(_) => Redirect::to("/county/mail?ok=saved").into_response(),
        Err(ApiError::Validation(errors)) => {
            let errors = errors.into_iter().map(|e| (e.field, e.message)).collect();
            render(
                &state,
                &principal,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                None,
                Some(typed),
                errors,
            )
            .await
        }
        Err(ApiError::Internal(err)) => failed(err),
        Err(other) => api_refusal(other),
    }
}

/// `POST /county/mail/test`: the server's answer on the page.
#[utoipa::path(post, path = "/county/mail/test", tag = "pages", operation_id = "post_county_mail_test",
    summary = "试发邮件 (Sends a test mail)",
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        (status = 200, description = "结果页面 (The page with the outcome)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
async fn test(
    State(state): State<NotificationState>,
    signed_in: Result<MaybeSignedIn, ApiError>,
) -> Response {
    let principal = match administrator(signed_in) {
        Ok(p) => p,
        Err(page) => return *page,
    };
    let tested = match county::send_test(&state, &principal).await {
        Ok(answer) => {
            let ok = answer["outcome"] == "sent";
            let summary = if ok {
                "邮件服务器已接收测试邮件，请查收您的邮箱。(The server took the test e-mail: look in your inbox.)".to_owned()
            } else {
                format!(
                    "没有发出：{} (Not sent.)",
                    answer["reason"].as_str().unwrap_or_default()
                )
            };
            let said = answer["answer"].as_str().unwrap_or_default().to_owned();
            (ok, summary, said)
        }
        Err(ApiError::NotFound) => (
            false,
            "请先保存邮件服务器。(Save the mail server first.)".to_owned(),
            String::new(),
        ),
        Err(ApiError::Internal(err)) => return failed(err),
        Err(other) => return api_refusal(other),
    };
    render(
        &state,
        &principal,
        StatusCode::OK,
        None,
        Some(tested),
        None,
        Vec::new(),
    )
    .await
}

/// `POST /county/mail/delete`.
#[utoipa::path(post, path = "/county/mail/delete", tag = "pages", operation_id = "post_county_mail_delete",
    summary = "删除邮件设置 (Forgets the mail server)",
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
async fn delete(
    State(state): State<NotificationState>,
    signed_in: Result<MaybeSignedIn, ApiError>,
) -> Response {
    let principal = match administrator(signed_in) {
        Ok(p) => p,
        Err(page) => return *page,
    };
    match county::forget(&state, &principal).await {
        Ok(()) | Err(ApiError::NotFound) => Redirect::to("/county/mail?ok=removed").into_response(),
        Err(ApiError::Internal(err)) => failed(err),
        Err(other) => api_refusal(other),
    }
}
