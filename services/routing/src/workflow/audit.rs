//! The timer auditor: checks periodically that every open case has the timers its
//! running targets need, and repairs (and logs) any gap — a lost write, a manual
//! change in the database, a bug.

use std::time::Duration;

use chrono::Utc;
use mashang_db::Db;
use mashang_domain::sla::TargetKind;
use mashang_domain::{CaseId, TenantId};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::record::{load_for_update, save};
use super::{calendar, timers};

/// One pass over one tenant; returns the cases repaired.
pub async fn audit_tenant(db: &Db, tenant: TenantId) -> anyhow::Result<usize> {
    let mut tx = db.tenant(tenant).await?;
    // Open cases with a running target, and neither a pending timer nor a fired breach
    // for it since it started.
    let suspects: Vec<(Uuid,)> = sqlx::query_as(
        "SELECT c.id FROM routing.cases c \
         WHERE c.tenant_id = $1 AND c.state NOT IN ('closed', 'invalid') AND c.clocks <> '{}'::jsonb \
           AND EXISTS ( \
             SELECT 1 FROM jsonb_each(c.clocks) AS k(target, clock) \
             WHERE clock <> 'null'::jsonb \
               AND NOT coalesce((clock -> 'pauses' -> -1 ->> 'until') IS NULL AND jsonb_array_length(clock -> 'pauses') > 0, false) \
               AND NOT EXISTS (SELECT 1 FROM routing.timers t WHERE t.tenant_id = c.tenant_id AND t.case_id = c.id \
                                 AND t.target = k.target AND (t.fired_at IS NULL \
                                   OR (t.point = 'breach' AND t.fired_at >= (clock ->> 'started_at')::timestamptz))))",
    )
    .bind(tenant.as_uuid())
    .fetch_all(&mut *tx)
    .await?;
    if suspects.is_empty() {
        tx.commit().await?;
        return Ok(0);
    }
    let calendar = calendar::load(&mut tx).await?;
    let now = Utc::now();
    for (id,) in &suspects {
        let Some(record) = load_for_update(&mut tx, CaseId::from_uuid(*id)).await? else {
            continue;
        };
        tracing::warn!(case_id = %id, "case without the timers its targets need; rescheduled");
        let deadlines = timers::reschedule(&mut tx, &record, &calendar, &TargetKind::ALL).await?;
        save(&mut tx, &record, deadlines, now).await?;
    }
    tx.commit().await?;
    metrics::counter!("mashang_timer_repairs_total").increment(suspects.len() as u64);
    Ok(suspects.len())
}

/// Runs the auditor over every tenant every `every`, until `shutdown`.
pub async fn run(db: Db, every: Duration, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(every) => {}
        }
        let tenants = match crate::directory::tenants::list_tenants(&db).await {
            Ok(t) => t,
            Err(err) => {
                tracing::warn!(error = %err, "timer audit could not list tenants");
                continue;
            }
        };
        for tenant in tenants {
            if let Err(err) = audit_tenant(&db, TenantId::from_uuid(tenant.id)).await {
                tracing::warn!(tenant_id = %tenant.id, error = %format!("{err:#}"), "timer audit failed");
            }
        }
    }
}
