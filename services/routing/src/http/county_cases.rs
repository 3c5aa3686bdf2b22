//! 督办: a township centre asks the county to supervise a case; the county's centre
//! sees the cases sent up, comments on them and sets the township a deadline.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use mashang_auth::Auth;
use mashang_auth::permissions::{Action, Target};
use mashang_domain::case::Actor;
use mashang_domain::events::EventType;
use mashang_domain::{CaseId, TenantCode, TenantId};
use mashang_http::{ApiError, ApiJson};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{allow, tenant_tx};
use crate::RoutingState;
use crate::directory::{nodes, tenants};
use crate::workflow::act::{emit, township_centre};
use crate::workflow::record::load_for_update;

pub(super) fn routes() -> Router<RoutingState> {
    Router::new()
        .route("/api/v1/cases/{id}/county-request", post(request))
        .route("/api/v1/county/cases", get(list))
        .route("/api/v1/county/tenants/{code}/cases/{id}/notes", post(note))
}

#[derive(Debug, Deserialize)]
struct RequestBody {
    note: Option<String>,
}

/// `POST /api/v1/cases/{id}/county-request`: the township centre sends a case up.
async fn request(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RequestBody>,
) -> Result<StatusCode, ApiError> {
    let id: CaseId = id.parse().map_err(|_| ApiError::NotFound)?;
    request_county(&state, &principal, id, body.note).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends a case up to the county for `principal` (the console's form calls this too).
pub(crate) async fn request_county(
    state: &RoutingState,
    principal: &mashang_auth::Principal,
    id: CaseId,
    note: Option<String>,
) -> Result<(), ApiError> {
    let body = RequestBody { note };
    let mut tx = tenant_tx(state, principal).await?;
    let record = load_for_update(&mut tx, id)
        .await
        .map_err(ApiError::internal)?
        .ok_or(ApiError::NotFound)?;
    let ancestry = nodes::ancestry(&mut tx, record.grid_node_id).await?;
    allow(
        principal,
        Action::RequestCounty,
        Target::Case {
            ancestry: &ancestry,
            assignee: record.facts.assignee,
        },
    )?;
    if body.note.as_ref().is_some_and(|n| n.chars().count() > 500) {
        return Err(ApiError::field(
            "note",
            "最多500字 (at most 500 characters)",
        ));
    }
    let done = sqlx::query(
        "UPDATE routing.cases SET county_requested_at = now() WHERE tenant_id = $1 AND id = $2 AND county_requested_at IS NULL",
    )
    .bind(tx.tenant().as_uuid())
    .bind(id.as_uuid())
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(ApiError::Conflict(
            "已申请县级督办 (already sent to the county)".into(),
        ));
    }
    sqlx::query(
        "INSERT INTO routing.case_timeline (id, tenant_id, case_id, action, actor_id, details, occurred_at) \
         VALUES ($1, $2, $3, 'county_request', $4, $5, now())",
    )
    .bind(Uuid::now_v7())
    .bind(tx.tenant().as_uuid())
    .bind(id.as_uuid())
    .bind(principal.user().map(|u| u.as_uuid()))
    .bind(json!({"note": body.note}))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A case a township sent up, as the county's list shows it.
#[derive(sqlx::FromRow)]
struct SentUp {
    id: Uuid,
    tracking_number: String,
    category: String,
    state: String,
    county_requested_at: Option<DateTime<Utc>>,
    county_deadline: Option<DateTime<Utc>>,
    resolution_due: Option<DateTime<Utc>>,
}

/// `GET /api/v1/county/cases`: every township's cases sent up to the county.
async fn list(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
) -> Result<ApiJson<Value>, ApiError> {
    allow(&principal, Action::SuperviseCase, Target::County)?;
    let mut out = Vec::new();
    for tenant in tenants::list_tenants(&state.db).await? {
        let mut tx = state.db.tenant(TenantId::from_uuid(tenant.id)).await?;
        let rows: Vec<SentUp> = sqlx::query_as(
                "SELECT id, tracking_number, category, state, county_requested_at, county_deadline, resolution_due \
                 FROM routing.cases WHERE tenant_id = $1 AND county_requested_at IS NOT NULL ORDER BY county_requested_at",
            )
            .bind(tenant.id)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        for row in rows {
            out.push(json!({
                "tenant": {"code": tenant.code, "name": tenant.name},
                "id": row.id, "tracking_number": row.tracking_number, "category": row.category, "state": row.state,
                "county_requested_at": row.county_requested_at, "county_deadline": row.county_deadline,
                "resolution_due": row.resolution_due,
            }));
        }
    }
    Ok(ApiJson(json!({"cases": out})))
}

#[derive(Debug, Deserialize)]
struct NoteBody {
    body: String,
    deadline: Option<DateTime<Utc>>,
}

/// `POST /api/v1/county/tenants/{code}/cases/{id}/notes`: a county comment, optionally
/// with a deadline for the township; the township centre and the handler are told.
async fn note(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    Path((code, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<NoteBody>,
) -> Result<(StatusCode, ApiJson<Value>), ApiError> {
    allow(&principal, Action::SuperviseCase, Target::County)?;
    let code = TenantCode::parse(&code).map_err(|_| ApiError::NotFound)?;
    let tenant = tenants::tenant_by_code(&state.db, &code)
        .await?
        .ok_or(ApiError::NotFound)?;
    let id: CaseId = id.parse().map_err(|_| ApiError::NotFound)?;
    let text = body.body.trim();
    if text.is_empty() || text.chars().count() > 2000 {
        return Err(ApiError::field("body", "1到2000字 (1 to 2000 characters)"));
    }
    let author = principal.user().ok_or(ApiError::Unauthorized)?;
    let mut tx = state.db.tenant(tenant.id).await?;
    let record = load_for_update(&mut tx, id)
        .await
        .map_err(ApiError::internal)?
        .ok_or(ApiError::NotFound)?;
    let requested: (Option<DateTime<Utc>>,) = sqlx::query_as(
        "SELECT county_requested_at FROM routing.cases WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.id.as_uuid())
    .bind(id.as_uuid())
    .fetch_one(&mut *tx)
    .await?;
    if requested.0.is_none() {
        // The county reaches a case only when the township sent it up.
        return Err(ApiError::NotFound);
    }
    let note_id = Uuid::now_v7();
    sqlx::query("INSERT INTO routing.county_notes (id, tenant_id, case_id, author_id, body, deadline) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(note_id)
        .bind(tenant.id.as_uuid())
        .bind(id.as_uuid())
        .bind(author.as_uuid())
        .bind(text)
        .bind(body.deadline)
        .execute(&mut *tx)
        .await?;
    if let Some(deadline) = body.deadline {
        sqlx::query(
            "UPDATE routing.cases SET county_deadline = $3 WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant.id.as_uuid())
        .bind(id.as_uuid())
        .bind(deadline)
        .execute(&mut *tx)
        .await?;
    }
    let details = json!({"county_note": text, "deadline": body.deadline});
    sqlx::query(
        "INSERT INTO routing.case_timeline (id, tenant_id, case_id, action, actor_id, details, occurred_at) \
         VALUES ($1, $2, $3, 'county_note', $4, $5, now())",
    )
    .bind(Uuid::now_v7())
    .bind(tenant.id.as_uuid())
    .bind(id.as_uuid())
    .bind(author.as_uuid())
    .bind(&details)
    .execute(&mut *tx)
    .await?;
    let mut notify = township_centre(&mut tx).await.map_err(ApiError::internal)?;
    notify.extend(record.facts.assignee);
    emit(
        &mut tx,
        &record,
        EventType::CaseEscalated,
        "county_note",
        &Actor::System,
        details,
        notify,
        Utc::now(),
    )
    .await
    .map_err(ApiError::internal)?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(json!({"id": note_id}))))
}
