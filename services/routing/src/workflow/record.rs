//! A stored case as the workflow needs it: the domain's facts, the policy snapshot, the
//! targets' clocks and the escalation record.

use chrono::{DateTime, Utc};
use mashang_db::TenantTx;
use mashang_domain::case::CaseFacts;
use mashang_domain::sla::{EscalationRecord, SlaPolicy, TargetClock, TargetKind};
use mashang_domain::{CaseId, GridNodeId, ReportId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The running clocks of a case's targets; a stopped target has none.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Clocks {
    /// First response.
    #[serde(default)]
    pub first_response: Option<TargetClock>,
    /// Resolution.
    #[serde(default)]
    pub resolution: Option<TargetClock>,
    /// Follow-up.
    #[serde(default)]
    pub follow_up: Option<TargetClock>,
    /// An approved extension of the resolution deadline (申请延期), for the clock
    /// that was running when it was approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution_extension: Option<super::extension::Extension>,
}

impl Clocks {
    /// A target's clock.
    pub fn get(&self, target: TargetKind) -> Option<&TargetClock> {
        match target {
            TargetKind::FirstResponse => self.first_response.as_ref(),
            TargetKind::Resolution => self.resolution.as_ref(),
            TargetKind::FollowUp => self.follow_up.as_ref(),
        }
    }

    /// A target's clock, to change it.
    pub fn slot(&mut self, target: TargetKind) -> &mut Option<TargetClock> {
        match target {
            TargetKind::FirstResponse => &mut self.first_response,
            TargetKind::Resolution => &mut self.resolution,
            TargetKind::FollowUp => &mut self.follow_up,
        }
    }

    /// The running clocks.
    pub fn running(&mut self) -> impl Iterator<Item = &mut TargetClock> {
        [
            &mut self.first_response,
            &mut self.resolution,
            &mut self.follow_up,
        ]
        .into_iter()
        .filter_map(Option::as_mut)
    }
}

/// A case loaded for a change.
#[derive(Clone, Debug)]
pub struct CaseRecord {
    /// The case.
    pub id: CaseId,
    /// Its report.
    pub report_id: ReportId,
    /// The report's tracking number.
    pub tracking_number: String,
    /// The grid it belongs to.
    pub grid_node_id: GridNodeId,
    /// Category code.
    pub category: String,
    /// `normal` or `urgent`.
    pub priority: String,
    /// Where the handler holds the role that made them eligible.
    pub assigned_node_id: Option<GridNodeId>,
    /// The domain's snapshot.
    pub facts: CaseFacts,
    /// The policy in force for this case.
    pub sla: SlaPolicy,
    /// The targets' clocks.
    pub clocks: Clocks,
    /// How far each target has climbed.
    pub escalations: EscalationRecord,
    /// Whether it waits in the township centre's triage queue.
    pub in_triage: bool,
    /// Whether the handler is from a higher level for want of anyone eligible below.
    pub vacancy: bool,
}

type Row = (
    Uuid,
    Uuid,
    String,
    Uuid,
    String,
    String,
    Option<Uuid>,
    Option<serde_json::Value>,
    Option<serde_json::Value>,
    serde_json::Value,
    serde_json::Value,
    bool,
    bool,
);

/// Loads and locks a case of the transaction's tenant.
pub async fn load_for_update(tx: &mut TenantTx, id: CaseId) -> anyhow::Result<Option<CaseRecord>> {
    load(tx, id, false).await
}

/// Like [`load_for_update`], but `None` at once when someone else holds the case. The
/// timer scheduler uses it: it already holds its timers' locks, and an action holding
/// the case waits for those, so waiting here would deadlock.
pub async fn try_load_for_update(
    tx: &mut TenantTx,
    id: CaseId,
) -> anyhow::Result<Option<CaseRecord>> {
    load(tx, id, true).await
}

