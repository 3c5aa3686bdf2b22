//! The NATS JetStream bus: one stream for `<prefix>.>`, a durable pull consumer per
//! service with explicit acks, message id = event id (JetStream drops duplicates within
//! its window), redelivery with back-off, and a dead-letter stream for poison events.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, AckKind, consumer, stream};
use async_trait::async_trait;
use futures::StreamExt;
use mashang_domain::events::Envelope;
use tokio::sync::{OnceCell, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::bus::{Bus, ConsumerSpec, Handler, HandlerError};
use crate::error::BusError;
use crate::handling::{handle_traced, log_dead};
use crate::retry::RetryPolicy;

/// The oldest NATS server whose consumer settings (several filter subjects) we rely on.
const MIN_SERVER: (u64, u64) = (2, 10);
/// Events handled at once per consumer.
const CONCURRENCY: usize = 16;
/// How long a delivery may stay unacknowledged before the server delivers it again.
const ACK_WAIT: Duration = Duration::from_secs(60);

/// NATS connection and naming.
#[derive(Clone, Debug)]
pub struct NatsConfig {
    /// Server URL(s), comma-separated (`nats://127.0.0.1:4222`).
    pub url: String,
    /// Subject prefix: events are `<prefix>.<tenant_id>.<type>`, dead letters
    /// `<prefix>-dlq.<consumer>.<tenant_id>.<type>`. `mashang` in production.
    pub prefix: String,
    /// Client name shown in the server's monitoring.
    pub client_name: String,
    /// JetStream's duplicate window: a republished event id within it is dropped.
    pub duplicate_window: Duration,
    /// How long events are kept in the stream.
    pub max_age: Duration,
    /// Stream replicas (3 on a clustered server).
    pub replicas: usize,
    /// Redelivery policy.
    pub retry: RetryPolicy,
}

impl NatsConfig {
    /// Defaults for `url` with the production prefix.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            prefix: mashang_domain::events::SUBJECT_ROOT.to_owned(),
            client_name: "mashang".to_owned(),
            duplicate_window: Duration::from_secs(10 * 60),
            max_age: Duration::from_secs(7 * 24 * 3600),
            replicas: 1,
            retry: RetryPolicy::default(),
        }
    }

    fn stream_name(&self) -> String {
        stream_name_for(&self.prefix)
    }

    fn dlq_stream_name(&self) -> String {
        format!("{}_DLQ", self.stream_name())
    }

    fn subject(&self, envelope: &Envelope) -> String {
        format!(
            "{}.{}.{}",
            self.prefix,
            envelope.tenant_id,
            envelope.event_type.as_str()
        )
    }
}

fn stream_name_for(prefix: &str) -> String {
    prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// The JetStream bus. Connecting never fails for an unreachable server: the client
/// keeps reconnecting, publishing fails (the outbox keeps the events), and readiness
/// reports the bus down until it is back.
#[derive(Clone)]
pub struct NatsBus {
    client: async_nats::Client,
    js: jetstream::Context,
    config: Arc<NatsConfig>,
    streams: Arc<OnceCell<()>>,
}

impl std::fmt::Debug for NatsBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsBus")
            .field("url", &self.config.url)
            .field("prefix", &self.config.prefix)
            .finish_non_exhaustive()
    }
}

impl NatsBus {
    /// Starts connecting to the server.
    pub async fn connect(config: NatsConfig) -> Result<Self, BusError> {
        let client = async_nats::ConnectOptions::new()
            .name(&config.client_name)
            .retry_on_initial_connect()
            .connection_timeout(Duration::from_secs(3))
            .request_timeout(Some(Duration::from_secs(5)))
            .connect(config.url.as_str())
            .await
            .map_err(|e| BusError::Unavailable(format!("connecting to NATS: {e}")))?;
        let js = jetstream::new(client.clone());
        Ok(Self {
            client,
            js,
            config: Arc::new(config),
            streams: Arc::new(OnceCell::new()),
        })
    }

    fn check_server_version(&self) -> Result<(), BusError> {
        let info = self.client.server_info();
        let mut parts = info
            .version
            .split('.')
            .map(|p| p.parse::<u64>().unwrap_or(0));
        let version = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        if version < MIN_SERVER {
            return Err(BusError::Misconfigured(format!(
                "NATS server {} is too old: Mashang needs {}.{} or later (consumers with several filter subjects)",
                info.version, MIN_SERVER.0, MIN_SERVER.1
            )));
        }
        if !info.jetstream {
            return Err(BusError::Misconfigured(
                "the NATS server runs without JetStream (start it with -js)".to_owned(),
            ));
        }
        Ok(())
    }

    fn connected(&self) -> Result<(), BusError> {
        match self.client.connection_state() {
            async_nats::connection::State::Connected => Ok(()),
            state => Err(BusError::Unavailable(format!(
                "NATS connection is {state:?}"
            ))),
        }
    }

