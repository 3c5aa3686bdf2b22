//! Delivery receipts from the SMS providers: a sent SMS becomes `delivered`, or
//! `failed` with the carrier's reason, when the provider reports it.
//!
//! - `POST /api/v1/notification/receipts/aliyun/{tenant}/{channel}/{token}`: Alibaba
//!   Cloud's SmsReport (HTTP batch push), a JSON array of
//!   `{"biz_id", "out_id", "success", "err_code", "err_msg", "report_time",
//!   "phone_number", …}`; answered `{"code": 0, "msg": "成功"}`.
//! - `POST /api/v1/notification/receipts/tencent/{tenant}/{channel}/{token}`: Tencent
//!   Cloud's status callback, a JSON array of `{"sid", "report_status":
//!   "SUCCESS"|"FAIL", "errmsg", "description", "user_receive_time", "mobile", …}`;
//!   answered `{"result": 0, "errmsg": "OK"}`.
//!
//! The URL is the channel's own (shown once when the channel is made, or when a new
//! token is asked for) and carries a secret token: without it nobody can mark a
//! delivery. Deliveries are matched by the provider's id (BizId, SerialNo) among that
//! channel's deliveries in that township only, and only while `sent`, so a repeated
//! report changes nothing. The body is read up to 256 KB and 500 reports; each report
//! is kept with the delivery's attempts (without the phone number).

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mashang_domain::TenantId;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::NotificationState;
use crate::delivery::engine::Secrets;
use crate::delivery::{ChannelKind, cut};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The most a receipt request may carry.
const MAX_BODY: usize = 256 * 1024;
/// The most reports in one request (Tencent sends up to 100 at a time).
const MAX_REPORTS: usize = 500;
/// The longest provider id taken.
const MAX_ID: usize = 100;

pub(crate) fn routes() -> OpenApiRouter<NotificationState> {
    OpenApiRouter::new()
        .routes(routes!(aliyun))
        .routes(routes!(tencent))
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

/// A fresh receipt token: 24 random bytes, URL-safe base64.
pub fn new_token() -> anyhow::Result<String> {
    let mut b = [0u8; 24];
    getrandom::fill(&mut b).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(URL_SAFE_NO_PAD.encode(b))
}

/// The receipt URL of channel `channel` (of `kind`) of `tenant`.
pub fn url(
    public_url: &str,
    kind: ChannelKind,
    tenant: TenantId,
    channel: Uuid,
    token: &str,
) -> String {
    let provider = match kind {
        ChannelKind::SmsTencent => "tencent",
        _ => "aliyun",
    };
    format!(
        "{}/api/v1/notification/receipts/{provider}/{}/{channel}/{token}",
        public_url.trim_end_matches('/'),
        tenant.as_uuid()
    )
}

/// One report: the provider's id for the message, whether it arrived, and what the
/// provider said (as recorded).
#[derive(Debug, PartialEq)]
struct Report {
    id: String,
    delivered: bool,
    reason: String,
    recorded: String,
}

/// Reads Alibaba Cloud's reports.
fn aliyun_reports(items: &[Value]) -> Vec<Report> {
    items
        .iter()
        .filter_map(|r| {
            let id = r["biz_id"]
                .as_str()
                .filter(|s| !s.is_empty() && s.len() <= MAX_ID)?;
            let delivered = r["success"].as_bool()?;
            let code = r["err_code"].as_str().unwrap_or_default();
            let message = r["err_msg"].as_str().unwrap_or_default();
            Some(Report {
                id: id.to_owned(),
                delivered,
                reason: format!("短信未送达 (not delivered: {code} {message})"),
                recorded: json!({"receipt": "aliyun", "success": delivered, "err_code": code,
                    "err_msg": message, "report_time": r["report_time"], "biz_id": id})
                .to_string(),
            })
        })
        .collect()
}

/// Reads Tencent Cloud's reports.
fn tencent_reports(items: &[Value]) -> Vec<Report> {
    items
        .iter()
        .filter_map(|r| {
            let id = r["sid"]
                .as_str()
                .filter(|s| !s.is_empty() && s.len() <= MAX_ID)?;
            let delivered = match r["report_status"].as_str()? {
                "SUCCESS" => true,
                "FAIL" => false,
                _ => return None,
            };
            let code = r["errmsg"].as_str().unwrap_or_default();
            let description = r["description"].as_str().unwrap_or_default();
            Some(Report {
                id: id.to_owned(),
                delivered,
                reason: format!("短信未送达 (not delivered: {code} {description})"),
                recorded: json!({"receipt": "tencent", "report_status": r["report_status"],
                    "errmsg": code, "description": description,
                    "user_receive_time": r["user_receive_time"], "sid": id})
                .to_string(),
            })
        })
        .collect()
}

/// The answer each provider expects: success, or a code other than 0 and words.
fn answer(kind: ChannelKind, status: StatusCode, error: Option<&str>) -> Response {
    let body = match (kind, error) {
        (ChannelKind::SmsTencent, None) => json!({"result": 0, "errmsg": "OK"}),
        (ChannelKind::SmsTencent, Some(e)) => json!({"result": 1, "errmsg": e}),
        (_, None) => json!({"code": 0, "msg": "成功"}),
        (_, Some(e)) => json!({"code": 1, "msg": e}),
    };
    (status, axum::Json(body)).into_response()
}

#[utoipa::path(post, path = "/api/v1/notification/receipts/aliyun/{tenant}/{channel}/{token}", tag = "notification", operation_id = "post_api_v1_notification_receipts_aliyun_tenant_channel_token",
    summary = "短信回执 阿里云 (Alibaba Cloud) (SMS delivery receipts, in the provider format)",
    params(("tenant" = uuid::Uuid, Path, description = "The township"), ("channel" = uuid::Uuid, Path, description = "The SMS channel"), ("token" = String, Path, max_length = 100, description = "The channel receipt token")),
    request_body(content = Object, content_type = "application/json", description = "服务商的回执列表 (The provider receipt list)"),
    security(()),
    responses(
        (status = 200, description = "已收到 (Received; the answer the provider expects)", body = Object),
        (status = 400, description = "回执无法解析 (Not a receipt list)", body = Object),
        (status = 403, description = "地址无效 (Unknown channel or wrong token)", body = Object),
        (status = 413, description = "回执过大 (Over 256 KiB)", body = Object),
        (status = 503, description = "稍后重试 (Try again later)", body = Object),
    ))]
