//! API tokens for integrations: scoped to a township and one role at one node, stored
//! as hashes, revocable.

use chrono::{DateTime, Utc};
use mashang_db::{Db, TenantTx};
use mashang_domain::role::Role;
use mashang_domain::{GridNodeId, TenantId, UserId};
use serde::Serialize;
use uuid::Uuid;

use crate::error::AuthError;
use crate::principal::{Principal, PrincipalKind, RoleGrant};
use crate::secret;

/// API tokens start with this.
pub const API_TOKEN_PREFIX: &str = "mst_";

/// A token to create.
#[derive(Clone, Debug)]
pub struct NewApiToken {
    /// What it is for (shown in lists).
    pub name: String,
    /// The role it acts with.
    pub role: Role,
    /// Where the role is held.
    pub node: GridNodeId,
}

/// A token as listed (never the secret).
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct ApiTokenInfo {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Role.
    pub role: String,
    /// Node.
    pub node_id: Uuid,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Last used.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// Creates a token in the transaction's tenant; returns it with its secret, shown once.
pub async fn create_api_token(
    tx: &mut TenantTx,
    new: &NewApiToken,
    created_by: Option<UserId>,
) -> Result<(ApiTokenInfo, String), AuthError> {
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 60 {
        return Err(AuthError::Invalid {
            field: "name",
            message: "名称为1到60个字 (1 to 60 characters)".to_owned(),
        });
    }
    if new.role.is_county() {
        return Err(AuthError::Invalid {
            field: "role",
            message: "county roles cannot be given to a township token".to_owned(),
        });
    }
    let token = secret::token(API_TOKEN_PREFIX, 32)?;
    let id = Uuid::now_v7();
    let info: ApiTokenInfo = sqlx::query_as(
        "INSERT INTO routing.api_tokens (id, tenant_id, name, role, node_id, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         RETURNING id, name, role, node_id, created_at, revoked_at, last_used_at",
    )
    .bind(id)
    .bind(tx.tenant().as_uuid())
    .bind(name)
    .bind(new.role.as_str())
    .bind(new.node.as_uuid())
    .bind(created_by.map(|u| u.as_uuid()))
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| match mashang_db::constraint_name(&e) {
        Some("api_tokens_node_fkey") => AuthError::Invalid {
            field: "node_id",
            message: "节点不存在 (no such node)".to_owned(),
        },
        _ => e.into(),
    })?;
    sqlx::query("INSERT INTO routing.api_token_lookup (token_hash, token_id, tenant_id) VALUES ($1, $2, $3)")
        .bind(secret::hash(&token))
        .bind(id)
        .bind(tx.tenant().as_uuid())
        .execute(&mut **tx)
        .await?;
    Ok((info, token))
}

/// The transaction's tenant's tokens, newest first.
pub async fn list_api_tokens(tx: &mut TenantTx) -> Result<Vec<ApiTokenInfo>, AuthError> {
    Ok(sqlx::query_as(
        "SELECT id, name, role, node_id, created_at, revoked_at, last_used_at FROM routing.api_tokens \
         WHERE tenant_id = $1 ORDER BY created_at DESC",
    )
    .bind(tx.tenant().as_uuid())
    .fetch_all(&mut **tx)
    .await?)
}

/// Revokes a token of the transaction's tenant; `false` when there is none.
pub async fn revoke_api_token(tx: &mut TenantTx, id: Uuid) -> Result<bool, AuthError> {
    let done = sqlx::query(
        "UPDATE routing.api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant().as_uuid())
    .bind(id)
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM routing.api_token_lookup WHERE token_id = $1 AND tenant_id = $2")
        .bind(id)
        .bind(tx.tenant().as_uuid())
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The principal of a live API token.
pub async fn principal_of_token(db: &Db, token: &str) -> Result<Option<Principal>, AuthError> {
    let mut tx = db.global().await?;
    let found: Option<(Uuid, Uuid)> = sqlx::query_as(
        "SELECT token_id, tenant_id FROM routing.api_token_lookup WHERE token_hash = $1",
    )
    .bind(secret::hash(token))
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    let Some((id, tenant)) = found else {
        return Ok(None);
    };
    let tenant = TenantId::from_uuid(tenant);
    let mut tx = db.tenant(tenant).await?;
    let row: Option<(String, String, Uuid, String)> = sqlx::query_as(
        "UPDATE routing.api_tokens k SET last_used_at = now() FROM routing.tenants t \
         WHERE k.tenant_id = $1 AND k.id = $2 AND k.revoked_at IS NULL AND t.id = k.tenant_id \
         RETURNING k.name, k.role, k.node_id, t.status",
    )
    .bind(tenant.as_uuid())
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    let Some((name, role, node, status)) = row else {
        return Ok(None);
    };
    if status != "active" {
        return Err(AuthError::TenantSuspended);
    }
    let role = Role::parse(&role)
        .ok_or_else(|| AuthError::Internal(anyhow::anyhow!("stored role {role:?}")))?;
    Ok(Some(Principal {
        kind: PrincipalKind::ApiToken { token: id, tenant },
        name,
        roles: vec![RoleGrant {
            role,
            node: Some(GridNodeId::from_uuid(node)),
        }],
        csrf: None,
    }))
}
