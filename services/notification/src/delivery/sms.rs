//! What the two SMS channels share: their settings, the template each message kind
//! maps to, and the template's parameters.
//!
//! An SMS in China is a provider-approved template with parameters, sent to one
//! person. A channel's public settings say which template each message kind uses:
//!
//! ```json
//! {"sign_name": "码上反映",
//!  "templates": {"case_assigned": "SMS_123",
//!                "case_reminded": {"code": "SMS_124", "params": ["number", "deadline"]}},
//!  "endpoint": "https://dysmsapi.aliyuncs.com",
//!  "region": "ap-guangzhou", "sdk_app_id": "1400006666"}
//! ```
//!
//! A template's `params` name the values it takes, in order (Tencent's templates are
//! positional, `{1}` `{2}`; Alibaba's are named, `${number}`): `number` (the tracking
//! number), `deadline` (the deadline in the township's time, `12月05日14:30`, or `-`
//! when the message has none) and `link` (the case's link). A bare code takes all
//! three. The keys (`access_key_id`/`access_key_secret` for Alibaba Cloud,
//! `secret_id`/`secret_key` for Tencent Cloud) are sent in the same `settings` object
//! and sealed with the channel's secrets, never stored with the public settings.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::outbound::Outbound;
use super::{ChannelKind, Message};

/// The parameters a template can take.
pub const PARAMS: [&str; 3] = ["number", "deadline", "link"];
/// The message kinds a template can be set for.
pub const KINDS: [&str; 11] = [
    "case_assigned",
    "case_reminded",
    "case_escalated",
    "case_transferred",
    "case_returned",
    "case_reopened",
    "case_invalidated",
    "case_closed",
    "citizen_received",
    "citizen_rating",
    "test",
];
/// A parameter's value when the message has none (a deadline of a closed case).
pub const NONE: &str = "-";

/// One message kind's template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    /// The provider's template code (`SMS_123` or Tencent's numeric id).
    pub code: String,
    /// The parameters it takes, in order.
    pub params: Vec<String>,
}

/// An SMS channel's public settings, as stored (checked when saved).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SmsSettings {
    pub sign_name: String,
    pub templates: BTreeMap<String, Template>,
    /// The API's base URL; `None`: the provider's own.
    pub endpoint: Option<String>,
    /// Tencent's region.
    pub region: Option<String>,
    /// Tencent's SMS application id.
    pub sdk_app_id: Option<String>,
}

impl SmsSettings {
    /// Reads stored settings (checked when saved, so read leniently).
    pub fn from_value(v: &Value) -> Self {
        let text = |key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
        let templates = v
            .get("templates")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(kind, t)| template_of(t).ok().map(|t| (kind.clone(), t)))
                    .collect()
            })
            .unwrap_or_default();
        Self {
            sign_name: text("sign_name").unwrap_or_default(),
            templates,
            endpoint: text("endpoint"),
            region: text("region"),
            sdk_app_id: text("sdk_app_id"),
        }
    }

    /// As stored: every template written out with its parameters.
    pub fn to_value(&self) -> Value {
        let templates: Map<String, Value> = self
            .templates
            .iter()
            .map(|(k, t)| (k.clone(), json!({"code": t.code, "params": t.params})))
            .collect();
        let mut out = json!({"sign_name": self.sign_name, "templates": templates});
        for (key, value) in [
            ("endpoint", &self.endpoint),
            ("region", &self.region),
            ("sdk_app_id", &self.sdk_app_id),
        ] {
            if let Some(v) = value {
                out[key] = Value::String(v.clone());
            }
        }
        out
    }

    /// The template for message kind `kind`.
    pub fn template(&self, kind: &str) -> Option<&Template> {
        self.templates.get(kind)
    }
}

