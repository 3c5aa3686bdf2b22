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
    /// `normal` or `urgent`.
    pub priority: String,
    /// When the first response is due (while that clock runs).
    pub first_response_due: Option<DateTime<Utc>>,
    /// When the resolution is due (while that clock runs).
    pub resolution_due: Option<DateTime<Utc>>,
    /// When the follow-up is due (after resolution).
    pub follow_up_due: Option<DateTime<Utc>>,
    /// Whether a deadline was computed on plain weekdays because its year's official
    /// schedule is not yet published.
    pub deadlines_provisional: bool,
    /// When the citizen was first contacted.
    pub responded_at: Option<DateTime<Utc>>,
    /// When it was last resolved.
    pub resolved_at: Option<DateTime<Utc>>,
    /// When it was closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// How often it was reopened.
    pub reopen_count: i32,
    /// Whether it waits in the township centre's triage queue.
    pub in_triage: bool,
    /// When the township centre sent it to the county (督办).
    pub county_requested_at: Option<DateTime<Utc>>,
    /// The deadline the county set, if any.
    pub county_deadline: Option<DateTime<Utc>>,
    /// The name the citizen gave (read from intake's report, see [`with_contact`]).
    #[sqlx(skip)]
    pub contact_name: Option<String>,
    /// The citizen's phone: in full for the assignee (each view audited), else masked.
    #[sqlx(skip)]
    pub contact_phone: Option<String>,
    /// Whether `contact_phone` is the full number.
    #[sqlx(skip)]
    pub contact_phone_unmasked: bool,
    /// Where, if the citizen shared it.
    pub lat: Option<f64>,
    /// Where, if the citizen shared it.
    pub lng: Option<f64>,
    /// Photos and voice notes (ids, types, sizes).
    pub attachments: serde_json::Value,
    /// `qr`, `assisted` or `api` (Open311).
    pub channel: String,
    /// Flags raised at intake (`burst`).
    pub flags: Vec<String>,
    /// People added as supervisors by escalation.
    #[sqlx(skip)]
    pub supervisors: Vec<Uuid>,
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
             assignee_id, assigned_node_id, vacancy, version, submitted_at, priority, first_response_due, \
             resolution_due, follow_up_due, deadlines_provisional, responded_at, resolved_at, closed_at, \
             reopen_count, in_triage, county_requested_at, county_deadline, lat, lng, attachments, channel, flags \
         FROM routing.cases WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant().as_uuid())
    .bind(id.as_uuid())
    .fetch_optional(&mut **tx)
    .await?;
    let Some(mut case) = case else {
        return Ok(None);
    };
    let supervisors: Vec<(Uuid,)> = sqlx::query_as(
        "SELECT user_id FROM routing.case_supervisors WHERE tenant_id = $1 AND case_id = $2 ORDER BY added_at",
    )
    .bind(tx.tenant().as_uuid())
    .bind(id.as_uuid())
    .fetch_all(&mut **tx)
    .await?;
    case.supervisors = supervisors.into_iter().map(|(u,)| u).collect();
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

/// Fills in the citizen's contact details, read where intake keeps them (they never
/// travel on the bus): the name, and the phone masked, or in full for `assignee` (the
/// person who must call back; each such view is audited).
pub async fn with_contact(
    tx: &mut TenantTx,
    key: &mashang_auth::PiiKey,
    case: &mut CaseView,
    assignee: Option<mashang_domain::UserId>,
) -> Result<(), anyhow::Error> {
    let row: Option<(Option<String>, Option<Vec<u8>>)> =
        sqlx::query_as("SELECT contact_name, contact_phone_sealed FROM intake.citizen_contact($1)")
            .bind(case.report_id)
            .fetch_optional(&mut **tx)
            .await?;
    let Some((name, sealed)) = row else {
        return Ok(());
    };
    case.contact_name = name;
    let Some(sealed) = sealed else {
        return Ok(());
    };
    // A value that does not open here (sealed for another row or township, or under
    // another key) shows no number; the case still shows.
    let phone = match key.open_bound(
        &sealed,
        tx.tenant().as_uuid(),
        case.report_id,
        "contact_phone",
    ) {
        Ok(phone) => phone,
        Err(err) => {
            tracing::warn!(case_id = %case.id, error = %err, "a citizen's phone does not open for its report");
            return Ok(());
        }
    };
    let full = assignee.is_some_and(|me| case.assignee_id == Some(me.as_uuid()));
    if let Some(me) = assignee.filter(|_| full) {
        sqlx::query(
            "INSERT INTO routing.pii_views (id, tenant_id, case_id, viewer_id, field) VALUES ($1, $2, $3, $4, 'contact_phone')",
        )
        .bind(Uuid::now_v7())
        .bind(tx.tenant().as_uuid())
        .bind(case.id)
        .bind(me.as_uuid())
        .execute(&mut **tx)
        .await?;
        case.contact_phone = Some(phone);
        case.contact_phone_unmasked = true;
    } else {
        case.contact_phone = Some(
            mashang_domain::PhoneNumber::parse(&phone)
                .map(|p| p.masked())
                .unwrap_or_else(|_| "***".to_owned()),
        );
        case.contact_phone_unmasked = false;
    }
    Ok(())
}
