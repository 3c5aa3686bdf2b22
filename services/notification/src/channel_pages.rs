//! `/admin/channels` 通知渠道: the township administrator's page for the outside
//! channels: the list with where each sends, what it serves, how its messages fared in
//! the last seven days and why some failed; add one (a webhook's signing secret shown
//! once); send a test message and read the provider's answer; switch off or remove.
//! Plain forms, checked by the same functions as `/api/v1/admin/channels`.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Redirect, Response};
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
use crate::delivery::{ChannelKind, plan, sms};
use crate::pages::{ASSETS, api_refusal, failed};
use mashang_http::openapi::{FormErrors, Html, PageErrors};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The largest form the page takes.
const MAX_FORM: usize = 8 * 1024;

pub(crate) fn routes() -> OpenApiRouter<NotificationState> {
    OpenApiRouter::new()
        .routes(routes!(page, add))
        .routes(routes!(test))
        .routes(routes!(set_active))
        .routes(routes!(delete))
        .routes(routes!(new_receipt))
        .routes(routes!(save_rules))
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
    is_sms: bool,
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
    /// An SMS channel's settings (its key secret is never shown again).
    sms_sign_name: String,
    sms_key_id: String,
    sms_endpoint: String,
    sms_region: String,
    sms_app_id: String,
    /// Per message kind: (template code, its parameters as typed).
    sms_templates: BTreeMap<String, (String, String)>,
}

/// The sending rules as typed.
#[derive(Debug, Default)]
struct Rules {
    fallback_minutes: String,
    quiet_from: String,
    quiet_until: String,
    morning_at: String,
    morning_active: bool,
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
    receipt: Option<(String, String)>,
    tested: Option<Tested>,
    channels: Vec<Line>,
    kinds: Vec<(&'static str, &'static str)>,
    tls_modes: Vec<(&'static str, &'static str)>,
    events: Vec<(&'static str, &'static str)>,
    nodes: Vec<(String, String)>,
    form: Typed,
    errors: Vec<(String, String)>,
    /// The SMS message kinds: (kind, label, code, params) as typed.
    sms_kinds: Vec<(&'static str, &'static str, String, String)>,
    rules: Rules,
    rule_errors: Vec<(String, String)>,
}

impl ChannelsPage {
    /// The error of `a`, else of `b` (the SMS keys' names differ by provider).
    fn error_either(&self, a: &str, b: &str) -> Option<&str> {
        self.error_for(a).or_else(|| self.error_for(b))
    }

    fn rule_error(&self, field: &str) -> Option<&str> {
        self.rule_errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }

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

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct PageQuery {
    /// What was just done, for the notice on the page.
    #[param(max_length = 32)]
    ok: Option<String>,
}

fn done_notice(ok: Option<&str>) -> Option<&'static str> {
    Some(match ok? {
        "added" => "渠道已添加。(Channel added.)",
        "on" => "渠道已启用。(Channel switched on.)",
        "off" => "渠道已停用，不再发送。(Channel switched off.)",
        "removed" => "渠道已删除。(Channel removed.)",
        "rules" => "发送规则已保存。(Sending rules saved.)",
        _ => return None,
    })
}

