//! `/healthz` (the process is alive) and `/readyz` (its dependencies answer).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// A dependency readiness depends on.
#[async_trait]
pub trait Probe: Send + Sync + 'static {
    /// Its name in the readiness report (`database`, `bus`).
    fn name(&self) -> &'static str;
    /// `Err(reason)` when it is not usable.
    async fn check(&self) -> Result<(), String>;
}

/// What readiness checks; not ready once shutdown has begun, so the load balancer
/// stops sending requests while the process drains.
#[derive(Clone)]
pub struct Readiness {
    probes: Vec<Arc<dyn Probe>>,
    shutdown: CancellationToken,
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<_> = self.probes.iter().map(|p| p.name()).collect();
        f.debug_struct("Readiness").field("probes", &names).finish()
    }
}

impl Readiness {
    /// Readiness over `probes`.
    pub fn new(probes: Vec<Arc<dyn Probe>>, shutdown: CancellationToken) -> Self {
        Self { probes, shutdown }
    }
}

/// The health routes.
pub fn health_router(readiness: Readiness) -> Router {
    Router::new()
        .route("/healthz", get(|| async { (StatusCode::OK, "ok") }))
        .route("/readyz", get(ready))
        .with_state(readiness)
}

async fn ready(State(readiness): State<Readiness>) -> Response {
    if readiness.shutdown.is_cancelled() {
        return unready(vec![("process".to_owned(), "shutting down".to_owned())]);
    }
    let checks = readiness.probes.iter().map(|probe| async move {
        let outcome = tokio::time::timeout(Duration::from_secs(3), probe.check())
            .await
            .unwrap_or_else(|_| Err("no answer within 3 s".to_owned()));
        (probe.name(), outcome)
    });
    let results = futures::future::join_all(checks).await;
    let failures: Vec<(String, String)> = results
        .into_iter()
        .filter_map(|(name, r)| r.err().map(|e| (name.to_owned(), e)))
        .collect();
    if failures.is_empty() {
        (StatusCode::OK, axum::Json(json!({"status": "ready"}))).into_response()
    } else {
        unready(failures)
    }
}

fn unready(failures: Vec<(String, String)>) -> Response {
    // The public listener names what is down, never why: error text can carry host
    // names, user names and versions. The reasons go to the log.
    for (name, reason) in &failures {
        tracing::warn!(
            dependency = name.as_str(),
            reason = reason.as_str(),
            "not ready"
        );
    }
    let names: Vec<&str> = failures.iter().map(|(n, _)| n.as_str()).collect();
    let body = json!({
        "type": "urn:mashang:problem:not-ready",
        "title": "服务未就绪 (Not ready)",
        "status": 503,
        "detail": format!("unavailable: {}", names.join(", ")),
        "checks": names.iter().map(|n| json!({"name": n, "status": "down"})).collect::<Vec<_>>(),
    });
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/problem+json"),
    );
    response
}
