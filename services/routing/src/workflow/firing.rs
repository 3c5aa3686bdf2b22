//! What a due timer does: a reminder (催办) to the handler and supervisors — outside
//! working hours a non-urgent one waits for the next working moment — or, on a breach,
//! one step up the ladder (grid worker → grid leader → village head → township centre),
//! each level once per target: the next level is added as supervisor, or takes the case
//! when the township reassigns on breach. Everything is checked again at fire time.
//! The county's deadline timers (target `county`) fire in [`county_deadline`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mashang_db::TenantTx;
use mashang_domain::UserId;
use mashang_domain::calendar::WorkingCalendar;
use mashang_domain::case::{Action, Actor, NoteText};
use mashang_domain::events::EventType;
use mashang_domain::role::Role;
use mashang_domain::sla::{EscalationLevel, TargetKind, TimerKind};
use serde_json::json;
use uuid::Uuid;

use super::act::{act, emit, township_centre};
use super::record::{CaseRecord, save, try_load_for_update};
use super::{calendar, county_deadline, timers};
use crate::cases::assign;
use crate::scheduler::{DueTimer, Firer};

/// Fires the routing service's case timers.
#[derive(Clone, Copy, Debug, Default)]
pub struct CaseFirer;

#[async_trait]
impl Firer for CaseFirer {
    async fn fire(
        &self,
        tx: &mut TenantTx,
        due: &[DueTimer],
    ) -> anyhow::Result<Vec<(Uuid, DateTime<Utc>)>> {
        let calendar = calendar::load(tx).await?;
        let now = Utc::now();
        let mut later = Vec::new();
        for timer in due {
            if timer.target.as_deref() == Some(county_deadline::TARGET) {
                match try_load_for_update(tx, timer.case).await? {
                    Some(record) => {
                        let point = timer.point.as_deref().unwrap_or_default();
                        county_deadline::fire(tx, &record, point, now).await?;
                    }
                    None => later.push((timer.id, now + chrono::Duration::seconds(2))),
                }
                continue;
            }
            let (Some(target), Some(point)) = (
                timer.target.as_deref().and_then(TargetKind::parse),
                timer.point.as_deref().and_then(TimerKind::parse),
            ) else {
                continue;
            };
            let Some(mut record) = try_load_for_update(tx, timer.case).await? else {
                // Someone is acting on the case right now: try again in a moment.
                later.push((timer.id, now + chrono::Duration::seconds(2)));
                continue;
            };
            // A met, stopped or paused target has nothing to say any more.
            let Some(clock) = record.clocks.get(target) else {
                continue;
            };
            if clock.is_paused() {
                continue;
            }
            match point {
                TimerKind::Reminder(percent) => {
                    if record.priority != "urgent" && !calendar.is_working_instant(now) {
                        later.push((timer.id, calendar.next_working_instant(now)?.at));
                        continue;
                    }
                    remind(tx, &record, target, percent, timer.due_at, now).await?;
                }
                TimerKind::Breach => breach(tx, &mut record, &calendar, target, now).await?,
            }
        }
        Ok(later)
    }
}

async fn supervisors(tx: &mut TenantTx, record: &CaseRecord) -> anyhow::Result<Vec<UserId>> {
    let rows: Vec<(Uuid,)> = sqlx::query_as(
        "SELECT user_id FROM routing.case_supervisors WHERE tenant_id = $1 AND case_id = $2",
    )
    .bind(tx.tenant().as_uuid())
    .bind(record.id.as_uuid())
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(|(u,)| UserId::from_uuid(u)).collect())
}

