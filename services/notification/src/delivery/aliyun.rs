//! Alibaba Cloud SMS (阿里云短信): `SendSms` of API version 2017-05-25, signed with
//! the V3 signature (ACS3-HMAC-SHA256) as "V3 request structure and signature"
//! documents it:
//!
//! - the parameters (`PhoneNumbers`, `SignName`, `TemplateCode`, `TemplateParam` as a
//!   JSON object of the template's named variables, `OutId` the delivery's id) go in
//!   the query, RFC 3986-encoded and sorted; the body is empty;
//! - headers `host`, `x-acs-action: SendSms`, `x-acs-version: 2017-05-25`,
//!   `x-acs-date` (UTC, `2023-10-26T10:22:32Z`), `x-acs-signature-nonce` (random),
//!   `x-acs-content-sha256` (hex SHA-256 of the body);
//! - the canonical request `POST\n/\n<query>\n<headers as name:value\n>\n<signed
//!   header names>\n<payload hash>`, the string to sign `ACS3-HMAC-SHA256\n<hex
//!   SHA-256 of it>`, and `Authorization: ACS3-HMAC-SHA256 Credential=<key id>,
//!   SignedHeaders=<names>,Signature=<hex HMAC-SHA256 under the secret>`.
//!
//! The answer is JSON: `{"Code": "OK", "BizId": …}` is sent (the BizId is the
//! provider's id, for the delivery receipts); business errors come with HTTP 200 and
//! their `Code`: `isv.BUSINESS_LIMIT_CONTROL` (a number's minute or hour limit) is
//! retried later, its day limit and `isv.DAY_LIMIT_CONTROL` fail; `isv.AMOUNT_NOT_ENOUGH`
//! (no balance) is retried after a quarter of an hour, so messages go once the account
//! is topped up; `isv.SMS_TEMPLATE_ILLEGAL`, `isv.SMS_SIGNATURE_ILLEGAL`,
//! `isv.MOBILE_NUMBER_ILLEGAL`, `isv.TEMPLATE_MISSING_PARAMETERS` and other `isv.`
//! codes are permanent. Gateway errors come with 4xx: `SignatureDoesNotMatch` and
//! `InvalidAccessKeyId.NotFound` are permanent, `Throttling…` and `isp.` system errors
//! are retried, as are 5xx answers.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::engine::Secrets;
use super::outbound::Outbound;
use super::sms::{Signed, SmsSettings, hex, host_header, percent_encode, values};
use super::{Answer, Message, Outcome, by_status, unreachable};

/// Alibaba Cloud's SMS endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://dysmsapi.aliyuncs.com";
/// The signature algorithm.
pub const ALGORITHM: &str = "ACS3-HMAC-SHA256";
const ACTION: &str = "SendSms";
const VERSION: &str = "2017-05-25";

/// The canonical query string: names and values RFC 3986-encoded, sorted by name.
pub fn canonical_query(pairs: &[(&str, String)]) -> String {
    let mut encoded: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (percent_encode(k), percent_encode(v)))
        .collect();
    encoded.sort();
    encoded
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// What a request is signed over.
#[derive(Debug)]
pub struct ToSign<'a> {
    pub method: &'a str,
    /// The encoded path (`/` for RPC-style APIs such as SendSms).
    pub path: &'a str,
    /// The canonical query string.
    pub query: &'a str,
    /// Lower-case names and values of the headers signed (host, x-acs-*, content-type).
    pub headers: &'a [(&'a str, String)],
    /// The hex SHA-256 of the body.
    pub payload_hash: &'a str,
}

/// The canonical request.
pub fn canonical_request(r: &ToSign<'_>) -> (String, String) {
    let mut headers: Vec<(String, String)> = r
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    headers.sort();
    let canonical: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed = headers
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    (
        format!(
            "{}\n{}\n{}\n{canonical}\n{signed}\n{}",
            r.method, r.path, r.query, r.payload_hash
        ),
        signed,
    )
}

