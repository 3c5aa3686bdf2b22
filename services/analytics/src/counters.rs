//! Per-tenant event counters.

use std::collections::BTreeMap;

use mashang_db::{GlobalTx, TenantTx};
use uuid::Uuid;

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
