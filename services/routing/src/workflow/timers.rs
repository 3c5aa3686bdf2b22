//! Writing a case's timers from its running clocks: reminder points and the breach of
//! each target, replacing the pending ones, never repeating a point already fired
//! since the target (re)started.

use chrono::{DateTime, Utc};
use mashang_db::TenantTx;
use mashang_domain::calendar::WorkingCalendar;
use mashang_domain::sla::{TargetKind, TimerKind};
use uuid::Uuid;

use super::record::{CaseRecord, Deadlines};

/// Rewrites the pending timers of `targets` and returns every target's deadline. A
/// deadline reaching into an unpublished year raises the tenant's alert once.
pub async fn reschedule(
    tx: &mut TenantTx,
    record: &CaseRecord,
    calendar: &WorkingCalendar,
    targets: &[TargetKind],
) -> anyhow::Result<Deadlines> {
    let mut deadlines = Deadlines::default();
    for target in TargetKind::ALL {
        let Some(clock) = record.clocks.get(target) else {
            if targets.contains(&target) {
                clear(tx, record, target).await?;
            }
            continue;
        };
        let points = clock.schedule(&record.sla, calendar)?;
        let points = super::extension::stretch(&record.clocks, clock, points);
        if let Some(breach) = points.iter().find(|p| p.kind == TimerKind::Breach) {
            match target {
                TargetKind::FirstResponse => deadlines.first_response = Some(breach.due),
                TargetKind::Resolution => deadlines.resolution = Some(breach.due),
                TargetKind::FollowUp => deadlines.follow_up = Some(breach.due),
            }
        }
        if points.iter().any(|p| p.provisional) {
            deadlines.provisional = true;
        }
        if !targets.contains(&target) {
            continue;
        }
        clear(tx, record, target).await?;
        let fired: Vec<(String,)> = sqlx::query_as(
            "SELECT point FROM routing.timers WHERE tenant_id = $1 AND case_id = $2 AND target = $3 \
             AND fired_at IS NOT NULL AND fired_at >= $4",
        )
        .bind(tx.tenant().as_uuid())
        .bind(record.id.as_uuid())
        .bind(target.as_str())
        .bind(clock.started_at)
        .fetch_all(&mut **tx)
        .await?;
        for point in points {
            let name = point.kind.name();
            if fired.iter().any(|(p,)| *p == name) {
                continue;
            }
            insert(tx, record, target, &name, point.due, point.provisional).await?;
        }
    }
    if deadlines.provisional {
        alert_provisional(tx, calendar, &deadlines).await?;
    }
    Ok(deadlines)
}

async fn clear(tx: &mut TenantTx, record: &CaseRecord, target: TargetKind) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM routing.timers WHERE tenant_id = $1 AND case_id = $2 AND target = $3 AND fired_at IS NULL")
        .bind(tx.tenant().as_uuid())
        .bind(record.id.as_uuid())
        .bind(target.as_str())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn insert(
    tx: &mut TenantTx,
    record: &CaseRecord,
    target: TargetKind,
    point: &str,
    due: DateTime<Utc>,
    provisional: bool,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO routing.timers (id, tenant_id, case_id, kind, due_at, target, point, provisional, case_version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(Uuid::now_v7())
    .bind(tx.tenant().as_uuid())
    .bind(record.id.as_uuid())
    .bind(format!("{}:{point}", target.as_str()))
    .bind(due)
    .bind(target.as_str())
    .bind(point)
    .bind(provisional)
    .bind(record.facts.version)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Records, once per tenant and year, that deadlines reach into a year whose official
/// schedule is not published; the township's administrators are told through the
/// alert's event.
async fn alert_provisional(
    tx: &mut TenantTx,
    calendar: &WorkingCalendar,
    deadlines: &Deadlines,
) -> anyhow::Result<()> {
    use chrono::Datelike;
    let mut years: Vec<i32> = [
        deadlines.first_response,
        deadlines.resolution,
        deadlines.follow_up,
    ]
    .into_iter()
    .flatten()
    .map(|d| d.with_timezone(&calendar.zone()).year())
    .filter(|y| !calendar.is_published(*y))
    .collect();
    years.dedup();
    for year in years {
        let raised = sqlx::query(
            "INSERT INTO routing.tenant_alerts (tenant_id, kind, key) VALUES ($1, 'calendar_unpublished', $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(tx.tenant().as_uuid())
        .bind(year.to_string())
        .execute(&mut **tx)
        .await?;
        if raised.rows_affected() == 1 {
            tracing::warn!(
                year,
                "deadlines reach a year whose holiday schedule is not published; computed on plain weekdays"
            );
            crate::workflow::act::notify_admins_unpublished(tx, year).await?;
        }
    }
    Ok(())
}
