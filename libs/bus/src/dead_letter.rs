//! Dead letters: events a consumer can never handle, parked in its service's
//! `dead_letters` table, where an operator lists them and asks for a replay, and where
//! the consumer's replay worker picks replay-marked rows up again.
//!
//! Only poison is parked (undecodable, unknown tenant, refers to nothing); a transient
//! failure is retried until it passes. Rows span tenants, so every statement here runs
//! in [`SystemScope::DeadLetters`].

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use mashang_db::{Db, SystemScope};
use mashang_domain::events::Envelope;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::bus::{ConsumerSpec, Handler};
use crate::error::BusError;
use crate::handling::{Settled, log_dead, settle};
use crate::retry::RetryPolicy;
use crate::service::{Service, per_schema};

/// Rows a replay worker takes at once.
const REPLAY_BATCH: i64 = 16;
/// Longest error text kept on a row.
const MAX_ERROR_CHARS: usize = 2000;

/// Where a bus parks poison events, and how often consumers look for replays.
#[derive(Clone, Debug)]
pub struct DeadLetters {
    db: Db,
    poll_interval: Duration,
    lease: Duration,
}

impl DeadLetters {
    /// Dead letters in `db`, looked at every five seconds.
    pub fn new(db: Db) -> Self {
        Self {
            db,
            poll_interval: Duration::from_secs(5),
            lease: Duration::from_secs(600),
        }
    }

    /// How often each consumer refreshes the gauge and looks for replay requests.
    pub fn with_poll_interval(mut self, every: Duration) -> Self {
        self.poll_interval = every;
        self
    }

    /// Parks an event (or, with no envelope, an undecodable message) for `consumer`.
    /// Parking the same event again counts it and keeps its first error.
    pub(crate) async fn park(
        &self,
        service: Service,
        consumer: &str,
        raw: &[u8],
        envelope: Option<&Envelope>,
        reason: &str,
    ) -> Result<(), BusError> {
        let sql = per_schema!(
            service,
            "INSERT INTO ",
            ".dead_letters AS d (consumer, event_id, event_type, tenant_id, raw, first_error, last_error) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) \
             ON CONFLICT (consumer, event_id) DO UPDATE SET last_error = EXCLUDED.last_error, \
             count = d.count + 1, last_parked_at = clock_timestamp(), replay_requested_at = NULL"
        );
        let mut tx = self.db.system(SystemScope::DeadLetters).await?;
        sqlx::query(sql)
            .bind(consumer)
            .bind(envelope.map(|e| e.id.as_uuid()))
            .bind(envelope.map(|e| e.event_type.as_str()))
            .bind(envelope.map(|e| e.tenant_id.as_uuid()))
            .bind(raw)
            .bind(clip(reason))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        // Parked is parked: a failed count only delays the gauge to the next poll.
        if let Err(err) = self.refresh_gauge(service).await {
            tracing::debug!(%service, error = %mashang_telemetry::error_chain(&err), "could not count dead letters");
        }
        Ok(())
    }

