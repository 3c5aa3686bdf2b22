//! E-mail over SMTP (lettre): one message to one person's address, through the mail
//! server a township (or the county) configured.
//!
//! The server is a host name or address, a port and a TLS mode: `implicit` (SMTPS,
//! TLS from the first byte, usually port 465), `starttls` (plain, then `STARTTLS`,
//! usually 587; a server that does not offer it is refused) or `none` (no TLS at all:
//! for tests and a relay on the deployment's own network). TLS is rustls on ring with
//! Mozilla's roots, checked against the host name. A login name and password, when
//! given, are sent with `AUTH PLAIN` or `AUTH LOGIN`, whichever the server offers.
//!
//! **Outbound policy.** The host's addresses are resolved here and filtered by
//! [`OutboundPolicy`] before any connection, exactly as an HTTP provider's are: a mail
//! server on loopback, a private or link-local address is refused unless
//! `MASHANG_OUTBOUND_ALLOW` lists it, and the connection goes only to the addresses
//! that passed.
//!
//! **Answers.** A 2xx to the message is sent (the answer and our `Message-ID`, which
//! is the delivery's id, are recorded; a receiver can drop a repeat by it). A 4xx at
//! any step (greeting, login, sender, recipient, data) is transient: retried with
//! back-off. A 5xx is permanent: failed, with the server's own words. A connection
//! that fails (DNS, refused, reset, TLS, timed out) is retried. The SMTP reply code
//! is recorded where an HTTP provider's status goes.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message as Mail};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::outbound::OutboundPolicy;
use super::{Answer, Message, Outcome, cut};

/// How long one whole SMTP conversation may take.
const TIMEOUT: Duration = Duration::from_secs(30);
/// The most characters of a subject.
const MAX_SUBJECT: usize = 200;

/// How the connection is encrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TlsMode {
    /// No TLS (tests, a relay on the deployment's own network).
    None,
    /// Plain, then `STARTTLS` before anything else is said.
    Starttls,
    /// TLS from the start (SMTPS).
    Implicit,
}

impl TlsMode {
    /// Parses the stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "none" => Some(Self::None),
            "starttls" => Some(Self::Starttls),
            "implicit" => Some(Self::Implicit),
            _ => None,
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Starttls => "starttls",
            Self::Implicit => "implicit",
        }
    }

    /// The usual port.
    pub fn default_port(self) -> u16 {
        match self {
            Self::None => 25,
            Self::Starttls => 587,
            Self::Implicit => 465,
        }
    }
}

/// A mail server and the sender's address, sealed with a channel's secrets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    /// The sender, `name@example.com` or `综治中心 <name@example.com>`.
    pub from: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

impl Smtp {
    /// What may be shown of it: everything but the password.
    pub fn public(&self) -> Value {
        json!({
            "host": self.host,
            "port": self.port,
            "tls": self.tls.as_str(),
            "from": self.from,
            "user": self.user,
            "has_password": self.password.is_some(),
        })
    }
}

