//! Notification's HTTP surface: the signed-in person's in-app inbox, as JSON and as
//! the notices page.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use mashang_auth::Auth;
use mashang_domain::UserId;
use mashang_http::openapi::{NotFoundError, StaffErrors, Unavailable};
use mashang_http::{ApiError, ApiJson};
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::NotificationState;
use crate::notices::{Notice, for_user, mark_read};

/// Notification's routes, each registered with its OpenAPI description.
pub fn routes() -> OpenApiRouter<NotificationState> {
    OpenApiRouter::new()
        .routes(routes!(inbox))
        .routes(routes!(read))
        .routes(routes!(crate::stream::stream))
        .merge(crate::pages::routes())
        .merge(crate::channels::routes())
        .merge(crate::channel_pages::routes())
        .merge(crate::message_templates::routes())
        .merge(crate::receipts::routes())
        .merge(crate::settings::routes())
        .merge(crate::settings_page::routes())
        .merge(crate::county_mail_page::routes())
        .merge(crate::digest::routes())
}

/// Notification's router.
pub fn router(state: NotificationState) -> Router {
    routes().split_for_parts().0.with_state(state)
}

/// Notification's part of the OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().into_openapi()
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
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
#[utoipa::path(get, path = "/api/v1/inbox", tag = "notification", operation_id = "get_api_v1_inbox",
    summary = "本人通知 (The signed-in person notices, newest first; at most 100)",
    responses(
        (status = 200, description = "通知列表 (The notices)", body = InboxPage),
        StaffErrors,
        NotFoundError,
        Unavailable,
    ))]
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
#[utoipa::path(post, path = "/api/v1/inbox/{id}/read", tag = "notification", operation_id = "post_api_v1_inbox_id_read",
    summary = "标为已读 (Marks one of the person notices read)",
    params(("id" = uuid::Uuid, Path, description = "The notice")),
    responses(
        (status = 204, description = "已读 (Marked read)"),
        StaffErrors,
        NotFoundError,
        Unavailable,
    ))]
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
