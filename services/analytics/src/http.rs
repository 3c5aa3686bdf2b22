//! Analytics' HTTP surface.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::State;
use mashang_auth::permissions::{Action, Target, authorize};
use mashang_auth::{Auth, PrincipalKind};
use mashang_db::SystemScope;
use mashang_domain::TenantId;
use mashang_domain::events::EventType;
use mashang_http::openapi::{OperatorErrors, QueryErrors, StaffErrors, Unavailable};
use mashang_http::{ApiError, ApiJson, ApiQuery, Operator};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::counters::{for_county, for_tenant};
use crate::{AnalyticsState, stats_api};

/// Analytics' routes, each registered with its OpenAPI description.
pub fn routes() -> OpenApiRouter<AnalyticsState> {
    OpenApiRouter::new()
        .routes(routes!(summary))
        .routes(routes!(ops_summary))
        .routes(routes!(stats_api::township))
        .routes(routes!(stats_api::township_cases))
        .routes(routes!(stats_api::county))
        .routes(routes!(stats_api::county_cases))
        .routes(routes!(stats_api::league))
        .merge(crate::report::routes())
        .merge(crate::pages::routes())
        .merge(crate::exports::routes())
}

/// Analytics' router.
pub fn router(state: AnalyticsState) -> Router {
    routes().split_for_parts().0.with_state(state)
}

/// Analytics' part of the OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().into_openapi()
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct SummaryQuery {
    /// One township (the county's staff and the operator; a township's staff always
    /// see their own).
    tenant_id: Option<TenantId>,
}

/// One township's figures.
#[derive(Debug, Serialize, ToSchema)]
struct TenantSummary {
    tenant_id: Uuid,
    submitted: i64,
    assigned: i64,
    events: BTreeMap<String, i64>,
}

impl TenantSummary {
    fn new(tenant_id: Uuid, events: BTreeMap<String, i64>) -> Self {
        let count = |t: EventType| events.get(t.as_str()).copied().unwrap_or(0);
        Self {
            tenant_id,
            submitted: count(EventType::ReportSubmitted),
            assigned: count(EventType::CaseAssigned),
            events,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
enum Summary {
    Tenant(TenantSummary),
    County { tenants: Vec<TenantSummary> },
}

/// `GET /api/v1/stats/summary`: a township's staff see their township; the county's
/// staff see every township side by side (or one, with `tenant_id`).
#[utoipa::path(get, path = "/api/v1/stats/summary", tag = "analytics", params(SummaryQuery),
    responses(
        (status = 200, description = "事件计数 (Event counts: the township's, or every township's for the county)", body = Summary),
        StaffErrors, QueryErrors, Unavailable,
    ))]
async fn summary(
    State(state): State<AnalyticsState>,
    Auth(principal): Auth,
    ApiQuery(q): ApiQuery<SummaryQuery>,
) -> Result<ApiJson<Summary>, ApiError> {
    match principal.kind {
        PrincipalKind::County { .. } => {
            authorize(&principal, Action::ViewCounty, Target::County)?;
            read(&state, q.tenant_id).await
        }
        _ => {
            authorize(&principal, Action::ViewStats, Target::Township)?;
            read(&state, Some(principal.require_tenant()?)).await
        }
    }
}

/// `GET /api/v1/ops/stats/summary`: the same figures for operations automation, with
/// the operator token (no staff sign-in).
#[utoipa::path(get, path = "/api/v1/ops/stats/summary", tag = "analytics", params(SummaryQuery),
    security(("operator" = [])),
    responses(
        (status = 200, description = "事件计数 (Event counts, for operations automation)", body = Summary),
        OperatorErrors, QueryErrors, Unavailable,
    ))]
async fn ops_summary(
    _operator: Operator,
    State(state): State<AnalyticsState>,
    ApiQuery(q): ApiQuery<SummaryQuery>,
) -> Result<ApiJson<Summary>, ApiError> {
    read(&state, q.tenant_id).await
}

async fn read(
    state: &AnalyticsState,
    tenant: Option<TenantId>,
) -> Result<ApiJson<Summary>, ApiError> {
    match tenant {
        Some(tenant) => {
            let mut tx = state.db.tenant(tenant).await?;
            let events = for_tenant(&mut tx).await?;
            tx.commit().await?;
            Ok(ApiJson(Summary::Tenant(TenantSummary::new(
                tenant.as_uuid(),
                events,
            ))))
        }
        None => {
            let mut tx = state.db.system(SystemScope::CountyRead).await?;
            let all = for_county(&mut tx).await?;
            tx.commit().await?;
            let tenants = all
                .into_iter()
                .map(|(tenant, events)| TenantSummary::new(tenant, events))
                .collect();
            Ok(ApiJson(Summary::County { tenants }))
        }
    }
}
