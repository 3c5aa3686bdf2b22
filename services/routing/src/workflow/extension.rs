//! Extension requests (申请延期): a handler asks for a later resolution deadline with a
//! reason, and a second person at the township centre approves or rejects it. An
//! approved one is kept on the case's resolution clock, so every later reschedule
//! (a pause, a policy re-applied, a breach) keeps the new deadline until the clock
//! restarts (a reopening). Requests live beside the case, not in its workflow: the
//! case's state and version do not change, and the timeline gets a plain entry for
//! each step (see decision 0019).

use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use mashang_db::TenantTx;
use mashang_domain::calendar::Pause;
use mashang_domain::case::{Actor, CaseState};
use mashang_domain::events::EventType;
use mashang_domain::sla::{TargetClock, TargetKind, TimerKind, TimerPoint};
use mashang_domain::{CaseId, UserId};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::record::{CaseRecord, Clocks, save};
use super::{calendar, timers};

/// The furthest a deadline may be moved: 30 days from now.
pub const MAX_DAYS: i64 = 30;
/// The longest reason or decision note.
pub const MAX_TEXT_CHARS: usize = 500;

/// An approved extension of a resolution clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    /// The start of the clock it extends; a restarted clock is not extended.
    pub clock_started_at: DateTime<Utc>,
    /// The new deadline, as approved.
    pub until: DateTime<Utc>,
    /// When it was approved: pauses after this push the deadline further.
    pub approved_at: DateTime<Utc>,
}

/// The timer points of a clock with its approved extension: the breach moves to the
/// extended deadline (plus any time paused since the approval), the reminders keep
/// their share of the longer span. Points of other targets pass unchanged.
pub fn stretch(clocks: &Clocks, clock: &TargetClock, points: Vec<TimerPoint>) -> Vec<TimerPoint> {
    let Some(ext) = clocks.resolution_extension.filter(|e| {
        clock.target == TargetKind::Resolution && e.clock_started_at == clock.started_at
    }) else {
        return points;
    };
    let Some(breach) = points.iter().find(|p| p.kind == TimerKind::Breach) else {
        // Paused now: the points come back when the clock resumes.
        return points;
    };
    let until = ext.until + paused_since(&clock.pauses, ext.approved_at);
    if until <= breach.due {
        return points;
    }
    let span = until - clock.started_at;
    points
        .into_iter()
        .map(|p| match p.kind {
            TimerKind::Breach => TimerPoint { due: until, ..p },
            TimerKind::Reminder(percent) => TimerPoint {
                due: clock.started_at + span * i32::from(percent) / 100,
                ..p
            },
        })
        .collect()
}

/// The wall-clock time of the closed pauses that began at or after `since`.
fn paused_since(pauses: &[Pause], since: DateTime<Utc>) -> Duration {
    pauses
        .iter()
        .filter(|p| p.from >= since)
        .filter_map(|p| p.until.map(|u| u - p.from))
        .fold(Duration::zero(), |a, b| a + b)
}

/// Why a request or a decision was refused, in words for the person.
#[derive(Debug, thiserror::Error)]
pub enum ExtensionError {
    /// A field is wrong: which, and why.
    #[error("{field}: {message}")]
    Field {
        /// The field's name (`reason`, `until`, `note`).
        field: &'static str,
        /// What is wrong, zh-CN then English.
        message: String,
    },
    /// Not now: the case or the request is not in a state for it.
    #[error("{0}")]
    Conflict(String),
    /// Not this person.
    #[error("{0}")]
    Forbidden(String),
    /// No such case or request in this township.
    #[error("not found")]
    NotFound,
    /// Our failure.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<sqlx::Error> for ExtensionError {
    fn from(err: sqlx::Error) -> Self {
        Self::Other(err.into())
    }
}

fn field(field: &'static str, message: impl Into<String>) -> ExtensionError {
    ExtensionError::Field {
        field,
        message: message.into(),
    }
}

