//! Sign-in, sign-out, the signed-in principal, password change and reset.

use axum::Extension;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use mashang_auth::{Auth, Authenticator, Password, PrincipalKind, sign_in};
use mashang_http::{ApiError, ApiJson};
use serde::Deserialize;
use serde_json::json;

use crate::RoutingState;
use mashang_http::openapi::{JsonBodyErrors, RateLimited, StaffErrors, Unavailable};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn routes() -> OpenApiRouter<RoutingState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(change_password))
        .routes(routes!(reset))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct LoginBody {
    login: String,
    password: String,
}

/// `POST /api/v1/auth/login`: a session cookie for the browser, and the same token
/// in the body for API clients (`Authorization: Bearer …`).
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", operation_id = "post_api_v1_auth_login",
    summary = "登录 (Signs in: sets the session cookie and answers the CSRF token)",
    request_body(content = LoginBody, content_type = "application/json"),
    security(()),
    responses(
        (status = 200, description = "已登录 (Signed in)", body = Object, headers(("Set-Cookie" = String, description = "The session cookie"))),
        StaffErrors,
        JsonBodyErrors,
        RateLimited,
        Unavailable,
    ))]
async fn login(
    Extension(auth): Extension<Authenticator>,
    parts: Parts,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Response, ApiError> {
    let address = auth.client_address(&parts);
    let (session, user, tenant) = sign_in(
        &auth.db,
        &body.login,
        &body.password,
        &address,
        auth.config.throttle,
    )
    .await?;
    let principal = auth
        .load_person(user, tenant)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let cookie = auth.session_cookie(&session);
    let body = json!({
        "token": session.token,
        "csrf_token": session.csrf_token,
        "expires_at": session.expires_at,
        "principal": principal,
    });
    let mut response = (StatusCode::OK, axum::Json(body)).into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}

/// `POST /api/v1/auth/logout`: ends the session that made the request.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", operation_id = "post_api_v1_auth_logout",
    summary = "退出 (Ends the session)",
    responses(
        (status = 204, description = "已退出 (Signed out)"),
        StaffErrors,
        Unavailable,
    ))]
async fn logout(
    Extension(auth): Extension<Authenticator>,
    Auth(_): Auth,
    parts: Parts,
) -> Result<Response, ApiError> {
    let token = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned)
        .or_else(|| {
            parts
                .headers
                .get(header::COOKIE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| {
                    v.split(';')
                        .filter_map(|p| p.trim().split_once('='))
                        .find(|(k, _)| *k == mashang_auth::SESSION_COOKIE)
                        .map(|(_, t)| t.to_owned())
                })
        });
    if let Some(token) = token {
        mashang_auth::end_session(&auth.db, &token).await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, auth.clear_cookie());
    Ok(response)
}

/// `GET /api/v1/auth/me`: who is signed in, with their roles and CSRF token.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", operation_id = "get_api_v1_auth_me",
    summary = "当前用户 (Who is signed in, with their roles)",
    responses(
        (status = 200, description = "当前用户 (The principal)", body = Object),
        StaffErrors,
        Unavailable,
    ))]
async fn me(Auth(principal): Auth) -> ApiJson<serde_json::Value> {
    ApiJson(json!({
        "principal": principal,
        "csrf_token": principal.csrf,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct ChangePassword {
    current_password: String,
    new_password: String,
}

/// `POST /api/v1/auth/password`: a person changes their own password.
#[utoipa::path(post, path = "/api/v1/auth/password", tag = "auth", operation_id = "post_api_v1_auth_password",
    summary = "修改密码 (Changes the signed-in person password)",
    request_body(content = ChangePassword, content_type = "application/json"),
    responses(
        (status = 204, description = "已修改 (Changed)"),
        StaffErrors,
        JsonBodyErrors,
        RateLimited,
        Unavailable,
    ))]
async fn change_password(
    Extension(auth): Extension<Authenticator>,
    State(state): State<RoutingState>,
    Auth(principal): Auth,
    parts: Parts,
    ApiJson(body): ApiJson<ChangePassword>,
) -> Result<StatusCode, ApiError> {
    let new = Password::new(&body.new_password)?;
    let PrincipalKind::Staff { user, tenant } = principal.kind else {
        return Err(ApiError::Forbidden(
            "only people change passwords here".into(),
        ));
    };
    let address = auth.client_address(&parts);
    let login: Option<(String,)> = {
        let mut tx = state.db.tenant(tenant).await?;
        let row = sqlx::query_as(
            "SELECT phone FROM routing.staff_users WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant.as_uuid())
        .bind(user.as_uuid())
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        row
    };
    let (login,) = login.ok_or(ApiError::Unauthorized)?;
    // The current password is checked like a sign-in, with the same throttling.
    sign_in(
        &auth.db,
        &login,
        &body.current_password,
        &address,
        auth.config.throttle,
    )
    .await
    .map_err(|e| match e {
        mashang_auth::AuthError::BadCredentials => {
            ApiError::field("current_password", "当前密码不正确 (wrong password)")
        }
        other => other.into(),
    })?;
    let mut tx = state.db.tenant(tenant).await?;
    mashang_auth::set_staff_password(&mut tx, user, &new).await?;
    tx.commit().await?;
    mashang_auth::end_all_sessions(&auth.db, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct ResetBody {
    login: String,
    code: String,
    new_password: String,
}

/// `POST /api/v1/auth/reset`: set a password with the one-time code an administrator gave.
#[utoipa::path(post, path = "/api/v1/auth/reset", tag = "auth", operation_id = "post_api_v1_auth_reset",
    summary = "用重置码设密码 (Sets a password with a reset code)",
    request_body(content = ResetBody, content_type = "application/json"),
    security(()),
    responses(
        (status = 204, description = "已设置 (Set)"),
        StaffErrors,
        JsonBodyErrors,
        RateLimited,
        Unavailable,
    ))]
async fn reset(
    Extension(auth): Extension<Authenticator>,
    parts: Parts,
    ApiJson(body): ApiJson<ResetBody>,
) -> Result<StatusCode, ApiError> {
    let new = Password::new(&body.new_password)?;
    let address = auth.client_address(&parts);
    mashang_auth::redeem_reset_code(
        &auth.db,
        &auth.keys,
        &body.login,
        &body.code,
        &new,
        &address,
        auth.config.throttle,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
