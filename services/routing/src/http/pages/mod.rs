//! The township administrator's pages, rendered on the server in Chinese: sign in, the
//! grid tree, import and export, people and their roles, QR codes and posters. Plain
//! HTML forms, no script; every form sends the session's CSRF token as a hidden
//! `_csrf` field (never in the URL), which [`form_csrf`] moves into the header the
//! `MaybeSignedIn` extractor checks. The township is always the signed-in person's
//! own; ids of another township's objects answer 404.

mod home;
mod layout;
mod node;
mod people;
mod person;
mod posters;
mod signin;
mod transfer;
mod tree;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{DefaultBodyLimit, FromRequest, Request};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::RoutingState;
use crate::directory::import::MAX_IMPORT_BYTES;

pub(super) fn routes() -> Router<RoutingState> {
    Router::new()
        .route("/admin", get(home::home))
        .route("/admin/login", get(signin::login_page).post(signin::login))
        .route("/admin/logout", post(signin::logout))
        .route("/admin/reset", get(signin::reset_page).post(signin::reset))
        .route("/admin/grid", get(tree::page))
        .route("/admin/grid/nodes", post(tree::create))
        .route("/admin/grid/nodes/{id}", get(node::show))
        .route("/admin/grid/nodes/{id}/rename", post(node::rename))
        .route("/admin/grid/nodes/{id}/move", post(node::move_node))
        .route("/admin/grid/nodes/{id}/active", post(node::set_active))
        .route(
            "/admin/import",
            get(transfer::page)
                .post(transfer::upload)
                .layer(DefaultBodyLimit::max(MAX_IMPORT_BYTES + 64 * 1024)),
        )
        .route("/admin/people", get(people::list).post(people::create))
        .route("/admin/people/{id}", get(person::show).post(person::update))
        .route("/admin/people/{id}/reset-code", post(person::reset_code))
        .route("/admin/posters", get(posters::page))
        .route("/admin/posters/issue-missing", post(posters::issue_missing))
        .layer(middleware::from_fn(form_csrf))
}

/// The largest multipart body the pages take (the import upload and its fields).
const MAX_MULTIPART_BYTES: usize = MAX_IMPORT_BYTES + 64 * 1024;
/// The largest URL-encoded form the pages take.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// For a form posted with a session cookie: reads its `_csrf` field (URL-encoded or
/// multipart) and passes it on as the CSRF header, with the body unchanged. The token
/// is then checked in one place, the extractor, as for every other change.
async fn form_csrf(request: Request, next: Next) -> Response {
    if request.method() != Method::POST
        || request.headers().contains_key(mashang_auth::CSRF_HEADER)
        || !has_session_cookie(&request)
    {
        return next.run(request).await;
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let limit = if content_type.starts_with("multipart/form-data") {
        MAX_MULTIPART_BYTES
    } else {
        MAX_FORM_BYTES
    };
    let (mut parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, limit).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "表单太大 (form too large)").into_response();
    };
    let token = if content_type.starts_with("application/x-www-form-urlencoded") {
        urlencoded_csrf(&content_type, bytes.clone()).await
    } else if content_type.starts_with("multipart/form-data") {
        multipart_csrf(&content_type, &bytes)
    } else {
        None
    };
    if let Some(value) = token.and_then(|t| HeaderValue::from_str(&t).ok()) {
        parts.headers.insert(mashang_auth::CSRF_HEADER, value);
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Whether the request may carry a session cookie (only then is there a token to
/// check; a close look-alike only costs reading the body here).
fn has_session_cookie(request: &Request) -> bool {
    request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains(mashang_auth::SESSION_COOKIE))
}

#[derive(serde::Deserialize)]
struct CsrfField {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
}

/// The `_csrf` field of a URL-encoded body.
async fn urlencoded_csrf(content_type: &str, bytes: axum::body::Bytes) -> Option<String> {
    let request = Request::builder()
        .method(Method::POST)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(bytes))
        .ok()?;
    axum::Form::<CsrfField>::from_request(request, &())
        .await
        .ok()
        .and_then(|f| f.0.csrf)
}

/// The `_csrf` field of a multipart body: the part named `_csrf`, read as text.
fn multipart_csrf(content_type: &str, body: &[u8]) -> Option<String> {
    let boundary = content_type
        .split(';')
        .filter_map(|p| p.trim().strip_prefix("boundary="))
        .next()?
        .trim_matches('"');
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let mut rest = body;
    while let Some(at) = find(rest, delimiter) {
        rest = &rest[at + delimiter.len()..];
        let end = find(rest, delimiter).unwrap_or(rest.len());
        let part = &rest[..end];
        if let Some(split) = find(part, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&part[..split]).to_ascii_lowercase();
            if head.contains("name=\"_csrf\"") {
                let value = &part[split + 4..];
                let value = value.strip_suffix(b"\r\n").unwrap_or(value);
                return std::str::from_utf8(value).ok().map(|v| v.trim().to_owned());
            }
        }
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::multipart_csrf;

    #[test]
    fn the_csrf_field_is_found_in_a_multipart_body() {
        let body =
            b"--XyZ\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\ntok-123\r\n--XyZ\r\n\
Content-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\na,b\r\n--XyZ--\r\n";
        assert_eq!(
            multipart_csrf("multipart/form-data; boundary=XyZ", body).as_deref(),
            Some("tok-123")
        );
        assert_eq!(
            multipart_csrf("multipart/form-data; boundary=Other", body),
            None
        );
    }
}
