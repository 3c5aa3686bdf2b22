//! Signing in and out, and setting a password with a one-time code. The sign-in and
//! reset forms carry a token tied to a cookie set when the form was shown (login
//! CSRF): a page elsewhere cannot sign a browser in to an account of its choosing.
//! One sign-in serves every staff role; afterwards each person lands on their home
//! ([`home_of`]), or back on the page that sent them here (`next`, a path on this
//! site only).

use askama::Template;
use axum::Extension;
use axum::extract::{Form, Query};
use axum::http::Uri;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use mashang_auth::{AuthError, Authenticator, MaybeSignedIn, Password, sign_in};
use mashang_http::ApiError;
use serde::Deserialize;

use super::layout::{LOGIN, PageError, home_of, render, safe_next, see_other};
use mashang_http::openapi::{FormErrors, Html, PageErrors};

#[derive(Debug, Template)]
#[template(path = "admin/login.html")]
struct LoginPage<'a> {
    login: &'a str,
    /// Where to go after signing in (already checked to be a path on this site).
    next: &'a str,
    error: Option<String>,
    notice: Option<&'static str>,
    form_token: String,
}

/// What a person is told when the form's token does not match its cookie.
const FORM_EXPIRED: &str =
    "页面已过期，请重新填写提交。(This page expired: please fill it in and submit again.)";

/// Renders a sign-in or reset form with a fresh form token and its cookie.
fn with_form_cookie(
    auth: &Authenticator,
    page: impl FnOnce(String) -> Response,
) -> Result<Response, PageError> {
    let (cookie, token) = auth.signin_form()?;
    let mut response = page(token);
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct LoginQuery {
    #[serde(default)]
    ok: Option<String>,
    #[serde(default)]
    next: Option<String>,
}

/// `next` when it is a path on this site, else nothing.
fn checked_next(next: Option<&str>) -> &str {
    next.filter(|n| safe_next(n)).unwrap_or_default()
}

/// Where a person goes once signed in: back to `next`, or their home.
fn destination(principal: &mashang_auth::Principal, next: &str) -> String {
    if safe_next(next) {
        next.to_owned()
    } else {
        home_of(principal).to_owned()
    }
}

/// `GET /admin/login`: moved to `/login`.
#[utoipa::path(get, path = "/admin/login", tag = "pages",
    operation_id = "get_admin_login_moved", security(()),
    summary = "旧地址 (The old address: a 308 to `/login`)",
    responses((status = 308, description = "已迁移 (Moved, the query kept)",
        headers(("Location" = String)))))]
pub(super) async fn moved_login(uri: Uri) -> Response {
    moved(uri).await
}

/// `POST /admin/login`: moved to `/login`.
#[utoipa::path(post, path = "/admin/login", tag = "pages",
    operation_id = "post_admin_login_moved", security(()),
    summary = "旧地址 (The old address: a 308 to `/login`)",
    responses((status = 308, description = "已迁移 (Moved, the query kept)",
        headers(("Location" = String)))))]
pub(super) async fn moved_login_post(uri: Uri) -> Response {
    moved(uri).await
}

/// `GET /admin/reset`: moved to `/login/reset`.
#[utoipa::path(get, path = "/admin/reset", tag = "pages",
    operation_id = "get_admin_reset_moved", security(()),
    summary = "旧地址 (The old address: a 308 to `/login/reset`)",
    responses((status = 308, description = "已迁移 (Moved, the query kept)",
        headers(("Location" = String)))))]
pub(super) async fn moved_reset(uri: Uri) -> Response {
    moved(uri).await
}

/// `POST /admin/reset`: moved to `/login/reset`.
#[utoipa::path(post, path = "/admin/reset", tag = "pages",
    operation_id = "post_admin_reset_moved", security(()),
    summary = "旧地址 (The old address: a 308 to `/login/reset`)",
    responses((status = 308, description = "已迁移 (Moved, the query kept)",
        headers(("Location" = String)))))]
pub(super) async fn moved_reset_post(uri: Uri) -> Response {
    moved(uri).await
}

