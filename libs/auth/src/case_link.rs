//! Sign-in links for phones: a short-lived, single-use link that opens one case
//! already signed in as one person, so a worker answering an SMS or chat message never
//! types a password on a phone (`docs/decisions/0018-case-sign-in-links.md`).
//!
//! Only the keyed hash of a link's token is stored, in a narrow global lookup
//! (hash → tenant, link) read before the tenant is known; the link itself (person,
//! case, expiry, use) is a tenant row under row-level security. Redeeming consumes
//! the link and opens an ordinary session in one transaction, with a single
//! conditional `UPDATE`, so two redemptions at once give exactly one session.

use chrono::{DateTime, Duration, Utc};
use mashang_db::{Db, TenantTx};
use mashang_domain::{CaseId, TenantId, UserId};
use uuid::Uuid;

use crate::error::AuthError;
use crate::keys::Keys;
use crate::secret;
use crate::sessions::{SignedIn, insert_session};
use crate::signin::{SigninThrottle, attempt_succeeded, take_attempt};

/// A link's lifetime when the caller names none.
pub const CASE_LINK_DEFAULT_HOURS: i64 = 12;
/// The longest lifetime a link may have.
pub const CASE_LINK_MAX_HOURS: i64 = 24;
/// The longest token a request may present; anything longer is refused unread.
pub const CASE_LINK_TOKEN_MAX: usize = 64;
/// Random bytes in a token: 128 bits, 22 URL-safe characters.
const TOKEN_BYTES: usize = 16;
/// The address throttle's key for link redemptions. Not a possible sign-in name (those
/// are phone digits or `[a-z0-9_.-]`), and never marked as a login failure, so wrong
/// links count against their address only and never slow anyone's sign-in down.
const THROTTLE_KEY: &str = "case-link:";