async fn aliyun(
    State(state): State<NotificationState>,
    Path((tenant, channel, token)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    take(
        &state,
        ChannelKind::SmsAliyun,
        &tenant,
        &channel,
        &token,
        &body,
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/notification/receipts/tencent/{tenant}/{channel}/{token}", tag = "notification", operation_id = "post_api_v1_notification_receipts_tencent_tenant_channel_token",
    summary = "短信回执 腾讯云 (Tencent Cloud) (SMS delivery receipts, in the provider format)",
    params(("tenant" = uuid::Uuid, Path, description = "The township"), ("channel" = uuid::Uuid, Path, description = "The SMS channel"), ("token" = String, Path, max_length = 100, description = "The channel receipt token")),
    request_body(content = Object, content_type = "application/json", description = "服务商的回执列表 (The provider receipt list)"),
    security(()),
    responses(
        (status = 200, description = "已收到 (Received; the answer the provider expects)", body = Object),
        (status = 400, description = "回执无法解析 (Not a receipt list)", body = Object),
        (status = 403, description = "地址无效 (Unknown channel or wrong token)", body = Object),
        (status = 413, description = "回执过大 (Over 256 KiB)", body = Object),
        (status = 503, description = "稍后重试 (Try again later)", body = Object),
    ))]
async fn tencent(
    State(state): State<NotificationState>,
    Path((tenant, channel, token)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    take(
        &state,
        ChannelKind::SmsTencent,
        &tenant,
        &channel,
        &token,
        &body,
    )
    .await
}

async fn take(
    state: &NotificationState,
    kind: ChannelKind,
    tenant: &str,
    channel: &str,
    token: &str,
    body: &[u8],
) -> Response {
    let refused = || {
        answer(
            kind,
            StatusCode::FORBIDDEN,
            Some("未知的渠道或口令 (unknown channel or token)"),
        )
    };
    let (Ok(tenant), Ok(channel)) = (tenant.parse::<Uuid>(), channel.parse::<Uuid>()) else {
        return refused();
    };
    if token.is_empty() || token.len() > 100 {
        return refused();
    }
    let items: Vec<Value> = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => {
            return answer(
                kind,
                StatusCode::BAD_REQUEST,
                Some("应为 JSON 数组 (a JSON array)"),
            );
        }
    };
    if items.len() > MAX_REPORTS {
        return answer(
            kind,
            StatusCode::PAYLOAD_TOO_LARGE,
            Some("一次最多 500 条 (at most 500 reports)"),
        );
    }
    let Some(delivery) = &state.delivery else {
        return answer(
            kind,
            StatusCode::SERVICE_UNAVAILABLE,
            Some("outside channels are off"),
        );
    };
    let tenant = TenantId::from_uuid(tenant);
    match record(state, delivery, kind, tenant, channel, token, &items).await {
        Ok(true) => answer(kind, StatusCode::OK, None),
        Ok(false) => refused(),
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "delivery receipts not recorded");
            answer(
                kind,
                StatusCode::SERVICE_UNAVAILABLE,
                Some("稍后重试 (try again)"),
            )
        }
    }
}

