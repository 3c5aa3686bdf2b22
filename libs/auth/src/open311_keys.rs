//! Open311 keys: one per outside system (a hotline, a county platform) that files and
//! follows reports through `/open311/v2`, issued and revoked by a township's
//! administrator. Stored as hashes; a key is shown once, when it is made.

use chrono::{DateTime, Utc};
use mashang_db::TenantTx;
use mashang_domain::UserId;
use serde::Serialize;
use uuid::Uuid;

use crate::error::AuthError;
use crate::secret;

/// Open311 keys start with this.
pub const OPEN311_KEY_PREFIX: &str = "mso_";
/// Longest name of an integration, in characters.
pub const OPEN311_KEY_NAME_MAX: usize = 60;
/// Longest key worth looking up: a real one is 47 characters.
pub const OPEN311_KEY_MAX: usize = 100;

/// A key as listed (never the key itself).
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct Open311KeyInfo {
    /// Id, recorded with every request filed with the key.
    pub id: Uuid,
    /// What the integration is (12345热线).
    pub name: String,
    /// Issued.
    pub created_at: DateTime<Utc>,
    /// Revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Last used (to the minute).
    pub last_used_at: Option<DateTime<Utc>>,
}

/// The name of an integration, trimmed, or why not.
pub fn open311_key_name(raw: &str) -> Result<String, AuthError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > OPEN311_KEY_NAME_MAX {
        return Err(AuthError::Invalid {
            field: "name",
            message: format!(
                "名称为1到{OPEN311_KEY_NAME_MAX}个字 (1 to {OPEN311_KEY_NAME_MAX} characters)"
            ),
        });
    }
    Ok(name.to_owned())
}

/// Issues a key in the transaction's township; returns it with the key, shown once.
pub async fn create_open311_key(
    tx: &mut TenantTx,
    name: &str,
    created_by: Option<UserId>,
) -> Result<(Open311KeyInfo, String), AuthError> {
    let name = open311_key_name(name)?;
    let key = secret::token(OPEN311_KEY_PREFIX, 32)?;
    let info = sqlx::query_as(
        "INSERT INTO routing.open311_keys (id, tenant_id, name, key_hash, created_by) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id, name, created_at, revoked_at, last_used_at",
    )
    .bind(Uuid::now_v7())
    .bind(tx.tenant().as_uuid())
    .bind(&name)
    .bind(secret::hash(&key))
    .bind(created_by.map(|u| u.as_uuid()))
    .fetch_one(&mut **tx)
    .await?;
    Ok((info, key))
}

/// The transaction's township's keys, newest first.
pub async fn list_open311_keys(tx: &mut TenantTx) -> Result<Vec<Open311KeyInfo>, AuthError> {
    Ok(sqlx::query_as(
        "SELECT id, name, created_at, revoked_at, last_used_at FROM routing.open311_keys \
         WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC",
    )
    .bind(tx.tenant().as_uuid())
    .fetch_all(&mut **tx)
    .await?)
}

/// Revokes a key of the transaction's township (again is harmless); `false` when
/// there is none.
pub async fn revoke_open311_key(tx: &mut TenantTx, id: Uuid) -> Result<bool, AuthError> {
    let done = sqlx::query(
        "UPDATE routing.open311_keys SET revoked_at = coalesce(revoked_at, now()) \
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant().as_uuid())
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The id of the live key `key` of the transaction's township, if it is one; notes
/// its use once a minute at most (a busy integration writes no row per request).
pub async fn open311_key_in_use(tx: &mut TenantTx, key: &str) -> Result<Option<Uuid>, AuthError> {
    if key.is_empty() || key.len() > OPEN311_KEY_MAX {
        return Ok(None);
    }
    let found: Option<(Uuid, bool)> = sqlx::query_as(
        "SELECT id, last_used_at IS NULL OR last_used_at < now() - interval '1 minute' \
         FROM routing.open311_keys WHERE key_hash = $2 AND tenant_id = $1 AND revoked_at IS NULL",
    )
    .bind(tx.tenant().as_uuid())
    .bind(secret::hash(key))
    .fetch_optional(&mut **tx)
    .await?;
    let Some((id, stale)) = found else {
        return Ok(None);
    };
    if stale {
        sqlx::query(
            "UPDATE routing.open311_keys SET last_used_at = now() WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tx.tenant().as_uuid())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(Some(id))
}
