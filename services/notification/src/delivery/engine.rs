//! The delivery engine.
//!
//! **Enqueue.** An event handler adds one row to `notification.deliveries` per (event,
//! recipient, channel) in the same transaction as its inbox claim, keyed by an
//! idempotency key (`<event id>:<channel id>[:<person>]`): a redelivered event or a
//! restarted service adds nothing.
//!
//! **Send.** Every replica's sender claims due deliveries of every township with a
//! lease (one statement, `FOR UPDATE SKIP LOCKED`, in a [`SystemScope::DeliverySender`]
//! transaction), then sends each in its township's own transactions: re-check that the
//! message still applies (a reminder for a case acknowledged meanwhile is skipped),
//! wait for the channel's token bucket (a burst waits in the queue, never dropped),
//! call the adapter, record the attempt and the provider's answer, and move the
//! delivery on: sent; retried with capped exponential back-off and jitter (or when the
//! provider said); failed on a permanent answer; dead when the retries are used up.
//! A sender killed between the provider's answer and the record sends once more after
//! the lease, with the same id (`webhook-id`, SMS out-id) so a receiver can drop it.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use mashang_auth::PiiKey;
use mashang_db::{Db, SystemScope, TenantTx};
use mashang_domain::TenantId;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::outbound::Outbound;
use super::{
    Answer, ChannelKind, Message, Outcome, aliyun, dingtalk, sms, tencent, webhook, wecom,
};

/// Attempts before a delivery is dead.
pub const MAX_ATTEMPTS: i32 = 8;
/// The first retry's wait; each next one doubles, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(10);
const MAX_BACKOFF: Duration = Duration::from_secs(30 * 60);
/// How long a claimed delivery is ours before another sender may take it.
const LEASE: Duration = Duration::from_secs(120);
/// Deliveries claimed at a time.
const BATCH: i64 = 32;

/// A delivery to add.
#[derive(Clone, Debug)]
pub struct NewDelivery {
    pub idempotency_key: String,
    pub event_id: Option<Uuid>,
    pub event_type: Option<String>,
    pub case_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub channel_id: Uuid,
    pub message: Message,
}

/// Adds a delivery unless one with its key exists; returns its id when added.
pub async fn enqueue(tx: &mut TenantTx, new: NewDelivery) -> Result<Option<Uuid>, sqlx::Error> {
    enqueue_at(tx, new, None).await
}

/// As [`enqueue`], sent not before `not_before` (a fallback's wait, quiet hours).
pub async fn enqueue_at(
    tx: &mut TenantTx,
    new: NewDelivery,
    not_before: Option<DateTime<Utc>>,
) -> Result<Option<Uuid>, sqlx::Error> {
    let id = Uuid::now_v7();
    let mut message = new.message;
    message.id = id;
    let row: Option<(Uuid,)> = sqlx::query_as(
        "INSERT INTO notification.deliveries \
         (id, tenant_id, idempotency_key, event_id, event_type, case_id, user_id, channel_id, kind, message, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, coalesce($11, now())) \
         ON CONFLICT (tenant_id, idempotency_key) DO NOTHING RETURNING id",
    )
    .bind(id)
    .bind(tx.tenant().as_uuid())
    .bind(&new.idempotency_key)
    .bind(new.event_id)
    .bind(&new.event_type)
    .bind(new.case_id)
    .bind(new.user_id)
    .bind(new.channel_id)
    .bind(&message.kind)
    .bind(sqlx::types::Json(&message))
    .bind(not_before)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|(id,)| id))
}

/// A channel's secrets, sealed in `secrets_sealed` as JSON.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Secrets {
    /// An e-mail channel's mail server, sender and login (its password among them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp: Option<super::email::Smtp>,
    /// A robot's or a webhook's URL (it carries the robot's key or token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// DingTalk's signing secret, a webhook's `whsec_` secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Alibaba Cloud's AccessKey pair.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_secret: Option<String>,
    /// Tencent Cloud's key pair.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key: Option<String>,
    /// The token in an SMS channel's delivery-receipt URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_token: Option<String>,
}

impl Secrets {
    /// Seals the secrets of channel `id` of `tenant`.
    pub fn seal(&self, key: &PiiKey, tenant: TenantId, id: Uuid) -> anyhow::Result<Vec<u8>> {
        let plain = serde_json::to_string(self)?;
        key.seal_bound(&plain, tenant.as_uuid(), id, "channel_secrets")
            .map_err(|e| anyhow::anyhow!("sealing: {e:?}"))
    }

    /// Opens what [`Secrets::seal`] made.
    pub fn open(key: &PiiKey, tenant: TenantId, id: Uuid, sealed: &[u8]) -> anyhow::Result<Self> {
        let plain = key
            .open_bound(sealed, tenant.as_uuid(), id, "channel_secrets")
            .map_err(|e| anyhow::anyhow!("opening: {e:?}"))?;
        Ok(serde_json::from_str(&plain)?)
    }
}

