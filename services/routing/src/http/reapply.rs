//! Re-applying the current SLA policy to an open case. A policy change applies to new
//! cases only; an administrator can bring an open case under it explicitly, and the
//! timeline then shows the deadlines before and after.

use axum::extract::{Path, State};
use chrono::Utc;
use mashang_auth::Auth;
use mashang_auth::permissions::{Action, Target};
use mashang_domain::CaseId;
use mashang_domain::sla::TargetKind;
use mashang_http::{ApiError, ApiJson};
use serde_json::json;
use uuid::Uuid;

use super::{allow, tenant_tx};
use crate::RoutingState;
use crate::cases::read::{CaseView, load};
use crate::workflow::{calendar, policy, record, timers};
use mashang_http::openapi::{ConflictError, NotFoundError, StaffErrors, Unavailable};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn routes() -> OpenApiRouter<RoutingState> {
    OpenApiRouter::new().routes(routes!(reapply))
}

/// `POST /api/v1/cases/{id}/reapply-policy`: the case takes the policy now in force for
/// its category and priority; its running clocks keep their start and pauses, the
/// deadlines and pending reminders are recomputed, and points already fired stay fired.
#[utoipa::path(post, path = "/api/v1/cases/{id}/reapply-policy", tag = "cases", operation_id = "post_api_v1_cases_id_reapply_policy",
    summary = "重新套用时限 (Applies the current SLA policy to an open case)",
    params(("id" = uuid::Uuid, Path, description = "The case")),
    responses(
        (status = 200, description = "事件 (The case)", body = Object),
        StaffErrors,
        NotFoundError,
        Unavailable,
        ConflictError,
    ))]
async fn reapply(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<ApiJson<CaseView>, ApiError> {
    let id: CaseId = id.parse().map_err(|_| ApiError::NotFound)?;
    reapply_policy(&state, &principal, id).await.map(ApiJson)
}

/// Brings case `id` under the policy now in force, for `principal` (the console's
/// form calls this too): the case as it is afterwards, the phone masked.
pub(crate) async fn reapply_policy(
    state: &RoutingState,
    principal: &mashang_auth::Principal,
    id: CaseId,
) -> Result<CaseView, ApiError> {
    let mut tx = tenant_tx(state, principal).await?;
    let mut case = record::load_for_update(&mut tx, id)
        .await
        .map_err(ApiError::internal)?
        .ok_or(ApiError::NotFound)?;
    // Another township's case is not found, whoever asks; then the role decides.
    allow(principal, Action::ConfigureRouting, Target::Township)?;
    if case.facts.state.is_final() {
        return Err(ApiError::Conflict(
            "案件已结束，不再计时 (the case is finished; it has no deadlines to change)".into(),
        ));
    }
    let before = load(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    let previous = case.sla.clone();
    case.sla = policy::pick(&mut tx, &case.category, &case.priority)
        .await
        .map_err(ApiError::internal)?;
    let calendar = calendar::load(&mut tx).await.map_err(ApiError::internal)?;
    let now = Utc::now();
    let deadlines = timers::reschedule(&mut tx, &case, &calendar, &TargetKind::ALL)
        .await
        .map_err(ApiError::internal)?;
    record::save(&mut tx, &case, deadlines, now)
        .await
        .map_err(ApiError::internal)?;
    // The deadlines as stored, to the precision they are shown with.
    let after = load(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    let details = json!({
        "previous_policy": previous,
        "policy": case.sla,
        "before": {
            "first_response_due": before.first_response_due,
            "resolution_due": before.resolution_due,
            "follow_up_due": before.follow_up_due,
        },
        "after": {
            "first_response_due": after.first_response_due,
            "resolution_due": after.resolution_due,
            "follow_up_due": after.follow_up_due,
            "provisional": after.deadlines_provisional,
        },
    });
    sqlx::query(
        "INSERT INTO routing.case_timeline (id, tenant_id, case_id, action, actor_id, details, occurred_at) \
         VALUES ($1, $2, $3, 'policy_reapplied', $4, $5, $6)",
    )
    .bind(Uuid::now_v7())
    .bind(tx.tenant().as_uuid())
    .bind(id.as_uuid())
    .bind(principal.user().map(|u| u.as_uuid()))
    .bind(details)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let mut view = load(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    crate::cases::read::with_contact(&mut tx, &state.pii_key, &mut view, None)
        .await
        .map_err(ApiError::internal)?;
    tx.commit().await?;
    Ok(view)
}