/// A reason or note: trimmed, at most [`MAX_TEXT_CHARS`]; `None` when empty.
pub fn text(name: &'static str, raw: &str) -> Result<Option<String>, ExtensionError> {
    let t = raw.trim();
    if t.chars().count() > MAX_TEXT_CHARS {
        return Err(field(
            name,
            format!("最多 {MAX_TEXT_CHARS} 个字 (at most {MAX_TEXT_CHARS} characters)"),
        ));
    }
    Ok((!t.is_empty()).then(|| t.to_owned()))
}

/// Reads a proposed deadline: RFC 3339, or a local date and time in the township's
/// zone as a `datetime-local` field sends it (`2026-12-10T17:00`).
pub fn parse_until(raw: &str, zone: chrono_tz::Tz) -> Result<DateTime<Utc>, ExtensionError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(field(
            "until",
            "请填写新的办结期限 (a new deadline is required)",
        ));
    }
    if raw.len() > 40 {
        return Err(field("until", "日期时间格式不对 (not a date and time)"));
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
        return Ok(at.with_timezone(&Utc));
    }
    let local = NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S"))
        .or_else(|_| NaiveDateTime::parse_from_str(raw, "%Y-%m-%d %H:%M"))
        .map_err(|_| {
            field(
                "until",
                "日期时间格式应为 2026-12-10T17:00 (a date and time like 2026-12-10T17:00)",
            )
        })?;
    zone.from_local_datetime(&local)
        .earliest()
        .map(|at| at.with_timezone(&Utc))
        .ok_or_else(|| {
            field(
                "until",
                "该时刻在本地不存在 (that local time does not exist)",
            )
        })
}

/// Checks a proposed deadline against the one in force and the limit.
pub fn check_until(
    until: DateTime<Utc>,
    current: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), ExtensionError> {
    if until <= now {
        return Err(field(
            "until",
            "新期限须晚于现在 (the new deadline must be in the future)",
        ));
    }
    if let Some(current) = current
        && until <= current
    {
        return Err(field(
            "until",
            "新期限须晚于当前办结期限 (the new deadline must be later than the current one)",
        ));
    }
    if until > now + Duration::days(MAX_DAYS) {
        return Err(field(
            "until",
            format!("最多延期到 {MAX_DAYS} 天以内 (at most {MAX_DAYS} days from now)"),
        ));
    }
    Ok(())
}

/// Whether a case in `state` has a resolution deadline a handler may ask to move.
fn extendable(record: &CaseRecord) -> Result<(), ExtensionError> {
    use CaseState::*;
    let open = matches!(
        record.facts.state,
        Assigned
            | Acknowledged
            | InProgress
            | WaitingOnCitizen
            | Transferred
            | Escalated
            | Reopened
    );
    if !open || record.clocks.get(TargetKind::Resolution).is_none() {
        return Err(ExtensionError::Conflict(
            "案件当前没有可延期的办结期限 (the case has no resolution deadline to extend now)"
                .into(),
        ));
    }
    Ok(())
}

async fn resolution_due(
    tx: &mut TenantTx,
    id: CaseId,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let row: Option<(Option<DateTime<Utc>>,)> =
        sqlx::query_as("SELECT resolution_due FROM routing.cases WHERE tenant_id = $1 AND id = $2")
            .bind(tx.tenant().as_uuid())
            .bind(id.as_uuid())
            .fetch_optional(&mut **tx)
            .await?;
    Ok(row.and_then(|(d,)| d))
}

