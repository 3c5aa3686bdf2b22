//! The bus trait, consumer specifications and handlers.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use mashang_domain::events::{Envelope, EventType};
use tokio_util::sync::CancellationToken;

use crate::error::BusError;

/// A durable consumer: its name (one per service) and the event types it receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConsumerSpec {
    /// Durable name, unique on the bus (`routing`).
    pub name: &'static str,
    /// The event types it is given; others never reach it.
    pub types: &'static [EventType],
}

impl ConsumerSpec {
    /// Whether this consumer receives events of `event_type`.
    pub fn wants(&self, event_type: EventType) -> bool {
        self.types.contains(&event_type)
    }
}

/// How handling an event failed.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// A passing failure (database or network away, a timeout): deliver again later,
    /// with back-off, for as long as it takes. Never parked.
    #[error("retryable: {0:#}")]
    Retry(anyhow::Error),
    /// The event can never be handled (undecodable, unknown tenant, refers to nothing):
    /// park it in the service's dead-letter table, from which an operator replays it.
    #[error("poison: {0:#}")]
    Poison(anyhow::Error),
}

impl From<mashang_db::DbError> for HandlerError {
    fn from(err: mashang_db::DbError) -> Self {
        Self::Retry(err.into())
    }
}

impl From<sqlx::Error> for HandlerError {
    fn from(err: sqlx::Error) -> Self {
        Self::Retry(err.into())
    }
}

impl From<BusError> for HandlerError {
    fn from(err: BusError) -> Self {
        match err {
            BusError::UnknownTenant(_) | BusError::Encoding(_) => Self::Poison(err.into()),
            other => Self::Retry(other.into()),
        }
    }
}

impl From<mashang_domain::events::DecodeError> for HandlerError {
    fn from(err: mashang_domain::events::DecodeError) -> Self {
        Self::Poison(err.into())
    }
}

/// Handles one event. Must be idempotent (see [`crate::inbox::claim`]).
#[async_trait]
pub trait Handler: Send + Sync + 'static {
    /// Applies the event's effect.
    async fn handle(&self, envelope: Envelope) -> Result<(), HandlerError>;
}

/// Carries envelopes between services with at-least-once delivery.
#[async_trait]
pub trait Bus: Send + Sync + fmt::Debug + 'static {
    /// Publishes one envelope. `Ok` means the bus holds it durably (NATS) or every
    /// in-process consumer has dealt with it; only then may the outbox mark it sent.
    async fn publish(&self, envelope: &Envelope) -> Result<(), BusError>;

    /// Runs a durable consumer until `shutdown`, then finishes the events in hand.
    /// Each event goes to `handler`: acknowledged on success, delivered again with
    /// capped, jittered back-off on a retryable failure (without limit), parked as a
    /// dead letter when poison. Dead letters marked for replay are run through
    /// `handler` again by the same consumer.
    async fn run_consumer(
        &self,
        spec: ConsumerSpec,
        handler: Arc<dyn Handler>,
        shutdown: CancellationToken,
    ) -> Result<(), BusError>;

    /// Whether the bus is reachable, for readiness.
    async fn check(&self) -> Result<(), BusError>;
}
