//! `GET /console/follow-ups`: 回访, resolved cases awaiting the follow-up call, the
//! soonest due first, each with the citizen's number (masked unless the audited
//! reveal allows it) and the follow-up form posting to the case's action endpoint.
//! Cases the viewer handled are left out: the handler never checks their own work.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use mashang_domain::CaseId;
use uuid::Uuid;

use super::centre_names::{Desk, Names, left_zh, require};
use super::layout::{Chrome, PageError, Staff, render};
use crate::RoutingState;
use crate::cases::read::{load, with_contact};
use mashang_http::openapi::{Html, PageErrors};

/// The most cases listed.
const SHOWN: i64 = 50;

struct FollowUp {
    id: Uuid,
    tracking_number: String,
    version: i64,
    category: String,
    grid: String,
    description: String,
    handler: String,
    resolved_at: String,
    due: String,
    late: bool,
    contact_name: String,
    phone: Option<String>,
    phone_full: bool,
    resolution: String,
}

#[derive(Template)]
#[template(path = "centre/follow_ups.html")]
struct FollowUpsPage {
    chrome: Chrome,
    cases: Vec<FollowUp>,
}

/// `GET /console/follow-ups`.
#[utoipa::path(get, path = "/console/follow-ups", tag = "pages", operation_id = "get_console_follow_ups",
    summary = "待回访 (Cases waiting for a follow-up)",
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        PageErrors,
    ))]
pub(super) async fn page(
    State(state): State<RoutingState>,
    staff: Staff,
) -> Result<Response, PageError> {
    require(&staff, Desk::Centre)?;
    let me = staff.principal.user();
    let mut tx = state.db.tenant(staff.tenant).await?;
    // Cases whose timeline names the viewer as their actor on a handling step, or as
    // their assignee, are theirs.
    let rows: Vec<(Uuid, Option<DateTime<Utc>>)> = sqlx::query_as(
        "SELECT c.id, c.follow_up_due FROM routing.cases c \
         WHERE c.tenant_id = $1 AND c.state = 'resolved' \
           AND ($2::uuid IS NULL OR (c.assignee_id IS DISTINCT FROM $2 AND NOT EXISTS ( \
               SELECT 1 FROM routing.case_timeline tl WHERE tl.tenant_id = c.tenant_id AND tl.case_id = c.id \
                 AND tl.actor_id = $2 AND tl.action IN ('acknowledge', 'start', 'resolve', 'pause', 'resume')))) \
         ORDER BY c.follow_up_due NULLS LAST, c.id LIMIT $3",
    )
    .bind(staff.tenant.as_uuid())
    .bind(me.map(|u| u.as_uuid()))
    .bind(SHOWN)
    .fetch_all(&mut *tx)
    .await?;
    let mut views = Vec::new();
    for (id, _) in &rows {
        if let Some(mut v) = load(&mut tx, CaseId::from_uuid(*id)).await? {
            // Masked unless the audited reveal allows the full number to this viewer.
            with_contact(&mut tx, &state.pii_key, &mut v, me)
                .await
                .map_err(PageError::Internal)?;
            views.push(v);
        }
    }
    let names = Names::load(&mut tx).await?;
    tx.commit().await?;
    let now = Utc::now();
    let cases = views
        .into_iter()
        .map(|v| {
            let resolution = v
                .timeline
                .iter()
                .rev()
                .find(|e| e.action == "resolve")
                .and_then(|e| {
                    e.details["summary"]
                        .as_str()
                        .or(e.details["measures"].as_str())
                })
                .unwrap_or("")
                .to_owned();
            FollowUp {
                id: v.id,
                tracking_number: v.tracking_number,
                version: v.version,
                category: names.category(&v.category),
                grid: names.grid(v.grid_node_id),
                description: v.description.chars().take(200).collect(),
                handler: names.person(v.assignee_id),
                resolved_at: v.resolved_at.map(|d| names.when(d)).unwrap_or_default(),
                due: left_zh(v.follow_up_due, now),
                late: v.follow_up_due.is_some_and(|d| d < now),
                contact_name: v.contact_name.unwrap_or_default(),
                phone: v.contact_phone,
                phone_full: v.contact_phone_unmasked,
                resolution,
            }
        })
        .collect();
    let page = FollowUpsPage {
        chrome: staff.chrome,
        cases,
    };
    Ok(render(StatusCode::OK, &page))
}
