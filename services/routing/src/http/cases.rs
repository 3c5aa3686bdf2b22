//! Cases, as staff read them.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use mashang_auth::Auth;
use mashang_auth::permissions::{Action, Target};
use mashang_domain::{CaseId, GridNodeId, UserId};
use mashang_http::{ApiError, ApiJson};

use super::{allow, tenant_tx};
use crate::RoutingState;
use crate::cases::read::{CaseView, load};
use crate::directory::nodes;

pub(super) fn routes() -> Router<RoutingState> {
    Router::new().route("/api/v1/cases/{id}", get(get_case))
}

/// `GET /api/v1/cases/{id}`: a case of the person's township that their roles reach.
async fn get_case(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<ApiJson<CaseView>, ApiError> {
    let id: CaseId = id.parse().map_err(|_| ApiError::NotFound)?;
    let mut tx = tenant_tx(&state, &principal).await?;
    let case = load(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    let ancestry = nodes::ancestry(&mut tx, GridNodeId::from_uuid(case.grid_node_id)).await?;
    allow(
        &principal,
        Action::ViewCase,
        Target::Case {
            ancestry: &ancestry,
            assignee: case.assignee_id.map(UserId::from_uuid),
        },
    )?;
    let mut case = case;
    // The full number only for the person who must call back; every such view is audited.
    if let Some(me) = principal.user()
        && case.assignee_id == Some(me.as_uuid())
        && let Some(phone) = crate::cases::read::unmask_phone(&mut tx, &state.pii_key, id, me)
            .await
            .map_err(ApiError::internal)?
    {
        case.contact_phone = Some(phone);
        case.contact_phone_unmasked = true;
    }
    tx.commit().await?;
    Ok(ApiJson(case))
}
