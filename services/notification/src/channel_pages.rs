//! `/admin/channels` 通知渠道: the township administrator's page for the outside
//! channels: the list with where each sends, what it serves, how its messages fared in
//! the last seven days and why some failed; add one (a webhook's signing secret shown
//! once); send a test message and read the provider's answer; switch off or remove.
//! Plain forms, checked by the same functions as `/api/v1/admin/channels`.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use mashang_auth::{MaybeSignedIn, Principal};
use mashang_domain::TenantId;
use mashang_http::ApiError;
use mashang_web::csrf::{FormLimits, form_csrf};
use mashang_web::staff::{self, StaffHeader};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::NotificationState;
use crate::channels::{
    ChannelBody, ChannelView, admin, create_channel, list_channels, remove_channel, test_channel,
    update_channel,
};
use crate::delivery::{ChannelKind, plan};
use crate::pages::{ASSETS, api_refusal, failed};

/// The largest form the page takes.
const MAX_FORM: usize = 8 * 1024;

pub(crate) fn routes() -> Router<NotificationState> {
    Router::new()
        .route("/admin/channels", get(page).post(add))
        .route("/admin/channels/{id}/test", post(test))
        .route("/admin/channels/{id}/active", post(set_active))
        .route("/admin/channels/{id}/delete", post(delete))
        .layer(middleware::from_fn_with_state(
            FormLimits::new(MAX_FORM),
            form_csrf,
        ))
}

/// A channel as the page shows it.
#[derive(Debug)]
struct Line {
    id: Uuid,
    name: String,
    kind_zh: &'static str,
    hint: String,
    scope: String,
    events: String,
    per_minute: i32,
    active: bool,
    sent: i64,
    queued: i64,
    failed: i64,
    /// (when, why) of the latest failed or dead deliveries.
    problems: Vec<(String, String)>,
}

/// The add form as typed.
#[derive(Debug, Default)]
struct Typed {
    kind: String,
    name: String,
    url: String,
    node_id: String,
    per_minute: String,
    events: Vec<String>,
    /// An e-mail channel's server.
    smtp_host: String,
    smtp_port: String,
    smtp_tls: String,
    smtp_from: String,
    smtp_user: String,
}

/// A test's result.
#[derive(Debug)]
struct Tested {
    channel: String,
    ok: bool,
    summary: String,
    status: Option<i64>,
    answer: String,
}

#[derive(Template)]
#[template(path = "channels.html")]
struct ChannelsPage {
    chrome: StaffHeader,
    css: String,
    notice: Option<&'static str>,
    secret: Option<String>,
    tested: Option<Tested>,
    channels: Vec<Line>,
    kinds: Vec<(&'static str, &'static str)>,
    tls_modes: Vec<(&'static str, &'static str)>,
    events: Vec<(&'static str, &'static str)>,
    nodes: Vec<(String, String)>,
    form: Typed,
    errors: Vec<(String, String)>,
}

impl ChannelsPage {
    fn chosen(&self, event: &str) -> bool {
        self.form.events.iter().any(|e| e == event)
    }

    fn error_for(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
}

/// Each event type in words.
fn event_label(event: &str) -> &'static str {
    match event {
        "case.assigned" => "新案件 (new case)",
        "case.reminded" => "催办 (reminder)",
        "case.escalated" => "超时督办 (escalated)",
        "case.transferred" => "改派 (transferred)",
        "case.returned" => "退单 (returned)",
        "case.reopened" => "重办 (reopened)",
        "case.invalidated" => "无效 (invalid)",
        "case.closed" => "办结 (closed)",
        crate::digest::MORNING_EVENT => "每日晨报 (morning digest)",
        _ => "其他",
    }
}

