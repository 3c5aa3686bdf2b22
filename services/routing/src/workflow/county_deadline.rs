//! The county's deadline on a case it supervises (督办), enforced by two timers of the
//! case (target `county`) in the scheduler's table: a reminder before it and the
//! overdue mark when it passes. Each tells the township centre and the handler.
//!
//! - The reminder falls 24 hours before the deadline, or halfway between setting it
//!   and the deadline when that is sooner (a deadline set 10 hours ahead is reminded
//!   5 hours before). Wall-clock time, not the working calendar: the county names a
//!   moment, and its reminders are not held back to working hours.
//! - A new deadline replaces both timers and clears the reminded and overdue marks.
//! - The deadline is met once the case is resolved (办结): a timer that fires on a
//!   resolved, followed-up, closed or invalid case does nothing, and closing or
//!   invalidating a case deletes its pending county timers.

use chrono::{DateTime, Duration, Utc};
use mashang_db::TenantTx;
use mashang_domain::CaseId;
use mashang_domain::case::{Actor, CaseState};
use mashang_domain::events::EventType;
use serde_json::json;
use uuid::Uuid;

use super::act::{emit, township_centre};
use super::record::CaseRecord;

/// The timers' `target`.
pub const TARGET: &str = "county";
/// The reminder's `point`.
pub const REMINDER: &str = "reminder";
/// The overdue mark's `point`.
pub const OVERDUE: &str = "overdue";

/// How long before the deadline the reminder comes, at most.
pub fn remind_before() -> Duration {
    Duration::hours(24)
}

/// When to remind of a deadline set at `set_at`: 24 hours before it, or halfway when
/// that is sooner; `None` for a deadline not after `set_at`.
pub fn reminder_at(set_at: DateTime<Utc>, deadline: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let span = deadline - set_at;
    (span > Duration::zero()).then(|| deadline - remind_before().min(span / 2))
}

/// Whether the county's deadline is met in `state`: the township resolved the case.
pub fn met(state: CaseState) -> bool {
    matches!(
        state,
        CaseState::Resolved | CaseState::FollowedUp | CaseState::Closed | CaseState::Invalid
    )
}

/// Sets the county's deadline of `record` at `now`: the case's deadline, both timers
/// (replacing pending ones) and cleared marks, in the caller's transaction.
pub async fn schedule(
    tx: &mut TenantTx,
    record: &CaseRecord,
    deadline: DateTime<Utc>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    stop(tx, record.id).await?;
    sqlx::query(
        "UPDATE routing.cases SET county_deadline = $3, county_reminded_at = NULL, county_overdue_at = NULL \
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant().as_uuid())
    .bind(record.id.as_uuid())
    .bind(deadline)
    .execute(&mut **tx)
    .await?;
    if let Some(at) = reminder_at(now, deadline) {
        insert(tx, record, REMINDER, at).await?;
    }
    insert(tx, record, OVERDUE, deadline).await
}

async fn insert(
    tx: &mut TenantTx,
    record: &CaseRecord,
    point: &str,
    due: DateTime<Utc>,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO routing.timers (id, tenant_id, case_id, kind, due_at, target, point, case_version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(Uuid::now_v7())
    .bind(tx.tenant().as_uuid())
    .bind(record.id.as_uuid())
    .bind(format!("{TARGET}:{point}"))
    .bind(due)
    .bind(TARGET)
    .bind(point)
    .bind(record.facts.version)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Deletes the case's pending county timers (a new deadline, or the case ended).
pub async fn stop(tx: &mut TenantTx, case: CaseId) -> anyhow::Result<()> {
    sqlx::query(
        "DELETE FROM routing.timers WHERE tenant_id = $1 AND case_id = $2 AND target = $3 AND fired_at IS NULL",
    )
    .bind(tx.tenant().as_uuid())
    .bind(case.as_uuid())
    .bind(TARGET)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Fires a county timer of the locked `record` (already marked fired by the
/// scheduler in `tx`): the mark on the case, a timeline entry and a notice to the
/// township centre and the handler. Nothing when the deadline is met or gone.
pub async fn fire(
    tx: &mut TenantTx,
    record: &CaseRecord,
    point: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    if met(record.facts.state) {
        return Ok(());
    }
    let (deadline,): (Option<DateTime<Utc>>,) = sqlx::query_as(
        "SELECT county_deadline FROM routing.cases WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant().as_uuid())
    .bind(record.id.as_uuid())
    .fetch_one(&mut **tx)
    .await?;
    let Some(deadline) = deadline else {
        return Ok(());
    };
    let (mark, action, event) = match point {
        REMINDER => (
            "UPDATE routing.cases SET county_reminded_at = $3 WHERE tenant_id = $1 AND id = $2",
            "county_reminder",
            EventType::CaseReminded,
        ),
        OVERDUE => (
            "UPDATE routing.cases SET county_overdue_at = $3 WHERE tenant_id = $1 AND id = $2",
            "county_overdue",
            EventType::CaseEscalated,
        ),
        _ => return Ok(()),
    };
    sqlx::query(mark)
        .bind(tx.tenant().as_uuid())
        .bind(record.id.as_uuid())
        .bind(now)
        .execute(&mut **tx)
        .await?;
    let details = json!({"target": TARGET, "deadline": deadline});
    sqlx::query(
        "INSERT INTO routing.case_timeline (id, tenant_id, case_id, action, details, occurred_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(Uuid::now_v7())
    .bind(tx.tenant().as_uuid())
    .bind(record.id.as_uuid())
    .bind(action)
    .bind(&details)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    let mut notify = township_centre(tx).await?;
    if let Some(user) = record.facts.assignee
        && !notify.contains(&user)
    {
        notify.push(user);
    }
    emit(
        tx,
        record,
        event,
        action,
        &Actor::System,
        details,
        notify,
        now,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).expect("a time") + Duration::hours(h)
    }

    #[test]
    fn the_reminder_comes_a_day_before_or_halfway_when_that_is_sooner() {
        assert_eq!(reminder_at(at(0), at(72)), Some(at(48)));
        assert_eq!(reminder_at(at(0), at(48)), Some(at(24)));
        assert_eq!(reminder_at(at(0), at(10)), Some(at(5)));
        assert_eq!(reminder_at(at(0), at(0)), None);
        assert_eq!(reminder_at(at(5), at(0)), None);
    }

    #[test]
    fn a_resolved_case_has_met_the_county_s_deadline() {
        for state in [CaseState::Resolved, CaseState::Closed, CaseState::Invalid] {
            assert!(met(state), "{state:?}");
        }
        for state in [
            CaseState::Assigned,
            CaseState::InProgress,
            CaseState::Reopened,
        ] {
            assert!(!met(state), "{state:?}");
        }
    }
}
