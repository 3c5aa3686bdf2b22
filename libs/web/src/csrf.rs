//! CSRF in plain HTML forms. Every form a signed-in person posts carries the session's
//! CSRF token as its hidden [`FIELD`] (never in the URL); [`form_csrf`] moves it into
//! the header the auth extractors check, so the token is checked in one place for
//! forms and scripts alike.

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use mashang_auth::{CSRF_HEADER, SESSION_COOKIE};

/// The name of the hidden form field that carries the CSRF token.
pub const FIELD: &str = "_csrf";

/// How much of a form [`form_csrf`] reads to find the token.
#[derive(Clone, Copy, Debug)]
pub struct FormLimits {
    /// The largest URL-encoded form.
    pub form: usize,
    /// The largest multipart form (uploads included).
    pub multipart: usize,
}

impl FormLimits {
    /// Forms of up to 64 KiB, multipart ones up to `multipart` bytes.
    pub fn new(multipart: usize) -> Self {
        Self {
            form: 64 * 1024,
            multipart,
        }
    }
}

/// Middleware (`axum::middleware::from_fn_with_state`): for a form posted with a
/// session cookie, reads its [`FIELD`] (URL-encoded or multipart) and passes it on as
/// the CSRF header, with the body unchanged.
pub async fn form_csrf(State(limits): State<FormLimits>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST
        || request.headers().contains_key(CSRF_HEADER)
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
    let multipart = content_type.starts_with("multipart/form-data");
    let (mut parts, body) = request.into_parts();
    let read = if multipart {
        peek_multipart(&content_type, body, limits.multipart).await
    } else {
        read_form(&content_type, body, limits.form).await
    };
    let Some((token, body)) = read else {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            crate::strings::FORM_TOO_LARGE,
        )
            .into_response();
    };
    if let Some(value) = token.and_then(|t| HeaderValue::from_str(&t).ok()) {
        parts.headers.insert(CSRF_HEADER, value);
    }
    next.run(Request::from_parts(parts, body)).await
}

/// A URL-encoded (or other) form read whole, up to `limit`: its token and the body.
async fn read_form(content_type: &str, body: Body, limit: usize) -> Option<(Option<String>, Body)> {
    let bytes = to_bytes(body, limit).await.ok()?;
    let token = if content_type.starts_with("application/x-www-form-urlencoded") {
        urlencoded_csrf(content_type, bytes.clone()).await
    } else {
        None
    };
    Some((token, Body::from(bytes)))
}

/// How much of a multipart body is read to find a token sent first.
const PEEK: usize = 64 * 1024;

/// A multipart form's token. Browsers send fields in the form's order, so a form
/// whose hidden token comes first has it in the first few hundred bytes: then only
/// that much is read and the rest (photos) streams on to the handler, which spools it
/// to disk. A token further in is found by reading the whole body, up to `limit`.
async fn peek_multipart(
    content_type: &str,
    body: Body,
    limit: usize,
) -> Option<(Option<String>, Body)> {
    let mut stream = body.into_data_stream();
    let mut prefix = Vec::new();
    while prefix.len() < PEEK.min(limit) {
        match stream.next().await {
            Some(Ok(chunk)) => {
                prefix.extend_from_slice(&chunk);
                if prefix.len() > limit {
                    return None;
                }
                if let Some(token) = multipart_field(content_type, &prefix, true) {
                    let head = futures::stream::once(async move { Ok(Bytes::from(prefix)) });
                    return Some((Some(token), Body::from_stream(head.chain(stream))));
                }
            }
            Some(Err(_)) => return None,
            None => {
                let token = multipart_csrf(content_type, &prefix);
                return Some((token, Body::from(prefix)));
            }
        }
    }
    let rest = to_bytes(
        Body::from_stream(stream),
        limit.saturating_sub(prefix.len()),
    )
    .await
    .ok()?;
    prefix.extend_from_slice(&rest);
    let token = multipart_csrf(content_type, &prefix);
    Some((token, Body::from(prefix)))
}

/// Whether the request may carry a session cookie (only then is there a token to
/// check; a close look-alike only costs reading the body here).
fn has_session_cookie(request: &Request) -> bool {
    request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains(SESSION_COOKIE))
}

#[derive(serde::Deserialize)]
struct CsrfField {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
}

