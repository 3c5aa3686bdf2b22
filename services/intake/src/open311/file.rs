//! `POST requests.{json,xml}`: an outside system files a report. The form is checked
//! field by field, then the report goes through the same submission as a QR code's
//! (`crate::submit`), with channel `api`, placed at the township's root node and
//! flagged `unplaced` so routing holds its case for the township centre's triage
//! (grid nodes have no area geometry to place a point in). The key, the address, the
//! photo link and the contact details a report has no column for are recorded with
//! it, in the same transaction.

use std::io;

use axum::http::StatusCode;
use axum::response::Response;
use mashang_db::TenantTx;
use mashang_domain::report::Channel;
use mashang_domain::{GridNodeId, ReportId};
use mashang_http::FieldError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::answer::{Format, Refusal, ToXml, Xml, list};
use super::township::{Township, integration};
use crate::IntakeState;
use crate::form::{MAX_NAME, RawReport};
use crate::qr::{CategoryInfo, NodeInfo, QrContext, TenantInfo};
use crate::submit::{Origin, submit};

/// Largest form body, in bytes: the longest description, every character
/// percent-encoded, with the other fields.
pub(crate) const MAX_FORM_BYTES: usize = 24 * 1024;
/// Longest description, in characters (the address and photo link are added to it
/// for the staff, within the report's 2000).
pub(crate) const MAX_DESCRIPTION: usize = 1500;
/// Longest `address_string`, in characters.
pub(crate) const MAX_ADDRESS: usize = 200;
/// Longest `media_url`, in bytes.
pub(crate) const MAX_MEDIA_URL: usize = 255;
/// Longest `email`, in bytes.
const MAX_EMAIL: usize = 254;
/// Longest `device_id` and `account_id`, in characters.
const MAX_ID: usize = 100;
/// Longest `lat` or `long` as written.
const MAX_COORDINATE: usize = 32;

/// The form of `POST requests` (`application/x-www-form-urlencoded`), as sent.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = Open311NewRequest)]
pub(crate) struct NewRequest {
    /// The integration's key.
    pub api_key: Option<String>,
    /// The township's code.
    pub jurisdiction_id: Option<String>,
    /// The category.
    pub service_code: Option<String>,
    /// Latitude (WGS-84).
    pub lat: Option<String>,
    /// Longitude (WGS-84).
    pub long: Option<String>,
    /// The address in words.
    pub address_string: Option<String>,
    /// An address id of the client's own (not supported).
    pub address_id: Option<String>,
    /// The citizen's e-mail.
    pub email: Option<String>,
    /// The device's id.
    pub device_id: Option<String>,
    /// The citizen's account id in the client.
    pub account_id: Option<String>,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Mobile number.
    pub phone: Option<String>,
    /// What is wrong.
    pub description: Option<String>,
    /// A link to a photo.
    pub media_url: Option<String>,
}

/// The answer to a filed request.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Open311Filed)]
pub(crate) struct Filed {
    /// The tracking number (`CT-20261204-0042`).
    pub service_request_id: String,
    /// A token to look the request up by (`tokens/{token}`).
    pub token: String,
    /// What the citizen should know.
    pub service_notice: String,
    /// Accounts are not created here.
    pub account_id: Option<String>,
}

impl ToXml for Filed {
    const ELEMENT: &'static str = "request";

    fn children(&self, xml: &mut Xml) -> io::Result<()> {
        xml.text("service_request_id", &self.service_request_id)?;
        xml.text("token", &self.token)?;
        xml.text("service_notice", &self.service_notice)?;
        xml.opt("account_id", self.account_id.as_deref())
    }
}

/// What an Open311 report carries beyond a QR report, recorded with it.
#[derive(Debug)]
pub(crate) struct ApiFiling {
    /// The integration's key.
    pub key_id: Uuid,
    /// The address in words.
    pub address_string: Option<String>,
    /// A link to a photo.
    pub media_url: Option<String>,
    /// Contact details the report has no column for, sealed when stored.
    pub email: Option<String>,
    /// The device's id.
    pub device_id: Option<String>,
    /// The citizen's account in the client.
    pub account_id: Option<String>,
}

