//! The outbox relay: publishes committed events in order, marks them sent, and keeps
//! the outbox and inbox from growing without end.
//!
//! Woken by `LISTEN mashang_outbox` (the outbox's insert trigger notifies, naming the
//! schema; a relay wakes only for its own service's), with a polling fallback, so a
//! lost notification or a dropped listener delays an event by at most one poll
//! interval. Rows are taken with `FOR UPDATE SKIP LOCKED`, so several
//! replicas can relay the same outbox without publishing a row twice at once (and a
//! duplicate after a crash is dropped by the bus's de-duplication and the inbox).

use std::sync::Arc;
use std::time::Duration;

use mashang_db::{Db, SystemScope};
use mashang_domain::events::Envelope;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::bus::Bus;
use crate::error::BusError;
use crate::service::{Service, per_schema};

/// The channel the outbox trigger notifies.
pub const CHANNEL: &str = "mashang_outbox";

/// Relay settings.
#[derive(Clone, Copy, Debug)]
pub struct RelayConfig {
    /// Rows taken per transaction.
    pub batch_size: i64,
    /// Longest wait between drains when no notification arrives.
    pub poll_interval: Duration,
    /// Wait after a failed publish before trying again.
    pub retry_delay: Duration,
    /// Published outbox rows and inbox rows older than this are deleted.
    pub retention: Duration,
    /// After a wake-up, how long to let further commits gather before draining, so a
    /// burst of events goes out in a few drains rather than one drain per event.
    pub gather: Duration,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            batch_size: 200,
            poll_interval: Duration::from_secs(2),
            retry_delay: Duration::from_secs(1),
            retention: Duration::from_secs(14 * 24 * 3600),
            gather: Duration::from_millis(20),
        }
    }
}

/// What one drain did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Drained {
    /// Events published and marked sent.
    pub published: usize,
    /// Whether the batch was full, so more may be waiting.
    pub more: bool,
}