/// A template as configured: a bare code, or `{"code": …, "params": […]}`.
fn template_of(v: &Value) -> Result<Template, String> {
    let (code, params) = match v {
        Value::String(code) => (code.trim().to_owned(), PARAMS.map(str::to_owned).to_vec()),
        Value::Object(m) => {
            let code = m
                .get("code")
                .and_then(Value::as_str)
                .map(str::trim)
                .unwrap_or_default()
                .to_owned();
            let params = match m.get("params") {
                None => PARAMS.map(str::to_owned).to_vec(),
                Some(Value::Array(list)) => {
                    let mut out = Vec::new();
                    for p in list {
                        match p.as_str() {
                            Some(name)
                                if PARAMS.contains(&name) && !out.iter().any(|o| o == name) =>
                            {
                                out.push(name.to_owned());
                            }
                            _ => {
                                return Err(
                                    "模板参数只能是 number、deadline、link，且不重复 (params: number, deadline, link, each once)"
                                        .to_owned(),
                                );
                            }
                        }
                    }
                    out
                }
                Some(_) => return Err("params 应为数组 (an array)".to_owned()),
            };
            if m.keys().any(|k| k != "code" && k != "params") {
                return Err("模板只有 code 和 params (only code and params)".to_owned());
            }
            (code, params)
        }
        _ => return Err("模板应为模板编号或对象 (a code or an object)".to_owned()),
    };
    let valid = !code.is_empty()
        && code.len() <= 40
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid {
        return Err(
            "模板编号应为1到40位字母、数字或下划线 (1 to 40 letters, digits, _)".to_owned(),
        );
    }
    Ok(Template { code, params })
}

/// The parameters' values for `template`, in its order.
pub fn values(template: &Template, message: &Message) -> Vec<(String, String)> {
    template
        .params
        .iter()
        .map(|name| {
            let value = message
                .params
                .get(name)
                .filter(|v| !v.is_empty())
                .cloned()
                .unwrap_or_else(|| NONE.to_owned());
            (name.clone(), value)
        })
        .collect()
}

/// Why `message` cannot go on an SMS channel with `settings` at all (no template for
/// its kind, no number): it is skipped, not sent and not retried. `None` for other
/// kinds of channel.
pub fn unsendable(kind: ChannelKind, settings: &Value, message: &Message) -> Option<String> {
    if !kind.is_sms() {
        return None;
    }
    if SmsSettings::from_value(settings)
        .template(&message.kind)
        .is_none()
    {
        return Some(format!(
            "此渠道未配置「{}」的短信模板，未发送 (no SMS template for {} on this channel; not sent)",
            message.kind, message.kind
        ));
    }
    if message.phone.as_deref().is_none_or(str::is_empty) {
        return Some("收信人没有手机号，未发送 (the recipient has no mobile number)".to_owned());
    }
    None
}

/// The kind a channel's test message takes: `test` when it has a template for it,
/// else `case_assigned`, else the first it has.
pub fn test_kind(settings: &Value) -> String {
    let s = SmsSettings::from_value(settings);
    ["test", "case_assigned"]
        .into_iter()
        .find(|k| s.templates.contains_key(*k))
        .map(str::to_owned)
        .or_else(|| s.templates.keys().next().cloned())
        .unwrap_or_else(|| "test".to_owned())
}

