//! Signing in with a phone number or username and a password, throttled per account
//! and per client address (counted in the database, so it holds across replicas).

use chrono::{DateTime, Duration, Utc};
use mashang_db::Db;
use mashang_domain::{PhoneNumber, TenantId, UserId};
use uuid::Uuid;

use crate::error::AuthError;
use crate::password::{burn_a_check, verify_password};
use crate::sessions::{SignedIn, start_session};

/// Limits on failed sign-ins. The per-address limit refuses: it carries the defence
/// against guessing. The per-account count only slows the account down (each attempt
/// on it waits a growing delay) and never refuses the right password, so nobody can
/// lock a staff member out by failing on purpose.
#[derive(Clone, Copy, Debug)]
pub struct SigninThrottle {
    /// Failures of one login within the window after which attempts on it are delayed.
    pub per_login: i64,
    /// Failures from one address within the window before it is refused for the window.
    pub per_address: i64,
    /// The window.
    pub window: Duration,
    /// The delay of the first attempt past `per_login`; it doubles with each further
    /// failure, up to `max_login_delay`.
    pub login_delay: std::time::Duration,
    /// The longest delay.
    pub max_login_delay: std::time::Duration,
}

impl Default for SigninThrottle {
    fn default() -> Self {
        Self {
            per_login: 5,
            per_address: 30,
            window: Duration::minutes(15),
            login_delay: std::time::Duration::from_millis(250),
            max_login_delay: std::time::Duration::from_secs(8),
        }
    }
}

impl SigninThrottle {
    /// How long an attempt on a login with `failures` recent failures waits first.
    pub fn delay_for(&self, failures: i64) -> std::time::Duration {
        if failures < self.per_login {
            return std::time::Duration::ZERO;
        }
        let doublings = u32::try_from(failures - self.per_login)
            .unwrap_or(u32::MAX)
            .min(20);
        self.login_delay
            .saturating_mul(1u32 << doublings)
            .min(self.max_login_delay)
    }
}

/// How a login is stored: the 11 digits of a phone number, or the lowercase username.
pub fn normalise_login(raw: &str) -> String {
    PhoneNumber::parse(raw)
        .map(|p| p.expose().to_owned())
        .unwrap_or_else(|_| raw.trim().to_lowercase())
}

/// One attempt, counted against its address from the start.
#[derive(Debug)]
pub struct Attempt {
    id: i64,
}

/// Takes one of the address's attempts: under a lock on the address, refuses when its
/// failures within the window have reached the limit, and otherwise records this
/// attempt as a failure of the address at once (forgotten if it succeeds), so that
/// concurrent attempts cannot pass a limit that one after another would hit. Then
/// waits the login's delay, if it has failed often lately.
pub async fn take_attempt(
    db: &Db,
    login: &str,
    address: &str,
    limits: SigninThrottle,
) -> Result<Attempt, AuthError> {
    let since = Utc::now() - limits.window;
    let mut tx = db.global().await?;
    sqlx::query(
        "SELECT pg_advisory_xact_lock(hashtextextended('mashang.signin.address:' || $1, 0))",
    )
    .bind(address)
    .execute(&mut *tx)
    .await?;
    let (by_address, oldest): (i64, Option<DateTime<Utc>>) = sqlx::query_as(
        "SELECT count(*), min(failed_at) FROM routing.signin_failures WHERE address = $1 AND failed_at > $2",
    )
    .bind(address)
    .bind(since)
    .fetch_one(&mut *tx)
    .await?;
    if by_address >= limits.per_address {
        tx.commit().await?;
        let until = oldest.unwrap_or_else(Utc::now) + limits.window;
        return Err(AuthError::Throttled(
            (until - Utc::now()).num_seconds().max(1) as u64,
        ));
    }
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO routing.signin_failures (login, address, login_counts) VALUES ($1, $2, false) RETURNING id",
    )
    .bind(login)
    .bind(address)
    .fetch_one(&mut *tx)
    .await?;
    let (login_failures,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM routing.signin_failures WHERE login = $1 AND login_counts AND failed_at > $2",
    )
    .bind(login)
    .bind(since)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    let delay = limits.delay_for(login_failures);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    Ok(Attempt { id })
}

