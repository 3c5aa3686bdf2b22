//! The township's outside channels, configured by its administrators:
//! `GET/POST /api/v1/admin/channels`, `GET/PUT/DELETE /api/v1/admin/channels/{id}`,
//! `POST /api/v1/admin/channels/{id}/test` (sends a test message now and answers with
//! the provider's actual answer), and `GET /api/v1/admin/deliveries` (what was sent,
//! what failed or died and why).
//!
//! Secrets (a robot's URL, which carries its key; a signing secret) are sealed with
//! the deployment's key and never shown again: a channel shows the URL's host and the
//! last four characters. A webhook channel's `whsec_` secret is made here and answered
//! once, at creation. An SMS channel's keys are sealed the same way (its key id shown
//! as a hint); its public settings (signature, templates, endpoint) are shown, and its
//! delivery-receipt URL, which carries a secret token, is answered once at creation
//! (and again when `rotate_receipt_token` makes a new one).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use mashang_auth::permissions::{Action, Target, authorize};
use mashang_auth::{Auth, Principal};
use mashang_db::TenantTx;
use mashang_domain::TenantId;
use mashang_http::{ApiError, ApiJson, FieldError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::delivery::email::{self, Smtp};
use crate::delivery::engine::{ChannelTarget, Secrets, send_on};
use crate::delivery::{ChannelKind, Message, Outcome, plan, sms, webhook};
use crate::{Delivery, NotificationState};
use mashang_http::openapi::{
    ConflictError, JsonBodyErrors, NotFoundError, QueryErrors, RateLimited, StaffErrors,
    Unavailable,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn routes() -> OpenApiRouter<NotificationState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, update, remove))
        .routes(routes!(test))
        .routes(routes!(deliveries))
}

/// The most channels a township keeps.
const MAX_CHANNELS: i64 = 50;
/// The kinds that can be configured today.
const AVAILABLE: [ChannelKind; 6] = [
    ChannelKind::Wecom,
    ChannelKind::Dingtalk,
    ChannelKind::Webhook,
    ChannelKind::SmsAliyun,
    ChannelKind::SmsTencent,
    ChannelKind::Email,
];

/// A channel as shown (never its secrets).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ChannelView {
    pub id: Uuid,
    pub kind: String,
    pub name: String,
    #[schema(value_type = Object)]
    pub settings: Value,
    /// Where it sends, without the key: `qyapi.weixin.qq.com …ab12`.
    pub url_hint: Option<String>,
    /// An SMS channel's key id, cut: `LTAI…ab12`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_hint: Option<String>,
    /// An SMS channel's delivery-receipt URL, only when it was just made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt_url: Option<String>,
    pub node_id: Option<Uuid>,
    pub events: Option<Vec<String>>,
    pub per_minute: i32,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

type Row = (
    Uuid,
    String,
    String,
    Value,
    Vec<u8>,
    Option<Uuid>,
    Option<Vec<String>>,
    i32,
    bool,
    DateTime<Utc>,
);

const SELECT: &str = "SELECT id, kind, name, settings, secrets_sealed, node_id, events, per_minute, active, created_at \
                      FROM notification.channels WHERE tenant_id = $1";

fn view(row: Row, d: &Delivery, tenant: TenantId) -> ChannelView {
    let (id, kind, name, settings, sealed, node_id, events, per_minute, active, created_at) = row;
    let secrets = Secrets::open(&d.key, tenant, id, &sealed).ok();
    let url_hint = secrets.as_ref().and_then(|s| s.url.as_deref()).map(hint);
    let key_hint = secrets
        .as_ref()
        .and_then(|s| s.access_key_id.as_deref().or(s.secret_id.as_deref()))
        .map(|k| {
            let n = k.chars().count();
            let tail: String = k.chars().skip(n.saturating_sub(4)).collect();
            if n >= 12 {
                format!("{}…{tail}", k.chars().take(4).collect::<String>())
            } else {
                format!("…{tail}")
            }
        });
    ChannelView {
        id,
        kind,
        name,
        settings,
        url_hint,
        key_hint,
        receipt_url: None,
        node_id,
        events,
        per_minute,
        active,
        created_at,
    }
}