/// The token field of a URL-encoded body.
async fn urlencoded_csrf(content_type: &str, bytes: Bytes) -> Option<String> {
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

/// The token field of a multipart body: the part named [`FIELD`], read as text.
fn multipart_csrf(content_type: &str, body: &[u8]) -> Option<String> {
    multipart_field(content_type, body, false)
}

/// The part named [`FIELD`] of `body`; with `complete`, only a part whose closing
/// delimiter has arrived (`body` may be the start of a longer one).
fn multipart_field(content_type: &str, body: &[u8], complete: bool) -> Option<String> {
    let boundary = content_type
        .split(';')
        .filter_map(|p| p.trim().strip_prefix("boundary="))
        .next()?
        .trim_matches('"');
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let wanted = format!("name=\"{FIELD}\"");
    let mut rest = body;
    while let Some(at) = find(rest, delimiter) {
        rest = &rest[at + delimiter.len()..];
        let end = match find(rest, delimiter) {
            Some(end) => end,
            None if complete => return None,
            None => rest.len(),
        };
        let part = &rest[..end];
        if let Some(split) = find(part, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&part[..split]).to_ascii_lowercase();
            // The `name` parameter itself, not the end of `filename="_csrf"`.
            let named = head
                .match_indices(&wanted)
                .any(|(at, _)| head[..at].ends_with([';', ' ', '\t']));
            if named {
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
mod fuzz_tests;

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::http::HeaderMap;
    use axum::routing::post;
    use tower::ServiceExt;

    use super::*;

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

    async fn post_form(cookie: &str, body: &'static str) -> String {
        let app = Router::new()
            .route(
                "/",
                post(|headers: HeaderMap, body: String| async move {
                    let token = headers
                        .get(CSRF_HEADER)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("none")
                        .to_owned();
                    format!("{token}|{body}")
                }),
            )
            .layer(axum::middleware::from_fn_with_state(
                FormLimits::new(1024),
                form_csrf,
            ));
        let request = Request::builder()
            .method(Method::POST)
            .uri("/")
            .header(header::COOKIE, cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("a valid request");
        let response = app.oneshot(request).await.expect("infallible");
        let bytes = to_bytes(response.into_body(), 4096).await.expect("a body");
        String::from_utf8(bytes.to_vec()).expect("UTF-8")
    }

    #[tokio::test]
    async fn a_form_token_reaches_the_header_with_the_body_unchanged() {
        let cookie = format!("{SESSION_COOKIE}=abc");
        assert_eq!(
            post_form(&cookie, "_csrf=tok-9&name=x").await,
            "tok-9|_csrf=tok-9&name=x"
        );
        // Without a session there is nothing to check: the form is passed on as it is.
        assert_eq!(
            post_form("other=1", "_csrf=tok-9").await,
            "none|_csrf=tok-9"
        );
    }

    #[tokio::test]
    async fn a_token_sent_first_is_read_without_reading_the_rest_of_the_body() {
        let boundary = "multipart/form-data; boundary=XyZ";
        let head =
            "--XyZ\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\ntok-42\r\n--XyZ\r\n";
        let tail = "Content-Disposition: form-data; name=\"photo\"; filename=\"a.jpg\"\r\n\r\nJPEG\r\n--XyZ--\r\n";
        // The token arrives split over two chunks; the photo's chunk is never a
        // prefix of the body the middleware waits for.
        let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
            Ok(Bytes::from(&head[..60])),
            Ok(Bytes::from(&head[60..])),
            Ok(Bytes::from(tail)),
        ];
        let body = Body::from_stream(futures::stream::iter(chunks));
        let (token, body) = peek_multipart(boundary, body, 80)
            .await
            .expect("the token is found before the limit");
        assert_eq!(token.as_deref(), Some("tok-42"));
        let whole = to_bytes(body, 4096).await.expect("the body streams on");
        assert_eq!(whole, format!("{head}{tail}").as_bytes());
        // A token after the file: the whole body is read, within the limit.
        let late = format!("--XyZ\r\n{tail}").replace("--XyZ--\r\n", head) + "--XyZ--\r\n";
        let body = Body::from(late.clone());
        let (token, _) = peek_multipart(boundary, body, 4096).await.expect("read");
        assert_eq!(token.as_deref(), Some("tok-42"));
        assert!(
            peek_multipart(boundary, Body::from(late), 100)
                .await
                .is_none(),
            "over the limit"
        );
    }
}
