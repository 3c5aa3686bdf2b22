//! The case-facts projection: every event analytics receives is kept
//! (`analytics.events`), the facts of its report are folded anew from the kept events
//! (`analytics.case_facts`), and the daily roll-ups move by the difference. A rebuild
//! folds every report again from the kept history.

pub mod contribution;
pub mod fold;
pub mod store;
#[cfg(test)]
mod tests;

use async_trait::async_trait;
use mashang_bus::{Handler, HandlerError, Service, inbox};
use mashang_db::{Db, TenantTx};
use mashang_domain::TenantId;
use mashang_domain::events::{Envelope, EventType};
use uuid::Uuid;

/// Keeps every event, projects it into the facts and roll-ups, and counts it by type.
#[derive(Clone, Debug)]
pub struct ProjectionHandler {
    db: Db,
}

impl ProjectionHandler {
    /// A handler writing to `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

#[async_trait]
impl Handler for ProjectionHandler {
    async fn handle(&self, envelope: Envelope) -> Result<(), HandlerError> {
        let mut tx = self.db.tenant(envelope.tenant_id).await?;
        if !inbox::claim(&mut tx, Service::Analytics, "analytics", &envelope).await? {
            return Ok(());
        }
        project(&mut tx, &envelope)
            .await
            .map_err(HandlerError::Retry)?;
        tx.commit().await?;
        Ok(())
    }
}

/// Keeps `envelope` and applies it to the facts, roll-ups and counters, in `tx`.
pub async fn project(tx: &mut TenantTx, envelope: &Envelope) -> anyhow::Result<()> {
    if !store::keep(tx, envelope).await? {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO analytics.tenant_counters (tenant_id, metric, value) VALUES ($1, $2, 1) \
         ON CONFLICT (tenant_id, metric) DO UPDATE \
         SET value = analytics.tenant_counters.value + 1, updated_at = now()",
    )
    .bind(envelope.tenant_id.as_uuid())
    .bind(envelope.event_type.as_str())
    .execute(&mut **tx)
    .await?;
    let zone = store::zone(tx).await?;
    if envelope.event_type == EventType::QrScanned {
        store::count_scan(tx, envelope, zone).await?;
    } else if store::feeds_facts(envelope.event_type)
        && let Some(report) = store::report_of(envelope)
    {
        store::reproject(tx, report, zone).await?;
    }
    Ok(())
}

/// What a rebuild did for one township.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rebuilt {
    /// Reports whose facts were folded.
    pub reports: u64,
    /// Scans counted.
    pub scans: u64,
}

/// Recomputes a township's facts and roll-ups from its kept events, in one
/// transaction: readers see the old figures until it commits.
pub async fn rebuild_tenant(db: &Db, tenant: TenantId) -> anyhow::Result<Rebuilt> {
    let mut tx = db.tenant(tenant).await?;
    let t = tenant.as_uuid();
    for table in [
        "analytics.case_facts",
        "analytics.daily_rollups",
        "analytics.daily_durations",
        "analytics.daily_totals",
        "analytics.daily_total_durations",
        "analytics.qr_daily",
    ] {
        // A fixed table name from the list above; the tenant is a bind.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE tenant_id = $1"
        )))
        .bind(t)
        .execute(&mut *tx)
        .await?;
    }
    let zone = store::zone(&mut tx).await?;
    let scans: Vec<(serde_json::Value,)> = sqlx::query_as(
        "SELECT envelope FROM analytics.events WHERE tenant_id = $1 AND event_type = 'qr.scanned'",
    )
    .bind(t)
    .fetch_all(&mut *tx)
    .await?;
    let mut rebuilt = Rebuilt::default();
    for (value,) in scans {
        if let Ok(envelope) = serde_json::from_value::<Envelope>(value) {
            store::count_scan(&mut tx, &envelope, zone).await?;
            rebuilt.scans += 1;
        }
    }
    let reports: Vec<(Uuid,)> = sqlx::query_as(
        "SELECT DISTINCT report_id FROM analytics.events WHERE tenant_id = $1 AND report_id IS NOT NULL",
    )
    .bind(t)
    .fetch_all(&mut *tx)
    .await?;
    for (report,) in reports {
        store::reproject(&mut tx, report, zone).await?;
        rebuilt.reports += 1;
    }
    tx.commit().await?;
    Ok(rebuilt)
}

/// Every township with kept events (for `mashang analytics rebuild` without a township).
pub async fn tenants_with_history(db: &Db) -> anyhow::Result<Vec<TenantId>> {
    let mut tx = db.global().await?;
    let ids: Vec<(Uuid,)> = sqlx::query_as("SELECT id FROM routing.tenants ORDER BY code")
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(ids
        .into_iter()
        .map(|(id,)| TenantId::from_uuid(id))
        .collect())
}
