//! One-time codes an administrator issues so a person can set a new password. A code
//! is stored only as its keyed hash (HMAC-SHA256 under a key derived from the
//! deployment's secret, bound to the person): eight digits are too few for a plain
//! hash to keep them from someone who reads the table.

use chrono::{Duration, Utc};
use mashang_db::{Db, TenantTx};
use mashang_domain::UserId;

use crate::error::AuthError;
use crate::keys::Keys;
use crate::password::{Password, hash_password};
use crate::secret;
use crate::sessions::end_all_sessions;
use crate::signin::{
    SigninThrottle, attempt_failed, attempt_succeeded, find_login, normalise_login, take_attempt,
};

/// How long a reset code stays valid.
pub const RESET_CODE_HOURS: i64 = 24;
/// Wrong codes before a code is void.
const MAX_ATTEMPTS: i32 = 5;

/// The stored form of a person's code.
fn code_hash(keys: &Keys, user: UserId, code: &str) -> Vec<u8> {
    keys.reset_codes
        .mac(&[user.as_uuid().as_bytes(), code.trim().as_bytes()])
        .to_vec()
}

/// Issues a new code for a person of the transaction's tenant (replacing any earlier
/// one), returned once for the administrator to pass on. `Ok(None)` when the person
/// is not in this tenant.
pub async fn issue_reset_code(
    tx: &mut TenantTx,
    keys: &Keys,
    user: UserId,
    issued_by: Option<UserId>,
) -> Result<Option<String>, AuthError> {
    let exists: Option<(bool,)> =
        sqlx::query_as("SELECT active FROM routing.staff_users WHERE tenant_id = $1 AND id = $2")
            .bind(tx.tenant().as_uuid())
            .bind(user.as_uuid())
            .fetch_optional(&mut **tx)
            .await?;
    if exists.is_none() {
        return Ok(None);
    }
    let code = secret::digits(8)?;
    sqlx::query(
        "INSERT INTO routing.reset_codes (user_id, tenant_id, code_hash, issued_by, expires_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (user_id) DO UPDATE SET code_hash = EXCLUDED.code_hash, issued_by = EXCLUDED.issued_by, \
             expires_at = EXCLUDED.expires_at, attempts = 0",
    )
    .bind(user.as_uuid())
    .bind(tx.tenant().as_uuid())
    .bind(code_hash(keys, user, &code))
    .bind(issued_by.map(|u| u.as_uuid()))
    .bind(Utc::now() + Duration::hours(RESET_CODE_HOURS))
    .execute(&mut **tx)
    .await?;
    Ok(Some(code))
}

/// Issues a new code for a county user (no township); `Ok(None)` if unknown.
pub async fn issue_county_reset_code(
    db: &Db,
    keys: &Keys,
    user: UserId,
) -> Result<Option<String>, AuthError> {
    let mut tx = db.global().await?;
    let exists: Option<(bool,)> =
        sqlx::query_as("SELECT active FROM routing.county_users WHERE id = $1")
            .bind(user.as_uuid())
            .fetch_optional(&mut *tx)
            .await?;
    if exists.is_none() {
        return Ok(None);
    }
    let code = secret::digits(8)?;
    sqlx::query(
        "INSERT INTO routing.reset_codes (user_id, tenant_id, code_hash, expires_at) VALUES ($1, NULL, $2, $3) \
         ON CONFLICT (user_id) DO UPDATE SET code_hash = EXCLUDED.code_hash, expires_at = EXCLUDED.expires_at, attempts = 0",
    )
    .bind(user.as_uuid())
    .bind(code_hash(keys, user, &code))
    .bind(Utc::now() + Duration::hours(RESET_CODE_HOURS))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(code))
}

