//! Sign-in links for phones (`docs/decisions/0018-case-sign-in-links.md`): `GET /l/{token}`
//! shows a one-button confirmation page and changes nothing, because SMS and chat
//! link previewers (WeChat among them) fetch every URL they see; `POST /l/{token}`
//! redeems the link, sets the session cookie and sends the browser to the case.
//! Also `POST /api/v1/auth/logout-all`, which ends every session of the person and
//! revokes their unused links.
//!
//! The redeeming POST carries no session CSRF token: the link's token is the secret,
//! 128 random bits that another site cannot guess. What another site could do is
//! post a link of its own (minted for its own staff member) to sign a visitor in as
//! someone else; a POST the browser marks `Sec-Fetch-Site: cross-site` is therefore
//! not redeemed but answered with the confirmation page, so a person only ever
//! signs in by tapping the button on our own page.

use askama::Template;
use axum::Extension;
use axum::extract::Path;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use mashang_auth::{
    Auth, AuthError, Authenticator, PrincipalKind, end_all_sessions, redeem_case_link,
    token_well_formed,
};
use mashang_http::ApiError;

use crate::RoutingState;
use mashang_http::openapi::{FormErrors, PageErrors};
use mashang_http::openapi::{StaffErrors, Unavailable};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Where a person whose link no longer works signs in instead.
const SIGN_IN: &str = "/login";

pub(super) fn routes() -> OpenApiRouter<RoutingState> {
    OpenApiRouter::new()
        .routes(routes!(confirm, redeem))
        .routes(routes!(logout_all))
}

/// The one page of this module, in its three states.
#[derive(Debug, Template)]
#[template(
    ext = "html",
    source = r#"<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{ title }} · 码上反映</title>
<style>
body{margin:0;font:18px/1.6 system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;color:#1a1a1a;background:#f4f5f7}
main{max-width:32rem;margin:0 auto;padding:2rem 1rem}
h1{font-size:1.5rem;margin:0 0 1rem}
p{margin:0 0 1rem}
.en{color:#555;font-size:.95rem}
button,a.btn{display:block;box-sizing:border-box;width:100%;min-height:56px;padding:.75rem 1rem;border:0;border-radius:8px;background:#0b5cad;color:#fff;font-size:1.25rem;text-align:center;text-decoration:none;cursor:pointer}
button:focus,a.btn:focus{outline:3px solid #f0a500;outline-offset:2px}
</style>
</head>
<body>
<main>
<h1>{{ title }}</h1>
{% for line in zh %}<p>{{ line }}</p>{% endfor %}
<p class="en" lang="en">{{ en }}</p>
{% match action %}
{% when Some with (path) %}
<form method="post" action="{{ path }}">
<button type="submit">打开案件 Open the case</button>
</form>
{% when None %}
<p><a class="btn" href="{{ sign_in }}">登录 Sign in</a></p>
{% endmatch %}
</main>
</body>
</html>"#
)]
struct LinkPage {
    title: &'static str,
    /// What to do, in Chinese, a line each.
    zh: Vec<String>,
    /// The same in English.
    en: String,
    /// The form's target when the page offers to open the case.
    action: Option<String>,
    sign_in: &'static str,
}

impl LinkPage {
    fn confirm(token: &str) -> Self {
        Self {
            title: "打开案件 Open the case",
            zh: vec![
                "点击下方按钮，以您的账号登录并打开案件。".to_owned(),
                "此链接只能使用一次，请勿转发。".to_owned(),
            ],
            en: "Tap the button to sign in and open the case. The link works once: do not forward it."
                .to_owned(),
            action: Some(format!("/l/{token}")),
            sign_in: SIGN_IN,
        }
    }

    fn gone() -> Self {
        Self::refused(
            "链接已失效 This link no longer works",
            "链接已使用、已过期或已被撤销，请用手机号和密码登录。",
            "The link was used, has expired or was revoked. Sign in with your phone number and password.",
        )
    }

    fn refused(title: &'static str, zh: &str, en: &str) -> Self {
        Self {
            title,
            zh: vec![zh.to_owned()],
            en: en.to_owned(),
            action: None,
            sign_in: SIGN_IN,
        }
    }
}

/// Renders the page with headers that keep the token in the URL to ourselves: no
/// `Referer` leaves the page, nothing is cached, nothing loads from elsewhere.
fn render(status: StatusCode, page: &LinkPage) -> Response {
    let html = match page.render() {
        Ok(html) => html,
        Err(err) => return ApiError::internal(err).into_response(),
    };
    let mut response = (status, Html(html)).into_response();
    secure(&mut response);
    response
}

fn secure(response: &mut Response) {
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; \
             base-uri 'none'; frame-ancestors 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "private, no-store"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers.insert("x-robots-tag", HeaderValue::from_static("noindex"));
}

/// The one answer for a link that is unknown, used, expired or revoked.
const GONE: StatusCode = StatusCode::GONE;

/// `GET /l/{token}`: the confirmation page. Reads nothing and changes nothing, so a
/// previewer fetching the URL neither uses the link nor learns whether it works.
#[utoipa::path(get, path = "/l/{token}", tag = "auth", operation_id = "get_l_token",
    summary = "登录链接 (The page that confirms a sign-in link)",
    params(("token" = String, Path, max_length = 100, description = "The sign-in link token")),
    security(()),
    responses(
        (status = 200, description = "确认页面 (The confirmation page)", content_type = "text/html", body = mashang_http::openapi::Html),
        (status = 410, description = "链接已失效 (The link is used, expired or not a link)", content_type = "text/html", body = mashang_http::openapi::Html),
        PageErrors,
    ))]