/// The administrator, or the page that answers instead.
fn administrator(
    signed_in: Result<MaybeSignedIn, ApiError>,
) -> Result<(Principal, TenantId), Box<Response>> {
    let principal = match signed_in {
        Ok(MaybeSignedIn(Some(p))) => p,
        Ok(MaybeSignedIn(None)) => {
            // A form's own address answers only POST: back to the page.
            return Err(Box::new(
                Redirect::to(&staff::login_then(Some("/admin/channels"))).into_response(),
            ));
        }
        Err(err) => return Err(Box::new(api_refusal(err))),
    };
    match admin(&principal) {
        Ok(tenant) => Ok((principal, tenant)),
        Err(_) => Err(Box::new(staff::refuse(
            StatusCode::FORBIDDEN,
            "只有镇管理员能设置通知渠道。(Only the township's administrators set channels.)",
            principal.csrf.as_deref(),
            &ASSETS,
        ))),
    }
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    ok: Option<String>,
}

fn done_notice(ok: Option<&str>) -> Option<&'static str> {
    Some(match ok? {
        "added" => "渠道已添加。(Channel added.)",
        "on" => "渠道已启用。(Channel switched on.)",
        "off" => "渠道已停用，不再发送。(Channel switched off.)",
        "removed" => "渠道已删除。(Channel removed.)",
        _ => return None,
    })
}

/// `GET /admin/channels`.
async fn page(
    State(state): State<NotificationState>,
    signed_in: Result<MaybeSignedIn, ApiError>,
    Query(q): Query<PageQuery>,
) -> Response {
    let (principal, tenant) = match administrator(signed_in) {
        Ok(me) => me,
        Err(page) => return *page,
    };
    let extra = Extra {
        notice: done_notice(q.ok.as_deref()),
        ..Extra::default()
    };
    render(&state, &principal, tenant, StatusCode::OK, extra).await
}

/// What a page shows beyond the list.
#[derive(Debug, Default)]
struct Extra {
    notice: Option<&'static str>,
    secret: Option<String>,
    tested: Option<Tested>,
    form: Typed,
    errors: Vec<(String, String)>,
}