/// `GET /admin/channels`.
#[utoipa::path(get, path = "/admin/channels", tag = "pages", operation_id = "get_admin_channels",
    summary = "通知渠道页面 (The notification channels page)",
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
    /// An SMS channel's new receipt URL: (channel name, URL), shown once.
    receipt: Option<(String, String)>,
    tested: Option<Tested>,
    form: Typed,
    errors: Vec<(String, String)>,
    /// Sending rules sent back with what was wrong.
    rules: Option<Rules>,
    rule_errors: Vec<(String, String)>,
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
        let rules = crate::settings::township(&mut tx).await?;
        let digest = crate::digest::township::settings(&mut tx).await?;
        tx.commit().await?;
        Ok::<_, ApiError>((
            channels,
            township,
            zone,
            nodes,
            counts,
            problems,
            (rules, digest),
        ))
    };
    let (channels, township, zone, nodes, counts, problems, (rules, digest)) = match loaded.await {
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
            is_sms: ChannelKind::parse(&c.kind).is_some_and(ChannelKind::is_sms),
            hint: c.url_hint.clone().unwrap_or_else(|| {
                if ChannelKind::parse(&c.kind).is_some_and(ChannelKind::is_sms) {
                    sms_hint(&c.settings, c.key_hint.as_deref())
                } else {
                    mail_hint(&c.settings)
                }
            }),
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
    let sms_kinds = sms::KINDS
        .iter()
        .map(|k| {
            let (code, params) = form.sms_templates.get(*k).cloned().unwrap_or_default();
            (*k, sms_kind_label(k), code, params)
        })
        .collect();
    let rules = extra.rules.unwrap_or_else(|| {
        let show = |t: chrono::NaiveTime| t.format("%H:%M").to_string();
        Rules {
            fallback_minutes: rules
                .sms_fallback_minutes
                .map(|m| m.to_string())
                .unwrap_or_default(),
            quiet_from: rules.quiet.map(|q| show(q.from)).unwrap_or_default(),
            quiet_until: rules.quiet.map(|q| show(q.until)).unwrap_or_default(),
            morning_at: show(digest.0),
            morning_active: digest.1,
        }
    });
    let page = ChannelsPage {
        chrome: StaffHeader::new(principal, Some(township), &ASSETS),
        css: ASSETS.url("notices.css"),
        notice: extra.notice,
        secret: extra.secret,
        receipt: extra.receipt,
        tested: extra.tested,
        channels: lines,
        kinds: [
            ChannelKind::Wecom,
            ChannelKind::Dingtalk,
            ChannelKind::SmsAliyun,
            ChannelKind::SmsTencent,
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
        sms_kinds,
        rules,
        rule_errors: extra.rule_errors,
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

/// What an SMS channel sends as: `【码上反映】 · 密钥 LTAI…ab12 · 3 个模板`.
fn sms_hint(settings: &Value, key_hint: Option<&str>) -> String {
    let s = sms::SmsSettings::from_value(settings);
    format!(
        "【{}】 · 密钥 {} · {} 个模板",
        s.sign_name,
        key_hint.unwrap_or("-"),
        s.templates.len()
    )
}

/// Each SMS message kind in words.
fn sms_kind_label(kind: &str) -> &'static str {
    match kind {
        "case_assigned" => "新案件 (new case)",
        "case_reminded" => "催办 (reminder)",
        "case_escalated" => "超时督办 (escalated)",
        "case_transferred" => "改派 (transferred)",
        "case_returned" => "退单 (returned)",
        "case_reopened" => "重办 (reopened)",
        "case_invalidated" => "无效 (invalid)",
        "case_closed" => "办结 (closed)",
        "citizen_received" => "群众：已受理 (citizen: received)",
        "citizen_rating" => "群众：请评价 (citizen: please rate)",
        "test" => "测试消息 (test)",
        _ => "其他",
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
            "sms_sign_name" => typed.sms_sign_name = value,
            "sms_key_id" => typed.sms_key_id = value,
            "sms_endpoint" => typed.sms_endpoint = value,
            "sms_region" => typed.sms_region = value,
            "sms_app_id" => typed.sms_app_id = value,
            other => {
                // `tpl.case_assigned` (its code), `tplp.case_assigned` (its parameters).
                let (slot, kind) = match other.split_once('.') {
                    Some(("tpl", kind)) => (0, kind),
                    Some(("tplp", kind)) => (1, kind),
                    _ => continue,
                };
                if let Some(kind) = sms::KINDS.iter().find(|k| **k == kind) {
                    let entry = typed.sms_templates.entry((*kind).to_owned()).or_default();
                    if slot == 0 {
                        entry.0 = value;
                    } else {
                        entry.1 = value;
                    }
                }
            }
        }
    }
    typed
}

/// `POST /admin/channels`.
#[utoipa::path(post, path = "/admin/channels", tag = "pages", operation_id = "post_admin_channels",
    summary = "添加渠道 (The form that adds a channel)",
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        (status = 200, description = "显示一次性密钥，或有误时重新显示 (The one-time secret, or the page again with what is wrong)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
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
    if let Some(kind) = ChannelKind::parse(&typed.kind).filter(|k| k.is_sms()) {
        let key_secret = url::form_urlencoded::parse(&body)
            .find(|(k, _)| k == "sms_key_secret")
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default();
        settings = sms_settings(kind, &typed, &key_secret);
    } else if typed.kind == ChannelKind::Email.as_str() {
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
        Ok(made) => {
            let secret = made.get("secret").and_then(Value::as_str);
            let receipt = made.get("receipt_url").and_then(Value::as_str);
            if secret.is_none() && receipt.is_none() {
                return Redirect::to("/admin/channels?ok=added").into_response();
            }
            // Shown once, on this page: no redirect that would lose it.
            let extra = Extra {
                notice: done_notice(Some("added")),
                secret: secret.map(str::to_owned),
                receipt: receipt.map(|r| (typed.name.clone(), r.to_owned())),
                ..Extra::default()
            };
            render(&state, &principal, tenant, StatusCode::OK, extra).await
        }
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
#[utoipa::path(post, path = "/admin/channels/{id}/test", tag = "pages", operation_id = "post_admin_channels_id_test",
    summary = "试发 (Sends a test message)",
    params(("id" = uuid::Uuid, Path, description = "The channel")),
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        (status = 200, description = "结果页面 (The page with the outcome)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
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
#[utoipa::path(post, path = "/admin/channels/{id}/active", tag = "pages", operation_id = "post_admin_channels_id_active",
    summary = "启用或停用 (Switches a channel on or off)",
    params(("id" = uuid::Uuid, Path, description = "The channel")),
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        (status = 200, description = "结果页面 (The page with the outcome)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
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
#[utoipa::path(post, path = "/admin/channels/{id}/delete", tag = "pages", operation_id = "post_admin_channels_id_delete",
    summary = "删除渠道 (Removes a channel)",
    params(("id" = uuid::Uuid, Path, description = "The channel")),
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        (status = 200, description = "结果页面 (The page with the outcome)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
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

/// An SMS channel's `settings` from the form: the provider's keys under their own
/// names, each message kind's template (a bare code takes all three parameters).
fn sms_settings(kind: ChannelKind, typed: &Typed, key_secret: &str) -> Value {
    let mut templates = serde_json::Map::new();
    for (message, (code, params)) in &typed.sms_templates {
        if code.is_empty() && params.is_empty() {
            continue;
        }
        let value = if params.is_empty() {
            Value::String(code.clone())
        } else {
            let list: Vec<&str> = params
                .split([',', '，', ' ', '、'])
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .take(8)
                .collect();
            json!({"code": code, "params": list})
        };
        templates.insert(message.clone(), value);
    }
    let (id_key, secret_key) = match kind {
        ChannelKind::SmsTencent => ("secret_id", "secret_key"),
        _ => ("access_key_id", "access_key_secret"),
    };
    let mut settings = json!({
        "sign_name": typed.sms_sign_name,
        "templates": templates,
        id_key: typed.sms_key_id,
        secret_key: key_secret,
    });
    if !typed.sms_endpoint.is_empty() {
        settings["endpoint"] = json!(typed.sms_endpoint);
    }
    if kind == ChannelKind::SmsTencent {
        settings["region"] = json!(typed.sms_region);
        settings["sdk_app_id"] = json!(typed.sms_app_id);
    }
    settings
}

/// `POST /admin/channels/{id}/receipt`: a new delivery-receipt URL for an SMS
/// channel (the old one stops working), shown once.
#[utoipa::path(post, path = "/admin/channels/{id}/receipt", tag = "pages", operation_id = "post_admin_channels_id_receipt",
    summary = "新的回执地址 (A new delivery-receipt URL)",
    params(("id" = uuid::Uuid, Path, description = "The channel")),
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        (status = 200, description = "结果页面 (The page with the outcome)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
async fn new_receipt(
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
    let change = ChannelBody {
        kind: None,
        name: None,
        settings: None,
        node_id: None,
        events: None,
        per_minute: None,
        active: None,
        rotate_receipt_token: Some(true),
    };
    match update_channel(&state, &principal, id, &change).await {
        Ok(shown) => {
            let Some(url) = shown.receipt_url else {
                // Not an SMS channel: nothing to renew.
                return not_found(&principal);
            };
            let extra = Extra {
                receipt: Some((shown.name, url)),
                ..Extra::default()
            };
            render(&state, &principal, tenant, StatusCode::OK, extra).await
        }
        Err(ApiError::NotFound) => not_found(&principal),
        Err(ApiError::Internal(err)) => failed(err),
        Err(other) => api_refusal(other),
    }
}

/// `POST /admin/channels/rules`: after how many minutes an unanswered new case also
/// goes by SMS, the township's quiet hours and its morning digest, saved together.
#[utoipa::path(post, path = "/admin/channels/rules", tag = "pages", operation_id = "post_admin_channels_rules",
    summary = "发送规则 (The form that saves the sending rules)",
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        (status = 200, description = "有误时重新显示 (The page again with what is wrong)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
async fn save_rules(
    State(state): State<NotificationState>,
    signed_in: Result<MaybeSignedIn, ApiError>,
    body: Bytes,
) -> Response {
    let (principal, tenant) = match administrator(signed_in) {
        Ok(me) => me,
        Err(page) => return *page,
    };
    let mut typed = Rules::default();
    for (key, value) in url::form_urlencoded::parse(&body) {
        let value = value.trim().to_owned();
        match key.as_ref() {
            "sms_fallback_minutes" => typed.fallback_minutes = value,
            "quiet_from" => typed.quiet_from = value,
            "quiet_until" => typed.quiet_until = value,
            "morning_at" => typed.morning_at = value,
            "morning_active" => typed.morning_active = value == "true",
            _ => {}
        }
    }
    let mut errors: Vec<(String, String)> = Vec::new();
    let minutes = match typed.fallback_minutes.as_str() {
        "" => None,
        raw => match raw.parse::<i32>() {
            Ok(m) => Some(m),
            Err(_) => Some(0),
        },
    };
    let quiet = match (typed.quiet_from.is_empty(), typed.quiet_until.is_empty()) {
        (true, true) => None,
        _ => Some(crate::settings::QuietHours {
            from: typed.quiet_from.clone(),
            until: typed.quiet_until.clone(),
        }),
    };
    let checked = match crate::settings::check_township(minutes, &quiet) {
        Ok(c) => Some(c),
        Err(list) => {
            errors.extend(list.into_iter().map(|e| (e.field, e.message)));
            None
        }
    };
    let morning = crate::digest::parse_time(&typed.morning_at);
    if morning.is_none() {
        errors.push((
            "morning_at".to_owned(),
            "时间应为 HH:MM，如 07:30 (a time like 07:30)".to_owned(),
        ));
    }
    let (Some((minutes, quiet)), Some(morning), true) = (checked, morning, errors.is_empty())
    else {
        let extra = Extra {
            rules: Some(typed),
            rule_errors: errors,
            ..Extra::default()
        };
        return render(
            &state,
            &principal,
            tenant,
            StatusCode::UNPROCESSABLE_ENTITY,
            extra,
        )
        .await;
    };
    let saved = async {
        let mut tx = state.db.tenant(tenant).await?;
        crate::settings::write_township(&mut tx, minutes, quiet).await?;
        crate::digest::write_settings(&mut tx, morning, typed.morning_active).await?;
        tx.commit().await?;
        Ok::<_, ApiError>(())
    };
    match saved.await {
        Ok(()) => Redirect::to("/admin/channels?ok=rules#rules").into_response(),
        Err(ApiError::Internal(err)) => failed(err),
        Err(other) => api_refusal(other),
    }
}
