//! WeCom (企业微信) group robots: `POST <webhook URL with key>` with a text message
//! whose `mentioned_mobile_list` @-mentions the responsible worker (a markdown message
//! cannot mention by mobile). The answer is JSON with `errcode` even on HTTP 200:
//! `0` is sent; `45009` is the robot's rate limit (20 messages a minute), retried
//! after a minute; `-1` (busy) is retried; `93000` (invalid webhook URL, the key was
//! removed) and every other code are permanent, with the code and message recorded.

use serde_json::json;

use super::outbound::Outbound;
use super::{Message, Outcome, by_status, cut, robot_answer, unreachable};

/// WeCom's limit on a text message's content, in bytes.
const MAX_CONTENT_BYTES: usize = 2048;

/// The text a group reads: title, text and the link on their own lines.
pub fn content(message: &Message) -> String {
    let mut text = format!("【码上反映】{}\n{}", message.title, message.text);
    if let Some(link) = &message.link {
        text.push_str(&format!("\n办理：{link}"));
    }
    // Cut on a character boundary under the byte limit.
    let mut out = cut(&text, MAX_CONTENT_BYTES);
    while out.len() > MAX_CONTENT_BYTES {
        out.pop();
    }
    out
}

/// The request body.
pub fn body(message: &Message) -> serde_json::Value {
    json!({
        "msgtype": "text",
        "text": {
            "content": content(message),
            "mentioned_mobile_list": message.mention_mobiles,
        }
    })
}

/// Sends `message` to the robot at `url`.
pub async fn send(out: &Outbound, url: &reqwest::Url, message: &Message) -> Outcome {
    let body = serde_json::to_vec(&body(message)).unwrap_or_default();
    let headers = [("content-type", "application/json".to_owned())];
    match out.post(url, &headers, body).await {
        Ok(reply) if reply.status == 200 => read(&reply.body),
        Ok(reply) => by_status(reply.status, reply.retry_after, &reply.body),
        Err(err) => unreachable(&err),
    }
}

/// Reads an HTTP 200 answer.
pub fn read(body: &str) -> Outcome {
    robot_answer(
        body,
        "企业微信",
        45009,
        &[(93000, "机器人地址无效，可能已被移除 (invalid webhook URL")],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_with_http_200_are_read_by_their_errcode() {
        assert!(matches!(
            read(r#"{"errcode":0,"errmsg":"ok"}"#),
            Outcome::Sent { .. }
        ));
        assert!(matches!(
            read(r#"{"errcode":45009,"errmsg":"api freq out of limit"}"#),
            Outcome::Retry { after: Some(_), .. }
        ));
        assert!(matches!(
            read(r#"{"errcode":93000,"errmsg":"invalid webhook url"}"#),
            Outcome::Failed { .. }
        ));
        assert!(matches!(read("<html>"), Outcome::Retry { .. }));
        let long = Message {
            title: "标题".into(),
            text: "字".repeat(3000),
            ..Message::default()
        };
        assert!(content(&long).len() <= MAX_CONTENT_BYTES);
    }
}
