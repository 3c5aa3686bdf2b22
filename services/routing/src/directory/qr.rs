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
