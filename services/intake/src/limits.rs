//! Rate limits against abuse: per client address on everything a citizen posts, and per
//! QR code on submissions. In memory, per replica (a burst is absorbed by the outbox
//! anyway); a citizen who hits one gets a page in plain words, not a bare 429.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use mashang_domain::QrCodeId;
use mashang_http::ApiError;

/// The limits.
#[derive(Clone, Copy, Debug)]
pub struct LimitConfig {
    /// Posts (reports, uploads, ratings) per client address per minute.
    pub posts_per_address_per_minute: u32,
    /// Reports per QR code per minute.
    pub reports_per_code_per_minute: u32,
}

impl Default for LimitConfig {
    fn default() -> Self {
        Self {
            posts_per_address_per_minute: 30,
            reports_per_code_per_minute: 20,
        }
    }
}

/// The keyed limiters of one process.
pub struct Limiters {
    by_address: DefaultKeyedRateLimiter<IpAddr>,
    by_code: DefaultKeyedRateLimiter<QrCodeId>,
}

impl std::fmt::Debug for Limiters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Limiters")
    }
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN))
}

impl Limiters {
    /// Limiters with `config`.
    pub fn new(config: LimitConfig) -> Arc<Self> {
        Arc::new(Self {
            by_address: RateLimiter::keyed(per_minute(config.posts_per_address_per_minute)),
            by_code: RateLimiter::keyed(per_minute(config.reports_per_code_per_minute)),
        })
    }

    /// Counts a report through `code`; refused when the code is over its limit.
    pub fn check_code(&self, code: QrCodeId) -> Result<(), ApiError> {
        self.by_code
            .check_key(&code)
            .map_err(|_| ApiError::TooManyRequests {
                retry_after: Some(60),
            })
    }

    fn check_address(&self, address: IpAddr) -> bool {
        self.by_address.check_key(&address).is_ok()
    }

    /// Forgets idle keys, so memory stays bounded.
    pub fn tidy(&self) {
        self.by_address.retain_recent();
        self.by_code.retain_recent();
        self.by_address.shrink_to_fit();
        self.by_code.shrink_to_fit();
    }
}

/// The page a citizen sees when they (or their shared connection) post too often.
pub fn busy_page() -> Response {
    let html = "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
        <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>请稍候</title>\
        <style>body{font:18px/1.6 system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}</style></head>\
        <body><h1>请稍等一分钟</h1><p>提交得太频繁了。您填写的内容还在上一页，请稍等一分钟后返回再提交。</p>\
        <p>Too many submissions in a short time. Please wait a minute, go back and submit again.</p></body></html>";
    let mut response = (StatusCode::TOO_MANY_REQUESTS, Html(html)).into_response();
    response.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from_static("60"),
    );
    response
}

/// Middleware: limits every POST per client address.
pub async fn by_address(
    State(limiters): State<Arc<Limiters>>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let address = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(address) = address
        && !limiters.check_address(address)
    {
        metrics::counter!("mashang_rate_limited_total", "limit" => "address").increment(1);
        return if request.uri().path().starts_with("/q/") {
            busy_page()
        } else {
            ApiError::TooManyRequests {
                retry_after: Some(60),
            }
            .into_response()
        };
    }
    next.run(request).await
}
