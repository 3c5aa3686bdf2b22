//! 督办: a township centre asks the county to supervise a case; the county's centre
//! sees the cases sent up, comments on them and sets the township a deadline.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use mashang_auth::Auth;
use mashang_auth::permissions::{Action, Target};
use mashang_domain::case::{Actor, CaseState};
use mashang_domain::events::EventType;
use mashang_domain::{CaseId, TenantCode, TenantId};
use mashang_http::{ApiError, ApiJson, FieldError};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{allow, tenant_tx};
use crate::RoutingState;
use crate::directory::{nodes, tenants};
use crate::workflow::act::{emit, township_centre};
use crate::workflow::county_deadline;
use crate::workflow::record::load_for_update;
use mashang_http::openapi::{
    ConflictError, JsonBodyErrors, NotFoundError, StaffErrors, Unavailable,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn routes() -> OpenApiRouter<RoutingState> {
    OpenApiRouter::new()
        .routes(routes!(request))
        .routes(routes!(list))
        .routes(routes!(note))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct RequestBody {
    note: Option<String>,
}

/// `POST /api/v1/cases/{id}/county-request`: the township centre sends a case up.
#[utoipa::path(post, path = "/api/v1/cases/{id}/county-request", tag = "cases", operation_id = "post_api_v1_cases_id_county_request",
    summary = "申请县级督办 (Sends a case up to the county)",
    params(("id" = uuid::Uuid, Path, description = "The case")),
    request_body(content = RequestBody, content_type = "application/json"),
    responses(
        (status = 204, description = "已上报 (Sent up)"),
        StaffErrors,
        NotFoundError,
        JsonBodyErrors,
        Unavailable,
        ConflictError,
    ))]
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

/// The most cases sent up listed per township (open ones first, then the newest).
pub(crate) const SENT_UP_PER_TOWNSHIP: i64 = 200;

/// A case a township sent up, as the county's list shows it.
#[derive(Clone, Debug, serde::Serialize, sqlx::FromRow)]
pub(crate) struct SentUp {
    pub id: Uuid,
    pub tracking_number: String,
    pub category: String,
    pub state: String,
    pub county_requested_at: Option<DateTime<Utc>>,
    pub county_deadline: Option<DateTime<Utc>>,
    pub county_reminded_at: Option<DateTime<Utc>>,
    pub county_overdue_at: Option<DateTime<Utc>>,
    pub resolution_due: Option<DateTime<Utc>>,
    /// The county's deadline passed unmet (the overdue timer fired).
    #[sqlx(skip)]
    pub overdue: bool,
    /// Seconds until the county's deadline (negative: past), while it is not met.
    #[sqlx(skip)]
    pub time_left_seconds: Option<i64>,
}

/// A township and its cases sent up.
#[derive(Clone, Debug)]
pub(crate) struct SentUpOf {
    pub tenant: tenants::TenantRow,
    pub cases: Vec<SentUp>,
}

/// Every township's cases sent up to the county (at most [`SENT_UP_PER_TOWNSHIP`]
/// each: those still open first, soonest county deadline first), for `principal`.
pub(crate) async fn sent_up(
    state: &RoutingState,
    principal: &mashang_auth::Principal,
) -> Result<Vec<SentUpOf>, ApiError> {
    allow(principal, Action::SuperviseCase, Target::County)?;
    let now = Utc::now();
    let mut out = Vec::new();
    for tenant in tenants::list_tenants(&state.db).await? {
        let mut tx = state.db.tenant(TenantId::from_uuid(tenant.id)).await?;
        let mut cases: Vec<SentUp> = sqlx::query_as(
            "SELECT id, tracking_number, category, state, county_requested_at, county_deadline, \
                    county_reminded_at, county_overdue_at, resolution_due \
             FROM routing.cases WHERE tenant_id = $1 AND county_requested_at IS NOT NULL \
             ORDER BY state IN ('resolved', 'followed_up', 'closed', 'invalid'), \
                      county_deadline NULLS LAST, county_requested_at DESC \
             LIMIT $2",
        )
        .bind(tenant.id)
        .bind(SENT_UP_PER_TOWNSHIP)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        for case in &mut cases {
            case.overdue = case.county_overdue_at.is_some();
            let met = CaseState::parse(&case.state).is_some_and(county_deadline::met);
            case.time_left_seconds = case
                .county_deadline
                .filter(|_| !met)
                .map(|d| (d - now).num_seconds());
        }
        out.push(SentUpOf { tenant, cases });
    }
    Ok(out)
}

