//! The extractors that give a handler its principal.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method};
use base64::Engine;
use mashang_db::Db;
use mashang_domain::role::Role;
use mashang_domain::{GridNodeId, TenantId, UserId};
use mashang_http::{ApiError, ClientIp};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::api_tokens::{API_TOKEN_PREFIX, principal_of_token};
use crate::cookie;
use crate::error::AuthError;
use crate::keys::Keys;
use crate::principal::{Principal, PrincipalKind, RoleGrant};
use crate::secret;
use crate::sessions::{SESSION_IDLE_HOURS, SESSION_PREFIX, SignedIn, find_session};
use crate::signin::SigninThrottle;

/// How long a sign-in or reset form stays usable after it was shown.
pub const SIGNIN_FORM_SECS: i64 = 3600;

/// Settings of staff access.
#[derive(Clone, Copy, Debug)]
pub struct AuthConfig {
    /// Mark the session cookie `Secure` (the public URL is https).
    pub secure_cookies: bool,
    /// Sign-in throttling.
    pub throttle: SigninThrottle,
}

/// What the extractors need, placed in request extensions by the process.
#[derive(Clone, Debug)]
pub struct Authenticator {
    /// The database (sessions, tokens, people).
    pub db: Db,
    /// Settings.
    pub config: AuthConfig,
    /// Keys for reset codes and the sign-in form's token.
    pub keys: Keys,
}

impl Authenticator {
    /// The `Set-Cookie` value for a new session.
    pub fn session_cookie(&self, session: &SignedIn) -> HeaderValue {
        let value = cookie::set_session(
            &session.token,
            SESSION_IDLE_HOURS * 3600,
            self.config.secure_cookies,
        );
        HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// The `Set-Cookie` value that ends the session in the browser.
    pub fn clear_cookie(&self) -> HeaderValue {
        HeaderValue::from_str(&cookie::clear_session(self.config.secure_cookies))
            .unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// A new sign-in form: the `Set-Cookie` value carrying a random value, and the token
    /// the form must send back (the keyed hash of that value). A page of another site
    /// can read neither, so it cannot sign a browser in to an account of its choosing.
    pub fn signin_form(&self) -> Result<(HeaderValue, String), AuthError> {
        let value = secret::token("", 24)?;
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(self.keys.signin_forms.mac(&[value.as_bytes()]));
        let cookie = cookie::set_signin(&value, SIGNIN_FORM_SECS, self.config.secure_cookies);
        let cookie = HeaderValue::from_str(&cookie)
            .map_err(|e| AuthError::Internal(anyhow::anyhow!("sign-in cookie: {e}")))?;
        Ok((cookie, token))
    }

    /// Whether a posted sign-in or reset form carries the token of the form this
    /// browser was shown (compared in constant time).
    pub fn signin_form_ok(&self, headers: &HeaderMap, token: &str) -> bool {
        let Some(value) = cookie::named(headers, cookie::SIGNIN_COOKIE) else {
            return false;
        };
        let Ok(tag) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token.trim()) else {
            return false;
        };
        self.keys.signin_forms.verify(&[value.as_bytes()], &tag)
    }

    /// The client's address, for throttling: the one the edge resolved for every
    /// per-address limit (see `mashang_http::TrustedProxies`).
    pub fn client_address(&self, parts: &Parts) -> String {
        ClientIp::of(&parts.extensions)
            .map(|ip| ip.to_string())
            .unwrap_or_else(|| "unknown".to_owned())
    }

    /// Loads the principal of a person.
    pub async fn load_person(
        &self,
        user: UserId,
        tenant: Option<TenantId>,
    ) -> Result<Option<Principal>, AuthError> {
        match tenant {
            Some(tenant) => load_staff(&self.db, user, tenant).await,
            None => load_county(&self.db, user).await,
        }
    }
}

async fn load_staff(
    db: &Db,
    user: UserId,
    tenant: TenantId,
) -> Result<Option<Principal>, AuthError> {
    let mut tx = db.tenant(tenant).await?;
    let row: Option<(String, bool, String)> = sqlx::query_as(
        "SELECT u.name, u.active, t.status FROM routing.staff_users u JOIN routing.tenants t ON t.id = u.tenant_id \
         WHERE u.tenant_id = $1 AND u.id = $2",
    )
    .bind(tenant.as_uuid())
    .bind(user.as_uuid())
    .fetch_optional(&mut *tx)
    .await?;
    let Some((name, active, status)) = row else {
        return Ok(None);
    };
    if status != "active" {
        return Err(AuthError::TenantSuspended);
    }
    if !active {
        return Ok(None);
    }
    let roles: Vec<(String, Uuid)> = sqlx::query_as(
        "SELECT role, node_id FROM routing.staff_roles WHERE tenant_id = $1 AND user_id = $2",
    )
    .bind(tenant.as_uuid())
    .bind(user.as_uuid())
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(Principal {
        kind: PrincipalKind::Staff { user, tenant },
        name,
        roles: roles
            .into_iter()
            .filter_map(|(role, node)| {
                Role::parse(&role).map(|role| RoleGrant {
                    role,
                    node: Some(GridNodeId::from_uuid(node)),
                })
            })
            .collect(),
        csrf: None,
    }))
}

