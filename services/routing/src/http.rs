//! Routing's HTTP surface.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use mashang_domain::{CaseId, TenantId};
use mashang_http::{ApiError, ApiJson, ApiQuery, Operator};
use serde::Deserialize;

use crate::RoutingState;
use crate::cases::read::{CaseView, load};

/// Routing's routes.
pub fn router(state: RoutingState) -> Router {
    Router::new()
        .route("/api/v1/cases/{id}", get(get_case))
        .with_state(state)
}

/// Until staff sign-in exists, the operator names the tenant explicitly.
#[derive(Debug, Deserialize)]
struct TenantParam {
    tenant_id: TenantId,
}

#[tracing::instrument(skip_all, fields(tenant_id = %q.tenant_id))]
async fn get_case(
    _operator: Operator,
    State(state): State<RoutingState>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<TenantParam>,
) -> Result<ApiJson<CaseView>, ApiError> {
    let id: CaseId = id.parse().map_err(|_| ApiError::NotFound)?;
    let mut tx = state.db.tenant(q.tenant_id).await?;
    let case = load(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok(ApiJson(case))
}
