//! Fakes of the two SMS APIs, written from the providers' documentation and not from
//! the sender's code: each rebuilds the canonical request from the request it
//! received and checks the signature as the provider does, then answers as the
//! provider does, business errors with HTTP 200 included.
//!
//! - Alibaba Cloud `SendSms` (2017-05-25, V3 signature ACS3-HMAC-SHA256): gateway
//!   errors with 4xx (`SignatureDoesNotMatch` 400, `InvalidAccessKeyId.NotFound` 404,
//!   `InvalidTimeStamp.Expired`, `SignatureNonceUsed`), business codes with 200
//!   (`isv.SMS_SIGNATURE_ILLEGAL`, `isv.SMS_TEMPLATE_ILLEGAL`,
//!   `isv.MOBILE_NUMBER_ILLEGAL`, `isv.TEMPLATE_MISSING_PARAMETERS`,
//!   `isv.BUSINESS_LIMIT_CONTROL`), `{"Code": "OK", "BizId": …}` when sent.
//! - Tencent Cloud `SendSms` (2021-01-11, TC3-HMAC-SHA256): always HTTP 200; call
//!   errors in `Response.Error` (`AuthFailure.SignatureFailure`,
//!   `AuthFailure.SecretIdNotFound`, `AuthFailure.SignatureExpire`, …), per-number
//!   statuses in `Response.SendStatusSet` (`Ok`, `FailedOperation.TemplateIncorrectOrUnapproved`,
//!   `LimitExceeded.PhoneNumberThirtySecondLimit`, …).
//!
//! Both share the approved signatures and templates and a per-number window (30 s;
//! no limit unless a test sets one).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::fakes::{Fakes, Shared};

/// An SMS a fake accepted.
#[derive(Clone, Debug)]
pub struct Sms {
    /// `aliyun` or `tencent`.
    pub provider: &'static str,
    /// The number as sent (`13800000000`, `+8613800000000`).
    pub phone: String,
    pub sign_name: String,
    pub template: String,
    /// The parameters: Alibaba's by name, Tencent's in order (`"1"`, `"2"`, …).
    pub params: Vec<(String, String)>,
    /// The provider's id (BizId, SerialNo).
    pub id: String,
    /// OutId or SessionContext.
    pub context: String,
}

impl Sms {
    /// Parameter `name` (Tencent: its position from 1).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Default)]
pub(crate) struct SmsState {
    /// Alibaba AccessKey id → secret.
    aliyun_keys: HashMap<String, String>,
    /// Tencent SecretId → (SecretKey, SdkAppId).
    tencent_keys: HashMap<String, (String, String)>,
    signs: HashSet<String>,
    /// Approved template code → its parameter names.
    templates: HashMap<String, Vec<String>>,
    nonces: HashSet<String>,
    /// Messages per number in the current 30-second window, and the most it takes.
    windows: HashMap<String, VecDeque<Instant>>,
    per_number: Option<usize>,
    accepted: Vec<Sms>,
    serial: u64,
}

impl Fakes {
    /// Alibaba Cloud's SMS endpoint (for a channel's `endpoint`).
    pub fn aliyun_endpoint(&self) -> String {
        format!("http://{}", self.aliyun)
    }

    /// Tencent Cloud's SMS endpoint.
    pub fn tencent_endpoint(&self) -> String {
        format!("http://{}", self.tencent)
    }

    /// An Alibaba Cloud AccessKey pair.
    pub fn aliyun_key(&self, id: &str, secret: &str) {
        self.lock()
            .sms
            .aliyun_keys
            .insert(id.to_owned(), secret.to_owned());
    }

    /// A Tencent Cloud key pair and the SMS application it may send with.
    pub fn tencent_key(&self, id: &str, key: &str, sdk_app_id: &str) {
        self.lock()
            .sms
            .tencent_keys
            .insert(id.to_owned(), (key.to_owned(), sdk_app_id.to_owned()));
    }

    /// An approved signature.
    pub fn sms_sign(&self, name: &str) {
        self.lock().sms.signs.insert(name.to_owned());
    }

