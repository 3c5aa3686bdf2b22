//! Reading a case with its timeline.

use chrono::{DateTime, Utc};
use mashang_db::TenantTx;
use mashang_domain::CaseId;
use serde::Serialize;
use uuid::Uuid;

/// A case as staff see it.
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct CaseView {
    /// Case id.
    pub id: Uuid,
    /// The report's tracking number.
    pub tracking_number: String,
    /// The report id.
    pub report_id: Uuid,
    /// The grid the case belongs to.
    pub grid_node_id: Uuid,
    /// Category code.
    pub category: String,
    /// What the citizen wrote.
    pub description: String,
    /// Workflow state.
    pub state: String,
    /// Current handler.
    pub assignee_id: Option<Uuid>,
    /// Where the handler holds the role that made them eligible.
    pub assigned_node_id: Option<Uuid>,
    /// Whether a higher level took it for want of anyone at the grid.
    pub vacancy: bool,
    /// Version, increased by every change.
    pub version: i64,
    /// When the citizen submitted the report.
    pub submitted_at: DateTime<Utc>,
    /// When the first response is due.
    pub first_response_due: DateTime<Utc>,
    /// The timeline, oldest first.
    #[sqlx(skip)]
    pub timeline: Vec<TimelineEntry>,
}

/// One step of a case's timeline.
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct TimelineEntry {
    /// What happened.
    pub action: String,
    /// Who did it (none for the system).
    pub actor_id: Option<Uuid>,
    /// The action's details.
    pub details: serde_json::Value,
    /// When.
    pub occurred_at: DateTime<Utc>,
}

/// Loads a case of the transaction's tenant.
pub async fn load(tx: &mut TenantTx, id: CaseId) -> Result<Option<CaseView>, sqlx::Error> {
    let case: Option<CaseView> = sqlx::query_as(
        "SELECT id, tracking_number, report_id, grid_node_id, category, description, state, \
             assignee_id, assigned_node_id, vacancy, version, submitted_at, first_response_due \
         FROM routing.cases WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant().as_uuid())
    .bind(id.as_uuid())
    .fetch_optional(&mut **tx)
    .await?;
    let Some(mut case) = case else {
        return Ok(None);
    };
    case.timeline = sqlx::query_as(
        "SELECT action, actor_id, details, occurred_at FROM routing.case_timeline \
         WHERE tenant_id = $1 AND case_id = $2 ORDER BY occurred_at, id",
    )
    .bind(tx.tenant().as_uuid())
    .bind(id.as_uuid())
    .fetch_all(&mut **tx)
    .await?;
    Ok(Some(case))
}
