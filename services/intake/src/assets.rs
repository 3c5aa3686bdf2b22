//! The citizen pages' stylesheet and script: embedded in the binary and served under
//! a URL that carries a hash of their content, so a phone keeps them for a year and
//! fetches them again only when they change.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

const CSS: &str = include_str!("../static/intake.css");
const JS: &str = include_str!("../static/intake.js");

/// FNV-1a: enough to tell two versions of a file apart, and usable in a `const`.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

/// The version of both files, part of their URLs.
static VERSION: LazyLock<String> = LazyLock::new(|| {
    let hash = fnv1a(CSS.as_bytes()) ^ fnv1a(JS.as_bytes()).rotate_left(17);
    format!("{:012x}", hash & 0xffff_ffff_ffff)
});
static CSS_URL: LazyLock<String> =
    LazyLock::new(|| format!("/static/intake/{}/intake.css", *VERSION));
static JS_URL: LazyLock<String> =
    LazyLock::new(|| format!("/static/intake/{}/intake.js", *VERSION));

/// The stylesheet's URL.
pub fn css_url() -> &'static str {
    &CSS_URL
}

/// The script's URL.
pub fn js_url() -> &'static str {
    &JS_URL
}

/// The route that serves both files.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/static/intake/{version}/{file}", get(serve))
}

async fn serve(Path((version, file)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let (body, content_type) = match file.as_str() {
        "intake.css" => (CSS, "text/css; charset=utf-8"),
        "intake.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let etag = format!("\"{}\"", *VERSION);
    // An old page asking for an old version during a roll-out gets today's file, but
    // must not keep it for a year under the old name.
    let cache = if version == *VERSION {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut response = if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag))
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, content_type)], body).into_response()
    };
    let out = response.headers_mut();
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    out.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(value) = HeaderValue::from_str(&etag) {
        out.insert(header::ETAG, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_carry_the_content_version() {
        assert_eq!(VERSION.len(), 12);
        assert!(css_url().contains(VERSION.as_str()) && css_url().ends_with(".css"));
        assert!(js_url().contains(VERSION.as_str()) && js_url().ends_with(".js"));
        assert_ne!(fnv1a(b"a"), fnv1a(b"b"));
    }
}
