//! Analytics' HTTP surface.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use mashang_db::SystemScope;
use mashang_domain::TenantId;
use mashang_domain::events::EventType;
use mashang_http::{ApiError, ApiJson, ApiQuery, Operator};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::AnalyticsState;
use crate::counters::{for_county, for_tenant};

/// Analytics' routes.
pub fn router(state: AnalyticsState) -> Router {
    Router::new()
        .route("/api/v1/stats/summary", get(summary))
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

/// One tenant's figures with `tenant_id`, else every tenant's side by side (the
/// operator acts for the county).
async fn summary(
    _operator: Operator,
    State(state): State<AnalyticsState>,
    ApiQuery(q): ApiQuery<SummaryQuery>,
) -> Result<ApiJson<Summary>, ApiError> {
    match q.tenant_id {
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