    /// Takes `consumer`'s rows whose replay time has come, pushing it one lease ahead
    /// so that another replica leaves them alone while this one works.
    async fn claim(
        &self,
        service: Service,
        consumer: &str,
    ) -> Result<Vec<(Uuid, Vec<u8>)>, BusError> {
        let sql = per_schema!(
            service,
            "UPDATE ",
            ".dead_letters SET replay_requested_at = clock_timestamp() + make_interval(secs => $3) \
             WHERE id IN (SELECT id FROM ",
            ".dead_letters WHERE consumer = $1 AND replay_requested_at <= clock_timestamp() \
             ORDER BY replay_requested_at LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING id, raw"
        );
        let mut tx = self.db.system(SystemScope::DeadLetters).await?;
        let rows = sqlx::query_as(sql)
            .bind(consumer)
            .bind(REPLAY_BATCH)
            .bind(self.lease.as_secs_f64())
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// Runs one statement on one row (`$1`, and `$2` when `text` is given), in its own
    /// system transaction.
    async fn on_row(
        &self,
        sql: &'static str,
        id: Uuid,
        text: Option<&str>,
    ) -> Result<(), BusError> {
        let mut tx = self.db.system(SystemScope::DeadLetters).await?;
        let mut query = sqlx::query(sql).bind(id);
        if let Some(text) = text {
            query = query.bind(clip(text));
        }
        query.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets the `mashang_bus_dead_letters` gauge for `service` from its table.
    async fn refresh_gauge(&self, service: Service) -> Result<(), BusError> {
        let sql = per_schema!(service, "SELECT count(*) FROM ", ".dead_letters");
        let mut tx = self.db.system(SystemScope::DeadLetters).await?;
        let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        metrics::gauge!("mashang_bus_dead_letters", "service" => service.name()).set(n as f64);
        Ok(())
    }

    /// The replay worker of one consumer: keeps the gauge current and runs the rows an
    /// operator marked for replay through `handler`, with the usual retries, until
    /// `shutdown`. A handled row is deleted; one that fails again stays parked.
    pub(crate) async fn run_replays(
        self,
        service: Service,
        spec: ConsumerSpec,
        handler: Arc<dyn Handler>,
        policy: RetryPolicy,
        shutdown: CancellationToken,
    ) {
        let replayer = Replayer {
            store: self,
            service,
            spec,
            handler,
            policy,
            shutdown,
        };
        replayer.run().await;
    }
}

/// One consumer's replay worker.
struct Replayer {
    store: DeadLetters,
    service: Service,
    spec: ConsumerSpec,
    handler: Arc<dyn Handler>,
    policy: RetryPolicy,
    shutdown: CancellationToken,
}

impl Replayer {
    async fn run(self) {
        let service = self.service;
        loop {
            self.count().await;
            match self.store.claim(service, self.spec.name).await {
                Ok(rows) => {
                    for (id, raw) in rows {
                        self.replay(id, &raw).await;
                    }
                }
                Err(err) => {
                    tracing::warn!(%service, error = %mashang_telemetry::error_chain(&err), "could not look for dead letters to replay")
                }
            }
            tokio::select! {
                _ = self.shutdown.cancelled() => break,
                _ = tokio::time::sleep(self.store.poll_interval) => {}
            }
        }
    }

    async fn count(&self) {
        if let Err(err) = self.store.refresh_gauge(self.service).await {
            tracing::debug!(service = %self.service, error = %mashang_telemetry::error_chain(&err), "could not count dead letters");
        }
    }

    async fn replay(&self, id: Uuid, raw: &[u8]) {
        let (service, consumer) = (self.service, self.spec.name);
        let failed = per_schema!(
            service,
            "UPDATE ",
            ".dead_letters SET last_error = $2, count = count + 1, \
             last_parked_at = clock_timestamp(), replay_requested_at = NULL WHERE id = $1"
        );
        let release = per_schema!(
            service,
            "UPDATE ",
            ".dead_letters SET replay_requested_at = clock_timestamp() WHERE id = $1"
        );
        let handled = per_schema!(service, "DELETE FROM ", ".dead_letters WHERE id = $1");
        let outcome = if self.shutdown.is_cancelled() {
            Settled::Stopped
        } else {
            match serde_json::from_slice::<Envelope>(raw) {
                Ok(envelope) => {
                    tracing::info!(consumer, event_id = %envelope.id, "replaying a dead letter");
                    let handler = self.handler.as_ref();
                    settle(consumer, handler, &envelope, self.policy, &self.shutdown).await
                }
                Err(err) => Settled::Poison(anyhow::Error::new(err).context("not an envelope")),
            }
        };
        let written = match &outcome {
            Settled::Handled => self.store.on_row(handled, id, None).await,
            // Asked for again after the restart, without waiting out the lease.
            Settled::Stopped => self.store.on_row(release, id, None).await,
            Settled::Poison(err) => {
                let reason = format!("{err:#}");
                tracing::error!(consumer, dead_letter = %id, reason, "replayed dead letter failed again; still parked");
                self.store.on_row(failed, id, Some(&reason)).await
            }
        };
        if let Err(err) = written {
            // The lease runs out and the row is replayed again; the inbox absorbs a
            // second effect.
            tracing::warn!(%service, dead_letter = %id, error = %mashang_telemetry::error_chain(&err), "could not record a replay's outcome");
        }
        self.count().await;
    }
}

/// Where one consumer's poison goes: its service's table, or only the log for a
/// consumer that is not one of the services.
#[derive(Clone, Debug)]
pub(crate) struct Parking {
    target: Option<(DeadLetters, Service)>,
}

impl Parking {
    /// The parking place for `spec` on a bus with `store`.
    pub(crate) fn for_consumer(store: Option<&DeadLetters>, spec: ConsumerSpec) -> Self {
        let service = Service::parse(spec.name);
        if store.is_some() && service.is_none() {
            tracing::warn!(
                consumer = spec.name,
                "consumer is not a service: its dead letters are only logged"
            );
        }
        Self {
            target: store.cloned().zip(service),
        }
    }

    /// The store and service, when dead letters are kept.
    pub(crate) fn target(&self) -> Option<&(DeadLetters, Service)> {
        self.target.as_ref()
    }

    /// Logs and parks, retrying the write itself (the database may be the thing that
    /// is down) until it lands. `false` when shutdown came first: the event then stays
    /// unanswered, to be delivered again.
    pub(crate) async fn park(
        &self,
        consumer: &'static str,
        raw: &[u8],
        envelope: Option<&Envelope>,
        reason: &str,
        policy: RetryPolicy,
        shutdown: &CancellationToken,
    ) -> bool {
        log_dead(consumer, envelope, reason);
        let Some((store, service)) = &self.target else {
            return true;
        };
        let mut attempt = 1;
        loop {
            match store.park(*service, consumer, raw, envelope, reason).await {
                Ok(()) => return true,
                Err(err) => {
                    tracing::warn!(consumer, error = %mashang_telemetry::error_chain(&err), "could not park a dead letter; retrying");
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return false,
                _ = tokio::time::sleep(policy.delay_after(attempt)) => {}
            }
            attempt = attempt.saturating_add(1);
        }
    }
}

fn clip(text: &str) -> String {
    text.chars().take(MAX_ERROR_CHARS).collect()
}

/// A parked event, as `mashang events dead` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadLetter {
    /// The service whose consumer parked it.
    pub service: Service,
    /// The row's id; the handle of an undecodable message, which has no event id.
    pub id: Uuid,
    /// The event's id, when the message was an envelope.
    pub event_id: Option<Uuid>,
    /// The event's type.
    pub event_type: Option<String>,
    /// The event's tenant.
    pub tenant_id: Option<Uuid>,
    /// The error that parked it first.
    pub first_error: String,
    /// The latest error.
    pub last_error: String,
    /// How often it was parked.
    pub count: i32,
    /// When it was first parked.
    pub first_parked_at: DateTime<Utc>,
    /// When a replay was asked for and has not finished.
    pub replay_requested_at: Option<DateTime<Utc>>,
}

type Row = (
    Uuid,
    Option<Uuid>,
    Option<String>,
    Option<Uuid>,
    String,
    String,
    i32,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);

/// The parked events of `service` (or of every service), oldest first.
pub async fn list(db: &Db, service: Option<Service>) -> Result<Vec<DeadLetter>, BusError> {
    let mut tx = db.system(SystemScope::DeadLetters).await?;
    let mut all = Vec::new();
    for s in Service::ALL
        .into_iter()
        .filter(|s| service.is_none_or(|x| x == *s))
    {
        let sql = per_schema!(
            s,
            "SELECT id, event_id, event_type, tenant_id, first_error, last_error, count, \
             first_parked_at, replay_requested_at FROM ",
            ".dead_letters ORDER BY first_parked_at, id"
        );
        let rows: Vec<Row> = sqlx::query_as(sql).fetch_all(&mut *tx).await?;
        all.extend(rows.into_iter().map(|r| DeadLetter {
            service: s,
            id: r.0,
            event_id: r.1,
            event_type: r.2,
            tenant_id: r.3,
            first_error: r.4,
            last_error: r.5,
            count: r.6,
            first_parked_at: r.7,
            replay_requested_at: r.8,
        }));
    }
    tx.commit().await?;
    Ok(all)
}

/// Which parked events to replay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replay {
    /// One event, by event id (or by row id, for a message that had none).
    Id(Uuid),
    /// Every parked event.
    All,
}

/// Marks parked events for replay; each service's running consumer takes them within
/// its poll interval. Returns how many rows were marked.
pub async fn request_replay(
    db: &Db,
    which: Replay,
    service: Option<Service>,
) -> Result<u64, BusError> {
    let mut tx = db.system(SystemScope::DeadLetters).await?;
    let mut marked = 0;
    for s in Service::ALL
        .into_iter()
        .filter(|s| service.is_none_or(|x| x == *s))
    {
        let sql = per_schema!(
            s,
            "UPDATE ",
            ".dead_letters SET replay_requested_at = clock_timestamp() \
             WHERE ($1::uuid IS NULL OR event_id = $1 OR id = $1)"
        );
        let id = match which {
            Replay::Id(id) => Some(id),
            Replay::All => None,
        };
        marked += sqlx::query(sql)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    }
    tx.commit().await?;
    Ok(marked)
}
