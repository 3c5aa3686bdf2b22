//! The extractors that give a handler its principal.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method};
use mashang_db::Db;
use mashang_domain::role::Role;
use mashang_domain::{GridNodeId, TenantId, UserId};
use mashang_http::{ApiError, ClientIp};
use uuid::Uuid;

use crate::api_tokens::{API_TOKEN_PREFIX, principal_of_token};
use crate::cookie;
use crate::error::AuthError;
use crate::principal::{Principal, PrincipalKind, RoleGrant};
use crate::sessions::{SESSION_IDLE_HOURS, SESSION_PREFIX, SignedIn, find_session};
use crate::signin::SigninThrottle;

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

fn csrf_presented(parts: &Parts) -> Option<String> {
    if let Some(h) = parts
        .headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
    {
        return Some(h.to_owned());
    }
    parts.uri.query().and_then(|q| {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == "_csrf")
            .map(|(_, v)| v.to_owned())
    })
}

async fn authenticate(parts: &Parts) -> Result<Option<Principal>, ApiError> {
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
            Some(p) => Ok(Some(p)),
            None => Err(ApiError::Unauthorized),
        };
    }
    if !token.starts_with(SESSION_PREFIX) {
        return Err(ApiError::Unauthorized);
    }
    let Some(session) = find_session(&auth.db, &token).await? else {
        return Err(ApiError::Unauthorized);
    };
    let Some(mut principal) = auth.load_person(session.user, session.tenant).await? else {
        return Err(ApiError::Unauthorized);
    };
    if via_cookie {
        // A browser sends cookies on its own; a change must prove it came from our page.
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe && csrf_presented(parts).as_deref() != Some(session.csrf.as_str()) {
            return Err(AuthError::Csrf.into());
        }
        principal.csrf = Some(session.csrf);
    }
    Ok(Some(principal))
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

/// A principal if credentials were presented, `None` if none were; invalid credentials
/// are still an error (a broken session is not the same as no session).
#[derive(Clone, Debug)]
pub struct MaybeAuth(pub Option<Principal>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match authenticate(parts).await {
            Ok(p) => Ok(MaybeAuth(p)),
            // An expired cookie on a page: treat as signed out, the page asks to sign in.
            Err(ApiError::Unauthorized) if cookie::session_from(&parts.headers).is_some() => {
                Ok(MaybeAuth(None))
            }
            Err(e) => Err(e),
        }
    }
}