/// What a send needs of a channel.
#[derive(Clone, Debug)]
pub struct ChannelTarget {
    pub id: Uuid,
    pub kind: ChannelKind,
    /// The public settings (an SMS channel's signature, templates and endpoint).
    pub settings: serde_json::Value,
    pub secrets: Secrets,
    pub per_minute: u32,
}

/// Sends `message` on `channel` once: the adapter of its kind.
pub async fn send_on(out: &Outbound, channel: &ChannelTarget, message: &Message) -> Outcome {
    if let Some(reason) = sms::unsendable(channel.kind, &channel.settings, message) {
        return Outcome::Failed {
            answer: Answer::none(&reason),
            reason,
        };
    }
    match channel.kind {
        ChannelKind::SmsAliyun => {
            let settings = sms::SmsSettings::from_value(&channel.settings);
            return aliyun::send(out, &settings, &channel.secrets, message).await;
        }
        ChannelKind::SmsTencent => {
            let settings = sms::SmsSettings::from_value(&channel.settings);
            return tencent::send(out, &settings, &channel.secrets, message).await;
        }
        _ => {}
    }
    let url = match channel.secrets.url.as_deref().map(reqwest::Url::parse) {
        Some(Ok(url)) => Some(url),
        Some(Err(_)) => {
            return Outcome::Failed {
                reason: "渠道地址无效 (the channel's URL does not parse)".to_owned(),
                answer: Answer::none("bad URL"),
            };
        }
        None => None,
    };
    let secret = channel.secrets.secret.as_deref().unwrap_or_default();
    match (channel.kind, url) {
        (ChannelKind::Wecom, Some(url)) => wecom::send(out, &url, message).await,
        (ChannelKind::Dingtalk, Some(url)) => dingtalk::send(out, &url, secret, message).await,
        (ChannelKind::Webhook, Some(url)) => webhook::send(out, &url, secret, message).await,
        (ChannelKind::Email, _) if channel.secrets.smtp.is_some() => {
            let smtp = channel.secrets.smtp.as_ref().expect("matched");
            super::email::send(out.policy(), smtp, message).await
        }
        (kind, _) => Outcome::Failed {
            reason: format!(
                "{} 尚不能发送 (this channel cannot send yet)",
                kind.name_zh()
            ),
            answer: Answer::none("not configured"),
        },
    }
}

/// The wait before retry number `attempt` (1-based): doubling from ten seconds up to
/// half an hour, with ±20 % jitter so a burst of failures does not come back at once.
pub fn backoff(attempt: i32, jitter: f64) -> Duration {
    let doublings = attempt.saturating_sub(1).clamp(0, 20) as u32;
    let base = FIRST_BACKOFF
        .saturating_mul(2u32.saturating_pow(doublings))
        .min(MAX_BACKOFF);
    base.mul_f64(0.8 + 0.4 * jitter.clamp(0.0, 1.0))
}

fn jitter() -> f64 {
    let mut b = [0u8; 2];
    let _ = getrandom::fill(&mut b);
    f64::from(u16::from_le_bytes(b)) / f64::from(u16::MAX)
}

/// Each channel's token bucket, with the rate it was made for.
type Buckets = HashMap<Uuid, (u32, Arc<DefaultDirectRateLimiter>)>;

/// How an attempt moves its delivery on.
struct Step {
    label: &'static str,
    state: &'static str,
    answer: Answer,
    error: Option<String>,
    provider: Option<String>,
    next: Option<DateTime<Utc>>,
}

/// The sender: claims and sends until shut down.
#[derive(Clone, Debug)]
pub struct Sender {
    db: Db,
    out: Outbound,
    key: PiiKey,
    buckets: Arc<Mutex<Buckets>>,
}

impl Sender {
    /// A sender over `db`, sending through `out`, opening secrets with `key`.
    pub fn new(db: Db, out: Outbound, key: PiiKey) -> Self {
        Self {
            db,
            out,
            key,
            buckets: Arc::default(),
        }
    }

