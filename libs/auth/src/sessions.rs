//! Sessions: a random token given to the browser (cookie) or API client (bearer),
//! stored only as its hash, with a CSRF token for forms.

use chrono::{DateTime, Duration, Utc};
use mashang_db::{Db, PgConnection};
use mashang_domain::{TenantId, UserId};
use serde::Serialize;
use uuid::Uuid;

use crate::case_link::revoke_case_links;
use crate::error::AuthError;
use crate::secret;

/// How long a session lives at most.
pub const SESSION_LIFETIME_HOURS: i64 = 24 * 7;
/// How long a session may go unused.
pub const SESSION_IDLE_HOURS: i64 = 12;
/// Session tokens start with this, API tokens with `mst_`.
pub const SESSION_PREFIX: &str = "mss_";

/// A new session.
#[derive(Clone, Debug, Serialize)]
pub struct SignedIn {
    /// The bearer token (also the cookie's value). Shown once.
    pub token: String,
    /// The CSRF token forms must send back.
    pub csrf_token: String,
    /// When it expires at the latest.
    pub expires_at: DateTime<Utc>,
}

/// Opens a session for a person.
pub async fn start_session(
    db: &Db,
    user: UserId,
    tenant: Option<TenantId>,
) -> Result<SignedIn, AuthError> {
    let mut tx = db.global().await?;
    let session = insert_session(&mut tx, user, tenant).await?;
    // Sessions that ended are removed as new ones begin; no separate sweeper needed.
    sqlx::query(
        "DELETE FROM routing.sessions WHERE expires_at < now() OR last_seen_at < now() - make_interval(hours => $1)",
    )
    .bind(SESSION_IDLE_HOURS as i32)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(session)
}

/// Opens a session inside the caller's transaction (the sessions table is a global
/// lookup, so a tenant transaction may write it too): a sign-in link is consumed and
/// its session begins in one commit.
pub(crate) async fn insert_session(
    conn: &mut PgConnection,
    user: UserId,
    tenant: Option<TenantId>,
) -> Result<SignedIn, AuthError> {
    let token = secret::token(SESSION_PREFIX, 32)?;
    let csrf_token = secret::token("", 24)?;
    let expires_at = Utc::now() + Duration::hours(SESSION_LIFETIME_HOURS);
    sqlx::query(
        "INSERT INTO routing.sessions (token_hash, user_id, tenant_id, csrf_token, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(secret::hash(&token))
    .bind(user.as_uuid())
    .bind(tenant.map(|t| t.as_uuid()))
    .bind(&csrf_token)
    .bind(expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(SignedIn {
        token,
        csrf_token,
        expires_at,
    })
}

/// A live session's owner.
#[derive(Clone, Debug)]
pub struct SessionRow {
    /// Who.
    pub user: UserId,
    /// Their township (none for county staff).
    pub tenant: Option<TenantId>,
    /// The session's CSRF token.
    pub csrf: String,
}

/// Looks a session token up, extending its idle window; `None` when unknown or ended.
pub async fn find_session(db: &Db, token: &str) -> Result<Option<SessionRow>, AuthError> {
    let mut tx = db.global().await?;
    let row: Option<(Uuid, Option<Uuid>, String)> = sqlx::query_as(
        "UPDATE routing.sessions SET last_seen_at = now() \
         WHERE token_hash = $1 AND expires_at > now() \
           AND last_seen_at > now() - make_interval(hours => $2) \
         RETURNING user_id, tenant_id, csrf_token",
    )
    .bind(secret::hash(token))
    .bind(SESSION_IDLE_HOURS as i32)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(row.map(|(user, tenant, csrf)| SessionRow {
        user: UserId::from_uuid(user),
        tenant: tenant.map(TenantId::from_uuid),
        csrf,
    }))
}

/// Ends a session (sign-out).
pub async fn end_session(db: &Db, token: &str) -> Result<(), AuthError> {
    let mut tx = db.global().await?;
    sqlx::query("DELETE FROM routing.sessions WHERE token_hash = $1")
        .bind(secret::hash(token))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Ends every session of a person and revokes their unused sign-in links (signing out
/// everywhere, password changed, person deactivated). Both happen in one transaction
/// that first locks the person's unused links, so a link redeemed at the same moment
/// either is refused or has its new session ended here.
pub async fn end_all_sessions(db: &Db, user: UserId) -> Result<(), AuthError> {
    let tenant = {
        let mut tx = db.global().await?;
        let row: Option<(Option<Uuid>,)> =
            sqlx::query_as("SELECT tenant_id FROM routing.logins WHERE user_id = $1 LIMIT 1")
                .bind(user.as_uuid())
                .fetch_optional(&mut *tx)
                .await?;
        tx.commit().await?;
        row.and_then(|(t,)| t).map(TenantId::from_uuid)
    };
    match tenant {
        Some(tenant) => {
            let mut tx = db.tenant(tenant).await?;
            revoke_case_links(&mut tx, user).await?;
            delete_sessions(&mut tx, user).await?;
            tx.commit().await?;
        }
        None => {
            let mut tx = db.global().await?;
            delete_sessions(&mut tx, user).await?;
            tx.commit().await?;
        }
    }
    Ok(())
}

async fn delete_sessions(conn: &mut PgConnection, user: UserId) -> Result<(), AuthError> {
    sqlx::query("DELETE FROM routing.sessions WHERE user_id = $1")
        .bind(user.as_uuid())
        .execute(&mut *conn)
        .await?;
    Ok(())
}