/// A test message's parameters: a sample tracking number, a deadline half an hour on
/// (in China's time) and `link`.
pub fn test_params(link: &str) -> BTreeMap<String, String> {
    let due = chrono::Utc::now() + chrono::Duration::minutes(30);
    [
        ("number", "TEST0001".to_owned()),
        (
            "deadline",
            due.with_timezone(&chrono_tz::Asia::Shanghai)
                .format("%m月%d日%H:%M")
                .to_string(),
        ),
        ("link", link.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// The most characters of a key, a sign name, an id.
const MAX_KEY: usize = 200;
const MAX_SIGN: usize = 20;

/// An SMS channel's checked settings: what is shown and what is sealed.
#[derive(Debug)]
pub struct CheckedSms {
    pub public: SmsSettings,
    /// The key pair (id, secret), when sent.
    pub keys: Option<(String, String)>,
}

/// Checks an SMS channel's `settings` (the body's whole object: public settings and
/// keys); `creating` asks for the keys. Errors are (field, message).
pub fn check(
    kind: ChannelKind,
    settings: &Value,
    creating: bool,
    out: &Outbound,
) -> Result<CheckedSms, Vec<(String, String)>> {
    let mut errors: Vec<(String, String)> = Vec::new();
    let mut err = |field: &str, message: &str| {
        errors.push((format!("settings.{field}"), message.to_owned()));
    };
    let Some(object) = settings.as_object() else {
        return Err(vec![(
            "settings".to_owned(),
            "settings 应为对象 (an object)".to_owned(),
        )]);
    };
    let (id_key, secret_key) = match kind {
        ChannelKind::SmsTencent => ("secret_id", "secret_key"),
        _ => ("access_key_id", "access_key_secret"),
    };
    let tencent = kind == ChannelKind::SmsTencent;
    let known: &[&str] = if tencent {
        &[
            "sign_name",
            "templates",
            "endpoint",
            "region",
            "sdk_app_id",
            "secret_id",
            "secret_key",
        ]
    } else {
        &[
            "sign_name",
            "templates",
            "endpoint",
            "access_key_id",
            "access_key_secret",
        ]
    };
    if let Some(unknown) = object.keys().find(|k| !known.contains(&k.as_str())) {
        err(
            unknown,
            &format!("不认识的设置，可填 {} (unknown setting)", known.join("、")),
        );
    }
    let text = |key: &str| {
        object
            .get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let sign_name = text("sign_name");
    match &sign_name {
        None => err(
            "sign_name",
            "请填写已审核通过的短信签名 (the approved signature name)",
        ),
        Some(s) if s.chars().count() > MAX_SIGN => {
            err("sign_name", "签名最多20字 (at most 20 characters)")
        }
        _ => {}
    }
    let mut templates = BTreeMap::new();
    match object.get("templates") {
        Some(Value::Object(map)) if !map.is_empty() => {
            for (kind, t) in map {
                if !KINDS.contains(&kind.as_str()) {
                    err(
                        "templates",
                        &format!(
                            "未知的消息类型 {} ，可填 {} (unknown message kind)",
                            super::cut(kind, 40),
                            KINDS.join("、")
                        ),
                    );
                    continue;
                }
                match template_of(t) {
                    Ok(t) => {
                        templates.insert(kind.clone(), t);
                    }
                    Err(m) => err("templates", &format!("{kind}: {m}")),
                }
            }
        }
        _ => err(
            "templates",
            "请至少为一类消息填写模板编号，如 {\"case_assigned\": \"SMS_123\"} (at least one template)",
        ),
    }
    let endpoint = text("endpoint");
    if let Some(e) = &endpoint {
        match reqwest::Url::parse(e) {
            Ok(_) if e.len() > 200 => err("endpoint", "地址过长 (at most 200 characters)"),
            Ok(url) => {
                if let Err(e) = out.check_url(&url) {
                    err("endpoint", &e.to_string());
                }
            }
            Err(_) => err("endpoint", "不是有效的网址 (not a URL)"),
        }
    }
    let region = text("region");
    let sdk_app_id = text("sdk_app_id");
    if tencent {
        if region.as_ref().is_some_and(|r| {
            r.len() > 30
                || !r
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        }) {
            err(
                "region",
                "地域如 ap-guangzhou (a region such as ap-guangzhou)",
            );
        }
        match &sdk_app_id {
            Some(id) if id.len() <= 20 && id.chars().all(|c| c.is_ascii_digit()) => {}
            Some(_) => err("sdk_app_id", "SdkAppId 为数字，如 1400006666 (digits)"),
            None => err(
                "sdk_app_id",
                "请填写短信应用的 SdkAppId (the SMS application's SdkAppId)",
            ),
        }
    }
    let key = |name: &str| {
        object
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let (id, secret) = (key(id_key), key(secret_key));
    let mut keys = None;
    match (&id, &secret) {
        (Some(i), Some(s)) => {
            for (name, v) in [(id_key, i), (secret_key, s)] {
                if v.len() > MAX_KEY || !v.chars().all(|c| c.is_ascii_graphic()) {
                    err(
                        name,
                        "密钥应为至多200位可见字符 (at most 200 printable characters)",
                    );
                }
            }
            keys = Some((i.clone(), s.clone()));
        }
        (None, None) if !creating => {}
        _ => {
            let missing = if id.is_none() { id_key } else { secret_key };
            err(
                missing,
                &format!("请同时填写 {id_key} 和 {secret_key} (both keys are required)"),
            );
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(CheckedSms {
        public: SmsSettings {
            sign_name: sign_name.unwrap_or_default(),
            templates,
            endpoint,
            region: if tencent { region } else { None },
            sdk_app_id: if tencent { sdk_app_id } else { None },
        },
        keys,
    })
}

/// A request to a provider, signed.
#[derive(Clone, Debug)]
pub struct Signed {
    pub url: reqwest::Url,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// RFC 3986 percent-encoding: every byte but the unreserved (`A-Z a-z 0-9 - _ . ~`).
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The `Host` header a request to `url` carries (with the port when it is not the
/// scheme's), as the providers sign it.
pub fn host_header(url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or_default().to_owned();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::delivery::outbound::OutboundPolicy;

    fn out() -> Outbound {
        Outbound::new(OutboundPolicy::public_only(), Duration::from_secs(1)).expect("a client")
    }

    #[test]
    fn settings_name_templates_per_kind_with_their_parameters() {
        let checked = check(
            ChannelKind::SmsAliyun,
            &json!({"sign_name": "码上反映", "access_key_id": "LTAI5t", "access_key_secret": "s3cret",
                    "templates": {"case_assigned": "SMS_1", "case_reminded": {"code": "SMS_2", "params": ["deadline", "number"]}}}),
            true,
            &out(),
        )
        .expect("valid");
        assert_eq!(checked.keys, Some(("LTAI5t".into(), "s3cret".into())));
        let stored = checked.public.to_value();
        assert!(stored.get("access_key_secret").is_none(), "{stored}");
        let back = SmsSettings::from_value(&stored);
        assert_eq!(back, checked.public);
        assert_eq!(
            back.template("case_assigned").map(|t| t.params.clone()),
            Some(vec![
                "number".to_owned(),
                "deadline".to_owned(),
                "link".to_owned()
            ])
        );
        let message = Message {
            kind: "case_reminded".into(),
            params: [("number".to_owned(), "MS-1".to_owned())]
                .into_iter()
                .collect(),
            ..Message::default()
        };
        let t = back.template("case_reminded").expect("a template");
        assert_eq!(
            values(t, &message),
            [
                ("deadline".to_owned(), "-".to_owned()),
                ("number".to_owned(), "MS-1".to_owned())
            ]
        );
    }

    #[test]
    fn bad_settings_name_their_fields() {
        let fields = |kind, v: Value, creating| {
            check(kind, &v, creating, &out())
                .expect_err("invalid")
                .into_iter()
                .map(|(f, _)| f)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            fields(
                ChannelKind::SmsAliyun,
                json!({"templates": {"case_assigned": "SMS_1"}}),
                true
            ),
            ["settings.sign_name", "settings.access_key_id"]
        );
        assert_eq!(
            fields(
                ChannelKind::SmsTencent,
                json!({"sign_name": "码上", "templates": {"case_exploded": "1"}, "secret_id": "a", "secret_key": "b"}),
                true
            ),
            ["settings.templates", "settings.sdk_app_id"]
        );
        assert_eq!(
            fields(
                ChannelKind::SmsAliyun,
                json!({"sign_name": "码上", "templates": {"case_assigned": "SMS 1"}, "endpoint": "http://10.0.0.1/"}),
                false
            ),
            ["settings.templates", "settings.endpoint"]
        );
        assert_eq!(
            fields(
                ChannelKind::SmsAliyun,
                json!({"sign_name": "码上", "templates": {"case_assigned": "SMS_1"}, "secret_key": "x"}),
                false
            ),
            ["settings.secret_key"]
        );
    }

    #[test]
    fn a_kind_without_a_template_or_a_person_without_a_number_is_unsendable() {
        let settings = json!({"sign_name": "码上", "templates": {"case_assigned": {"code": "SMS_1", "params": []}}});
        let mut message = Message {
            kind: "case_closed".into(),
            phone: Some("13800000000".into()),
            ..Message::default()
        };
        assert!(
            unsendable(ChannelKind::SmsAliyun, &settings, &message)
                .is_some_and(|r| r.contains("case_closed"))
        );
        message.kind = "case_assigned".into();
        assert_eq!(
            unsendable(ChannelKind::SmsTencent, &settings, &message),
            None
        );
        message.phone = None;
        assert!(unsendable(ChannelKind::SmsTencent, &settings, &message).is_some());
        assert_eq!(unsendable(ChannelKind::Wecom, &settings, &message), None);
        assert_eq!(percent_encode("a b*~/中"), "a%20b%2A~%2F%E4%B8%AD");
    }
}
