//! Recording events in the outbox, inside the transaction that makes them true.

use chrono::{DateTime, Utc};
use mashang_db::TenantTx;
use mashang_domain::EventId;
use mashang_domain::events::{Envelope, Event};

use crate::error::BusError;
use crate::service::{Service, per_schema};

/// Records `payload` as an event of the transaction's tenant in `service`'s outbox.
/// It is published after the transaction commits, and never if it rolls back. The
/// current trace context travels with it.
pub async fn record<E: Event>(
    tx: &mut TenantTx,
    service: Service,
    occurred_at: DateTime<Utc>,
    payload: &E,
) -> Result<EventId, BusError> {
    let envelope = Envelope::new(tx.tenant(), occurred_at, payload)?;
    insert(tx, service, envelope).await
}

/// Records `payload` under an explicit event type (for payloads shared by several
/// types, such as `CaseUpdate`).
pub async fn record_as<P: serde::Serialize>(
    tx: &mut TenantTx,
    service: Service,
    occurred_at: DateTime<Utc>,
    event_type: mashang_domain::events::EventType,
    payload: &P,
) -> Result<EventId, BusError> {
    let envelope = Envelope::of_type(tx.tenant(), occurred_at, event_type, payload)?;
    insert(tx, service, envelope).await
}

/// Writes `envelope`, with the current trace context, to `service`'s outbox.
async fn insert(
    tx: &mut TenantTx,
    service: Service,
    envelope: Envelope,
) -> Result<EventId, BusError> {
    let envelope = envelope.with_traceparent(mashang_telemetry::current_traceparent());
    let sql = per_schema!(
        service,
        "INSERT INTO ",
        ".outbox (id, tenant_id, event_type, envelope) VALUES ($1, $2, $3, $4)"
    );
    sqlx::query(sql)
        .bind(envelope.id.as_uuid())
        .bind(envelope.tenant_id.as_uuid())
        .bind(envelope.event_type.as_str())
        .bind(serde_json::to_value(&envelope)?)
        .execute(&mut **tx)
        .await?;
    Ok(envelope.id)
}