/// The `Authorization` header for `request` signed with the key pair.
pub fn authorization(request: &ToSign<'_>, key_id: &str, secret: &str) -> String {
    let (canonical, signed) = canonical_request(request);
    let to_sign = format!(
        "{ALGORITHM}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(to_sign.as_bytes());
    format!(
        "{ALGORITHM} Credential={key_id},SignedHeaders={signed},Signature={}",
        hex(&mac.finalize().into_bytes())
    )
}

/// A fresh nonce: 16 random bytes in hex.
fn nonce() -> String {
    let mut b = [0u8; 16];
    let _ = getrandom::fill(&mut b);
    hex(&b)
}

/// The request for `message`: its URL (query included) and headers.
pub fn request(
    settings: &SmsSettings,
    secrets: &Secrets,
    message: &Message,
    at: DateTime<Utc>,
    nonce: &str,
) -> Result<Signed, String> {
    let template = settings
        .template(&message.kind)
        .ok_or_else(|| format!("no template for {}", message.kind))?;
    let endpoint = settings.endpoint.as_deref().unwrap_or(DEFAULT_ENDPOINT);
    let mut url = reqwest::Url::parse(endpoint).map_err(|_| "the endpoint does not parse")?;
    url.set_path("/");
    let (Some(key_id), Some(secret)) = (&secrets.access_key_id, &secrets.access_key_secret) else {
        return Err("no AccessKey".to_owned());
    };
    let params: serde_json::Map<String, serde_json::Value> = values(template, message)
        .into_iter()
        .map(|(k, v)| (k, serde_json::Value::String(v)))
        .collect();
    let query = canonical_query(&[
        ("PhoneNumbers", message.phone.clone().unwrap_or_default()),
        ("SignName", settings.sign_name.clone()),
        ("TemplateCode", template.code.clone()),
        (
            "TemplateParam",
            serde_json::Value::Object(params).to_string(),
        ),
        ("OutId", message.id.simple().to_string()),
    ]);
    url.set_query(Some(&query));
    let payload_hash = hex(&Sha256::digest(b""));
    let date = at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let signed: Vec<(&str, String)> = vec![
        ("host", host_header(&url)),
        ("x-acs-action", ACTION.to_owned()),
        ("x-acs-content-sha256", payload_hash.clone()),
        ("x-acs-date", date.clone()),
        ("x-acs-signature-nonce", nonce.to_owned()),
        ("x-acs-version", VERSION.to_owned()),
    ];
    let auth = authorization(
        &ToSign {
            method: "POST",
            path: "/",
            query: &query,
            headers: &signed,
            payload_hash: &payload_hash,
        },
        key_id,
        secret,
    );
    // The client sends Host from the URL, as signed; the rest go as signed.
    let headers: Vec<(&'static str, String)> = vec![
        ("x-acs-action", ACTION.to_owned()),
        ("x-acs-version", VERSION.to_owned()),
        ("x-acs-date", date),
        ("x-acs-signature-nonce", nonce.to_owned()),
        ("x-acs-content-sha256", payload_hash),
        ("authorization", auth),
        ("accept", "application/json".to_owned()),
    ];
    Ok(Signed {
        url,
        headers,
        body: Vec::new(),
    })
}

/// Sends `message` (to `message.phone`, with its kind's template).
pub async fn send(
    out: &Outbound,
    settings: &SmsSettings,
    secrets: &Secrets,
    message: &Message,
) -> Outcome {
    let signed = match request(settings, secrets, message, Utc::now(), &nonce()) {
        Ok(r) => r,
        Err(why) => {
            return Outcome::Failed {
                reason: format!("阿里云短信渠道配置不全 (the channel is incomplete: {why})"),
                answer: Answer::none(&why),
            };
        }
    };
    match out.post(&signed.url, &signed.headers, signed.body).await {
        Ok(reply) => read(reply.status, reply.retry_after, &reply.body),
        Err(err) => unreachable(&err),
    }
}

/// Reads an answer of any status by its `Code`.
pub fn read(status: u16, retry_after: Option<Duration>, body: &str) -> Outcome {
    let answer = Answer::new(Some(status), body);
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let field = |name: &str| {
        parsed
            .as_ref()
            .and_then(|v| v[name].as_str())
            .map(str::to_owned)
    };
    let Some(code) = field("Code") else {
        return match by_status(status, retry_after, body) {
            Outcome::Sent { answer, .. } => Outcome::Retry {
                reason: "阿里云短信的回答无法识别 (unreadable answer)".to_owned(),
                after: None,
                answer,
            },
            other => other,
        };
    };
    let message = field("Message").unwrap_or_default();
    let retry = |zh: &str, after: Option<Duration>| Outcome::Retry {
        reason: format!("{zh} ({code} {message})"),
        after,
        answer: answer.clone(),
    };
    let fail = |zh: &str| Outcome::Failed {
        reason: format!("{zh} ({code} {message})"),
        answer: answer.clone(),
    };
    match code.as_str() {
        "OK" => Outcome::Sent {
            provider_id: field("BizId").filter(|b| !b.is_empty()),
            answer,
        },
        "isv.BUSINESS_LIMIT_CONTROL" => {
            // The message says which window was hit: 分钟级, 小时级 or 天级.
            if message.contains('天') || message.to_ascii_lowercase().contains("day") {
                fail("此号码今日短信已达上限，不再重试 (the number's daily limit)")
            } else if message.contains("小时") || message.to_ascii_lowercase().contains("hour") {
                retry(
                    "此号码本小时短信已达上限，稍后重发 (the number's hourly limit; retried)",
                    Some(Duration::from_secs(3600)),
                )
            } else {
                retry(
                    "此号码发送过于频繁，稍后重发 (the number's rate limit; retried)",
                    Some(Duration::from_secs(60)),
                )
            }
        }
        "isv.DAY_LIMIT_CONTROL" => fail("今日发送量已达上限 (the daily limit)"),
        "isv.AMOUNT_NOT_ENOUGH" => retry(
            "短信账户余额不足，充值后自动重发 (no balance; retried)",
            Some(Duration::from_secs(15 * 60)),
        ),
        "isv.SMS_TEMPLATE_ILLEGAL" => {
            fail("短信模板不存在或未审核通过 (the template is unknown or not approved)")
        }
        "isv.SMS_SIGNATURE_ILLEGAL" => {
            fail("短信签名不存在或未审核通过 (the signature is unknown or not approved)")
        }
        "isv.MOBILE_NUMBER_ILLEGAL" => fail("手机号码无效 (an invalid mobile number)"),
        "isv.TEMPLATE_MISSING_PARAMETERS" => {
            fail("模板缺少变量，请核对模板参数 (the template misses parameters)")
        }
        "SignatureDoesNotMatch" => {
            fail("签名不匹配：请核对 AccessKey Secret (the signature does not match)")
        }
        "InvalidAccessKeyId.NotFound" | "InvalidAccessKeyId.Inactive" => {
            fail("AccessKey ID 不存在或已停用 (no such AccessKey)")
        }
        c if c.starts_with("Throttling") || c == "ServiceUnavailable" => retry(
            "阿里云限流，稍后重发 (throttled; retried)",
            Some(Duration::from_secs(60)),
        ),
        c if c.starts_with("isp.") && c != "isp.RAM_PERMISSION_DENY" => {
            retry("阿里云系统繁忙 (a system error; retried)", None)
        }
        c if c.starts_with("InternalError") || status >= 500 => {
            retry("阿里云系统繁忙 (a system error; retried)", retry_after)
        }
        _ => fail("阿里云短信拒绝 (refused)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fixed-parameter example of "V3 request structure and signature" (Alibaba
    /// Cloud's SDK documentation, "Signature examples"): RunInstances on
    /// ecs.cn-shanghai.aliyuncs.com with AccessKey `YourAccessKeyId` /
    /// `YourAccessKeySecret`, nonce `3156853299f313e23d1673dc12e1703d`, date
    /// `2023-10-26T10:22:32Z`; it publishes the canonical request, the hashed canonical
    /// request `7ea06492…e259` and the signature `06563a9e…83c0`.
    #[test]
    fn the_signature_matches_the_documentations_worked_example() {
        let query = canonical_query(&[
            ("RegionId", "cn-shanghai".to_owned()),
            (
                "ImageId",
                "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd".to_owned(),
            ),
        ]);
        assert_eq!(
            query,
            "ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai"
        );
        let empty = hex(&Sha256::digest(b""));
        let headers = [
            ("host", "ecs.cn-shanghai.aliyuncs.com".to_owned()),
            ("x-acs-action", "RunInstances".to_owned()),
            ("x-acs-content-sha256", empty.clone()),
            ("x-acs-date", "2023-10-26T10:22:32Z".to_owned()),
            (
                "x-acs-signature-nonce",
                "3156853299f313e23d1673dc12e1703d".to_owned(),
            ),
            ("x-acs-version", "2014-05-26".to_owned()),
        ];
        let request = ToSign {
            method: "POST",
            path: "/",
            query: &query,
            headers: &headers,
            payload_hash: &empty,
        };
        let (canonical, _) = canonical_request(&request);
        assert_eq!(
            hex(&Sha256::digest(canonical.as_bytes())),
            "7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"
        );
        assert_eq!(
            authorization(&request, "YourAccessKeyId", "YourAccessKeySecret"),
            "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;\
             x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,\
             Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
        );
    }

    #[test]
    fn a_send_sms_request_carries_the_template_and_its_named_parameters() {
        let settings = SmsSettings::from_value(&serde_json::json!({
            "sign_name": "码上反映", "endpoint": "http://127.0.0.1:8080",
            "templates": {"case_assigned": {"code": "SMS_1", "params": ["number", "link"]}}}));
        let secrets = Secrets {
            access_key_id: Some("LTAI".into()),
            access_key_secret: Some("secret".into()),
            ..Secrets::default()
        };
        let message = Message {
            kind: "case_assigned".into(),
            phone: Some("13800000000".into()),
            params: [("number".to_owned(), "MS 1".to_owned())]
                .into_iter()
                .collect(),
            ..Message::default()
        };
        let Signed { url, headers, .. } =
            request(&settings, &secrets, &message, Utc::now(), "n1").expect("a request");
        let pairs: std::collections::HashMap<String, String> =
            url.query_pairs().into_owned().collect();
        assert_eq!(pairs["TemplateCode"], "SMS_1");
        assert_eq!(pairs["SignName"], "码上反映");
        assert_eq!(pairs["TemplateParam"], r#"{"link":"-","number":"MS 1"}"#);
        assert!(url.query().is_some_and(|q| q.contains("MS%201")));
        assert!(headers.iter().any(|(k, v)| *k == "authorization"
            && v.starts_with("ACS3-HMAC-SHA256 Credential=LTAI,SignedHeaders=host;x-acs-action;")));
    }

    #[test]
    fn answers_are_read_by_their_code_whatever_the_status() {
        let sent = read(
            200,
            None,
            r#"{"Code":"OK","Message":"OK","BizId":"9006^0","RequestId":"r"}"#,
        );
        assert!(matches!(sent, Outcome::Sent { provider_id: Some(ref id), .. } if id == "9006^0"));
        assert!(matches!(
            read(200, None, r#"{"Code":"isv.BUSINESS_LIMIT_CONTROL","Message":"触发分钟级流控Permits:1"}"#),
            Outcome::Retry { after: Some(d), .. } if d.as_secs() == 60
        ));
        assert!(matches!(
            read(
                200,
                None,
                r#"{"Code":"isv.BUSINESS_LIMIT_CONTROL","Message":"触发天级流控Permits:10"}"#
            ),
            Outcome::Failed { .. }
        ));
        for permanent in [
            "isv.SMS_TEMPLATE_ILLEGAL",
            "isv.SMS_SIGNATURE_ILLEGAL",
            "isv.MOBILE_NUMBER_ILLEGAL",
            "isv.TEMPLATE_MISSING_PARAMETERS",
        ] {
            let body = format!(r#"{{"Code":"{permanent}","Message":"x"}}"#);
            assert!(
                matches!(read(200, None, &body), Outcome::Failed { ref reason, .. } if reason.contains(permanent)),
                "{permanent}"
            );
        }
        assert!(matches!(
            read(
                400,
                None,
                r#"{"Code":"SignatureDoesNotMatch","Message":"Specified signature does not match our calculation."}"#
            ),
            Outcome::Failed { .. }
        ));
        assert!(matches!(
            read(
                404,
                None,
                r#"{"Code":"InvalidAccessKeyId.NotFound","Message":"Specified access key is not found."}"#
            ),
            Outcome::Failed { .. }
        ));
        assert!(matches!(
            read(
                400,
                None,
                r#"{"Code":"Throttling.User","Message":"Request was denied due to user flow control."}"#
            ),
            Outcome::Retry { .. }
        ));
        assert!(matches!(
            read(
                200,
                None,
                r#"{"Code":"isv.AMOUNT_NOT_ENOUGH","Message":"账户余额不足"}"#
            ),
            Outcome::Retry { .. }
        ));
        assert!(matches!(read(502, None, "<html>"), Outcome::Retry { .. }));
        assert!(matches!(read(200, None, "<html>"), Outcome::Retry { .. }));
    }
}
