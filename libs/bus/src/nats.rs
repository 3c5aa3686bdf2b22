//! The NATS JetStream bus: one stream for `<prefix>.>`, a durable pull consumer per
//! service with explicit acks, message id = event id (JetStream drops duplicates within
//! its window), redelivery with capped, jittered back-off for as long as a failure is
//! transient, and poison events parked in the service's dead-letter table.

mod auth;

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, AckKind, consumer, stream};
use async_trait::async_trait;
use futures::StreamExt;
use mashang_domain::events::Envelope;
use tokio::sync::{OnceCell, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use self::auth::{NatsAuth, NatsTls, Secret};
use crate::bus::{Bus, ConsumerSpec, Handler, HandlerError};
use crate::dead_letter::{DeadLetters, Parking};
use crate::error::BusError;
use crate::handling::handle_traced;
use crate::retry::RetryPolicy;

/// The oldest NATS server whose consumer settings (several filter subjects) we rely on.
const MIN_SERVER: (u64, u64) = (2, 10);
/// Events handled at once per consumer.
const CONCURRENCY: usize = 16;

/// NATS connection and naming.
#[derive(Clone, Debug)]
pub struct NatsConfig {
    /// Server URL(s), comma-separated (`nats://127.0.0.1:4222`).
    pub url: String,
    /// Subject prefix: events are `<prefix>.<tenant_id>.<type>`. `mashang` in production.
    pub prefix: String,
    /// Client name shown in the server's monitoring.
    pub client_name: String,
    /// JetStream's duplicate window: a republished event id within it is dropped.
    pub duplicate_window: Duration,
    /// How long events are kept in the stream.
    pub max_age: Duration,
    /// Stream replicas (3 on a clustered server).
    pub replicas: usize,
    /// Redelivery back-off.
    pub retry: RetryPolicy,
    /// How long a delivery may stay unacknowledged before the server delivers it
    /// again. While a handler runs, the consumer tells the server every third of it
    /// that the event is in hand, so a slow handler is never raced by a redelivery.
    pub ack_wait: Duration,
    /// Credentials presented to the server.
    pub auth: NatsAuth,
    /// TLS to the server.
    pub tls: NatsTls,
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
            ack_wait: Duration::from_secs(60),
            auth: NatsAuth::None,
            tls: NatsTls::default(),
        }
    }

    fn stream_name(&self) -> String {
        stream_name_for(&self.prefix)
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
    dead_letters: Option<DeadLetters>,
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
    /// Starts connecting to the server. Fails at once only for settings that can never
    /// work (an unreadable credentials or certificate file, an invalid NKey seed).
    pub async fn connect(config: NatsConfig) -> Result<Self, BusError> {
        let options =
            auth::apply(async_nats::ConnectOptions::new(), &config.auth, &config.tls).await?;
        let client = options
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
            dead_letters: None,
        })
    }

    /// The same bus, parking poison events in the services' dead-letter tables and
    /// replaying the ones an operator marks. Without it they are only logged.
    pub fn with_dead_letters(mut self, store: DeadLetters) -> Self {
        self.dead_letters = Some(store);
        self
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

    /// Creates (or updates) the event stream once per process.
    async fn ensure_streams(&self) -> Result<(), BusError> {
        self.streams
            .get_or_try_init(|| async {
                self.wait_connected().await?;
                self.check_server_version()?;
                let c = &self.config;
                let name = c.stream_name();
                let config = stream::Config {
                    name: name.clone(),
                    subjects: vec![format!("{}.>", c.prefix)],
                    retention: stream::RetentionPolicy::Limits,
                    storage: stream::StorageType::File,
                    max_age: c.max_age,
                    duplicate_window: c.duplicate_window,
                    num_replicas: c.replicas,
                    ..Default::default()
                };
                self.js
                    .get_or_create_stream(config)
                    .await
                    .map_err(|e| BusError::Unavailable(format!("creating stream {name}: {e}")))?;
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
                ack_wait: self.config.ack_wait,
                // A transient failure is redelivered for as long as it lasts (with the
                // back-off given in each Nak); only poison is parked, by us. A
                // server-side limit would drop events silently.
                max_deliver: -1,
                ..Default::default()
            })
            .await
            .map_err(|e| BusError::Unavailable(format!("creating consumer {}: {e}", spec.name)))
    }

    async fn handle_message(
        &self,
        spec: ConsumerSpec,
        handler: Arc<dyn Handler>,
        parking: &Parking,
        message: jetstream::Message,
    ) {
        let attempt = message
            .info()
            .map(|i| u32::try_from(i.delivered).unwrap_or(u32::MAX))
            .unwrap_or(1);
        let policy = self.config.retry;
        let envelope: Envelope = match serde_json::from_slice(&message.payload) {
            Ok(envelope) => envelope,
            Err(err) => {
                let reason = format!("not an envelope (subject {}): {err}", message.subject);
                self.park(spec, parking, &message, None, &reason, attempt)
                    .await;
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
        let work = handle_traced(spec.name, handler.as_ref(), envelope.clone(), attempt);
        tokio::pin!(work);
        let mut progress = {
            let every = self.config.ack_wait / 3;
            tokio::time::interval_at(tokio::time::Instant::now() + every, every)
        };
        let outcome = loop {
            tokio::select! {
                outcome = &mut work => break outcome,
                _ = progress.tick() => ack(&message, AckKind::Progress).await,
            }
        };
        match outcome {
            Ok(()) => ack(&message, AckKind::Ack).await,
            Err(HandlerError::Poison(err)) => {
                let reason = format!("{err:#}");
                self.park(spec, parking, &message, Some(&envelope), &reason, attempt)
                    .await;
            }
            Err(HandlerError::Retry(err)) => {
                // The server holds the event and delivers it again after the delay;
                // ack_wait does not run meanwhile, so no back-off races a redelivery.
                let delay = policy.delay_after(attempt);
                tracing::warn!(consumer = spec.name, event_id = %envelope.id, attempt, retry_in_ms = delay.as_millis() as u64, error = %format!("{err:#}"), "event handling failed; will be redelivered");
                ack(&message, AckKind::Nak(Some(delay))).await;
            }
        }
    }

    /// Parks a poison message and terminates its delivery; if it cannot be parked
    /// (the database is away), the server delivers it again later instead.
    async fn park(
        &self,
        spec: ConsumerSpec,
        parking: &Parking,
        message: &jetstream::Message,
        envelope: Option<&Envelope>,
        reason: &str,
        attempt: u32,
    ) {
        crate::handling::log_dead(spec.name, envelope, reason);
        let Some((store, service)) = parking.target() else {
            ack(message, AckKind::Term).await;
            return;
        };
        match store
            .park(*service, spec.name, &message.payload, envelope, reason)
            .await
        {
            Ok(()) => ack(message, AckKind::Term).await,
            Err(err) => {
                tracing::warn!(consumer = spec.name, error = %mashang_telemetry::error_chain(&err), "could not park a dead letter; it will be delivered again");
                let delay = self.config.retry.delay_after(attempt);
                ack(message, AckKind::Nak(Some(delay))).await;
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
        let parking = Arc::new(Parking::for_consumer(self.dead_letters.as_ref(), spec));
        if let Some((store, service)) = parking.target() {
            tracker.spawn(store.clone().run_replays(
                *service,
                spec,
                handler.clone(),
                self.config.retry,
                shutdown.clone(),
            ));
        }
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
                        let parking = parking.clone();
                        tracker.spawn(async move {
                            this.handle_message(spec, handler, &parking, message).await;
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