    /// An approved template and the parameters it takes (Tencent: their count).
    pub fn sms_template(&self, code: &str, params: &[&str]) {
        self.lock().sms.templates.insert(
            code.to_owned(),
            params.iter().map(|p| (*p).to_owned()).collect(),
        );
    }

    /// At most `n` messages to a number in 30 seconds (`None`: no limit).
    pub fn sms_per_number(&self, n: Option<usize>) {
        let mut s = self.lock();
        s.sms.per_number = n;
        s.sms.windows.clear();
    }

    /// The SMS accepted for `phone` (the 11 digits), in order.
    pub fn sms(&self, phone: &str) -> Vec<Sms> {
        self.lock()
            .sms
            .accepted
            .iter()
            .filter(|m| m.phone.ends_with(phone))
            .cloned()
            .collect()
    }

    /// Alibaba Cloud's delivery report for `sms`, as its HTTP batch push sends it.
    pub fn aliyun_report(sms: &Sms, delivered: bool) -> Value {
        json!([{
            "phone_number": sms.phone,
            "send_time": "2026-12-04 10:00:00",
            "report_time": "2026-12-04 10:00:05",
            "success": delivered,
            "err_code": if delivered { "DELIVERED" } else { "MK:0001" },
            "err_msg": if delivered { "用户接收成功" } else { "空号" },
            "sms_size": "1",
            "biz_id": sms.id,
            "out_id": sms.context,
        }])
    }

    /// Tencent Cloud's status callback for `sms`.
    pub fn tencent_report(sms: &Sms, delivered: bool) -> Value {
        json!([{
            "user_receive_time": "2026-12-04 10:00:05",
            "nationcode": "86",
            "mobile": sms.phone.trim_start_matches("+86"),
            "report_status": if delivered { "SUCCESS" } else { "FAIL" },
            "errmsg": if delivered { "DELIVRD" } else { "UNDELIV" },
            "description": if delivered { "用户短信送达成功" } else { "用户短信未送达" },
            "sid": sms.id,
        }])
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// RFC 3986: all but `A-Z a-z 0-9 - _ . ~` as `%XX`.
fn rfc3986(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A mainland mobile number, with or without +86/86/0086.
fn mainland(phone: &str) -> bool {
    let digits = ["+86", "0086", "86"]
        .iter()
        .find_map(|p| phone.strip_prefix(p).filter(|d| d.len() == 11))
        .unwrap_or(phone);
    digits.len() == 11
        && digits.starts_with('1')
        && digits.chars().all(|c| c.is_ascii_digit())
        && digits.as_bytes()[1] >= b'3'
}

/// Whether one more message to `phone` fits its window.
fn admit(s: &mut SmsState, phone: &str) -> bool {
    let Some(limit) = s.per_number else {
        return true;
    };
    let window = s.windows.entry(phone.to_owned()).or_default();
    let now = Instant::now();
    while window
        .front()
        .is_some_and(|t| now.duration_since(*t) > Duration::from_secs(30))
    {
        window.pop_front();
    }
    if window.len() >= limit {
        return false;
    }
    window.push_back(now);
    true
}

fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string().to_uppercase()
}

/// An Alibaba gateway error.
fn gateway(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"RequestId": request_id(), "HostId": "dysmsapi.aliyuncs.com",
                    "Code": code, "Message": message,
                    "Recommend": format!("https://api.aliyun.com/troubleshoot?q={code}&product=Dysmsapi")})),
    )
        .into_response()
}

/// An Alibaba business answer (HTTP 200).
fn business(code: &str, message: &str) -> Response {
    Json(json!({"RequestId": request_id(), "Code": code, "Message": message})).into_response()
}

