//! Notification's HTTP surface: the signed-in person's in-app inbox, as JSON and as
//! the notices page.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use mashang_auth::Auth;
use mashang_domain::UserId;
use mashang_http::{ApiError, ApiJson};
use serde::Serialize;

use crate::NotificationState;
use crate::notices::{Notice, for_user, mark_read};

/// Notification's routes.
pub fn router(state: NotificationState) -> Router {
    Router::new()
        .route("/api/v1/inbox", get(inbox))
        .route("/api/v1/inbox/{id}/read", post(read))
        .route("/api/v1/inbox/stream", get(crate::stream::stream))
        .merge(crate::pages::routes())
        .merge(crate::channels::routes())
        .merge(crate::channel_pages::routes())
        .merge(crate::message_templates::routes())
        .merge(crate::receipts::routes())
        .merge(crate::settings::routes())
        .merge(crate::settings_page::routes())
        .merge(crate::county_mail_page::routes())
        .merge(crate::digest::routes())
        .with_state(state)
}

#[derive(Debug, Serialize)]
struct InboxPage {
    notices: Vec<Notice>,
}

fn me(principal: &mashang_auth::Principal) -> Result<(mashang_domain::TenantId, UserId), ApiError> {
    let tenant = principal.require_tenant()?;
    let user = principal
        .user()
        .ok_or_else(|| ApiError::Forbidden("API tokens have no inbox".to_owned()))?;
    Ok((tenant, user))
}

/// `GET /api/v1/inbox`: the signed-in person's notices, newest first.
async fn inbox(
    State(state): State<NotificationState>,
    Auth(principal): Auth,
) -> Result<ApiJson<InboxPage>, ApiError> {
    let (tenant, user) = me(&principal)?;
    let mut tx = state.db.tenant(tenant).await?;
    let notices = for_user(&mut tx, user, 100).await?;
    tx.commit().await?;
    Ok(ApiJson(InboxPage { notices }))
}

/// `POST /api/v1/inbox/{id}/read`: marks one of the person's notices read.
async fn read(
    State(state): State<NotificationState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let (tenant, user) = me(&principal)?;
    let id: uuid::Uuid = id.parse().map_err(|_| ApiError::NotFound)?;
    let mut tx = state.db.tenant(tenant).await?;
    if !mark_read(&mut tx, user, id).await? {
        return Err(ApiError::NotFound);
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
