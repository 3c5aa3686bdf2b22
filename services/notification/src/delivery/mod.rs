//! Delivery of messages on outside channels: the message, the answer a provider gives,
//! and one adapter per kind of channel. The engine ([`engine`]) decides when to send
//! and records every attempt; an adapter only turns one message into one request and
//! the provider's answer into an [`Outcome`].
//!
//! Every adapter is pointed at its provider by the channel's settings (a robot's
//! webhook URL, an SMS endpoint), so tests and private deployments can point it
//! elsewhere; every request goes through [`outbound::Outbound`], which refuses
//! loopback, private and link-local addresses unless the operator allows them.

pub mod aliyun;
pub mod citizen;
pub mod dingtalk;
pub mod email;
pub mod engine;
pub mod outbound;
pub mod plan;
pub mod sms;
pub mod templates;
pub mod tencent;
pub mod webhook;
pub mod wecom;

use std::time::Duration;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The kinds of channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// A WeCom (企业微信) group robot.
    Wecom,
    /// A DingTalk (钉钉) custom robot.
    Dingtalk,
    /// Alibaba Cloud SMS.
    SmsAliyun,
    /// Tencent Cloud SMS.
    SmsTencent,
    /// A signed webhook to another system.
    Webhook,
    /// E-mail over SMTP.
    Email,
}

impl ChannelKind {
    /// Every kind.
    pub const ALL: [Self; 6] = [
        Self::Wecom,
        Self::Dingtalk,
        Self::SmsAliyun,
        Self::SmsTencent,
        Self::Webhook,
        Self::Email,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Wecom => "wecom",
            Self::Dingtalk => "dingtalk",
            Self::SmsAliyun => "sms_aliyun",
            Self::SmsTencent => "sms_tencent",
            Self::Webhook => "webhook",
            Self::Email => "email",
        }
    }

    /// Parses the stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }

    /// Whether it sends SMS to a person (one delivery per person, not per group).
    pub fn is_sms(self) -> bool {
        matches!(self, Self::SmsAliyun | Self::SmsTencent)
    }

    /// The name people read.
    pub fn name_zh(self) -> &'static str {
        match self {
            Self::Wecom => "企业微信群机器人",
            Self::Dingtalk => "钉钉群机器人",
            Self::SmsAliyun => "阿里云短信",
            Self::SmsTencent => "腾讯云短信",
            Self::Webhook => "Webhook 推送",
            Self::Email => "电子邮件",
        }
    }
}

/// One message to send, as the engine stored it for the delivery.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// The delivery's id: the webhook's `webhook-id`, an SMS's out-id, so a receiver
    /// can drop a message it already has.
    #[serde(default)]
    pub id: Uuid,
    /// The message kind (`case_assigned`, `case_reminded`, `test`, …).
    pub kind: String,
    /// Headline.
    pub title: String,
    /// Plain text.
    pub text: String,
    /// The link that opens the case (a sign-in link for the recipient, or the case page).
    #[serde(default)]
    pub link: Option<String>,
    /// Mobile numbers a group robot @-mentions (the responsible worker's).
    #[serde(default)]
    pub mention_mobiles: Vec<String>,
    /// For SMS: the recipient's number and the template's parameters by name.
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub params: std::collections::BTreeMap<String, String>,
    /// For e-mail: the recipient's address.
    #[serde(default)]
    pub email: Option<String>,
    /// For webhooks: the event type and its data, sent as the payload.
    #[serde(default)]
    pub event_type: Option<String>,
    #[serde(default)]
    pub data: Option<serde_json::Value>,
    /// A citizen's SMS names their report; the number is opened from it when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_id: Option<Uuid>,
    /// The case states in which the message still applies (a reminder to call back:
    /// before the call); empty: always.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub only_in_states: Vec<String>,
}

/// What came of one attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted by the provider.
    Sent {
        /// The provider's id for the message, for its delivery receipts.
        provider_id: Option<String>,
        answer: Answer,
    },
    /// A transient failure (network, 5xx, a rate limit): try again, not before
    /// `after` when the provider said so.
    Retry {
        reason: String,
        after: Option<Duration>,
        answer: Answer,
    },
    /// A permanent failure (an invalid number, an unapproved template, a revoked
    /// robot key): never retried.
    Failed { reason: String, answer: Answer },
}