/// Checks a mail server's settings as sent (`host`, `port`, `tls`, `from`, `user`,
/// `password`). `updating`: a login may come without its password, which
/// [`keep_password`] then takes from the channel's current server. Every error, by
/// field.
pub fn check(
    settings: Option<&Value>,
    updating: bool,
    policy: &OutboundPolicy,
) -> Result<Smtp, Vec<(String, String)>> {
    let mut errors = Vec::new();
    let mut err = |field: &str, message: &str| {
        errors.push((format!("settings.{field}"), message.to_owned()));
    };
    let empty = json!({});
    let settings = settings.unwrap_or(&empty);
    let text = |key: &str| {
        settings
            .get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let host = text("host").map(|h| h.trim_end_matches('.').to_ascii_lowercase());
    match host.as_deref() {
        None => err(
            "host",
            "请填写邮件服务器地址 (the mail server's host is required)",
        ),
        Some(h) if !valid_host(h) => err(
            "host",
            "邮件服务器地址应为域名或IP地址 (a host name or an IP address)",
        ),
        Some(h) => {
            if let Ok(ip) = h
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                && !policy.permits(ip)
            {
                err(
                    "host",
                    "不允许使用内网或本机地址 (private, loopback and link-local addresses are refused; see MASHANG_OUTBOUND_ALLOW)",
                );
            }
        }
    }
    let tls = match settings.get("tls") {
        None | Some(Value::Null) => Some(TlsMode::Starttls),
        Some(v) => {
            let parsed = v.as_str().and_then(TlsMode::parse);
            if parsed.is_none() {
                err(
                    "tls",
                    "加密方式应为 starttls、implicit 或 none (starttls, implicit or none)",
                );
            }
            parsed
        }
    };
    let port = match settings.get("port") {
        None | Some(Value::Null) => tls.map(TlsMode::default_port),
        Some(v) => {
            let n = v
                .as_u64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()));
            match n.and_then(|n| u16::try_from(n).ok()).filter(|n| *n > 0) {
                Some(n) => Some(n),
                None => {
                    err("port", "端口为1到65535 (a port from 1 to 65535)");
                    None
                }
            }
        }
    };
    let from = text("from");
    match from.as_deref() {
        None => err(
            "from",
            "请填写发件人地址 (the sender's address is required)",
        ),
        Some(f) if f.chars().count() > 200 || f.parse::<Mailbox>().is_err() => err(
            "from",
            "发件人应为 name@example.com 或 名称 <name@example.com> (an address, optionally with a name)",
        ),
        Some(_) => {}
    }
    let user = text("user");
    if user.as_ref().is_some_and(|u| u.chars().count() > 200) {
        err("user", "登录名过长 (at most 200 characters)");
    }
    let password = settings
        .get("password")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
        .map(str::to_owned);
    if password.as_ref().is_some_and(|p| p.chars().count() > 200) {
        err("password", "密码过长 (at most 200 characters)");
    }
    if user.is_some() && password.is_none() && !updating {
        err(
            "password",
            "请填写登录密码 (the login's password is required)",
        );
    }
    if user.is_none()
        && settings
            .get("password")
            .and_then(Value::as_str)
            .is_some_and(|p| !p.is_empty())
    {
        err(
            "user",
            "填写密码时请同时填写登录名 (a password needs a login name)",
        );
    }
    match (host, port, tls, from, errors.is_empty()) {
        (Some(host), Some(port), Some(tls), Some(from), true) => Ok(Smtp {
            host,
            port,
            tls,
            from,
            user: user.clone(),
            password: if user.is_some() { password } else { None },
        }),
        _ => Err(errors),
    }
}

/// On a change that sent a login without its password: the current password, while
/// the login stays the same.
pub fn keep_password(new: &mut Smtp, old: Option<&Smtp>) {
    if new.password.is_none()
        && let Some(old) = old.filter(|o| o.user.is_some() && o.user == new.user)
    {
        new.password = old.password.clone();
    }
}

/// A host name (dotted labels of letters, digits and hyphens) or an IP address.
fn valid_host(host: &str) -> bool {
    if host.len() > 253 {
        return false;
    }
    if host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .is_ok()
    {
        return true;
    }
    host.split('.').all(|l| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    })
}

/// The message as mailed: the title as subject, the text, then the link.
pub fn body(message: &Message) -> String {
    let mut text = message.text.clone();
    if let Some(link) = &message.link {
        text.push_str(&format!("\n\n办理 (open)：{link}\n"));
    }
    text.push_str("\n——\n码上反映 · 此邮件由系统发送，请勿直接回复。\n(Sent by Mashang; please do not reply.)\n");
    text
}

/// The mail for `message` to `to`, from `smtp.from`; its `Message-ID` is the delivery's id.
pub fn compose(smtp: &Smtp, message: &Message, to: &str) -> Result<Mail, String> {
    let from: Mailbox = smtp
        .from
        .parse()
        .map_err(|e| format!("发件人地址无效 (the sender's address: {e})"))?;
    let to: Mailbox = to
        .parse()
        .map_err(|e| format!("收件人地址无效 (the recipient's address: {e})"))?;
    let domain = from.email.domain().to_owned();
    Mail::builder()
        .from(from)
        .to(to)
        .subject(cut(&message.title, MAX_SUBJECT))
        .message_id(Some(format!("<{}@{domain}>", message.id.simple())))
        .header(ContentType::TEXT_PLAIN)
        .body(body(message))
        .map_err(|e| format!("邮件无法生成 (the mail could not be made: {e})"))
}

