//! Tencent Cloud SMS (腾讯云短信): `SendSms` of API version 2021-01-11, signed with
//! TC3-HMAC-SHA256 as "签名方法 v3" documents it:
//!
//! - `POST /` with a JSON body `{"PhoneNumberSet": ["+86…"], "SmsSdkAppId", "SignName",
//!   "TemplateId", "TemplateParamSet": [positional values], "SessionContext": <the
//!   delivery's id>}` and headers `X-TC-Action: SendSms`, `X-TC-Version: 2021-01-11`,
//!   `X-TC-Timestamp` (Unix seconds), `X-TC-Region`;
//! - the canonical request `POST\n/\n\n<content-type, host and x-tc-action as
//!   name:value\n, lower case>\ncontent-type;host;x-tc-action\n<hex SHA-256 of the
//!   body>`, the string to sign `TC3-HMAC-SHA256\n<timestamp>\n<UTC date>/sms/tc3_request
//!   \n<hex SHA-256 of the canonical request>`, signed with the key derived as
//!   HMAC(HMAC(HMAC("TC3" + SecretKey, date), "sms"), "tc3_request");
//! - `Authorization: TC3-HMAC-SHA256 Credential=<SecretId>/<date>/sms/tc3_request,
//!   SignedHeaders=content-type;host;x-tc-action, Signature=<hex>`.
//!
//! Every answer is HTTP 200. `Response.Error` is a failed call: authentication
//! (`AuthFailure.SignatureFailure`, `AuthFailure.SecretIdNotFound`, …) and parameter
//! errors are permanent, `RequestLimitExceeded` and `InternalError` retried. Otherwise
//! `Response.SendStatusSet` has one status per number: `Ok` is sent (its `SerialNo` is
//! the provider's id, for the receipts); `LimitExceeded.PhoneNumberThirtySecondLimit`
//! and `…OneHourLimit` are retried after 30 s and an hour,
//! `LimitExceeded.PhoneNumberDailyLimit` fails; unapproved templates and signatures,
//! wrong numbers and blocked numbers are permanent.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::engine::Secrets;
use super::outbound::Outbound;
use super::sms::{Signed, SmsSettings, hex, host_header, values};
use super::{Answer, Message, Outcome, by_status, unreachable};

