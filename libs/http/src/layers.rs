//! The layers every service's routes get: request ids, a span per request named by
//! its matched route and joined to the caller's trace, request metrics, and panics
//! turned into problem+json 500s.

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, Response};
use axum::middleware::{self, Next};
use axum::response::IntoResponse;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::client_ip::{TrustedProxies, resolve_client_ip};
use crate::problem::ApiError;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Server-side time limits on requests: a handler still running at its limit is
/// dropped (its transaction rolls back) and the client gets a 503 problem+json.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestTimeouts {
    /// Any request but an upload.
    pub request: Duration,
    /// A multipart upload (a photo or voice note on a slow mobile link).
    pub upload: Duration,
}

impl Default for RequestTimeouts {
    fn default() -> Self {
        Self {
            request: Duration::from_secs(30),
            upload: Duration::from_secs(300),
        }
    }
}

/// What the edge of every process applies before a handler runs.
#[derive(Clone, Debug, Default)]
pub struct EdgeConfig {
    /// Time limits.
    pub timeouts: RequestTimeouts,
    /// Proxies whose forwarding headers name the client.
    pub trusted_proxies: TrustedProxies,
}

/// Wraps `router` in the common layers. Apply once, to the merged router of the process.
pub fn with_common_layers(router: Router, edge: &EdgeConfig) -> Router {
    let timeouts = edge.timeouts;
    let trusted = edge.trusted_proxies.clone();
    router
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            limit_time(timeouts, request, next)
        }))
        .layer(middleware::from_fn(record_metrics))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(make_span)
                .on_request(())
                .on_response(on_response)
                .on_failure(()),
        )
        .layer(CatchPanicLayer::custom(
            |_panic: Box<dyn std::any::Any + Send>| {
                ApiError::internal(anyhow::anyhow!("a request handler panicked")).into_response()
            },
        ))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(SetSensitiveRequestHeadersLayer::new([
            axum::http::header::AUTHORIZATION,
            axum::http::header::COOKIE,
        ]))
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            resolve_client_ip(trusted.clone(), request, next)
        }))
}

async fn limit_time(
    timeouts: RequestTimeouts,
    request: Request,
    next: Next,
) -> axum::response::Response {
    let upload = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/"));
    let limit = if upload {
        timeouts.upload
    } else {
        timeouts.request
    };
    let route = route_of(&request);
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            metrics::counter!("mashang_http_timeouts_total", "route" => route.clone()).increment(1);
            tracing::warn!(
                route,
                limit_ms = limit.as_millis() as u64,
                "request over its time limit"
            );
            ApiError::Unavailable(format!(
                "处理超时，请稍后再试 (the request took longer than {} s)",
                limit.as_secs()
            ))
            .into_response()
        }
    }
}

fn route_of(request: &Request) -> String {
    request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned())
}

fn make_span(request: &Request) -> Span {
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let span = tracing::info_span!(
        "http.request",
        method = %request.method(),
        route = %route_of(request),
        request_id,
        status = tracing::field::Empty,
    );
    let traceparent = request
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok());
    mashang_telemetry::set_parent_from_traceparent(&span, traceparent);
    span
}

fn on_response<B>(response: &Response<B>, latency: Duration, span: &Span) {
    let status = response.status().as_u16();
    span.record("status", status);
    if status >= 500 {
        tracing::warn!(
            status,
            latency_ms = latency.as_millis() as u64,
            "request finished"
        );
    } else {
        tracing::info!(
            status,
            latency_ms = latency.as_millis() as u64,
            "request finished"
        );
    }
}

async fn record_metrics(request: Request, next: Next) -> axum::response::Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = route_of(&request);
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("mashang_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("mashang_http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}