/// `POST /admin/logout`: the old sign-out address, still signing out.
#[utoipa::path(post, path = "/admin/logout", tag = "pages", operation_id = "admin_logout",
    summary = "退出 (Signs out; the old address)",
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(FormErrors))]
pub(super) async fn admin_logout(
    ext: Extension<Authenticator>,
    auth_check: Result<MaybeSignedIn, ApiError>,
    parts: Parts,
) -> Result<Response, PageError> {
    logout(ext, auth_check, parts).await
}

/// The old addresses under `/admin` (`/admin/login`, `/admin/reset`): a 308 to the
/// same page under `/login`, with the query (`next`) kept.
async fn moved(uri: Uri) -> Response {
    let to = if uri.path().ends_with("/reset") {
        format!("{LOGIN}/reset")
    } else {
        LOGIN.to_owned()
    };
    let to = match uri.query() {
        Some(query) => format!("{to}?{query}"),
        None => to,
    };
    Redirect::permanent(&to).into_response()
}

/// `GET /login`; a signed-in person goes straight on to `next` or their home.
#[utoipa::path(get, path = "/login", tag = "pages", operation_id = "get_login",
    summary = "登录页面 (The staff sign-in page)",
    security(()),
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        PageErrors,
    ))]
pub(super) async fn login_page(
    Extension(authenticator): Extension<Authenticator>,
    auth: Result<MaybeSignedIn, ApiError>,
    Query(query): Query<LoginQuery>,
) -> Result<Response, PageError> {
    let next = checked_next(query.next.as_deref());
    if let Ok(MaybeSignedIn(Some(principal))) = auth {
        return Ok(see_other(&destination(&principal, next)));
    }
    let notice = match query.ok.as_deref() {
        Some("reset") => {
            Some("密码已设置好，请用新密码登录。(Your password is set: sign in with it.)")
        }
        Some("out") => Some("已退出登录。(Signed out.)"),
        _ => None,
    };
    with_form_cookie(&authenticator, |form_token| {
        render(
            StatusCode::OK,
            &LoginPage {
                login: "",
                next,
                error: None,
                notice,
                form_token,
            },
        )
    })
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct LoginForm {
    #[serde(default, rename = "_csrf")]
    form_token: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

/// What to tell a person whose sign-in or reset was refused.
fn refusal(err: AuthError) -> Result<String, PageError> {
    Ok(match err {
        AuthError::BadCredentials => {
            "手机号或密码不正确。(Wrong phone number or password.)".to_owned()
        }
        AuthError::Throttled(secs) => format!(
            "失败次数太多，请{}分钟后再试。(Too many failed attempts: wait {} minutes.)",
            secs.div_ceil(60),
            secs.div_ceil(60)
        ),
        AuthError::TenantSuspended => {
            "本乡镇已暂停使用，请联系县综治中心。(This township is suspended.)".to_owned()
        }
        AuthError::Invalid { message, .. } => message,
        other => return Err(other.into()),
    })
}

/// `POST /login`: on success the session cookie and a 303 to `next` or the person's
/// home; otherwise the form again, with the login (and `next`) kept.
#[utoipa::path(post, path = "/login", tag = "pages", operation_id = "post_login",
    summary = "登录 (The sign-in form)",
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    security(()),
    responses(
        (status = 200, description = "有误时重新显示表单 (The form again with what is wrong)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
pub(super) async fn login(
    Extension(auth): Extension<Authenticator>,
    parts: Parts,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    let next = checked_next(Some(&form.next));
    if !auth.signin_form_ok(&parts.headers, &form.form_token) {
        let login = form.login.trim().to_owned();
        return with_form_cookie(&auth, |form_token| {
            render(
                StatusCode::FORBIDDEN,
                &LoginPage {
                    login: &login,
                    next,
                    error: Some(FORM_EXPIRED.to_owned()),
                    notice: None,
                    form_token,
                },
            )
        });
    }
    let address = auth.client_address(&parts);
    match sign_in(
        &auth.db,
        &form.login,
        &form.password,
        &address,
        auth.config.throttle,
    )
    .await
    {
        Ok((session, user, tenant)) => {
            let to = match auth.load_person(user, tenant).await? {
                Some(principal) => destination(&principal, next),
                None => LOGIN.to_owned(),
            };
            let mut response = see_other(&to);
            response
                .headers_mut()
                .insert(header::SET_COOKIE, auth.session_cookie(&session));
            Ok(response)
        }
        Err(err) => {
            let status = match err {
                AuthError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
                AuthError::TenantSuspended => StatusCode::FORBIDDEN,
                _ => StatusCode::UNAUTHORIZED,
            };
            let error = refusal(err)?;
            with_form_cookie(&auth, |form_token| {
                render(
                    status,
                    &LoginPage {
                        login: form.login.trim(),
                        next,
                        error: Some(error),
                        notice: None,
                        form_token,
                    },
                )
            })
        }
    }
}

/// `POST /logout` (or the old `/admin/logout`) with the form's `_csrf` field: ends the session (the
/// extractor checked the CSRF token) and clears the cookie.
#[utoipa::path(post, path = "/logout", tag = "pages", operation_id = "post_logout",
    summary = "退出 (Signs out)",
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    responses(
        (status = 200, description = "有误时重新显示表单 (The form again with what is wrong)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
pub(super) async fn logout(
    Extension(auth): Extension<Authenticator>,
    auth_check: Result<MaybeSignedIn, ApiError>,
    parts: Parts,
) -> Result<Response, PageError> {
    // A signed-in browser must send the session's CSRF token (checked by the extractor).
    auth_check?;
    let token = parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == mashang_auth::SESSION_COOKIE)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|v| !v.is_empty());
    if let Some(token) = token {
        mashang_auth::end_session(&auth.db, &token).await?;
    }
    let mut response = see_other(&format!("{LOGIN}?ok=out"));
    response
        .headers_mut()
        .insert(header::SET_COOKIE, auth.clear_cookie());
    Ok(response)
}

#[derive(Debug, Template)]
#[template(path = "admin/reset.html")]
struct ResetPage<'a> {
    login: &'a str,
    code: &'a str,
    error: Option<String>,
    form_token: String,
}

/// `GET /login/reset`: set a password with the code an administrator gave.
#[utoipa::path(get, path = "/login/reset", tag = "pages", operation_id = "get_login_reset",
    summary = "重置密码页面 (The page to set a password with a reset code)",
    security(()),
    responses(
        (status = 200, description = "页面 (The page)", content_type = "text/html", body = Html),
        PageErrors,
    ))]
pub(super) async fn reset_page(
    Extension(auth): Extension<Authenticator>,
) -> Result<Response, PageError> {
    with_form_cookie(&auth, |form_token| {
        render(
            StatusCode::OK,
            &ResetPage {
                login: "",
                code: "",
                error: None,
                form_token,
            },
        )
    })
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ResetForm {
    #[serde(default, rename = "_csrf")]
    form_token: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password2: String,
}

/// `POST /login/reset`: sets the password, then sends the person to sign in.
#[utoipa::path(post, path = "/login/reset", tag = "pages", operation_id = "post_login_reset",
    summary = "重置密码 (The reset form)",
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    security(()),
    responses(
        (status = 200, description = "有误时重新显示表单 (The form again with what is wrong)", content_type = "text/html", body = Html),
        FormErrors,
    ))]