/// A URL's host and its last four characters.
fn hint(url: &str) -> String {
    let host = reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    let tail: String = url
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{host} …{tail}")
}

/// The principal's township, when they may configure its channels.
pub(crate) fn admin(principal: &Principal) -> Result<TenantId, ApiError> {
    authorize(principal, Action::ConfigureRouting, Target::Township).map_err(ApiError::from)?;
    principal.require_tenant()
}

fn delivery(state: &NotificationState) -> Result<&Delivery, ApiError> {
    state.delivery.as_ref().ok_or_else(|| {
        ApiError::Unavailable(
            "此服务未配置外部渠道 (outside channels are off in this process)".into(),
        )
    })
}

/// `GET /api/v1/admin/channels`.
#[utoipa::path(get, path = "/api/v1/admin/channels", tag = "notification", operation_id = "get_api_v1_admin_channels",
    summary = "渠道列表 (The township channels and the kinds available)",
    responses(
        (status = 200, description = "渠道 (The channels)", body = Object),
        StaffErrors,
        NotFoundError,
        Unavailable,
    ))]
async fn list(
    State(state): State<NotificationState>,
    Auth(principal): Auth,
) -> Result<ApiJson<Value>, ApiError> {
    Ok(ApiJson(
        json!({ "channels": list_channels(&state, &principal).await? }),
    ))
}

/// The township's channels, oldest first.
pub(crate) async fn list_channels(
    state: &NotificationState,
    principal: &Principal,
) -> Result<Vec<ChannelView>, ApiError> {
    let tenant = admin(principal)?;
    let d = delivery(state)?;
    let mut tx = state.db.tenant(tenant).await?;
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} ORDER BY created_at, id"
    )))
    .bind(tenant.as_uuid())
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows.into_iter().map(|r| view(r, d, tenant)).collect())
}

/// `GET /api/v1/admin/channels/{id}`.
#[utoipa::path(get, path = "/api/v1/admin/channels/{id}", tag = "notification", operation_id = "get_api_v1_admin_channels_id",
    summary = "一个渠道 (One channel, never its secrets)",
    params(("id" = uuid::Uuid, Path, description = "The channel")),
    responses(
        (status = 200, description = "渠道 (The channel)", body = ChannelView),
        StaffErrors,
        NotFoundError,
        Unavailable,
    ))]
async fn show(
    State(state): State<NotificationState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<ApiJson<ChannelView>, ApiError> {
    let tenant = admin(&principal)?;
    let d = delivery(&state)?;
    let id: Uuid = id.parse().map_err(|_| ApiError::NotFound)?;
    let mut tx = state.db.tenant(tenant).await?;
    let row = one(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok(ApiJson(view(row, d, tenant)))
}

async fn one(tx: &mut TenantTx, id: Uuid) -> Result<Option<Row>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} AND id = $2")))
        .bind(tx.tenant().as_uuid())
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}

/// A channel's fields as sent.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChannelBody {
    /// `wecom`, `dingtalk`, `webhook`, `sms_aliyun`, `sms_tencent` or `email` (required
    /// when adding; cannot change).
    #[schema(max_length = 32)]
    pub kind: Option<String>,
    /// The channel's name (required when adding).
    #[schema(max_length = 100)]
    pub name: Option<String>,
    /// The kind's settings (its URL, keys, sender, …); secrets are sealed and never shown.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub settings: Option<Value>,
    /// Only cases at and below this grid node (`null`: the whole township).
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<uuid::Uuid>)]
    pub node_id: Option<Option<String>>,
    /// Only these events (`null`: all).
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<Vec<String>>, max_items = 32)]
    pub events: Option<Option<Vec<String>>>,
    /// At most this many messages a minute.
    #[schema(minimum = 1, maximum = 6000)]
    pub per_minute: Option<i32>,
    pub active: Option<bool>,
    /// An SMS channel: make a new delivery-receipt token (the old URL stops working).
    pub rotate_receipt_token: Option<bool>,
}

