//! `/healthz` (the process is alive) and `/readyz` (its dependencies answer).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

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

fn health_routes() -> OpenApiRouter<Readiness> {
    OpenApiRouter::new()
        .routes(routes!(alive))
        .routes(routes!(ready))
}

/// The health routes.
pub fn health_router(readiness: Readiness) -> Router {
    health_routes().split_for_parts().0.with_state(readiness)
}

/// The health routes' part of the OpenAPI document.
pub fn health_openapi() -> utoipa::openapi::OpenApi {
    health_routes().into_openapi()
}

/// `GET /healthz`: the process is alive.
#[utoipa::path(get, path = "/healthz", tag = "health", security(()),
    responses((status = 200, description = "活着 (Alive)", content_type = "text/plain", body = String, example = "ok")))]
async fn alive() -> impl IntoResponse {
    (StatusCode::OK, "ok")
}

/// `GET /readyz`: the database and the bus (and the object store, where used) answer.
#[utoipa::path(get, path = "/readyz", tag = "health", security(()),
    responses(
        (status = 200, description = "就绪 (Ready)", body = Object, example = json!({"status": "ready"})),
        (status = 503, description = "`urn:mashang:problem:not-ready`: a dependency is down; \
            `checks` names which.", content_type = "application/problem+json", body = Object),
    ))]
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