/// A new link, returned once to be put into a message.
#[derive(Clone)]
pub struct CaseLink {
    /// The link's id (for records; not a secret).
    pub id: Uuid,
    /// The token: the secret part of the URL.
    pub token: String,
    /// The path to send, relative to the public URL: `/l/{token}`.
    pub path: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for CaseLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaseLink")
            .field("id", &self.id)
            .field("token", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A redeemed link: the session it opened and where it leads.
#[derive(Clone, Debug)]
pub struct RedeemedLink {
    /// The new session (same kind as a password sign-in's).
    pub session: SignedIn,
    /// Who is now signed in.
    pub user: UserId,
    /// Their township.
    pub tenant: TenantId,
    /// The case the link opens.
    pub case: CaseId,
}

/// The lifetime of a new link: the default when none is asked for, at most the cap;
/// a lifetime of zero or less is refused.
pub fn link_lifetime(ttl: Option<Duration>) -> Result<Duration, AuthError> {
    match ttl {
        None => Ok(Duration::hours(CASE_LINK_DEFAULT_HOURS)),
        Some(ttl) if ttl <= Duration::zero() => Err(AuthError::Invalid {
            field: "ttl",
            message: "链接有效期必须大于零 (a link must live for some time)".to_owned(),
        }),
        Some(ttl) => Ok(ttl.min(Duration::hours(CASE_LINK_MAX_HOURS))),
    }
}

/// Whether a presented token could be one we issued: short enough and URL-safe
/// base64 only. Checked before any other work.
pub fn token_well_formed(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= CASE_LINK_TOKEN_MAX
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn token_hash(keys: &Keys, token: &str) -> Vec<u8> {
    keys.case_links.mac(&[token.as_bytes()]).to_vec()
}

/// Mints a link that signs `user` in and opens `case`, both of `tenant`, valid for
/// `ttl` (default 12 hours, at most 24). Refused when the person is not an active
/// member of the township or the case is not the township's.
pub async fn mint_case_link(
    db: &Db,
    keys: &Keys,
    tenant: TenantId,
    user: UserId,
    case: CaseId,
    ttl: Option<Duration>,
) -> Result<CaseLink, AuthError> {
    let mut tx = db.tenant(tenant).await?;
    let link = mint_case_link_in(&mut tx, keys, user, case, ttl).await?;
    tx.commit().await?;
    Ok(link)
}

/// As [`mint_case_link`], in the caller's transaction of the township: the link
/// exists only if that transaction commits, and no second connection is taken (a
/// caller holding one from a small pool would otherwise wait on itself).
pub async fn mint_case_link_in(
    tx: &mut TenantTx,
    keys: &Keys,
    user: UserId,
    case: CaseId,
    ttl: Option<Duration>,
) -> Result<CaseLink, AuthError> {
    let lifetime = link_lifetime(ttl)?;
    let token = secret::token("", TOKEN_BYTES)?;
    let id = Uuid::now_v7();
    let tenant = tx.tenant();
    // Expiry from the database's clock, like the check it is compared with.
    let created: Option<(DateTime<Utc>,)> = sqlx::query_as(
        "INSERT INTO routing.case_links (id, tenant_id, user_id, case_id, expires_at) \
         SELECT $1, u.tenant_id, u.id, c.id, now() + make_interval(secs => $5) \
           FROM routing.staff_users u \
           JOIN routing.cases c ON c.tenant_id = u.tenant_id AND c.id = $4 \
          WHERE u.tenant_id = $2 AND u.id = $3 AND u.active \
         RETURNING expires_at",
    )
    .bind(id)
    .bind(tenant.as_uuid())
    .bind(user.as_uuid())
    .bind(case.as_uuid())
    .bind(lifetime.num_milliseconds() as f64 / 1000.0)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((expires_at,)) = created else {
        return Err(AuthError::Invalid {
            field: "case",
            message: "本乡镇没有此人员或案件 (no such active person or case in this township)"
                .to_owned(),
        });
    };
    sqlx::query(
        "INSERT INTO routing.case_link_lookup (token_hash, link_id, tenant_id) VALUES ($1, $2, $3)",
    )
    .bind(token_hash(keys, &token))
    .bind(id)
    .bind(tenant.as_uuid())
    .execute(&mut **tx)
    .await?;
    // Links a day past their end go as new ones are made (their lookups cascade).
    sqlx::query(
        "DELETE FROM routing.case_links WHERE tenant_id = $1 AND expires_at < now() - interval '1 day'",
    )
    .bind(tenant.as_uuid())
    .execute(&mut **tx)
    .await?;
    Ok(CaseLink {
        id,
        path: format!("/l/{token}"),
        token,
        expires_at,
    })
}

/// Redeems a link: consumes it and opens a session for its person. An unknown, used,
/// expired or revoked link, and one whose person is no longer active, all answer
/// [`AuthError::LinkGone`]; a suspended township answers
/// [`AuthError::TenantSuspended`]. Attempts count against the client's address like
/// failed sign-ins, and a successful one is forgotten.
pub async fn redeem_case_link(
    db: &Db,
    keys: &Keys,
    token: &str,
    address: &str,
    limits: SigninThrottle,
) -> Result<RedeemedLink, AuthError> {
    if !token_well_formed(token) {
        return Err(AuthError::LinkGone);
    }
    let attempt = take_attempt(db, THROTTLE_KEY, address, limits).await?;
    let found: Option<(Uuid, Uuid)> = {
        let mut tx = db.global().await?;
        let row = sqlx::query_as(
            "SELECT tenant_id, link_id FROM routing.case_link_lookup WHERE token_hash = $1",
        )
        .bind(token_hash(keys, token))
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        row
    };
    let Some((tenant, link)) = found else {
        return Err(AuthError::LinkGone);
    };
    let tenant = TenantId::from_uuid(tenant);
    let mut tx = db.tenant(tenant).await?;
    let Some((user, case)) = consume(&mut tx, link).await? else {
        return Err(AuthError::LinkGone);
    };
    let account: Option<(bool, String)> = sqlx::query_as(
        "SELECT u.active, t.status FROM routing.staff_users u \
         JOIN routing.tenants t ON t.id = u.tenant_id WHERE u.tenant_id = $1 AND u.id = $2",
    )
    .bind(tenant.as_uuid())
    .bind(user.as_uuid())
    .fetch_optional(&mut *tx)
    .await?;
    // Refusals roll the transaction back: the link stays as it was.
    match account {
        Some((true, status)) if status == "active" => {}
        Some((true, _)) => return Err(AuthError::TenantSuspended),
        _ => return Err(AuthError::LinkGone),
    }
    let session = insert_session(&mut tx, user, Some(tenant)).await?;
    tx.commit().await?;
    attempt_succeeded(db, &attempt, THROTTLE_KEY).await?;
    Ok(RedeemedLink {
        session,
        user,
        tenant,
        case,
    })
}

/// Marks a live link used, in one statement: of two concurrent redemptions the second
/// waits on the row, then finds it used and gets nothing.
async fn consume(tx: &mut TenantTx, link: Uuid) -> Result<Option<(UserId, CaseId)>, AuthError> {
    let row: Option<(Uuid, Uuid)> = sqlx::query_as(
        "UPDATE routing.case_links SET used_at = now() \
         WHERE tenant_id = $1 AND id = $2 \
           AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now() \
         RETURNING user_id, case_id",
    )
    .bind(tx.tenant().as_uuid())
    .bind(link)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|(u, c)| (UserId::from_uuid(u), CaseId::from_uuid(c))))
}

/// Revokes a person's unused links (part of signing out everywhere).
pub(crate) async fn revoke_case_links(tx: &mut TenantTx, user: UserId) -> Result<(), AuthError> {
    sqlx::query(
        "UPDATE routing.case_links SET revoked_at = now() \
         WHERE tenant_id = $1 AND user_id = $2 AND used_at IS NULL AND revoked_at IS NULL",
    )
    .bind(tx.tenant().as_uuid())
    .bind(user.as_uuid())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_lives_twelve_hours_unless_asked_and_never_past_a_day() {
        assert_eq!(link_lifetime(None).ok(), Some(Duration::hours(12)));
        assert_eq!(
            link_lifetime(Some(Duration::hours(2))).ok(),
            Some(Duration::hours(2))
        );
        assert_eq!(
            link_lifetime(Some(Duration::days(7))).ok(),
            Some(Duration::hours(24))
        );
        assert!(link_lifetime(Some(Duration::zero())).is_err());
        assert!(link_lifetime(Some(Duration::minutes(-5))).is_err());
    }

    #[test]
    fn only_short_url_safe_tokens_are_looked_at() {
        let minted = secret::token("", TOKEN_BYTES).expect("randomness");
        assert_eq!(minted.len(), 22, "128 bits in 22 characters");
        assert!(token_well_formed(&minted));
        assert!(!token_well_formed(""));
        assert!(!token_well_formed(&"a".repeat(CASE_LINK_TOKEN_MAX + 1)));
        assert!(token_well_formed(&"a".repeat(CASE_LINK_TOKEN_MAX)));
        assert!(!token_well_formed("abc/def"));
        assert!(!token_well_formed("abc def"));
        assert!(!token_well_formed("<script>"));
    }

    #[test]
    fn a_new_link_does_not_show_its_token_in_logs() {
        let link = CaseLink {
            id: Uuid::nil(),
            token: "secret-token".to_owned(),
            path: "/l/secret-token".to_owned(),
            expires_at: Utc::now(),
        };
        assert!(!format!("{link:?}").contains("secret-token"));
    }
}

#[cfg(test)]
mod fuzz_tests {
    //! A sign-in link's token arrives in a URL: any text is either plausibly ours or
    //! refused before the database, and every token we mint is plausibly ours.

    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn fuzz_case_link_tokens_minted_are_well_formed(_round in 0u8..8) {
            let minted = secret::token("", TOKEN_BYTES).expect("randomness");
            prop_assert!(token_well_formed(&minted));
        }

        #[test]
        fn fuzz_case_link_text_is_well_formed_only_in_the_alphabet(
            text in "\\PC{0,80}|[A-Za-z0-9_-]{0,70}|.{0,4}[\\x00%/.+=].{0,4}",
        ) {
            let expected = !text.is_empty()
                && text.len() <= CASE_LINK_TOKEN_MAX
                && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            prop_assert_eq!(token_well_formed(&text), expected);
        }
    }
}