async fn render(
    state: &NotificationState,
    principal: &Principal,
    tenant: TenantId,
    status: StatusCode,
    extra: Extra,
) -> Response {
    let loaded = async {
        let channels = list_channels(state, principal).await?;
        let mut tx = state.db.tenant(tenant).await?;
        let (township, zone): (String, String) =
            sqlx::query_as("SELECT name, time_zone FROM routing.tenants WHERE id = $1")
                .bind(tenant.as_uuid())
                .fetch_one(&mut *tx)
                .await?;
        let nodes: Vec<(Uuid, String, String)> = sqlx::query_as(
            "SELECT id, name, kind FROM routing.grid_nodes WHERE tenant_id = $1 AND active \
             ORDER BY kind, position, name LIMIT 2000",
        )
        .bind(tenant.as_uuid())
        .fetch_all(&mut *tx)
        .await?;
        let counts: Vec<(Uuid, String, i64)> = sqlx::query_as(
            "SELECT channel_id, state, count(*) FROM notification.deliveries \
             WHERE tenant_id = $1 AND created_at > now() - interval '7 days' GROUP BY channel_id, state",
        )
        .bind(tenant.as_uuid())
        .fetch_all(&mut *tx)
        .await?;
        let problems: Vec<(Uuid, DateTime<Utc>, Option<String>)> = sqlx::query_as(
            "SELECT channel_id, created_at, last_error FROM ( \
               SELECT channel_id, created_at, last_error, \
                      row_number() OVER (PARTITION BY channel_id ORDER BY created_at DESC) AS n \
               FROM notification.deliveries WHERE tenant_id = $1 AND state IN ('failed', 'dead') \
                 AND created_at > now() - interval '7 days') p WHERE n <= 5",
        )
        .bind(tenant.as_uuid())
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok::<_, ApiError>((channels, township, zone, nodes, counts, problems))
    };
    let (channels, township, zone, nodes, counts, problems) = match loaded.await {
        Ok(all) => all,
        Err(ApiError::Internal(err)) => return failed(err),
        Err(other) => return api_refusal(other),
    };
    let zone: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::Asia::Shanghai);
    let node_names: HashMap<Uuid, String> = nodes
        .iter()
        .map(|(id, name, _)| (*id, name.clone()))
        .collect();
    let count = |id: Uuid, states: &[&str]| -> i64 {
        counts
            .iter()
            .filter(|(c, s, _)| *c == id && states.contains(&s.as_str()))
            .map(|(_, _, n)| n)
            .sum()
    };
    let lines = channels
        .into_iter()
        .map(|c: ChannelView| Line {
            id: c.id,
            kind_zh: ChannelKind::parse(&c.kind).map_or("", ChannelKind::name_zh),
            hint: c.url_hint.clone().unwrap_or_else(|| mail_hint(&c.settings)),
            scope: c
                .node_id
                .map(|n| {
                    node_names
                        .get(&n)
                        .cloned()
                        .unwrap_or_else(|| "（已停用的节点）".into())
                })
                .unwrap_or_else(|| "全镇 (whole township)".to_owned()),
            events: c.events.as_ref().map_or_else(
                || "全部 (all)".to_owned(),
                |list| {
                    list.iter()
                        .map(|e| event_label(e))
                        .collect::<Vec<_>>()
                        .join("、")
                },
            ),
            per_minute: c.per_minute,
            active: c.active,
            sent: count(c.id, &["sent", "delivered"]),
            queued: count(c.id, &["queued"]),
            failed: count(c.id, &["failed", "dead"]),
            problems: problems
                .iter()
                .filter(|(ch, ..)| *ch == c.id)
                .map(|(_, at, why)| {
                    (
                        at.with_timezone(&zone)
                            .format("%-m月%-d日 %H:%M")
                            .to_string(),
                        why.clone().unwrap_or_default(),
                    )
                })
                .collect(),
            name: c.name,
        })
        .collect();
    let mut form = extra.form;
    if form.kind.is_empty() {
        form.kind = "wecom".to_owned();
    }
    if form.per_minute.is_empty() {
        form.per_minute = "20".to_owned();
    }
    if form.smtp_tls.is_empty() {
        form.smtp_tls = "starttls".to_owned();
    }
    let page = ChannelsPage {
        chrome: StaffHeader::new(principal, Some(township), &ASSETS),
        css: ASSETS.url("notices.css"),
        notice: extra.notice,
        secret: extra.secret,
        tested: extra.tested,
        channels: lines,
        kinds: [
            ChannelKind::Wecom,
            ChannelKind::Dingtalk,
            ChannelKind::Webhook,
            ChannelKind::Email,
        ]
        .into_iter()
        .map(|k| (k.as_str(), k.name_zh()))
        .collect(),
        tls_modes: vec![
            ("starttls", "STARTTLS（常用端口587）"),
            ("implicit", "SSL/TLS（常用端口465）"),
            ("none", "不加密（仅内网中继）"),
        ],
        events: plan::EVENTS
            .iter()
            .map(|e| e.as_str())
            .chain([crate::digest::MORNING_EVENT])
            .map(|e| (e, event_label(e)))
            .collect(),
        nodes: nodes
            .into_iter()
            .map(|(id, name, kind)| (id.to_string(), format!("{name}（{}）", kind_zh(&kind))))
            .collect(),
        form,
        errors: extra.errors,
    };
    staff::page(status, &page, &ASSETS)
}

/// Where an e-mail channel sends from: `smtp.example.com:465 · 综治中心 <zz@example.com>`.
fn mail_hint(settings: &Value) -> String {
    match (settings["host"].as_str(), settings["port"].as_u64()) {
        (Some(host), Some(port)) => format!(
            "{host}:{port} · {}",
            settings["from"].as_str().unwrap_or_default()
        ),
        _ => String::new(),
    }
}

fn kind_zh(kind: &str) -> &'static str {
    match kind {
        "township" => "镇",
        "village" => "村",
        "grid" => "网格",
        _ => "节点",
    }
}