/// Sends `message` to its `email` address through `smtp`, the host's addresses
/// filtered by `policy`.
pub async fn send(policy: &OutboundPolicy, smtp: &Smtp, message: &Message) -> Outcome {
    let Some(to) = message.email.as_deref() else {
        return failed(
            "没有收件人地址，请在人员页填写电子邮箱 (no recipient address: add one on the person's page)",
        );
    };
    let mail = match compose(smtp, message, to) {
        Ok(m) => m,
        Err(reason) => return failed(&reason),
    };
    let addrs = match resolve(policy, &smtp.host, smtp.port).await {
        Ok(a) => a,
        Err(outcome) => return *outcome,
    };
    match tokio::time::timeout(TIMEOUT, converse(smtp, &addrs, &mail)).await {
        Ok(Ok((code, words))) => Outcome::Sent {
            provider_id: mail
                .headers()
                .get_raw("Message-ID")
                .map(|id| id.trim().to_owned()),
            answer: Answer::new(Some(code), &words),
        },
        Ok(Err(err)) => read_error(&err),
        Err(_) => Outcome::Retry {
            reason: "邮件服务器超时 (the mail server timed out)".to_owned(),
            after: None,
            answer: Answer::none("timed out"),
        },
    }
}

fn failed(reason: &str) -> Outcome {
    Outcome::Failed {
        reason: reason.to_owned(),
        answer: Answer::none(reason),
    }
}

/// The host's addresses that the policy permits; none: refused (failed), a name
/// that does not resolve: retried.
async fn resolve(
    policy: &OutboundPolicy,
    host: &str,
    port: u16,
) -> Result<Vec<SocketAddr>, Box<Outcome>> {
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    let found: Vec<SocketAddr> = match literal.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => match tokio::net::lookup_host((host, port)).await {
            Ok(found) => found.collect(),
            Err(e) => {
                return Err(Box::new(Outcome::Retry {
                    reason: format!("邮件服务器地址无法解析 (the host does not resolve: {e})"),
                    after: None,
                    answer: Answer::none(&e.to_string()),
                }));
            }
        },
    };
    let allowed: Vec<SocketAddr> = found
        .iter()
        .copied()
        .filter(|a| policy.permits(a.ip()))
        .collect();
    if allowed.is_empty() {
        let shown = found
            .first()
            .map_or_else(|| host.to_owned(), |a| a.ip().to_string());
        return Err(Box::new(failed(&format!(
            "不允许发送到内网或本机地址 {shown} (private, loopback and link-local addresses are refused; see MASHANG_OUTBOUND_ALLOW)"
        ))));
    }
    Ok(allowed)
}

/// Greeting, `EHLO`, TLS as configured, login, the message, `QUIT`; the answer to
/// the message.
async fn converse(
    smtp: &Smtp,
    addrs: &[SocketAddr],
    mail: &Mail,
) -> Result<(u16, String), lettre::transport::smtp::Error> {
    let hello = ClientId::Domain("mashang".to_owned());
    let tls = || TlsParameters::new(smtp.host.clone());
    let implicit = match smtp.tls {
        TlsMode::Implicit => Some(tls()?),
        _ => None,
    };
    let mut conn =
        AsyncSmtpConnection::connect_tokio1(addrs, Some(TIMEOUT), &hello, implicit, None).await?;
    if smtp.tls == TlsMode::Starttls {
        conn.starttls(tls()?, &hello).await?;
    }
    if let (Some(user), Some(password)) = (&smtp.user, &smtp.password) {
        conn.auth(
            &[Mechanism::Plain, Mechanism::Login],
            &Credentials::new(user.clone(), password.clone()),
        )
        .await?;
    }
    let response = conn.send(mail.envelope(), &mail.formatted()).await?;
    let _ = conn.quit().await;
    let words: Vec<&str> = response.message().collect();
    Ok((u16::from(response.code()), words.join(" ")))
}

