//! Applying an action to a stored case: the domain decides; this stores the result —
//! snapshot, clocks and timers, timeline, outbox events with who must be told — in the
//! caller's transaction.

use chrono::{DateTime, Utc};
use mashang_bus::{Service, outbox};
use mashang_db::TenantTx;
use mashang_domain::calendar::WorkingCalendar;
use mashang_domain::case::{self, Action, Actor, CaseState, Effect, Outcome, WorkflowError};
use mashang_domain::events::{CaseAssigned, CaseUpdate, EventType, TenantAlert};
use mashang_domain::role::Role;
use mashang_domain::sla::{EscalationLevel, TargetClock, TargetKind};
use mashang_domain::{GridNodeId, UserId};
use uuid::Uuid;

use super::record::{CaseRecord, save};
use super::timers;

/// Why an action was not carried out.
#[derive(Debug, thiserror::Error)]
pub enum ActError {
    /// The workflow refused it (409, 422 or 403).
    #[error(transparent)]
    Workflow(#[from] WorkflowError),
    /// Storing it failed.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<sqlx::Error> for ActError {
    fn from(err: sqlx::Error) -> Self {
        Self::Other(err.into())
    }
}

/// Applies `action` by `actor` to the locked `record` at `now` and stores everything.
/// `node` is where a new handler holds their role (assign, dispatch, transfer, escalate).
pub async fn act(
    tx: &mut TenantTx,
    record: &mut CaseRecord,
    calendar: &WorkingCalendar,
    actor: &Actor,
    action: Action,
    node: Option<GridNodeId>,
    now: DateTime<Utc>,
) -> Result<Outcome, ActError> {
    let outcome = case::apply(&record.facts, actor, &action, now)?;
    let mut changed: Vec<TargetKind> = Vec::new();
    for effect in &outcome.effects {
        match *effect {
            Effect::PauseClock => {
                for clock in record.clocks.running() {
                    // An already paused clock stays paused.
                    let _ = clock.pause(now);
                }
                changed.extend(TargetKind::ALL);
            }
            Effect::ResumeClock => {
                for clock in record.clocks.running() {
                    let _ = clock.resume(now);
                }
                changed.extend(TargetKind::ALL);
            }
            Effect::StartTarget(target) => {
                *record.clocks.slot(target) = Some(TargetClock::start(target, now));
                record.escalations.reset(target);
                changed.push(target);
            }
            Effect::StopTarget(target) => {
                *record.clocks.slot(target) = None;
                changed.push(target);
            }
            Effect::StopAllTargets => {
                for target in TargetKind::ALL {
                    *record.clocks.slot(target) = None;
                }
                changed.extend(TargetKind::ALL);
            }
            Effect::NeedsReassignment => {
                record.in_triage = true;
                record.assigned_node_id = None;
            }
        }
    }
    if matches!(
        action,
        Action::Assign { .. }
            | Action::Dispatch { .. }
            | Action::Transfer { .. }
            | Action::Escalate { .. }
    ) {
        record.in_triage = false;
        if node.is_some() {
            record.assigned_node_id = node;
        }
    }
    let before_assignee = record.facts.assignee;
    record.facts = outcome.facts.clone();
    changed.sort_by_key(|t| t.as_str());
    changed.dedup();
    timeline(tx, record, &outcome, now).await?;
    let deadlines = timers::reschedule(tx, record, calendar, &changed).await?;
    save(tx, record, deadlines, now).await?;
    if matches!(record.facts.state, CaseState::Closed | CaseState::Invalid) {
        // An ended case has no county deadline left to enforce.
        super::county_deadline::stop(tx, record.id).await?;
    }
    for event in &outcome.events {
        match event {
            EventType::CaseAssigned => {
                let (Some(assignee), Some(node)) = (record.facts.assignee, record.assigned_node_id)
                else {
                    continue;
                };
                let payload = CaseAssigned {
                    case_id: record.id,
                    case_version: record.facts.version,
                    report_id: record.report_id,
                    tracking_number: record.tracking_number.clone(),
                    assignee_id: assignee,
                    assigned_node_id: node,
                    vacancy: record.vacancy,
                    first_response_due: deadlines.first_response.unwrap_or(now),
                    handler_level: handler_level(tx, record).await?,
                    resolution_due: deadlines.resolution,
                };
                outbox::record(tx, Service::Routing, now, &payload)
                    .await
                    .map_err(anyhow::Error::from)?;
            }
            other => {
                let notify = match other {
                    EventType::CaseTransferred
                    | EventType::CaseEscalated
                    | EventType::CaseReopened => record.facts.assignee.into_iter().collect(),
                    EventType::CaseReturned => township_centre(tx).await?,
                    EventType::CaseInvalidated | EventType::CaseClosed => {
                        before_assignee.into_iter().collect()
                    }
                    // The people watching over a case hear that it was answered and
                    // solved; a solved case awaits the centre's follow-up call.
                    EventType::CaseAcknowledged => supervisors(tx, record).await?,
                    EventType::CaseResolved => {
                        let mut people = supervisors(tx, record).await?;
                        people.extend(township_centre(tx).await?);
                        people.sort_by_key(|u| u.as_uuid());
                        people.dedup();
                        people.retain(|u| Some(*u) != actor.user_id());
                        people
                    }
                    _ => Vec::new(),
                };
                emit(
                    tx,
                    record,
                    *other,
                    outcome.entry.action.kind().as_str(),
                    actor,
                    outcome.entry.action.details_json(),
                    notify,
                    now,
                )
                .await?;
            }
        }
    }
    Ok(outcome)
}

/// Puts a `CaseUpdate` event of `event_type` in the outbox.
#[allow(clippy::too_many_arguments)]
pub async fn emit(
    tx: &mut TenantTx,
    record: &CaseRecord,
    event_type: EventType,
    action: &str,
    actor: &Actor,
    details: serde_json::Value,
    notify: Vec<UserId>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let (first_response_due, resolution_due): (Option<DateTime<Utc>>, Option<DateTime<Utc>>) =
        sqlx::query_as(
            "SELECT first_response_due, resolution_due FROM routing.cases WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tx.tenant().as_uuid())
        .bind(record.id.as_uuid())
        .fetch_optional(&mut **tx)
        .await?
        .unwrap_or((None, None));
    let handler_level = handler_level(tx, record).await?;
    let payload = CaseUpdate {
        case_id: record.id,
        case_version: record.facts.version,
        report_id: record.report_id,
        tracking_number: record.tracking_number.clone(),
        state: record.facts.state.as_str().to_owned(),
        action: action.to_owned(),
        actor_id: actor.user_id(),
        assignee_id: record.facts.assignee,
        details,
        notify,
        handler_level,
        first_response_due,
        resolution_due,
    };
    outbox::record_as(tx, Service::Routing, now, event_type, &payload).await?;
    Ok(())
}

async fn timeline(
    tx: &mut TenantTx,
    record: &CaseRecord,
    outcome: &Outcome,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let entry = &outcome.entry;
    let details = serde_json::json!({
        "from": entry.from.as_str(),
        "to": entry.to.as_str(),
        "version": entry.version,
        "actor": entry.actor,
        "details": entry.action.details_json(),
    });
    sqlx::query(
        "INSERT INTO routing.case_timeline (id, tenant_id, case_id, action, actor_id, details, occurred_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(Uuid::now_v7())
    .bind(tx.tenant().as_uuid())
    .bind(record.id.as_uuid())
    .bind(entry.action.kind().as_str())
    .bind(entry.actor.user_id().map(|u| u.as_uuid()))
    .bind(details)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The ladder level at which the case's handler holds their role (the lowest, when
/// several); the county for a county person; none without a handler. Events carry it
/// so that analytics knows the level a case was resolved at.
pub async fn handler_level(
    tx: &mut TenantTx,
    record: &CaseRecord,
) -> anyhow::Result<Option<EscalationLevel>> {
    let Some(user) = record.facts.assignee else {
        return Ok(None);
    };
    let (roles, county): (Vec<String>, bool) = sqlx::query_as(
        "SELECT coalesce(array_agg(role) FILTER (WHERE role IS NOT NULL), '{}'), \
                EXISTS (SELECT 1 FROM routing.county_users WHERE id = $2) \
         FROM routing.staff_roles WHERE tenant_id = $1 AND user_id = $2 \
           AND ($3::uuid IS NULL OR node_id = $3)",
    )
    .bind(tx.tenant().as_uuid())
    .bind(user.as_uuid())
    .bind(record.assigned_node_id.map(|n| n.as_uuid()))
    .fetch_one(&mut **tx)
    .await?;
    if county {
        return Ok(Some(EscalationLevel::County));
    }
    Ok(roles
        .iter()
        .filter_map(|r| Role::parse(r).and_then(EscalationLevel::of_role))
        .min())
}

/// The people of the township centre (at any node), to whom returned cases go.
/// The people added to the case as its supervisors (escalation, 督办).
async fn supervisors(tx: &mut TenantTx, record: &CaseRecord) -> anyhow::Result<Vec<UserId>> {
    let rows: Vec<(Uuid,)> = sqlx::query_as(
        "SELECT user_id FROM routing.case_supervisors WHERE tenant_id = $1 AND case_id = $2 ORDER BY added_at",
    )
    .bind(tx.tenant().as_uuid())
    .bind(record.id.as_uuid())
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(|(u,)| UserId::from_uuid(u)).collect())
}

pub async fn township_centre(tx: &mut TenantTx) -> anyhow::Result<Vec<UserId>> {
    people_with_role(tx, Role::TownshipCentre).await
}

async fn people_with_role(tx: &mut TenantTx, role: Role) -> anyhow::Result<Vec<UserId>> {
    let rows: Vec<(Uuid,)> = sqlx::query_as(
        "SELECT DISTINCT r.user_id FROM routing.staff_roles r JOIN routing.staff_users u \
           ON u.tenant_id = r.tenant_id AND u.id = r.user_id AND u.active \
         WHERE r.tenant_id = $1 AND r.role = $2",
    )
    .bind(tx.tenant().as_uuid())
    .bind(role.as_str())
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(|(u,)| UserId::from_uuid(u)).collect())
}

/// Tells the township's administrators that deadlines reach into `year`, whose official
/// holiday schedule is not published.
pub async fn notify_admins_unpublished(tx: &mut TenantTx, year: i32) -> anyhow::Result<()> {
    let admins = people_with_role(tx, Role::TownshipAdmin).await?;
    let alert = TenantAlert {
        kind: "calendar_unpublished".to_owned(),
        key: year.to_string(),
        message: format!(
            "{year}年的法定节假日安排尚未发布，涉及{year}年的期限暂按普通工作日计算，请在发布后导入。\
             (The {year} holiday schedule is not published; deadlines in {year} use plain weekdays until it is imported.)"
        ),
        notify: admins,
    };
    outbox::record(tx, Service::Routing, Utc::now(), &alert).await?;
    Ok(())
}