/// `GET /api/v1/county/cases`: every township's cases sent up to the county.
#[utoipa::path(get, path = "/api/v1/county/cases", tag = "county", operation_id = "get_api_v1_county_cases",
    summary = "县级督办事件 (The cases sent up to the county)",
    responses(
        (status = 200, description = "事件 (The cases)", body = Object),
        StaffErrors,
        NotFoundError,
        Unavailable,
    ))]
async fn list(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
) -> Result<ApiJson<Value>, ApiError> {
    let mut out = Vec::new();
    for of in sent_up(&state, &principal).await? {
        for case in of.cases {
            let mut line = serde_json::to_value(&case).map_err(ApiError::internal)?;
            line["tenant"] = json!({"code": of.tenant.code, "name": of.tenant.name});
            out.push(line);
        }
    }
    Ok(ApiJson(json!({"cases": out})))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct NoteBody {
    body: String,
    /// RFC 3339, or the township's local `YYYY-MM-DDTHH:MM`.
    deadline: Option<String>,
}

/// The furthest ahead the county may set a deadline.
const MAX_DEADLINE_DAYS: i64 = 90;

/// The longest county note.
pub(crate) const MAX_NOTE_CHARS: usize = 2000;

/// `POST /api/v1/county/tenants/{code}/cases/{id}/notes`: a county comment, optionally
/// with a deadline for the township; the township centre and the handler are told.
#[utoipa::path(post, path = "/api/v1/county/tenants/{code}/cases/{id}/notes", tag = "county", operation_id = "post_api_v1_county_tenants_code_cases_id_notes",
    summary = "督办意见 (The county note on a case sent up, with an optional deadline)",
    params(("code" = String, Path, max_length = 100, description = "The township code"), ("id" = uuid::Uuid, Path, description = "The case")),
    request_body(content = NoteBody, content_type = "application/json"),
    responses(
        (status = 201, description = "已记录 (Recorded)", body = Object),
        StaffErrors,
        NotFoundError,
        JsonBodyErrors,
        Unavailable,
        ConflictError,
    ))]
