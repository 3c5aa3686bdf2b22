//! QR codes: an unguessable token per code, mapped to tenant and grid node.

use base64::Engine;
use mashang_db::TenantTx;
use mashang_domain::{GridNodeId, QrCodeId};

use super::DirectoryError;

/// A new random token: 128 bits from the operating system, URL-safe, not derived from
/// any id, so codes cannot be guessed or enumerated.
pub fn new_token() -> Result<String, DirectoryError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| DirectoryError::Invalid(format!("no randomness available: {e}")))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Issues a QR code for a node: the tenant's row and the global token lookup, together.
pub async fn issue(
    tx: &mut TenantTx,
    node: GridNodeId,
) -> Result<(QrCodeId, String), DirectoryError> {
    let id = QrCodeId::new();
    let token = new_token()?;
    sqlx::query(
        "INSERT INTO routing.qr_codes (id, tenant_id, node_id, token) VALUES ($1, $2, $3, $4)",
    )
    .bind(id.as_uuid())
    .bind(tx.tenant().as_uuid())
    .bind(node.as_uuid())
    .bind(&token)
    .execute(&mut **tx)
    .await?;
    sqlx::query("INSERT INTO routing.qr_tokens (token, tenant_id, qr_code_id) VALUES ($1, $2, $3)")
        .bind(&token)
        .bind(tx.tenant().as_uuid())
        .bind(id.as_uuid())
        .execute(&mut **tx)
        .await?;
    Ok((id, token))
}

#[cfg(test)]
mod tests {
    use super::new_token;

    #[test]
    fn tokens_are_long_random_and_url_safe() {
        let a = new_token().expect("randomness");
        let b = new_token().expect("randomness");
        assert_ne!(a, b);
        assert_eq!(a.len(), 22);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
    }
}

/// A QR code as the directory lists it.
#[derive(Clone, Debug, serde::Serialize, sqlx::FromRow)]
pub struct QrCodeRow {
    /// Id.
    pub id: uuid::Uuid,
    /// The node it is posted in.
    pub node_id: uuid::Uuid,
    /// The node's code.
    pub node_code: String,
    /// The node's name.
    pub node_name: String,
    /// The token the code encodes.
    pub token: String,
    /// Created.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Revoked, if it was.
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Landing-page openings counted so far.
    pub scans: i64,
}

/// The transaction's tenant's QR codes (optionally only live ones), by node code.
pub async fn list(
    tx: &mut TenantTx,
    include_revoked: bool,
) -> Result<Vec<QrCodeRow>, DirectoryError> {
    Ok(sqlx::query_as(
        "SELECT q.id, q.node_id, n.code AS node_code, n.name AS node_name, q.token, q.created_at, q.revoked_at, \
             coalesce((SELECT sum(s.scans) FROM intake.qr_scans s WHERE s.tenant_id = q.tenant_id AND s.qr_code_id = q.id), 0)::bigint AS scans \
         FROM routing.qr_codes q JOIN routing.grid_nodes n ON n.tenant_id = q.tenant_id AND n.id = q.node_id \
         WHERE q.tenant_id = $1 AND ($2 OR q.revoked_at IS NULL) ORDER BY n.code, q.created_at",
    )
    .bind(tx.tenant().as_uuid())
    .bind(include_revoked)
    .fetch_all(&mut **tx)
    .await?)
}

/// One QR code of the transaction's tenant.
pub async fn get(tx: &mut TenantTx, id: QrCodeId) -> Result<Option<QrCodeRow>, DirectoryError> {
    Ok(list(tx, true)
        .await?
        .into_iter()
        .find(|q| q.id == id.as_uuid()))
}

/// Revokes a code (citizens scanning it are told it was replaced); with `reissue`, a
/// new code is issued for the same node and returned.
pub async fn revoke(
    tx: &mut TenantTx,
    id: QrCodeId,
    reissue: bool,
) -> Result<Option<(QrCodeId, String)>, DirectoryError> {
    let node: Option<(uuid::Uuid,)> = sqlx::query_as(
        "UPDATE routing.qr_codes SET revoked_at = coalesce(revoked_at, now()) WHERE tenant_id = $1 AND id = $2 \
         RETURNING node_id",
    )
    .bind(tx.tenant().as_uuid())
    .bind(id.as_uuid())
    .fetch_optional(&mut **tx)
    .await?;
    let Some((node,)) = node else {
        return Err(DirectoryError::NotFound("QR code".into()));
    };
    if reissue {
        Ok(Some(issue(tx, GridNodeId::from_uuid(node)).await?))
    } else {
        Ok(None)
    }
}