/// Publishes one batch of unpublished events of `service`, oldest first. Stops at the
/// first failure, records it on that row, and leaves the rest for the next drain.
pub async fn drain_once(
    db: &Db,
    bus: &dyn Bus,
    service: Service,
    batch_size: i64,
) -> Result<Drained, BusError> {
    let mut tx = db.system(SystemScope::OutboxRelay).await?;
    let select = per_schema!(
        service,
        "SELECT id, envelope FROM ",
        ".outbox WHERE published_at IS NULL ORDER BY created_at, id LIMIT $1 \
         FOR UPDATE SKIP LOCKED"
    );
    let rows: Vec<(Uuid, serde_json::Value)> = sqlx::query_as(select)
        .bind(batch_size)
        .fetch_all(&mut *tx)
        .await?;
    let more = rows.len() as i64 == batch_size;
    let mut sent: Vec<Uuid> = Vec::with_capacity(rows.len());
    let mut failure = None;
    for (id, raw) in rows {
        let envelope: Envelope = match serde_json::from_value(raw) {
            Ok(envelope) => envelope,
            Err(err) => {
                // Written by this code base, so this is a defect; park the row rather
                // than block every event behind it.
                tracing::error!(%service, event_id = %id, error = %mashang_telemetry::error_chain(&err), "outbox row is not an envelope; parked");
                let park = per_schema!(
                    service,
                    "UPDATE ",
                    ".outbox SET published_at = now(), last_error = $2 WHERE id = $1"
                );
                sqlx::query(park)
                    .bind(id)
                    .bind(format!("undecodable envelope: {err}"))
                    .execute(&mut *tx)
                    .await?;
                continue;
            }
        };
        match bus.publish(&envelope).await {
            Ok(()) => sent.push(id),
            Err(err) => {
                let note = per_schema!(
                    service,
                    "UPDATE ",
                    ".outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1"
                );
                sqlx::query(note)
                    .bind(id)
                    .bind(err.to_string())
                    .execute(&mut *tx)
                    .await?;
                failure = Some(err);
                break;
            }
        }
    }
    let mark = per_schema!(
        service,
        "UPDATE ",
        ".outbox SET published_at = now() WHERE id = ANY($1)"
    );
    if !sent.is_empty() {
        sqlx::query(mark).bind(&sent).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    metrics::counter!("mashang_outbox_published_total", "service" => service.name())
        .increment(sent.len() as u64);
    match failure {
        Some(err) if sent.is_empty() => Err(err),
        Some(err) => {
            tracing::warn!(%service, error = %mashang_telemetry::error_chain(&err), "publishing stopped part-way; the rest waits");
            Ok(Drained {
                published: sent.len(),
                more: false,
            })
        }
        None => Ok(Drained {
            published: sent.len(),
            more,
        }),
    }
}

/// Deletes published outbox rows and inbox rows older than `retention`; returns how many.
pub async fn clean(db: &Db, service: Service, retention: Duration) -> Result<u64, BusError> {
    let secs = retention.as_secs_f64();
    let mut tx = db.system(SystemScope::OutboxRelay).await?;
    let outbox = per_schema!(
        service,
        "DELETE FROM ",
        ".outbox WHERE published_at < now() - make_interval(secs => $1)"
    );
    let removed = sqlx::query(outbox).bind(secs).execute(&mut *tx).await?;
    let inbox = per_schema!(
        service,
        "DELETE FROM ",
        ".inbox WHERE received_at < now() - make_interval(secs => $1)"
    );
    let pruned = sqlx::query(inbox).bind(secs).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(removed.rows_affected() + pruned.rows_affected())
}

/// Whether an outbox notification with `payload` (the schema whose outbox was written)
/// calls for a drain of `service`'s outbox. An empty payload (a hand-made `NOTIFY`)
/// wakes every relay.
fn wakes(payload: &str, service: Service) -> bool {
    payload.is_empty() || payload == service.name()
}

/// Runs the relay for `service` until `shutdown`.
pub async fn run(
    db: Db,
    bus: Arc<dyn Bus>,
    service: Service,
    config: RelayConfig,
    shutdown: CancellationToken,
) {
    let mut listener = None;
    let mut next_clean = Instant::now() + Duration::from_secs(60);
    'run: loop {
        if shutdown.is_cancelled() {
            break;
        }
        if listener.is_none() {
            match db.listen(CHANNEL).await {
                Ok(l) => listener = Some(l),
                Err(err) => {
                    tracing::debug!(%service, error = %mashang_telemetry::error_chain(&err), "outbox listener unavailable; polling")
                }
            }
        }
        // Dropping a drain part-way (at shutdown) rolls its transaction back: the rows
        // stay unpublished and go out after the restart.
        let drained = tokio::select! {
            _ = shutdown.cancelled() => break,
            drained = drain_once(&db, bus.as_ref(), service, config.batch_size) => drained,
        };
        let wait = match drained {
            Ok(Drained { more: true, .. }) => continue,
            Ok(_) => config.poll_interval,
            Err(err) => {
                tracing::warn!(%service, error = %mashang_telemetry::error_chain(&err), "outbox relay could not publish; will retry");
                config.retry_delay
            }
        };
        if Instant::now() >= next_clean {
            next_clean = Instant::now() + Duration::from_secs(3600);
            if let Err(err) = clean(&db, service, config.retention).await {
                tracing::warn!(%service, error = %mashang_telemetry::error_chain(&err), "outbox clean-up failed");
            }
        }
        let deadline = Instant::now() + wait;
        match listener.as_mut() {
            Some(l) => {
                let mut dropped = false;
                loop {
                    tokio::select! {
                        _ = shutdown.cancelled() => break 'run,
                        _ = tokio::time::sleep_until(deadline) => break,
                        note = l.recv() => match note {
                            // Every service's outbox notifies this channel, naming its
                            // schema: another service's events are not ours to drain.
                            Ok(note) if !wakes(note.payload(), service) => {}
                            Ok(_) => {
                                // Every commit notifies; one drain answers them all.
                                tokio::select! {
                                    _ = shutdown.cancelled() => break 'run,
                                    _ = tokio::time::sleep(config.gather) => {}
                                }
                                while l.next_buffered().is_some() {}
                                break;
                            }
                            Err(err) => {
                                tracing::debug!(%service, error = %mashang_telemetry::error_chain(&err), "outbox listener dropped; reconnecting");
                                dropped = true;
                                break;
                            }
                        }
                    }
                }
                if dropped {
                    listener = None;
                }
            }
            None => {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep_until(deadline) => {}
                }
            }
        }
    }
    tracing::debug!(%service, "outbox relay stopped");
}
