//! Keeping the citizen's view in step with routing's case events.

use async_trait::async_trait;
use mashang_bus::{Handler, HandlerError, Service, inbox};
use mashang_db::Db;
use mashang_domain::events::{CaseAssigned, Envelope, EventType};
use mashang_domain::report::ReportStatus;

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
        let (report_id, case_id, version, status) = match envelope.event_type {
            EventType::CaseAssigned => {
                let e: CaseAssigned = envelope.decode()?;
                (
                    e.report_id,
                    e.case_id,
                    e.case_version,
                    ReportStatus::Assigned,
                )
            }
            other => {
                return Err(HandlerError::Poison(anyhow::anyhow!(
                    "intake does not consume {}",
                    other.as_str()
                )));
            }
        };
        let mut tx = self.db.tenant(envelope.tenant_id).await?;
        if !inbox::claim(&mut tx, Service::Intake, "intake", &envelope)
            .await
            .map_err(|e| HandlerError::Retry(e.into()))?
        {
            return Ok(());
        }
        // Events may arrive out of order: only a newer case version moves the status.
        let moved = sqlx::query(
            "UPDATE intake.reports SET status = $3, case_id = $4, case_version = $5, updated_at = now() \
             WHERE tenant_id = $1 AND id = $2 AND case_version < $5",
        )
        .bind(envelope.tenant_id.as_uuid())
        .bind(report_id.as_uuid())
        .bind(status.as_str())
        .bind(case_id.as_uuid())
        .bind(version)
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() == 1 {
            sqlx::query(
                "INSERT INTO intake.report_steps (tenant_id, report_id, status, occurred_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (report_id, status) DO NOTHING",
            )
            .bind(envelope.tenant_id.as_uuid())
            .bind(report_id.as_uuid())
            .bind(status.as_str())
            .bind(envelope.occurred_at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
