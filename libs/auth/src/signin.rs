//! Signing in with a phone number or username and a password, throttled per account
//! and per client address (counted in the database, so it holds across replicas).

use chrono::{DateTime, Duration, Utc};
use mashang_db::Db;
use mashang_domain::{PhoneNumber, TenantId, UserId};
use uuid::Uuid;

use crate::error::AuthError;
use crate::password::{burn_a_check, verify_password};
use crate::sessions::{SignedIn, start_session};

/// Limits on failed sign-ins.
#[derive(Clone, Copy, Debug)]
pub struct SigninThrottle {
    /// Failures of one login within the window before it is locked for the window.
    pub per_login: i64,
    /// Failures from one address within the window before it is locked for the window.
    pub per_address: i64,
    /// The window.
    pub window: Duration,
}

impl Default for SigninThrottle {
    fn default() -> Self {
        Self {
            per_login: 5,
            per_address: 30,
            window: Duration::minutes(15),
        }
    }
}

/// How a login is stored: the 11 digits of a phone number, or the lowercase username.
pub fn normalise_login(raw: &str) -> String {
    PhoneNumber::parse(raw)
        .map(|p| p.expose().to_owned())
        .unwrap_or_else(|_| raw.trim().to_lowercase())
}

/// Refuses when the login or address has failed too often lately.
pub async fn check_throttle(
    db: &Db,
    login: &str,
    address: &str,
    limits: SigninThrottle,
) -> Result<(), AuthError> {
    let since = Utc::now() - limits.window;
    let mut tx = db.global().await?;
    let (by_login, oldest_login): (i64, Option<DateTime<Utc>>) = sqlx::query_as(
        "SELECT count(*), min(failed_at) FROM routing.signin_failures WHERE login = $1 AND failed_at > $2",
    )
    .bind(login)
    .bind(since)
    .fetch_one(&mut *tx)
    .await?;
    let (by_address, oldest_address): (i64, Option<DateTime<Utc>>) = sqlx::query_as(
        "SELECT count(*), min(failed_at) FROM routing.signin_failures WHERE address = $1 AND failed_at > $2",
    )
    .bind(address)
    .bind(since)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    let wait = |oldest: Option<DateTime<Utc>>| {
        let until = oldest.unwrap_or_else(Utc::now) + limits.window;
        (until - Utc::now()).num_seconds().max(1) as u64
    };
    if by_login >= limits.per_login {
        return Err(AuthError::Throttled(wait(oldest_login)));
    }
    if by_address >= limits.per_address {
        return Err(AuthError::Throttled(wait(oldest_address)));
    }
    Ok(())
}

/// Records a failed attempt.
pub async fn record_failure(db: &Db, login: &str, address: &str) -> Result<(), AuthError> {
    let mut tx = db.global().await?;
    sqlx::query("INSERT INTO routing.signin_failures (login, address) VALUES ($1, $2)")
        .bind(login)
        .bind(address)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM routing.signin_failures WHERE failed_at < now() - interval '1 day'")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Who a login belongs to: the person and their township (none for county staff).
pub async fn find_login(
    db: &Db,
    login: &str,
) -> Result<Option<(UserId, Option<TenantId>)>, AuthError> {
    let mut tx = db.global().await?;
    let row: Option<(Uuid, Option<Uuid>)> =
        sqlx::query_as("SELECT user_id, tenant_id FROM routing.logins WHERE login = $1")
            .bind(login)
            .fetch_optional(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(row.map(|(u, t)| (UserId::from_uuid(u), t.map(TenantId::from_uuid))))
}

/// A person's stored password hash, whether they may sign in, and whether their
/// township is in service.
struct Account {
    hash: Option<String>,
    active: bool,
    tenant_active: bool,
}

async fn account(
    db: &Db,
    user: UserId,
    tenant: Option<TenantId>,
) -> Result<Option<Account>, AuthError> {
    match tenant {
        Some(tenant) => {
            let mut tx = db.tenant(tenant).await?;
            let row: Option<(Option<String>, bool, String)> = sqlx::query_as(
                "SELECT u.password_hash, u.active, t.status FROM routing.staff_users u \
                 JOIN routing.tenants t ON t.id = u.tenant_id WHERE u.tenant_id = $1 AND u.id = $2",
            )
            .bind(tenant.as_uuid())
            .bind(user.as_uuid())
            .fetch_optional(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(row.map(|(hash, active, status)| Account {
                hash,
                active,
                tenant_active: status == "active",
            }))
        }
        None => {
            let mut tx = db.global().await?;
            let row: Option<(Option<String>, bool)> = sqlx::query_as(
                "SELECT password_hash, active FROM routing.county_users WHERE id = $1",
            )
            .bind(user.as_uuid())
            .fetch_optional(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(row.map(|(hash, active)| Account {
                hash,
                active,
                tenant_active: true,
            }))
        }
    }
}

/// Signs a person in and opens a session. Wrong login, wrong password, no password set
/// yet and a deactivated account all answer the same, and count as failures.
pub async fn sign_in(
    db: &Db,
    raw_login: &str,
    password: &str,
    address: &str,
    limits: SigninThrottle,
) -> Result<(SignedIn, UserId, Option<TenantId>), AuthError> {
    let login = normalise_login(raw_login);
    if login.is_empty()
        || login.chars().count() > 64
        || password.is_empty()
        || password.len() > 1024
    {
        return Err(AuthError::BadCredentials);
    }
    check_throttle(db, &login, address, limits).await?;
    let found = find_login(db, &login).await?;
    let account = match found {
        Some((user, tenant)) => account(db, user, tenant).await?.map(|a| (user, tenant, a)),
        None => None,
    };
    let verified = match &account {
        Some((
            _,
            _,
            Account {
                hash: Some(hash),
                active: true,
                ..
            },
        )) => verify_password(password, hash).await?,
        _ => {
            burn_a_check().await;
            false
        }
    };
    let Some((user, tenant, account)) = account.filter(|_| verified) else {
        record_failure(db, &login, address).await?;
        return Err(AuthError::BadCredentials);
    };
    if !account.tenant_active {
        return Err(AuthError::TenantSuspended);
    }
    let mut tx = db.global().await?;
    sqlx::query("DELETE FROM routing.signin_failures WHERE login = $1")
        .bind(&login)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    let session = start_session(db, user, tenant).await?;
    Ok((session, user, tenant))
}

#[cfg(test)]
mod tests {
    use super::normalise_login;

    #[test]
    fn logins_are_normalised() {
        assert_eq!(normalise_login("+86 138-1234-1234"), "13812341234");
        assert_eq!(normalise_login(" Wang.Li "), "wang.li");
    }
}