async fn timeline(
    tx: &mut TenantTx,
    case: CaseId,
    action: &str,
    actor: UserId,
    details: serde_json::Value,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO routing.case_timeline (id, tenant_id, case_id, action, actor_id, details, occurred_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(Uuid::now_v7())
    .bind(tx.tenant().as_uuid())
    .bind(case.as_uuid())
    .bind(action)
    .bind(actor.as_uuid())
    .bind(details)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Records a request on a case loaded for update (the caller checked the person may
/// work it). One pending request per case.
pub async fn request(
    tx: &mut TenantTx,
    record: &CaseRecord,
    by: UserId,
    reason: &str,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Uuid, ExtensionError> {
    extendable(record)?;
    let reason = text("reason", reason)?
        .ok_or_else(|| field("reason", "请写明延期理由 (a reason is required)"))?;
    let current = resolution_due(tx, record.id).await?;
    check_until(until, current, now)?;
    let id = Uuid::now_v7();
    let inserted = sqlx::query(
        "INSERT INTO routing.extension_requests (id, tenant_id, case_id, requested_by, reason, requested_until, previous_due, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (case_id) WHERE status = 'pending' DO NOTHING",
    )
    .bind(id)
    .bind(tx.tenant().as_uuid())
    .bind(record.id.as_uuid())
    .bind(by.as_uuid())
    .bind(&reason)
    .bind(until)
    .bind(current)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(ExtensionError::Conflict(
            "该案件已有一个待审批的延期申请 (an extension request for this case is already pending)"
                .into(),
        ));
    }
    timeline(
        tx,
        record.id,
        "extension_requested",
        by,
        json!({"request_id": id, "reason": reason, "until": until, "previous_due": current}),
        now,
    )
    .await?;
    Ok(id)
}

/// A pending request, as a decision needs it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Pending {
    /// The request.
    pub id: Uuid,
    /// Its case.
    pub case_id: Uuid,
    /// Who asked.
    pub requested_by: Uuid,
    /// The deadline asked for.
    pub requested_until: DateTime<Utc>,
}

/// The request `id` of this township, locked, if it is still pending; which case it
/// is on either way (`None`: no such request here).
pub async fn pending(
    tx: &mut TenantTx,
    id: Uuid,
) -> Result<Option<(Uuid, Option<Pending>)>, sqlx::Error> {
    let row: Option<(Uuid, Uuid, Uuid, DateTime<Utc>, String)> = sqlx::query_as(
        "SELECT id, case_id, requested_by, requested_until, status FROM routing.extension_requests \
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant().as_uuid())
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(
        row.map(|(id, case_id, requested_by, requested_until, status)| {
            let p = (status == "pending").then_some(Pending {
                id,
                case_id,
                requested_by,
                requested_until,
            });
            (case_id, p)
        }),
    )
}

/// Approves or rejects a pending request on a case loaded for update (the caller
/// checked the person may decide). The requester never decides their own; a rejection
/// needs a note. An approval moves the resolution deadline and its timers.
pub async fn decide(
    tx: &mut TenantTx,
    record: &mut CaseRecord,
    request: &Pending,
    by: UserId,
    approve: bool,
    note: &str,
    now: DateTime<Utc>,
) -> Result<(), ExtensionError> {
    if request.requested_by == by.as_uuid() {
        return Err(ExtensionError::Forbidden(
            "不能审批自己提出的延期申请，须由另一人审批 (a second person decides on your own request)"
                .into(),
        ));
    }
    let note = text("note", note)?;
    if !approve && note.is_none() {
        return Err(field("note", "请写明不同意的理由 (say why it is rejected)"));
    }
    let before = resolution_due(tx, record.id).await?;
    let mut after = before;
    if approve {
        extendable(record)?;
        if request.requested_until <= now {
            return Err(ExtensionError::Conflict(
                "申请的期限已过，请驳回后让经办人重新申请 (the deadline asked for has passed; reject it and ask for a new request)"
                    .into(),
            ));
        }
        let clock = record
            .clocks
            .get(TargetKind::Resolution)
            .cloned()
            .ok_or_else(|| ExtensionError::Conflict("no resolution clock".into()))?;
        record.clocks.resolution_extension = Some(Extension {
            clock_started_at: clock.started_at,
            until: request.requested_until,
            approved_at: now,
        });
        let calendar = calendar::load(tx).await?;
        let deadlines =
            timers::reschedule(tx, record, &calendar, &[TargetKind::Resolution]).await?;
        save(tx, record, deadlines, now).await?;
        after = resolution_due(tx, record.id).await?;
        // Analytics judges on-time resolution against the deadline in force.
        super::act::emit(
            tx,
            record,
            EventType::CaseExtended,
            "extension_approved",
            &Actor::staff(by, Vec::new()),
            json!({"request_id": request.id, "until": request.requested_until}),
            Vec::new(),
            now,
        )
        .await?;
    }
    let status = if approve { "approved" } else { "rejected" };
    sqlx::query(
        "UPDATE routing.extension_requests SET status = $3, decided_by = $4, decision_note = $5, decided_at = $6 \
         WHERE tenant_id = $1 AND id = $2 AND status = 'pending'",
    )
    .bind(tx.tenant().as_uuid())
    .bind(request.id)
    .bind(status)
    .bind(by.as_uuid())
    .bind(&note)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    timeline(
        tx,
        record.id,
        &format!("extension_{status}"),
        by,
        json!({
            "request_id": request.id,
            "note": note,
            "requested_until": request.requested_until,
            "before": before,
            "after": after,
        }),
        now,
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(h: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0)
            .single()
            .expect("a time")
            + Duration::hours(h)
    }

    fn points(breach: DateTime<Utc>) -> Vec<TimerPoint> {
        vec![
            TimerPoint {
                kind: TimerKind::Reminder(50),
                due: at(5),
                provisional: false,
            },
            TimerPoint {
                kind: TimerKind::Breach,
                due: breach,
                provisional: false,
            },
        ]
    }

    #[test]
    fn an_approved_extension_moves_the_breach_and_spreads_the_reminders() {
        let clock = TargetClock::start(TargetKind::Resolution, at(0));
        let clocks = Clocks {
            resolution_extension: Some(Extension {
                clock_started_at: at(0),
                until: at(40),
                approved_at: at(8),
            }),
            ..Clocks::default()
        };
        let out = stretch(&clocks, &clock, points(at(10)));
        assert_eq!(out[1].due, at(40));
        assert_eq!(out[0].due, at(20), "half of the longer span");
    }

    #[test]
    fn a_restarted_clock_or_another_target_is_not_extended() {
        let clocks = Clocks {
            resolution_extension: Some(Extension {
                clock_started_at: at(0),
                until: at(40),
                approved_at: at(8),
            }),
            ..Clocks::default()
        };
        let restarted = TargetClock::start(TargetKind::Resolution, at(12));
        assert_eq!(stretch(&clocks, &restarted, points(at(22)))[1].due, at(22));
        let other = TargetClock::start(TargetKind::FollowUp, at(0));
        assert_eq!(stretch(&clocks, &other, points(at(10)))[1].due, at(10));
    }

    #[test]
    fn time_paused_after_the_approval_pushes_the_new_deadline() {
        let mut clock = TargetClock::start(TargetKind::Resolution, at(0));
        clock.pauses.push(Pause::closed(at(2), at(3)));
        clock.pauses.push(Pause::closed(at(9), at(12)));
        let clocks = Clocks {
            resolution_extension: Some(Extension {
                clock_started_at: at(0),
                until: at(40),
                approved_at: at(8),
            }),
            ..Clocks::default()
        };
        assert_eq!(stretch(&clocks, &clock, points(at(14)))[1].due, at(43));
    }

    #[test]
    fn proposed_deadlines_are_read_in_the_townships_zone_and_bounded() {
        let zone = chrono_tz::Asia::Shanghai;
        assert_eq!(parse_until("2026-12-01T17:00", zone).expect("local"), at(9));
        assert_eq!(
            parse_until("2026-12-01T09:00:00Z", zone).expect("RFC 3339"),
            at(9)
        );
        assert!(matches!(
            parse_until("next tuesday", zone),
            Err(ExtensionError::Field { field: "until", .. })
        ));
        assert!(
            check_until(at(10), Some(at(20)), at(0)).is_err(),
            "earlier than now's"
        );
        assert!(check_until(at(-1), None, at(0)).is_err(), "in the past");
        assert!(
            check_until(at(31 * 24), None, at(0)).is_err(),
            "beyond 30 days"
        );
        assert!(check_until(at(30), Some(at(20)), at(0)).is_ok());
    }
}
