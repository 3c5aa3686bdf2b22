//! API tokens for integrations.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use mashang_auth::permissions::{Action, Target};
use mashang_auth::{ApiTokenInfo, Auth, NewApiToken};
use mashang_domain::role::Role;
use mashang_http::{ApiError, ApiJson};
use serde::Deserialize;
use serde_json::{Value, json};

use super::grid::node_id;
use super::{allow, tenant_tx};
use crate::RoutingState;
use mashang_http::openapi::{JsonBodyErrors, NotFoundError, StaffErrors, Unavailable};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn routes() -> OpenApiRouter<RoutingState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(revoke))
}

#[utoipa::path(get, path = "/api/v1/admin/api-tokens", tag = "admin", operation_id = "get_api_v1_admin_api_tokens",
    summary = "API 令牌 (The township API tokens, never their secrets)",
    responses(
        (status = 200, description = "令牌 (The tokens)", body = Vec<Object>),
        StaffErrors,
        NotFoundError,
        Unavailable,
    ))]
async fn list(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
) -> Result<ApiJson<Vec<ApiTokenInfo>>, ApiError> {
    allow(&principal, Action::ManageApiTokens, Target::Township)?;
    let mut tx = tenant_tx(&state, &principal).await?;
    let tokens = mashang_auth::list_api_tokens(&mut tx).await?;
    tx.commit().await?;
    Ok(ApiJson(tokens))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct CreateToken {
    name: String,
    role: String,
    node_id: String,
}

/// `POST /api/v1/admin/api-tokens`: the token's secret is in the answer, once.
#[utoipa::path(post, path = "/api/v1/admin/api-tokens", tag = "admin", operation_id = "post_api_v1_admin_api_tokens",
    summary = "新建 API 令牌 (Issues a token; its secret is shown once)",
    request_body(content = CreateToken, content_type = "application/json"),
    responses(
        (status = 201, description = "令牌 (The token with its secret)", body = Object),
        StaffErrors,
        NotFoundError,
        JsonBodyErrors,
        Unavailable,
    ))]
async fn create(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<CreateToken>,
) -> Result<(StatusCode, ApiJson<Value>), ApiError> {
    allow(&principal, Action::ManageApiTokens, Target::Township)?;
    let role = Role::parse(&body.role)
        .filter(|r| !r.is_county())
        .ok_or_else(|| ApiError::field("role", "未知角色 (unknown role)"))?;
    let node = node_id(&body.node_id)
        .map_err(|_| ApiError::field("node_id", "节点不存在 (no such node)"))?;
    let mut tx = tenant_tx(&state, &principal).await?;
    let (info, token) = mashang_auth::create_api_token(
        &mut tx,
        &NewApiToken {
            name: body.name,
            role,
            node,
        },
        principal.user(),
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(json!({"token": token, "info": info})),
    ))
}

#[utoipa::path(post, path = "/api/v1/admin/api-tokens/{id}/revoke", tag = "admin", operation_id = "post_api_v1_admin_api_tokens_id_revoke",
    summary = "吊销令牌 (Revokes a token)",
    params(("id" = uuid::Uuid, Path, description = "The token")),
    responses(
        (status = 204, description = "已吊销 (Revoked)"),
        StaffErrors,
        NotFoundError,
        Unavailable,
    ))]
async fn revoke(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    allow(&principal, Action::ManageApiTokens, Target::Township)?;
    let id: uuid::Uuid = id.parse().map_err(|_| ApiError::NotFound)?;
    let mut tx = tenant_tx(&state, &principal).await?;
    if !mashang_auth::revoke_api_token(&mut tx, id).await? {
        return Err(ApiError::NotFound);
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