fn given(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// The person's name as one: `first last` in Latin letters, `姓名` otherwise.
fn full_name(first: Option<&str>, last: Option<&str>) -> Option<String> {
    match (first, last) {
        (None, None) => None,
        (Some(one), None) | (None, Some(one)) => Some(one.to_owned()),
        (Some(first), Some(last)) if first.is_ascii() && last.is_ascii() => {
            Some(format!("{first} {last}"))
        }
        (Some(first), Some(last)) => Some(format!("{last}{first}")),
    }
}

fn coordinate(raw: Option<String>, field: &str, errors: &mut Vec<FieldError>) -> Option<f64> {
    let raw = given(raw)?;
    match raw.parse::<f64>() {
        Ok(v) if raw.len() <= MAX_COORDINATE && v.is_finite() => Some(v),
        _ => {
            errors.push(FieldError::new(field, "不是数字 (not a number)"));
            None
        }
    }
}

/// Whether `url` is a plain `http(s)` link worth handing to staff.
fn media_url_ok(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/') && !r.starts_with('@'))
        && url.len() <= MAX_MEDIA_URL
        && url.chars().all(|c| c.is_ascii_graphic())
}

/// The report's fields and what is recorded beside it, or every problem at once.
fn check(form: NewRequest, key_id: Uuid) -> Result<(RawReport, ApiFiling), Refusal> {
    let mut errors = Vec::new();
    let description = given(form.description);
    let address = given(form.address_string);
    let media_url = given(form.media_url);
    let lat = coordinate(form.lat, "lat", &mut errors);
    let lng = coordinate(form.long, "long", &mut errors);
    let limit = |value: &Option<String>, max: usize, field: &str, errors: &mut Vec<FieldError>| {
        if value.as_ref().is_some_and(|v| v.chars().count() > max) {
            errors.push(FieldError::new(
                field,
                format!("最多{max}个字符 (at most {max} characters)"),
            ));
        }
    };
    if description.is_none() && media_url.is_none() {
        errors.push(FieldError::new(
            "description",
            "请描述问题 (describe the problem)",
        ));
    }
    limit(&description, MAX_DESCRIPTION, "description", &mut errors);
    limit(&address, MAX_ADDRESS, "address_string", &mut errors);
    if lat.is_none() && lng.is_none() && address.is_none() && errors.is_empty() {
        errors.push(FieldError::new(
            "lat",
            if given(form.address_id).is_some() {
                "不支持 address_id，请提供经纬度或地址 (address_id is not supported: send lat and long, or address_string)"
            } else {
                "请提供经纬度或地址 (lat and long, or address_string, are required)"
            },
        ));
    }
    if media_url.as_deref().is_some_and(|u| !media_url_ok(u)) {
        errors.push(FieldError::new(
            "media_url",
            format!("须为 http 或 https 链接，最多{MAX_MEDIA_URL}个字符 (an http or https link of at most {MAX_MEDIA_URL} characters)"),
        ));
    }
    let email = given(form.email);
    if email.as_deref().is_some_and(|e| {
        e.len() > MAX_EMAIL
            || !e.contains('@')
            || e.chars().any(|c| c.is_whitespace() || c.is_control())
    }) {
        errors.push(FieldError::new(
            "email",
            "电子邮箱无效 (not an e-mail address)",
        ));
    }
    let device_id = given(form.device_id);
    let account_id = given(form.account_id);
    limit(&device_id, MAX_ID, "device_id", &mut errors);
    limit(&account_id, MAX_ID, "account_id", &mut errors);
    let first = given(form.first_name);
    let last = given(form.last_name);
    limit(&first, MAX_NAME, "first_name", &mut errors);
    limit(&last, MAX_NAME, "last_name", &mut errors);
    if !errors.is_empty() {
        return Err(mashang_http::ApiError::Validation(errors).into());
    }
    // Staff read the address and the photo link with the description.
    let mut text = description.unwrap_or_default();
    if let Some(address) = &address {
        text.push_str(&format!("\n地址 (address)：{address}"));
    }
    if let Some(url) = &media_url {
        text.push_str(&format!("\n图片 (photo)：{url}"));
    }
    let raw = RawReport {
        qr_token: Some("open311".to_owned()),
        category: form.service_code,
        description: Some(text.trim().to_owned()),
        contact_name: full_name(first.as_deref(), last.as_deref()),
        contact_phone: form.phone,
        lat,
        lng,
        ..RawReport::default()
    };
    Ok((
        raw,
        ApiFiling {
            key_id,
            address_string: address,
            media_url,
            email,
            device_id,
            account_id,
        },
    ))
}

/// The township as a place to file in: its root node and active categories.
async fn context(state: &IntakeState, township: &Township) -> Result<QrContext, Refusal> {
    let mut tx = state.db.tenant(township.id).await?;
    let root: Option<(Uuid, String, String, String)> = sqlx::query_as(
        "SELECT id, code, name, kind FROM routing.grid_nodes \
         WHERE tenant_id = $1 AND parent_id IS NULL AND active ORDER BY created_at, id LIMIT 1",
    )
    .bind(township.id.as_uuid())
    .fetch_optional(&mut *tx)
    .await?;
    let categories: Vec<CategoryInfo> = sqlx::query_as(
        "SELECT code, name_zh, name_en, icon FROM routing.categories \
         WHERE tenant_id = $1 AND active ORDER BY position, code",
    )
    .bind(township.id.as_uuid())
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let Some((id, code, name, kind)) = root else {
        return Err(mashang_http::ApiError::internal(anyhow::anyhow!(
            "township {} has no root node",
            township.code
        ))
        .into());
    };
    Ok(QrContext {
        qr_code_id: None,
        tenant: TenantInfo {
            id: township.id,
            code: township.code.clone(),
            name: township.name.clone(),
            time_zone: township.zone.name().to_owned(),
        },
        node: NodeInfo {
            id: GridNodeId::from_uuid(id),
            code,
            name,
            kind,
            path: Vec::new(),
        },
        categories,
    })
}

/// `POST requests.{json,xml}`.
pub(crate) async fn file(
    state: &IntakeState,
    format: Format,
    form: NewRequest,
) -> Result<Response, Refusal> {
    let township = super::township::find(&state.db, form.jurisdiction_id.as_deref()).await?;
    let key_id = integration(&state.db, &township, form.api_key.as_deref()).await?;
    state.limits.check_key(key_id)?;
    let (raw, filing) = check(form, key_id)?;
    let valid = raw.validate(Vec::new())?;
    let ctx = context(state, &township).await?;
    let origin = Origin {
        channel: Channel::Api,
        staff: None,
        idempotency_key: None,
        api: Some(&filing),
    };
    let done = submit(state, &ctx, valid, origin).await?;
    let filed = Filed {
        service_request_id: done.tracking_number,
        token: done.id.to_string(),
        service_notice:
            "已受理，由乡镇综治中心派单处理 (received: the township centre will dispatch it)"
                .to_owned(),
        account_id: None,
    };
    Ok(list(
        format,
        StatusCode::CREATED,
        "service_requests",
        std::slice::from_ref(&filed),
    ))
}

/// Records `filing` with the report `report` of `tx`'s township, its contact details
/// sealed and bound to the report's row.
pub(crate) async fn record(
    tx: &mut TenantTx,
    key: &mashang_auth::PiiKey,
    report: ReportId,
    filing: &ApiFiling,
) -> Result<(), mashang_http::ApiError> {
    let tenant = tx.tenant().as_uuid();
    let seal = |value: &Option<String>, field: &str| {
        value
            .as_deref()
            .map(|v| key.seal_bound(v, tenant, report.as_uuid(), field))
            .transpose()
            .map_err(mashang_http::ApiError::internal)
    };
    sqlx::query(
        "INSERT INTO intake.open311_requests (tenant_id, report_id, key_id, address_string, \
             media_url, email_sealed, device_id_sealed, account_id_sealed) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(tenant)
    .bind(report.as_uuid())
    .bind(filing.key_id)
    .bind(&filing.address_string)
    .bind(&filing.media_url)
    .bind(seal(&filing.email, "email")?)
    .bind(seal(&filing.device_id, "device_id")?)
    .bind(seal(&filing.account_id, "account_id")?)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_in_their_own_order() {
        assert_eq!(
            full_name(Some("Ann"), Some("Lee")).as_deref(),
            Some("Ann Lee")
        );
        assert_eq!(full_name(Some("三"), Some("张")).as_deref(), Some("张三"));
        assert_eq!(full_name(None, Some("张")).as_deref(), Some("张"));
        assert_eq!(full_name(None, None), None);
    }

    #[test]
    fn only_plain_web_links_are_taken_as_photos() {
        assert!(media_url_ok("https://example.cn/a.jpg"));
        assert!(media_url_ok("HTTP://example.cn/a.jpg"));
        assert!(!media_url_ok("javascript:alert(1)"));
        assert!(!media_url_ok("file:///etc/passwd"));
        assert!(!media_url_ok("https://"));
        assert!(!media_url_ok("https://a b"));
        assert!(!media_url_ok(&format!("https://e.cn/{}", "a".repeat(300))));
    }
}