/// A failed conversation: 4xx retried, 5xx failed (both with the server's words),
/// anything else (the network, TLS, a server without STARTTLS) retried.
pub fn read_error(err: &lettre::transport::smtp::Error) -> Outcome {
    let code = err.status().map(u16::from);
    let words = err.to_string();
    let answer = Answer::new(code, &words);
    if err.is_permanent() {
        Outcome::Failed {
            reason: format!("邮件服务器拒绝 (refused: {words})"),
            answer,
        }
    } else if err.is_transient() {
        Outcome::Retry {
            reason: format!("邮件服务器暂时拒绝 (try again later: {words})"),
            after: None,
            answer,
        }
    } else {
        Outcome::Retry {
            reason: format!("无法连接邮件服务器 (could not reach the mail server: {words})"),
            after: None,
            answer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public() -> OutboundPolicy {
        OutboundPolicy::public_only()
    }

    #[test]
    fn settings_are_checked_by_field_and_the_password_is_kept() {
        let ok = check(
            Some(&json!({"host": "SMTP.Example.com", "tls": "implicit", "from": "综治中心 <zz@example.com>",
                          "user": "zz@example.com", "password": "pw"})),
            false,
            &public(),
        )
        .expect("valid");
        assert_eq!(ok.host, "smtp.example.com");
        assert_eq!(ok.port, 465);
        assert_eq!(ok.password.as_deref(), Some("pw"));
        assert!(!ok.public().to_string().contains("\"pw\""));
        // The same login without a password keeps the old one.
        let mut again = check(
            Some(&json!({"host": "smtp.example.com", "port": 587, "from": "zz@example.com", "user": "zz@example.com"})),
            true,
            &public(),
        )
        .expect("valid");
        keep_password(&mut again, Some(&ok));
        assert_eq!(again.password.as_deref(), Some("pw"));
        assert_eq!(again.tls, TlsMode::Starttls);
        let bad = check(
            Some(
                &json!({"host": "10.0.0.5", "port": 70000, "tls": "ssl", "from": "not an address",
                          "user": "u"}),
            ),
            false,
            &public(),
        )
        .expect_err("invalid");
        let fields: Vec<&str> = bad.iter().map(|(f, _)| f.as_str()).collect();
        for f in [
            "settings.host",
            "settings.port",
            "settings.tls",
            "settings.from",
            "settings.password",
        ] {
            assert!(fields.contains(&f), "{f}: {fields:?}");
        }
        assert!(check(None, false, &public()).is_err());
    }

    #[tokio::test]
    async fn a_mail_server_on_a_refused_address_gets_no_connection() {
        // A listener that would take the connection if one came.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let port = listener.local_addr().expect("an address").port();
        let message = Message {
            id: uuid::Uuid::now_v7(),
            title: "测试".into(),
            email: Some("wang@example.com".into()),
            ..Message::default()
        };
        for host in ["localhost", "127.0.0.1"] {
            let smtp = Smtp {
                host: host.to_owned(),
                port,
                tls: TlsMode::None,
                from: "zz@example.com".to_owned(),
                user: None,
                password: None,
            };
            let outcome = send(&public(), &smtp, &message).await;
            assert!(
                matches!(&outcome, Outcome::Failed { reason, .. } if reason.contains("MASHANG_OUTBOUND_ALLOW")),
                "{host}: {outcome:?}"
            );
        }
        let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
        assert!(accepted.is_err(), "no connection was made");
    }

    #[test]
    fn a_mail_carries_the_title_text_link_and_the_deliverys_id() {
        let smtp = check(
            Some(&json!({"host": "smtp.example.com", "from": "综治中心 <zz@example.com>"})),
            false,
            &public(),
        )
        .expect("valid");
        let message = Message {
            id: uuid::Uuid::now_v7(),
            title: "晨报：新案件 3 件".into(),
            text: "一、新案件".into(),
            link: Some("https://example.com/console".into()),
            ..Message::default()
        };
        let mail = compose(&smtp, &message, "wang@example.com").expect("a mail");
        let raw = String::from_utf8(mail.formatted()).expect("ASCII on the wire");
        assert!(raw.contains(&format!(
            "Message-ID: <{}@example.com>",
            message.id.simple()
        )));
        assert!(raw.contains("Subject: =?utf-8?"), "{raw}");
        assert!(compose(&smtp, &message, "no address").is_err());
    }
}