async fn load_county(db: &Db, user: UserId) -> Result<Option<Principal>, AuthError> {
    let mut tx = db.global().await?;
    let row: Option<(String, bool, Vec<String>)> =
        sqlx::query_as("SELECT name, active, roles FROM routing.county_users WHERE id = $1")
            .bind(user.as_uuid())
            .fetch_optional(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(row
        .filter(|(_, active, _)| *active)
        .map(|(name, _, roles)| Principal {
            kind: PrincipalKind::County { user },
            name,
            roles: roles
                .iter()
                .filter_map(|r| Role::parse(r))
                .map(|role| RoleGrant { role, node: None })
                .collect(),
            csrf: None,
        }))
}

/// How the request presented its credentials.
enum Presented {
    Bearer(String),
    Cookie(String),
}

fn presented(parts: &Parts) -> Option<Presented> {
    if let Some(bearer) = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(Presented::Bearer(bearer.trim().to_owned()));
    }
    cookie::session_from(&parts.headers).map(Presented::Cookie)
}

/// The header a change made with a session cookie must carry the session's CSRF token
/// in. Never read from the URL (URLs end up in logs, history and `Referer`); the admin
/// pages' forms send it as a `_csrf` field, which their layer moves into this header.
pub const CSRF_HEADER: &str = "x-csrf-token";

fn csrf_presented(parts: &Parts) -> Option<&str> {
    parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok())
}

/// Whether the presented token is the session's, in constant time.
fn csrf_matches(presented: Option<&str>, expected: &str) -> bool {
    presented.is_some_and(|p| bool::from(p.trim().as_bytes().ct_eq(expected.as_bytes())))
}

/// Why credentials were not accepted.
enum Refusal {
    /// Invalid credentials, or a failure looking them up.
    Api(ApiError),
    /// A valid session cookie, but a change without its CSRF token.
    Csrf,
}

impl From<ApiError> for Refusal {
    fn from(err: ApiError) -> Self {
        Self::Api(err)
    }
}

impl From<AuthError> for Refusal {
    fn from(err: AuthError) -> Self {
        Self::Api(err.into())
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Api(e) => e,
            Refusal::Csrf => AuthError::Csrf.into(),
        }
    }
}