/// `POST /?<parameters>` as Alibaba Cloud's SendSms.
pub(crate) async fn aliyun(
    State(shared): State<Arc<Mutex<Shared>>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let auth = header(&headers, "authorization");
    let Some(fields) = auth.strip_prefix("ACS3-HMAC-SHA256 ") else {
        return gateway(
            StatusCode::BAD_REQUEST,
            "IncompleteSignature",
            "The request signature does not conform to Aliyun standards.",
        );
    };
    let mut parts: HashMap<&str, &str> = HashMap::new();
    for field in fields.split(',') {
        if let Some((k, v)) = field.trim().split_once('=') {
            parts.insert(k, v);
        }
    }
    let (Some(key_id), Some(signed), Some(signature)) = (
        parts.get("Credential"),
        parts.get("SignedHeaders"),
        parts.get("Signature"),
    ) else {
        return gateway(
            StatusCode::BAD_REQUEST,
            "IncompleteSignature",
            "The request signature does not conform to Aliyun standards.",
        );
    };
    if header(&headers, "x-acs-action") != "SendSms" {
        return gateway(
            StatusCode::NOT_FOUND,
            "InvalidAction.NotFound",
            "Specified api is not found, please check your url and method.",
        );
    }
    if header(&headers, "x-acs-version") != "2017-05-25" {
        return gateway(
            StatusCode::BAD_REQUEST,
            "InvalidVersion",
            "Specified parameter Version is not valid.",
        );
    }
    let mut guard = shared.lock().unwrap_or_else(|e| e.into_inner());
    let s = &mut guard.sms;
    let Some(secret) = s.aliyun_keys.get(*key_id).cloned() else {
        return gateway(
            StatusCode::NOT_FOUND,
            "InvalidAccessKeyId.NotFound",
            "Specified access key is not found.",
        );
    };
    let fresh = chrono::DateTime::parse_from_rfc3339(&header(&headers, "x-acs-date"))
        .is_ok_and(|d| (chrono::Utc::now() - d.to_utc()).num_seconds().abs() <= 15 * 60);
    if !fresh {
        return gateway(
            StatusCode::BAD_REQUEST,
            "InvalidTimeStamp.Expired",
            "Specified time stamp or date value is expired.",
        );
    }
    // Every common header present must be signed.
    let signed_names: Vec<&str> = signed.split(';').collect();
    let unsigned = headers.keys().any(|k| {
        let k = k.as_str();
        (k.starts_with("x-acs-") || k == "host") && !signed_names.contains(&k)
    });
    if unsigned {
        return gateway(
            StatusCode::BAD_REQUEST,
            "IncompleteSignature",
            "The request signature does not conform to Aliyun standards.",
        );
    }
    // The canonical request, rebuilt from what arrived.
    let raw = uri.query().unwrap_or_default();
    let pairs: Vec<(String, String)> = reqwest::Url::parse(&format!("http://x/?{raw}"))
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default();
    let mut encoded: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (rfc3986(k), rfc3986(v)))
        .collect();
    encoded.sort();
    let query = encoded
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let canonical_headers: String = signed_names
        .iter()
        .map(|name| format!("{name}:{}\n", header(&headers, name).trim()))
        .collect();
    let payload_hash = header(&headers, "x-acs-content-sha256");
    let canonical = format!(
        "POST\n{}\n{query}\n{canonical_headers}\n{signed}\n{payload_hash}",
        uri.path()
    );
    let to_sign = format!(
        "ACS3-HMAC-SHA256\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let expected = hex(&hmac(secret.as_bytes(), to_sign.as_bytes()));
    if expected != *signature || payload_hash != hex(&Sha256::digest(&body)) {
        return gateway(
            StatusCode::BAD_REQUEST,
            "SignatureDoesNotMatch",
            &format!(
                "Specified signature does not match our calculation. The string to sign is: {}",
                to_sign.replace('\n', "\\n")
            ),
        );
    }
    let nonce = header(&headers, "x-acs-signature-nonce");
    if nonce.is_empty() || !s.nonces.insert(nonce) {
        return gateway(
            StatusCode::BAD_REQUEST,
            "SignatureNonceUsed",
            "Specified signature nonce was used already.",
        );
    }
    let param = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (phone, sign, template) = (
        param("PhoneNumbers"),
        param("SignName"),
        param("TemplateCode"),
    );
    if phone.is_empty() {
        return gateway(
            StatusCode::BAD_REQUEST,
            "MissingPhoneNumbers",
            "PhoneNumbers is mandatory for this action.",
        );
    }
    if !mainland(&phone) {
        return business("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号");
    }
    if !s.signs.contains(&sign) {
        return business("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名");
    }
    let Some(names) = s.templates.get(&template).cloned() else {
        return business("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板");
    };
    let given: serde_json::Map<String, Value> = match serde_json::from_str(&param("TemplateParam"))
    {
        Ok(Value::Object(m)) if m.values().all(Value::is_string) => m,
        _ if names.is_empty() => serde_json::Map::new(),
        _ => return business("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值"),
    };
    if names.iter().any(|n| !given.contains_key(n)) {
        return business("isv.TEMPLATE_MISSING_PARAMETERS", "模板变量缺少对应参数值");
    }
    if !admit(s, &phone) {
        return business("isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1");
    }
    s.serial += 1;
    let biz_id = format!("{:015}^0", 900_000_000 + s.serial);
    s.accepted.push(Sms {
        provider: "aliyun",
        phone,
        sign_name: sign,
        template,
        params: given
            .into_iter()
            .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_owned()))
            .collect(),
        id: biz_id.clone(),
        context: param("OutId"),
    });
    Json(json!({"RequestId": request_id(), "Message": "OK", "BizId": biz_id, "Code": "OK"}))
        .into_response()
}