/// The attempt failed: it now also counts against its login.
pub async fn attempt_failed(db: &Db, attempt: &Attempt) -> Result<(), AuthError> {
    let mut tx = db.global().await?;
    sqlx::query("UPDATE routing.signin_failures SET login_counts = true WHERE id = $1")
        .bind(attempt.id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM routing.signin_failures WHERE failed_at < now() - interval '1 day'")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The attempt succeeded: it is forgotten, and the login's earlier failures no longer
/// slow it down (they still count against the addresses they came from).
pub async fn attempt_succeeded(db: &Db, attempt: &Attempt, login: &str) -> Result<(), AuthError> {
    let mut tx = db.global().await?;
    sqlx::query("DELETE FROM routing.signin_failures WHERE id = $1")
        .bind(attempt.id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE routing.signin_failures SET login_counts = false WHERE login = $1 AND login_counts",
    )
    .bind(login)
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

/// Whether a normalised login and a password could be anyone's, checked before any
/// work: a login is at most 64 characters of text (a control character, a NUL above
/// all, is in no login and cannot even be looked up), a password at most 1 KB.
fn plausible(login: &str, password: &str) -> bool {
    !login.is_empty()
        && login.chars().count() <= 64
        && !login.chars().any(char::is_control)
        && !password.is_empty()
        && password.len() <= 1024
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
    if !plausible(&login, password) {
        return Err(AuthError::BadCredentials);
    }
    let attempt = take_attempt(db, &login, address, limits).await?;
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
        attempt_failed(db, &attempt).await?;
        return Err(AuthError::BadCredentials);
    };
    attempt_succeeded(db, &attempt, &login).await?;
    if !account.tenant_active {
        return Err(AuthError::TenantSuspended);
    }
    let session = start_session(db, user, tenant).await?;
    Ok((session, user, tenant))
}

#[cfg(test)]
mod tests {
    use super::{SigninThrottle, normalise_login};
    use std::time::Duration;

    #[test]
    fn an_account_that_fails_often_is_slowed_down_never_shut() {
        let t = SigninThrottle::default();
        assert_eq!(t.delay_for(0), Duration::ZERO);
        assert_eq!(t.delay_for(t.per_login - 1), Duration::ZERO);
        assert_eq!(t.delay_for(t.per_login), Duration::from_millis(250));
        assert_eq!(t.delay_for(t.per_login + 1), Duration::from_millis(500));
        assert_eq!(t.delay_for(t.per_login + 3), Duration::from_secs(2));
        assert_eq!(t.delay_for(1_000_000), Duration::from_secs(8));
    }

    #[test]
    fn logins_are_normalised() {
        assert_eq!(normalise_login("+86 138-1234-1234"), "13812341234");
        assert_eq!(normalise_login(" Wang.Li "), "wang.li");
    }
}

#[cfg(test)]
mod fuzz_tests {
    //! The sign-in form takes any text: a login is refused as a wrong login before it
    //! reaches the database, unless it could be someone's.

    use mashang_db::testing::TestDatabase;
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn fuzz_a_login_that_passes_the_first_check_is_storable_text(
            raw in "\\PC{0,70}|.{0,8}[\\x00-\\x1f].{0,8}|\\+86 1[3-9][0-9]{2}-[0-9]{4}-[0-9]{4}",
            password in ".{0,16}",
        ) {
            let login = normalise_login(&raw);
            if plausible(&login, &password) {
                prop_assert!(!login.contains('\0'));
                prop_assert!(login.chars().count() <= 64);
                prop_assert_eq!(normalise_login(&login), login.clone(), "normalising is stable");
            }
        }
    }

    #[tokio::test]
    async fn a_login_with_a_nul_is_a_wrong_login_not_a_server_error() {
        let test = TestDatabase::create().await;
        for login in ["\0", "wang\0li", "13800000001\0"] {
            let outcome = sign_in(
                &test.db,
                login,
                "password",
                "192.0.2.1",
                SigninThrottle::default(),
            )
            .await;
            assert!(
                matches!(outcome, Err(AuthError::BadCredentials)),
                "{login:?}: {:?}",
                outcome.err()
            );
        }
    }
}
