//! Per-tenant event counters.

use std::collections::BTreeMap;

use async_trait::async_trait;
use mashang_bus::{Handler, HandlerError, Service, inbox};
use mashang_db::{Db, GlobalTx, TenantTx};
use mashang_domain::events::Envelope;
use uuid::Uuid;

/// Counts every event by tenant and type.
#[derive(Clone, Debug)]
pub struct CountingHandler {
    db: Db,
}

impl CountingHandler {
    /// A handler writing to `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

#[async_trait]
impl Handler for CountingHandler {
    async fn handle(&self, envelope: Envelope) -> Result<(), HandlerError> {
        let mut tx = self.db.tenant(envelope.tenant_id).await?;
        if !inbox::claim(&mut tx, Service::Analytics, "analytics", &envelope).await? {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO analytics.tenant_counters (tenant_id, metric, value) VALUES ($1, $2, 1) \
             ON CONFLICT (tenant_id, metric) DO UPDATE \
             SET value = analytics.tenant_counters.value + 1, updated_at = now()",
        )
        .bind(envelope.tenant_id.as_uuid())
        .bind(envelope.event_type.as_str())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// A tenant's counters by event type.
pub async fn for_tenant(tx: &mut TenantTx) -> Result<BTreeMap<String, i64>, sqlx::Error> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT metric, value FROM analytics.tenant_counters WHERE tenant_id = $1")
            .bind(tx.tenant().as_uuid())
            .fetch_all(&mut **tx)
            .await?;
    Ok(rows.into_iter().collect())
}

/// Every tenant's counters, for the county (in a county-read transaction).
pub async fn for_county(
    tx: &mut GlobalTx,
) -> Result<BTreeMap<Uuid, BTreeMap<String, i64>>, sqlx::Error> {
    let rows: Vec<(Uuid, String, i64)> =
        sqlx::query_as("SELECT tenant_id, metric, value FROM analytics.tenant_counters")
            .fetch_all(&mut **tx)
            .await?;
    let mut out: BTreeMap<Uuid, BTreeMap<String, i64>> = BTreeMap::new();
    for (tenant, metric, value) in rows {
        out.entry(tenant).or_default().insert(metric, value);
    }
    Ok(out)
}