/// A Tencent call error (HTTP 200).
fn tc_error(code: &str, message: &str) -> Response {
    Json(json!({"Response": {"Error": {"Code": code, "Message": message}, "RequestId": request_id()}}))
        .into_response()
}

/// `POST /` as Tencent Cloud's SendSms.
pub(crate) async fn tencent(
    State(shared): State<Arc<Mutex<Shared>>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if header(&headers, "x-tc-action") != "SendSms" {
        return tc_error("InvalidAction", "The requested action does not exist.");
    }
    if header(&headers, "x-tc-version") != "2021-01-11" {
        return tc_error("NoSuchVersion", "The requested version does not exist.");
    }
    let region = header(&headers, "x-tc-region");
    if region.is_empty() {
        return tc_error(
            "MissingParameter",
            "The request is missing a required parameter `Region`.",
        );
    }
    if !["ap-guangzhou", "ap-beijing", "ap-nanjing"].contains(&region.as_str()) {
        return tc_error("UnsupportedRegion", "The region is not supported.");
    }
    let auth = header(&headers, "authorization");
    let parsed = auth.strip_prefix("TC3-HMAC-SHA256 ").and_then(|rest| {
        let mut parts: HashMap<&str, &str> = HashMap::new();
        for field in rest.split(", ") {
            let (k, v) = field.split_once('=')?;
            parts.insert(k, v);
        }
        let credential: Vec<&str> = parts.get("Credential")?.split('/').collect();
        let [id, date, service, "tc3_request"] = credential.as_slice() else {
            return None;
        };
        Some((
            (*id).to_owned(),
            (*date).to_owned(),
            (*service).to_owned(),
            (*parts.get("SignedHeaders")?).to_owned(),
            (*parts.get("Signature")?).to_owned(),
        ))
    });
    let Some((secret_id, date, service, signed, signature)) = parsed else {
        return tc_error(
            "AuthFailure.InvalidAuthorization",
            "Authorization in the request header is invalid.",
        );
    };
    let timestamp: i64 = header(&headers, "x-tc-timestamp").parse().unwrap_or(0);
    if (chrono::Utc::now().timestamp() - timestamp).abs() > 300 {
        return tc_error(
            "AuthFailure.SignatureExpire",
            "Signature expired. Timestamp and server time cannot differ by more than five minutes.",
        );
    }
    let mut guard = shared.lock().unwrap_or_else(|e| e.into_inner());
    let s = &mut guard.sms;
    let Some((secret_key, app)) = s.tencent_keys.get(&secret_id).cloned() else {
        return tc_error(
            "AuthFailure.SecretIdNotFound",
            "The SecretId is not found, please ensure that your SecretId is correct.",
        );
    };
    let signed_names: Vec<&str> = signed.split(';').collect();
    let day = chrono::DateTime::from_timestamp(timestamp, 0)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default();
    let canonical_headers: String = signed_names
        .iter()
        .map(|name| {
            format!(
                "{name}:{}\n",
                header(&headers, name).trim().to_ascii_lowercase()
            )
        })
        .collect();
    let canonical = format!(
        "POST\n{}\n{}\n{canonical_headers}\n{signed}\n{}",
        uri.path(),
        uri.query().unwrap_or_default(),
        hex(&Sha256::digest(&body))
    );
    let to_sign = format!(
        "TC3-HMAC-SHA256\n{timestamp}\n{date}/{service}/tc3_request\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let key = hmac(format!("TC3{secret_key}").as_bytes(), date.as_bytes());
    let key = hmac(&key, service.as_bytes());
    let key = hmac(&key, b"tc3_request");
    let expected = hex(&hmac(&key, to_sign.as_bytes()));
    let complete = signed_names.contains(&"content-type") && signed_names.contains(&"host");
    if !complete || date != day || service != "sms" || expected != signature {
        return tc_error(
            "AuthFailure.SignatureFailure",
            "The provided credentials could not be validated. Please check your signature is correct.",
        );
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return tc_error(
            "FailedOperation.FailResolvePacket",
            "Request package parsing failed.",
        );
    };
    if request["SmsSdkAppId"].as_str() != Some(app.as_str()) {
        return tc_error(
            "InvalidParameterValue.SdkAppIdNotExist",
            "The SdkAppId does not exist.",
        );
    }
    let Some(numbers) = request["PhoneNumberSet"]
        .as_array()
        .filter(|n| !n.is_empty())
    else {
        return tc_error(
            "MissingParameter",
            "The request is missing a required parameter `PhoneNumberSet`.",
        );
    };
    if numbers.len() > 200 {
        return tc_error(
            "LimitExceeded.PhoneNumberCountLimit",
            "The number of phone numbers exceeds 200.",
        );
    }
    let sign = request["SignName"].as_str().unwrap_or_default().to_owned();
    let template = request["TemplateId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let params: Vec<String> = request["TemplateParamSet"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let context = request["SessionContext"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut statuses = Vec::new();
    for number in numbers {
        let phone = number.as_str().unwrap_or_default().to_owned();
        let (code, message) = if !mainland(&phone) {
            (
                "InvalidParameterValue.IncorrectPhoneNumber",
                "incorrect phone number",
            )
        } else if !s.signs.contains(&sign) {
            (
                "FailedOperation.SignatureIncorrectOrUnapproved",
                "signature incorrect or unapproved",
            )
        } else if !s.templates.contains_key(&template) {
            (
                "FailedOperation.TemplateIncorrectOrUnapproved",
                "template incorrect or unapproved",
            )
        } else if s.templates.get(&template).map(Vec::len) != Some(params.len()) {
            (
                "FailedOperation.TemplateParamSetNotMatchApprovedTemplate",
                "template params do not match the approved template",
            )
        } else if !admit(s, &phone) {
            (
                "LimitExceeded.PhoneNumberThirtySecondLimit",
                "the number of SMS messages sent from a single mobile number within 30 seconds exceeds the upper limit",
            )
        } else {
            ("Ok", "send success")
        };
        let serial = if code == "Ok" {
            s.serial += 1;
            let serial = format!("2640:{}", 100_000_000_000u64 + s.serial);
            s.accepted.push(Sms {
                provider: "tencent",
                phone: phone.clone(),
                sign_name: sign.clone(),
                template: template.clone(),
                params: params
                    .iter()
                    .enumerate()
                    .map(|(i, v)| ((i + 1).to_string(), v.clone()))
                    .collect(),
                id: serial.clone(),
                context: context.clone(),
            });
            serial
        } else {
            String::new()
        };
        statuses.push(json!({
            "SerialNo": serial, "PhoneNumber": phone, "Fee": i32::from(code == "Ok"),
            "SessionContext": context, "Code": code, "Message": message, "IsoCode": "CN",
        }));
    }
    Json(json!({"Response": {"SendStatusSet": statuses, "RequestId": request_id()}}))
        .into_response()
}