/// Records `items` for channel `channel` of `tenant` if `token` is its token; false
/// when it is not (or there is no such channel of that kind).
async fn record(
    state: &NotificationState,
    delivery: &crate::Delivery,
    kind: ChannelKind,
    tenant: TenantId,
    channel: Uuid,
    token: &str,
    items: &[Value],
) -> anyhow::Result<bool> {
    let mut tx = state.db.tenant(tenant).await?;
    let row: Option<(Vec<u8>,)> = sqlx::query_as(
        "SELECT secrets_sealed FROM notification.channels WHERE tenant_id = $1 AND id = $2 AND kind = $3",
    )
    .bind(tenant.as_uuid())
    .bind(channel)
    .bind(kind.as_str())
    .fetch_optional(&mut *tx)
    .await?;
    let Some((sealed,)) = row else {
        return Ok(false);
    };
    let secrets = Secrets::open(&delivery.key, tenant, channel, &sealed)?;
    let Some(expected) = secrets.receipt_token else {
        return Ok(false);
    };
    if !bool::from(expected.as_bytes().ct_eq(token.as_bytes())) {
        return Ok(false);
    }
    let reports = match kind {
        ChannelKind::SmsTencent => tencent_reports(items),
        _ => aliyun_reports(items),
    };
    let ids: Vec<&str> = reports.iter().map(|r| r.id.as_str()).collect();
    let delivered: Vec<bool> = reports.iter().map(|r| r.delivered).collect();
    let reasons: Vec<String> = reports.iter().map(|r| cut(&r.reason, 2000)).collect();
    let recorded: Vec<String> = reports.iter().map(|r| cut(&r.recorded, 2000)).collect();
    let (matched,): (i64,) = sqlx::query_as(
        "WITH r AS (SELECT * FROM unnest($3::text[], $4::bool[], $5::text[], $6::text[]) \
                    AS r(pid, ok, reason, recorded)), \
         u AS (UPDATE notification.deliveries d \
               SET state = CASE WHEN r.ok THEN 'delivered' ELSE 'failed' END, \
                   delivered_at = CASE WHEN r.ok THEN now() ELSE d.delivered_at END, \
                   last_error = CASE WHEN r.ok THEN d.last_error ELSE r.reason END \
               FROM r WHERE d.tenant_id = $1 AND d.channel_id = $2 \
                 AND d.provider_message_id = r.pid AND d.state = 'sent' \
               RETURNING d.id, r.recorded), \
         a AS (INSERT INTO notification.delivery_attempts (id, tenant_id, delivery_id, outcome, answer) \
               SELECT gen_random_uuid(), $1, u.id, 'receipt', u.recorded FROM u RETURNING 1) \
         SELECT count(*) FROM a",
    )
    .bind(tenant.as_uuid())
    .bind(channel)
    .bind(&ids)
    .bind(&delivered)
    .bind(&reasons)
    .bind(&recorded)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(
        channel = %channel,
        reports = items.len(),
        matched,
        "delivery receipts"
    );
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_are_read_as_each_provider_documents_them() {
        let aliyun = aliyun_reports(&[
            json!({"phone_number": "1381111****", "send_time": "2017-01-01 00:00:00",
                   "report_time": "2017-01-01 00:00:00", "success": true, "err_code": "DELIVERED",
                   "err_msg": "用户接收成功", "sms_size": "1", "biz_id": "12345", "out_id": "67890"}),
            json!({"biz_id": "12346", "success": false, "err_code": "MK:0001", "err_msg": "空号"}),
            json!({"biz_id": "", "success": true}),
            json!({"biz_id": "x".repeat(101), "success": true}),
        ]);
        assert_eq!(aliyun.len(), 2);
        assert!(aliyun[0].delivered && aliyun[0].id == "12345");
        assert!(
            !aliyun[0].recorded.contains("1381111"),
            "no phone numbers kept"
        );
        assert!(!aliyun[1].delivered && aliyun[1].reason.contains("MK:0001"));
        let tencent = tencent_reports(&[
            json!({"user_receive_time": "2015-10-17 08:03:04", "nationcode": "86",
                   "mobile": "13xxxxxxxxx", "report_status": "SUCCESS", "errmsg": "DELIVRD",
                   "description": "用户短信送达成功", "sid": "xxxxxxx"}),
            json!({"sid": "y", "report_status": "FAIL", "errmsg": "UNDELIV", "description": "失败"}),
            json!({"sid": "z", "report_status": "MAYBE"}),
        ]);
        assert_eq!(tencent.len(), 2);
        assert!(tencent[0].delivered && !tencent[1].delivered);
        let url = url(
            "http://x/",
            ChannelKind::SmsTencent,
            TenantId::from_uuid(Uuid::nil()),
            Uuid::nil(),
            "tok",
        );
        assert!(url.starts_with("http://x/api/v1/notification/receipts/tencent/00000000-"));
        assert!(url.ends_with("/tok"));
        assert_eq!(new_token().map(|t| t.len()).ok(), Some(32));
    }
}