async fn note(
    tx: &mut TenantTx,
    record: &CaseRecord,
    action: &str,
    details: serde_json::Value,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO routing.case_timeline (id, tenant_id, case_id, action, details, occurred_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(Uuid::now_v7())
    .bind(tx.tenant().as_uuid())
    .bind(record.id.as_uuid())
    .bind(action)
    .bind(details)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn remind(
    tx: &mut TenantTx,
    record: &CaseRecord,
    target: TargetKind,
    percent: u8,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let mut notify: Vec<UserId> = record.facts.assignee.into_iter().collect();
    if notify.is_empty() {
        notify = township_centre(tx).await?;
    }
    notify.extend(supervisors(tx, record).await?);
    notify.dedup();
    let details = json!({"target": target.as_str(), "percent": percent, "due_at": due});
    note(tx, record, "reminder", details.clone(), now).await?;
    emit(
        tx,
        record,
        EventType::CaseReminded,
        "reminder",
        &Actor::System,
        details,
        notify,
        now,
    )
    .await
}

/// The ladder level at which the case is held now.
async fn held_level(tx: &mut TenantTx, record: &CaseRecord) -> anyhow::Result<EscalationLevel> {
    let (Some(user), Some(node)) = (record.facts.assignee, record.assigned_node_id) else {
        // Unassigned (in triage): the township centre already holds it.
        return Ok(EscalationLevel::TownshipCentre);
    };
    let roles: Vec<(String,)> =
        sqlx::query_as("SELECT role FROM routing.staff_roles WHERE tenant_id = $1 AND user_id = $2 AND node_id = $3")
            .bind(tx.tenant().as_uuid())
            .bind(user.as_uuid())
            .bind(node.as_uuid())
            .fetch_all(&mut **tx)
            .await?;
    Ok(roles
        .iter()
        .filter_map(|(r,)| Role::parse(r).and_then(EscalationLevel::of_role))
        .min()
        .unwrap_or(EscalationLevel::GridWorker))
}

async fn reassign_on_breach(tx: &mut TenantTx) -> anyhow::Result<bool> {
    let row: Option<(bool,)> = sqlx::query_as(
        "SELECT reassign_on_breach FROM routing.tenant_settings WHERE tenant_id = $1",
    )
    .bind(tx.tenant().as_uuid())
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.is_some_and(|(r,)| r))
}

async fn breach(
    tx: &mut TenantTx,
    record: &mut CaseRecord,
    calendar: &WorkingCalendar,
    target: TargetKind,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let from = held_level(tx, record).await?;
    // Each level once per target: a breach that finds the ladder climbed stops here.
    let Some(level) = record.escalations.climb(target, from) else {
        note(
            tx,
            record,
            "breach",
            json!({"target": target.as_str(), "escalated": false}),
            now,
        )
        .await?;
        return Ok(());
    };
    let Some((to, at)) = assign::nearest(tx, record.grid_node_id, level.role(), now).await? else {
        note(
            tx,
            record,
            "breach",
            json!({"target": target.as_str(), "level": level.as_str(), "nobody": true}),
            now,
        )
        .await?;
        let deadlines = timers::reschedule(tx, record, calendar, &[]).await?;
        save(tx, record, deadlines, now).await?;
        return Ok(());
    };
    let reason = NoteText::parse(&format!(
        "{}超时 (the {} target was missed)",
        target.label_zh(),
        target.as_str()
    ))
    .ok();
    if reassign_on_breach(tx).await? {
        let action = Action::Escalate { level, to, reason };
        match act(tx, record, calendar, &Actor::System, action, Some(at), now).await {
            Ok(_) => return Ok(()),
            // A state that cannot be escalated (resolved, waiting on follow-up): the
            // next level supervises instead.
            Err(super::act::ActError::Workflow(_)) => {}
            Err(super::act::ActError::Other(e)) => return Err(e),
        }
    }
    sqlx::query(
        "INSERT INTO routing.case_supervisors (tenant_id, case_id, user_id, level) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(tx.tenant().as_uuid())
    .bind(record.id.as_uuid())
    .bind(to.as_uuid())
    .bind(level.as_str())
    .execute(&mut **tx)
    .await?;
    let details = json!({"target": target.as_str(), "level": level.as_str(), "supervisor": to});
    note(tx, record, "escalated", details.clone(), now).await?;
    let deadlines = timers::reschedule(tx, record, calendar, &[]).await?;
    save(tx, record, deadlines, now).await?;
    let mut notify = vec![to];
    notify.extend(record.facts.assignee);
    emit(
        tx,
        record,
        EventType::CaseEscalated,
        "breach",
        &Actor::System,
        details,
        notify,
        now,
    )
    .await
}