/// The form's fields (`events` may repeat), trimmed and bounded by the layer's size.
fn read_form(body: &[u8]) -> Typed {
    let mut typed = Typed::default();
    for (key, value) in url::form_urlencoded::parse(body) {
        let value = value.trim().to_owned();
        match key.as_ref() {
            "kind" => typed.kind = value,
            "name" => typed.name = value,
            "url" => typed.url = value,
            "node_id" => typed.node_id = value,
            "per_minute" => typed.per_minute = value,
            "events" if typed.events.len() < 20 => typed.events.push(value),
            "smtp_host" => typed.smtp_host = value,
            "smtp_port" => typed.smtp_port = value,
            "smtp_tls" => typed.smtp_tls = value,
            "smtp_from" => typed.smtp_from = value,
            "smtp_user" => typed.smtp_user = value,
            _ => {}
        }
    }
    typed
}

/// `POST /admin/channels`.
async fn add(
    State(state): State<NotificationState>,
    signed_in: Result<MaybeSignedIn, ApiError>,
    body: Bytes,
) -> Response {
    let (principal, tenant) = match administrator(signed_in) {
        Ok(me) => me,
        Err(page) => return *page,
    };
    let typed = read_form(&body);
    let secret = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "secret")
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty());
    let per_minute = match typed.per_minute.parse::<i32>() {
        Ok(n) => Some(n),
        Err(_) if typed.per_minute.is_empty() => None,
        Err(_) => Some(0),
    };
    let mut settings = json!({"url": typed.url});
    if let Some(s) = &secret {
        settings["secret"] = Value::String(s.clone());
    }
    if typed.kind == ChannelKind::Email.as_str() {
        let password = url::form_urlencoded::parse(&body)
            .find(|(k, _)| k == "smtp_password")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        settings = json!({
            "host": typed.smtp_host, "tls": typed.smtp_tls, "from": typed.smtp_from,
            "user": typed.smtp_user, "password": password,
        });
        if !typed.smtp_port.is_empty() {
            settings["port"] = Value::String(typed.smtp_port.clone());
        }
    }
    let request = ChannelBody {
        kind: Some(typed.kind.clone()),
        name: Some(typed.name.clone()),
        settings: Some(settings),
        node_id: Some((!typed.node_id.is_empty()).then(|| typed.node_id.clone())),
        events: Some((!typed.events.is_empty()).then(|| typed.events.clone())),
        per_minute,
        active: None,
        rotate_receipt_token: None,
    };
    match create_channel(&state, &principal, &request).await {
        Ok(made) => match made.get("secret").and_then(Value::as_str) {
            // Shown once, on this page: no redirect that would lose it.
            Some(secret) => {
                let extra = Extra {
                    notice: done_notice(Some("added")),
                    secret: Some(secret.to_owned()),
                    ..Extra::default()
                };
                render(&state, &principal, tenant, StatusCode::OK, extra).await
            }
            None => Redirect::to("/admin/channels?ok=added").into_response(),
        },
        Err(ApiError::Validation(errors)) => {
            let extra = Extra {
                form: typed,
                errors: errors.into_iter().map(|e| (e.field, e.message)).collect(),
                ..Extra::default()
            };
            render(
                &state,
                &principal,
                tenant,
                StatusCode::UNPROCESSABLE_ENTITY,
                extra,
            )
            .await
        }
        Err(ApiError::Conflict(message)) => {
            let extra = Extra {
                form: typed,
                errors: vec![("name".to_owned(), message)],
                ..Extra::default()
            };
            render(&state, &principal, tenant, StatusCode::CONFLICT, extra).await
        }
        Err(ApiError::Internal(err)) => failed(err),
        Err(other) => api_refusal(other),
    }
}

fn channel_id(raw: &str) -> Option<Uuid> {
    raw.parse().ok()
}