/// Sets a township person's password directly (seeding, the person's own change).
pub async fn set_staff_password(
    tx: &mut TenantTx,
    user: UserId,
    password: &Password,
) -> Result<bool, AuthError> {
    let hash = hash_password(password).await?;
    let done = sqlx::query(
        "UPDATE routing.staff_users SET password_hash = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant().as_uuid())
    .bind(user.as_uuid())
    .bind(hash)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets a county user's password directly.
pub async fn set_county_password(
    db: &Db,
    user: UserId,
    password: &Password,
) -> Result<bool, AuthError> {
    let hash = hash_password(password).await?;
    let mut tx = db.global().await?;
    let done = sqlx::query("UPDATE routing.county_users SET password_hash = $2 WHERE id = $1")
        .bind(user.as_uuid())
        .bind(hash)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}

/// Sets a new password with a one-time code. Wrong codes are throttled like wrong
/// passwords and void the code after a few tries; success ends every session.
pub async fn redeem_reset_code(
    db: &Db,
    keys: &Keys,
    raw_login: &str,
    code: &str,
    new_password: &Password,
    address: &str,
    limits: SigninThrottle,
) -> Result<(), AuthError> {
    let login = normalise_login(raw_login);
    let attempt = take_attempt(db, &login, address, limits).await?;
    let refuse = async || -> Result<(), AuthError> {
        attempt_failed(db, &attempt).await?;
        Err(AuthError::Invalid {
            field: "code",
            message: "验证码错误或已过期 (the code is wrong or expired)".to_owned(),
        })
    };
    let Some((user, tenant)) = find_login(db, &login).await? else {
        return refuse().await;
    };
    // Township people are read in their tenant's transaction, county people globally.
    let mut tx = match tenant {
        Some(tenant) => Either::Tenant(db.tenant(tenant).await?),
        None => Either::Global(db.global().await?),
    };
    let row: Option<(Vec<u8>, i32, bool)> = sqlx::query_as(
        "SELECT code_hash, attempts, expires_at > now() FROM routing.reset_codes \
         WHERE user_id = $1 AND tenant_id IS NOT DISTINCT FROM $2",
    )
    .bind(user.as_uuid())
    .bind(tenant.map(|t| t.as_uuid()))
    .fetch_optional(tx.conn())
    .await?;
    let Some((stored, attempts, fresh)) = row else {
        return refuse().await;
    };
    let matches = keys.reset_codes.verify(
        &[user.as_uuid().as_bytes(), code.trim().as_bytes()],
        &stored,
    );
    if !matches || !fresh || attempts >= MAX_ATTEMPTS {
        sqlx::query("UPDATE routing.reset_codes SET attempts = attempts + 1 WHERE user_id = $1")
            .bind(user.as_uuid())
            .execute(tx.conn())
            .await?;
        tx.commit().await?;
        return refuse().await;
    }
    let hash = hash_password(new_password).await?;
    let update = match tenant {
        Some(_) => {
            "UPDATE routing.staff_users SET password_hash = $2, updated_at = now() WHERE id = $1"
        }
        None => "UPDATE routing.county_users SET password_hash = $2 WHERE id = $1",
    };
    sqlx::query(update)
        .bind(user.as_uuid())
        .bind(hash)
        .execute(tx.conn())
        .await?;
    sqlx::query("DELETE FROM routing.reset_codes WHERE user_id = $1")
        .bind(user.as_uuid())
        .execute(tx.conn())
        .await?;
    tx.commit().await?;
    attempt_succeeded(db, &attempt, &login).await?;
    end_all_sessions(db, user).await
}

/// A transaction of either kind.
enum Either {
    Tenant(TenantTx),
    Global(mashang_db::GlobalTx),
}

impl Either {
    fn conn(&mut self) -> &mut mashang_db::PgConnection {
        match self {
            Self::Tenant(tx) => tx,
            Self::Global(tx) => tx,
        }
    }

    async fn commit(self) -> Result<(), AuthError> {
        match self {
            Self::Tenant(tx) => tx.commit().await?,
            Self::Global(tx) => tx.commit().await?,
        }
        Ok(())
    }
}
