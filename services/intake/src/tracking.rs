//! Tracking numbers and status-link secrets.

use base64::Engine;
use chrono::{DateTime, Utc};
use mashang_db::Db;
use mashang_domain::{TenantId, TrackingNumber};
use mashang_http::ApiError;
use sha2::{Digest, Sha256};
use sqlx::Row;
use subtle::ConstantTimeEq;

/// Takes the next tracking number of `tenant` for the local day of `at`, in a
/// transaction of its own sent as one message ([`Db::tenant_one_trip`]). The per-day
/// counter row is locked only while the server runs and commits that one statement,
/// not through the submission, so one township's reports do not queue behind each
/// other. A submission that fails afterwards leaves its number unused: numbers are
/// unique and increasing, not gap-free.
pub async fn take(
    db: &Db,
    tenant: TenantId,
    prefix: &str,
    zone: chrono_tz::Tz,
    at: DateTime<Utc>,
) -> Result<TrackingNumber, ApiError> {
    let day = at.with_timezone(&zone).date_naive();
    // Both values are typed (a UUID, a date): their text holds no SQL.
    let rows = db
        .tenant_one_trip(
            tenant,
            &format!(
                "INSERT INTO intake.tracking_sequences (tenant_id, day, last_value) \
                 VALUES ('{}', DATE '{}', 1) \
                 ON CONFLICT (tenant_id, day) DO UPDATE SET last_value = intake.tracking_sequences.last_value + 1 \
                 RETURNING last_value",
                tenant.as_uuid().hyphenated(),
                day.format("%Y-%m-%d"),
            ),
        )
        .await?;
    let value: i32 = rows
        .first()
        .ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!("the tracking counter returned nothing"))
        })?
        .try_get(0)?;
    let sequence = u32::try_from(value)
        .map_err(|_| ApiError::internal(anyhow::anyhow!("tracking sequence out of range")))?;
    TrackingNumber::new(prefix, day, sequence)
        .map_err(|e| ApiError::internal(anyhow::anyhow!("building a tracking number: {e}")))
}

/// A new status-link secret and its hash (only the hash is stored).
pub fn new_secret() -> Result<(String, Vec<u8>), ApiError> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes)
        .map_err(|e| ApiError::internal(anyhow::anyhow!("randomness: {e}")))?;
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_secret(&secret);
    Ok((secret, hash))
}

/// The stored form of a secret.
pub fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Whether `presented` is the secret whose hash is `stored`, in constant time.
pub fn secret_matches(presented: &str, stored: &[u8]) -> bool {
    bool::from(hash_secret(presented).as_slice().ct_eq(stored))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_checked_against_their_hash() {
        let (secret, hash) = new_secret().expect("randomness");
        assert!(secret_matches(&secret, &hash));
        assert!(!secret_matches("guess", &hash));
        assert_eq!(secret.len(), 32);
    }
}
