//! Analytics' HTTP surface.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use mashang_auth::permissions::{Action, Target, authorize};
use mashang_auth::{Auth, PrincipalKind};
use mashang_db::SystemScope;
use mashang_domain::TenantId;
use mashang_domain::events::EventType;
use mashang_http::{ApiError, ApiJson, ApiQuery, Operator};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::counters::{for_county, for_tenant};
use crate::{AnalyticsState, stats_api};

/// Analytics' routes.
pub fn router(state: AnalyticsState) -> Router {
    Router::new()
        .route("/api/v1/stats/summary", get(summary))
        .route("/api/v1/ops/stats/summary", get(ops_summary))
        .route("/api/v1/stats/township", get(stats_api::township))
        .route("/api/v1/stats/cases", get(stats_api::township_cases))
        .route("/api/v1/county/stats", get(stats_api::county))
        .route("/api/v1/county/stats/cases", get(stats_api::county_cases))
        .route("/api/v1/county/league", get(stats_api::league))
        .merge(crate::report::routes())
        .merge(crate::pages::routes())
        .merge(crate::exports::routes())
        .with_state(state)
}

#[derive(Debug, Deserialize)]
struct SummaryQuery {
    tenant_id: Option<TenantId>,
}

/// One township's figures.
#[derive(Debug, Serialize)]
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

#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Summary {
    Tenant(TenantSummary),
    County { tenants: Vec<TenantSummary> },
}

/// `GET /api/v1/stats/summary`: a township's staff see their township; the county's
/// staff see every township side by side (or one, with `tenant_id`).
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
