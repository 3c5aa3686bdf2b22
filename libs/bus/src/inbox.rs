//! The idempotent consumer: an event's effect and its inbox row commit together.

use mashang_db::TenantTx;
use mashang_domain::events::Envelope;

use crate::error::BusError;
use crate::service::{Service, per_schema};

/// Records that `consumer` is handling `envelope`, in the transaction that will apply
/// its effect. Returns `false` when the event was handled before: the caller then does
/// nothing and commits (or drops) the transaction. Concurrent deliveries of one event
/// serialise on the inbox key, so only one of them gets `true`.
pub async fn claim(
    tx: &mut TenantTx,
    service: Service,
    consumer: &str,
    envelope: &Envelope,
) -> Result<bool, BusError> {
    let sql = per_schema!(
        service,
        "INSERT INTO ",
        ".inbox (consumer, event_id, tenant_id, event_type) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (consumer, event_id) DO NOTHING"
    );
    let done = sqlx::query(sql)
        .bind(consumer)
        .bind(envelope.id.as_uuid())
        .bind(envelope.tenant_id.as_uuid())
        .bind(envelope.event_type.as_str())
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}