/// The provider's answer, as recorded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status, when there was one.
    pub status: Option<u16>,
    /// The body (or the error), cut to 2000 characters.
    pub body: String,
}

impl Answer {
    /// An answer with `status` and `body` (cut).
    pub fn new(status: Option<u16>, body: &str) -> Self {
        Self {
            status,
            body: cut(body, 2000),
        }
    }

    /// No answer: the request failed before one came.
    pub fn none(error: &str) -> Self {
        Self::new(None, error)
    }
}

/// `text` cut to `max` characters.
pub fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        text.chars().take(max).collect()
    }
}

/// A group robot's HTTP 200 answer, read by its `errcode` as WeCom and DingTalk both
/// answer: `0` sent; `rate_limited` (the robot's messages a minute) retried after a
/// minute; `-1` (busy) retried; a code in `known` failed with its words; any other code
/// failed with the provider's message; an answer that is not theirs retried.
pub(crate) fn robot_answer(
    body: &str,
    provider: &str,
    rate_limited: i64,
    known: &[(i64, &str)],
) -> Outcome {
    let answer = Answer::new(Some(200), body);
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let code = parsed.as_ref().and_then(|v| v["errcode"].as_i64());
    let message = parsed
        .as_ref()
        .and_then(|v| v["errmsg"].as_str())
        .unwrap_or_default();
    match code {
        Some(0) => Outcome::Sent {
            provider_id: None,
            answer,
        },
        Some(c) if c == rate_limited => Outcome::Retry {
            reason: format!("{provider}机器人发送过快 (rate limited, {c} {message})"),
            after: Some(Duration::from_secs(60)),
            answer,
        },
        Some(-1) => Outcome::Retry {
            reason: format!("{provider}系统繁忙 (busy, -1 {message})"),
            after: None,
            answer,
        },
        Some(c) => {
            let why = known.iter().find(|(k, _)| *k == c).map_or_else(
                || format!("{provider}拒绝 (refused"),
                |(_, w)| (*w).to_owned(),
            );
            Outcome::Failed {
                reason: format!("{why}, {c} {message})"),
                answer,
            }
        }
        None => Outcome::Retry {
            reason: format!("{provider}的回答无法识别 (unreadable answer)"),
            after: None,
            answer,
        },
    }
}

/// The outcome of a request that failed before an answer: retried (a network error
/// or a refused address is not the provider's word).
pub(crate) fn unreachable(err: &outbound::SendError) -> Outcome {
    match err {
        outbound::SendError::Refused(reason) => Outcome::Failed {
            reason: reason.clone(),
            answer: Answer::none(reason),
        },
        other => Outcome::Retry {
            reason: other.to_string(),
            after: None,
            answer: Answer::none(&other.to_string()),
        },
    }
}

/// How a plain HTTP status reads when the body says nothing more: 2xx sent (the
/// caller decides), 429 and 5xx transient (with `Retry-After`), the rest permanent.
pub(crate) fn by_status(status: u16, retry_after: Option<Duration>, body: &str) -> Outcome {
    let answer = Answer::new(Some(status), body);
    match status {
        200..=299 => Outcome::Sent {
            provider_id: None,
            answer,
        },
        408 | 425 | 429 | 500..=599 => Outcome::Retry {
            reason: format!("HTTP {status}"),
            after: retry_after,
            answer,
        },
        _ => Outcome::Failed {
            reason: format!("HTTP {status}"),
            answer,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_back_and_statuses_sort_into_outcomes() {
        for kind in ChannelKind::ALL {
            assert_eq!(ChannelKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(ChannelKind::parse("fax"), None);
        assert!(matches!(by_status(204, None, ""), Outcome::Sent { .. }));
        assert!(matches!(by_status(503, None, ""), Outcome::Retry { .. }));
        assert!(matches!(
            by_status(429, Some(Duration::from_secs(7)), ""),
            Outcome::Retry { after: Some(d), .. } if d.as_secs() == 7
        ));
        assert!(matches!(by_status(410, None, ""), Outcome::Failed { .. }));
        assert_eq!(cut("一二三四", 2), "一二");
    }
}
