//! Extension requests over HTTP: a handler asks on their case
//! (`POST /api/v1/cases/{id}/extension-requests` `{reason, until}`), the township
//! centre decides (`POST /api/v1/extension-requests/{id}/approve|reject` `{note}`).
//! The console's forms call [`ask`] and [`decide`] too.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::Utc;
use mashang_auth::permissions::{Action as Permission, Target};
use mashang_auth::{Auth, Principal};
use mashang_domain::{CaseId, UserId};
use mashang_http::{ApiError, ApiJson};
use serde::Deserialize;
use uuid::Uuid;

use super::{allow, tenant_tx};
use crate::RoutingState;
use crate::directory::nodes;
use crate::workflow::extension::{self, ExtensionError};
use crate::workflow::{calendar, record};
use mashang_http::openapi::{
    ConflictError, JsonBodyErrors, NotFoundError, StaffErrors, Unavailable,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn routes() -> OpenApiRouter<RoutingState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(decision))
}

/// The body of a request.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct AskBody {
    /// Why more time is needed.
    pub reason: String,
    /// The proposed resolution deadline: RFC 3339, or local `2026-12-10T17:00`.
    pub until: String,
}

/// The body of a decision.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub(crate) struct DecideBody {
    /// Why (required to reject).
    #[serde(default)]
    pub note: String,
}

/// An extension refusal as an HTTP problem.
pub(crate) fn problem(err: ExtensionError) -> ApiError {
    match err {
        ExtensionError::Field { field, message } => ApiError::field(field, message),
        ExtensionError::Conflict(m) => ApiError::Conflict(m),
        ExtensionError::Forbidden(m) => ApiError::Forbidden(m),
        ExtensionError::NotFound => ApiError::NotFound,
        ExtensionError::Other(e) => ApiError::internal(e),
    }
}

fn user_of(principal: &Principal) -> Result<UserId, ApiError> {
    principal.user().ok_or_else(|| {
        ApiError::Forbidden(
            "案件操作须由本乡镇工作人员进行 (cases are worked by a township's staff)".into(),
        )
    })
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/extension-requests", tag = "cases", operation_id = "post_api_v1_cases_id_extension_requests",
    summary = "申请延期 (Asks for more time on a case)",
    params(("id" = uuid::Uuid, Path, description = "The case")),
    request_body(content = AskBody, content_type = "application/json"),
    responses(
        (status = 201, description = "已申请 (Asked)", body = Object),
        StaffErrors,
        NotFoundError,
        JsonBodyErrors,
        Unavailable,
        ConflictError,
    ))]
async fn create(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AskBody>,
) -> Result<(StatusCode, ApiJson<serde_json::Value>), ApiError> {
    let id: CaseId = id.parse().map_err(|_| ApiError::NotFound)?;
    let request = ask(&state, &principal, id, &body).await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(serde_json::json!({"id": request, "case_id": id, "status": "pending"})),
    ))
}

/// Files a request on case `id` for a person who may work it.
pub(crate) async fn ask(
    state: &RoutingState,
    principal: &Principal,
    id: CaseId,
    body: &AskBody,
) -> Result<Uuid, ApiError> {
    let user = user_of(principal)?;
    let mut tx = tenant_tx(state, principal).await?;
    let case = record::load_for_update(&mut tx, id)
        .await
        .map_err(ApiError::internal)?
        .ok_or(ApiError::NotFound)?;
    let ancestry = nodes::ancestry(&mut tx, case.grid_node_id).await?;
    allow(
        principal,
        Permission::WorkCase,
        Target::Case {
            ancestry: &ancestry,
            assignee: case.facts.assignee,
        },
    )?;
    let zone = calendar::load(&mut tx)
        .await
        .map_err(ApiError::internal)?
        .zone();
    let until = extension::parse_until(&body.until, zone).map_err(problem)?;
    let request = extension::request(&mut tx, &case, user, &body.reason, until, Utc::now())
        .await
        .map_err(problem)?;
    tx.commit().await?;
    Ok(request)
}

#[utoipa::path(post, path = "/api/v1/extension-requests/{id}/{decision}", tag = "cases", operation_id = "post_api_v1_extension_requests_id_decision",
    summary = "批准或驳回延期 (Approves or rejects an extension request)",
    params(("id" = uuid::Uuid, Path, description = "The request"), ("decision" = String, Path, max_length = 100, description = "`approve` or `reject`")),
    request_body(content = DecideBody, content_type = "application/json"),
    responses(
        (status = 200, description = "已决定 (Decided)", body = Object),
        StaffErrors,
        NotFoundError,
        JsonBodyErrors,
        Unavailable,
        ConflictError,
    ))]
async fn decision(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    Path((id, decision)): Path<(String, String)>,
    ApiJson(body): ApiJson<DecideBody>,
) -> Result<ApiJson<serde_json::Value>, ApiError> {
    let approve = match decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return Err(ApiError::NotFound),
    };
    let id: Uuid = id.parse().map_err(|_| ApiError::NotFound)?;
    let case = decide(&state, &principal, id, approve, &body.note).await?;
    Ok(ApiJson(serde_json::json!({
        "id": id,
        "case_id": case,
        "status": if approve { "approved" } else { "rejected" },
    })))
}

/// Approves or rejects request `id` for a person who may approve on its case;
/// answers the case's id.
pub(crate) async fn decide(
    state: &RoutingState,
    principal: &Principal,
    id: Uuid,
    approve: bool,
    note: &str,
) -> Result<Uuid, ApiError> {
    let user = user_of(principal)?;
    let mut tx = tenant_tx(state, principal).await?;
    let (case_id, _) = extension::pending(&mut tx, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    // The case first (the order every case change locks in), then the request again.
    let mut case = record::load_for_update(&mut tx, CaseId::from_uuid(case_id))
        .await
        .map_err(ApiError::internal)?
        .ok_or(ApiError::NotFound)?;
    let ancestry = nodes::ancestry(&mut tx, case.grid_node_id).await?;
    allow(
        principal,
        Permission::ApproveInvalid,
        Target::Case {
            ancestry: &ancestry,
            assignee: case.facts.assignee,
        },
    )?;
    let Some((_, Some(request))) = extension::pending(&mut tx, id).await? else {
        return Err(ApiError::Conflict(
            "该申请已经审批过了 (this request was already decided)".into(),
        ));
    };
    extension::decide(
        &mut tx,
        &mut case,
        &request,
        user,
        approve,
        note,
        Utc::now(),
    )
    .await
    .map_err(problem)?;
    tx.commit().await?;
    Ok(case_id)
}
