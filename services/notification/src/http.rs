//! Notification's HTTP surface.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use mashang_domain::{TenantId, UserId};
use mashang_http::{ApiError, ApiJson, ApiQuery, Operator};
use serde::{Deserialize, Serialize};

use crate::NotificationState;
use crate::notices::{Notice, for_user};

/// Notification's routes.
pub fn router(state: NotificationState) -> Router {
    Router::new()
        .route("/api/v1/inbox", get(inbox))
        .with_state(state)
}

#[derive(Debug, Deserialize)]
struct InboxQuery {
    tenant_id: TenantId,
    user_id: UserId,
}

#[derive(Debug, Serialize)]
struct InboxPage {
    notices: Vec<Notice>,
}

#[tracing::instrument(skip_all, fields(tenant_id = %q.tenant_id))]
async fn inbox(
    _operator: Operator,
    State(state): State<NotificationState>,
    ApiQuery(q): ApiQuery<InboxQuery>,
) -> Result<ApiJson<InboxPage>, ApiError> {
    let mut tx = state.db.tenant(q.tenant_id).await?;
    let notices = for_user(&mut tx, q.user_id, 100).await?;
    tx.commit().await?;
    Ok(ApiJson(InboxPage { notices }))
}