/// Tells a field left out (`None`) from one sent as `null` (`Some(None)`).
mod double_option {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
    where
        T: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Option::<T>::deserialize(d).map(Some)
    }
}

/// What a checked body changes.
struct Checked {
    name: Option<String>,
    /// The public settings to store (SMS channels).
    settings: Option<Value>,
    secrets: Option<Secrets>,
    node_id: Option<Option<Uuid>>,
    events: Option<Option<Vec<String>>>,
    per_minute: Option<i32>,
    active: Option<bool>,
}

/// Checks `body` for a channel of `kind`; `creating` asks for every required field.
async fn check(
    tx: &mut TenantTx,
    d: &Delivery,
    kind: ChannelKind,
    body: &ChannelBody,
    creating: bool,
) -> Result<Checked, ApiError> {
    let mut errors = Vec::new();
    let name = body.name.as_deref().map(str::trim).map(str::to_owned);
    match &name {
        Some(n) if n.is_empty() || n.chars().count() > 50 => {
            errors.push(FieldError::new("name", "名称1到50字 (1 to 50 characters)"));
        }
        None if creating => errors.push(FieldError::new("name", "请填写名称 (a name is required)")),
        _ => {}
    }
    let settings = body.settings.as_ref();
    if settings.is_some_and(|s| !s.is_object()) {
        errors.push(FieldError::new("settings", "settings 应为对象 (an object)"));
    }
    let text = |key: &str| {
        settings
            .and_then(|s| s.get(key))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let url = text("url");
    let secret = text("secret");
    let mut secrets = None;
    let mut public = None;
    if kind.is_sms() {
        if let Some(s) = settings.filter(|s| s.is_object()) {
            match sms::check(kind, s, creating, &d.outbound) {
                Ok(c) => {
                    public = Some(c.public.to_value());
                    secrets = c.keys.map(|(id, secret)| match kind {
                        ChannelKind::SmsTencent => Secrets {
                            secret_id: Some(id),
                            secret_key: Some(secret),
                            ..Secrets::default()
                        },
                        _ => Secrets {
                            access_key_id: Some(id),
                            access_key_secret: Some(secret),
                            ..Secrets::default()
                        },
                    });
                }
                Err(list) => errors.extend(list.into_iter().map(|(f, m)| FieldError::new(f, m))),
            }
        } else if creating && settings.is_none() {
            errors.push(FieldError::new(
                "settings",
                "请填写短信签名、模板和密钥 (the signature, templates and keys are required)",
            ));
        }
    } else if kind == ChannelKind::Email {
        // A mail server, its sender and login (`delivery::email`).
        if creating || settings.is_some() {
            match email::check(settings, !creating, d.outbound.policy()) {
                Ok(smtp) => {
                    secrets = Some(Secrets {
                        smtp: Some(smtp),
                        ..Secrets::default()
                    });
                }
                Err(list) => errors.extend(list.into_iter().map(|(f, m)| FieldError::new(f, m))),
            }
        }
    } else if creating || url.is_some() || secret.is_some() {
        match &url {
            None => errors.push(FieldError::new(
                "settings.url",
                "请填写机器人或接收方的地址 (the webhook URL is required)",
            )),
            Some(u) if u.len() > 1000 => {
                errors.push(FieldError::new(
                    "settings.url",
                    "地址过长 (at most 1000 characters)",
                ));
            }
            Some(u) => match reqwest::Url::parse(u) {
                Ok(parsed) => {
                    if let Err(e) = d.outbound.check_url(&parsed) {
                        errors.push(FieldError::new("settings.url", e.to_string()));
                    }
                }
                Err(_) => errors.push(FieldError::new(
                    "settings.url",
                    "不是有效的网址 (not a URL)",
                )),
            },
        }
        let secret = match kind {
            ChannelKind::Dingtalk => match &secret {
                Some(s) if s.len() <= 200 => Some(s.clone()),
                Some(_) => {
                    errors.push(FieldError::new("settings.secret", "密钥过长 (too long)"));
                    None
                }
                None => {
                    errors.push(FieldError::new(
                        "settings.secret",
                        "请填写机器人的加签密钥（SEC开头）(the robot's signing secret, SEC…)",
                    ));
                    None
                }
            },
            // Made here; a sent one is not taken.
            ChannelKind::Webhook => None,
            _ => None,
        };
        secrets = Some(Secrets {
            url: url.clone(),
            secret,
            ..Secrets::default()
        });
    }
    let node_id = match &body.node_id {
        Some(Some(raw)) => match raw.parse::<Uuid>() {
            Ok(id) => {
                let found: Option<(Uuid,)> = sqlx::query_as(
                    "SELECT id FROM routing.grid_nodes WHERE tenant_id = $1 AND id = $2",
                )
                .bind(tx.tenant().as_uuid())
                .bind(id)
                .fetch_optional(&mut **tx)
                .await?;
                if found.is_none() {
                    errors.push(FieldError::new(
                        "node_id",
                        "没有这个网格节点 (no such node)",
                    ));
                }
                Some(Some(id))
            }
            Err(_) => {
                errors.push(FieldError::new(
                    "node_id",
                    "没有这个网格节点 (no such node)",
                ));
                None
            }
        },
        Some(None) => Some(None),
        None => None,
    };
    let events = match &body.events {
        Some(Some(list)) => {
            let mut list: Vec<String> = list.iter().map(|e| e.trim().to_owned()).collect();
            list.sort();
            list.dedup();
            if list.is_empty() || list.len() > plan::EVENTS.len() + 1 {
                errors.push(FieldError::new(
                    "events",
                    "至少选一类事件，或不填表示全部 (choose at least one, or leave out for all)",
                ));
            }
            if let Some(bad) = list.iter().find(|e| {
                !plan::EVENTS.iter().any(|k| k.as_str() == e.as_str())
                    && e.as_str() != crate::digest::MORNING_EVENT
            }) {
                errors.push(FieldError::new(
                    "events",
                    format!("未知的事件 {bad} (unknown event type)"),
                ));
            }
            Some(Some(list))
        }
        other => other.clone(),
    };
    if body.per_minute.is_some_and(|n| !(1..=6000).contains(&n)) {
        errors.push(FieldError::new(
            "per_minute",
            "每分钟1到6000条 (1 to 6000 a minute)",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(Checked {
        name,
        settings: public,
        secrets,
        node_id,
        events,
        per_minute: body.per_minute,
        active: body.active,
    })
}

/// `POST /api/v1/admin/channels`.
#[utoipa::path(post, path = "/api/v1/admin/channels", tag = "notification", operation_id = "post_api_v1_admin_channels",
    summary = "添加渠道 (Adds a channel; its secret is shown once)",
    request_body(content = ChannelBody, content_type = "application/json"),
    responses(
        (status = 201, description = "已添加 (Added, with its one-time secret or receipt URL)", body = Object),
        StaffErrors,
        NotFoundError,
        JsonBodyErrors,
        Unavailable,
        ConflictError,
    ))]
async fn create(
    State(state): State<NotificationState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<ChannelBody>,
) -> Result<(StatusCode, ApiJson<Value>), ApiError> {
    Ok((
        StatusCode::CREATED,
        ApiJson(create_channel(&state, &principal, &body).await?),
    ))
}

/// Makes a channel (the page's form calls this too); the answer holds a webhook's
/// secret, once.
pub(crate) async fn create_channel(
    state: &NotificationState,
    principal: &Principal,
    body: &ChannelBody,
) -> Result<Value, ApiError> {
    let tenant = admin(principal)?;
    let d = delivery(state)?;
    let kind = match body.kind.as_deref().and_then(ChannelKind::parse) {
        Some(k) if AVAILABLE.contains(&k) => k,
        Some(k) => {
            return Err(ApiError::field(
                "kind",
                format!("{} 暂不可用 (not available yet)", k.name_zh()),
            ));
        }
        None => {
            return Err(ApiError::field(
                "kind",
                "渠道类型应为 wecom、dingtalk、webhook、sms_aliyun、sms_tencent、email 之一 (one of wecom, dingtalk, webhook, sms_aliyun, sms_tencent, email)",
            ));
        }
    };
    let mut tx = state.db.tenant(tenant).await?;
    let checked = check(&mut tx, d, kind, body, true).await?;
    let (count,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM notification.channels WHERE tenant_id = $1")
            .bind(tenant.as_uuid())
            .fetch_one(&mut *tx)
            .await?;
    if count >= MAX_CHANNELS {
        return Err(ApiError::Conflict(format!(
            "每个乡镇最多 {MAX_CHANNELS} 个渠道 (at most {MAX_CHANNELS} channels)"
        )));
    }
    let id = Uuid::now_v7();
    let mut secrets = checked.secrets.unwrap_or_default();
    let whsec = if kind == ChannelKind::Webhook {
        let s = webhook::new_secret().map_err(ApiError::internal)?;
        secrets.secret = Some(s.clone());
        Some(s)
    } else {
        None
    };
    if kind.is_sms() {
        secrets.receipt_token = Some(crate::receipts::new_token().map_err(ApiError::internal)?);
    }
    let sealed = secrets
        .seal(&d.key, tenant, id)
        .map_err(ApiError::internal)?;
    sqlx::query(
        "INSERT INTO notification.channels (id, tenant_id, kind, name, settings, secrets_sealed, node_id, events, per_minute, active) \
         VALUES ($1, $2, $3, $4, coalesce($10, '{}'::jsonb), $5, $6, $7, coalesce($8, 20), coalesce($9, true))",
    )
    .bind(id)
    .bind(tenant.as_uuid())
    .bind(kind.as_str())
    .bind(checked.name.unwrap_or_default())
    .bind(&sealed)
    .bind(checked.node_id.flatten())
    .bind(checked.events.flatten())
    .bind(checked.per_minute)
    .bind(checked.active)
    .bind(checked.settings)
    .execute(&mut *tx)
    .await?;
    show_smtp(&mut tx, id, secrets.smtp.as_ref()).await?;
    let row = one(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    let mut shown = view(row, d, tenant);
    shown.receipt_url = secrets
        .receipt_token
        .as_deref()
        .map(|t| crate::receipts::url(&d.public_url, kind, tenant, id, t));
    let mut out = serde_json::to_value(shown).map_err(ApiError::internal)?;
    if let Some(s) = whsec {
        out["secret"] = Value::String(s);
    }
    Ok(out)
}

/// `PUT /api/v1/admin/channels/{id}`: changes what is sent; secrets only when sent.
#[utoipa::path(put, path = "/api/v1/admin/channels/{id}", tag = "notification", operation_id = "put_api_v1_admin_channels_id",
    summary = "修改渠道 (Changes a channel; what is left out stays)",
    params(("id" = uuid::Uuid, Path, description = "The channel")),
    request_body(content = ChannelBody, content_type = "application/json"),
    responses(
        (status = 200, description = "已修改 (Changed)", body = ChannelView),
        StaffErrors,
        NotFoundError,
        JsonBodyErrors,
        Unavailable,
        ConflictError,
    ))]
async fn update(
    State(state): State<NotificationState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ChannelBody>,
) -> Result<ApiJson<ChannelView>, ApiError> {
    let id: Uuid = id.parse().map_err(|_| ApiError::NotFound)?;
    Ok(ApiJson(
        update_channel(&state, &principal, id, &body).await?,
    ))
}

/// Changes a channel (the page's forms call this too).
pub(crate) async fn update_channel(
    state: &NotificationState,
    principal: &Principal,
    id: Uuid,
    body: &ChannelBody,
) -> Result<ChannelView, ApiError> {
    let tenant = admin(principal)?;
    let d = delivery(state)?;
    let mut tx = state.db.tenant(tenant).await?;
    let row = one(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    let kind = ChannelKind::parse(&row.1).ok_or(ApiError::NotFound)?;
    if body.kind.as_deref().is_some_and(|k| k != kind.as_str()) {
        return Err(ApiError::field(
            "kind",
            "渠道类型不能更改 (the kind cannot change)",
        ));
    }
    let checked = check(&mut tx, d, kind, body, false).await?;
    let rotate = kind.is_sms() && body.rotate_receipt_token == Some(true);
    let mut new_token = None;
    let mut smtp = None;
    let sealed = match (checked.secrets, rotate) {
        (None, false) => None,
        (given, _) => {
            let old = Secrets::open(&d.key, tenant, id, &row.4).map_err(ApiError::internal)?;
            let mut s = given.unwrap_or_else(|| old.clone());
            // A mail server's login sent without its password keeps the password.
            if let Some(new) = s.smtp.as_mut() {
                email::keep_password(new, old.smtp.as_ref());
                smtp = Some(new.clone());
            }
            // A webhook keeps its signing secret; a new URL does not replace it. An
            // SMS channel keeps its receipt token unless a new one is asked for.
            if kind == ChannelKind::Webhook {
                s.secret = old.secret;
            }
            if kind.is_sms() {
                s.receipt_token = if rotate {
                    let t = crate::receipts::new_token().map_err(ApiError::internal)?;
                    new_token = Some(t.clone());
                    Some(t)
                } else {
                    old.receipt_token
                };
            }
            Some(s.seal(&d.key, tenant, id).map_err(ApiError::internal)?)
        }
    };
    sqlx::query(
        "UPDATE notification.channels SET name = coalesce($3, name), \
         secrets_sealed = coalesce($4, secrets_sealed), \
         node_id = CASE WHEN $5 THEN $6 ELSE node_id END, \
         events = CASE WHEN $7 THEN $8 ELSE events END, \
         per_minute = coalesce($9, per_minute), active = coalesce($10, active), \
         settings = coalesce($11, settings), updated_at = now() \
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.as_uuid())
    .bind(id)
    .bind(checked.name)
    .bind(sealed)
    .bind(checked.node_id.is_some())
    .bind(checked.node_id.flatten())
    .bind(checked.events.is_some())
    .bind(checked.events.flatten())
    .bind(checked.per_minute)
    .bind(checked.active)
    .bind(checked.settings)
    .execute(&mut *tx)
    .await?;
    show_smtp(&mut tx, id, smtp.as_ref()).await?;
    let row = one(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    let mut shown = view(row, d, tenant);
    shown.receipt_url =
        new_token.map(|t| crate::receipts::url(&d.public_url, kind, tenant, id, &t));
    Ok(shown)
}

/// `DELETE /api/v1/admin/channels/{id}` (its deliveries go with it).
#[utoipa::path(delete, path = "/api/v1/admin/channels/{id}", tag = "notification", operation_id = "delete_api_v1_admin_channels_id",
    summary = "删除渠道 (Removes a channel)",
    params(("id" = uuid::Uuid, Path, description = "The channel")),
    responses(
        (status = 204, description = "已删除 (Removed)"),
        StaffErrors,
        NotFoundError,
        Unavailable,
    ))]
async fn remove(
    State(state): State<NotificationState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: Uuid = id.parse().map_err(|_| ApiError::NotFound)?;
    remove_channel(&state, &principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a channel with its deliveries.
pub(crate) async fn remove_channel(
    state: &NotificationState,
    principal: &Principal,
    id: Uuid,
) -> Result<(), ApiError> {
    let tenant = admin(principal)?;
    let mut tx = state.db.tenant(tenant).await?;
    let done = sqlx::query("DELETE FROM notification.channels WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.as_uuid())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        return Err(ApiError::NotFound);
    }
    tx.commit().await?;
    Ok(())
}

/// `POST /api/v1/admin/channels/{id}/test`: sends a test message now and answers with
/// what the provider said.
#[utoipa::path(post, path = "/api/v1/admin/channels/{id}/test", tag = "notification", operation_id = "post_api_v1_admin_channels_id_test",
    summary = "试发 (Sends a test message through the channel)",
    params(("id" = uuid::Uuid, Path, description = "The channel")),
    responses(
        (status = 200, description = "试发结果 (The outcome of the test)", body = Object),
        StaffErrors,
        NotFoundError,
        Unavailable,
        RateLimited,
    ))]
async fn test(
    State(state): State<NotificationState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<ApiJson<Value>, ApiError> {
    let id: Uuid = id.parse().map_err(|_| ApiError::NotFound)?;
    Ok(ApiJson(test_channel(&state, &principal, id).await?))
}

/// Sends a test message on a channel now; the provider's answer.
pub(crate) async fn test_channel(
    state: &NotificationState,
    principal: &Principal,
    id: Uuid,
) -> Result<Value, ApiError> {
    let tenant = admin(principal)?;
    let d = delivery(state)?;
    let mut tx = state.db.tenant(tenant).await?;
    let row = one(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    // An SMS goes to the administrator's own number.
    let phone: Option<(String,)> = match principal.user() {
        Some(user) => {
            sqlx::query_as("SELECT phone FROM routing.staff_users WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.as_uuid())
                .bind(user.as_uuid())
                .fetch_optional(&mut *tx)
                .await?
        }
        None => None,
    };
    tx.commit().await?;
    let kind = ChannelKind::parse(&row.1).ok_or(ApiError::NotFound)?;
    let secrets = Secrets::open(&d.key, tenant, id, &row.4).map_err(ApiError::internal)?;
    let link = format!("{}/console", d.public_url);
    let sms_kind = sms::test_kind(&row.3);
    // An e-mail goes to the administrator's own address.
    let email = own_email(state, principal, tenant).await?;
    let message = Message {
        id: Uuid::now_v7(),
        email,
        kind: if kind.is_sms() {
            sms_kind
        } else {
            "test".to_owned()
        },
        title: "测试消息".to_owned(),
        text: format!("这是来自码上反映的测试消息，渠道「{}」已接通。", row.2),
        link: Some(link.clone()),
        event_type: Some("test".to_owned()),
        phone: phone.map(|(p,)| p),
        params: sms::test_params(&link),
        ..Message::default()
    };
    let channel = ChannelTarget {
        id,
        kind,
        settings: row.3,
        secrets,
        per_minute: row.7.max(1) as u32,
    };
    Ok(outcome_json(
        &send_on(&d.outbound, &channel, &message).await,
    ))
}

/// An e-mail channel's public settings (its server, sender and login name, never the
/// password), shown with the channel.
async fn show_smtp(tx: &mut TenantTx, id: Uuid, smtp: Option<&Smtp>) -> Result<(), ApiError> {
    if let Some(smtp) = smtp {
        sqlx::query(
            "UPDATE notification.channels SET settings = $3 WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tx.tenant().as_uuid())
        .bind(id)
        .bind(smtp.public())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The signed-in person's e-mail address, where a test e-mail goes.
async fn own_email(
    state: &NotificationState,
    principal: &Principal,
    tenant: TenantId,
) -> Result<Option<String>, ApiError> {
    let Some(user) = principal.user() else {
        return Ok(None);
    };
    let mut tx = state.db.tenant(tenant).await?;
    let row: Option<(Option<String>,)> =
        sqlx::query_as("SELECT email FROM routing.staff_users WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.as_uuid())
            .bind(user.as_uuid())
            .fetch_optional(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(row.and_then(|(e,)| e))
}

fn outcome_json(outcome: &Outcome) -> Value {
    match outcome {
        Outcome::Sent { answer, .. } => json!({
            "outcome": "sent", "http_status": answer.status, "answer": answer.body,
        }),
        Outcome::Retry { reason, answer, .. } => json!({
            "outcome": "retry", "reason": reason, "http_status": answer.status, "answer": answer.body,
        }),
        Outcome::Failed { reason, answer } => json!({
            "outcome": "failed", "reason": reason, "http_status": answer.status, "answer": answer.body,
        }),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct DeliveryQuery {
    /// `queued`, `sent`, `delivered`, `failed`, `dead` or `skipped`.
    #[param(max_length = 16)]
    state: Option<String>,
    /// One channel.
    #[param(format = Uuid)]
    channel_id: Option<String>,
    /// How many (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

/// `GET /api/v1/admin/deliveries?state=dead&channel_id=…&limit=50`: the newest
/// deliveries with their last error and attempts.
#[utoipa::path(get, path = "/api/v1/admin/deliveries", tag = "notification", operation_id = "get_api_v1_admin_deliveries",
    summary = "发送记录 (The newest deliveries with their last error and attempts)",
    params(DeliveryQuery),
    responses(
        (status = 200, description = "发送记录 (The deliveries)", body = Object),
        StaffErrors,
        NotFoundError,
        Unavailable,
        QueryErrors,
    ))]
async fn deliveries(
    State(state): State<NotificationState>,
    Auth(principal): Auth,
    Query(q): Query<DeliveryQuery>,
) -> Result<ApiJson<Value>, ApiError> {
    let tenant = admin(&principal)?;
    const STATES: [&str; 6] = ["queued", "sent", "delivered", "failed", "dead", "skipped"];
    if q.state.as_deref().is_some_and(|s| !STATES.contains(&s)) {
        return Err(ApiError::field(
            "state",
            "queued, sent, delivered, failed, dead or skipped",
        ));
    }
    let channel: Option<Uuid> = match q.channel_id.as_deref() {
        Some(raw) => Some(
            raw.parse()
                .map_err(|_| ApiError::field("channel_id", "not an id"))?,
        ),
        None => None,
    };
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::field("limit", "1 to 200"));
    }
    let mut tx = state.db.tenant(tenant).await?;
    type D = (
        Uuid,
        Uuid,
        String,
        String,
        i32,
        Option<String>,
        Option<Uuid>,
        Option<String>,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
        Option<Uuid>,
        Option<String>,
        Option<DateTime<Utc>>,
    );
    let rows: Vec<D> = sqlx::query_as(
        "SELECT id, channel_id, kind, state, attempts, last_error, case_id, event_type, created_at, sent_at, \
         user_id, provider_message_id, delivered_at \
         FROM notification.deliveries WHERE tenant_id = $1 \
           AND ($2::text IS NULL OR state = $2) AND ($3::uuid IS NULL OR channel_id = $3) \
         ORDER BY created_at DESC, id DESC LIMIT $4",
    )
    .bind(tenant.as_uuid())
    .bind(q.state.as_deref())
    .bind(channel)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.0).collect();
    type Attempt = (Uuid, DateTime<Utc>, String, Option<i32>, Option<String>);
    let attempts: Vec<Attempt> = sqlx::query_as(
        "SELECT delivery_id, at, outcome, http_status, answer FROM notification.delivery_attempts \
         WHERE tenant_id = $1 AND delivery_id = ANY($2) ORDER BY at",
    )
    .bind(tenant.as_uuid())
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let list: Vec<Value> = rows
        .into_iter()
        .map(
            |(
                id,
                channel_id,
                kind,
                state,
                n,
                error,
                case_id,
                event_type,
                created_at,
                sent_at,
                user_id,
                provider_message_id,
                delivered_at,
            )| {
                let tries: Vec<Value> = attempts
                .iter()
                .filter(|a| a.0 == id)
                .map(|(_, at, outcome, status, answer)| {
                    json!({"at": at, "outcome": outcome, "http_status": status, "answer": answer})
                })
                .collect();
                json!({
                    "id": id, "channel_id": channel_id, "kind": kind, "state": state, "attempts": n,
                    "last_error": error, "case_id": case_id, "event_type": event_type,
                    "created_at": created_at, "sent_at": sent_at, "tries": tries,
                    "user_id": user_id, "provider_message_id": provider_message_id,
                    "delivered_at": delivered_at,
                })
            },
        )
        .collect();
    Ok(ApiJson(json!({ "deliveries": list })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hint_shows_the_host_and_four_characters_never_the_key() {
        let h = hint(
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa",
        );
        assert_eq!(h, "qyapi.weixin.qq.com …5aaa");
        assert!(!h.contains("693a91f6"));
    }
}