pub(super) async fn reset(
    Extension(auth): Extension<Authenticator>,
    parts: Parts,
    Form(form): Form<ResetForm>,
) -> Result<Response, PageError> {
    let outcome = if !auth.signin_form_ok(&parts.headers, &form.form_token) {
        Err(FORM_EXPIRED.to_owned())
    } else if form.password != form.password2 {
        Err("两次输入的新密码不一样。(The two new passwords differ.)".to_owned())
    } else {
        match Password::new(&form.password) {
            Err(err) => Err(refusal(err)?),
            Ok(password) => {
                let address = auth.client_address(&parts);
                match mashang_auth::redeem_reset_code(
                    &auth.db,
                    &auth.keys,
                    &form.login,
                    &form.code,
                    &password,
                    &address,
                    auth.config.throttle,
                )
                .await
                {
                    Ok(()) => Ok(()),
                    Err(err) => Err(refusal(err)?),
                }
            }
        }
    };
    match outcome {
        Ok(()) => Ok(see_other(&format!("{LOGIN}?ok=reset"))),
        Err(error) => with_form_cookie(&auth, |form_token| {
            render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &ResetPage {
                    login: form.login.trim(),
                    code: form.code.trim(),
                    error: Some(error),
                    form_token,
                },
            )
        }),
    }
}