async fn load(
    tx: &mut TenantTx,
    id: CaseId,
    skip_locked: bool,
) -> anyhow::Result<Option<CaseRecord>> {
    let sql = if skip_locked {
        "SELECT id, report_id, tracking_number, grid_node_id, category, priority, assigned_node_id, \
             facts, sla, clocks, escalations, in_triage, vacancy \
         FROM routing.cases WHERE tenant_id = $1 AND id = $2 FOR UPDATE SKIP LOCKED"
    } else {
        "SELECT id, report_id, tracking_number, grid_node_id, category, priority, assigned_node_id, \
             facts, sla, clocks, escalations, in_triage, vacancy \
         FROM routing.cases WHERE tenant_id = $1 AND id = $2 FOR UPDATE"
    };
    let row: Option<Row> = sqlx::query_as(sql)
        .bind(tx.tenant().as_uuid())
        .bind(id.as_uuid())
        .fetch_optional(&mut **tx)
        .await?;
    let Some((
        id,
        report,
        tracking,
        node,
        category,
        priority,
        assigned_node,
        facts,
        sla,
        clocks,
        escalations,
        in_triage,
        vacancy,
    )) = row
    else {
        return Ok(None);
    };
    let id = CaseId::from_uuid(id);
    Ok(Some(CaseRecord {
        id,
        report_id: ReportId::from_uuid(report),
        tracking_number: tracking,
        grid_node_id: GridNodeId::from_uuid(node),
        category,
        priority: priority.clone(),
        assigned_node_id: assigned_node.map(GridNodeId::from_uuid),
        facts: match facts {
            Some(f) => serde_json::from_value(f)?,
            None => CaseFacts::new(id),
        },
        sla: match sla {
            Some(s) => serde_json::from_value(s)?,
            None if priority == "urgent" => SlaPolicy::urgent(),
            None => SlaPolicy::standard(),
        },
        clocks: serde_json::from_value(clocks).unwrap_or_default(),
        escalations: serde_json::from_value(escalations).unwrap_or_default(),
        in_triage,
        vacancy,
    }))
}

/// The deadlines shown with a case (the breach point of each running target).
#[derive(Clone, Copy, Debug, Default)]
pub struct Deadlines {
    /// First response due.
    pub first_response: Option<DateTime<Utc>>,
    /// Resolution due.
    pub resolution: Option<DateTime<Utc>>,
    /// Follow-up due.
    pub follow_up: Option<DateTime<Utc>>,
    /// Whether any was computed on an unpublished year.
    pub provisional: bool,
}

/// Writes a changed case back.
pub async fn save(
    tx: &mut TenantTx,
    record: &CaseRecord,
    deadlines: Deadlines,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let f = &record.facts;
    sqlx::query(
        "UPDATE routing.cases SET state = $3, assignee_id = $4, assigned_node_id = $5, version = $6, facts = $7, \
             sla = $8, clocks = $9, escalations = $10, in_triage = $11, vacancy = $19, \
             first_response_due = coalesce($12, first_response_due), resolution_due = $13, follow_up_due = $14, \
             deadlines_provisional = $15, reopen_count = $16, updated_at = $17, \
             responded_at = CASE WHEN $18 THEN coalesce(responded_at, $17) ELSE responded_at END, \
             resolved_at = CASE WHEN $3 = 'resolved' THEN $17 ELSE resolved_at END, \
             closed_at = CASE WHEN $3 IN ('closed', 'invalid') THEN coalesce(closed_at, $17) ELSE NULL END \
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant().as_uuid())
    .bind(record.id.as_uuid())
    .bind(f.state.as_str())
    .bind(f.assignee.map(|u| u.as_uuid()))
    .bind(record.assigned_node_id.map(|n| n.as_uuid()))
    .bind(f.version)
    .bind(serde_json::to_value(f)?)
    .bind(serde_json::to_value(&record.sla)?)
    .bind(serde_json::to_value(&record.clocks)?)
    .bind(serde_json::to_value(record.escalations)?)
    .bind(record.in_triage)
    .bind(deadlines.first_response)
    .bind(deadlines.resolution)
    .bind(deadlines.follow_up)
    .bind(deadlines.provisional)
    .bind(i32::try_from(f.reopen_count).unwrap_or(i32::MAX))
    .bind(now)
    .bind(f.responded)
    .bind(record.vacancy)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
