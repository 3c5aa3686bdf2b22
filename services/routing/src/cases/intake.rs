//! Turning a submitted report into a case: created with its policy snapshot and clocks
//! (first response and resolution run from submission, even while the case waits in
//! triage), then assigned by the rules unless the township holds it for triage — all in
//! one transaction with the inbox record and the outgoing events.

use async_trait::async_trait;
use chrono::Utc;
use mashang_bus::{Handler, HandlerError, Service, inbox, outbox};
use mashang_db::Db;
use mashang_domain::CaseId;
use mashang_domain::case::{Action, Actor, CaseFacts};
use mashang_domain::events::{CaseCreated, Envelope, ReportSubmitted};
use mashang_domain::report::FLAG_UNPLACED;
use mashang_domain::sla::{EscalationRecord, TargetClock, TargetKind};
use serde_json::json;
use uuid::Uuid;

use super::assign;
use crate::workflow::act::{ActError, act};
use crate::workflow::record::{CaseRecord, Clocks, save};
use crate::workflow::{calendar, policy, timers};

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

fn retry(err: impl Into<anyhow::Error>) -> HandlerError {
    HandlerError::Retry(err.into())
}

#[async_trait]
impl Handler for ReportHandler {
    #[tracing::instrument(skip_all, fields(tenant_id = %envelope.tenant_id))]
    async fn handle(&self, envelope: Envelope) -> Result<(), HandlerError> {
        let report: ReportSubmitted = envelope.decode()?;
        let mut tx = self.db.tenant(envelope.tenant_id).await?;
        if !inbox::claim(&mut tx, Service::Routing, "routing", &envelope).await? {
            return Ok(());
        }
        let now = Utc::now();
        let case_id = CaseId::new();
        let (priority, held) = policy::intake_choices(&mut tx, &report.category)
            .await
            .map_err(retry)?;
        // A report that names no grid (Open311 without a place in a known grid) has
        // nobody's grid to go to: the township centre dispatches it.
        let held = held || report.flags.iter().any(|f| f == FLAG_UNPLACED);
        let sla = policy::pick(&mut tx, &report.category, &priority)
            .await
            .map_err(retry)?;
        let calendar = calendar::load(&mut tx).await.map_err(retry)?;
        let attachments = serde_json::to_value(&report.attachments)
            .map_err(|e| HandlerError::Poison(e.into()))?;
        let inserted = sqlx::query(
            "INSERT INTO routing.cases (id, tenant_id, report_id, tracking_number, grid_node_id, \
                 category, description, state, version, submitted_at, priority, \
                 lat, lng, attachments, channel, flags) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'created', 1, $8, $9, $10, $11, $12, $13, $14) \
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
        .bind(&priority)
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
        let mut record = CaseRecord {
            id: case_id,
            report_id: report.report_id,
            tracking_number: report.tracking_number.clone(),
            grid_node_id: report.grid_node_id,
            category: report.category.clone(),
            priority,
            assigned_node_id: None,
            facts: CaseFacts::new(case_id),
            sla,
            clocks: Clocks {
                first_response: Some(TargetClock::start(
                    TargetKind::FirstResponse,
                    report.submitted_at,
                )),
                resolution: Some(TargetClock::start(
                    TargetKind::Resolution,
                    report.submitted_at,
                )),
                follow_up: None,
                resolution_extension: None,
            },
            escalations: EscalationRecord::default(),
            in_triage: held,
            vacancy: false,
        };
        timeline(
            &mut tx,
            case_id,
            json!({"report_id": report.report_id, "triage": held}),
            now,
        )
        .await?;
        let deadlines = timers::reschedule(&mut tx, &record, &calendar, &TargetKind::ALL)
            .await
            .map_err(retry)?;
        save(&mut tx, &record, deadlines, now)
            .await
            .map_err(retry)?;
        let created = CaseCreated {
            case_id,
            case_version: 1,
            report_id: report.report_id,
            tracking_number: report.tracking_number.clone(),
            grid_node_id: report.grid_node_id,
            category: report.category.clone(),
            first_response_due: deadlines.first_response.unwrap_or(now),
            priority: Some(record.priority.clone()),
            resolution_due: deadlines.resolution,
        };
        outbox::record(&mut tx, Service::Routing, now, &created)
            .await
            .map_err(retry)?;
        if !held {
            match assign::choose(&mut tx, report.grid_node_id, &report.category, now)
                .await
                .map_err(retry)?
            {
                Some(chosen) => {
                    if chosen.vacancy {
                        record.vacancy = true;
                        assign::record_vacancy(&mut tx, case_id, &chosen)
                            .await
                            .map_err(retry)?;
                    }
                    let action = Action::Assign {
                        to: chosen.user,
                        node: chosen.node,
                    };
                    act(
                        &mut tx,
                        &mut record,
                        &calendar,
                        &Actor::System,
                        action,
                        Some(chosen.node),
                        now,
                    )
                    .await
                    .map_err(|e| match e {
                        ActError::Workflow(w) => HandlerError::Poison(w.into()),
                        ActError::Other(o) => HandlerError::Retry(o),
                    })?;
                }
                None => {
                    tracing::warn!(case_id = %case_id, "nobody on the ladder above the grid; the case waits for the township centre");
                    record.in_triage = true;
                    save(&mut tx, &record, deadlines, now)
                        .await
                        .map_err(retry)?;
                    timeline(
                        &mut tx,
                        case_id,
                        json!({"reason": "no eligible staff"}),
                        now,
                    )
                    .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }
}

async fn timeline(
    tx: &mut mashang_db::TenantTx,
    case_id: CaseId,
    details: serde_json::Value,
    at: chrono::DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let action = if details.get("reason").is_some() {
        "unassigned"
    } else {
        "created"
    };
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