/// Tencent Cloud's SMS endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://sms.tencentcloudapi.com";
/// The region when the channel names none.
pub const DEFAULT_REGION: &str = "ap-guangzhou";
/// The signature algorithm.
pub const ALGORITHM: &str = "TC3-HMAC-SHA256";
const SERVICE: &str = "sms";
const ACTION: &str = "SendSms";
const VERSION: &str = "2021-01-11";
const CONTENT_TYPE: &str = "application/json; charset=utf-8";
const SIGNED_HEADERS: &str = "content-type;host;x-tc-action";

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// The `Authorization` header for a POST of `payload` to `host` calling `action` of
/// `service` at `timestamp`.
pub fn authorization(
    secret_id: &str,
    secret_key: &str,
    service: &str,
    host: &str,
    action: &str,
    payload: &[u8],
    timestamp: i64,
) -> String {
    let date = DateTime::from_timestamp(timestamp, 0)
        .unwrap_or_default()
        .format("%Y-%m-%d")
        .to_string();
    let canonical = format!(
        "POST\n/\n\ncontent-type:{}\nhost:{}\nx-tc-action:{}\n\n{SIGNED_HEADERS}\n{}",
        CONTENT_TYPE.to_ascii_lowercase(),
        host.to_ascii_lowercase(),
        action.to_ascii_lowercase(),
        hex(&Sha256::digest(payload))
    );
    let scope = format!("{date}/{service}/tc3_request");
    let to_sign = format!(
        "{ALGORITHM}\n{timestamp}\n{scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let key = hmac(format!("TC3{secret_key}").as_bytes(), &date);
    let key = hmac(&key, service);
    let key = hmac(&key, "tc3_request");
    format!(
        "{ALGORITHM} Credential={secret_id}/{scope}, SignedHeaders={SIGNED_HEADERS}, Signature={}",
        hex(&hmac(&key, &to_sign))
    )
}

/// A mainland number in E.164 (`+86…`); others as they are.
pub fn e164(phone: &str) -> String {
    if phone.starts_with('+') {
        phone.to_owned()
    } else {
        format!("+86{phone}")
    }
}

/// The request for `message`: URL, headers and body.
pub fn request(
    settings: &SmsSettings,
    secrets: &Secrets,
    message: &Message,
    timestamp: i64,
) -> Result<Signed, String> {
    let template = settings
        .template(&message.kind)
        .ok_or_else(|| format!("no template for {}", message.kind))?;
    let url = reqwest::Url::parse(settings.endpoint.as_deref().unwrap_or(DEFAULT_ENDPOINT))
        .map_err(|_| "the endpoint does not parse")?;
    let (Some(secret_id), Some(secret_key)) = (&secrets.secret_id, &secrets.secret_key) else {
        return Err("no SecretId/SecretKey".to_owned());
    };
    let Some(app) = &settings.sdk_app_id else {
        return Err("no SdkAppId".to_owned());
    };
    let params: Vec<String> = values(template, message)
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    let body = json!({
        "PhoneNumberSet": [e164(message.phone.as_deref().unwrap_or_default())],
        "SmsSdkAppId": app,
        "SignName": settings.sign_name,
        "TemplateId": template.code,
        "TemplateParamSet": params,
        "SessionContext": message.id.simple().to_string(),
    });
    let body = serde_json::to_vec(&body).unwrap_or_default();
    let auth = authorization(
        secret_id,
        secret_key,
        SERVICE,
        &host_header(&url),
        ACTION,
        &body,
        timestamp,
    );
    let headers = vec![
        ("content-type", CONTENT_TYPE.to_owned()),
        ("x-tc-action", ACTION.to_owned()),
        ("x-tc-version", VERSION.to_owned()),
        ("x-tc-timestamp", timestamp.to_string()),
        (
            "x-tc-region",
            settings
                .region
                .clone()
                .unwrap_or_else(|| DEFAULT_REGION.to_owned()),
        ),
        ("authorization", auth),
    ];
    Ok(Signed { url, headers, body })
}

/// Sends `message` (to `message.phone`, with its kind's template).
pub async fn send(
    out: &Outbound,
    settings: &SmsSettings,
    secrets: &Secrets,
    message: &Message,
) -> Outcome {
    let signed = match request(settings, secrets, message, Utc::now().timestamp()) {
        Ok(r) => r,
        Err(why) => {
            return Outcome::Failed {
                reason: format!("腾讯云短信渠道配置不全 (the channel is incomplete: {why})"),
                answer: Answer::none(&why),
            };
        }
    };
    match out.post(&signed.url, &signed.headers, signed.body).await {
        Ok(reply) if reply.status == 200 => read(&reply.body),
        Ok(reply) => by_status(reply.status, reply.retry_after, &reply.body),
        Err(err) => unreachable(&err),
    }
}

/// Reads an HTTP 200 answer: the call's error, or the number's status.
pub fn read(body: &str) -> Outcome {
    let answer = Answer::new(Some(200), body);
    let parsed: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let response = &parsed["Response"];
    let (code, message, serial) = if let Some(error) = response.get("Error") {
        (error["Code"].as_str(), error["Message"].as_str(), None)
    } else {
        let status = &response["SendStatusSet"][0];
        (
            status["Code"].as_str(),
            status["Message"].as_str(),
            status["SerialNo"].as_str(),
        )
    };
    let Some(code) = code else {
        return Outcome::Retry {
            reason: "腾讯云短信的回答无法识别 (unreadable answer)".to_owned(),
            after: None,
            answer,
        };
    };
    let message = message.unwrap_or_default();
    let retry = |zh: &str, after: Option<Duration>| Outcome::Retry {
        reason: format!("{zh} ({code} {message})"),
        after,
        answer: answer.clone(),
    };
    let fail = |zh: &str| Outcome::Failed {
        reason: format!("{zh} ({code} {message})"),
        answer: answer.clone(),
    };
    match code {
        "Ok" => Outcome::Sent {
            provider_id: serial.filter(|s| !s.is_empty()).map(str::to_owned),
            answer,
        },
        "LimitExceeded.PhoneNumberThirtySecondLimit" => retry(
            "此号码30秒内发送过于频繁，稍后重发 (the number's 30-second limit; retried)",
            Some(Duration::from_secs(30)),
        ),
        "LimitExceeded.PhoneNumberOneHourLimit" => retry(
            "此号码本小时短信已达上限，稍后重发 (the number's hourly limit; retried)",
            Some(Duration::from_secs(3600)),
        ),
        "LimitExceeded.DeliveryFrequencyLimit" => retry(
            "发送频率超限，稍后重发 (the frequency limit; retried)",
            Some(Duration::from_secs(60)),
        ),
        "LimitExceeded.PhoneNumberDailyLimit"
        | "LimitExceeded.PhoneNumberSameContentDailyLimit" => {
            fail("此号码今日短信已达上限，不再重试 (the number's daily limit)")
        }
        "FailedOperation.TemplateIncorrectOrUnapproved" => {
            fail("短信模板不存在或未审核通过 (the template is unknown or not approved)")
        }
        "FailedOperation.SignatureIncorrectOrUnapproved" => {
            fail("短信签名不存在或未审核通过 (the signature is unknown or not approved)")
        }
        "InvalidParameterValue.IncorrectPhoneNumber" => {
            fail("手机号码无效 (an invalid mobile number)")
        }
        "FailedOperation.InsufficientBalanceInSmsPackage" => retry(
            "短信套餐包余量不足，充值后自动重发 (no balance; retried)",
            Some(Duration::from_secs(15 * 60)),
        ),
        "AuthFailure.SignatureFailure" => {
            fail("签名错误：请核对 SecretKey (the signature does not match)")
        }
        "AuthFailure.SecretIdNotFound" | "AuthFailure.InvalidSecretId" => {
            fail("SecretId 不存在或已停用 (no such SecretId)")
        }
        c if c.starts_with("RequestLimitExceeded") => retry(
            "腾讯云限流，稍后重发 (throttled; retried)",
            Some(Duration::from_secs(60)),
        ),
        c if c.starts_with("InternalError") => {
            retry("腾讯云系统繁忙 (a system error; retried)", None)
        }
        _ => fail("腾讯云短信拒绝 (refused)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of "签名方法 v3" (Tencent Cloud API documentation): CVM
    /// `DescribeInstances` at timestamp 1551113065 with the documentation's (masked)
    /// SecretId `AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******` and SecretKey
    /// `Gu5t9xGARNpq86cd98joQYCN3*******`, taken as they are written. The page
    /// publishes the payload hash `35e9c5b0…f064`, the hashed canonical request
    /// `7019a55b…1e84` and the signature `be4f67d3…70a3`; the same signature was
    /// computed independently with `openssl dgst -sha256 -mac HMAC` over the
    /// documented strings (key chain "TC3"+key → "2019-02-25" → "cvm" → "tc3_request").
    #[test]
    fn the_signature_matches_the_documentations_worked_example() {
        let payload = r#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;
        assert_eq!(
            hex(&Sha256::digest(payload.as_bytes())),
            "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
        );
        assert_eq!(
            authorization(
                "AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******",
                "Gu5t9xGARNpq86cd98joQYCN3*******",
                "cvm",
                "cvm.tencentcloudapi.com",
                "DescribeInstances",
                payload.as_bytes(),
                1_551_113_065,
            ),
            "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******/2019-02-25/cvm/tc3_request, \
             SignedHeaders=content-type;host;x-tc-action, \
             Signature=be4f67d323c78ab9acb7395e43c0dbcf822a9cfac32fea2449a7bc7726b770a3"
        );
    }

    #[test]
    fn a_send_sms_body_carries_positional_parameters_and_the_delivery() {
        let settings = SmsSettings::from_value(&json!({
            "sign_name": "码上反映", "sdk_app_id": "1400006666",
            "templates": {"case_assigned": {"code": "123", "params": ["number", "deadline"]}}}));
        let secrets = Secrets {
            secret_id: Some("AKID".into()),
            secret_key: Some("key".into()),
            ..Secrets::default()
        };
        let message = Message {
            id: uuid::Uuid::nil(),
            kind: "case_assigned".into(),
            phone: Some("13800000000".into()),
            params: [("deadline".to_owned(), "12月05日14:30".to_owned())]
                .into_iter()
                .collect(),
            ..Message::default()
        };
        let Signed { url, headers, body } =
            request(&settings, &secrets, &message, 1_700_000_000).expect("ok");
        assert_eq!(url.as_str(), "https://sms.tencentcloudapi.com/");
        let body: Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(body["PhoneNumberSet"], json!(["+8613800000000"]));
        assert_eq!(body["TemplateParamSet"], json!(["-", "12月05日14:30"]));
        assert_eq!(body["SessionContext"], "00000000000000000000000000000000");
        assert!(headers.contains(&("x-tc-region", "ap-guangzhou".to_owned())));
    }

    #[test]
    fn answers_are_read_by_the_call_error_or_the_numbers_status() {
        let status = |code: &str| {
            format!(
                r#"{{"Response":{{"SendStatusSet":[{{"SerialNo":"2640:1","PhoneNumber":"+8613800000000","Fee":1,"Code":"{code}","Message":"m","IsoCode":"CN"}}],"RequestId":"r"}}}}"#
            )
        };
        assert!(
            matches!(read(&status("Ok")), Outcome::Sent { provider_id: Some(ref s), .. } if s == "2640:1")
        );
        assert!(matches!(
            read(&status("LimitExceeded.PhoneNumberThirtySecondLimit")),
            Outcome::Retry { after: Some(d), .. } if d.as_secs() == 30
        ));
        assert!(matches!(
            read(&status("LimitExceeded.PhoneNumberOneHourLimit")),
            Outcome::Retry { after: Some(d), .. } if d.as_secs() == 3600
        ));
        for permanent in [
            "LimitExceeded.PhoneNumberDailyLimit",
            "FailedOperation.TemplateIncorrectOrUnapproved",
            "FailedOperation.SignatureIncorrectOrUnapproved",
            "InvalidParameterValue.IncorrectPhoneNumber",
        ] {
            assert!(
                matches!(read(&status(permanent)), Outcome::Failed { .. }),
                "{permanent}"
            );
        }
        let error = |code: &str| {
            format!(
                r#"{{"Response":{{"Error":{{"Code":"{code}","Message":"m"}},"RequestId":"r"}}}}"#
            )
        };
        assert!(matches!(
            read(&error("AuthFailure.SignatureFailure")),
            Outcome::Failed { .. }
        ));
        assert!(matches!(
            read(&error("RequestLimitExceeded")),
            Outcome::Retry { .. }
        ));
        assert!(matches!(
            read(&error("InternalError.Timeout")),
            Outcome::Retry { .. }
        ));
        assert!(matches!(read("<html>"), Outcome::Retry { .. }));
    }
}