    /// Waits a moment for the first connection after start, which the client makes in
    /// the background; a server that stays away is reported as unavailable.
    async fn wait_connected(&self) -> Result<(), BusError> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        loop {
            match self.client.connection_state() {
                async_nats::connection::State::Connected => return Ok(()),
                async_nats::connection::State::Pending
                    if tokio::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                _ => return self.connected(),
            }
        }
    }

    /// Creates (or updates) the event and dead-letter streams once per process.
    async fn ensure_streams(&self) -> Result<(), BusError> {
        self.streams
            .get_or_try_init(|| async {
                self.wait_connected().await?;
                self.check_server_version()?;
                let c = &self.config;
                for (name, subjects, max_age) in [
                    (c.stream_name(), vec![format!("{}.>", c.prefix)], c.max_age),
                    (
                        c.dlq_stream_name(),
                        vec![format!("{}-dlq.>", c.prefix)],
                        Duration::from_secs(30 * 24 * 3600),
                    ),
                ] {
                    let config = stream::Config {
                        name: name.clone(),
                        subjects,
                        retention: stream::RetentionPolicy::Limits,
                        storage: stream::StorageType::File,
                        max_age,
                        duplicate_window: c.duplicate_window,
                        num_replicas: c.replicas,
                        ..Default::default()
                    };
                    self.js.get_or_create_stream(config).await.map_err(|e| {
                        BusError::Unavailable(format!("creating stream {name}: {e}"))
                    })?;
                }
                Ok(())
            })
            .await
            .map(|_| ())
    }

    async fn consumer(&self, spec: ConsumerSpec) -> Result<consumer::PullConsumer, BusError> {
        self.ensure_streams().await?;
        let stream_name = self.config.stream_name();
        let stream = self
            .js
            .get_stream(&stream_name)
            .await
            .map_err(|e| BusError::Unavailable(format!("opening stream {stream_name}: {e}")))?;
        let filter_subjects = spec
            .types
            .iter()
            .map(|t| format!("{}.*.{}", self.config.prefix, t.as_str()))
            .collect();
        stream
            .create_consumer(consumer::pull::Config {
                durable_name: Some(spec.name.to_owned()),
                description: Some(format!("mashang {} service", spec.name)),
                filter_subjects,
                ack_policy: consumer::AckPolicy::Explicit,
                ack_wait: ACK_WAIT,
                // Redelivery is bounded by our own count, which parks the event on the
                // dead-letter stream; a server-side limit would drop it silently.
                max_deliver: -1,
                ..Default::default()
            })
            .await
            .map_err(|e| BusError::Unavailable(format!("creating consumer {}: {e}", spec.name)))
    }

    async fn dead_letter(
        &self,
        consumer: &'static str,
        envelope: &Envelope,
        raw: &[u8],
        reason: &str,
    ) {
        log_dead(consumer, envelope, reason);
        let subject = format!(
            "{}-dlq.{}.{}.{}",
            self.config.prefix,
            consumer,
            envelope.tenant_id,
            envelope.event_type.as_str()
        );
        self.park(subject, raw, reason).await;
    }

    async fn park(&self, subject: String, raw: &[u8], reason: &str) {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Mashang-Dead-Reason", truncate(reason, 1000).as_str());
        let published = match self
            .js
            .publish_with_headers(subject.clone(), headers, raw.to_vec().into())
            .await
        {
            Ok(ack) => ack.await.map(|_| ()).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(err) = published {
            tracing::error!(subject, error = %err, "could not park a dead letter; it stays only in the log");
        }
    }

    async fn handle_message(
        &self,
        spec: ConsumerSpec,
        handler: Arc<dyn Handler>,
        message: jetstream::Message,
    ) {
        let attempt = message
            .info()
            .map(|i| u32::try_from(i.delivered).unwrap_or(u32::MAX))
            .unwrap_or(1);
        let envelope: Envelope = match serde_json::from_slice(&message.payload) {
            Ok(envelope) => envelope,
            Err(err) => {
                tracing::error!(consumer = spec.name, subject = %message.subject, error = %mashang_telemetry::error_chain(&err), "message is not an envelope; parked as dead letter");
                let subject = format!("{}-dlq.{}.malformed", self.config.prefix, spec.name);
                self.park(
                    subject,
                    &message.payload,
                    &format!("not an envelope: {err}"),
                )
                .await;
                ack(&message, AckKind::Term).await;
                return;
            }
        };
        let mut envelope = envelope;
        if envelope.traceparent.is_none() {
            envelope.traceparent = message
                .headers
                .as_ref()
                .and_then(|h| h.get("traceparent"))
                .map(|v| v.as_str().to_owned());
        }
        let policy = self.config.retry;
        match handle_traced(spec.name, handler.as_ref(), envelope.clone(), attempt).await {
            Ok(()) => ack(&message, AckKind::Ack).await,
            Err(HandlerError::Poison(err)) => {
                self.dead_letter(spec.name, &envelope, &message.payload, &format!("{err:#}"))
                    .await;
                ack(&message, AckKind::Term).await;
            }
            Err(HandlerError::Retry(err)) if policy.exhausted(attempt) => {
                self.dead_letter(
                    spec.name,
                    &envelope,
                    &message.payload,
                    &format!("out of attempts: {err:#}"),
                )
                .await;
                ack(&message, AckKind::Term).await;
            }
            Err(HandlerError::Retry(err)) => {
                tracing::warn!(consumer = spec.name, event_id = %envelope.id, attempt, error = %format!("{err:#}"), "event handling failed; will be redelivered");
                ack(&message, AckKind::Nak(Some(policy.delay_after(attempt)))).await;
            }
        }
    }
}