async fn confirm(Path(token): Path<String>) -> Response {
    if !token_well_formed(&token) {
        return render(GONE, &LinkPage::gone());
    }
    render(StatusCode::OK, &LinkPage::confirm(&token))
}

/// `POST /l/{token}`: redeems the link; on success the session cookie and a 303 to
/// the case.
#[utoipa::path(post, path = "/l/{token}", tag = "auth", operation_id = "post_l_token",
    summary = "使用登录链接 (Signs in with the link, once)",
    params(("token" = String, Path, max_length = 100, description = "The sign-in link token")),
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "表单字段 (The page form fields, with `_csrf`)"),
    security(()),
    responses(
        (status = 410, description = "链接已失效 (The link is used, expired or not a link)", content_type = "text/html", body = mashang_http::openapi::Html),
        FormErrors,
    ))]
async fn redeem(
    Extension(auth): Extension<Authenticator>,
    Path(token): Path<String>,
    parts: Parts,
) -> Result<Response, ApiError> {
    if !token_well_formed(&token) {
        return Ok(render(GONE, &LinkPage::gone()));
    }
    let cross_site = parts
        .headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"));
    if cross_site {
        return Ok(render(StatusCode::FORBIDDEN, &LinkPage::confirm(&token)));
    }
    let address = auth.client_address(&parts);
    match redeem_case_link(&auth.db, &auth.keys, &token, &address, auth.config.throttle).await {
        Ok(redeemed) => {
            let mut response = (
                StatusCode::SEE_OTHER,
                [(
                    header::LOCATION,
                    format!("/console/cases/{}", redeemed.case),
                )],
            )
                .into_response();
            secure(&mut response);
            response
                .headers_mut()
                .insert(header::SET_COOKIE, auth.session_cookie(&redeemed.session));
            Ok(response)
        }
        Err(AuthError::LinkGone) => Ok(render(GONE, &LinkPage::gone())),
        Err(AuthError::TenantSuspended) => Ok(render(
            StatusCode::FORBIDDEN,
            &LinkPage::refused(
                "本乡镇已暂停使用 Township suspended",
                "本乡镇已暂停使用，请联系县综治中心。",
                "This township is suspended; contact the county centre.",
            ),
        )),
        Err(AuthError::Throttled(secs)) => {
            let minutes = secs.div_ceil(60);
            let mut response = render(
                StatusCode::TOO_MANY_REQUESTS,
                &LinkPage::refused(
                    "请稍后再试 Try again later",
                    &format!("尝试次数太多，请{minutes}分钟后再试。"),
                    &format!("Too many attempts: wait {minutes} minutes."),
                ),
            );
            if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            Ok(response)
        }
        Err(other) => Err(other.into()),
    }
}

/// `POST /api/v1/auth/logout-all`: ends every session of the signed-in person (this
/// one too) and revokes their unused sign-in links, e.g. after losing a phone.
#[utoipa::path(post, path = "/api/v1/auth/logout-all", tag = "auth", operation_id = "post_api_v1_auth_logout_all",
    summary = "全部退出 (Ends every session of the person)",
    responses(
        (status = 204, description = "已退出 (Signed out everywhere)"),
        StaffErrors,
        Unavailable,
    ))]
async fn logout_all(
    Extension(auth): Extension<Authenticator>,
    Auth(principal): Auth,
) -> Result<Response, ApiError> {
    let user = match principal.kind {
        PrincipalKind::Staff { user, .. } | PrincipalKind::County { user } => user,
        _ => {
            return Err(ApiError::Forbidden(
                "API令牌请由管理员撤销 (API tokens are revoked by an administrator)".to_owned(),
            ));
        }
    };
    end_all_sessions(&auth.db, user).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, auth.clear_cookie());
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_confirmation_page_posts_back_to_its_link_and_the_gone_page_offers_sign_in() {
        let page = LinkPage::confirm("abc_DEF-123").render().expect("renders");
        assert!(page.contains(r#"<form method="post" action="/l/abc_DEF-123">"#));
        assert!(page.contains("打开案件"));
        assert!(page.contains("width=device-width"));
        let gone = LinkPage::gone().render().expect("renders");
        assert!(gone.contains("链接已失效") && gone.contains(SIGN_IN));
        assert!(!gone.contains("<form"));
    }
}
