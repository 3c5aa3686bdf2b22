//! Open311 keys (`/api/v1/admin/open311-keys`): a township administrator issues one
//! per outside system that files reports through `/open311/v2`, and revokes it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use mashang_auth::permissions::{Action, Target};
use mashang_auth::{Auth, Open311KeyInfo};
use mashang_http::openapi::{JsonBodyErrors, NotFoundError, StaffErrors, Unavailable};
use mashang_http::{ApiError, ApiJson};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::{allow, tenant_tx};
use crate::RoutingState;

/// Most live keys a township keeps: one per integration, with room for rotation.
pub(crate) const MAX_LIVE_KEYS: i64 = 50;

pub(super) fn routes() -> OpenApiRouter<RoutingState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(revoke))
}

/// A key to issue.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct NewKey {
    /// What the integration is (12345热线).
    #[schema(min_length = 1, max_length = 60, example = "12345热线")]
    pub name: String,
}

/// A key just issued: the key itself is in this answer and nowhere else.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct IssuedKey {
    /// Its id.
    pub id: Uuid,
    /// The key, to give the integration.
    pub key: String,
}

#[utoipa::path(get, path = "/api/v1/admin/open311-keys", tag = "admin", operation_id = "get_api_v1_admin_open311_keys",
    summary = "Open311 密钥 (The township's Open311 keys, never the keys themselves)",
    responses(
        (status = 200, description = "密钥 (The keys)", body = Vec<Object>),
        StaffErrors,
        NotFoundError,
        Unavailable,
    ))]
async fn list(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
) -> Result<ApiJson<Vec<Open311KeyInfo>>, ApiError> {
    allow(&principal, Action::ManageApiTokens, Target::Township)?;
    let mut tx = tenant_tx(&state, &principal).await?;
    let keys = mashang_auth::list_open311_keys(&mut tx).await?;
    tx.commit().await?;
    Ok(ApiJson(keys))
}

/// Issues a key in `tx`'s township, unless it has [`MAX_LIVE_KEYS`] live ones.
pub(crate) async fn issue(
    tx: &mut mashang_db::TenantTx,
    name: &str,
    by: Option<mashang_domain::UserId>,
) -> Result<IssuedKey, ApiError> {
    let name = mashang_auth::open311_key_name(name)?;
    let (live,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM routing.open311_keys WHERE tenant_id = $1 AND revoked_at IS NULL",
    )
    .bind(tx.tenant().as_uuid())
    .fetch_one(&mut **tx)
    .await?;
    if live >= MAX_LIVE_KEYS {
        return Err(ApiError::field(
            "name",
            format!(
                "最多{MAX_LIVE_KEYS}个有效密钥，请先停用不用的 (at most {MAX_LIVE_KEYS} live keys: revoke unused ones first)"
            ),
        ));
    }
    let (info, key) = mashang_auth::create_open311_key(tx, &name, by).await?;
    Ok(IssuedKey { id: info.id, key })
}

/// `POST /api/v1/admin/open311-keys` with `{"name": …}`: `{"id", "key"}`, the key once.
#[utoipa::path(post, path = "/api/v1/admin/open311-keys", tag = "admin", operation_id = "post_api_v1_admin_open311_keys",
    summary = "新建 Open311 密钥 (Issues a key for an integration; the key is shown once)",
    request_body(content = NewKey, content_type = "application/json"),
    responses(
        (status = 201, description = "密钥 (The key, shown this once)", body = IssuedKey),
        StaffErrors,
        NotFoundError,
        JsonBodyErrors,
        Unavailable,
    ))]
async fn create(
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    ApiJson(body): ApiJson<NewKey>,
) -> Result<(StatusCode, ApiJson<IssuedKey>), ApiError> {
    allow(&principal, Action::ManageApiTokens, Target::Township)?;
    let mut tx = tenant_tx(&state, &principal).await?;
    let issued = issue(&mut tx, &body.name, principal.user()).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(issued)))
}

/// `DELETE /api/v1/admin/open311-keys/{id}`: the key stops working at once; the
/// reports filed with it keep naming it.
#[utoipa::path(delete, path = "/api/v1/admin/open311-keys/{id}", tag = "admin", operation_id = "delete_api_v1_admin_open311_keys_id",
    summary = "停用 Open311 密钥 (Revokes a key: it stops working at once)",
    params(("id" = uuid::Uuid, Path, description = "The key")),
    responses(
        (status = 204, description = "已停用 (Revoked)"),
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
    let id: Uuid = id.parse().map_err(|_| ApiError::NotFound)?;
    let mut tx = tenant_tx(&state, &principal).await?;
    if !mashang_auth::revoke_open311_key(&mut tx, id).await? {
        return Err(ApiError::NotFound);
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