async fn authenticate(parts: &Parts) -> Result<Option<Principal>, Refusal> {
    let Some(credentials) = presented(parts) else {
        return Ok(None);
    };
    let auth = parts.extensions.get::<Authenticator>().ok_or_else(|| {
        ApiError::internal(anyhow::anyhow!("no Authenticator in request extensions"))
    })?;
    let (token, via_cookie) = match credentials {
        Presented::Bearer(t) => (t, false),
        Presented::Cookie(t) => (t, true),
    };
    if token.starts_with(API_TOKEN_PREFIX) && !via_cookie {
        return match principal_of_token(&auth.db, &token).await? {
            Some(p) => {
                note_actor(&p);
                Ok(Some(p))
            }
            None => Err(ApiError::Unauthorized.into()),
        };
    }
    if !token.starts_with(SESSION_PREFIX) {
        return Err(ApiError::Unauthorized.into());
    }
    let Some(session) = find_session(&auth.db, &token).await? else {
        return Err(ApiError::Unauthorized.into());
    };
    let Some(mut principal) = auth.load_person(session.user, session.tenant).await? else {
        return Err(ApiError::Unauthorized.into());
    };
    if via_cookie {
        // A browser sends cookies on its own; a change must prove it came from our page.
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe && !csrf_matches(csrf_presented(parts), &session.csrf) {
            return Err(Refusal::Csrf);
        }
        principal.csrf = Some(session.csrf);
    }
    note_actor(&principal);
    Ok(Some(principal))
}

/// Names the request's actor for the change log (see [`mashang_db::actor`]).
fn note_actor(principal: &Principal) {
    use mashang_db::actor::{Actor, note};
    note(match principal.kind {
        PrincipalKind::Staff { user, .. } => Actor::Staff(user.as_uuid()),
        PrincipalKind::County { user } => Actor::County(user.as_uuid()),
        PrincipalKind::ApiToken { token, .. } => Actor::Token(token),
    });
}

/// Middleware giving each request a place for its actor, so the transactions it opens
/// after signing in name the person in the change log.
pub async fn actor_scope(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    mashang_db::actor::scope(next.run(request)).await
}

/// A signed-in principal; 401 without valid credentials, 403 on a CSRF failure.
#[derive(Clone, Debug)]
pub struct Auth(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        authenticate(parts)
            .await?
            .map(Auth)
            .ok_or(ApiError::Unauthorized)
    }
}

/// For public endpoints that a signed-in person may also use (a citizen's report,
/// which staff may file on a villager's behalf): a principal if credentials were
/// presented and hold, `None` if none were. A session cookie that cannot prove the
/// request came from our page (no CSRF token), or has ended, counts as no session: a
/// citizen's submission from a browser that also holds a staff cookie is a citizen's.
/// An invalid bearer token is still an error.
#[derive(Clone, Debug)]
pub struct MaybeAuth(pub Option<Principal>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match authenticate(parts).await {
            Ok(p) => Ok(MaybeAuth(p)),
            Err(Refusal::Csrf) => Ok(MaybeAuth(None)),
            Err(Refusal::Api(ApiError::Unauthorized))
                if cookie::session_from(&parts.headers).is_some() =>
            {
                Ok(MaybeAuth(None))
            }
            Err(Refusal::Api(e)) => Err(e),
        }
    }
}

/// For the staff pages: a principal if signed in, `None` if not (an ended session
/// counts as signed out, so the page asks to sign in); a change made with a session
/// cookie but without its CSRF token is refused (403).
#[derive(Clone, Debug)]
pub struct MaybeSignedIn(pub Option<Principal>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeSignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match authenticate(parts).await {
            Ok(p) => Ok(MaybeSignedIn(p)),
            Err(Refusal::Api(ApiError::Unauthorized))
                if cookie::session_from(&parts.headers).is_some() =>
            {
                Ok(MaybeSignedIn(None))
            }
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::csrf_matches;

    #[test]
    fn the_csrf_token_must_match_exactly() {
        assert!(csrf_matches(Some("abc123"), "abc123"));
        assert!(!csrf_matches(Some("abc12"), "abc123"));
        assert!(!csrf_matches(Some("abc1234"), "abc123"));
        assert!(!csrf_matches(Some(""), "abc123"));
        assert!(!csrf_matches(None, "abc123"));
    }
}
