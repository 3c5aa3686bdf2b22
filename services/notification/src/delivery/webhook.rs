//! Outgoing webhooks, signed as the Standard Webhooks specification says
//! (<https://www.standardwebhooks.com/>): headers `webhook-id` (the delivery's id, the
//! same on every retry, so a receiver drops a repeat), `webhook-timestamp` (Unix
//! seconds) and `webhook-signature` (`v1,` and the base64 HMAC-SHA256 of
//! `{id}.{timestamp}.{body}` under the secret's bytes); the secret is `whsec_` and
//! base64, shown once when the channel is made. The body is
//! `{"type": <event type>, "timestamp": <RFC 3339>, "data": {…}}`. A 2xx answer is
//! delivered; 429 and 5xx are retried (honouring `Retry-After`); other answers,
//! 410 Gone among them, are permanent.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use super::outbound::Outbound;
use super::{Message, Outcome, by_status, unreachable};

/// The secret's prefix.
pub const SECRET_PREFIX: &str = "whsec_";

/// A fresh signing secret: `whsec_` and 32 random bytes in base64.
pub fn new_secret() -> anyhow::Result<String> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(format!("{SECRET_PREFIX}{}", STANDARD.encode(key)))
}

/// The key bytes of a `whsec_` secret.
pub fn secret_key(secret: &str) -> Option<Vec<u8>> {
    let encoded = secret.strip_prefix(SECRET_PREFIX)?;
    STANDARD.decode(encoded).ok().filter(|k| !k.is_empty())
}

/// `v1,<base64 signature>` of `body` sent as `id` at `timestamp`.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any size");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The body of `message`.
pub fn payload(message: &Message, at: DateTime<Utc>) -> Vec<u8> {
    let data = message.data.clone().unwrap_or_else(
        || json!({"title": message.title, "text": message.text, "link": message.link}),
    );
    let body = json!({
        "type": message.event_type.as_deref().unwrap_or(&message.kind),
        "timestamp": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "data": data,
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

/// Sends `message` to `url`, signed with `secret`.
pub async fn send(out: &Outbound, url: &reqwest::Url, secret: &str, message: &Message) -> Outcome {
    let Some(key) = secret_key(secret) else {
        return Outcome::Failed {
            reason: "签名密钥无效 (the signing secret is not a whsec_ secret)".to_owned(),
            answer: super::Answer::none("invalid secret"),
        };
    };
    let now = Utc::now();
    let body = payload(message, now);
    let id = format!("msg_{}", message.id.simple());
    let timestamp = now.timestamp();
    let headers = [
        ("content-type", "application/json".to_owned()),
        ("webhook-id", id.clone()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", sign(&key, &id, timestamp, &body)),
    ];
    match out.post(url, &headers, body).await {
        Ok(reply) => by_status(reply.status, reply.retry_after, &reply.body),
        Err(err) => unreachable(&err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_matches_the_specifications_example() {
        // The example in the Standard Webhooks specification.
        let key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("a key");
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        let fresh = new_secret().expect("a secret");
        assert!(fresh.starts_with(SECRET_PREFIX));
        assert_eq!(secret_key(&fresh).map(|k| k.len()), Some(32));
        assert_eq!(secret_key("nope"), None);
    }
}

#[cfg(test)]
mod fuzz_tests {
    //! A channel's `whsec_` secret is stored text read back for every delivery: any
    //! text is a key or none, and a secret made of a key reads back as that key.

    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn fuzz_a_secret_reads_back_as_its_key(key in proptest::collection::vec(any::<u8>(), 1..64)) {
            let secret = format!("{SECRET_PREFIX}{}", STANDARD.encode(&key));
            prop_assert_eq!(secret_key(&secret), Some(key));
        }

        #[test]
        fn fuzz_any_secret_text_is_a_key_or_none(
            text in "whsec_\\PC{0,60}|\\PC{0,60}|whsec_[A-Za-z0-9+/=]{0,60}",
            id in "\\PC{0,40}",
            timestamp in any::<i64>(),
            body in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            if let Some(key) = secret_key(&text) {
                prop_assert!(text.starts_with(SECRET_PREFIX) && !key.is_empty());
                let signature = sign(&key, &id, timestamp, &body);
                prop_assert!(signature.starts_with("v1,"));
                prop_assert_eq!(STANDARD.decode(&signature[3..]).map(|s| s.len()), Ok(32));
            }
        }
    }
}
