//! Open311 keys (`/api/v1/admin/open311-keys`): a township administrator issues one
//! per outside system that files reports through `/open311/v2`, and revokes it.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use mashang_auth::permissions::{Action, Target};
use mashang_auth::{Auth, Open311KeyInfo};
use mashang_http::{ApiError, ApiJson};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{allow, tenant_tx};
use crate::RoutingState;

/// Most live keys a township keeps: one per integration, with room for rotation.
pub(crate) const MAX_LIVE_KEYS: i64 = 50;

pub(super) fn routes() -> Router<RoutingState> {
    Router::new()
        .route("/api/v1/admin/open311-keys", get(list).post(create))
        .route("/api/v1/admin/open311-keys/{id}", delete(revoke))
}

/// A key to issue.
#[derive(Debug, Deserialize)]
pub(crate) struct NewKey {
    /// What the integration is (12345热线).
    pub name: String,
}

/// A key just issued: the key itself is in this answer and nowhere else.
#[derive(Debug, Serialize)]
pub(crate) struct IssuedKey {
    /// Its id.
    pub id: Uuid,
    /// The key, to give the integration.
    pub key: String,
}

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