async fn note(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    Path((code, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<NoteBody>,
) -> Result<(StatusCode, ApiJson<Value>), ApiError> {
    let note_id = add_note(
        &state,
        &principal,
        &code,
        &id,
        &body.body,
        body.deadline.as_deref(),
    )
    .await?;
    Ok((StatusCode::CREATED, ApiJson(json!({"id": note_id}))))
}

/// A case the county reaches: of the township `code`, sent up by it. Anything else,
/// including an unknown code or id, is 404.
pub(crate) async fn township_case(
    state: &RoutingState,
    code: &str,
    id: &str,
) -> Result<(tenants::Tenant, CaseId), ApiError> {
    let code = TenantCode::parse(code).map_err(|_| ApiError::NotFound)?;
    let tenant = tenants::tenant_by_code(&state.db, &code)
        .await?
        .ok_or(ApiError::NotFound)?;
    let id: CaseId = id.parse().map_err(|_| ApiError::NotFound)?;
    Ok((tenant, id))
}

/// Checks a note and a deadline before anything is written: the text, and the
/// deadline (read in `zone`) later than `now` and within [`MAX_DEADLINE_DAYS`].
fn check_note(
    body: &str,
    deadline: Option<&str>,
    zone: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> Result<(String, Option<DateTime<Utc>>), ApiError> {
    let mut errors = Vec::new();
    let text = body.trim();
    if text.is_empty() || text.chars().count() > MAX_NOTE_CHARS {
        errors.push(FieldError::new(
            "body",
            "批示内容为1到2000字 (1 to 2000 characters)",
        ));
    }
    let deadline = match deadline.map(str::trim).filter(|d| !d.is_empty()) {
        None => None,
        Some(raw) => match crate::workflow::extension::parse_until(raw, zone) {
            Ok(at) if at <= now => {
                errors.push(FieldError::new(
                    "deadline",
                    "期限须晚于现在 (the deadline must be in the future)",
                ));
                None
            }
            Ok(at) if at > now + chrono::Duration::days(MAX_DEADLINE_DAYS) => {
                errors.push(FieldError::new(
                    "deadline",
                    format!("期限最多设在 {MAX_DEADLINE_DAYS} 天以内 (at most {MAX_DEADLINE_DAYS} days ahead)"),
                ));
                None
            }
            Ok(at) => Some(at),
            Err(crate::workflow::extension::ExtensionError::Field { message, .. }) => {
                errors.push(FieldError::new("deadline", message));
                None
            }
            Err(other) => return Err(ApiError::internal(other)),
        },
    };
    if errors.is_empty() {
        Ok((text.to_owned(), deadline))
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// Adds the county's note to a case the township `code` sent up, and with `deadline`
/// sets (or replaces) the county's deadline and its timers; the township centre and
/// the handler are told. Returns the note's id.
pub(crate) async fn add_note(
    state: &RoutingState,
    principal: &mashang_auth::Principal,
    code: &str,
    id: &str,
    body: &str,
    deadline: Option<&str>,
) -> Result<Uuid, ApiError> {
    allow(principal, Action::SuperviseCase, Target::County)?;
    let (tenant, id) = township_case(state, code, id).await?;
    let zone: chrono_tz::Tz = tenant
        .time_zone
        .parse()
        .unwrap_or(chrono_tz::Asia::Shanghai);
    let now = Utc::now();
    let (text, deadline) = check_note(body, deadline, zone, now)?;
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
    if deadline.is_some() && county_deadline::met(record.facts.state) {
        return Err(ApiError::field(
            "deadline",
            "案件已办结，不再设期限 (the case is resolved; no deadline to set)",
        ));
    }
    let note_id = Uuid::now_v7();
    sqlx::query("INSERT INTO routing.county_notes (id, tenant_id, case_id, author_id, body, deadline) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(note_id)
        .bind(tenant.id.as_uuid())
        .bind(id.as_uuid())
        .bind(author.as_uuid())
        .bind(&text)
        .bind(deadline)
        .execute(&mut *tx)
        .await?;
    if let Some(deadline) = deadline {
        county_deadline::schedule(&mut tx, &record, deadline, now)
            .await
            .map_err(ApiError::internal)?;
    }
    let details = json!({"county_note": text, "deadline": deadline});
    sqlx::query(
        "INSERT INTO routing.case_timeline (id, tenant_id, case_id, action, actor_id, details, occurred_at) \
         VALUES ($1, $2, $3, 'county_note', $4, $5, $6)",
    )
    .bind(Uuid::now_v7())
    .bind(tenant.id.as_uuid())
    .bind(id.as_uuid())
    .bind(author.as_uuid())
    .bind(&details)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let mut notify = township_centre(&mut tx).await.map_err(ApiError::internal)?;
    if let Some(user) = record.facts.assignee
        && !notify.contains(&user)
    {
        notify.push(user);
    }
    emit(
        &mut tx,
        &record,
        EventType::CaseEscalated,
        "county_note",
        &Actor::System,
        details,
        notify,
        now,
    )
    .await
    .map_err(ApiError::internal)?;
    tx.commit().await?;
    Ok(note_id)
}
