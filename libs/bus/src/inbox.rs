//! The idempotent consumer: an event's effect and its inbox row commit together.

use mashang_db::TenantTx;
use mashang_domain::events::Envelope;

use crate::error::BusError;
use crate::service::{Service, per_schema};

/// Records that `consumer` is handling `envelope`, in the transaction that will apply
/// its effect. Returns `false` when the event was handled before: the caller then does
/// nothing and commits (or drops) the transaction. Concurrent deliveries of one event
/// serialise on the inbox key, so only one of them gets `true`. An event of a township
/// that does not exist is [`BusError::UnknownTenant`], which handlers turn into poison
/// (parked, not retried for ever), in the same statement.
pub async fn claim(
    tx: &mut TenantTx,
    service: Service,
    consumer: &str,
    envelope: &Envelope,
) -> Result<bool, BusError> {
    let sql = per_schema!(
        service,
        "INSERT INTO ",
        ".inbox (consumer, event_id, tenant_id, event_type) \
         SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM routing.tenants WHERE id = $3) \
         ON CONFLICT (consumer, event_id) DO NOTHING \
         RETURNING EXISTS (SELECT 1 FROM routing.tenants WHERE id = $3)"
    );
    let claimed: Option<bool> = sqlx::query_scalar(sql)
        .bind(consumer)
        .bind(envelope.id.as_uuid())
        .bind(envelope.tenant_id.as_uuid())
        .bind(envelope.event_type.as_str())
        .fetch_optional(&mut **tx)
        .await?;
    if claimed.is_some() {
        return Ok(true);
    }
    // Nothing inserted: handled before, or a township that does not exist.
    let known: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM routing.tenants WHERE id = $1)")
            .bind(envelope.tenant_id.as_uuid())
            .fetch_one(&mut **tx)
            .await?;
    if known {
        Ok(false)
    } else {
        Err(BusError::UnknownTenant(envelope.tenant_id.as_uuid()))
    }
}
