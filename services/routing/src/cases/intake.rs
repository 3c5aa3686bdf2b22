//! Turning a submitted report into a case: created, assigned, with its first-response
//! deadline, in one transaction with the inbox record and the outgoing events.

use async_trait::async_trait;
use base64::Engine;
use chrono::{Duration, Utc};
use mashang_bus::{Handler, HandlerError, Service, inbox, outbox};
use mashang_db::Db;
use mashang_domain::CaseId;
use mashang_domain::events::{CaseAssigned, CaseCreated, Envelope, ReportSubmitted};
use serde_json::json;
use uuid::Uuid;

use super::FIRST_RESPONSE_MINUTES;
use super::assign;

/// Consumes `report.submitted`.
#[derive(Clone, Debug)]
pub struct ReportHandler {
    db: Db,
}

impl ReportHandler {
    /// A handler writing to `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

#[async_trait]
impl Handler for ReportHandler {
    #[tracing::instrument(skip_all, fields(tenant_id = %envelope.tenant_id))]
    async fn handle(&self, envelope: Envelope) -> Result<(), HandlerError> {
        let report: ReportSubmitted = envelope.decode()?;
        let mut tx = self.db.tenant(envelope.tenant_id).await?;
        if !inbox::claim(&mut tx, Service::Routing, "routing", &envelope)
            .await
            .map_err(|e| HandlerError::Retry(e.into()))?
        {
            return Ok(());
        }
        let case_id = CaseId::new();
        let now = Utc::now();
        let due = report.submitted_at + Duration::minutes(FIRST_RESPONSE_MINUTES);
        let sealed_phone = match &report.contact_phone_sealed {
            Some(b64) => Some(
                base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(|e| {
                        HandlerError::Poison(anyhow::anyhow!("sealed phone is not base64: {e}"))
                    })?,
            ),
            None => None,
        };
        let attachments = serde_json::to_value(&report.attachments)
            .map_err(|e| HandlerError::Poison(e.into()))?;
        let inserted = sqlx::query(
            "INSERT INTO routing.cases (id, tenant_id, report_id, tracking_number, grid_node_id, \
                 category, description, state, version, submitted_at, first_response_due, \
                 contact_name, contact_phone_masked, contact_phone_sealed, lat, lng, attachments, channel, flags) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'created', 1, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
             ON CONFLICT (tenant_id, report_id) DO NOTHING",
        )
        .bind(case_id.as_uuid())
        .bind(envelope.tenant_id.as_uuid())
        .bind(report.report_id.as_uuid())
        .bind(&report.tracking_number)
        .bind(report.grid_node_id.as_uuid())
        .bind(&report.category)
        .bind(&report.description)
        .bind(report.submitted_at)
        .bind(due)
        .bind(&report.contact_name)
        .bind(&report.contact_phone_masked)
        .bind(&sealed_phone)
        .bind(report.location.map(|l| l.lat))
        .bind(report.location.map(|l| l.lng))
        .bind(attachments)
        .bind(report.channel.as_str())
        .bind(&report.flags)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            // A case exists for this report (an earlier event id for the same report).
            tx.commit().await?;
            return Ok(());
        }
        timeline(
            &mut tx,
            case_id,
            "created",
            json!({"report_id": report.report_id}),
            now,
        )
        .await?;
        sqlx::query(
            "INSERT INTO routing.timers (id, tenant_id, case_id, kind, due_at) VALUES ($1, $2, $3, 'first_response', $4)",
        )
        .bind(Uuid::now_v7())
        .bind(envelope.tenant_id.as_uuid())
        .bind(case_id.as_uuid())
        .bind(due)
        .execute(&mut *tx)
        .await?;
        let created = CaseCreated {
            case_id,
            case_version: 1,
            report_id: report.report_id,
            tracking_number: report.tracking_number.clone(),
            grid_node_id: report.grid_node_id,
            category: report.category.clone(),
            first_response_due: due,
        };
        outbox::record(&mut tx, Service::Routing, now, &created)
            .await
            .map_err(|e| HandlerError::Retry(e.into()))?;

        match assign::choose(&mut tx, report.grid_node_id).await? {
            Some(assignee) => {
                sqlx::query(
                    "UPDATE routing.cases SET state = 'assigned', assignee_id = $2, assigned_node_id = $3, \
                         vacancy = $4, version = 2, updated_at = $5 WHERE tenant_id = $1 AND id = $6",
                )
                .bind(envelope.tenant_id.as_uuid())
                .bind(assignee.user.as_uuid())
                .bind(assignee.node.as_uuid())
                .bind(assignee.vacancy)
                .bind(now)
                .bind(case_id.as_uuid())
                .execute(&mut *tx)
                .await?;
                timeline(
                    &mut tx,
                    case_id,
                    "assigned",
                    json!({"assignee_id": assignee.user, "node_id": assignee.node, "vacancy": assignee.vacancy}),
                    now,
                )
                .await?;
                let assigned = CaseAssigned {
                    case_id,
                    case_version: 2,
                    report_id: report.report_id,
                    tracking_number: report.tracking_number,
                    assignee_id: assignee.user,
                    assigned_node_id: assignee.node,
                    vacancy: assignee.vacancy,
                    first_response_due: due,
                };
                outbox::record(&mut tx, Service::Routing, now, &assigned)
                    .await
                    .map_err(|e| HandlerError::Retry(e.into()))?;
            }
            None => {
                tracing::warn!(case_id = %case_id, "nobody on the ladder above the grid; case waits unassigned");
                timeline(
                    &mut tx,
                    case_id,
                    "unassigned",
                    json!({"reason": "no eligible staff"}),
                    now,
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}

async fn timeline(
    tx: &mut mashang_db::TenantTx,
    case_id: CaseId,
    action: &str,
    details: serde_json::Value,
    at: chrono::DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO routing.case_timeline (id, tenant_id, case_id, action, details, occurred_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(Uuid::now_v7())
    .bind(tx.tenant().as_uuid())
    .bind(case_id.as_uuid())
    .bind(action)
    .bind(details)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
