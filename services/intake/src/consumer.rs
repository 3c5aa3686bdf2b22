//! Keeping the citizen's view in step with routing's case events.

use async_trait::async_trait;
use mashang_bus::{Handler, HandlerError, Service, inbox};
use mashang_db::Db;
use mashang_domain::events::{Envelope, EventType};
use mashang_domain::report::ReportStatus;
use mashang_domain::{CaseId, ReportId};
use serde::Deserialize;

/// The event types that move a report's public status, and where each moves it.
pub const STATUS_EVENTS: [(EventType, ReportStatus); 7] = [
    (EventType::CaseAssigned, ReportStatus::Assigned),
    (EventType::CaseAcknowledged, ReportStatus::Contacted),
    (EventType::CaseResolved, ReportStatus::Resolved),
    (EventType::CaseReopened, ReportStatus::InProgress),
    (EventType::CaseFollowedUp, ReportStatus::FollowedUp),
    (EventType::CaseClosed, ReportStatus::Closed),
    (EventType::CaseInvalidated, ReportStatus::Closed),
];

/// What every case event carries and all intake needs of it.
#[derive(Debug, Deserialize)]
struct CaseFacts {
    case_id: CaseId,
    case_version: i64,
    report_id: ReportId,
    /// The case's state after the change (absent in `case.assigned`).
    #[serde(default)]
    state: Option<String>,
}

/// What the citizen sees of a case state.
fn public_status(state: &str) -> Option<ReportStatus> {
    Some(match state {
        "created" => ReportStatus::Submitted,
        "assigned" | "transferred" | "escalated" | "returned" => ReportStatus::Assigned,
        "acknowledged" => ReportStatus::Contacted,
        "in_progress" | "waiting_on_citizen" | "reopened" | "invalid_requested" => {
            ReportStatus::InProgress
        }
        "resolved" => ReportStatus::Resolved,
        "followed_up" => ReportStatus::FollowedUp,
        "closed" | "invalid" => ReportStatus::Closed,
        _ => return None,
    })
}

/// Consumes the case events that change a report's public status.
#[derive(Clone, Debug)]
pub struct CaseHandler {
    db: Db,
}

impl CaseHandler {
    /// A handler writing to `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

#[async_trait]
impl Handler for CaseHandler {
    async fn handle(&self, envelope: Envelope) -> Result<(), HandlerError> {
        let Some((_, status)) = STATUS_EVENTS
            .iter()
            .find(|(t, _)| *t == envelope.event_type)
        else {
            return Err(HandlerError::Poison(anyhow::anyhow!(
                "intake does not consume {}",
                envelope.event_type.as_str()
            )));
        };
        let facts: CaseFacts = serde_json::from_value(envelope.payload.clone()).map_err(|e| {
            HandlerError::Poison(anyhow::anyhow!("case event without case facts: {e}"))
        })?;
        // One action may emit two events with the same version (a follow-up that
        // reopens): both carry the state after it, which decides what the citizen sees.
        let status = facts
            .state
            .as_deref()
            .and_then(public_status)
            .unwrap_or(*status);
        let mut tx = self.db.tenant(envelope.tenant_id).await?;
        if !inbox::claim(&mut tx, Service::Intake, "intake", &envelope).await? {
            return Ok(());
        }
        // Events may arrive out of order: only a newer case version moves the status.
        let moved = sqlx::query(
            "UPDATE intake.reports SET status = $3, case_id = $4, case_version = $5, updated_at = now() \
             WHERE tenant_id = $1 AND id = $2 AND case_version <= $5",
        )
        .bind(envelope.tenant_id.as_uuid())
        .bind(facts.report_id.as_uuid())
        .bind(status.as_str())
        .bind(facts.case_id.as_uuid())
        .bind(facts.case_version)
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() == 1 {
            // A step reached again (reopened, then resolved again) keeps its latest time.
            sqlx::query(
                "INSERT INTO intake.report_steps (tenant_id, report_id, status, occurred_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (report_id, status) DO UPDATE SET occurred_at = EXCLUDED.occurred_at",
            )
            .bind(envelope.tenant_id.as_uuid())
            .bind(facts.report_id.as_uuid())
            .bind(status.as_str())
            .bind(envelope.occurred_at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