    /// Runs until `shutdown`: wakes on each new delivery and every two seconds.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut listener = match self.db.listen("mashang_deliveries").await {
            Ok(l) => Some(l),
            Err(err) => {
                tracing::warn!(error = %err, "no LISTEN for deliveries; polling only");
                None
            }
        };
        loop {
            match self.pass().await {
                Ok(n) if n as i64 == BATCH => continue,
                Ok(_) => {}
                Err(err) => {
                    tracing::error!(error = format!("{err:#}"), "delivery pass failed");
                }
            }
            let wake = async {
                match listener.as_mut() {
                    Some(l) => {
                        let _ = tokio::time::timeout(Duration::from_secs(2), l.recv()).await;
                    }
                    None => tokio::time::sleep(Duration::from_secs(2)).await,
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = wake => {}
            }
        }
    }

    /// One pass: claims due deliveries and sends them; returns how many were claimed.
    pub async fn pass(&self) -> anyhow::Result<usize> {
        let claimed = self.claim().await?;
        let n = claimed.len();
        let mut sends = tokio::task::JoinSet::new();
        for (id, tenant) in claimed {
            let me = self.clone();
            sends.spawn(async move {
                if let Err(err) = me.send_one(id, TenantId::from_uuid(tenant)).await {
                    tracing::error!(delivery = %id, error = format!("{err:#}"), "delivery failed to run");
                }
            });
        }
        while sends.join_next().await.is_some() {}
        Ok(n)
    }

    async fn claim(&self) -> anyhow::Result<Vec<(Uuid, Uuid)>> {
        let mut tx = self.db.system(SystemScope::DeliverySender).await?;
        let rows: Vec<(Uuid, Uuid)> = sqlx::query_as(
            "UPDATE notification.deliveries d SET lease_until = now() + make_interval(secs => $1) \
             WHERE d.id IN (SELECT id FROM notification.deliveries \
                            WHERE state = 'queued' AND next_attempt_at <= now() \
                              AND (lease_until IS NULL OR lease_until < now()) \
                            ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED) \
             RETURNING d.id, d.tenant_id",
        )
        .bind(LEASE.as_secs_f64())
        .bind(BATCH)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// The channel's bucket, made (or remade after a change of rate) on first use.
    fn bucket(&self, channel: Uuid, per_minute: u32) -> Arc<DefaultDirectRateLimiter> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((rate, b)) = buckets.get(&channel)
            && *rate == per_minute
        {
            return b.clone();
        }
        let quota =
            Quota::per_minute(NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN));
        let b = Arc::new(RateLimiter::direct(quota));
        buckets.insert(channel, (per_minute, b.clone()));
        b
    }

    async fn send_one(&self, id: Uuid, tenant: TenantId) -> anyhow::Result<()> {
        // What to send, and whether it still applies.
        let mut tx = self.db.tenant(tenant).await?;
        type Row = (
            sqlx::types::Json<Message>,
            i32,
            Option<Uuid>,
            Uuid,
            String,
            serde_json::Value,
            Vec<u8>,
            i32,
            bool,
        );
        let row: Option<Row> = sqlx::query_as(
            "SELECT d.message, d.attempts, d.case_id, c.id, c.kind, c.settings, c.secrets_sealed, c.per_minute, c.active \
             FROM notification.deliveries d JOIN notification.channels c ON c.tenant_id = d.tenant_id AND c.id = d.channel_id \
             WHERE d.tenant_id = $1 AND d.id = $2 AND d.state = 'queued'",
        )
        .bind(tenant.as_uuid())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((
            message,
            attempts,
            case_id,
            channel_id,
            kind,
            settings,
            sealed,
            per_minute,
            active,
        )) = row
        else {
            tx.commit().await?;
            return Ok(());
        };
        let mut message = message.0;
        let stale = match (case_id, message.only_in_states.is_empty()) {
            (Some(case), false) => {
                let state: Option<(String,)> = sqlx::query_as(
                    "SELECT state FROM routing.cases WHERE tenant_id = $1 AND id = $2",
                )
                .bind(tenant.as_uuid())
                .bind(case)
                .fetch_optional(&mut *tx)
                .await?;
                !state.is_some_and(|(s,)| message.only_in_states.contains(&s))
            }
            _ => false,
        };
        tx.commit().await?;
        // A citizen's number is opened from their report only now, to send.
        if message.phone.is_none()
            && let Some(report) = message.report_id
        {
            message.phone = super::citizen::phone(&self.db, &self.key, tenant, report).await?;
        }
        let kind = ChannelKind::parse(&kind);
        let unsendable = kind.and_then(|k| sms::unsendable(k, &settings, &message));
        let outcome = if stale {
            None
        } else if let Some(reason) = unsendable {
            // Nothing to send with (no template for this kind): recorded, not retried.
            return self
                .record(tenant, id, attempts, Err(&reason), Duration::ZERO)
                .await;
        } else if !active {
            Some(Outcome::Failed {
                reason: "渠道已停用 (the channel is switched off)".to_owned(),
                answer: Answer::none("channel inactive"),
            })
        } else {
            let Some(kind) = kind else {
                anyhow::bail!("unknown channel kind");
            };
            let secrets = Secrets::open(&self.key, tenant, channel_id, &sealed)?;
            let bucket = self.bucket(channel_id, per_minute.max(1) as u32);
            if let Err(not_until) = bucket.check() {
                // The bucket is empty: back to the queue until a token is due; no
                // attempt is spent.
                let wait = not_until.wait_time_from(governor::clock::Clock::now(
                    &governor::clock::DefaultClock::default(),
                ));
                self.requeue(tenant, id, wait).await?;
                return Ok(());
            }
            let channel = ChannelTarget {
                id: channel_id,
                kind,
                settings,
                secrets,
                per_minute: per_minute as u32,
            };
            let started = Instant::now();
            let outcome = send_on(&self.out, &channel, &message).await;
            let elapsed = started.elapsed();
            self.record(tenant, id, attempts, Ok(Some(&outcome)), elapsed)
                .await?;
            return Ok(());
        };
        self.record(tenant, id, attempts, Ok(outcome.as_ref()), Duration::ZERO)
            .await
    }

    async fn requeue(&self, tenant: TenantId, id: Uuid, wait: Duration) -> anyhow::Result<()> {
        let mut tx = self.db.tenant(tenant).await?;
        sqlx::query(
            "UPDATE notification.deliveries SET lease_until = NULL, \
             next_attempt_at = now() + make_interval(secs => $3) \
             WHERE tenant_id = $1 AND id = $2 AND state = 'queued'",
        )
        .bind(tenant.as_uuid())
        .bind(id)
        .bind(wait.as_secs_f64().max(0.05))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records an attempt (`Ok(None)`: skipped, the message no longer applies;
    /// `Err(why)`: skipped, there is nothing to send it with) and moves the delivery
    /// on.
    async fn record(
        &self,
        tenant: TenantId,
        id: Uuid,
        attempts: i32,
        outcome: Result<Option<&Outcome>, &String>,
        elapsed: Duration,
    ) -> anyhow::Result<()> {
        let (outcome, unsendable) = match outcome {
            Ok(o) => (o, None),
            Err(why) => (None, Some(why)),
        };
        let now: DateTime<Utc> = Utc::now();
        let attempt = attempts + 1;
        let step = |label, state, answer: &Answer, error: Option<&String>, next| Step {
            label,
            state,
            answer: answer.clone(),
            error: error.cloned(),
            provider: None,
            next,
        };
        let Step {
            label,
            state,
            answer,
            error,
            provider,
            next,
        } = match outcome {
            None => match unsendable {
                Some(why) => step("skipped", "skipped", &Answer::none(why), Some(why), None),
                None => step(
                    "skipped",
                    "skipped",
                    &Answer::none("the case moved on; nothing to send"),
                    None,
                    None,
                ),
            },
            Some(Outcome::Sent {
                provider_id,
                answer,
            }) => Step {
                provider: provider_id.clone(),
                ..step("sent", "sent", answer, None, None)
            },
            Some(Outcome::Failed { reason, answer }) => {
                step("failed", "failed", answer, Some(reason), None)
            }
            Some(Outcome::Retry {
                reason,
                after,
                answer,
            }) => {
                if attempt >= MAX_ATTEMPTS {
                    step("retry", "dead", answer, Some(reason), None)
                } else {
                    let wait = after.unwrap_or_else(|| backoff(attempt, jitter()));
                    let next = now
                        + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::minutes(30));
                    step("retry", "queued", answer, Some(reason), Some(next))
                }
            }
        };
        let mut tx = self.db.tenant(tenant).await?;
        sqlx::query(
            "INSERT INTO notification.delivery_attempts (id, tenant_id, delivery_id, outcome, http_status, answer, duration_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(Uuid::now_v7())
        .bind(tenant.as_uuid())
        .bind(id)
        .bind(label)
        .bind(answer.status.map(i32::from))
        .bind(&answer.body)
        .bind(i32::try_from(elapsed.as_millis()).unwrap_or(i32::MAX))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE notification.deliveries SET state = $3, attempts = attempts + $4, lease_until = NULL, \
             next_attempt_at = coalesce($5, next_attempt_at), last_error = $6, \
             provider_message_id = coalesce($7, provider_message_id), \
             sent_at = CASE WHEN $3 = 'sent' THEN now() ELSE sent_at END \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant.as_uuid())
        .bind(id)
        .bind(state)
        .bind(i32::from(outcome.is_some()))
        .bind(next)
        .bind(error.map(|e| super::cut(&e, 2000)))
        .bind(provider)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_up_to_half_an_hour_with_jitter_around_it() {
        assert_eq!(backoff(1, 0.5), Duration::from_secs(10));
        assert_eq!(backoff(2, 0.5), Duration::from_secs(20));
        assert_eq!(backoff(4, 0.5), Duration::from_secs(80));
        assert_eq!(backoff(30, 0.5), MAX_BACKOFF);
        assert_eq!(backoff(1, 0.0), Duration::from_secs(8));
        assert_eq!(backoff(1, 1.0), Duration::from_secs(12));
    }
}