async fn ack(message: &jetstream::Message, kind: AckKind) {
    // A lost ack means a redelivery, which the inbox absorbs.
    if let Err(err) = message.ack_with(kind).await {
        tracing::warn!(subject = %message.subject, error = %mashang_telemetry::error_chain(&*err), "acknowledgement failed");
    }
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).filter(|c| !c.is_control()).collect()
}

#[async_trait]
impl Bus for NatsBus {
    async fn publish(&self, envelope: &Envelope) -> Result<(), BusError> {
        self.wait_connected().await?;
        self.ensure_streams().await?;
        let payload = serde_json::to_vec(envelope)?;
        let mut publish = jetstream::message::PublishMessage::build()
            .payload(payload.into())
            .message_id(envelope.id.to_string());
        if let Some(tp) = &envelope.traceparent {
            publish = publish.header("traceparent", tp.as_str());
        }
        let ack = self
            .js
            .send_publish(self.config.subject(envelope), publish)
            .await
            .map_err(|e| BusError::Unavailable(format!("publishing: {e}")))?;
        ack.await
            .map_err(|e| BusError::Unavailable(format!("waiting for the publish ack: {e}")))?;
        Ok(())
    }

    async fn run_consumer(
        &self,
        spec: ConsumerSpec,
        handler: Arc<dyn Handler>,
        shutdown: CancellationToken,
    ) -> Result<(), BusError> {
        let tracker = TaskTracker::new();
        let permits = Arc::new(Semaphore::new(CONCURRENCY));
        let mut delay = Duration::from_millis(200);
        'outer: while !shutdown.is_cancelled() {
            let messages = match self.consumer(spec).await {
                Ok(consumer) => consumer.messages().await.map_err(|e| {
                    BusError::Unavailable(format!("pulling for consumer {}: {e}", spec.name))
                }),
                Err(err) => Err(err),
            };
            let mut messages = match messages {
                Ok(messages) => messages,
                Err(err @ BusError::Misconfigured(_)) => {
                    tracing::error!(consumer = spec.name, error = %mashang_telemetry::error_chain(&err), "consumer cannot start");
                    delay = Duration::from_secs(30);
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = tokio::time::sleep(delay) => continue,
                    }
                }
                Err(err) => {
                    // The first attempts usually race the initial connection.
                    if delay >= Duration::from_secs(1) {
                        tracing::warn!(consumer = spec.name, error = %mashang_telemetry::error_chain(&err), "consumer not ready; retrying");
                    } else {
                        tracing::debug!(consumer = spec.name, error = %mashang_telemetry::error_chain(&err), "consumer not ready; retrying");
                    }
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = tokio::time::sleep(delay) => {}
                    }
                    delay = (delay * 2).min(Duration::from_secs(10));
                    continue;
                }
            };
            delay = Duration::from_millis(200);
            loop {
                let permit = tokio::select! {
                    _ = shutdown.cancelled() => break 'outer,
                    permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
                };
                let next = tokio::select! {
                    _ = shutdown.cancelled() => break 'outer,
                    next = messages.next() => next,
                };
                match next {
                    Some(Ok(message)) => {
                        let this = self.clone();
                        let handler = handler.clone();
                        tracker.spawn(async move {
                            this.handle_message(spec, handler, message).await;
                            drop(permit);
                        });
                    }
                    Some(Err(err)) => {
                        tracing::warn!(consumer = spec.name, error = %mashang_telemetry::error_chain(&err), "pull failed; re-opening the consumer");
                        continue 'outer;
                    }
                    None => continue 'outer,
                }
            }
        }
        tracker.close();
        tracker.wait().await;
        Ok(())
    }

    async fn check(&self) -> Result<(), BusError> {
        self.connected()?;
        self.ensure_streams().await
    }
}

#[cfg(test)]
mod tests {
    use super::stream_name_for;

    #[test]
    fn stream_names_are_valid_identifiers() {
        assert_eq!(stream_name_for("mashang"), "MASHANG");
        assert_eq!(stream_name_for("t-1.x"), "T_1_X");
    }
}