fn not_found(principal: &Principal) -> Response {
    staff::refuse(
        StatusCode::NOT_FOUND,
        mashang_web::strings::NOT_FOUND,
        principal.csrf.as_deref(),
        &ASSETS,
    )
}

/// `POST /admin/channels/{id}/test`: the provider's answer on the page.
async fn test(
    State(state): State<NotificationState>,
    signed_in: Result<MaybeSignedIn, ApiError>,
    Path(id): Path<String>,
) -> Response {
    let (principal, tenant) = match administrator(signed_in) {
        Ok(me) => me,
        Err(page) => return *page,
    };
    let Some(id) = channel_id(&id) else {
        return not_found(&principal);
    };
    let name = list_channels(&state, &principal)
        .await
        .ok()
        .and_then(|all| all.into_iter().find(|c| c.id == id).map(|c| c.name));
    match test_channel(&state, &principal, id).await {
        Ok(answer) => {
            let outcome = answer["outcome"].as_str().unwrap_or_default();
            let summary = match outcome {
                "sent" => "对方已接收，请到群里或接收方查看。(Accepted: look in the group or at the receiver.)".to_owned(),
                "retry" => format!(
                    "暂时没有发出，稍后会自动重试：{} (Not sent yet; it would be retried.)",
                    answer["reason"].as_str().unwrap_or_default()
                ),
                _ => format!(
                    "没有发出：{} (Not sent.)",
                    answer["reason"].as_str().unwrap_or_default()
                ),
            };
            let extra = Extra {
                tested: Some(Tested {
                    channel: name.unwrap_or_default(),
                    ok: outcome == "sent",
                    summary,
                    status: answer["http_status"].as_i64(),
                    answer: answer["answer"].as_str().unwrap_or_default().to_owned(),
                }),
                ..Extra::default()
            };
            render(&state, &principal, tenant, StatusCode::OK, extra).await
        }
        Err(ApiError::NotFound) => not_found(&principal),
        Err(ApiError::Internal(err)) => failed(err),
        Err(other) => api_refusal(other),
    }
}

#[derive(Debug, Deserialize)]
struct ActiveForm {
    #[serde(default)]
    active: String,
}

/// `POST /admin/channels/{id}/active`.
async fn set_active(
    State(state): State<NotificationState>,
    signed_in: Result<MaybeSignedIn, ApiError>,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<ActiveForm>,
) -> Response {
    let (principal, _) = match administrator(signed_in) {
        Ok(me) => me,
        Err(page) => return *page,
    };
    let Some(id) = channel_id(&id) else {
        return not_found(&principal);
    };
    let on = form.active == "true";
    let change = ChannelBody {
        kind: None,
        name: None,
        settings: None,
        node_id: None,
        events: None,
        per_minute: None,
        active: Some(on),
        rotate_receipt_token: None,
    };
    match update_channel(&state, &principal, id, &change).await {
        Ok(_) => Redirect::to(if on {
            "/admin/channels?ok=on"
        } else {
            "/admin/channels?ok=off"
        })
        .into_response(),
        Err(ApiError::NotFound) => not_found(&principal),
        Err(ApiError::Internal(err)) => failed(err),
        Err(other) => api_refusal(other),
    }
}

/// `POST /admin/channels/{id}/delete`.
async fn delete(
    State(state): State<NotificationState>,
    signed_in: Result<MaybeSignedIn, ApiError>,
    Path(id): Path<String>,
) -> Response {
    let (principal, _) = match administrator(signed_in) {
        Ok(me) => me,
        Err(page) => return *page,
    };
    let Some(id) = channel_id(&id) else {
        return not_found(&principal);
    };
    match remove_channel(&state, &principal, id).await {
        Ok(()) => Redirect::to("/admin/channels?ok=removed").into_response(),
        Err(ApiError::NotFound) => not_found(&principal),
        Err(ApiError::Internal(err)) => failed(err),
        Err(other) => api_refusal(other),
    }
}
