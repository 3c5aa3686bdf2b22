//! Rate limits against abuse: per client address on everything a citizen posts, and per
//! QR code on submissions. In memory, per replica (a burst is absorbed by the outbox
//! anyway); a citizen who hits one gets a page in plain words, not a bare 429. Files
//! stored through one QR code are counted in the database, across replicas, per hour
//! and per day, so storage cannot be filled from one poster.
//!
//! Every per-address limit takes the client's address from [`client_ip`], and only
//! from there.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{Extensions, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use mashang_db::Db;
use mashang_domain::QrCodeId;
use mashang_http::ApiError;

use crate::qr::QrContext;

/// The limits.
#[derive(Clone, Copy, Debug)]
pub struct LimitConfig {
    /// Posts (reports, uploads, ratings) per client address per minute.
    pub posts_per_address_per_minute: u32,
    /// Reports per QR code per minute.
    pub reports_per_code_per_minute: u32,
    /// Files (photos, voice notes) stored through one QR code per hour, all replicas.
    pub uploads_per_code_per_hour: u32,
    /// Files stored through one QR code in 24 hours, all replicas.
    pub uploads_per_code_per_day: u32,
    /// Bytes stored through one QR code in 24 hours, all replicas.
    pub upload_bytes_per_code_per_day: u64,
}

impl Default for LimitConfig {
    fn default() -> Self {
        Self {
            posts_per_address_per_minute: 30,
            reports_per_code_per_minute: 20,
            // A busy day at one poster (30 reports flag a burst) with every photo.
            uploads_per_code_per_hour: 100,
            uploads_per_code_per_day: 300,
            upload_bytes_per_code_per_day: 2 * 1024 * 1024 * 1024,
        }
    }
}

/// The client's address, as every per-address limit in intake sees it: the one the
/// edge resolved, behind trusted proxies if any (`mashang_http::TrustedProxies`).
pub fn client_ip(extensions: &Extensions) -> Option<IpAddr> {
    mashang_http::ClientIp::of(extensions)
}

/// Extractor of [`client_ip`], for handlers that limit per address.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddress(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(client_ip(&parts.extensions)))
    }
}

impl ClientAddress {
    /// The address as text, for the database's per-address counts.
    pub fn key(&self) -> String {
        self.0
            .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
    }
}

/// Counts `files` files of `bytes` in all stored through `ctx`'s QR code, in one
/// statement (the hour's row is taken with an upsert, so concurrent uploads cannot
/// pass a limit that sequential ones hit); refused when the hour's or the day's count
/// is over its limit. The count is committed at once, refused or not.
pub async fn count_uploads(
    db: &Db,
    config: &LimitConfig,
    ctx: &QrContext,
    files: usize,
    bytes: u64,
) -> Result<(), ApiError> {
    if files == 0 {
        return Ok(());
    }
    let mut tx = db.tenant(ctx.tenant.id).await?;
    let (hour, day, day_bytes): (i64, i64, i64) = sqlx::query_as(
        "WITH bump AS (              INSERT INTO intake.upload_counts (tenant_id, qr_code_id, hour, uploads, bytes)              VALUES ($1, $2, date_trunc('hour', now()), $3, $4)              ON CONFLICT (tenant_id, qr_code_id, hour) DO UPDATE              SET uploads = upload_counts.uploads + EXCLUDED.uploads,                  bytes = upload_counts.bytes + EXCLUDED.bytes              RETURNING uploads, bytes, hour)          SELECT bump.uploads::bigint, bump.uploads + coalesce(e.uploads, 0),                 bump.bytes + coalesce(e.bytes, 0)          FROM bump LEFT JOIN LATERAL (              SELECT sum(c.uploads)::bigint AS uploads, sum(c.bytes)::bigint AS bytes              FROM intake.upload_counts c              WHERE c.tenant_id = $1 AND c.qr_code_id = $2                AND c.hour > bump.hour - interval '24 hours' AND c.hour < bump.hour) e ON true",
    )
    .bind(ctx.tenant.id.as_uuid())
    .bind(ctx.qr_code_id.map(|c| c.as_uuid()))
    .bind(i32::try_from(files).unwrap_or(i32::MAX))
    .bind(i64::try_from(bytes).unwrap_or(i64::MAX))
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    let over_hour = hour > i64::from(config.uploads_per_code_per_hour);
    let over_day = day > i64::from(config.uploads_per_code_per_day)
        || day_bytes > i64::try_from(config.upload_bytes_per_code_per_day).unwrap_or(i64::MAX);
    if over_hour || over_day {
        metrics::counter!("mashang_rate_limited_total", "limit" => "code_uploads").increment(1);
        tracing::warn!(qr_code_id = ?ctx.qr_code_id, hour, day, day_bytes, "QR code over its upload limit");
        return Err(ApiError::TooManyRequests {
            retry_after: Some(if over_hour { 3600 } else { 24 * 3600 }),
        });
    }
    Ok(())
}

/// The keyed limiters of one process.
pub struct Limiters {
    by_address: DefaultKeyedRateLimiter<IpAddr>,
    by_code: DefaultKeyedRateLimiter<QrCodeId>,
    by_key: DefaultKeyedRateLimiter<uuid::Uuid>,
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
            // An integration files for many people: as many as a minute's posts of
            // one address, the most a busy hotline desk sends.
            by_key: RateLimiter::keyed(per_minute(config.posts_per_address_per_minute)),
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

    /// Counts a request filed with Open311 key `key`; refused when the key is over
    /// its limit.
    pub fn check_key(&self, key: uuid::Uuid) -> Result<(), ApiError> {
        self.by_key
            .check_key(&key)
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
        self.by_key.retain_recent();
        self.by_address.shrink_to_fit();
        self.by_code.shrink_to_fit();
        self.by_key.shrink_to_fit();
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
    if let Some(address) = client_ip(request.extensions())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_open311_key_has_its_own_minute() {
        let limits = Limiters::new(LimitConfig {
            posts_per_address_per_minute: 2,
            ..LimitConfig::default()
        });
        let (busy, quiet) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        assert!(limits.check_key(busy).is_ok());
        assert!(limits.check_key(busy).is_ok());
        assert!(matches!(
            limits.check_key(busy),
            Err(ApiError::TooManyRequests {
                retry_after: Some(60)
            })
        ));
        assert!(limits.check_key(quiet).is_ok());
    }
}
