//! DingTalk (钉钉) custom robots with the signed-timestamp security setting (加签):
//! `POST <webhook URL with access_token>&timestamp=<ms>&sign=<urlencoded base64
//! HMAC-SHA256 of "<ms>\n<secret>" under the secret>`, a text message whose content
//! names the @-mentioned mobiles and whose `at.atMobiles` lists them. The answer is JSON
//! with `errcode` even on HTTP 200: `0` is sent; `130101` (more than 20 messages a
//! minute) is retried after a minute; `310000` (the security setting does not match:
//! signature, keyword or IP), `300001` (no such token) and other codes are permanent.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use super::outbound::Outbound;
use super::{Message, Outcome, by_status, cut, robot_answer, unreachable};

/// `base64(HMAC-SHA256(secret, "<timestamp>\n<secret>"))`, before URL-encoding.
pub fn sign(secret: &str, timestamp_ms: i64) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any size");
    mac.update(format!("{timestamp_ms}\n{secret}").as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// The robot's URL with the timestamp and signature added.
pub fn signed_url(url: &reqwest::Url, secret: &str, timestamp_ms: i64) -> reqwest::Url {
    let mut signed = url.clone();
    signed
        .query_pairs_mut()
        .append_pair("timestamp", &timestamp_ms.to_string())
        .append_pair("sign", &sign(secret, timestamp_ms));
    signed
}

/// The request body.
pub fn body(message: &Message) -> serde_json::Value {
    let mut content = format!("【码上反映】{}\n{}", message.title, message.text);
    if let Some(link) = &message.link {
        content.push_str(&format!("\n办理：{link}"));
    }
    for mobile in &message.mention_mobiles {
        content.push_str(&format!(" @{mobile}"));
    }
    json!({
        "msgtype": "text",
        "text": {"content": cut(&content, 4000)},
        "at": {"atMobiles": message.mention_mobiles, "isAtAll": false},
    })
}

/// Sends `message` to the robot at `url` signed with `secret`.
pub async fn send(out: &Outbound, url: &reqwest::Url, secret: &str, message: &Message) -> Outcome {
    let url = signed_url(url, secret, chrono::Utc::now().timestamp_millis());
    let body = serde_json::to_vec(&body(message)).unwrap_or_default();
    let headers = [("content-type", "application/json".to_owned())];
    match out.post(&url, &headers, body).await {
        Ok(reply) if reply.status == 200 => read(&reply.body),
        Ok(reply) => by_status(reply.status, reply.retry_after, &reply.body),
        Err(err) => unreachable(&err),
    }
}

/// Reads an HTTP 200 answer.
pub fn read(body: &str) -> Outcome {
    robot_answer(
        body,
        "钉钉",
        130101,
        &[(
            310000,
            "安全设置不匹配：请核对加签密钥 (security setting mismatch",
        )],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_documented_hmac_and_answers_read_by_errcode() {
        // Computed independently: printf '1700000000000\nSECabc' | openssl dgst -sha256 -hmac SECabc -binary | base64
        assert_eq!(
            sign("SECabc", 1_700_000_000_000),
            "jcUpW0QmtKduN03n4JqQ0PBosVjqnM8gU7fIIvsDmCM="
        );
        let url = reqwest::Url::parse("https://oapi.dingtalk.com/robot/send?access_token=t")
            .expect("a URL");
        let signed = signed_url(&url, "SECabc", 1_700_000_000_000);
        assert!(
            signed
                .query()
                .is_some_and(|q| q.starts_with("access_token=t&timestamp=1700000000000&sign="))
        );
        assert!(matches!(
            read(r#"{"errcode":0,"errmsg":"ok"}"#),
            Outcome::Sent { .. }
        ));
        assert!(matches!(
            read(r#"{"errcode":130101,"errmsg":"send too fast"}"#),
            Outcome::Retry { after: Some(_), .. }
        ));
        assert!(matches!(
            read(r#"{"errcode":310000,"errmsg":"sign not match"}"#),
            Outcome::Failed { .. }
        ));
    }
}
